"""Scoped reads of the assessment: who sees it, whose cases a table counts, the configuration in force."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from gridgov.accounts.choices import Role
from gridgov.cases.models import Case
from gridgov.cases.overview import roots
from gridgov.cases.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import holds_duty, visible_to
from gridgov.fieldwork.models import Patrol
from gridgov.fieldwork.scoping import PATROL_READERS, in_subtree
from gridgov.grids.models import Grid

from .choices import AppealState, Kind
from .indicators import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    PatrolScope,
    Period,
    Table,
    build_table,
    weightable,
)
from .models import Appeal, Exclusion, Threshold, Weight

READER_ROLES = frozenset(
    {Role.LEADER, Role.GRID_HEAD_L1, Role.GRID_HEAD_L2, Role.OPERATOR, Role.DEPT_HANDLER}
)
# Who may exclude a case of their scope from assessment.
EXCLUDER_ROLES = frozenset({Role.LEADER, Role.OPERATOR})


def reads(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    return is_county_wide(user) or any(h.role in READER_ROLES for h in held_roles(user))


def configures(user: Any) -> bool:
    """Weights, thresholds and appeals are the county's policy: its leaders and the banner's centre (a role
    at the root grid), or the system administrator."""
    if not user.is_authenticated:
        return False
    if holds_duty(user, ("system",)):
        return True
    return any(h.role in (Role.LEADER, Role.OPERATOR) and h.grid_level == 0 for h in held_roles(user))


def excludes(user: Any) -> bool:
    return user.is_authenticated and (
        configures(user) or any(h.role in EXCLUDER_ROLES for h in held_roles(user))
    )


def default_grid(user: Any) -> Grid | None:
    """The subtree a table shows by default: the user's one subtree, or None (all the cases they see)."""
    if is_county_wide(user):
        return None
    tops = roots(user)
    if len(tops) == 1 and tops[0].level > 0:
        return tops[0]
    return None


def scope(user: Any, grid_code: str | None) -> tuple[QuerySet[Case], Grid | None]:
    """The cases a table of `user` counts: those they see, inside the grid `grid_code` when given (a grid
    they do not see answers 404)."""
    cases = visible_to(user, Case)
    grid: Grid | None
    if grid_code:
        grid = (
            visible_to(user, Grid.objects.current()).filter(code=grid_code.strip()).defer("geometry").first()
        )
        if grid is None:
            raise Http404
        if not is_county_wide(user):
            tops = roots(user)
            held_depts = any(h.department_id for h in held_roles(user))
            if not held_depts and not any(grid.path.startswith(t.path) for t in tops):
                raise Http404
    else:
        grid = default_grid(user)
    if grid is not None:
        cases = cases.filter(grid_filter(grid.path))
    return cases, grid


def patrol_scope(user: Any, grid: Grid | None) -> PatrolScope | None:
    """The patrols and level-3 grids a table of `user` counts for patrol coverage (inside `grid` when given), or
    None for a reader who does not oversee patrols (a department's handler: no value rather than a false 0 %)."""
    if not (is_county_wide(user) or any(h.role in PATROL_READERS for h in held_roles(user))):
        return None
    patrols = visible_to(user, Patrol)
    grids = visible_to(user, Grid.objects.current())
    if grid is not None:
        patrols = patrols.filter(in_subtree(grid.path))
        grids = grids.filter(path__startswith=grid.path)
    return PatrolScope(patrols, grids)


def weights_of(kind: str) -> dict[str, Decimal]:
    """The weights in force for `kind`: the county's, or the defaults while it has set none."""
    stored = {w.indicator: w.weight for w in Weight.objects.filter(kind=kind)}
    if not stored:
        return dict(DEFAULT_WEIGHTS[kind])
    return {code: stored.get(code, Decimal(0)) for code in weightable(kind)}


def thresholds_of(kind: str) -> tuple[Decimal, Decimal]:
    t = Threshold.objects.filter(kind=kind).first()
    return (t.red_below, t.yellow_below) if t else DEFAULT_THRESHOLDS


def table(
    user: Any, kind: str, period: Period, grid_code: str | None = None, sort: str = "score"
) -> tuple[Table, Grid | None]:
    cases, grid = scope(user, grid_code)
    return (
        build_table(
            kind,
            cases,
            period,
            weights=weights_of(kind),
            thresholds=thresholds_of(kind),
            sort=sort,
            patrols=patrol_scope(user, grid),
        ),
        grid,
    )


def exclusions(user: Any) -> QuerySet[Exclusion]:
    """The exclusions of cases the user sees (newest first)."""
    return Exclusion.objects.filter(case__in=visible_to(user, Case).values("pk")).select_related(
        "case", "by", "revoked_by"
    )


def appeals(user: Any) -> QuerySet[Appeal]:
    return Appeal.objects.filter(case__in=visible_to(user, Case).values("pk")).select_related(
        "case", "filed_by", "decided_by"
    )


def pending_appeals(user: Any) -> QuerySet[Appeal]:
    return appeals(user).filter(state=AppealState.PENDING)


KINDS = [k.value for k in Kind]
