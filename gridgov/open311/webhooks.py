"""Outbound webhooks fed by the outbox: each subscriber gets the case events it chose, POSTed as JSON and signed.

Signature: `X-Gridgov-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret, f"{timestamp}.{body}"), with
`X-Gridgov-Timestamp` (Unix seconds), `X-Gridgov-Event` (the topic) and `X-Gridgov-Delivery` (the delivery's
id, the same on every retry: receivers drop repeats by it). A subscriber answering 2xx has it; anything else is
tried again after 30 s, 1, 2, 4 … minutes (doubling, at most 6 hours) up to `MAX_ATTEMPTS`, then given up.

`gridgov deliver-webhooks` runs `run_once()` in a loop; it is safe in several copies (a delivery is claimed by
a compare-and-set on its attempt count before it is sent)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from gridgov.cases.choices import state_kind
from gridgov.core.models import OutboxEvent

from .models import Delivery, DeliveryState, Subscriber
from .services import subscriber_secret

MAX_ATTEMPTS = 10
BATCH = 500


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s doubling, at most 6 hours."""
    base = float(getattr(settings, "OPEN311_WEBHOOK_BACKOFF_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _payload(event: OutboxEvent) -> dict[str, Any]:
    data = dict(event.payload)
    body: dict[str, Any] = {
        "id": event.pk,
        "topic": event.topic,
        "created_at": event.created_at.isoformat(),
        "data": data,
    }
    if "number" in data:
        body["service_request_id"] = data["number"]
    if "state" in data:
        body["status"] = state_kind(str(data["state"]))
    return body


def collect(now: datetime | None = None) -> int:
    """New outbox events → pending deliveries of the subscribers that chose them. Returns how many."""
    now = now or timezone.now()
    made = 0
    for subscriber in Subscriber.objects.filter(active=True):
        events = list(OutboxEvent.objects.filter(id__gt=subscriber.cursor).order_by("id")[:BATCH])
        if not events:
            continue
        wanted = set(subscriber.events)
        rows = [
            Delivery(
                subscriber=subscriber,
                event_id=e.pk,
                topic=e.topic,
                payload=_payload(e),
                next_attempt_at=now,
                created_at=now,
            )
            for e in events
            if e.topic.startswith("case.") and (not wanted or e.topic in wanted)
        ]
        with transaction.atomic():
            # Compare-and-set on the cursor: another copy of the loop that read the same events makes nothing.
            if Subscriber.objects.filter(pk=subscriber.pk, cursor=subscriber.cursor).update(
                cursor=events[-1].pk
            ):
                try:
                    with transaction.atomic():
                        Delivery.objects.bulk_create(rows)
                except IntegrityError:
                    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
                made += len(rows)
    return made


def _send(delivery: Delivery, secret: bytes, url: str, timeout: float) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s) when subscribed
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gridgov-webhooks/1",
            "X-Gridgov-Event": delivery.topic,
            "X-Gridgov-Delivery": str(delivery.pk),
            "X-Gridgov-Timestamp": timestamp,
            "X-Gridgov-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, str(exc)[:300] or exc.__class__.__name__


def deliver_due(now: datetime | None = None, timeout: float = 10.0) -> tuple[int, int]:
    """Send every pending delivery that is due. Returns (delivered, failed attempts)."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, subscriber__active=True
        )
        .select_related("subscriber")
        .order_by("next_attempt_at", "id")[:BATCH]
    )
    secrets: dict[int, bytes] = {}
    delivered = failed = 0
    for d in due:
        # Claim it: another copy that claimed it first moved its attempt count.
        if not Delivery.objects.filter(pk=d.pk, attempts=d.attempts, state=DeliveryState.PENDING).update(
            attempts=d.attempts + 1, next_attempt_at=now + backoff(d.attempts + 1)
        ):
            continue
        if d.subscriber_id not in secrets:
            secrets[d.subscriber_id] = subscriber_secret(d.subscriber)
        status, error = _send(d, secrets[d.subscriber_id], d.subscriber.url, timeout)
        attempts = d.attempts + 1
        if status is not None and 200 <= status < 300:
            Delivery.objects.filter(pk=d.pk).update(
                state=DeliveryState.DELIVERED, last_status=status, last_error="", delivered_at=timezone.now()
            )
            delivered += 1
        else:
            failed += 1
            Delivery.objects.filter(pk=d.pk).update(
                last_status=status,
                last_error=error,
                state=DeliveryState.FAILED if attempts >= MAX_ATTEMPTS else DeliveryState.PENDING,
            )
    return delivered, failed


def run_once(timeout: float = 10.0) -> tuple[int, int, int]:
    made = collect()
    delivered, failed = deliver_due(timeout=timeout)
    return made, delivered, failed
