"""The people of the demo county: who holds which role over which grid or department (定人定格定责).

`plan_people(plan, departments)` is pure: the same county and department codes give the same people. Every
level-3 grid gets at least one grid specialist and one information officer; the larger grids get more. A few
people get memorable usernames (`DEMO_ACCOUNTS`) so that each role can be tried in the demo.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from gridgov.accounts.choices import AdminDuty, Role

from .county import CountyPlan, PlannedGrid, largest_remainder
from .names import person_name


@dataclass
class PlannedUser:
    username: str
    full_name: str
    # (role, grid code or None, department code or None)
    assignments: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    admin_duty: str = AdminDuty.NONE

    @property
    def is_staff(self) -> bool:
        return self.admin_duty != AdminDuty.NONE


# The demo accounts, in the order they are printed: username → what the account is for. The memorable
# usernames replace the systematic ones of people already in the plan, so the reference counts stay exact.
DEMO_ACCOUNTS: tuple[str, ...] = (
    "sysadmin",
    "secadmin",
    "auditor",
    "leader",
    "town_leader",
    "operator",
    "town_operator",
    "l1head",
    "l2head",
    "specialist",
    "officer",
    "guide",
    "handler",
    "mediator",
    "volunteer",
    "resident",
)

# Departments that send more grid guides (police stations, law enforcement, market supervision …).
GUIDE_WEIGHTS = {
    "GA": 4.0,
    "ZF": 2.5,
    "SJ": 2.0,
    "SF": 1.6,
    "YJ": 1.6,
    "ZZ": 1.6,
    "XF": 1.4,
    "MZ": 1.3,
    "JJ": 1.3,
}
# The department whose handler is the demo `handler`: law enforcement gets most city-appearance cases.
HANDLER_DEPARTMENT = "ZF"


def mongolian_share(grid: PlannedGrid | None) -> float:
    """Mongolian names are common in the sumu and the gaqa, rarer elsewhere."""
    return 0.35 if grid is not None and grid.category in ("gaqa", "sumu") else 0.08


@dataclass
class PeoplePlan:
    users: list[PlannedUser]
    demo: dict[str, PlannedUser]  # memorable username → user
    demo_town: str
    demo_village: str
    demo_leaf: str


def plan_people(plan: CountyPlan, departments: list[str]) -> PeoplePlan:
    config = plan.config
    rng = random.Random(config.seed + 2)

    by_code = plan.by_code()
    root = plan.level(0)[0]
    towns = plan.level(1)
    villages = plan.level(2)
    leaves = plan.level(3)
    users: list[PlannedUser] = []

    def person(username: str, where: PlannedGrid | None, *assignments) -> PlannedUser:
        user = PlannedUser(username, person_name(rng, mongolian_share(where)), list(assignments))
        users.append(user)
        return user

    def village_of(leaf: PlannedGrid) -> PlannedGrid:
        return by_code[leaf.parent_code or ""]

    # The three administrators (三员分立): three accounts, one duty each.
    admins = {
        "sysadmin": AdminDuty.SYSTEM,
        "secadmin": AdminDuty.SECURITY,
        "auditor": AdminDuty.AUDIT,
    }
    for username, duty in admins.items():
        person(username, None).admin_duty = duty

    # Leaders and command-centre operators: the banner's and each town's.
    for n in range(1, config.banner_leaders + 1):
        person(f"ld-{root.code}-{n}", None, (Role.LEADER, root.code, None))
    for n in range(1, config.banner_operators + 1):
        person(f"op-{root.code}-{n}", None, (Role.OPERATOR, root.code, None))
    for town in towns:
        for n in range(1, config.town_leaders + 1):
            person(f"ld-{town.code}-{n}", town, (Role.LEADER, town.code, None))
        for n in range(1, config.town_operators + 1):
            person(f"op-{town.code}-{n}", town, (Role.OPERATOR, town.code, None))

    # Grid heads: the town party secretaries and the village branch secretaries.
    for town in towns:
        person(f"l1h-{town.code}", town, (Role.GRID_HEAD_L1, town.code, None))
    for village in villages:
        person(f"l2h-{village.code}", village, (Role.GRID_HEAD_L2, village.code, None))

    # Grid specialists: one per level-3 grid, a second in the most populous ones.
    extra = config.specialists - len(leaves)
    if extra < 0:
        raise ValueError(f"{config.specialists} specialists cannot cover {len(leaves)} level-3 grids")
    second = {g.code for g in sorted(leaves, key=lambda g: (-g.population, g.code))[:extra]}
    for leaf in leaves:
        for n in range(1, 3 if leaf.code in second else 2):
            person(f"sp-{leaf.code}-{n}", village_of(leaf), (Role.GRID_SPECIALIST, leaf.code, None))

    # Information officers: at least one per level-3 grid, the rest by population.
    if config.officers < len(leaves):
        raise ValueError(f"{config.officers} information officers cannot cover {len(leaves)} level-3 grids")
    weights = np.array([g.population + 60.0 for g in leaves])
    for leaf, count in zip(leaves, largest_remainder(config.officers, weights, minimum=1), strict=True):
        for n in range(1, count + 1):
            person(f"io-{leaf.code}-{n}", village_of(leaf), (Role.INFO_OFFICER, leaf.code, None))

    # Grid guides: department staff sunk into level-2 grids, every level-2 grid with at least one when
    # there are enough guides, never two of one department in one grid.
    if departments:
        dept_weights = np.array([GUIDE_WEIGHTS.get(d, 1.0) for d in departments])
        minimum = 1 if config.guides >= 2 * len(departments) else 0
        shares = largest_remainder(config.guides, dept_weights, minimum=minimum)
        slots = [d for d, k in zip(departments, shares, strict=True) for _ in range(k)]
        rng.shuffle(slots)
        queue = [v.code for v in villages]
        rng.shuffle(queue)
        pops = [v.population + 1 for v in villages]
        queue += [v.code for v in rng.choices(villages, weights=pops, k=max(0, len(slots) - len(queue)))]
        taken: set[tuple[str, str]] = set()
        serial: dict[str, int] = defaultdict(int)
        for dept in slots:
            pick = next((i for i, v in enumerate(queue) if (dept, v) not in taken), None)
            if pick is None:
                code = next(v.code for v in villages if (dept, v.code) not in taken)
            else:
                code = queue.pop(pick)
            taken.add((dept, code))
            serial[dept] += 1
            person(f"gd-{dept.lower()}-{serial[dept]:03d}", by_code[code], (Role.GRID_GUIDE, code, dept))
        # Department handlers: a few per department, over the whole county.
        for dept in departments:
            for n in range(1, config.handlers_per_department + 1):
                person(f"dh-{dept.lower()}-{n}", None, (Role.DEPT_HANDLER, None, dept))

    # Volunteer mediators (乡贤) over the villages of the towns, one committee per 镇; volunteers over the
    # communities and villages.
    mediation = [v for v in villages if by_code[v.parent_code or ""].category == "town"] or villages
    weights = np.array([v.population + 1.0 for v in mediation])
    for village, count in zip(mediation, largest_remainder(config.mediators, weights), strict=True):
        for n in range(1, count + 1):
            person(f"md-{village.code}-{n}", village, (Role.MEDIATOR, village.code, None))
    weights = np.array([v.population * (2.0 if v.category == "community" else 1.0) + 1 for v in villages])
    for village, count in zip(villages, largest_remainder(config.volunteers, weights), strict=True):
        for n in range(1, count + 1):
            person(f"vol-{village.code}-{n}", village, (Role.VOLUNTEER, village.code, None))

    # Residents: they report from their phones and see their own reports only.
    for n in range(1, config.residents + 1):
        person(f"res-{n:04d}", None, (Role.RESIDENT, None, None))

    # The memorable demo accounts: people of one town, one of its villages and that village's first grid.
    demo_town = next((t for t in towns if t.code.endswith("100")), None) or next(
        (t for t in towns if t.category != "street"), towns[0]
    )
    demo_village = next(v for v in villages if v.parent_code == demo_town.code)
    demo_leaf = next(g for g in leaves if g.parent_code == demo_village.code and g.kind == "base")

    def first(role: str, grid: str | None = None, dept: str | None = None) -> PlannedUser | None:
        for u in users:
            for r, g, d in u.assignments:
                if r == role and (grid is None or g == grid) and (dept is None or d == dept):
                    return u
        return None

    demo_guide = first(Role.GRID_GUIDE, demo_village.code, "GA") or first(Role.GRID_GUIDE, demo_village.code)
    picks = {
        "leader": first(Role.LEADER, root.code),
        "town_leader": first(Role.LEADER, demo_town.code),
        "operator": first(Role.OPERATOR, root.code),
        "town_operator": first(Role.OPERATOR, demo_town.code),
        "l1head": first(Role.GRID_HEAD_L1, demo_town.code),
        "l2head": first(Role.GRID_HEAD_L2, demo_village.code),
        "specialist": first(Role.GRID_SPECIALIST, demo_leaf.code),
        "officer": first(Role.INFO_OFFICER, demo_leaf.code),
        "guide": demo_guide or first(Role.GRID_GUIDE),
        "handler": first(Role.DEPT_HANDLER, None, HANDLER_DEPARTMENT) or first(Role.DEPT_HANDLER),
        "mediator": first(Role.MEDIATOR, demo_village.code) or first(Role.MEDIATOR),
        "volunteer": first(Role.VOLUNTEER, demo_village.code) or first(Role.VOLUNTEER),
        "resident": first(Role.RESIDENT),
    }
    demo: dict[str, PlannedUser] = {u.username: u for u in users if u.username in admins}
    for username, user in picks.items():
        if user is not None:
            user.username = username
            demo[username] = user
    return PeoplePlan(users, demo, demo_town.code, demo_village.code, demo_leaf.code)
