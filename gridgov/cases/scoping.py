"""Who sees which case, and in which capacities a user acts on one.

Grid roles see the cases of their grid subtree (filtered on the denormalised level ids, never on paths);
department handlers see the cases their department was dispatched to; grid guides those of their department
inside their grids; residents their own reports and those they said "me too" to."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import Held, grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register

from .choices import AssignmentKind, Capacity
from .models import Assignment, Case, CaseEvent, Comment, Evidence, Supporter
from .workflow import GRID_CAPACITIES, UNIT_ROLES

# Roles that see every case of their grid subtree.
GRID_READERS = frozenset(GRID_CAPACITIES)


def case_q(user: Any) -> Q | None:
    """The filter of the cases `user` may see; None means every case."""
    if is_county_wide(user):
        return None
    q = Q(pk__in=[])
    for h in held_roles(user):
        if h.role in GRID_READERS and h.grid_path:
            if h.grid_level == 0:
                return None
            q |= grid_filter(h.grid_path)
        elif h.role == Role.DEPT_HANDLER and h.department_id:
            q |= Q(Exists(Assignment.objects.filter(case=OuterRef("pk"), department_id=h.department_id)))
        elif h.role == Role.GRID_GUIDE and h.department_id and h.grid_path:
            q |= grid_filter(h.grid_path) & Q(
                Exists(Assignment.objects.filter(case=OuterRef("pk"), department_id=h.department_id))
            )
        elif h.role == Role.RESIDENT:
            # A union of two indexed lookups: an OR with EXISTS would scan every case.
            own = Case.objects.filter(reporter=user).order_by().values("pk")
            joined = Supporter.objects.filter(user=user).order_by().values("case_id")
            q |= Q(pk__in=own.union(joined))
    return q


@register(Case)
def _cases(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = case_q(user)
    return qs if q is None else qs.filter(q)


@register(CaseEvent)
def _events(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = case_q(user)
    return qs if q is None else qs.filter(Exists(Case.objects.filter(q, pk=OuterRef("case_id"))))


@register(Evidence)
def _evidence(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = case_q(user)
    return qs if q is None else qs.filter(Exists(Case.objects.filter(q, pk=OuterRef("case_id"))))


@register(Comment)
def _comments(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = case_q(user)
    qs = qs if q is None else qs.filter(Exists(Case.objects.filter(q, pk=OuterRef("case_id"))))
    if not staff_roles(user):
        qs = qs.filter(public=True)  # residents read the conversation with them, not the staff's notes
    return qs


def staff_roles(user: Any) -> bool:
    return is_county_wide(user) or any(h.role != Role.RESIDENT for h in held_roles(user))


def covers(h: Held, case: Case, grid_path: str) -> bool:
    return bool(h.grid_path) and grid_path.startswith(h.grid_path)


def capacities(user: Any, case: Case, grid_path: str, assignments: list[Assignment]) -> frozenset[str]:
    """The capacities in which `user` may act on `case` (whose grid's path is `grid_path`), given the case's
    active unit assignments."""
    if user is None:
        return frozenset({Capacity.SYSTEM})
    held: set[str] = set()
    if case.reporter_id is not None and case.reporter_id == user.pk:
        held.add(Capacity.REPORTER)
    active = {a.department_id: a.kind for a in assignments if a.active}
    for h in held_roles(user):
        if h.role in GRID_CAPACITIES and covers(h, case, grid_path):
            cap = GRID_CAPACITIES[h.role]
            # Grid staff answer for their own level-3 grid, not for a grid they merely lie above.
            if cap == Capacity.GRID_STAFF and h.grid_level != 3:
                continue
            held.add(cap)
        elif h.role in UNIT_ROLES and h.department_id in active:
            if h.role == Role.GRID_GUIDE and not covers(h, case, grid_path):
                continue
            kind = active[h.department_id]
            held.add(Capacity.LEAD_UNIT if kind == AssignmentKind.LEAD else Capacity.ASSIST_UNIT)
    return frozenset(held)
