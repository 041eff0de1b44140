"""Scoped reads of fieldwork: the grids a worker patrols, a worker's own patrol, visits, the inspection queue,
plans, and the overdue inspections per grid for the indicators."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import TaskState
from .errors import PatrolNotFound, TaskNotFound, VisitNotFound
from .models import InspectionPlan, InspectionTask, Patrol, Visit
from .scoping import WORKER_ROLES, in_subtree

# The roles held over a level-3 grid whose holders patrol it.


def patrol_grids(user: Any) -> list[Grid]:
    """The current level-3 grids the user patrols (as a grid specialist or an information officer), by code."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Grid.objects.current()
        .filter(level=3, assignments__user=user, assignments__role__in=WORKER_ROLES)
        .defer("geometry")
        .distinct()
        .order_by("code")
    )


def may_patrol(user: Any) -> bool:
    return bool(patrol_grids(user))


def own_patrol(user: Any, key: Any) -> Patrol:
    """The user's own patrol with this key; anybody else's, or a key that is no UUID, does not exist."""
    try:
        key = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError as exc:
        raise PatrolNotFound from exc
    patrol = Patrol.objects.select_related("grid", "user").defer("grid__geometry").filter(key=key).first()
    if patrol is None or patrol.user_id != user.pk:
        raise PatrolNotFound
    return patrol


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an interval of aware times."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def patrols(user: Any, *, grid: str | None = None, day: dt.date | None = None) -> QuerySet[Patrol]:
    """Without a grid or a day: the user's own patrols. With them: the patrols the user sees in that grid's
    subtree (a grid they do not see holds none) and/or started on that local day."""
    qs = visible_to(user, Patrol).select_related("grid", "user").defer("track", "grid__geometry")
    if grid is None and day is None:
        return qs.filter(user=user)
    if grid is not None:
        found = visible_to(user, Grid.objects.current()).filter(code=grid.strip()).only("path").first()
        qs = qs.filter(in_subtree(found.path)) if found is not None else qs.none()
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    return qs


def _grid_subtree(user: Any, code: str) -> Any:
    """The filter of a grid's subtree, for a grid the user sees; None when they see no grid of that code."""
    found = visible_to(user, Grid.objects.current()).filter(code=code.strip()).only("path").first()
    return in_subtree(found.path) if found is not None else None


# ---------------------------------------------------------------------------------------------- visits


def visits(user: Any, *, grid: str | None = None, day: dt.date | None = None) -> QuerySet[Visit]:
    """Without a grid or a day: the user's own visits. With them: the visits the user sees in that grid's
    subtree (a grid they do not see holds none) and/or made on that local day."""
    qs = visible_to(user, Visit).select_related("grid", "worker").defer("grid__geometry")
    if grid is None and day is None:
        return qs.filter(worker=user)
    if grid is not None:
        subtree = _grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(visited_at__gte=start, visited_at__lt=end)
    return qs


def visit_for(user: Any, key: Any) -> Visit:
    """The visit with this key if the user sees it; anything else does not exist (404)."""
    try:
        key = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError as exc:
        raise VisitNotFound from exc
    visit = (
        visible_to(user, Visit)
        .select_related("grid", "worker")
        .defer("grid__geometry")
        .filter(key=key)
        .first()
    )
    if visit is None:
        raise VisitNotFound
    return visit


# ---------------------------------------------------------------------------------------------- inspections


def grid_workers(grid_ids: list[int]) -> dict[int, list[int]]:
    """The workers of each of these level-3 grids, the one who is given its tasks first: its grid specialists,
    then its information officers, each by assignment. Grids without an active one are left out. One query
    for any number of grids."""
    rows = (
        RoleAssignment.objects.filter(
            grid_id__in=grid_ids, role__in=WORKER_ROLES, user__is_active=True, grid__valid_to__isnull=True
        )
        .values_list("grid_id", "role", "user_id", "id")
        .order_by("grid_id", "id")
    )
    ranked: dict[int, list[tuple[int, int, int]]] = {}
    for grid_id, role, user_id, assignment_id in rows:
        ranked.setdefault(grid_id, []).append(
            (0 if role == Role.GRID_SPECIALIST else 1, assignment_id, user_id)
        )
    out: dict[int, list[int]] = {}
    for grid_id, holders in ranked.items():
        users = [user_id for _rank, _id, user_id in sorted(holders)]
        out[grid_id] = list(dict.fromkeys(users))  # a worker holding both roles, once
    return out


def tasks(
    user: Any,
    *,
    state: str | None = TaskState.OPEN,
    overdue: bool | None = None,
    grid: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[InspectionTask]:
    """The inspection tasks the user sees (a worker: theirs; an overseer: their subtree's), in the order of the
    queue: by due date, so the overdue ones come first. `overdue` keeps only the open tasks past their date
    (or, False, only those not past it)."""
    today = today or timezone.localdate()
    qs = visible_to(user, InspectionTask).select_related("plan", "component", "grid", "worker")
    qs = qs.defer("grid__geometry")
    if state is not None:
        qs = qs.filter(state=state)
    if overdue is True:
        qs = qs.filter(state=TaskState.OPEN, due_on__lt=today)
    elif overdue is False:
        qs = qs.exclude(state=TaskState.OPEN, due_on__lt=today)
    if grid is not None:
        subtree = _grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    return qs.order_by("due_on", "id")


def task_for(user: Any, task_id: int) -> InspectionTask:
    """The task if the user sees it; anything else does not exist (404)."""
    task = (
        visible_to(user, InspectionTask)
        .select_related("plan", "plan__item", "component", "grid", "worker")
        .defer("grid__geometry")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise TaskNotFound
    return task


def plans(user: Any, *, active: bool | None = None) -> QuerySet[InspectionPlan]:
    qs = visible_to(user, InspectionPlan).select_related("item", "grid").defer("grid__geometry")
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def overdue_counts(
    level: int, ids: list[int] | None = None, *, today: dt.date | None = None
) -> dict[int, int]:
    """How many open inspection tasks are past their date, per grid of `level` (1 town, 2 village, 3 grid;
    0 the county: every task, counted under each id given) — for the indicators, not scoped to a user. With
    `ids`, only those grids (grids without overdue tasks are left out)."""
    today = today or timezone.localdate()
    qs = InspectionTask.objects.filter(state=TaskState.OPEN, due_on__lt=today)
    if level == 0:
        total = qs.count()
        return {grid_id: total for grid_id in ids or []} if total else {}
    if level not in (1, 2, 3):
        raise ValueError(f"no grid level {level}")
    column = "grid_id" if level == 3 else f"grid_l{level}_id"
    if ids is not None:
        qs = qs.filter(**{f"{column}__in": ids})
    rows = qs.values(column).annotate(n=Count("id")).order_by().values_list(column, "n")
    return {grid_id: n for grid_id, n in rows if grid_id is not None}
