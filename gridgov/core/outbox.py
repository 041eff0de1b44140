"""The outbox of live events. `publish()` writes the event in the caller's transaction and hands it to the
in-process subscribers (the `live_event` signal) once that transaction commits: nothing is announced that did
not happen, and nothing that happened goes unrecorded."""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import OutboxEvent

# Receivers get `event` (an OutboxEvent). Subscribers: the command centre's live board, webhooks.
live_event = Signal()


@cache
def _insert_sql(vendor: str) -> str:  # one per database vendor: the quoting is the vendor's
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in ("topic", "payload", "grid_l1_id", "created_at"))
    return f"INSERT INTO {quote(OutboxEvent._meta.db_table)} ({names}) VALUES (%s, %s, %s, %s) RETURNING id"  # noqa: S608


@cache
def _fields() -> tuple[Any, Any]:
    return OutboxEvent._meta.get_field("payload"), OutboxEvent._meta.get_field("created_at")


def _announce(pk: int, topic: str, payload: dict[str, Any], grid_l1_id: int | None, at: Any) -> None:
    # The instance is built only for someone to receive it.
    if live_event.has_listeners(OutboxEvent):
        event = OutboxEvent(pk=pk, topic=topic, payload=payload, grid_l1_id=grid_l1_id, created_at=at)
        live_event.send(sender=OutboxEvent, event=event)


def publish(topic: str, payload: dict[str, Any], *, grid_l1_id: int | None = None) -> None:
    # Plain SQL: every change of a case publishes, and a model instance and its save cost more than the
    # statement.
    at = timezone.now()
    payload_field, time_field = _fields()
    row = [
        topic,
        payload_field.get_db_prep_save(payload, connection),
        grid_l1_id,
        time_field.get_db_prep_save(at, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), row)
        (pk,) = cursor.fetchone()
    transaction.on_commit(partial(_announce, pk, topic, payload, grid_l1_id, at))


def publish_many(events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Bulk form for the sweep: one insert, one notification each after commit."""
    created = OutboxEvent.objects.bulk_create(events)
    for event in created:
        transaction.on_commit(partial(live_event.send, sender=OutboxEvent, event=event))
    return created
