"""The hash-chained audit log (全流程留痕): `record()` appends inside the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext_noop

from .crypto import provider
from .models import AuditHead, AuditRecord
from .scoping import holds_duty, register

GENESIS = "0" * 64


def _digest(prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return provider().hmac_sm3("audit", prev_hash.encode() + body.encode()).hex()


def _entry(rec: AuditRecord) -> dict[str, Any]:
    return {
        "at": rec.created_at.isoformat(),
        "actor": rec.actor_id,
        "actor_name": rec.actor_name,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "success": rec.success,
        "ip": rec.ip,
        "data": rec.data,
    }


def _locked_head() -> str:
    """The chain's last hash, its row locked until the commit (writers append one at a time)."""
    head = AuditHead.objects.select_for_update().filter(pk=1).values_list("last_hash", flat=True)
    found = list(head)
    if not found:
        # The first writer ever creates it; ON CONFLICT DO NOTHING lets two first writers both go on.
        AuditHead.objects.bulk_create([AuditHead(pk=1, last_hash=GENESIS)], ignore_conflicts=True)
        found = list(head.all())  # a fresh read, not the first one's cached result
    return found[0]


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    data: dict[str, Any] | None = None,
    success: bool = True,
    ip: str | None = None,
) -> AuditRecord:
    """Append one audit entry. Call it inside the transaction that makes the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    prev = _locked_head()
    actor_id = getattr(actor, "pk", None)
    rec = AuditRecord(
        created_at=timezone.now(),
        actor_id=actor_id,
        actor_name=getattr(actor, "username", "") if actor_id else "system",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        success=success,
        # Hash the address as the database will store it (IPv6 normalised), or the chain would not verify.
        ip=clean_ipv6_address(ip) if ip and ":" in ip else ip,
        data=json.loads(json.dumps(data or {}, default=str)),
        prev_hash=prev,
    )
    rec.hash = _digest(prev, _entry(rec))
    rec.save()
    AuditHead.objects.filter(pk=1).update(last_hash=rec.hash)
    return rec


@dataclass(frozen=True)
class Entry:
    action: str
    target: Any = None
    data: dict[str, Any] | None = None
    actor: Any = None
    at: datetime | None = None  # when it happened (the demo's history); now by default


COLUMNS = (
    "created_at", "actor_id", "actor_name", "action", "object_type", "object_id", "success", "ip", "data",
    "prev_hash", "hash",
)  # fmt: skip


def record_many(entries: list[Entry]) -> int:
    """Append many entries at once (the deadline sweep, the demo's history): one lock of the head, one
    multi-row insert, the same chain as one `record()` after another. Returns how many were appended."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    if not entries:
        return 0
    prev = _locked_head()
    now = timezone.now()
    fields: list[Any] = [AuditRecord._meta.get_field("actor" if c == "actor_id" else c) for c in COLUMNS]
    rows = []
    for e in entries:
        actor_id = getattr(e.actor, "pk", None)
        # In UTC, as the database gives it back to verify_chain.
        at = (e.at or now).astimezone(UTC)
        entry = {
            "at": at.isoformat(),
            "actor": actor_id,
            "actor_name": getattr(e.actor, "username", "") if actor_id else "system",
            "action": e.action,
            "object_type": e.target._meta.label_lower if e.target is not None else "",
            "object_id": str(e.target.pk) if e.target is not None else "",
            "success": True,
            "ip": None,
            "data": json.loads(json.dumps(e.data or {}, default=str)),
        }
        digest = _digest(prev, entry)
        values = (
            at, actor_id, entry["actor_name"], e.action, entry["object_type"], entry["object_id"], True,
            None, entry["data"], prev, digest,
        )  # fmt: skip
        rows.append([f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)])
        prev = digest
    # Plain executemany in list order: ids follow the chain, which verify_chain walks by id. (Model
    # instances and bulk_create cost several times more per row, and the demo writes 200,000 of them.)
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows in one round trip: half the time of executemany for the sweep's batches.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - fixed names
    AuditHead.objects.filter(pk=1).update(last_hash=prev)
    return len(rows)


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify_chain() -> ChainReport:
    """Recompute the chain from the first entry; report the first entry whose link does not hold.

    The head is read first: entries appended while the check runs chain on from it and are checked too,
    and a chain that never reaches the head lost its tail."""
    head = AuditHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()
    prev = GENESIS
    checked = 0
    reached_head = head is None or head == GENESIS
    for rec in AuditRecord.objects.order_by("id").iterator(chunk_size=2000):
        if rec.prev_hash != prev:
            return ChainReport(
                checked,
                rec.pk,
                gettext_noop("previous hash does not match (an entry was removed or reordered)"),
            )
        if _digest(prev, _entry(rec)) != rec.hash:
            return ChainReport(
                checked, rec.pk, gettext_noop("hash does not match the content (the entry was changed)")
            )
        prev = rec.hash
        checked += 1
        reached_head = reached_head or rec.hash == head
    if not reached_head:
        return ChainReport(
            checked, None, gettext_noop("the chain ends early (entries after the last one were removed)")
        )
    return ChainReport(checked)


def atomic_record(action: str, **kwargs: Any) -> AuditRecord:
    """Record an event that changes nothing else (a login, an export) in its own transaction."""
    with transaction.atomic():
        return record(action, **kwargs)


@register(AuditRecord)
def _audit_records(user: Any, qs: QuerySet) -> QuerySet:
    """The audit administrator reads the whole log; nobody else reads it (三员分立)."""
    return qs if holds_duty(user, ("audit",)) else qs.none()
