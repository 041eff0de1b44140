"""The outbox of live events. `publish()` writes the event in the caller's transaction and hands it to the
in-process subscribers (the `live_event` signal) once that transaction commits: nothing is announced that did
not happen, and nothing that happened goes unrecorded."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from .models import OutboxEvent

# Receivers get `event` (an OutboxEvent). Subscribers: the command centre's live board, webhooks.
live_event = Signal()


def publish(topic: str, payload: dict[str, Any], *, grid_l1_id: int | None = None) -> OutboxEvent:
    event = OutboxEvent.objects.create(topic=topic, payload=payload, grid_l1_id=grid_l1_id)
    transaction.on_commit(partial(live_event.send, sender=OutboxEvent, event=event))
    return event


def publish_many(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Bulk form for the sweep: one insert, one notification each after commit."""
    created = OutboxEvent.objects.bulk_create(events)
    for event in created:
        transaction.on_commit(partial(live_event.send, sender=OutboxEvent, event=event))
    return created
