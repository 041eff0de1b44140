"""Random sequences of workflow actions, by anybody, with plausible and sometimes bad fields, while the clock
runs and the deadline sweep passes: each step succeeds as the transition table says or is refused with a
`CaseError` changing nothing, and every case keeps its invariants — one current state, every step an event
with its audit record, the running clock matching the case, a valid audit chain.

The database is rolled back only after the whole test: the machine works on the cases it reports itself."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gridgov.cases.choices import Action, ExtensionState, State
from gridgov.cases.errors import CaseError, Conflict
from gridgov.cases.models import Case, CaseEvent, Extension
from gridgov.cases.services import Report, allowed_actions, do_me_too, do_report, do_transition
from gridgov.cases.sweep import sweep
from gridgov.cases.workflow import BY_ACTION, PREVIOUS, TABLE

from .helpers import (
    BAD,
    MISSING,
    T0,
    USER_NAMES,
    case_problems,
    chain_problems,
    snapshot,
    step_for,
)

pytestmark = pytest.mark.django_db

ACTIONS = [t.action for t in TABLE]
# Places in grid g, its neighbour grid, the other village and the other town.
PLACES = [(109.01, 40.05), (109.035, 40.05), (109.06, 40.05), (109.15, 40.05)]
# Who reports, and through which channel.
REPORTERS = [
    ("resident", "resident_app"),
    ("other_resident", "resident_app"),
    ("specialist", "worker_app"),
    ("operator", "hotline"),
    (None, "hotline"),
]
ACTORS = [*USER_NAMES, None]
# The usual way round the loop, and actions that leave the case where it is (offered on nearly every case,
# they would crowd out the others).
AHEAD = frozenset({Action.ACCEPT, Action.DISPATCH, Action.SIGN, Action.FEEDBACK, Action.VERIFY_PASS})
SIDE_ACTIONS = frozenset({Action.COMMENT, Action.SUPERVISE, Action.ESCALATE, Action.ASSIST_SIGN})
# What the runs did, printed at the end (pytest -s): a sampler that never gets anywhere tests little.
TALLY: Counter[str] = Counter()


def tally(what: str) -> None:
    TALLY[what] += 1


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Workflow(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self, world: Any, png: Any) -> None:
        super().__init__()
        self.world = world
        self.png = png
        self.now = T0
        self.numbers: list[str] = []

    # ------------------------------------------------------------------------------------------ intake

    def _report(self, who: str | None, channel: str, where: tuple[float, float], photo: bool) -> Any:
        report = Report(
            channel=channel,
            description="井盖松动",
            item="011001",
            lon=where[0],
            lat=where[1],
            reporter_phone="13800001111" if channel == "hotline" else "",
            files=[("report.png", self.png())] if photo else (),
            force=True,
        )
        actor = getattr(self.world, who) if who else None
        try:
            case = do_report(report, actor=actor, now=self.now).case
        except CaseError:
            return multiple()
        self.numbers.append(case.number)
        return case.number

    @initialize(target=cases)
    def first_report(self) -> Any:
        tally("runs")
        return self._report("resident", "resident_app", PLACES[0], True)

    @precondition(lambda self: len(self.numbers) < 5)
    @rule(
        target=cases,
        reporter=st.sampled_from(REPORTERS),
        where=st.sampled_from(PLACES),
        photo=st.booleans(),
    )
    def report(self, reporter: tuple[str | None, str], where: tuple[float, float], photo: bool) -> Any:
        return self._report(reporter[0], reporter[1], where, photo)

    @rule(number=cases, who=st.sampled_from(["resident", "other_resident", "operator", None]))
    def me_too(self, number: str, who: str | None) -> None:
        case = Case.objects.get(number=number)
        before = snapshot()
        try:
            do_me_too(
                case, actor=getattr(self.world, who) if who else None, phone="13900002222", now=self.now
            )
        except CaseError:
            assert snapshot() == before, "a refused me-too changed something"

    # ------------------------------------------------------------------------------------------ workflow

    def _step(self, data: Any, action: str, number: str) -> Any:
        """The fields the action needs, plausible; now and then one of them left out or bad, or a stale
        version."""
        t = BY_ACTION[action]
        others = [n for n in self.numbers if n != number]
        into = data.draw(st.sampled_from([*others, "20991231-9999"]), label="into") if others else number
        pending = Extension.objects.filter(case__number=number, state=ExtensionState.PENDING).first()
        step = step_for(t, self.png, into=into, extension=pending.pk if pending else 1)
        if t.requires and data.draw(st.integers(0, 5), label="spoil") == 0:
            name = data.draw(st.sampled_from(sorted(t.requires)), label="spoiled field")
            change, _ = data.draw(st.sampled_from([MISSING[name], BAD[name]]), label="how")
            for key, value in change.items():
                setattr(step, key, value)
        if data.draw(st.integers(0, 19), label="stale") == 0:
            step.expected_version = Case.objects.get(number=number).version - 1
        return step

    def _act(self, number: str, action: str, who: str | None, data: Any) -> None:
        t = BY_ACTION[action]
        step = self._step(data, action, number)
        before = Case.objects.get(number=number)
        has_unit = before.assignments.filter(active=True, kind="lead").exists()
        snap = snapshot()
        try:
            event = do_transition(
                number, action, step, actor=getattr(self.world, who) if who else None, now=self.now
            )
        except CaseError as exc:
            tally(f"refused: {type(exc).__name__}")
            if isinstance(exc, Conflict):
                # One user at a time: only a stale version conflicts.
                assert step.expected_version is not None, f"{action} by {who}: {exc!r}"
            assert str(exc), f"{action} by {who}: a refusal without a message"
            after = snapshot()
            changed = [key for key in snap if snap[key] != after[key]]
            assert not changed, f"refused {action} on {before.state} by {who} ({exc!r}) changed {changed}"
            return
        tally(f"done: {action}")
        after = Case.objects.get(number=number)
        what = f"{action} on {before.state} by {who}"
        assert (event.action, event.seq, after.version) == (action, before.version + 1, before.version + 1), (
            what
        )
        assert event.from_state == before.state and event.to_state == after.state, what
        if t.target is None:
            assert after.state == before.state, what
        elif t.target == PREVIOUS:
            assert after.state == before.suspended_from, what
        elif t.target_without_unit and not has_unit:
            assert after.state == t.target_without_unit, what
        else:
            assert after.state == t.target, what

    @rule(number=cases, action=st.sampled_from(ACTIONS), who=st.sampled_from(ACTORS), data=st.data())
    def anybody_tries_anything(self, number: str, action: str, who: str | None, data: Any) -> None:
        self._act(number, action, who, data)

    def _move_on(self, number: str, data: Any) -> None:
        """What the workbench would offer somebody as a button: the case moves on."""
        case = Case.objects.select_related("grid").get(number=number)
        offers = [
            (who, action)
            for who in ACTORS
            for action in allowed_actions(getattr(self.world, who) if who else None, case)
        ]
        if offers:
            actions = sorted({a for _, a in offers})
            way = data.draw(st.sampled_from(["ahead", "onward", "any"]), label="way")
            ahead = [a for a in actions if a in AHEAD]
            onward = [a for a in actions if a not in SIDE_ACTIONS]
            if way == "ahead" and ahead:
                actions = ahead
            elif way in ("ahead", "onward") and onward:
                actions = onward
            action = data.draw(st.sampled_from(actions), label="action")
            who = data.draw(st.sampled_from([w for w, a in offers if a == action]), label="who")
            self._act(number, action, who, data)

    @rule(number=cases, data=st.data())
    def somebody_does_what_they_may(self, number: str, data: Any) -> None:
        self._move_on(number, data)

    @rule(number=cases, data=st.data())
    def somebody_else_does_what_they_may(self, number: str, data: Any) -> None:
        self._move_on(number, data)

    # ------------------------------------------------------------------------------------------ time

    @rule(minutes=st.sampled_from([10, 90, 420, 1440, 4320, 14400]), sweep_after=st.booleans())
    def time_passes(self, minutes: int, sweep_after: bool) -> None:
        """The clock runs; the deadline sweep may pass (notices, escalations by the system)."""
        self.now += dt.timedelta(minutes=minutes)
        if sweep_after:
            done = sweep(self.now)
            if done.noticed or done.escalated:
                tally(f"swept: {done.noticed} noticed, {done.escalated} escalated")

    # ------------------------------------------------------------------------------------------ invariants

    @invariant()
    def every_case_keeps_its_invariants(self) -> None:
        problems = []
        for case in Case.objects.filter(number__in=self.numbers):
            problems += case_problems(case)
        assert problems == []

    @invariant()
    def the_audit_chain_holds(self) -> None:
        assert chain_problems() == []

    @invariant()
    def every_event_is_of_a_known_action_and_state(self) -> None:
        events = CaseEvent.objects.filter(case__number__in=self.numbers)
        assert set(events.values_list("action", flat=True)) <= {*ACTIONS, Action.REPORT, Action.ME_TOO}
        assert set(events.values_list("to_state", flat=True)) <= set(State.values)


def test_random_workflows_keep_every_invariant(world, png_bytes):
    TALLY.clear()
    run_state_machine_as_test(
        lambda: Workflow(world, png_bytes),
        settings=settings(
            max_examples=int(os.environ.get("GRIDGOV_EXAMPLES", "20")),
            stateful_step_count=50,
            deadline=None,
            database=None,
            # More runs on demand (GRIDGOV_EXAMPLES=500). Shrinking a run of database steps takes minutes: on demand only (GRIDGOV_SHRINK=1). A failure
            # prints its steps and its seed (pytest --hypothesis-seed=… replays it).
            phases=[
                Phase.explicit,
                Phase.generate,
                *([Phase.shrink] if os.environ.get("GRIDGOV_SHRINK") else []),
            ],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    states = Counter(Case.objects.values_list("state", flat=True))
    print("\nsteps:", sorted(TALLY.items()), "\ncases by state:", sorted(states.items()))
