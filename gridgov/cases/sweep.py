"""The deadline sweep: a supervision notice (yellow card) when a stage's clock turns red, and an escalation
one level up past the second threshold — each exactly once per case and stage.

Safe in several copies at once (the pattern of healthchecks' `sendalerts`): each batch claims its clocks with
a compare-and-set on the `noticed` / `escalated` flags inside one transaction; on PostgreSQL the rows are
taken with SKIP LOCKED so that copies share the work instead of waiting for each other, and on SQLite the
write transaction (BEGIN IMMEDIATE) serialises them. Everything a batch writes — flags, cases, supervision
notices, events, inbox entries, audit records, live events — commits together.

Set-based: a batch is the same dozen statements whatever its size (bench/sweep.py: a million open cases,
1 % of them due). The flags and the cases change in one UPDATE each, whose RETURNING gives the rows the rest
is built from; inbox entries and live events are INSERT … SELECT over the batch; events and supervision
notices go in by COPY (PostgreSQL) or one executemany (SQLite). Python builds only the event rows and the
audit entries, which need an HMAC each anyway. The SQL names the tables and columns directly (`cases_case`,
…): it is written for these two engines and these tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from gridgov.accounts.choices import Role
from gridgov.core import audit
from gridgov.core.models import OutboxEvent
from gridgov.core.outbox import live_event

from .choices import OPEN_STATES, Action, AssignmentKind, Capacity, Card
from .models import Case
from .workflow import ESCALATABLE

BATCH = 5000
# Stored untranslated: the reason is shown in the reader's language.
OVERDUE_REASON = gettext_noop("Stage %(stage)s is overdue.")
ESCALATE_REASON = gettext_noop("Stage %(stage)s is far past its limit.")


@dataclass
class SweepReport:
    noticed: int = 0
    escalated: int = 0


@dataclass(frozen=True)
class Step:
    """One pass of the sweep: which clocks it takes, and what it does to their cases."""

    flag: str  # the Deadline flag set once the step is done for a clock
    mark: str  # the Deadline time past which the step is due
    action: str  # of the CaseEvent, the audit entry ("case.<action>") and the live event
    kind: str  # of the inbox entry
    reason: str
    states: tuple[str, ...]  # the case states the step acts on (a clock of any other case is only flagged)
    changes: str  # SQL: what the step changes in the case, besides its version
    params: tuple[Any, ...]  # the parameters of `changes`
    guard: str = ""  # SQL: a further condition on the case


NOTICE = Step(
    "noticed",
    "due_at",
    Action.SUPERVISE.value,
    "overdue",
    OVERDUE_REASON,
    OPEN_STATES,
    # The card is the strongest one the case ever got: a yellow card does not replace a red one.
    "supervised = supervised + 1, overdue = TRUE, card = CASE WHEN card = '' THEN %s ELSE card END",
    (Card.YELLOW.value,),
)
ESCALATE = Step(
    "escalated",
    "escalate_at",
    Action.ESCALATE.value,
    "escalated",
    ESCALATE_REASON,
    # As the transition table allows (a handled case waits for verification, not for a higher level), and the
    # banner (level 0) is the top of the ladder.
    tuple(sorted(ESCALATABLE)),
    "level = level - 1",
    (),
    guard="AND level > 0",
)


class Swept(NamedTuple):
    """A case as the step left it (RETURNING of the UPDATE)."""

    id: int
    number: str
    state: str
    level: int
    version: int
    grid_l1_id: int | None
    grid_l3_id: int | None


class CaseRef:
    """What an audit entry reads of its target (label and pk), without building a model instance of fifty
    fields per entry."""

    __slots__ = ("pk",)
    _meta = Case._meta

    def __init__(self, pk: int) -> None:
        self.pk = pk


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _in(ids: list[int]) -> tuple[str, list[Any]]:
    """`IN (ids)` as one parameter however many there are: an array on PostgreSQL, a JSON array on SQLite
    (thousands of placeholders are slow to build and to parse, and run into SQLite's limit)."""
    if _postgresql():
        return "= ANY(%s::bigint[])", [ids]
    return "IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def _table(columns: dict[str, str], rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """Rows from Python as a table `b` (columns: name → PostgreSQL type) in a FROM clause, in as many
    parameters as columns: arrays unnested on PostgreSQL, one JSON array of arrays on SQLite. The statements
    below read the batch's cases from it instead of looking them up again."""
    names = list(columns)
    if _postgresql():
        arrays = ", ".join(f"%s::{kind}[]" for kind in columns.values())
        params = [list(column) for column in zip(*rows, strict=True)]
        return f"unnest({arrays}) AS b({', '.join(names)})", params
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, name in enumerate(names))
    return f"(SELECT {picks} FROM json_each(%s)) AS b", [json.dumps(rows)]  # noqa: S608 - fixed names


def _json_object() -> str:
    """The SQL function building a JSON object from key, value, key, value …"""
    return "jsonb_build_object" if _postgresql() else "json_object"


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Append rows as they are: COPY on PostgreSQL (no statement per row), one executemany on SQLite."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if _postgresql():
            # The raw psycopg cursor: Django's wrapper has no COPY.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _claim(step: Step, at: Any, batch: int) -> list[tuple[int, int, str]]:
    """Take up to `batch` running clocks past the step's mark whose flag is not set, oldest first, and set it:
    (deadline id, case id, stage). One statement: the flag is the claim."""
    due = f"""
        SELECT id FROM cases_deadline
        WHERE done_at IS NULL AND paused_at IS NULL AND NOT {step.flag} AND {step.mark} <= %s
        ORDER BY {step.mark} LIMIT %s
    """  # noqa: S608 - fixed names
    if connection.features.has_select_for_update_skip_locked:
        # A clock another sweep holds is skipped, not waited for; one it claimed and committed meanwhile fails
        # NOT flag on the row's newest version. ARRAY(…): as a plain IN (…) the planner would rather scan the
        # whole table than look up a few thousand ids.
        selected = f"= ANY(ARRAY({due} FOR UPDATE SKIP LOCKED))"
    else:
        # SQLite: the write lock is held from BEGIN IMMEDIATE, nobody else claims meanwhile.
        selected = f"IN ({due})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE cases_deadline SET {step.flag} = TRUE WHERE NOT {step.flag} AND id {selected}
            RETURNING id, case_id, stage
            """,  # noqa: S608 - fixed names
            [at, batch],
        )
        return cursor.fetchall()


def _update_cases(step: Step, case_ids: list[int], at: Any) -> list[Swept]:
    """Bump the version of the claimed clocks' cases that are in a state the step acts on, with the step's
    changes, in one UPDATE; return them as they are now, newest first (the order the chain always had)."""
    in_ids, ids_params = _in(case_ids)
    states = list(step.states)
    in_states = ", ".join(["%s"] * len(states))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE cases_case SET version = version + 1, updated_at = %s, {step.changes}
            WHERE id {in_ids} AND state IN ({in_states}) {step.guard}
            RETURNING id, number, state, level, version, grid_l1_id, grid_l3_id
            """,  # noqa: S608 - fixed names
            [at, *step.params, *ids_params, *states],
        )
        rows = cursor.fetchall()
    return sorted(map(Swept._make, rows), reverse=True)


def _details(step: Step, case: Swept, stage: str) -> dict[str, Any]:
    """The `data` of the case's event (and, with the case's number and step, of its audit entry)."""
    if step is ESCALATE:
        return {"stage": stage, "reason": step.reason, "from_level": case.level + 1, "to_level": case.level}
    return {"stage": stage, "reason": step.reason, "card": Card.YELLOW.value}


def _insert_events(step: Step, cases: list[Swept], details: list[dict[str, Any]], at: Any) -> None:
    """One event per case, by the system, numbered with the case's new version."""
    _insert(
        "cases_caseevent",
        ("case_id", "seq", "action", "actor_id", "capacity", "from_state", "to_state", "level", "note", "data",
         "created_at"),
        [
            (c.id, c.version, step.action, None, Capacity.SYSTEM.value, c.state, c.state, c.level, "",
             json.dumps(d), at)
            for c, d in zip(cases, details, strict=True)
        ],
    )  # fmt: skip


def _insert_supervisions(cases: list[Swept], stage_of: dict[int, str], at: Any) -> None:
    """The yellow card of each noticed case, by nobody (the sweep)."""
    _insert(
        "cases_supervision",
        ("case_id", "card", "reason", "stage", "by_id", "created_at"),
        [(c.id, Card.YELLOW.value, NOTICE.reason, stage_of[c.id], None, at) for c in cases],
    )


def _notify(step: Step, cases: list[Swept], stage_of: dict[int, str], at: Any) -> None:
    """Tell the people who answer for each case, in one INSERT … SELECT: the handlers of its lead unit, or the
    staff of its level-3 grid when no unit holds it. UNION: one entry per person and case."""
    batch, batch_params = _table(
        {"id": "bigint", "number": "text", "grid_l3_id": "bigint", "stage": "text"},
        [(c.id, c.number, c.grid_l3_id, stage_of[c.id]) for c in cases],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH swept AS (
                SELECT b.id, b.number, b.grid_l3_id, b.stage, a.department_id AS unit
                FROM {batch}
                LEFT JOIN cases_assignment a ON a.case_id = b.id AND a.active AND a.kind = %s
            ),
            told AS (
                SELECT r.user_id, s.id, s.number, s.stage
                FROM swept s JOIN accounts_roleassignment r ON r.department_id = s.unit AND r.role = %s
                UNION
                SELECT r.user_id, s.id, s.number, s.stage
                FROM swept s JOIN accounts_roleassignment r ON r.grid_id = s.grid_l3_id AND r.role IN (%s, %s)
                WHERE s.unit IS NULL
            )
            INSERT INTO cases_notification (user_id, case_id, kind, data, created_at, read_at)
            SELECT user_id, id, %s, {_json_object()}('number', number, 'stage', stage, 'reason', ''), %s, NULL
            FROM told ORDER BY id DESC, user_id
            """,  # noqa: S608 - fixed names
            [
                *batch_params,
                AssignmentKind.LEAD.value,
                Role.DEPT_HANDLER.value,
                Role.GRID_SPECIALIST.value,
                Role.INFO_OFFICER.value,
                step.kind,
                at,
            ],
        )


def _record(step: Step, cases: list[Swept], details: list[dict[str, Any]]) -> None:
    """The audit entries, chained in the order of the events."""
    audit.record_many(
        [
            audit.Entry(
                f"case.{step.action}",
                target=CaseRef(c.id),
                data={"number": c.number, "from": c.state, "to": c.state, "seq": c.version, **d},
            )
            for c, d in zip(cases, details, strict=True)
        ]
    )


def _publish(step: Step, cases: list[Swept], now: datetime, at: Any) -> None:
    """The live events, in one INSERT … SELECT, handed to the subscribers once the batch commits, each on its
    own (as `outbox.publish_many` does). Not COPY: the subscribers get the events with their ids (RETURNING)."""
    batch, batch_params = _table(
        {"id": "bigint", "number": "text", "state": "text", "level": "int", "grid_l1_id": "bigint"},
        [(c.id, c.number, c.state, c.level, c.grid_l1_id) for c in cases],
    )
    topic = f"case.{step.action}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO core_outboxevent (topic, payload, grid_l1_id, created_at)
            SELECT %s, {_json_object()}('case', id, 'number', number, 'state', state, 'level', level),
                grid_l1_id, %s
            FROM {batch} ORDER BY id DESC
            RETURNING id, payload, grid_l1_id
            """,  # noqa: S608 - fixed names
            [topic, at, *batch_params],
        )
        published = cursor.fetchall()

    def announce() -> None:
        # The instances are built only for someone to receive them: none of the sweep's thousands when nobody
        # listens.
        if not live_event.has_listeners(OutboxEvent):
            return
        for pk, payload, grid_l1_id in published:
            event = OutboxEvent(
                pk=pk, topic=topic, payload=json.loads(payload), grid_l1_id=grid_l1_id, created_at=now
            )
            live_event.send(sender=OutboxEvent, event=event)

    transaction.on_commit(announce)


def _sweep_batch(step: Step, now: datetime, batch: int) -> tuple[int, int]:
    """Claim a batch of clocks and act on their cases: (clocks claimed, cases acted on)."""
    at = connection.ops.adapt_datetimefield_value(now)  # as the database takes it (naive UTC on SQLite)
    claimed = _claim(step, at, batch)
    if not claimed:
        return 0, 0
    stage_of = {case_id: stage for _, case_id, stage in claimed}
    cases = _update_cases(step, list(stage_of), at)
    if not cases:
        return len(claimed), 0
    details = [_details(step, c, stage_of[c.id]) for c in cases]
    _insert_events(step, cases, details, at)
    if step is NOTICE:
        _insert_supervisions(cases, stage_of, at)
    _notify(step, cases, stage_of, at)
    _publish(step, cases, now, at)
    # Last: the audit head stays locked until the commit, and other writers queue on it.
    _record(step, cases, details)
    return len(claimed), len(cases)


def sweep(now: datetime | None = None, *, batch: int = BATCH) -> SweepReport:
    """One pass over every running clock: notices first, then escalations, in batches until none is left."""
    now = now or timezone.now()
    report = SweepReport()
    for step in (NOTICE, ESCALATE):
        while True:
            with transaction.atomic(durable=True):
                claimed, done = _sweep_batch(step, now, batch)
            if not claimed:
                break
            if step is NOTICE:
                report.noticed += done
            else:
                report.escalated += done
    return report
