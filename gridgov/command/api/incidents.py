"""Hotspots and emergencies in the API (/api/command/).

Hotspots: the list of the caller's scope, one with its recent cases and history, and the department's steps
(take it up with the root cause, bring the notes up to date, resolve). Emergencies: the list, declare, one with
its affected grids, dispatches and timeline, dispatch several departments at once, broadcast to the grid
workers, close with a report, and the department's answers to its task (acknowledge, progress, done).

Out of scope answers 404 like what does not exist; a record the caller sees but may not act on answers 403; a
step the state does not allow 409; bad input 422 naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from gridgov.cases.models import Case
from gridgov.core.audit import client_ip
from gridgov.core.errors import NotAllowed
from gridgov.core.schemas import READ_ERRORS, WRITE_ERRORS, Error, GridCode, Id
from gridgov.core.scoping import visible_to

from .. import hotspots as hotspot_services
from .. import incidents_services as services
from ..incidents_scoping import reads_hotspots, reads_incidents
from ..models import (
    Hotspot,
    HotspotCase,
    HotspotStatus,
    Incident,
    IncidentDispatch,
    IncidentEvent,
    IncidentGrid,
    IncidentKind,
    IncidentLevel,
    IncidentState,
)

router = Router()
# A body that cannot be read as JSON answers 400 (gridgov/api.py).
WRITES: dict[int, Any] = {400: Error, **WRITE_ERRORS}

IncidentKey = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
Text = Annotated[str, Field(max_length=4000)]
ShortText = Annotated[str, Field(max_length=1000)]
LIST_LIMIT = 100
CASES_LIMIT = 200


# ---------------------------------------------------------------------------------------------- schemas


class HotspotOut(Schema):
    id: int
    number: str
    item: str
    item_label: str
    department: str | None
    department_label: str | None
    grid: str
    grid_name: str
    lon: float
    lat: float
    radius_m: float
    case_count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    status: str
    status_label: str
    root_cause: str
    measures: str
    reopened: int
    version: int


class HotspotCaseOut(Schema):
    number: str
    lon: float | None
    lat: float | None
    reported_at: dt.datetime


class HotspotEventOut(Schema):
    action: str
    action_label: str
    actor: str | None
    note: str
    at: dt.datetime


class HotspotDetail(HotspotOut):
    cases: list[HotspotCaseOut]
    events: list[HotspotEventOut]


class HotspotQuery(Schema):
    status: HotspotStatus | None = None
    sort: str = Field("count", pattern=r"^(count|recent)$")
    limit: int = Field(50, ge=1, le=LIST_LIMIT)


class HotspotStepIn(Schema):
    root_cause: Text = ""
    measures: Text = ""


class IncidentDispatchOut(Schema):
    id: int
    department: str
    department_label: str
    task: str
    state: str
    state_label: str
    progress: str
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None
    done_at: dt.datetime | None


class IncidentEventOut(Schema):
    action: str
    action_label: str
    actor: str | None
    department: str | None
    note: str
    at: dt.datetime


class IncidentOut(Schema):
    id: int
    number: str
    kind: str
    kind_label: str
    level: int
    level_label: str
    title: str
    place: str
    grid: str
    grid_name: str
    state: str
    state_label: str
    declared_at: dt.datetime
    closed_at: dt.datetime | None


class IncidentReport(Schema):
    summary: str
    cause: str
    measures: str
    deaths: int
    injuries: int
    missing: int
    affected_people: int
    relocated_people: int
    direct_loss: Decimal


class IncidentDetail(IncidentOut):
    description: str
    lon: float | None
    lat: float | None
    affected_grids: list[str]
    dispatches: list[IncidentDispatchOut]
    events: list[IncidentEventOut]
    report: IncidentReport | None


class IncidentQuery(Schema):
    state: IncidentState | None = None
    limit: int = Field(50, ge=1, le=LIST_LIMIT)


class IncidentIn(Schema):
    kind: IncidentKind
    level: IncidentLevel
    title: Annotated[str, Field(max_length=100)]
    description: Text
    place: Annotated[str, Field(max_length=200)]
    grids: list[GridCode] = Field(..., min_length=1, max_length=services.MAX_GRIDS)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class DispatchSpec(Schema):
    # The department's code (HW) or id.
    department: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
    task: ShortText


class DispatchIn(Schema):
    departments: list[DispatchSpec] = Field(..., min_length=1, max_length=services.MAX_DEPARTMENTS)


class BroadcastIn(Schema):
    message: ShortText


class BroadcastOut(Schema):
    told: int


class CloseIn(Schema):
    summary: Text
    measures: Text
    cause: Text = ""
    deaths: int = Field(0, ge=0, le=services.MAX_COUNT)
    injuries: int = Field(0, ge=0, le=services.MAX_COUNT)
    missing: int = Field(0, ge=0, le=services.MAX_COUNT)
    affected_people: int = Field(0, ge=0, le=services.MAX_COUNT)
    relocated_people: int = Field(0, ge=0, le=services.MAX_COUNT)
    direct_loss: Decimal = Field(Decimal(0), ge=0, le=services.MAX_LOSS, decimal_places=2)


class NoteIn(Schema):
    note: Text = ""


# ---------------------------------------------------------------------------------------------- helpers


def _name(user: Any) -> str | None:
    return (user.full_name or user.username) if user is not None else None


def _hotspot_reader(request: HttpRequest) -> Any:
    user: Any = request.user
    if not reads_hotspots(user):
        raise NotAllowed(_("Only grid staff, the command centre, leaders and departments see hotspots."))
    return user


def _incident_reader(request: HttpRequest) -> Any:
    user: Any = request.user
    if not reads_incidents(user):
        raise NotAllowed(_("Only grid staff, the command centre, leaders and departments see emergencies."))
    return user


def _hotspot_fields(h: Hotspot) -> dict[str, Any]:
    return {
        "id": h.pk,
        "number": h.number,
        "item": h.item.code,
        "item_label": h.item.label,
        "department": h.department.code if h.department else None,
        "department_label": h.department.label if h.department else None,
        "grid": h.grid.code,
        "grid_name": h.grid.name,
        "lon": h.lon,
        "lat": h.lat,
        "radius_m": h.radius_m,
        "case_count": h.case_count,
        "first_seen": h.first_seen,
        "last_seen": h.last_seen,
        "status": h.status,
        "status_label": str(h.get_status_display()),
        "root_cause": h.root_cause,
        "measures": h.measures,
        "reopened": h.reopened,
        "version": h.version,
    }


def _hotspot_detail(user: Any, pk: int) -> HotspotDetail:
    h = hotspot_services.hotspot_for(user, pk)
    ids = HotspotCase.objects.filter(hotspot=h).values("case_id")
    cases = (
        Case.objects.filter(pk__in=ids).order_by("-created_at").values("number", "lon", "lat", "created_at")
    )
    events = h.events.select_related("actor").order_by("id")
    return HotspotDetail(
        **_hotspot_fields(h),
        cases=[
            HotspotCaseOut(number=c["number"], lon=c["lon"], lat=c["lat"], reported_at=c["created_at"])
            for c in cases[:CASES_LIMIT]
        ],
        events=[
            HotspotEventOut(
                action=e.action,
                action_label=str(e.get_action_display()),
                actor=_name(e.actor),
                note=e.note,
                at=e.created_at,
            )
            for e in events
        ],
    )


def _incident_fields(i: Incident) -> dict[str, Any]:
    return {
        "id": i.pk,
        "number": i.number,
        "kind": i.kind,
        "kind_label": str(i.get_kind_display()),
        "level": i.level,
        "level_label": str(i.get_level_display()),
        "title": i.title,
        "place": i.place,
        "grid": i.grid.code,
        "grid_name": i.grid.name,
        "state": i.state,
        "state_label": str(i.get_state_display()),
        "declared_at": i.declared_at,
        "closed_at": i.closed_at,
    }


def _incident_detail(user: Any, key: Any) -> IncidentDetail:
    i = services.incident_for(user, key)
    grids = IncidentGrid.objects.filter(incident=i).select_related("grid").order_by("path")
    dispatches = IncidentDispatch.objects.filter(incident=i).select_related("department").order_by("id")
    events = IncidentEvent.objects.filter(incident=i).select_related("actor", "department").order_by("id")
    report = None
    if i.state == IncidentState.CLOSED:
        report = IncidentReport(
            summary=i.summary,
            cause=i.cause,
            measures=i.measures,
            deaths=i.deaths,
            injuries=i.injuries,
            missing=i.missing,
            affected_people=i.affected_people,
            relocated_people=i.relocated_people,
            direct_loss=i.direct_loss,
        )
    return IncidentDetail(
        **_incident_fields(i),
        description=i.description,
        lon=i.lon,
        lat=i.lat,
        affected_grids=[g.grid.code for g in grids],
        dispatches=[_dispatch(d) for d in dispatches],
        events=[
            IncidentEventOut(
                action=e.action,
                action_label=str(e.get_action_display()),
                actor=_name(e.actor),
                department=e.department.code if e.department else None,
                note=e.note,
                at=e.created_at,
            )
            for e in events
        ],
        report=report,
    )


def _dispatch(d: IncidentDispatch) -> IncidentDispatchOut:
    return IncidentDispatchOut(
        id=d.pk,
        department=d.department.code,
        department_label=d.department.label,
        task=d.task,
        state=d.state,
        state_label=str(d.get_state_display()),
        progress=d.progress,
        sent_at=d.sent_at,
        acknowledged_at=d.acknowledged_at,
        done_at=d.done_at,
    )


# ---------------------------------------------------------------------------------------------- hotspots


@router.get(
    "/hotspots", response={200: list[HotspotOut], **READ_ERRORS}, url_name="hotspot_list", summary="Hotspots"
)
def hotspot_list(request: HttpRequest, filters: Query[HotspotQuery]):
    """The hotspots the caller sees, by most cases (`sort=count`) or latest case (`sort=recent`)."""
    user = _hotspot_reader(request)
    qs = visible_to(user, Hotspot).select_related("item", "department", "grid")
    if filters.status:
        qs = qs.filter(status=filters.status)
    order = ("-case_count", "-last_seen") if filters.sort == "count" else ("-last_seen", "-case_count")
    return [HotspotOut(**_hotspot_fields(h)) for h in qs.order_by(*order, "-id")[: filters.limit]]


@router.get(
    "/hotspots/{hotspot_id}",
    response={200: HotspotDetail, **READ_ERRORS},
    url_name="hotspot_detail",
    summary="A hotspot",
)
def hotspot_detail(request: HttpRequest, hotspot_id: Id):
    """A hotspot the caller sees, with its latest cases and its history."""
    return _hotspot_detail(_hotspot_reader(request), hotspot_id)


@router.post(
    "/hotspots/{hotspot_id}/{step}",
    response={200: HotspotDetail, **WRITES},
    url_name="hotspot_step",
    summary="Work on a hotspot",
)
def hotspot_step(
    request: HttpRequest,
    hotspot_id: Id,
    step: Annotated[str, Field(pattern=r"^(take|note|resolve)$")],
    payload: HotspotStepIn,
):
    """The department's steps: `take` it up (root cause required; new → being worked on), `note` (bring the
    root cause and measures up to date), `resolve` (measures required; → resolved)."""
    user = _hotspot_reader(request)
    functions: dict[str, Callable[..., Any]] = {
        "take": hotspot_services.do_take,
        "note": hotspot_services.do_note,
        "resolve": hotspot_services.do_resolve,
    }
    functions[step](
        hotspot_id,
        actor=user,
        root_cause=payload.root_cause,
        measures=payload.measures,
        ip=client_ip(request),
    )
    return _hotspot_detail(user, hotspot_id)


# ---------------------------------------------------------------------------------------------- incidents


@router.get(
    "/incidents",
    response={200: list[IncidentOut], **READ_ERRORS},
    url_name="incident_list",
    summary="Emergencies",
)
def incident_list(request: HttpRequest, filters: Query[IncidentQuery]):
    """The emergencies the caller sees, latest first."""
    user = _incident_reader(request)
    qs = visible_to(user, Incident).select_related("grid")
    if filters.state:
        qs = qs.filter(state=filters.state)
    return [IncidentOut(**_incident_fields(i)) for i in qs.order_by("-declared_at", "-id")[: filters.limit]]


@router.post(
    "/incidents",
    response={201: IncidentDetail, **WRITES},
    url_name="incident_declare",
    summary="Declare",
)
def incident_declare(request: HttpRequest, payload: IncidentIn):
    """Declare an emergency over the affected grids (codes): operators and leaders of the banner or of the town
    holding every one of them."""
    user = _incident_reader(request)
    incident = services.do_declare(
        actor=user,
        kind=payload.kind,
        level=payload.level,
        title=payload.title,
        description=payload.description,
        place=payload.place,
        grids=payload.grids,
        lon=payload.lon,
        lat=payload.lat,
        ip=client_ip(request),
    )
    return Status(201, _incident_detail(user, incident.pk))


@router.get(
    "/incidents/{number}",
    response={200: IncidentDetail, **READ_ERRORS},
    url_name="incident_detail",
    summary="An emergency",
)
def incident_detail(request: HttpRequest, number: IncidentKey):
    """An emergency the caller sees (by number or id), with its grids, dispatches, timeline and report."""
    return _incident_detail(_incident_reader(request), number)


@router.post(
    "/incidents/{number}/dispatches",
    response={201: list[IncidentDispatchOut], **WRITES},
    url_name="incident_dispatch",
    summary="Dispatch departments",
)
def incident_dispatch(request: HttpRequest, number: IncidentKey, payload: DispatchIn):
    """Send several departments at once, each with its task (the command centre of the incident)."""
    user = _incident_reader(request)
    made = services.do_dispatch(
        number,
        actor=user,
        departments=[(d.department, d.task) for d in payload.departments],
        ip=client_ip(request),
    )
    rows = (
        IncidentDispatch.objects.filter(pk__in=[d.pk for d in made])
        .select_related("department")
        .order_by("id")
    )
    return Status(201, [_dispatch(d) for d in rows])


@router.post(
    "/incidents/{number}/broadcast",
    response={200: BroadcastOut, **WRITES},
    url_name="incident_broadcast",
    summary="Tell the grid workers",
)
def incident_broadcast(request: HttpRequest, number: IncidentKey, payload: BroadcastIn):
    """Send a message to the inbox of every grid worker of the affected grids' subtrees."""
    user = _incident_reader(request)
    return BroadcastOut(
        told=services.do_broadcast(number, actor=user, message=payload.message, ip=client_ip(request))
    )


@router.post(
    "/incidents/{number}/close",
    response={200: IncidentDetail, **WRITES},
    url_name="incident_close",
    summary="Close with a report",
)
def incident_close(request: HttpRequest, number: IncidentKey, payload: CloseIn):
    """Close the emergency with its report: summary and measures (required), cause, casualties and losses."""
    user = _incident_reader(request)
    incident = services.do_close(number, actor=user, ip=client_ip(request), **payload.dict())
    return _incident_detail(user, incident.pk)


@router.post(
    "/incidents/{number}/dispatches/{dispatch_id}/{step}",
    response={200: IncidentDispatchOut, **WRITES},
    url_name="incident_dispatch_step",
    summary="Answer a task",
)
def dispatch_step(
    request: HttpRequest,
    number: IncidentKey,
    dispatch_id: Id,
    step: Annotated[str, Field(pattern=r"^(acknowledge|progress|done)$")],
    payload: NoteIn,
):
    """The dispatched department's answers: `acknowledge`, `progress` (note required), `done` (note required)."""
    user = _incident_reader(request)
    incident = services.incident_for(user, number)
    if not IncidentDispatch.objects.filter(pk=dispatch_id, incident=incident).exists():
        raise services.DispatchNotFound
    functions = {
        "acknowledge": services.do_acknowledge,
        "progress": services.do_progress,
        "done": services.do_finish,
    }
    functions[step](dispatch_id, actor=user, note=payload.note, ip=client_ip(request))
    return _dispatch(IncidentDispatch.objects.select_related("department").get(pk=dispatch_id))
