"""Every row of the transition table, walked through the real services.

For each row: from each of its source states (at each level where an `at_level` capacity answers), every
capacity it names acts with success — one new event, the target state, the version up by one — and every other
user of the world (out of scope: 404; in scope: 403) and the system are refused, changing nothing. From every
other state the capacities it names get 409 (or 403/404 where the capacity does not exist there). Each
required field left out, or given a bad value, is refused naming the field, changing nothing. The workbench's
buttons (`allowed_actions`) offer each row to exactly those who may take it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from gridgov.cases.choices import Action, AssignmentKind, Capacity, ExtensionState, State
from gridgov.cases.errors import CaseError, CaseNotFound, Conflict, Invalid, NotAllowed, WrongState
from gridgov.cases.models import Case, CaseEvent, Extension
from gridgov.cases.services import Step, allowed_actions, do_transition
from gridgov.cases.sweep import sweep
from gridgov.cases.workflow import BY_ACTION, RESPONSIBLE_AT_LEVEL, TABLE, Transition
from gridgov.core.scoping import visible_to

from .helpers import (
    BAD,
    MISSING,
    OTHER_TOWN,
    USER_NAMES,
    act,
    case_in,
    case_problems,
    chain_problems,
    expected_capacities,
    expected_target,
    expected_visible,
    may,
    report_case,
    snapshot,
    step_for,
    undone,
)

C = Capacity
S = State
pytestmark = pytest.mark.django_db

STATES = [
    S.REPORTED,
    S.REGISTERED,
    S.DISPATCHED,
    S.HANDLING,
    S.HANDLED,
    S.SUSPENDED,
    S.CLOSED,
    S.REJECTED,
    S.MERGED,
]
ROW_IDS = [str(t.action) for t in TABLE]


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Cheap password hashing for the world's users: the rows build many worlds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def variants(state: str, t: Transition | None = None) -> list[dict[str, Any]]:
    """The cases to build in `state`: every level where a capacity of an `at_level` row may answer, both
    kinds of handled case (held by a unit, or self-handled and disputed) and of suspended one, and closed cases
    of a resident with an account and of a caller known by phone only (for whom the operator rates)."""
    at_level = t is not None and t.at_level
    if state == S.REPORTED:
        return [{"level": lv} for lv in ((3, 2, 1, 0) if at_level else (3,))]
    if state in (S.REGISTERED, S.DISPATCHED, S.HANDLING):
        return [{"level": lv} for lv in ((1, 0) if at_level else (1,))]
    if state == S.HANDLED:
        return [{}, {"via": "self"}]
    if state == S.SUSPENDED:
        return [{"via": S.REGISTERED}, {"via": S.HANDLING}]
    if state == S.CLOSED:
        return [{}, {"reporter": "phone"}]
    return [{}]


def pending_extension(world: Any, t: Transition, case: Case) -> int | None:
    """For the rows deciding an extension: the lead unit asks for one first."""
    if t.action not in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        return None
    if case.state in (S.DISPATCHED, S.HANDLING):
        act(world, case.number, Action.REQUEST_EXTENSION, "handler", reason="材料未到", minutes=120)
    ext = Extension.objects.filter(case=case, state=ExtensionState.PENDING).first()
    return ext.pk if ext else 1


def actor(world: Any, name: str | None) -> Any:
    return getattr(world, name) if name else None


def assert_unchanged(before: dict[str, Any], what: str) -> None:
    after = snapshot()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"{what} changed {changed}"


def refuse(world: Any, number: str, t: Transition, step: Step, name: str | None, expected: type) -> None:
    """`name` is refused `t` on case `number` with `expected`, with a message, and nothing changed."""
    refuse_all(world, number, t, [(name, step, expected)])


def refuse_all(
    world: Any, number: str, t: Transition, tries: list[tuple[str | None, Step, type]]
) -> list[CaseError]:
    """Each (user, step, expected error) is refused `t` on case `number` with that error and a message; all
    of them together changed nothing (one snapshot for the lot: they are many)."""
    before = snapshot()
    errors = []
    for name, step, expected in tries:
        with pytest.raises(CaseError) as exc:
            do_transition(number, t.action, step, actor=actor(world, name))
        assert type(exc.value) is expected, f"{t.action} on {number} by {name}: {exc.value!r}, not {expected}"
        assert str(exc.value)
        errors.append(exc.value)
    assert_unchanged(before, f"refusing {t.action} on {number} to {[name for name, _, _ in tries]}")
    return errors


def succeed(world: Any, t: Transition, case: Case, step: Step, name: str | None, into: str) -> str:
    """Take the action as `name`, check what it did, roll it back; return the capacity it was taken in."""
    before = Case.objects.get(pk=case.pk)
    held = expected_capacities(world, before, name)
    events = CaseEvent.objects.filter(case=case).count()
    target = expected_target(t, before)
    with undone():
        event = do_transition(before.number, t.action, step, actor=actor(world, name))
        after = Case.objects.get(pk=case.pk)
        what = f"{t.action} on {before.state} (level {before.level}) by {name}"
        assert (event.action, event.seq, event.actor) == (t.action, before.version + 1, actor(world, name)), (
            what
        )
        assert CaseEvent.objects.filter(case=case).count() == events + 1, what
        assert CaseEvent.objects.filter(case=case).order_by("seq").last() == event, what
        assert after.version == before.version + 1, what
        assert (event.from_state, event.to_state, after.state) == (before.state, target, target), what
        assert event.capacity in held & t.who, what
        if t.at_level and event.capacity != C.SYSTEM:
            assert event.capacity == RESPONSIBLE_AT_LEVEL[before.level], what
        if t.action == Action.ESCALATE:
            assert after.level == before.level - 1, what
        if t.action in (Action.VERIFY_PASS, Action.SELF_HANDLE):
            assert after.resolved_level == before.level, what
        if t.action == Action.SUSPEND:
            assert after.suspended_from == before.state, what
        if t.action == Action.MERGE:
            survivor = Case.objects.get(number=into)
            assert after.merged_into == survivor, what
            assert survivor.events.order_by("seq").last().action == Action.MERGE, what
            assert case_problems(survivor) == [], what
        assert case_problems(after) == [], what
        assert chain_problems() == [], what
    return event.capacity


@pytest.mark.parametrize("t", TABLE, ids=ROW_IDS)
def test_a_row_works_from_its_sources_for_its_capacities_only(world, png_bytes, t):
    into = report_case(world).number  # another open case, to merge into
    names = [*USER_NAMES, None]
    acted_as: set[str] = set()
    for state in STATES:
        if state not in t.sources:
            continue
        for options in variants(state, t):
            case = case_in(world, state, png=png_bytes, **options)
            step = step_for(t, png_bytes, into=into, extension=pending_extension(world, t, case))
            case.refresh_from_db()
            where = f"{t.action} on {state} {options}"
            held = {name: expected_capacities(world, case, name) for name in names}
            allowed = [name for name in names if may(t, held[name], case)]
            buttons = [name for name in names if t.action in allowed_actions(actor(world, name), case)]
            assert buttons == allowed, f"{where}: offered to {buttons}"
            for name in allowed:
                acted_as.add(succeed(world, t, case, step, name, into))
            refused = []
            for name in names:
                if name in allowed:
                    continue
                visible = (
                    name is not None and visible_to(actor(world, name), Case).filter(pk=case.pk).exists()
                )
                if name is not None:
                    assert visible == expected_visible(world, case, name), f"{name} sees {where}: {visible}"
                refused.append((name, step, NotAllowed if name is None or visible else CaseNotFound))
            refuse_all(world, case.number, t, refused)
            # Each required field left out, or bad, is named; by the first one allowed (not the system).
            first = next((n for n in allowed if n is not None), None)
            if first is None:
                continue
            tries, fields = [], []
            for name in sorted(t.requires):
                for table, kind in ((MISSING, "missing"), (BAD, "bad")):
                    change, field = table[name]
                    if name == "into" and kind == "bad":
                        change = {"into": case.number}  # itself
                    tries.append((first, dataclasses.replace(step, **change), Invalid))
                    fields.append((f"{kind} {name}", field))
            errors = refuse_all(world, case.number, t, tries)
            named = [(what, e.field) for (what, _), e in zip(fields, errors, strict=True)]
            assert named == fields, where
    assert acted_as == set(t.who), f"{t.action}: capacities exercised {acted_as}"


@pytest.mark.parametrize("t", TABLE, ids=ROW_IDS)
def test_a_row_is_refused_in_every_other_state(world, png_bytes, t):
    into = report_case(world).number
    names = [*USER_NAMES, None]
    for state in STATES:
        if state in t.sources:
            continue
        for options in variants(state):
            case = case_in(world, state, png=png_bytes, **options)
            step = step_for(t, png_bytes, into=into, extension=pending_extension(world, t, case))
            offered = [name for name in names if t.action in allowed_actions(actor(world, name), case)]
            assert offered == [], f"{t.action} offered on {state} {options} to {offered}"
            tries = []
            for name in names:
                held = expected_capacities(world, case, name)
                if held & t.who:
                    expected: type = WrongState
                elif name is None or expected_visible(world, case, name):
                    expected = NotAllowed
                else:
                    expected = CaseNotFound
                tries.append((name, step, expected))
            refuse_all(world, case.number, t, tries)


# ---------------------------------------------------------------------------------------------- guards
# Refusals inside a source state: the effect itself says no, and the claim of the case is undone.


def test_a_unit_signs_once_a_resident_rates_once_and_one_extension_waits_at_a_time(world, png_bytes):
    case = case_in(world, S.HANDLING, png=png_bytes)
    n = case.number
    act(world, n, Action.ASSIST_SIGN, "assistant")
    refuse(world, n, BY_ACTION[Action.ASSIST_SIGN], Step(), "assistant", WrongState)
    act(world, n, Action.REQUEST_EXTENSION, "handler", reason="材料未到", minutes=60)
    refuse(
        world, n, BY_ACTION[Action.REQUEST_EXTENSION], Step(reason="再延", minutes=60), "handler", WrongState
    )
    closed = case_in(world, S.CLOSED, png=png_bytes)
    act(world, closed.number, Action.EVALUATE, "resident", rating="basic")
    refuse(world, closed.number, BY_ACTION[Action.EVALUATE], Step(rating="satisfied"), "resident", WrongState)


def test_merging_needs_another_open_case_in_sight(world, png_bytes):
    case = case_in(world, S.REGISTERED, png=png_bytes)
    closed = case_in(world, S.REJECTED, png=png_bytes)
    elsewhere = report_case(world, world.other_resident, where=OTHER_TOWN)  # in the other town
    for into in (case.number, closed.number, elsewhere.number, "nonsense"):
        before = snapshot()
        with pytest.raises(Invalid) as exc:
            do_transition(case.number, Action.MERGE, Step(into=into), actor=world.operator)
        assert exc.value.field == "into", into
        assert_unchanged(before, f"merge into {into}")


def test_self_handling_needs_a_photo_from_before(world, png_bytes):
    case = report_case(world, world.specialist, channel="worker_app")
    before = snapshot()
    with pytest.raises(Invalid) as exc:
        do_transition(
            case.number,
            Action.SELF_HANDLE,
            Step(note="已处置", files=[("a.png", png_bytes())]),
            actor=world.specialist,
        )
    assert exc.value.field == "before_files"
    assert_unchanged(before, "self-handling without a photo from before")


def test_a_stale_version_is_a_conflict_and_changes_nothing(world, png_bytes):
    case = case_in(world, S.REGISTERED, png=png_bytes)
    before = snapshot()
    with pytest.raises(Conflict):
        do_transition(
            case.number,
            Action.DISPATCH,
            Step(unit="HW", expected_version=case.version - 1),
            actor=world.operator,
        )
    assert_unchanged(before, "a stale dispatch")


def test_a_returned_unit_still_sees_the_case_but_may_no_longer_act(world, png_bytes):
    case = case_in(world, S.HANDLING, png=png_bytes)
    act(world, case.number, Action.RETURN, "handler", reason="不属于本单位")
    case.refresh_from_db()
    assert case.state == S.REGISTERED and not case.assignments.filter(active=True).exists()
    assert not expected_capacities(world, case, "handler") & {C.LEAD_UNIT, C.ASSIST_UNIT}
    refuse(world, case.number, BY_ACTION[Action.SIGN], Step(), "handler", NotAllowed)
    refuse(world, case.number, BY_ACTION[Action.COMMENT], Step(note="?"), "other_handler", CaseNotFound)
    assert case.assignments.filter(kind=AssignmentKind.LEAD).count() == 1


def test_the_event_names_the_capacity_that_answers_at_the_level(world, make_user):
    """A user holding two capacities of an `at_level` row (an operator of the town who is also the grid's
    specialist) escalates a town-level case as its operator: the event must say so, not the other capacity."""
    from gridgov.accounts.models import RoleAssignment

    both = make_user("both", full_name="both")
    RoleAssignment.objects.create(user=both, role="operator", grid=world.town)
    RoleAssignment.objects.create(user=both, role="grid_specialist", grid=world.grid)
    case = case_in(world, S.REGISTERED)
    assert case.level == 1
    event = do_transition(case.number, Action.ESCALATE, Step(reason="需旗里协调"), actor=both)
    assert event.capacity == C.OPERATOR


def test_the_sweep_escalates_only_where_the_escalate_row_allows(world, png_bytes):
    """The deadline sweep acts as the system: far past a stage's limit it escalates the case one level — as
    the escalate row allows the system to (reported, registered, dispatched, handling), never a handled case
    waiting for its verification."""
    cases = {state: case_in(world, state, png=png_bytes) for state in (S.REPORTED, S.HANDLING, S.HANDLED)}
    levels = {state: case.level for state, case in cases.items()}
    sweep(timezone.now() + dt.timedelta(days=60))
    for state, case in cases.items():
        case.refresh_from_db()
        escalated = case.events.filter(action=Action.ESCALATE).exists()
        assert escalated == (state in BY_ACTION[Action.ESCALATE].sources), state
        assert case.level == levels[state] - escalated, state
        assert case_problems(case) == [], state


def test_an_approved_extension_extends_the_running_clock_or_is_refused(world, png_bytes):
    """Asked for while dispatched, decided after the unit signed: the clock it was asked for has stopped.
    Approving it must move the case's due date, or be refused — not be recorded as approved, extending
    nothing."""
    case = case_in(world, S.DISPATCHED, png=png_bytes)
    act(world, case.number, Action.REQUEST_EXTENSION, "handler", reason="材料未到", minutes=600)
    act(world, case.number, Action.SIGN, "handler")
    due = Case.objects.get(pk=case.pk).due_at
    ext = Extension.objects.get(case=case)
    try:
        act(world, case.number, Action.APPROVE_EXTENSION, "operator", extension=ext.pk)
    except (WrongState, Invalid):
        return
    assert Case.objects.get(pk=case.pk).due_at > due, "approved, yet the due date did not move"


def test_a_closed_case_has_no_extension_request_waiting(world, png_bytes):
    """Nobody can decide an extension request of a closed case (approve and deny need it dispatched or
    handling): none may be left waiting when it closes."""
    case = case_in(world, S.HANDLING, png=png_bytes)
    n = case.number
    act(world, n, Action.REQUEST_EXTENSION, "handler", reason="材料未到", minutes=60)
    act(world, n, Action.FEEDBACK, "handler", note="已清运", files=[("after.png", png_bytes())])
    act(world, n, Action.VERIFY_PASS, "specialist")
    assert Case.objects.get(pk=case.pk).state == S.CLOSED
    assert not Extension.objects.filter(case=case, state=ExtensionState.PENDING).exists()


def test_a_reassigned_case_lets_its_new_unit_ask_for_time(world, png_bytes):
    """The request of a unit the case was taken from lapses like one of a unit that returned it: the new lead
    unit asks for its own time, and the operator decides that one."""
    case = case_in(world, S.HANDLING, png=png_bytes)
    n = case.number
    act(world, n, Action.REQUEST_EXTENSION, "handler", reason="材料未到", minutes=600)
    act(world, n, Action.REASSIGN, "operator", unit="ZF", reason="不属于环卫")
    assert not Extension.objects.filter(case=case, state=ExtensionState.PENDING).exists()
    act(world, n, Action.REQUEST_EXTENSION, "assistant", reason="需要勘察", minutes=60)
    assert Extension.objects.get(case=case, state=ExtensionState.PENDING).requested_by == world.assistant
