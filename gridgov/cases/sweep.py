"""The deadline sweep: a supervision notice (yellow card) when a stage's clock turns red, and an escalation
one level up past the second threshold — each exactly once per case and stage.

Safe in several copies at once (the pattern of healthchecks' `sendalerts`): each batch claims its clocks with
a compare-and-set on the `noticed` / `escalated` flags inside one transaction; on PostgreSQL the rows are
taken with SKIP LOCKED so that copies share the work instead of waiting for each other, and on SQLite the
write transaction (BEGIN IMMEDIATE) serialises them. Everything a batch writes — flags, cases, supervision
notices, events, inbox entries, audit records, live events — commits together."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.core import audit
from gridgov.core.models import OutboxEvent
from gridgov.core.outbox import publish_many

from .choices import OPEN_STATES, Action, AssignmentKind, Capacity, Card
from .models import Assignment, Case, CaseEvent, Deadline, Notification, Supervision
from .workflow import ESCALATABLE

BATCH = 5000
# Stored untranslated: the reason is shown in the reader's language.
OVERDUE_REASON = gettext_noop("Stage %(stage)s is overdue.")
ESCALATE_REASON = gettext_noop("Stage %(stage)s is far past its limit.")


@dataclass
class SweepReport:
    noticed: int = 0
    escalated: int = 0


def _claim(flag: str, mark: str, now: datetime, batch: int) -> list[tuple[int, int, str]]:
    """Take up to `batch` running clocks past `mark` whose `flag` is not set, and set it: (id, case, stage)."""
    qs = Deadline.objects.filter(
        done_at__isnull=True, paused_at__isnull=True, **{flag: False, f"{mark}__lte": now}
    ).order_by(mark)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    rows = list(qs.values_list("id", "case_id", "stage")[:batch])
    if rows:
        # Under the row locks (PostgreSQL) or the write lock (SQLite) nobody else can have set it meanwhile.
        Deadline.objects.filter(pk__in=[r[0] for r in rows], **{flag: False}).update(**{flag: True})
    return rows


def _recipients(cases: list[dict[str, Any]]) -> dict[int, set[int]]:
    """Who is told of each case's overdue stage: its lead unit's handlers, or the grid staff when no unit
    holds it. Two queries for the whole batch."""
    leads: dict[int, int] = dict(
        Assignment.objects.filter(
            case_id__in=[c["id"] for c in cases], active=True, kind=AssignmentKind.LEAD
        ).values_list("case_id", "department_id")
    )
    handlers: dict[int, set[int]] = defaultdict(set)
    for user_id, dept in RoleAssignment.objects.filter(
        role=Role.DEPT_HANDLER, department_id__in=set(leads.values())
    ).values_list("user_id", "department_id"):
        handlers[dept].add(user_id)
    staff: dict[int, set[int]] = defaultdict(set)
    l3 = {c["grid_l3_id"] for c in cases if c["id"] not in leads and c["grid_l3_id"]}
    for user_id, grid in RoleAssignment.objects.filter(
        grid_id__in=l3, role__in=[Role.GRID_SPECIALIST, Role.INFO_OFFICER]
    ).values_list("user_id", "grid_id"):
        staff[grid].add(user_id)
    return {
        c["id"]: handlers[leads[c["id"]]] if c["id"] in leads else staff.get(c["grid_l3_id"], set())
        for c in cases
    }


def _write(kind: str, claimed: list[tuple[int, int, str]], now: datetime) -> int:
    stage_of = {case_id: stage for _, case_id, stage in claimed}
    ids = list(stage_of)
    escalating = kind == "escalate"
    live = Case.objects.filter(pk__in=ids, state__in=OPEN_STATES)
    if escalating:
        # As the transition table allows (a handled case waits for verification, not for a higher level),
        # and the banner is the top of the ladder.
        live = Case.objects.filter(pk__in=ids, state__in=ESCALATABLE, level__gt=0)
    if connection.features.has_select_for_update:
        live = live.select_for_update()
    live_ids = list(live.values_list("id", flat=True))
    if escalating:
        Case.objects.filter(pk__in=live_ids).update(
            version=F("version") + 1, level=F("level") - 1, updated_at=now
        )
    else:
        Case.objects.filter(pk__in=live_ids).update(
            version=F("version") + 1, supervised=F("supervised") + 1, overdue=True, updated_at=now
        )
        Case.objects.filter(pk__in=live_ids, card="").update(card=Card.YELLOW)
    cases: list[dict[str, Any]] = [
        dict(row)
        for row in Case.objects.filter(pk__in=live_ids).values(
            "id", "number", "state", "level", "version", "grid_id", "grid_l1_id", "grid_l3_id"
        )
    ]
    if not cases:
        return 0
    action = Action.ESCALATE if escalating else Action.SUPERVISE
    reason = ESCALATE_REASON if escalating else OVERDUE_REASON
    events = []
    entries = []
    outbox = []
    for c in cases:
        stage = stage_of[c["id"]]
        data: dict[str, Any] = {"stage": stage, "reason": reason}
        if escalating:
            data.update(from_level=c["level"] + 1, to_level=c["level"])
        else:
            data["card"] = Card.YELLOW
        events.append(
            CaseEvent(
                case_id=c["id"],
                seq=c["version"],
                action=action,
                actor=None,
                capacity=Capacity.SYSTEM,
                from_state=c["state"],
                to_state=c["state"],
                level=c["level"],
                note="",
                data=data,
                created_at=now,
            )
        )
        target = Case(pk=c["id"])
        entries.append(
            audit.Entry(
                f"case.{action}",
                target=target,
                data={
                    "number": c["number"],
                    "from": c["state"],
                    "to": c["state"],
                    "seq": c["version"],
                    **data,
                },
            )
        )
        outbox.append(
            OutboxEvent(
                topic=f"case.{action}",
                payload={"case": c["id"], "number": c["number"], "state": c["state"], "level": c["level"]},
                grid_l1_id=c["grid_l1_id"],
                created_at=now,
            )
        )
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    if not escalating:
        Supervision.objects.bulk_create(
            [
                Supervision(
                    case_id=c["id"], card=Card.YELLOW, reason=reason, stage=stage_of[c["id"]], created_at=now
                )
                for c in cases
            ],
            batch_size=2000,
        )
    notes = []
    recipients = _recipients(cases)
    kind_name = "escalated" if escalating else "overdue"
    for c in cases:
        data = {"number": c["number"], "stage": stage_of[c["id"]], "reason": ""}
        notes += [
            Notification(user_id=u, case_id=c["id"], kind=kind_name, data=data, created_at=now)
            for u in sorted(recipients[c["id"]])
        ]
    Notification.objects.bulk_create(notes, batch_size=5000)
    audit.record_many(entries)
    publish_many(outbox)
    return len(cases)


def sweep(now: datetime | None = None, *, batch: int = BATCH) -> SweepReport:
    """One pass over every running clock: notices first, then escalations, in batches until none is left."""
    now = now or timezone.now()
    report = SweepReport()
    for flag, mark, kind in (("noticed", "due_at", "notice"), ("escalated", "escalate_at", "escalate")):
        while True:
            with transaction.atomic(durable=True):
                claimed = _claim(flag, mark, now, batch)
                if not claimed:
                    break
                done = _write(kind, claimed, now)
            if kind == "notice":
                report.noticed += done
            else:
                report.escalated += done
    return report
