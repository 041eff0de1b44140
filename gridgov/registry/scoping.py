"""Who sees which registry record.

The grid's people (information officers, grid specialists, the heads of the village and the town, the
command centre's operators and the leaders) see the records of their grid subtree; county-wide administrators
see every record; a department's handlers see the components it is in charge of or maintains. Residents,
mediators and volunteers see none: the registry is the office's, not the public's.

Key groups are stricter (PIPL: sensitive personal information): only people working at the village or the grid
see who is in one; levels above the village, and the administrators, get counts (`selectors.key_group_counts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import Scope, grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register
from gridgov.grids.models import Grid

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


def _level_id(path: str) -> tuple[int, int]:
    """(level, id) of the grid at `path` as the records' copied level ids name it: the level-3 ancestor is the
    finest they hold (the same rule as `grid_filter`)."""
    ids = path.strip("/").split("/")
    level = min(len(ids) - 1, 3)
    return level, int(ids[level])


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    unique = sorted(set(paths))
    return tuple(p for p in unique if not any(p != q and p.startswith(q) for q in unique))


@dataclass(frozen=True)
class Reach(Scope):
    """The grid subtrees a user reaches for some purpose: all of them, or those under `grid_paths` (the
    outermost only). Read from the role assignments: no query."""

    def __bool__(self) -> bool:
        return self.everything or bool(self.grid_paths)

    def covers(self, grid: Grid) -> bool:
        """Whether a grid lies in the reach."""
        return self.everything or grid.path.startswith(self.grid_paths)

    def holds(self, record: Any) -> bool:
        """Whether a record placed in a grid lies in the reach, by the level ids it copies (`grid_l1_id`…)."""
        if self.everything:
            return True
        return any(
            getattr(record, f"grid_l{level}_id") == pk for level, pk in map(_level_id, self.grid_paths)
        )

    def grid_q(self, prefix: str = "") -> Q:
        """Grids in the reach (on the grid table itself)."""
        return Q() if self.everything else super().grid_q(prefix)

    def record_q(self, prefix: str = "") -> Q:
        """Records in the reach, by their copied level ids (reached through `prefix`, e.g. "person__")."""
        if self.everything:
            return Q()
        q = Q(pk__in=[])
        for path in self.grid_paths:
            q |= grid_filter(path, prefix)
        return q


def role_reach(user: Any, roles: frozenset[str], *, min_level: int = 0) -> Reach:
    """The subtrees where `user` holds one of `roles` at `min_level` or deeper; everything for an assignment
    at the root."""
    held = [
        h for h in held_roles(user) if h.role in roles and h.grid_path and (h.grid_level or 0) >= min_level
    ]
    if any(h.grid_level == 0 for h in held):
        return Reach(everything=True)
    return Reach(grid_paths=_outermost(h.grid_path for h in held))


def registry_reach(user: Any) -> Reach:
    """The grids whose registry the user reads: the county for county-wide users."""
    if is_county_wide(user):
        return Reach(everything=True)
    return role_reach(user, REGISTRY_READERS)


def reads_registry(user: Any) -> bool:
    return bool(registry_reach(user))


def keeper_reach(user: Any) -> Reach:
    """The grids where the user registers people and may read their numbers in full."""
    return role_reach(user, REGISTRY_KEEPERS)


def key_group_reach(user: Any) -> Reach:
    """The grids, at the village or below, in whose subtree the user sees who is in a key group; the same rule
    as `scoping`'s for `KeyGroupLabel`."""
    return role_reach(user, REGISTRY_READERS, min_level=KEY_GROUP_LEVEL)


def sees_key_groups(user: Any, person: Person | None = None) -> bool:
    """Whether the user sees key groups at all, or those of `person` (no query)."""
    found = key_group_reach(user)
    return bool(found) if person is None else found.holds(person)


def _located(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(registry_reach(user).record_q())


for _model in (Person, Household, Building, Organisation, PartyOrganisation):
    register(_model)(_located)


@register(Component)
def _components(user: Any, qs: models.QuerySet) -> models.QuerySet:
    found = registry_reach(user)
    if found.everything:
        return qs
    q = found.record_q()
    departments = [
        h.department_id for h in held_roles(user) if h.role == Role.DEPT_HANDLER and h.department_id
    ]
    if departments:
        q |= Q(owner_department_id__in=departments) | Q(maintainer_department_id__in=departments)
    return qs.filter(q)


@register(PersonMove)
def _moves(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(registry_reach(user).record_q("person__"))


@register(PersonRole)
def _roles(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(registry_reach(user).record_q("person__"))


@register(KeyGroupLabel)
def _key_groups(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(key_group_reach(user).record_q())
