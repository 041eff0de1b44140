"""Fieldwork API: patrols (check-in, GPS track, check-out), visits (走访) and inspections (巡检) by plan, made on the
phone, often offline, and sent later.

Every write from the phone is idempotent: the check-in's key starts one patrol however often it is sent (201
the first time, 200 after), a track batch sent again adds nothing, a second check-out answers the first, a
visit's key records one visit, a completion's key records one inspection (and opens at most one case). A
worker touches only their own patrols (anybody else's answers 404); every read goes through `visible_to`, so
what is out of the caller's scope answers 404 like what does not exist. Forms are `multipart/form-data` (with
`photos`) or urlencoded, like the case API's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from gridgov.cases.api import READ_ERRORS, WRITE_ERRORS
from gridgov.cases.schemas import Id
from gridgov.cases.story import label, local
from gridgov.core.audit import client_ip
from gridgov.core.paging import keyset
from gridgov.core.schemas import PageQuery

from . import selectors, services
from .choices import TaskState, VisitPurpose
from .errors import NotAllowed
from .models import InspectionPlan, InspectionTask, Patrol, Visit
from .schemas import (
    AnswerOut,
    Check,
    CompleteIn,
    ComponentRef,
    EndIn,
    ItemRef,
    PatrolGrid,
    PatrolKey,
    PatrolListQuery,
    PatrolOut,
    PatrolPage,
    PlanIn,
    PlanListQuery,
    PlanOut,
    PlanPage,
    PlanRef,
    StartIn,
    TaskListQuery,
    TaskOut,
    TaskPage,
    TrackIn,
    Visited,
    VisitIn,
    VisitListQuery,
    VisitOut,
    VisitPage,
    Worker,
)
from .scoping import reads_fieldwork

router = Router(tags=["fieldwork"])


def _out(patrol: Patrol) -> PatrolOut:
    grid, worker = patrol.grid, patrol.user
    return PatrolOut(
        key=patrol.key,
        grid=PatrolGrid(id=grid.pk, code=grid.code, name=grid.name),
        worker=Worker(id=worker.pk, name=str(worker)),
        started_at=local(patrol.started_at),
        ended_at=local(patrol.ended_at),
        points=patrol.points,
        distance_m=round(patrol.distance_m, 1),
        duration_s=patrol.duration_s,
    )


def _page_of(
    qs: QuerySet[Any], column: str, page: PageQuery, *, descending: bool = True
) -> tuple[list[Any], bool, int | None]:
    """Keyset paging on `column` then id (`core.paging.keyset`): the rows, `has_more`, and `next_before` (the id of
    the last row, to pass as `before`)."""
    rows, more = keyset(qs, column, before=page.before, limit=page.limit, descending=descending)
    return rows, more, rows[-1].pk if more else None


def _page(qs: QuerySet[Patrol], page: PageQuery) -> PatrolPage:
    """Newest check-in first (ties by id)."""
    rows, more, next_before = _page_of(qs, "started_at", page)
    return PatrolPage(items=[_out(p) for p in rows], has_more=more, next_before=next_before)


@router.post(
    "/patrols",
    response={200: PatrolOut, 201: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_start",
    summary="Check in (start a patrol)",
)
def start(request: HttpRequest, payload: Form[StartIn]):
    """Start a patrol at `at` (the phone's time) of the caller's grid holding the point, else of their first
    grid. 201 with the new patrol; 200 with the same patrol when its key was seen before. 403: only grid
    specialists and information officers of a current grid patrol; 409: the key is another worker's."""
    result = services.do_start_patrol(
        request.user, payload.key, payload.at, payload.lon, payload.lat, client_ip(request)
    )
    return Status(201 if result.created else 200, _out(result.patrol))


@router.post(
    "/patrols/{key}/track",
    response={200: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_track",
    summary="Add a batch of the GPS track",
)
def track(request: HttpRequest, key: PatrolKey, payload: Form[TrackIn]):
    """Add points to the caller's patrol, kept in time order. Points of a time already stored are skipped (a
    batch sent again adds nothing); a point out of time order, outside the patrol or malformed refuses the whole
    batch (422, field `points`, the message names the point)."""
    return _out(services.do_add_track(key, request.user, payload.points, client_ip(request)))


@router.post(
    "/patrols/{key}/end",
    response={200: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_end",
    summary="Check out (end a patrol)",
)
def end(request: HttpRequest, key: PatrolKey, payload: Form[EndIn]):
    """End the caller's patrol at `at` (the phone's time). Ending it again answers the patrol as it ended the
    first time."""
    return _out(
        services.do_end_patrol(key, request.user, payload.at, payload.lon, payload.lat, client_ip(request))
    )


@router.get("/patrols", response={200: PatrolPage, **READ_ERRORS}, url_name="patrol_list", summary="Patrols")
def patrol_list(request: HttpRequest, filters: Query[PatrolListQuery], page: Query[PageQuery]):
    """The caller's own patrols, newest first. With `grid` (a grid code: its subtree) and/or `day`
    (YYYY-MM-DD, the local day of the check-in): the patrols of the grids the caller oversees — a village's
    head their village, operators and leaders their subtree; a grid they do not oversee shows none. Paged by
    `before` (the `next_before` of the previous page)."""
    user: Any = request.user
    if not reads_fieldwork(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators and leaders see patrols."))
    return _page(selectors.patrols(user, grid=filters.grid, day=filters.day), page)


# ---------------------------------------------------------------------------------------------- visits


def _grid(grid: Any) -> PatrolGrid:
    return PatrolGrid(id=grid.pk, code=grid.code, name=grid.name)


def _worker(user: Any) -> Worker | None:
    return Worker(id=user.pk, name=str(user)) if user is not None else None


def _visit_out(visit: Visit, photos: int) -> VisitOut:
    household, person, place = visit.household, visit.person, visit.organisation
    return VisitOut(
        key=visit.key,
        grid=_grid(visit.grid),
        worker=Worker(id=visit.worker.pk, name=str(visit.worker)),
        purpose=visit.purpose,
        purpose_label=label(VisitPurpose, visit.purpose),
        household=Visited(id=household.pk, label=household.number) if household is not None else None,
        person=Visited(id=person.pk, label="") if person is not None else None,
        organisation=Visited(id=place.pk, label=place.name) if place is not None else None,
        visited_at=local(visit.visited_at),
        lon=visit.lon,
        lat=visit.lat,
        accuracy_m=visit.accuracy_m,
        note=visit.note,
        photos=photos,
    )


def _visit_page(qs: QuerySet[Visit], page: PageQuery) -> VisitPage:
    """Newest visit first (ties by id), like the patrols'."""
    rows, more, next_before = _page_of(qs, "visited_at", page)
    return VisitPage(
        items=[_visit_out(v, v.photo_count) for v in rows],  # selectors.with_visited counts them
        has_more=more,
        next_before=next_before,
    )


@router.post(
    "/visits",
    response={200: VisitOut, 201: VisitOut, **WRITE_ERRORS},
    url_name="visit_record",
    summary="Record a visit",
)
def record_visit(
    request: HttpRequest,
    payload: Form[VisitIn],
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    """Record a visit made at `at` (the phone's time), in the caller's grid holding the point (else the visited
    record's, else their first grid). 201 with the new visit; 200 with the same visit when its key was seen
    before. 403: only grid specialists and information officers of a current grid record visits; 409: the key
    is another worker's; 422 names the field (a household, person or place outside the caller's grids is
    refused like one that does not exist)."""
    result = services.do_record_visit(
        actor=request.user,
        key=payload.key,
        at=payload.at,
        purpose=payload.purpose,
        household=payload.household,
        person=payload.person,
        organisation=payload.organisation,
        lon=payload.lon,
        lat=payload.lat,
        accuracy_m=payload.accuracy_m,
        note=payload.note,
        photos=photos or [],
        ip=client_ip(request),
    )
    return Status(201 if result.created else 200, _visit_out(result.visit, result.photos))


@router.get("/visits", response={200: VisitPage, **READ_ERRORS}, url_name="visit_list", summary="Visits")
def visit_list(request: HttpRequest, filters: Query[VisitListQuery], page: Query[PageQuery]):
    """The caller's own visits, newest first. With `grid` (a grid code: its subtree) and/or `day`
    (YYYY-MM-DD, the local day of the visit): the visits of the grids the caller oversees — a village's head
    their village, operators and leaders their subtree. Paged by `before` (the `next_before` of the previous
    page)."""
    user: Any = request.user
    if not reads_fieldwork(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators and leaders see visits."))
    return _visit_page(selectors.visits(user, grid=filters.grid, day=filters.day), page)


@router.get(
    "/visits/{key}", response={200: VisitOut, **READ_ERRORS}, url_name="visit_detail", summary="A visit"
)
def visit_detail(request: HttpRequest, key: PatrolKey):
    """A visit the caller sees (their own, or one of the grids they oversee); any other answers 404."""
    visit = selectors.visit_for(request.user, key)
    return _visit_out(visit, visit.photo_count)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- plans


def _plan_out(plan: InspectionPlan) -> PlanOut:
    return PlanOut(
        id=plan.pk,
        name=plan.name,
        item=ItemRef(code=plan.item.code, name=plan.item.name),
        grid=_grid(plan.grid),
        every_days=plan.every_days,
        checklist=[Check(**c) for c in plan.checklist],
        active=plan.active,
        created_at=local(plan.created_at),
    )


@router.get(
    "/plans", response={200: PlanPage, **READ_ERRORS}, url_name="plan_list", summary="Inspection plans"
)
def plan_list(request: HttpRequest, filters: Query[PlanListQuery], page: Query[PageQuery]):
    """The inspection plans the caller sees — those made for the grids they oversee or for a grid above them,
    and, for a worker, those that cover their grids — newest first, paged by `before`."""
    user: Any = request.user
    if not reads_fieldwork(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators and leaders see inspection plans."))
    rows, more, next_before = _page_of(selectors.plans(user, active=filters.active), "id", page)
    return PlanPage(items=[_plan_out(p) for p in rows], has_more=more, next_before=next_before)


@router.post(
    "/plans",
    response={201: PlanOut, **WRITE_ERRORS},
    url_name="plan_create",
    summary="Make an inspection plan",
)
def plan_create(request: HttpRequest, payload: Form[PlanIn]):
    """Inspect every component of a class in a grid subtree every so many days. 403: only grid heads and the
    command centre's operators plan, for the grids they oversee. The tasks appear at the next generation (the
    daily sweep)."""
    plan = services.do_create_plan(
        actor=request.user,
        name=payload.name,
        item=payload.item,
        grid=payload.grid,
        every_days=payload.every_days,
        checklist=payload.checklist,
        ip=client_ip(request),
    )
    return Status(201, _plan_out(plan))  # made with its class and grid: nothing to read again


# ---------------------------------------------------------------------------------------------- tasks


def _task_out(task: InspectionTask, today: Any) -> TaskOut:
    plan, component = task.plan, task.component
    answered = selectors.answered(task)
    if task.state == TaskState.OPEN:
        checklist = [Check(**c) for c in plan.checklist]
    else:
        checklist = [Check(code=code, text=r.get("text", "")) for code, r in answered]
    return TaskOut(
        id=task.pk,
        plan=PlanRef(id=plan.pk, name=plan.name, every_days=plan.every_days),
        item=ItemRef(code=plan.item.code, name=plan.item.name),
        component=ComponentRef(
            id=component.pk,
            object_id=component.object_id,
            name=component.name,
            location=component.location,
            lon=component.lon,
            lat=component.lat,
        ),
        grid=_grid(task.grid),
        worker=_worker(task.worker),
        due_on=task.due_on,
        overdue=task.state == TaskState.OPEN and task.due_on < today,
        state=task.state,
        state_label=label(TaskState, task.state),
        checklist=checklist,
        done_at=local(task.done_at),
        done_by=_worker(task.done_by),
        answers=[
            AnswerOut(code=code, text=r.get("text", ""), answer=r.get("answer", ""), note=r.get("note", ""))
            for code, r in answered
        ],
        note=task.note,
        case_number=task.case_number,
    )


@router.get(
    "/tasks", response={200: TaskPage, **READ_ERRORS}, url_name="task_list", summary="Inspection tasks"
)
def task_list(request: HttpRequest, filters: Query[TaskListQuery], page: Query[PageQuery]):
    """The worker's queue: their open inspection tasks by due date, the overdue ones first. Overseers see those
    of their subtree (`grid`: a grid code, its subtree). `state` lists the done or failed ones instead;
    `overdue` keeps only the tasks past their date (true) or not (false). Paged by `before` (the
    `next_before` of the previous page)."""
    user: Any = request.user
    if not reads_fieldwork(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators and leaders see inspection tasks."))
    today = timezone.localdate()
    qs = selectors.tasks(
        user, state=filters.state or TaskState.OPEN, overdue=filters.overdue, grid=filters.grid, today=today
    )
    rows, more, next_before = _page_of(qs, "due_on", page, descending=False)
    return TaskPage(items=[_task_out(t, today) for t in rows], has_more=more, next_before=next_before)


@router.get(
    "/tasks/{task_id}",
    response={200: TaskOut, **READ_ERRORS},
    url_name="task_detail",
    summary="An inspection task",
)
def task_detail(request: HttpRequest, task_id: Id):
    """One task the caller sees, with its checklist (and, once inspected, the answers); any other answers 404.
    The phone reads a task it has not kept (beyond the first page of its queue) this way."""
    return _task_out(selectors.task_for(request.user, task_id), timezone.localdate())


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, **WRITE_ERRORS},
    url_name="task_complete",
    summary="Record an inspection",
)
def task_complete(
    request: HttpRequest,
    task_id: Id,
    payload: Form[CompleteIn],
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    """Answer the task's checklist, made at `at` on the phone. Every check ok: done. Any not ok: failed, and a
    case is opened for the component (its number in `case_number`). The same `key` again answers the first
    completion and opens no second case; a task recorded already with another key is 409. 404: a task the
    caller does not see; 403: one they see but do not inspect (only the workers of its grid do)."""
    task = selectors.task_for(request.user, task_id)
    result = services.do_complete_task(
        task,
        payload.answers,
        actor=request.user,
        key=payload.key,
        at=payload.at,
        photos=photos or [],
        lon=payload.lon,
        lat=payload.lat,
        note=payload.note,
        ip=client_ip(request),
    )
    return _task_out(result.task, timezone.localdate())  # read once by the service, with its relations
