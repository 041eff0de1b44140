"""The hash-chained audit log (全流程留痕): `record()` appends inside the caller's transaction."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext_noop

from .crypto import provider
from .models import AuditHead, AuditRecord
from .scoping import holds_duty, register

GENESIS = "0" * 64


def client_ip(request: Any) -> str | None:
    """The address an audit record keeps for a request: the peer's, or, when the peer is one of the trusted
    proxies (settings.TRUSTED_PROXIES), the last address before them in X-Forwarded-For — the one a trusted proxy
    saw; what the client wrote further left is its own claim."""
    if request is None:
        return None
    peer = request.META.get("REMOTE_ADDR")
    trusted = settings.TRUSTED_PROXIES
    if peer not in trusted:
        return peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        if hop and hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: the header is not what a proxy wrote
    return peer


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


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _locked_head(cursor: Any) -> str:
    """The chain's last hash, its row locked until the commit (writers append one at a time).

    Plain SQL: the head is read and written by every change, and the ORM's query building cost more than the
    statements themselves. (SQLite has no FOR UPDATE: its writers hold the database's write lock.)"""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = f"SELECT last_hash FROM {_table(AuditHead)} WHERE id = 1{lock}"  # noqa: S608 - fixed names
    cursor.execute(select)
    found = cursor.fetchone()
    if found is None:
        # The first writer ever creates it; ON CONFLICT DO NOTHING lets two first writers both go on.
        cursor.execute(
            f"INSERT INTO {_table(AuditHead)} (id, last_hash) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",  # noqa: S608
            [GENESIS],
        )
        cursor.execute(select)
        found = cursor.fetchone()
    return found[0]


def _move_head(cursor: Any, last_hash: str) -> None:
    cursor.execute(f"UPDATE {_table(AuditHead)} SET last_hash = %s WHERE id = 1", [last_hash])  # noqa: S608


COLUMNS = (
    "created_at", "actor_id", "actor_name", "action", "object_type", "object_id", "success", "ip", "data",
    "prev_hash", "hash",
)  # fmt: skip


@cache
def _fields() -> list[Any]:
    return [AuditRecord._meta.get_field("actor" if c == "actor_id" else c) for c in COLUMNS]


def _chained(prev: str, at: datetime, entry: dict[str, Any], fields: list[Any]) -> tuple[list[Any], str]:
    """The row of `entry` (see `_new_entry`; it happened `at`) chained to `prev`, as the database takes it,
    and its hash."""
    digest = _digest(prev, entry)
    values = (
        at, entry["actor"], entry["actor_name"], entry["action"],
        entry["object_type"], entry["object_id"], entry["success"], entry["ip"], entry["data"], prev, digest,
    )  # fmt: skip
    return [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)], digest


@cache
def _insert_sql(vendor: str) -> str:  # one per database vendor: the quoting is the vendor's
    names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    return f"INSERT INTO {_table(AuditRecord)} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names


def _new_entry(
    action: str,
    *,
    actor: Any,
    target: Any,
    data: dict[str, Any] | None,
    success: bool,
    ip: str | None,
    at: datetime,
) -> dict[str, Any]:
    """An entry as `_entry` reads it back from the database (in UTC, the address normalised, the data through
    JSON), so that the hash written now is the hash verify_chain computes. `at` is in UTC."""
    actor_id = getattr(actor, "pk", None)
    return {
        "at": at.isoformat(),
        "actor": actor_id,
        "actor_name": getattr(actor, "username", "") if actor_id else "system",
        "action": action,
        "object_type": target._meta.label_lower if target is not None else "",
        "object_id": str(target.pk) if target is not None else "",
        "success": success,
        # IPv6 as the database stores it, or the chain would not verify.
        "ip": clean_ipv6_address(ip) if ip and ":" in ip else ip,
        "data": json.loads(json.dumps(data or {}, default=str)),
    }


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    data: dict[str, Any] | None = None,
    success: bool = True,
    ip: str | None = None,
) -> None:
    """Append one audit entry. Call it inside the transaction that makes the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    at = timezone.now()  # UTC
    entry = _new_entry(action, actor=actor, target=target, data=data, success=success, ip=ip, at=at)
    with connection.cursor() as cursor:
        prev = _locked_head(cursor)
        row, digest = _chained(prev, at, entry, _fields())
        cursor.execute(_insert_sql(connection.vendor), row)
        _move_head(cursor, digest)


@dataclass(frozen=True)
class Entry:
    action: str
    target: Any = None
    data: dict[str, Any] | None = None
    actor: Any = None
    at: datetime | None = None  # when it happened (the demo's history); now by default


def record_many(entries: list[Entry]) -> int:
    """Append many entries at once (the deadline sweep, the demo's history): one lock of the head, one
    multi-row insert, the same chain as one `record()` after another. Returns how many were appended."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    if not entries:
        return 0
    now = timezone.now()
    fields = _fields()
    rows = []
    with connection.cursor() as cursor:
        prev = _locked_head(cursor)
        for e in entries:
            # In UTC, as the database gives it back to verify_chain.
            at = (e.at or now).astimezone(UTC)
            entry = _new_entry(
                e.action, actor=e.actor, target=e.target, data=e.data, success=True, ip=None, at=at
            )
            row, prev = _chained(prev, at, entry, fields)
            rows.append(row)
        # Plain executemany in list order: ids follow the chain, which verify_chain walks by id. (Model
        # instances and bulk_create cost several times more per row, and the demo writes 200,000 of them.)
        if connection.vendor == "postgresql":
            # COPY streams the rows in one round trip: half the time of executemany for the sweep's batches.
            names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
            with cursor.cursor.copy(f"COPY {_table(AuditRecord)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(_insert_sql(connection.vendor), rows)
        _move_head(cursor, prev)
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


def atomic_record(action: str, **kwargs: Any) -> None:
    """Record an event that changes nothing else (a login, an export) in its own transaction."""
    with transaction.atomic():
        record(action, **kwargs)


@register(AuditRecord)
def _audit_records(user: Any, qs: QuerySet) -> QuerySet:
    """The audit administrator reads the whole log; nobody else reads it (三员分立)."""
    return qs if holds_duty(user, ("audit",)) else qs.none()
