"""What a user's role assignments let them see: `scope_of(user)`, and the scoping rules of accounts' and
grids' models (other apps register their own rules with `scope_of`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.db.models import Q

from gridgov.catalog.models import Department
from gridgov.core.scoping import register
from gridgov.grids.models import Grid

from .choices import AdminDuty, Role
from .models import RoleAssignment, User


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    grid_paths: tuple[str, ...] = ()  # subtree roots, as materialised paths
    department_ids: frozenset[int] = field(default_factory=frozenset)
    own_only: bool = False

    def grid_q(self, prefix: str = "") -> Q:
        """Rows whose grid (reached through `prefix`, e.g. "grid__") lies in one of the subtrees."""
        q = Q(pk__in=[])
        for p in self.grid_paths:
            q |= Q(**{f"{prefix}path__startswith": p})
        return q


@dataclass(frozen=True)
class Held:
    """One role assignment, as the apps that scope by grid and department need it."""

    role: str
    grid_id: int | None
    grid_level: int | None
    grid_path: str
    department_id: int | None


HELD_SQL = (
    "SELECT a.role, a.grid_id, g.level, g.path, a.department_id FROM accounts_roleassignment a "
    "LEFT JOIN grids_grid g ON g.id = a.grid_id WHERE a.user_id = %s"
)


def held_roles(user: Any) -> list[Held]:
    """The user's role assignments, read once per request."""
    cached = getattr(user, "_gridgov_held", None)
    if cached is None:
        # One precompiled statement (core.rawsql says why): every request of staff reads it.
        with connection.cursor() as cursor:
            cursor.execute(HELD_SQL, [user.pk])
            rows = cursor.fetchall()
        cached = [Held(role, grid_id, level, path or "", dept) for role, grid_id, level, path, dept in rows]
        user._gridgov_held = cached
    return cached


def grid_filter(path: str, prefix: str = "") -> Q:
    """Rows in the subtree at `path`, through the denormalised level ids (`grid_l1_id`…)."""
    ids = path.strip("/").split("/")
    level = len(ids) - 1
    if level == 0:
        return Q()
    if (
        level > 3
    ):  # below level 3 (never in a county's tree): the level-3 ancestor is the finest index we hold
        level = 3
    return Q(**{f"{prefix}grid_l{level}_id": int(ids[level])})


def is_county_wide(user: Any) -> bool:
    return bool(user.is_superuser or user.admin_duty != AdminDuty.NONE)


def scope_of(user: Any) -> Scope:
    cached = getattr(user, "_gridgov_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser or user.admin_duty != AdminDuty.NONE:
        # Administrators see the whole county; what each duty may change is decided by its admin pages.
        scope = Scope(everything=True)
    else:
        paths: list[str] = []
        departments: set[int] = set()
        own = False
        for a in RoleAssignment.objects.filter(user=user).select_related("grid"):
            if a.role == Role.RESIDENT:
                own = True
            if a.grid is not None:
                paths.append(a.grid.path)
            if a.department_id is not None:
                departments.add(a.department_id)
        if any(p.count("/") == 2 for p in paths):  # an assignment at the root covers the whole county
            scope = Scope(everything=True, department_ids=frozenset(departments))
        else:
            # Keep only the outermost subtrees.
            roots = tuple(p for p in sorted(set(paths)) if not any(p != q and p.startswith(q) for q in paths))
            scope = Scope(
                grid_paths=roots,
                department_ids=frozenset(departments),
                own_only=own and not roots and not departments,
            )
    user._gridgov_scope = scope
    return scope


@register(Grid)
def _grids(user: Any, qs: models.QuerySet) -> models.QuerySet:
    scope = scope_of(user)
    # Departments answer for the whole county, so their staff see every grid, as do county-wide roles.
    if scope.everything or (scope.department_ids and not scope.grid_paths):
        return qs
    if not scope.grid_paths:
        return qs.none()
    ancestors = {int(x) for p in scope.grid_paths for x in p.strip("/").split("/")}
    return qs.filter(scope.grid_q() | Q(pk__in=ancestors))


@register(Department)
def _departments(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs if not scope_of(user).own_only else qs.none()


@register(User)
def _users(user: Any, qs: models.QuerySet) -> models.QuerySet:
    scope = scope_of(user)
    if scope.everything:
        return qs
    q = Q(pk=user.pk)
    if scope.grid_paths:
        q |= Q(pk__in=RoleAssignment.objects.filter(scope.grid_q("grid__")).values("user_id"))
    if scope.department_ids:
        q |= Q(pk__in=RoleAssignment.objects.filter(department_id__in=scope.department_ids).values("user_id"))
    return qs.filter(q)


@register(RoleAssignment)
def _assignments(user: Any, qs: models.QuerySet) -> models.QuerySet:
    scope = scope_of(user)
    if scope.everything:
        return qs
    q = Q(user=user)
    if scope.grid_paths:
        q |= scope.grid_q("grid__")
    if scope.department_ids:
        q |= Q(department_id__in=scope.department_ids)
    return qs.filter(q)
