"""Cameras (scoped reads) and the signed alarm webhook (`gridgov.command.alarms` says how a call is signed)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from gridgov.core.audit import client_ip
from gridgov.core.schemas import READ_ERRORS, Error, ValidationError, optional
from gridgov.core.scoping import visible_to

from .. import alarms
from ..cameras import NEAR_METRES, nearest
from ..models import Camera, CameraKind, CameraStatus

router = Router()


class CameraOut(Schema):
    code: str
    name: str
    kind: str
    channel_id: str
    hls_url: str
    lon: float
    lat: float
    grid: str
    status: str


class CameraNearOut(CameraOut):
    metres: float


class CameraFilters(Schema):
    status: CameraStatus | None = optional()
    kind: CameraKind | None = optional()
    limit: int = Field(200, ge=1, le=1000)


class CameraNearQuery(Schema):
    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    radius: int = Field(NEAR_METRES, ge=1, le=5000)


def _out(camera: Camera, **extra: Any) -> dict[str, Any]:
    return {
        "code": camera.code,
        "name": camera.name,
        "kind": camera.kind,
        "channel_id": camera.channel_id,
        "hls_url": camera.hls_url,
        "lon": camera.lon,
        "lat": camera.lat,
        "grid": camera.grid.code,
        "status": camera.status,
        **extra,
    }


@router.get("/cameras", response={200: list[CameraOut], **READ_ERRORS}, url_name="command_cameras")
def list_cameras(request: HttpRequest, filters: Query[CameraFilters]) -> Any:
    """The cameras the user sees (their grid subtree), with the HLS address the browser plays."""
    rows = visible_to(request.user, Camera).select_related("grid")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    return [_out(c) for c in rows.order_by("code")[: filters.limit]]


@router.get(
    "/cameras/near", response={200: list[CameraNearOut], **READ_ERRORS}, url_name="command_cameras_near"
)
def cameras_near(request: HttpRequest, q: Query[CameraNearQuery]) -> Any:
    """The cameras the user sees within `radius` metres of a WGS-84 point, nearest first."""
    found = nearest(request.user, q.lon, q.lat, radius_m=q.radius, limit=20)
    grids = {
        c.pk: c for c in Camera.objects.filter(pk__in=[n.camera.pk for n in found]).select_related("grid")
    }
    return [_out(grids[n.camera.pk], metres=round(n.metres, 1)) for n in found]


class AlarmAccepted(Schema):
    case: str
    created: bool
    joined: bool


class AlarmRefusal(Error):
    case: str = ""


ALARM_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["event_id", "type"],
                "properties": {
                    "event_id": {"type": "string", "maxLength": 80},
                    "type": {"type": "string"},
                    "camera": {"type": "string"},
                    "lon": {"type": "number"},
                    "lat": {"type": "number"},
                    "description": {"type": "string", "maxLength": 500},
                    "occurred_at": {"type": "string"},
                    "snapshot": {"type": "string", "description": "a JPEG or PNG, base64"},
                },
            }
        }
    },
}


@router.post(
    "/alarms",
    auth=None,
    response={201: AlarmAccepted, 401: AlarmRefusal, 409: AlarmRefusal, 422: ValidationError},
    url_name="command_alarms",
    openapi_extra={
        "requestBody": ALARM_BODY,
        "parameters": [
            {"in": "header", "name": alarms.SOURCE_HEADER, "required": True, "schema": {"type": "string"}},
            {"in": "header", "name": alarms.TIMESTAMP_HEADER, "required": True, "schema": {"type": "string"}},
            {"in": "header", "name": alarms.SIGNATURE_HEADER, "required": True, "schema": {"type": "string"}},
        ],
    },
)
def receive_alarm(request: HttpRequest) -> Any:
    """An alarm of a video-analytics or IoT platform, signed with its source's secret: HMAC-SHA256 (header
    `sha256=<hex>`) or HMAC-SM3 (`hmac-sm3=<hex>`) over `timestamp + "." + body`. Becomes a case (or joins the
    open case of the same thing nearby), with the snapshot as evidence. Forged, stale (±5 min), replayed or
    unreadable calls are refused and create nothing."""
    try:
        result = alarms.receive(request.headers, request.body, ip=client_ip(request))
    except alarms.AlarmRefused as exc:
        message = str(exc.message)
        answer: dict[str, Any] = {"code": exc.code, "message": message, "field": exc.field, "detail": message}
        if exc.status == 422:
            answer["errors"] = [
                {"field": exc.field, "message": message, "loc": ["body", exc.field], "type": exc.code}
            ]
        else:
            answer["case"] = exc.data.get("case", "")
        return exc.status, answer
    return 201, {"case": result.case_number, "created": result.created, "joined": result.joined}
