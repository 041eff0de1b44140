"""Helpers of the patrol tests: places in the small tree, the phone's calls through Django's test client, and
a snapshot of what a refused call must leave unchanged."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.test import Client
from django.utils import timezone

from gridgov.core.models import AuditHead, AuditRecord
from gridgov.fieldwork.models import Patrol

API = "/api/fieldwork/patrols"

# Inside grid …100200001 (109.000–109.025), inside its neighbour …100200002 (109.025–109.050), inside the
# other village of the town (…100201, 109.05–109.10), and outside the county.
IN_G = (109.01, 40.05)
IN_G_B = (109.03, 40.05)
IN_OTHER_VILLAGE = (109.06, 40.05)
OUTSIDE = (110.5, 41.0)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def phone_time(moment: dt.datetime) -> str:
    """As the phone sends it: ISO 8601 with the local offset."""
    return timezone.localtime(moment).isoformat()


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def start(client: Client, at: dt.datetime, where: tuple[float, float] | None = IN_G, key: str | None = None):
    fields: dict[str, Any] = {"key": key or str(uuid.uuid4()), "at": phone_time(at)}
    if where is not None:
        fields.update(lon=str(where[0]), lat=str(where[1]))
    return client.post(API, fields)


def track(client: Client, key: str, points: Any):
    text = points if isinstance(points, str) else json.dumps(points)
    return client.post(f"{API}/{key}/track", {"points": text})


def end(client: Client, key: str, at: dt.datetime, where: tuple[float, float] | None = IN_G):
    fields: dict[str, Any] = {"at": phone_time(at)}
    if where is not None:
        fields.update(lon=str(where[0]), lat=str(where[1]))
    return client.post(f"{API}/{key}/end", fields)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and body["detail"] == body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body


def snapshot() -> dict[str, Any]:
    """Every patrol as stored, how many audit records there are, and the head of the audit chain."""
    names = [f.attname for f in Patrol._meta.concrete_fields]
    return {
        "patrols": list(Patrol.objects.order_by("pk").values_list(*names)),
        "audit": AuditRecord.objects.count(),
        "head": AuditHead.objects.filter(pk=1).values_list("last_hash", flat=True).first(),
    }
