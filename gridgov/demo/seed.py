"""Write the demo county to the database: the responsibility list, the grid tree, the people and their roles,
six months of cases (`gridgov.demo.history`), the register (`gridgov.demo.registry`), a year of people's
mediation (`gridgov.demo.mediation`) and the volunteer teams with their activities and tasks
(`gridgov.demo.community`).

One transaction: a failed seed leaves nothing behind. The grid tree goes through `do_create_grids` (one call
for the whole tree); users and role assignments are bulk-inserted, with the one demo password hashed once
(argon2 is deliberately slow: hashing it for six thousand accounts would take minutes).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import connection, transaction
from django.utils.translation import gettext as _

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.catalog.models import Department
from gridgov.core import audit
from gridgov.grids.models import Grid, GridChange
from gridgov.grids.services import do_create_grids
from gridgov.open311.demo import add_demo_questions

from .cameras import CamerasReport, seed_cameras
from .community import CommunityReport, seed_community
from .config import DemoConfig
from .county import CountyPlan, build_county
from .history import HistoryReport, seed_history
from .incidents import IncidentsReport, seed_incidents
from .mediation import MediationReport, seed_mediation
from .people import DEMO_ACCOUNTS, PeoplePlan, plan_people
from .registry import RegistryReport, seed_registry

# Shared by every demo account (printed by `gridgov demo`). It passes the password validators in settings.
DEMO_PASSWORD = "Dalad-Grid-2026"  # noqa: S105 - a published demo password, refused in production
# The demo tree is dated, not stamped with today, so the same seed gives the same database.
DEMO_EFFECTIVE = dt.date(2025, 1, 1)


class DemoError(Exception):
    """The demo county cannot be seeded here (the message says why and what to do)."""


@dataclass
class SeedReport:
    seed: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    grids: int = 0
    users: int = 0
    assignments: int = 0
    plan: CountyPlan | None = None
    people: PeoplePlan | None = None
    history: HistoryReport | None = None
    registry: RegistryReport | None = None
    mediation: MediationReport | None = None
    community: CommunityReport | None = None
    cameras: CamerasReport | None = None
    incidents: IncidentsReport | None = None


def seed_demo(
    config: DemoConfig | None = None, *, actor: Any = None, progress: Callable[[str], None] | None = None
) -> SeedReport:
    """Build and write the demo county. Refuses a database that already holds grids or demo accounts."""
    config = config or DemoConfig()
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = now - since
        return now

    if getattr(settings, "PRODUCTION", False):
        # Six thousand accounts sharing a published password have no place on a real site.
        raise DemoError(_("The demo county is not loaded in production (GRIDGOV_ENV=production)."))
    existing = Grid.objects.current().count()
    if existing:
        raise DemoError(
            _(
                "The database already holds %(count)d grids: the demo county is only loaded into an empty "
                "database. Use a fresh one (remove var/gridgov.sqlite3, or point DATABASE_URL at a new database)."
            )
            % {"count": existing}
        )
    taken = sorted(User.objects.filter(username__in=DEMO_ACCOUNTS).values_list("username", flat=True))
    if taken:
        raise DemoError(
            _("These demo usernames are taken already: %(names)s. Use a fresh database.")
            % {"names": ", ".join(taken)}
        )
    validate_password(DEMO_PASSWORD, User(username="demo"))

    t = time.perf_counter()
    with transaction.atomic():
        from gridgov.catalog.services import do_load_catalog

        say(_("Loading the responsibility list…"))
        do_load_catalog(actor=actor)
        t = lap("catalog", t)

        say(_("Drawing the county (seed %(seed)d)…") % {"seed": config.seed})
        plan = build_county(config)
        t = lap("geometry", t)

        say(_("Writing %(count)d grids…") % {"count": len(plan.grids)})
        grids = do_create_grids(
            list(plan.grids),
            actor=actor,
            effective=DEMO_EFFECTIVE,
            kind=GridChange.Kind.CREATE,
            reason=f"demo county, seed {config.seed}",
        )
        t = lap("grids", t)

        departments = dict(Department.objects.order_by("code").values_list("code", "id"))
        people = plan_people(plan, list(departments))
        t = lap("people", t)

        say(_("Writing %(count)d people and their roles…") % {"count": len(people.users)})
        password = make_password(DEMO_PASSWORD)  # once: every demo account shares it
        users = User.objects.bulk_create(
            [
                User(
                    username=u.username,
                    full_name=u.full_name,
                    password=password,
                    admin_duty=u.admin_duty,
                    is_staff=u.is_staff,
                )
                for u in people.users
            ],
            batch_size=1000,
        )
        if any(u.pk is None for u in users):  # a backend that returns no ids from bulk inserts
            ids = dict(
                User.objects.filter(username__in=[u.username for u in users]).values_list("username", "id")
            )
            for u in users:
                u.pk = ids[u.username]
        grid_ids = {g.code: g.pk for g in grids}
        assignments = [
            RoleAssignment(
                user_id=user.pk,
                role=role,
                grid_id=grid_ids[grid] if grid else None,
                department_id=departments[dept] if dept else None,
            )
            for user, planned in zip(users, people.users, strict=True)
            for role, grid, dept in planned.assignments
        ]
        RoleAssignment.objects.bulk_create(assignments, batch_size=2000)
        t = lap("users", t)

        history = None
        if config.cases:
            say(_("Writing %(count)d cases of the last six months…") % {"count": config.cases})
            history = seed_history(config)
            t = lap("history", t)

        registry = seed_registry(config, plan, actor=actor, say=say)
        t = lap("registry", t)
        say(registry.summary())

        mediation = seed_mediation(config, say=say)
        t = lap("mediation", t)
        say(mediation.summary())
        community = seed_community(config, say=say)
        t = lap("community", t)
        say(community.summary())
        # The command centre: cameras and alarm sources, hotspots drawn from the history, two emergencies;
        # and the questions some items ask of Open311 clients.
        cameras = seed_cameras(config)
        say(cameras.summary())
        incidents = seed_incidents(config, say=say)
        say(incidents.summary())
        add_demo_questions()
        lap("command", t)
        audit.record(
            "demo.seed",
            actor=actor,
            data={
                "seed": config.seed,
                "grids": len(grids),
                "users": len(users),
                "assignments": len(assignments),
                "cases": history.cases if history else 0,
                "persons": registry.persons,
                "organisations": registry.organisations,
                "components": registry.components,
                "disputes": mediation.disputes,
                "activities": community.activities,
            },
        )
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        # Fold the write-ahead log (hundreds of MB after the history) into the database now, not in the
        # middle of the first reports.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return SeedReport(
        seed=config.seed,
        seconds=time.perf_counter() - started,
        timings=timings,
        grids=len(grids),
        users=len(users),
        assignments=len(assignments),
        plan=plan,
        people=people,
        history=history,
        registry=registry,
        mediation=mediation,
        community=community,
        cameras=cameras,
        incidents=incidents,
    )


@dataclass
class DemoAccount:
    username: str
    full_name: str
    roles: list[str]
    scopes: list[str]


def demo_accounts() -> list[DemoAccount]:
    """The demo accounts present in the database, in `DEMO_ACCOUNTS` order, with their roles and scopes."""
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_ACCOUNTS)}
    rows = RoleAssignment.objects.filter(user__in=users.values()).select_related("grid", "department", "user")
    by_user: dict[int, list[RoleAssignment]] = {}
    for a in rows.order_by("id"):
        by_user.setdefault(a.user_id, []).append(a)
    result = []
    for username in DEMO_ACCOUNTS:
        user = users.get(username)
        if user is None:
            continue
        roles: list[str] = []
        scopes: list[str] = []
        if user.admin_duty != AdminDuty.NONE:
            roles.append(str(AdminDuty(user.admin_duty).label))
            scopes.append(_("whole county"))
        for a in by_user.get(user.pk, []):
            roles.append(str(Role(a.role).label))
            parts = []
            if a.grid is not None:
                parts.append(f"{a.grid.code} {a.grid.name}")
            if a.department is not None:
                parts.append(a.department.label)
            if not parts and a.role == Role.RESIDENT:
                parts.append(_("own reports"))
            scopes.append(" · ".join(parts))
        result.append(DemoAccount(username, user.full_name, roles, scopes))
    return result


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_accounts(accounts: list[DemoAccount], password: str = DEMO_PASSWORD) -> str:
    """The demo accounts as a table for the terminal, with the shared password."""
    header = (_("username"), _("full name"), _("role"), _("scope"))
    rows: list[tuple[str, str, str, str]] = []
    for acc in accounts:
        for i, (role, scope) in enumerate(zip(acc.roles, acc.scopes, strict=True)):
            rows.append((acc.username if i == 0 else "", acc.full_name if i == 0 else "", role, scope))
        if not acc.roles:
            rows.append((acc.username, acc.full_name, "", ""))
    widths = [max(display_width(r[c]) for r in [header, *rows]) for c in range(4)]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join(pad(h, w) for h, w in zip(header, widths, strict=True)).rstrip(), rule]
    lines += ["  ".join(pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("")
    lines.append(_("Password of every demo account: %(password)s") % {"password": password})
    return "\n".join(lines)
