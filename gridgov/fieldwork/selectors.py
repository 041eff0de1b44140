"""Scoped reads of fieldwork: the grids a worker patrols, a worker's own patrol, visits, the inspection queue,
plans, and the overdue inspections per grid for the indicators."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import TaskState
from .errors import PatrolNotFound, TaskNotFound, VisitNotFound
from .models import InspectionPlan, InspectionTask, Patrol, Visit
from .scoping import WORKER_ROLES, in_subtree


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


def _in_days(qs: QuerySet[Any], column: str, since: dt.date | None, until: dt.date | None) -> QuerySet[Any]:
    """Rows whose time `column` falls on the local days from `since` to `until` (both included)."""
    if since is not None:
        qs = qs.filter(**{f"{column}__gte": day_bounds(since)[0]})
    if until is not None:
        qs = qs.filter(**{f"{column}__lt": day_bounds(until)[1]})
    return qs


def visible_patrols(
    user: Any,
    *,
    grid: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Patrol]:
    """The patrols the user sees (a worker's own; an overseer's subtree), of `grid`'s subtree (a grid they do not
    see holds none), started on the local days from `since` to `until`."""
    qs = visible_to(user, Patrol).select_related("grid", "user").defer("track", "grid__geometry")
    if grid is not None:
        subtree = _grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    return _in_days(qs, "started_at", since, until)


def patrols(user: Any, *, grid: str | None = None, day: dt.date | None = None) -> QuerySet[Patrol]:
    """Without a grid or a day: the user's own patrols. With them: the patrols the user sees in that grid's
    subtree (a grid they do not see holds none) and/or started on that local day."""
    if grid is None and day is None:
        return visible_patrols(user).filter(user=user)
    return visible_patrols(user, grid=grid, since=day, until=day)


def _grid_subtree(user: Any, code: str) -> Any:
    """The filter of a grid's subtree, for a grid the user sees; None when they see no grid of that code."""
    found = visible_to(user, Grid.objects.current()).filter(code=code.strip()).only("path").first()
    return in_subtree(found.path) if found is not None else None


# ---------------------------------------------------------------------------------------------- visits


def with_visited(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """Visits with their grid, worker and what was visited, and their number of photos (`photo_count`)."""
    return (
        qs.select_related("grid", "worker", "household", "person", "organisation")
        .defer("grid__geometry")
        .annotate(photo_count=Count("photos"))
    )


def visible_visits(
    user: Any,
    *,
    grid: str | None = None,
    household: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Visit]:
    """The visits the user sees (a worker's own; an overseer's subtree), of `grid`'s subtree (a grid they do not
    see holds none), to one household (by id), made on the local days from `since` to `until`."""
    qs = with_visited(visible_to(user, Visit))
    if grid is not None:
        subtree = _grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    if household is not None:
        qs = qs.filter(household_id=household)
    return _in_days(qs, "visited_at", since, until)


def visits(user: Any, *, grid: str | None = None, day: dt.date | None = None) -> QuerySet[Visit]:
    """Without a grid or a day: the user's own visits. With them: the visits the user sees in that grid's
    subtree (a grid they do not see holds none) and/or made on that local day."""
    if grid is None and day is None:
        return visible_visits(user).filter(worker=user)
    return visible_visits(user, grid=grid, since=day, until=day)


def visit_for(user: Any, key: Any) -> Visit:
    """The visit with this key if the user sees it; anything else does not exist (404)."""
    try:
        key = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError as exc:
        raise VisitNotFound from exc
    visit = with_visited(visible_to(user, Visit)).filter(key=key).first()
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


TASK_RELATIONS = ("plan", "plan__item", "component", "grid", "worker", "done_by")


def with_task_relations(qs: QuerySet[InspectionTask]) -> QuerySet[InspectionTask]:
    """Tasks with their plan, class, component, grid and workers, as lists and pages show them."""
    return qs.select_related(*TASK_RELATIONS).defer("grid__geometry", "component__attributes")


def tasks(
    user: Any,
    *,
    state: str | Collection[str] | None = TaskState.OPEN,
    overdue: bool | None = None,
    grid: str | None = None,
    item: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[InspectionTask]:
    """The inspection tasks the user sees (a worker: theirs; an overseer: their subtree's), in the order of the
    queue: by due date, so the overdue ones come first. `state` is one state or several; `overdue` keeps only
    the open tasks past their date (or, False, only those not past it); `item` the tasks of one class of
    components (an item code)."""
    today = today or timezone.localdate()
    qs = with_task_relations(visible_to(user, InspectionTask))
    if isinstance(state, str):
        qs = qs.filter(state=state)
    elif state is not None:
        qs = qs.filter(state__in=sorted(state))
    if overdue is True:
        qs = qs.filter(state=TaskState.OPEN, due_on__lt=today)
    elif overdue is False:
        qs = qs.exclude(state=TaskState.OPEN, due_on__lt=today)
    if grid is not None:
        subtree = _grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    if item:
        qs = qs.filter(plan__item__code=item)
    return qs.order_by("due_on", "id")


def task_for(user: Any, task_id: int) -> InspectionTask:
    """The task if the user sees it; anything else does not exist (404)."""
    task = with_task_relations(visible_to(user, InspectionTask)).filter(pk=task_id).first()
    if task is None:
        raise TaskNotFound
    return task


@dataclass(frozen=True)
class Figures:
    """What the fieldwork home counts in the user's scope."""

    open: int
    due_this_week: int
    overdue: int
    visits_this_month: int
    patrols_this_month: int


def figures(user: Any, today: dt.date | None = None) -> Figures:
    """The open inspection tasks the user sees, those due by the end of this week (Sunday) and those past their
    date; the visits and patrols since the first of the month. Three queries."""
    today = today or timezone.localdate()
    week_end = today + dt.timedelta(days=6 - today.weekday())
    month_start = day_bounds(today.replace(day=1))[0]
    counts = (
        visible_to(user, InspectionTask)
        .filter(state=TaskState.OPEN)
        .aggregate(
            open=Count("id"),
            due=Count("id", filter=Q(due_on__gte=today, due_on__lte=week_end)),
            overdue=Count("id", filter=Q(due_on__lt=today)),
        )
    )
    return Figures(
        open=counts["open"],
        due_this_week=counts["due"],
        overdue=counts["overdue"],
        visits_this_month=visible_to(user, Visit).filter(visited_at__gte=month_start).count(),
        patrols_this_month=visible_to(user, Patrol).filter(started_at__gte=month_start).count(),
    )


def answered(task: InspectionTask) -> list[tuple[str, dict[str, str]]]:
    """A task's answers in its plan's order (PostgreSQL's jsonb keeps no order of keys); checks taken out of the
    plan since come last."""
    order = {c["code"]: n for n, c in enumerate(task.plan.checklist)}
    return sorted(task.result.items(), key=lambda pair: (order.get(pair[0], len(order)), pair[0]))


def plans(user: Any, *, active: bool | None = None) -> QuerySet[InspectionPlan]:
    qs = visible_to(user, InspectionPlan).select_related("item", "grid").defer("grid__geometry")
    if active is not None:
        qs = qs.filter(active=active)
    return qs


class OverdueInspections:
    """The overview's column of overdue inspections per grid (`cases.overview.provide_figures`)."""

    key = "overdue_inspections"
    label = _("overdue inspections")
    alarming = True

    def counts(self, level: int, ids: list[int], period: Any) -> dict[int, int]:
        return overdue_counts(level, ids)  # overdue now, whatever the period

    def link(self, code: str, period: Any) -> str:
        return f"{reverse('fieldwork:tasks')}?{urlencode({'grid': code, 'state': 'overdue'})}"


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
