"""Who sees which registry record.

The grid's people (information officers, grid specialists, the heads of the village and the town, the
command centre's operators and the leaders) see the records of their grid subtree; county-wide administrators
see every record; a department's handlers see the components it is in charge of or maintains. Residents,
mediators and volunteers see none: the registry is the office's, not the public's.

Key groups are stricter (PIPL: sensitive personal information): only people working at the village or the grid
see who is in one; levels above the village, and the administrators, get counts (`selectors.key_group_counts`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register

from .models import (
    Building,
    Component,
    Household,
    KeyGroupLabel,
    Organisation,
    PartyOrganisation,
    Person,
    PersonMove,
    PersonRole,
)

REGISTRY_READERS = frozenset(
    {
        Role.INFO_OFFICER,
        Role.GRID_SPECIALIST,
        Role.GRID_HEAD_L2,
        Role.GRID_HEAD_L1,
        Role.OPERATOR,
        Role.LEADER,
    }
)
# Who registers and corrects records, and may read a masked number in full (with a reason, audited): the
# people who meet the residents, at the grid and the village.
REGISTRY_KEEPERS = frozenset({Role.INFO_OFFICER, Role.GRID_SPECIALIST, Role.GRID_HEAD_L2})
# The deepest level above which key groups are counts only: the village (level 2).
KEY_GROUP_LEVEL = 2


def subtree_q(user: Any, roles: frozenset[str], *, min_level: int = 0, prefix: str = "") -> Q | None:
    """The records in the grid subtrees where `user` holds one of `roles` at `min_level` or deeper; None for
    every record (an assignment at the root)."""
    q = Q(pk__in=[])
    for h in held_roles(user):
        if h.role not in roles or not h.grid_path or (h.grid_level or 0) < min_level:
            continue
        if h.grid_level == 0:
            return None
        q |= grid_filter(h.grid_path, prefix)
    return q


def key_group_reach(user: Any) -> list[tuple[int, int]]:
    """(level, grid id) of each grid, at the village or below, in whose subtree the user sees who is in a key
    group; the same rule as `scoping`'s for `KeyGroupLabel`, on the ancestors a person row carries."""
    out = []
    for h in held_roles(user):
        if h.role in REGISTRY_READERS and h.grid_path and (h.grid_level or 0) >= KEY_GROUP_LEVEL:
            ids = h.grid_path.strip("/").split("/")
            level = min(len(ids) - 1, 3)
            out.append((level, int(ids[level])))
    return out


def sees_key_groups(user: Any, person: Person | None = None) -> bool:
    """Whether the user sees key groups at all, or those of `person` (no query)."""
    reach = key_group_reach(user)
    if person is None:
        return bool(reach)
    return any(getattr(person, f"grid_l{level}_id") == grid_id for level, grid_id in reach)


def reads_registry(user: Any) -> bool:
    return is_county_wide(user) or any(h.role in REGISTRY_READERS and h.grid_path for h in held_roles(user))


def _located(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if is_county_wide(user):
        return qs
    q = subtree_q(user, REGISTRY_READERS)
    return qs if q is None else qs.filter(q)


for _model in (Person, Household, Building, Organisation, PartyOrganisation):
    register(_model)(_located)


@register(Component)
def _components(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if is_county_wide(user):
        return qs
    q = subtree_q(user, REGISTRY_READERS)
    if q is None:
        return qs
    departments = [
        h.department_id for h in held_roles(user) if h.role == Role.DEPT_HANDLER and h.department_id
    ]
    if departments:
        q |= Q(owner_department_id__in=departments) | Q(maintainer_department_id__in=departments)
    return qs.filter(q)


@register(PersonMove)
def _moves(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if is_county_wide(user):
        return qs
    q = subtree_q(user, REGISTRY_READERS, prefix="person__")
    return qs if q is None else qs.filter(q)


@register(PersonRole)
def _roles(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if is_county_wide(user):
        return qs
    q = subtree_q(user, REGISTRY_READERS, prefix="person__")
    return qs if q is None else qs.filter(q)


@register(KeyGroupLabel)
def _key_groups(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = subtree_q(user, REGISTRY_READERS, min_level=KEY_GROUP_LEVEL)
    return qs if q is None else qs.filter(q)
