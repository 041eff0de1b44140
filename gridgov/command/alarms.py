"""Alarms of video analytics and IoT platforms: a signed webhook whose calls become cases.

A source (`AlarmSource`) signs each call with its own secret:

    X-Gridgov-Source:    the source's code
    X-Gridgov-Timestamp: the time of sending, in Unix seconds
    X-Gridgov-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
                         (or hmac-sm3=<hex HMAC-SM3 of the same>, for platforms that sign with 国密)

The body is JSON: `event_id` (the source's own id of the alarm, at most 80 characters), `type` (an alarm type
the source's mapping names), and optionally `camera` (a camera's code: the alarm is placed there), `lon`/`lat`
(WGS-84), `description`, `occurred_at` and `snapshot` (a JPEG or PNG, base64). Without a camera or a point the
source's default point is used.

Refused, and nothing created: an unknown or inactive source, a missing or malformed header (401); a timestamp
more than five minutes from the server's clock (401, stale); a signature that does not match (401); an event id
the source already sent (409, replayed: the first alarm's case is named); a body that cannot be read, an unknown
alarm type, a place outside the county, a snapshot that is not a photo (422). A valid alarm is reported through
the case engine's intake (channel video or iot) by the source's gateway account, with the snapshot as evidence;
an alarm of the same type next to an open case joins it instead of opening a second one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridgov.accounts.models import User
from gridgov.accounts.scoping import is_county_wide
from gridgov.cases import services as case_services
from gridgov.cases.choices import Channel
from gridgov.cases.errors import Refusal
from gridgov.catalog.models import Item
from gridgov.core import audit
from gridgov.core.crypto import provider
from gridgov.core.errors import Invalid, clean_text
from gridgov.core.scoping import register_filter

from .models import AlarmKind, AlarmReceipt, AlarmSource, Camera

SOURCE_HEADER = "X-Gridgov-Source"
TIMESTAMP_HEADER = "X-Gridgov-Timestamp"
SIGNATURE_HEADER = "X-Gridgov-Signature"
MAX_SKEW_SECONDS = 300
MAX_EVENT_ID = 80
CHANNEL_OF: dict[str, str] = {AlarmKind.VIDEO: Channel.VIDEO, AlarmKind.IOT: Channel.IOT}


class AlarmRefused(Refusal):
    """The call is refused (nothing was created): `status` and `code` say why."""

    def __init__(self, status: int, code: str, message: Any, *, field: str = "", data: dict | None = None):
        super().__init__(message, field=field, data=data)
        self.status = status
        self.code = code


@dataclass
class AlarmResult:
    case_number: str
    created: bool
    joined: bool
    receipt: AlarmReceipt


# ------------------------------------------------------------------------------------------------ secrets


def _associated(code: str) -> bytes:
    return f"command.alarm_source:{code}".encode()


def secret_of(source: AlarmSource) -> bytes:
    return provider().decrypt(bytes(source.secret_enc), _associated(source.code))


def signature(secret: bytes, timestamp: str, body: bytes, algorithm: str = "sha256") -> str:
    """The value of X-Gridgov-Signature for a call (what a source computes, and what is checked)."""
    message = timestamp.encode() + b"." + body
    if algorithm == "sha256":
        return "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()
    if algorithm == "hmac-sm3":
        mac = crypto_hmac.HMAC(secret, hashes.SM3())
        mac.update(message)
        return "hmac-sm3=" + mac.finalize().hex()
    raise ValueError(algorithm)


def signed_headers(
    source_code: str, secret: bytes, body: bytes, *, at: float | None = None
) -> dict[str, str]:
    """The three headers of a signed call (for clients, the simulator and the tests)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        SOURCE_HEADER: source_code,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def _administrators_only(user: Any) -> Q | None:
    """Sources and their receipts are the system administrator's business (the back office)."""
    return None if is_county_wide(user) else Q(pk__in=[])


register_filter(AlarmSource, _administrators_only)
register_filter(AlarmReceipt, _administrators_only)


def check_mapping(mapping: Any) -> dict[str, str]:
    """The alarm types of a source and their items: {"type": "item code"}, every item active."""
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise Invalid(_('Give the alarm types as {"type": "item code"}.'), field="mapping")
    known = set(Item.objects.filter(code__in=mapping.values(), active=True).values_list("code", flat=True))
    unknown = sorted(set(mapping.values()) - known)
    if unknown:
        raise Invalid(
            _("The responsibility list has no active item %(code)s.") % {"code": ", ".join(unknown)},
            field="mapping",
        )
    return {k.strip()[:40]: v for k, v in mapping.items() if k.strip()}


def do_rotate_secret(source: AlarmSource, *, actor: Any) -> str:
    """A new secret for a source (the old one stops working at once); answered once, never shown again."""
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        AlarmSource.objects.filter(pk=source.pk).update(
            secret_enc=provider().encrypt(secret.encode(), _associated(source.code))
        )
        audit.record("command.alarm_source_secret", actor=actor, target=source, data={"code": source.code})
    return secret


def do_create_alarm_source(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    mapping: dict[str, str],
    default_lon: float | None = None,
    default_lat: float | None = None,
    secret: str | None = None,
) -> tuple[AlarmSource, str]:
    """Register a source with its gateway account (staff without roles or a usable password: it only reports).
    Answers the source and its secret, shown once."""
    if kind not in AlarmKind.values:
        raise Invalid(_("Choose video analytics or IoT sensors."), field="kind")
    mapping = check_mapping(mapping)
    if (
        AlarmSource.objects.filter(code=code).exists()
        or User.objects.filter(username=f"gateway-{code}").exists()
    ):
        raise Invalid(_("Another alarm source has the code %(code)s.") % {"code": code}, field="code")
    secret = secret or secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        account = User(username=f"gateway-{code}"[:150], full_name=name[:60], is_staff=True)
        account.set_unusable_password()
        account.save()
        source = AlarmSource.objects.create(
            code=code,
            name=name,
            kind=kind,
            secret_enc=provider().encrypt(secret.encode(), _associated(code)),
            account=account,
            mapping=mapping,
            default_lon=default_lon,
            default_lat=default_lat,
            created_at=now,
        )
        audit.record(
            "command.alarm_source_added",
            actor=actor,
            target=source,
            data={"code": code, "kind": kind, "types": sorted(mapping)},
        )
    return source, secret


# ------------------------------------------------------------------------------------------------ webhook


def _header(headers: Any, name: str) -> str:
    return (headers.get(name) or "").strip()


def authenticate(headers: Any, body: bytes, *, now: float | None = None) -> AlarmSource:
    """The source that signed this call, or `AlarmRefused` (401)."""
    code = _header(headers, SOURCE_HEADER)
    source = AlarmSource.objects.filter(code=code, active=True).first() if code else None
    if source is None:
        raise AlarmRefused(401, "unknown_source", _("Unknown alarm source."), field=SOURCE_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    if not stamp.isdigit() or len(stamp) > 12:
        raise AlarmRefused(
            401, "bad_timestamp", _("The timestamp is not a number of seconds."), field=TIMESTAMP_HEADER
        )
    clock = time.time() if now is None else now
    if abs(clock - int(stamp)) > MAX_SKEW_SECONDS:
        raise AlarmRefused(
            401,
            "stale",
            _("The timestamp is more than %(minutes)d minutes from the server's clock.")
            % {"minutes": MAX_SKEW_SECONDS // 60},
            field=TIMESTAMP_HEADER,
        )
    sent = _header(headers, SIGNATURE_HEADER)
    algorithm = sent.split("=", 1)[0] if "=" in sent else ""
    if algorithm not in ("sha256", "hmac-sm3"):
        raise AlarmRefused(
            401, "bad_signature", _("The signature is missing or wrong."), field=SIGNATURE_HEADER
        )
    expected = signature(secret_of(source), stamp, body, algorithm)
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise AlarmRefused(
            401, "bad_signature", _("The signature is missing or wrong."), field=SIGNATURE_HEADER
        )
    return source


@dataclass
class Alarm:
    event_id: str
    alarm_type: str
    item: str
    description: str
    camera: Camera | None
    lon: float | None
    lat: float | None
    snapshot: bytes | None


def _invalid(message: Any, field: str) -> AlarmRefused:
    return AlarmRefused(422, "invalid", message, field=field)


def parse(source: AlarmSource, body: bytes) -> Alarm:
    """The alarm in a signed body, checked; `AlarmRefused` (422) naming the field otherwise."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(_("The body is not JSON."), "body") from exc
    if not isinstance(data, dict):
        raise _invalid(_("The body is not a JSON object."), "body")
    event_id = data.get("event_id")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not str(event_id).strip():
        raise _invalid(_("event_id is required."), "event_id")
    event_id = str(event_id).strip()
    if len(event_id) > MAX_EVENT_ID or "\x00" in event_id:
        raise _invalid(_("event_id is longer than 80 characters."), "event_id")
    alarm_type = data.get("type")
    item = source.mapping.get(alarm_type) if isinstance(alarm_type, str) else None
    if not item:
        raise _invalid(
            _("This source sends no alarm of type %(type)s.") % {"type": str(alarm_type)[:40]}, "type"
        )
    camera = None
    if data.get("camera") not in (None, ""):
        camera = Camera.objects.filter(code=str(data["camera"])).first()
        if camera is None:
            raise _invalid(
                _("No camera has the code %(code)s.") % {"code": str(data["camera"])[:40]}, "camera"
            )
    lon, lat = data.get("lon"), data.get("lat")
    try:
        point = case_services.gps_point(lon, lat)
    except Invalid as exc:
        raise _invalid(exc.message, exc.field) from exc
    if camera is not None:
        lon, lat = camera.lon, camera.lat
    elif point is not None:
        lon, lat = point
    else:
        lon, lat = source.default_lon, source.default_lat
    if lon is None or lat is None:
        raise _invalid(_("Say where: a camera or a point."), "lon")
    try:
        description = clean_text(data.get("description"), "description", 500, label=_("Description"))
    except Invalid as exc:
        raise _invalid(exc.message, exc.field) from exc
    snapshot = None
    if data.get("snapshot"):
        if not isinstance(data["snapshot"], str):
            raise _invalid(_("The snapshot is a photo in base64."), "snapshot")
        try:
            snapshot = base64.b64decode(data["snapshot"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(_("The snapshot is a photo in base64."), "snapshot") from exc
    return Alarm(event_id, str(alarm_type), item, description, camera, float(lon), float(lat), snapshot)


def _description(source: AlarmSource, alarm: Alarm) -> str:
    # Stored once, in the county's language, whatever the calling platform's Accept-Language.
    with translation.override(settings.LANGUAGE_CODE):
        where = alarm.camera.name if alarm.camera is not None else source.name
        head = _("%(source)s alarm “%(type)s” at %(where)s") % {
            "source": source.name,
            "type": alarm.alarm_type,
            "where": where,
        }
    return f"{head}: {alarm.description}" if alarm.description else head


def receive(headers: Any, body: bytes, *, ip: str | None = None, now: float | None = None) -> AlarmResult:
    """Authenticate, read and take one alarm: one transaction for its receipt, its case (or the open case it
    joins), the case's event, evidence and audit record. A refusal raises `AlarmRefused` and leaves nothing."""
    source = authenticate(headers, body, now=now)
    alarm = parse(source, body)
    first = AlarmReceipt.objects.filter(source=source, event_id=alarm.event_id).select_related("case").first()
    if first is not None:
        raise _replayed(first)
    report = case_services.Report(
        channel=CHANNEL_OF.get(source.kind, Channel.IOT),
        description=_description(source, alarm),
        item=alarm.item,
        lon=alarm.lon,
        lat=alarm.lat,
        idempotency_key=f"alarm:{source.pk}:{alarm.event_id}"[:80],
        files=[("snapshot.jpg", alarm.snapshot)] if alarm.snapshot else (),
    )
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    receipt = AlarmReceipt.objects.create(
                        source=source,
                        event_id=alarm.event_id,
                        alarm_type=alarm.alarm_type[:40],
                        camera=alarm.camera,
                        received_at=timezone.now(),
                    )
            except IntegrityError:
                first = AlarmReceipt.objects.filter(source=source, event_id=alarm.event_id).first()
                raise _replayed(first) from None
            result = case_services.do_report(report, actor=source.account, ip=ip)
            receipt.case = result.case
            receipt.joined = result.joined
            receipt.save(update_fields=["case", "joined"])
    except Refusal as exc:
        if isinstance(exc, AlarmRefused):
            raise
        field = "snapshot" if exc.field in ("files", "evidence") else exc.field
        raise AlarmRefused(
            exc.status if exc.status in (409, 422) else 422, exc.code, exc.message, field=field
        ) from exc
    return AlarmResult(result.case.number, result.created, result.joined, receipt)


def _replayed(first: AlarmReceipt | None) -> AlarmRefused:
    number = first.case.number if first is not None and first.case is not None else ""
    return AlarmRefused(
        409,
        "replayed",
        _("This alarm was received before."),
        field="event_id",
        data={"case": number},
    )
