"""`gridgov stats [--json]`: what the database holds. Operators read the table; checks parse the JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.choices import Channel, State
from gridgov.cases.models import Case
from gridgov.catalog.models import Department, Item, ItemKind, Module
from gridgov.grids.models import Grid, GridKind


def collect_stats() -> dict[str, Any]:
    """Counts of the current grid tree, the people and the responsibility list (a dozen queries)."""
    grids = Grid.objects.current()
    by_level = {
        str(r["level"]): r["n"] for r in grids.values("level").annotate(n=Count("id")).order_by("level")
    }
    by_kind = {r["kind"]: r["n"] for r in grids.values("kind").annotate(n=Count("id")).order_by("kind")}
    top = grids.filter(parent__isnull=True).aggregate(
        area=Sum("area_m2"), population=Sum("population"), households=Sum("households")
    )
    # Users per role count people, not assignments: a guide over two villages is one guide.
    role_rows = (
        RoleAssignment.objects.values("role")
        .annotate(users=Count("user", distinct=True), assignments=Count("id"))
        .order_by("role")
    )
    users_by_role = dict.fromkeys(Role.values, 0)
    assignments_by_role = dict.fromkeys(Role.values, 0)
    for r in role_rows:
        users_by_role[r["role"]] = r["users"]
        assignments_by_role[r["role"]] = r["assignments"]
    duties = {d: 0 for d in AdminDuty.values if d}
    for r in User.objects.exclude(admin_duty="").values("admin_duty").annotate(n=Count("id")):
        duties[r["admin_duty"]] = r["n"]
    items_by_kind = dict.fromkeys(ItemKind.values, 0)
    for r in Item.objects.values("kind").annotate(n=Count("id")):
        items_by_kind[r["kind"]] = r["n"]
    cases_by_state = dict.fromkeys(State.values, 0)
    for r in Case.objects.values("state").annotate(n=Count("id")).order_by():
        cases_by_state[r["state"]] = r["n"]
    cases_by_channel = dict.fromkeys(Channel.values, 0)
    for r in Case.objects.values("channel").annotate(n=Count("id")).order_by():
        cases_by_channel[r["channel"]] = r["n"]
    return {
        "cases": {
            "total": sum(cases_by_state.values()),
            "by_state": cases_by_state,
            "by_channel": cases_by_channel,
        },
        "grids": {
            "total": sum(by_level.values()),
            "by_level": by_level,
            "by_kind": by_kind,
            "special": sum(n for k, n in by_kind.items() if k != GridKind.BASE),
        },
        "territory": {
            "area_km2": round((top["area"] or 0) / 1e6, 1),
            "population": top["population"] or 0,
            "households": top["households"] or 0,
        },
        "users": {
            "total": User.objects.count(),
            "active": User.objects.filter(is_active=True).count(),
            "by_role": users_by_role,
            "by_admin_duty": duties,
        },
        "role_assignments": {"total": sum(assignments_by_role.values()), "by_role": assignments_by_role},
        "departments": Department.objects.count(),
        "modules": Module.objects.count(),
        "items": {"total": sum(items_by_kind.values()), "by_kind": items_by_kind},
    }


class Command(BaseCommand):
    help = (
        "Print what the database holds: grids per level, users per role and admin duty, departments, modules, "
        "items, cases per state and channel."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, json: bool = False, **options):
        stats = collect_stats()
        if json:
            self.stdout.write(_dump(stats))
            return
        self.stdout.write(self.render(stats))

    def render(self, stats: dict[str, Any]) -> str:
        rows: list[tuple[str, str]] = []

        def section(title: str) -> None:
            rows.append(("", ""))
            rows.append((title, ""))

        def row(label: str, value: Any) -> None:
            rows.append(("  " + label, f"{value:,}" if isinstance(value, int | float) else str(value)))

        section(_("Grids"))
        names = {"0": _("county"), "1": _("Level-1 grids"), "2": _("Level-2 grids"), "3": _("Level-3 grids")}
        for level, n in stats["grids"]["by_level"].items():
            row(names.get(level) or _("level-%(level)d grid") % {"level": int(level)}, n)
        row(_("special-purpose grids"), stats["grids"]["special"])
        row(_("area (km²)"), stats["territory"]["area_km2"])
        row(_("population"), stats["territory"]["population"])
        row(_("households"), stats["territory"]["households"])
        section(_("People"))
        row(_("users"), stats["users"]["total"])
        for role, n in stats["users"]["by_role"].items():
            row(str(Role(role).label), n)
        for duty, n in stats["users"]["by_admin_duty"].items():
            row(str(AdminDuty(duty).label), n)
        section(_("Responsibility list"))
        row(_("departments"), stats["departments"])
        row(_("modules"), stats["modules"])
        for kind, n in stats["items"]["by_kind"].items():
            row(str(ItemKind(kind).label), n)
        row(_("items"), stats["items"]["total"])
        section(_("Cases"))
        row(_("cases"), stats["cases"]["total"])
        for state, n in stats["cases"]["by_state"].items():
            row(str(State(state).label), n)
        for channel, n in stats["cases"]["by_channel"].items():
            row(str(Channel(channel).label), n)
        from gridgov.demo.seed import display_width, pad

        width = max(display_width(label) for label, _value in rows) + 2
        return "\n".join((pad(label, width) + value).rstrip() for label, value in rows[1:])


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
