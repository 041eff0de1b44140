"""Who sees which patrol, visit, inspection task and plan.

Patrols and visits: every worker their own; the heads of a village or a town, the command centre's operators and
the leaders those of their grid subtree; the county-wide administrators all of them. Grid specialists and
information officers see only their own, not their colleagues'.

Inspection tasks: a worker theirs (the ones given to them, the ones they inspected, and those of their grids that
nobody has been given yet); the overseers those of their subtree. Plans: the overseers those made for their
subtree or for a grid above it (a town's plan covers its villages); a worker those that cover their grids."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register_filter

from .models import InspectionPlan, InspectionTask, Patrol, Visit

# Roles that see the patrols, visits and inspections of their grid subtree.
PATROL_READERS = frozenset({Role.GRID_HEAD_L2, Role.GRID_HEAD_L1, Role.OPERATOR, Role.LEADER})
# The roles held over a level-3 grid whose holders patrol it, visit in it and inspect its components.
WORKER_ROLES = frozenset({Role.GRID_SPECIALIST, Role.INFO_OFFICER})


def in_subtree(path: str) -> Q:
    """Rows in the subtree at `path`, through the copied level ids (the row's grid is its level-3 grid)."""
    ids = path.strip("/").split("/")
    level = len(ids) - 1
    if level == 0:
        return Q()
    if level == 1:
        return Q(grid_l1_id=int(ids[1]))
    if level == 2:
        return Q(grid_l2_id=int(ids[2]))
    return Q(grid_id=int(ids[3]))


def _own_or_subtree(user: Any, own: Q) -> Q | None:
    """`own`, or the subtrees the user oversees; None means every row."""
    if is_county_wide(user):
        return None
    q = own
    for h in held_roles(user):
        if h.role in PATROL_READERS and h.grid_path:
            if h.grid_level == 0:
                return None
            q |= in_subtree(h.grid_path)
    return q


def patrol_q(user: Any) -> Q | None:
    """The filter of the patrols `user` may see; None means every patrol."""
    return _own_or_subtree(user, Q(user_id=user.pk))


def visit_q(user: Any) -> Q | None:
    """The filter of the visits `user` may see; None means every visit."""
    return _own_or_subtree(user, Q(worker_id=user.pk))


def worker_grid_ids(user: Any) -> list[int]:
    """The level-3 grids where the user works (as a grid specialist or an information officer)."""
    return [h.grid_id for h in held_roles(user) if h.role in WORKER_ROLES and h.grid_id and h.grid_level == 3]


def task_q(user: Any) -> Q | None:
    """The filter of the inspection tasks `user` may see; None means every task."""
    own = Q(worker_id=user.pk) | Q(done_by_id=user.pk)
    grids = worker_grid_ids(user)
    if grids:
        own |= Q(worker__isnull=True, grid_id__in=grids)
    return _own_or_subtree(user, own)


def _ancestors_and_self(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def plan_q(user: Any) -> Q | None:
    """The filter of the plans `user` may see; None means every plan."""
    if is_county_wide(user):
        return None
    covering: set[int] = set()
    q = Q(pk__in=[])
    for h in held_roles(user):
        if not h.grid_path:
            continue
        if h.role in PATROL_READERS:
            if h.grid_level == 0:
                return None
            q |= grid_filter(h.grid_path)  # a plan's grid may be of any level
            covering.update(_ancestors_and_self(h.grid_path))
        elif h.role in WORKER_ROLES:
            covering.update(_ancestors_and_self(h.grid_path))
    if covering:
        q |= Q(grid_id__in=sorted(covering))
    return q


def reads_fieldwork(user: Any) -> bool:
    """Whether the user holds a role that patrols or oversees patrols (anybody else is refused, not shown an
    empty list). The same people work with visits and inspections."""
    if is_county_wide(user):
        return True
    roles = PATROL_READERS | WORKER_ROLES
    return any(h.role in roles for h in held_roles(user))


register_filter(Patrol, patrol_q)
register_filter(Visit, visit_q)
register_filter(InspectionTask, task_q)
register_filter(InspectionPlan, plan_q)
