"""The camera registry: who sees which camera (scoping), the cameras near a point, and the one service that adds
or changes a camera.

A camera is placed by its WGS-84 point: the grid locator gives its level-3 grid, and the copied level ids scope
it like every other row of a grid. Operators keep the cameras of their subtree; the staff of a grid see them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core import audit, outbox
from gridgov.core.errors import Conflict, Invalid, NotAllowed, clean_text
from gridgov.core.scoping import register_filter, visible_to
from gridgov.grids.locator import get_locator
from gridgov.grids.models import Grid

from .models import Camera, CameraKind, CameraStatus

# The roles that see the cameras of their grid subtree; operators also add and change them.
CAMERA_VIEWERS = frozenset(
    {
        Role.OPERATOR,
        Role.LEADER,
        Role.GRID_HEAD_L1,
        Role.GRID_HEAD_L2,
        Role.GRID_SPECIALIST,
        Role.INFO_OFFICER,
        Role.GRID_GUIDE,
    }
)
CAMERA_KEEPERS = frozenset({Role.OPERATOR})
NEAR_METRES = 500
EARTH_RADIUS_M = 6_371_008.8
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# GB/T 28181 codes: 8 digits of the centre (province 2, city 2, county 2, base unit 2), 2 of the industry, 3 of
# the type and 7 of the serial number. Types 131 (camera) and 132 (network camera) are video channels.
GB28181_PATTERN = re.compile(r"^\d{20}$")
GB28181_CAMERA_TYPES = frozenset({"131", "132"})


# ------------------------------------------------------------------------------------------------ scoping


def camera_q(user: Any) -> Q | None:
    """The cameras `user` may see; None means all of them."""
    if is_county_wide(user):
        return None
    q = Q(pk__in=[])
    for h in held_roles(user):
        if h.role in CAMERA_VIEWERS and h.grid_path:
            if h.grid_level == 0:
                return None
            q |= grid_filter(h.grid_path)
    return q


register_filter(Camera, camera_q)


def sees_cameras(user: Any) -> bool:
    """Whether the user sees the cameras of some grid (no query beyond the roles, read once a request)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_county_wide(user) or any(h.role in CAMERA_VIEWERS and h.grid_path for h in held_roles(user))


def keeps(user: Any, grid: Grid | None = None) -> bool:
    """Whether `user` may add and change cameras (of `grid`'s subtree, when given). None is the system (the
    demo's seed, an import)."""
    if user is None:
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    if is_county_wide(user):
        return True
    for h in held_roles(user):
        if h.role in CAMERA_KEEPERS and h.grid_path and (grid is None or grid.path.startswith(h.grid_path)):
            return True
    return False


# ------------------------------------------------------------------------------------------------ reads


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True)
class Near:
    camera: Camera
    metres: float


def nearest(
    user: Any, lon: float, lat: float, *, radius_m: float = NEAR_METRES, limit: int = 6
) -> list[Near]:
    """The cameras `user` sees within `radius_m` of the point, nearest first (one indexed box query)."""
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
    rows = visible_to(user, Camera).filter(
        lat__gte=lat - dlat, lat__lte=lat + dlat, lon__gte=lon - dlon, lon__lte=lon + dlon
    )
    found = [Near(c, distance_m(lon, lat, c.lon, c.lat)) for c in rows]
    found = [n for n in found if n.metres <= radius_m]
    found.sort(key=lambda n: (n.metres, n.camera.code))
    return found[:limit]


# ------------------------------------------------------------------------------------------------ checks


def check_channel_id(value: str) -> str:
    """A GB/T 28181 channel ID, checked for its form, or `Invalid` naming `channel_id`."""
    text = (value or "").strip()
    if not GB28181_PATTERN.match(text):
        raise Invalid(_("A GB/T 28181 channel ID is 20 digits."), field="channel_id")
    province = int(text[:2])
    if not 11 <= province <= 82:
        raise Invalid(
            _(
                "The first 8 digits of a GB/T 28181 ID are the centre's administrative code: %(code)s is not one."
            )
            % {"code": text[:8]},
            field="channel_id",
        )
    if text[10:13] not in GB28181_CAMERA_TYPES:
        raise Invalid(
            _(
                "Digits 11 to 13 of a GB/T 28181 ID give the device type: a camera is 131 or 132, not %(type)s."
            )
            % {"type": text[10:13]},
            field="channel_id",
        )
    return text


def _url(value: str, field: str, schemes: tuple[str, ...], *, required: bool) -> str:
    text = clean_text(value, field, 300, label=_("address"), required=required)
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise Invalid(
            _("The address must start with %(schemes)s.")
            % {"schemes": " / ".join(f"{s}://" for s in schemes)},
            field=field,
        )
    return text


def _float(value: Any, field: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("This is a number."), field=field) from exc
    if not (math.isfinite(number) and low <= number <= high):
        raise Invalid(
            _("This number lies between %(low)s and %(high)s.") % {"low": low, "high": high}, field=field
        )
    return number


@dataclass
class CameraInput:
    name: str
    code: str
    kind: str
    hls_url: str
    lon: Any
    lat: Any
    channel_id: str = ""
    source_url: str = ""
    status: str = CameraStatus.ONLINE
    expected_version: int | None = None


def _checked(data: CameraInput) -> dict[str, Any]:
    name = clean_text(data.name, "name", 100, label=_("Name"), required=True)
    code = (data.code or "").strip()
    if not CODE_PATTERN.match(code):
        raise Invalid(_("The code is 1 to 40 letters, digits, dots, dashes or underscores."), field="code")
    if data.kind not in CameraKind.values:
        raise Invalid(_("Choose the kind of camera."), field="kind")
    if data.status not in CameraStatus.values:
        raise Invalid(_("Choose a status."), field="status")
    channel_id = check_channel_id(data.channel_id) if data.kind == CameraKind.GB28181 else ""
    if data.kind == CameraKind.RTSP:
        source = _url(data.source_url, "source_url", ("rtsp", "rtsps"), required=True)
    elif data.kind == CameraKind.GB28181:
        source = _url(data.source_url, "source_url", ("sip", "rtsp", "http", "https"), required=False)
    else:
        source = _url(data.source_url, "source_url", ("http", "https"), required=False)
    hls_url = _url(data.hls_url, "hls_url", ("http", "https"), required=True)
    lon = _float(data.lon, "lon", -180, 180)
    lat = _float(data.lat, "lat", -90, 90)
    where = get_locator().locate(lon, lat)
    if where.grid_id is None:
        raise Invalid(_("This place lies outside the county's grids."), field="lon")
    return {
        "name": name,
        "code": code,
        "kind": data.kind,
        "channel_id": channel_id,
        "source_url": source,
        "hls_url": hls_url,
        "lon": lon,
        "lat": lat,
        "status": data.status,
        "grid_id": where.grid_id,
        "grid_l1_id": where.l1_id,
        "grid_l2_id": where.l2_id,
        "grid_l3_id": where.l3_id,
    }


# ------------------------------------------------------------------------------------------------ service


def do_save_camera(
    data: CameraInput, *, actor: Any, camera: Camera | None = None, ip: str | None = None
) -> Camera:
    """Add a camera (`camera` None) or change one: checked, placed in its grid, kept by the actor, audited."""
    fields = _checked(data)
    grid = Grid.objects.get(pk=fields["grid_id"])
    if not keeps(actor, grid) or (camera is not None and not keeps(actor, camera.grid)):
        raise NotAllowed(_("You do not keep the cameras of this grid."), field="lon")
    clash = Camera.objects.filter(code=fields["code"])
    if camera is not None:
        clash = clash.exclude(pk=camera.pk)
    if clash.exists():
        raise Invalid(_("Another camera has the code %(code)s.") % {"code": fields["code"]}, field="code")
    now = timezone.now()
    with transaction.atomic():
        if camera is None:
            camera = Camera.objects.create(**fields, created_at=now, updated_at=now)
            action = "command.camera_added"
        else:
            expected = data.expected_version if data.expected_version is not None else camera.version
            done = Camera.objects.filter(pk=camera.pk, version=expected).update(
                **fields, updated_at=now, version=expected + 1
            )
            if done != 1:
                raise Conflict(_("Somebody changed this camera meanwhile: look at it again."), field="")
            camera.refresh_from_db()
            action = "command.camera_changed"
        audit.record(
            action,
            actor=actor,
            target=camera,
            data={"code": camera.code, "kind": camera.kind, "grid": grid.code, "status": camera.status},
            ip=ip,
        )
        outbox.publish(
            "command.camera",
            {"code": camera.code, "status": camera.status, "lon": camera.lon, "lat": camera.lat},
            grid_l1_id=camera.grid_l1_id,
        )
    return camera
