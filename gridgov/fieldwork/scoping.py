"""Who sees which patrol: every worker their own; the heads of a village or a town, the command centre's
operators and the leaders those of their grid subtree; the county-wide administrators all of them.

Grid specialists and information officers see only their own patrols, not their colleagues'."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.cases.scoping import held_roles, is_county_wide
from gridgov.core.scoping import register

from .models import Patrol

# Roles that see the patrols of their grid subtree.
PATROL_READERS = frozenset({Role.GRID_HEAD_L2, Role.GRID_HEAD_L1, Role.OPERATOR, Role.LEADER})


def in_subtree(path: str) -> Q:
    """Patrols in the subtree at `path`, through the copied level ids (a patrol's grid is its level-3 grid)."""
    ids = path.strip("/").split("/")
    level = len(ids) - 1
    if level == 0:
        return Q()
    if level == 1:
        return Q(grid_l1_id=int(ids[1]))
    if level == 2:
        return Q(grid_l2_id=int(ids[2]))
    return Q(grid_id=int(ids[3]))


def patrol_q(user: Any) -> Q | None:
    """The filter of the patrols `user` may see; None means every patrol."""
    if is_county_wide(user):
        return None
    q = Q(user_id=user.pk)
    for h in held_roles(user):
        if h.role in PATROL_READERS and h.grid_path:
            if h.grid_level == 0:
                return None
            q |= in_subtree(h.grid_path)
    return q


def reads_patrols(user: Any) -> bool:
    """Whether the user holds a role that patrols or oversees patrols (anybody else is refused, not shown an
    empty list)."""
    if is_county_wide(user):
        return True
    roles = PATROL_READERS | {Role.GRID_SPECIALIST, Role.INFO_OFFICER}
    return any(h.role in roles for h in held_roles(user))


@register(Patrol)
def _patrols(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = patrol_q(user)
    return qs if q is None else qs.filter(q)
