"""Helpers of the workflow tests: cases driven into any state through the real services, the capacities each
user of the `world` fixture is expected to hold on them, a snapshot of everything a refusal must leave
unchanged, and the invariants every case keeps."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from gridgov.cases.choices import (
    CLOSED_STATES,
    OPEN_STATES,
    Action,
    AssignmentKind,
    Capacity,
    ReporterKind,
    State,
)
from gridgov.cases.models import (
    Assignment,
    Case,
    CaseEvent,
    Comment,
    Deadline,
    Evidence,
    Extension,
    Notification,
    Supervision,
    Supporter,
)
from gridgov.cases.services import STAGE_OF, Report, Step, do_report, do_transition
from gridgov.cases.workflow import BY_ACTION, PREVIOUS, RESPONSIBLE_AT_LEVEL, Transition
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditHead, AuditRecord

C = Capacity
S = State

# A working Wednesday morning (Asia/Shanghai).
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

# Inside the case's grid (world.grid, 150621100200001) and inside the other town (150621101…).
HERE = (109.01, 40.05)
OTHER_TOWN = (109.15, 40.05)

# Every user of the `world` fixture, by attribute name.
USER_NAMES = (
    "operator",
    "banner_operator",
    "other_operator",
    "l1head",
    "l2head",
    "specialist",
    "officer",
    "other_specialist",
    "handler",
    "assistant",
    "other_handler",
    "guide",
    "leader",
    "resident",
    "other_resident",
    "mediator",
)
# Capacities the grid roles hold on a case of world.grid (they cover it).
GRID_CAPACITY = {
    "operator": C.OPERATOR,
    "banner_operator": C.OPERATOR,
    "l1head": C.GRID_HEAD_L1,
    "l2head": C.GRID_HEAD_L2,
    "specialist": C.GRID_STAFF,
    "officer": C.GRID_STAFF,
    "leader": C.LEADER,
}
# Members of each unit (a grid guide of HW covers world.grid's village).
UNIT_MEMBERS = {"HW": ("handler", "guide"), "ZF": ("assistant",), "GA": ("other_handler",)}
# The world user who holds each capacity (the unit ones once HW leads and ZF assists).
HOLDER = {
    C.OPERATOR: "operator",
    C.GRID_STAFF: "specialist",
    C.GRID_HEAD_L2: "l2head",
    C.GRID_HEAD_L1: "l1head",
    C.LEADER: "leader",
    C.LEAD_UNIT: "handler",
    C.ASSIST_UNIT: "assistant",
    C.REPORTER: "resident",
}
# The level at which each capacity answers for a case (the system acts at any level but the top).
LEVEL_OF = {C.GRID_STAFF: 3, C.GRID_HEAD_L2: 2, C.OPERATOR: 1}


def users(world: Any) -> dict[str, Any]:
    return {name: getattr(world, name) for name in USER_NAMES}


# ---------------------------------------------------------------------------------------------- building


def report_case(world: Any, actor: Any = None, *, where=HERE, photo: bytes | None = None, **kw: Any) -> Case:
    """A new case of item 011001 reported through the resident app (by world.resident unless told)."""
    actor = world.resident if actor is None else actor
    now = kw.pop("now", None)
    fields: dict[str, Any] = dict(
        channel="resident_app", description="垃圾箱满了没人清运", item="011001", lon=where[0], lat=where[1]
    )
    if photo is not None:
        fields["files"] = [("report.png", photo)]
    fields.update(kw)
    return do_report(Report(force=True, **fields), actor=actor, now=now).case


def act(world: Any, number: str, action: str, who: str | None, **step: Any) -> CaseEvent:
    return do_transition(number, action, Step(**step), actor=getattr(world, who) if who else None)


def case_in(
    world: Any,
    state: str,
    *,
    level: int | None = None,
    via: str | None = None,
    png: Any = None,
    reporter: str = "resident",
) -> Case:
    """A case of world.grid, reported by world.resident (`reporter="phone"`: by a caller known by phone only,
    through the operator), driven by the real services into `state`.

    `level`: the responsible level (reported cases: 3 → 0 by escalation; accepted ones: 1, or 0 when the
    banner's centre accepts). `via`: for `suspended` the state it is suspended from (default registered); for
    `handled` "self" gives a self-handled, closed and disputed case that no unit holds."""
    photo = png() if png is not None else None
    if state == S.HANDLED and via == "self":
        case = report_case(world, photo=photo)
        n = case.number
        act(world, n, Action.SELF_HANDLE, "specialist", note="已处置", files=[("a.png", photo)])
        act(world, n, Action.DISPUTE, "resident", reason="没有处理好")
        return Case.objects.get(number=n)
    if state == S.SUSPENDED:
        case = case_in(world, via or S.REGISTERED, level=level, png=png, reporter=reporter)
        act(world, case.number, Action.SUSPEND, "operator", reason="等待天气")
        return Case.objects.get(pk=case.pk)
    if reporter == "phone":
        case = report_case(world, world.operator, channel="hotline", reporter_phone="13800001111")
    else:
        case = report_case(world, getattr(world, reporter))
    n = case.number
    if state == S.REPORTED:
        for responsible, up in ((3, "specialist"), (2, "l2head"), (1, "operator")):
            if level is not None and level < responsible:
                act(world, n, Action.ESCALATE, up, reason="需上级协调")
        return Case.objects.get(number=n)
    if level not in (None, 0, 1):
        raise ValueError(f"an accepted case answers at level 1 or 0, not {level}")
    if state == S.REJECTED:
        act(world, n, Action.REJECT, "operator", reason="不属于受理范围")
        return Case.objects.get(number=n)
    if state == S.MERGED:
        into = report_case(world)
        act(world, n, Action.MERGE, "operator", into=into.number)
        return Case.objects.get(number=n)
    act(world, n, Action.ACCEPT, "banner_operator" if level == 0 else "operator")
    if state == S.REGISTERED:
        return Case.objects.get(number=n)
    act(world, n, Action.DISPATCH, "operator", unit="HW", assisting=["ZF"])
    if state == S.DISPATCHED:
        return Case.objects.get(number=n)
    act(world, n, Action.SIGN, "handler")
    if state == S.HANDLING:
        return Case.objects.get(number=n)
    act(world, n, Action.FEEDBACK, "handler", note="已清运", files=[("after.png", png())])
    if state == S.HANDLED:
        return Case.objects.get(number=n)
    act(world, n, Action.VERIFY_PASS, "specialist")
    if state == S.CLOSED:
        return Case.objects.get(number=n)
    raise ValueError(state)


# ---------------------------------------------------------------------------------------------- who is who


def active_units(case: Case) -> dict[str, str]:
    """{department code: assignment kind} of the case's active assignments."""
    return dict(Assignment.objects.filter(case=case, active=True).values_list("department__code", "kind"))


def expected_capacities(world: Any, case: Case, name: str | None) -> frozenset[str]:
    """The capacities world user `name` (None: the system) should hold on `case` (a case of world.grid)."""
    if name is None:
        return frozenset({C.SYSTEM})
    held = set()
    if case.reporter_id == getattr(world, name).pk:
        held.add(C.REPORTER)
    if name in GRID_CAPACITY:
        held.add(GRID_CAPACITY[name])
    for code, kind in active_units(case).items():
        if name in UNIT_MEMBERS.get(code, ()):
            held.add(C.LEAD_UNIT if kind == AssignmentKind.LEAD else C.ASSIST_UNIT)
    return frozenset(held)


def expected_visible(world: Any, case: Case, name: str) -> bool:
    """Whether world user `name` should see `case`: the grid roles covering it, the members of a unit ever
    dispatched to it, its reporter and supporters."""
    if name in GRID_CAPACITY:
        return True
    user = getattr(world, name)
    if case.reporter_id == user.pk or Supporter.objects.filter(case=case, user=user).exists():
        return True
    ever = set(Assignment.objects.filter(case=case).values_list("department__code", flat=True))
    return any(name in UNIT_MEMBERS.get(code, ()) for code in ever)


def may(t: Transition, held: frozenset[str], case: Case) -> bool:
    """Whether holding `held` entitles to `t` on `case` (its state aside): the table, read independently, and
    the one rule beside it — an operator rates and disputes only for a reporter known by phone only."""
    mine = held & t.who
    if t.action in (Action.EVALUATE, Action.DISPUTE) and case.reporter_kind != ReporterKind.ANONYMOUS:
        mine -= {C.OPERATOR}
    if not mine:
        return False
    if t.at_level:
        if t.action == Action.ESCALATE and case.level <= 0:
            return False
        return C.SYSTEM in mine or RESPONSIBLE_AT_LEVEL[case.level] in mine
    return True


def expected_target(t: Transition, before: Case) -> str:
    if t.target is None:
        return before.state
    if t.target == PREVIOUS:
        return before.suspended_from
    if (
        t.target_without_unit
        and not Assignment.objects.filter(case=before, active=True, kind=AssignmentKind.LEAD).exists()
    ):
        return t.target_without_unit
    return t.target


# ---------------------------------------------------------------------------------------------- nothing changed


SNAPSHOT_COUNTED = (
    CaseEvent,
    AuditRecord,
    Deadline,
    Assignment,
    Supporter,
    Supervision,
    Comment,
    Extension,
    Evidence,
    Notification,
)


def snapshot() -> dict[str, Any]:
    """Everything a refused action must leave as it was: the rows of cases, clocks, assignments and extension
    requests, how many rows every other table of a case holds, and the head of the audit chain."""
    # Table names, not input.
    counts = ", ".join(f"(SELECT COUNT(*) FROM {m._meta.db_table})" for m in SNAPSHOT_COUNTED)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        snap: dict[str, Any] = dict(
            zip([m.__name__ for m in SNAPSHOT_COUNTED], cursor.fetchone(), strict=True)
        )
    for model in (Case, Deadline, Assignment, Extension):
        names = [f.attname for f in model._meta.concrete_fields]
        snap[f"{model.__name__} rows"] = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in model.objects.order_by("pk").values_list(*names)
        ]
    snap["audit head"] = AuditHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()
    return snap


class _Undo(Exception):
    pass


@contextmanager
def undone() -> Iterator[None]:
    """Run the block in a savepoint and roll it back: try an action, look, and forget it."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


# ---------------------------------------------------------------------------------------------- invariants


def case_problems(case: Case) -> list[str]:
    """What is wrong with one case; empty when it keeps every invariant."""
    case.refresh_from_db()
    p: list[str] = []
    n = case.number
    if case.state not in S.values:
        p.append(f"{n}: unknown state {case.state!r}")
    running = list(Deadline.objects.filter(case=case, done_at__isnull=True))
    if case.state == S.SUSPENDED:
        if len(running) != 1 or running[0].paused_at is None:
            p.append(f"{n}: suspended with running clocks {[(d.stage, d.paused_at) for d in running]}")
        if case.due_at is not None:
            p.append(f"{n}: suspended but due_at {case.due_at}")
        if case.suspended_from not in (S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED):
            p.append(f"{n}: suspended from {case.suspended_from!r}")
    elif case.state in OPEN_STATES:
        if len(running) != 1:
            p.append(f"{n}: {case.state} with {len(running)} running clocks")
        else:
            d = running[0]
            if d.paused_at is not None:
                p.append(f"{n}: {case.state} with a paused clock")
            if d.due_at != case.due_at or d.warn_at != case.warn_at:
                p.append(f"{n}: case due {case.due_at} / warn {case.warn_at}, clock {d.due_at} / {d.warn_at}")
            if d.stage != STAGE_OF[case.state] or case.stage != d.stage:
                p.append(f"{n}: {case.state} with case stage {case.stage!r}, clock stage {d.stage!r}")
    if case.state in CLOSED_STATES:
        if running:
            p.append(f"{n}: {case.state} with a running clock")
        if case.due_at is not None or case.warn_at is not None or case.stage:
            p.append(f"{n}: {case.state} with due_at {case.due_at}, stage {case.stage!r}")
        if case.closed_at is None:
            p.append(f"{n}: {case.state} without closed_at")
    elif case.closed_at is not None:
        p.append(f"{n}: {case.state} with closed_at {case.closed_at}")
    if case.state != S.SUSPENDED and case.suspended_from:
        p.append(f"{n}: {case.state} but suspended_from {case.suspended_from!r}")
    if (case.resolved_level is not None) != (case.state == S.CLOSED):
        p.append(f"{n}: {case.state} with resolved_level {case.resolved_level}")
    if (case.merged_into_id is not None) != (case.state == S.MERGED) or case.merged_into_id == case.pk:
        p.append(f"{n}: {case.state} merged into {case.merged_into_id}")
    if not 0 <= case.level <= 3:
        p.append(f"{n}: level {case.level}")
    leads = list(Assignment.objects.filter(case=case, active=True, kind=AssignmentKind.LEAD))
    active = Assignment.objects.filter(case=case, active=True).count()
    held = case.state in (S.DISPATCHED, S.HANDLING) or case.suspended_from in (S.DISPATCHED, S.HANDLING)
    if held and (len(leads) != 1 or case.lead_department_id != leads[0].department_id):
        p.append(f"{n}: {case.state} with lead units {leads}, lead department {case.lead_department_id}")
    if case.state in (S.REPORTED, S.REGISTERED, *CLOSED_STATES) and active:
        p.append(f"{n}: {case.state} with {active} active assignments")
    pending = Extension.objects.filter(case=case, state="pending").count()
    if pending > 1 or (pending and case.state not in (S.DISPATCHED, S.HANDLING, S.SUSPENDED)):
        p.append(f"{n}: {case.state} with {pending} extension requests waiting")
    supporters = Supporter.objects.filter(case=case).count()
    if case.supporters_count != supporters:
        p.append(f"{n}: supporters_count {case.supporters_count}, {supporters} supporters")
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    seqs = [e.seq for e in events]
    if seqs != list(range(1, case.version + 1)):
        p.append(f"{n}: version {case.version}, event seqs {seqs}")
    if events:
        if events[0].action != Action.REPORT or events[0].to_state != S.REPORTED:
            p.append(f"{n}: first event {events[0].action} → {events[0].to_state}")
        if events[-1].to_state != case.state:
            p.append(f"{n}: state {case.state}, last event {events[-1].action} → {events[-1].to_state}")
        for prev, e in itertools.pairwise(events):
            if e.from_state != prev.to_state:
                p.append(f"{n}: #{e.seq} {e.action} from {e.from_state}, #{prev.seq} left it {prev.to_state}")
            p += _off_table(n, e)
    audited = {
        (r["data"].get("seq"), r["action"])
        for r in AuditRecord.objects.filter(object_type="cases.case", object_id=str(case.pk)).values(
            "data", "action"
        )
    }
    missing = [(e.seq, e.action) for e in events if (e.seq, f"case.{e.action}") not in audited]
    if missing:
        p.append(f"{n}: events without an audit record: {missing}")
    return p


def _off_table(n: str, e: CaseEvent) -> list[str]:
    """An event the transition table does not allow: from a state not among its sources, or to another
    state than its target. (The merged-into case records `merge` too, staying where it is.)"""
    t = BY_ACTION.get(e.action)
    if t is None or (e.action == Action.MERGE and e.from_state == e.to_state):
        return []
    if e.from_state not in t.sources:
        return [f"{n}: #{e.seq} {e.action} taken in {e.from_state}, not one of its sources"]
    if t.target is None:
        allowed = {e.from_state}
    elif t.target == PREVIOUS:
        allowed = {S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED}
    else:
        allowed = {t.target, t.target_without_unit} - {None}
    if e.to_state not in allowed:
        return [f"{n}: #{e.seq} {e.action} went {e.from_state} → {e.to_state}"]
    return []


def chain_problems() -> list[str]:
    report = verify_chain()
    if report.broken_at is not None or report.reason:
        return [f"audit chain broken at {report.broken_at}: {report.reason}"]
    return []


def step_for(t: Transition, png: Any, *, into: str | None = None, extension: int | None = None) -> Step:
    """The fields `t` requires, all valid (an extension id and a case to merge into as given)."""
    kw: dict[str, Any] = {}
    for name in t.requires:
        if name == "reason":
            kw["reason"] = "理由"
        elif name == "note":
            kw["note"] = "说明"
        elif name == "evidence":
            kw["files"] = [("after.png", png())]
        elif name == "unit":
            kw["unit"] = "HW"
        elif name == "card":
            kw["card"] = "yellow"
        elif name == "rating":
            kw["rating"] = "satisfied"
        elif name == "minutes":
            kw["minutes"] = 60
        elif name == "into":
            kw["into"] = into
        elif name == "extension":
            kw["extension"] = extension
    if t.action == Action.SELF_HANDLE:
        kw["before_files"] = [("before.png", png((0, 0, 200)))]
    if t.action == Action.DISPATCH:
        kw["assisting"] = ["ZF"]
    return Step(**kw)


# What leaving a required field out looks like, and the field the error names.
MISSING: dict[str, tuple[dict[str, Any], str]] = {
    "reason": ({"reason": "  "}, "reason"),
    "note": ({"note": ""}, "note"),
    "evidence": ({"files": ()}, "files"),
    "unit": ({"unit": None}, "unit"),
    "card": ({"card": None}, "card"),
    "rating": ({"rating": None}, "rating"),
    "minutes": ({"minutes": None}, "minutes"),
    "into": ({"into": None}, "into"),
    "extension": ({"extension": None}, "extension"),
}
# A bad value of each field, and the field the error names.
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "reason": ({"reason": "长" * 2001}, "reason"),
    "note": ({"note": "长" * 2001}, "note"),
    "evidence": ({"files": [("x.png", b"not a photo")]}, "files"),
    "unit": ({"unit": "NOPE"}, "unit"),
    "card": ({"card": "green"}, "card"),
    "rating": ({"rating": "meh"}, "rating"),
    "minutes": ({"minutes": 0}, "minutes"),
    "into": ({"into": "19700101-0001"}, "into"),
    "extension": ({"extension": 987654321}, "extension"),
}
