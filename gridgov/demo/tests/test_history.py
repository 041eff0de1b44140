"""The demo county's history: every state and channel, and a record the case services could have written —
valid paths through the transition table, contiguous events, consistent clocks, counters and audit chain."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import pairwise

import pytest
from django.db import transaction
from django.utils import timezone

from gridgov.accounts.models import User
from gridgov.cases.choices import OPEN_STATES, Action, Capacity, Card, Channel, ExtensionState, State
from gridgov.cases.models import (
    Assignment,
    Case,
    CaseCounter,
    CaseEvent,
    Deadline,
    Extension,
    Supervision,
    Supporter,
)
from gridgov.cases.services import CARD_RANK, STAGE_OF, Report, do_report, do_transition
from gridgov.cases.sweep import SweepReport, sweep
from gridgov.cases.workflow import BY_ACTION, PREVIOUS, RESPONSIBLE_AT_LEVEL
from gridgov.core.audit import verify_chain
from gridgov.core.calendar import TZ, add_working_time, working_time_between
from gridgov.core.models import AuditRecord
from gridgov.demo.config import DemoConfig
from gridgov.demo.history import HISTORY_DAYS, _Clock, seed_history
from gridgov.demo.seed import seed_demo
from gridgov.grids.locator import locate

# A working Thursday morning (Asia/Shanghai), so that the fixed-time tests do not depend on the clock.
NOW = dt.datetime(2026, 11, 26, 10, 17, tzinfo=TZ)
CLOCKED = frozenset(OPEN_STATES) - {State.SUSPENDED}


def check_history(now: dt.datetime) -> dict[str, int]:
    """Everything a history must hold, checked on whatever cases the database has. Returns counts."""
    cases = {c.pk: c for c in Case.objects.all()}
    assert cases
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for e in CaseEvent.objects.order_by("case_id", "seq"):
        events[e.case_id].append(e)
    clocks: dict[int, list[Deadline]] = defaultdict(list)
    for d in Deadline.objects.order_by("case_id", "id"):
        clocks[d.case_id].append(d)
    active: dict[int, list[Assignment]] = defaultdict(list)
    for a in Assignment.objects.filter(active=True):
        active[a.case_id].append(a)
    supporters = Counter(Supporter.objects.values_list("case_id", flat=True))
    pending = Counter(
        Extension.objects.filter(state=ExtensionState.PENDING).values_list("case_id", flat=True)
    )
    supervisions = Counter(Supervision.objects.values_list("case_id", flat=True))

    # Every state, every channel.
    assert set(Counter(c.state for c in cases.values())) == set(State.values)
    assert set(Counter(c.channel for c in cases.values())) == set(Channel.values)

    for pk, case in cases.items():
        evs = events[pk]
        where = f"{case.number} {[e.action for e in evs]}"
        # Events: seq 1..n, the version is the last one, time never runs backwards.
        assert [e.seq for e in evs] == list(range(1, len(evs) + 1)), where
        assert case.version == len(evs), where
        assert all(a.created_at <= b.created_at for a, b in pairwise(evs)), where
        assert evs[0].created_at == case.created_at and evs[-1].created_at == case.updated_at, where
        assert evs[-1].created_at <= now, where

        # A valid path through the transition table, starting with the report.
        first = evs[0]
        assert (first.action, first.from_state, first.to_state) == (Action.REPORT, "", State.REPORTED), where
        state: str = State.REPORTED
        level, suspended_from = first.level, ""
        counts: Counter[str] = Counter()
        rating = ""
        strongest = ""
        for e in evs[1:]:
            assert e.from_state == state, where
            counts[e.action] += 1
            if e.action == Action.MERGE and "merged" in e.data:
                # The surviving case of a merge records it without changing state.
                assert e.to_state == state and state in OPEN_STATES, where
                continue
            t = BY_ACTION[e.action]
            assert state in t.sources, where
            if e.capacity == Capacity.SYSTEM:
                assert e.actor_id is None and Capacity.SYSTEM in t.who, where
            else:
                assert e.capacity in t.who and e.actor_id is not None, where
            if t.at_level:
                assert e.capacity in (RESPONSIBLE_AT_LEVEL[level], Capacity.SYSTEM), where
            if t.target is None:
                expected = state
            elif t.target == PREVIOUS:
                expected = suspended_from
            elif e.action == Action.VERIFY_FAIL:
                expected = e.to_state if e.to_state in (t.target, t.target_without_unit) else t.target
            else:
                expected = t.target
            assert e.to_state == expected, where
            if e.action == Action.SUSPEND:
                suspended_from = state
            if e.action == Action.ESCALATE:
                assert (e.data["from_level"], e.data["to_level"]) == (level, level - 1) == (level, e.level), (
                    where
                )
            if e.action == Action.EVALUATE:
                rating = e.data["rating"]
            if e.action == Action.DISPUTE:
                rating = ""  # the verdict is the dispute's; the case may be rated again once closed
            if e.action == Action.SUPERVISE:
                card = e.data["card"]
                strongest = card if CARD_RANK[card] > CARD_RANK[strongest] else strongest
            state, level = e.to_state, e.level
        assert case.state == state and case.level == level, where

        # The case's counters are its events'.
        system = [e for e in evs if e.action == Action.SUPERVISE and e.capacity == Capacity.SYSTEM]
        assert case.returns == counts[Action.RETURN] and case.reworks == counts[Action.VERIFY_FAIL], where
        assert case.supervised == counts[Action.SUPERVISE] == supervisions[pk], where
        assert case.overdue == bool(system) and case.card == strongest, where
        assert case.disputed == counts[Action.DISPUTE] and case.rating == rating, where
        assert case.supporters_count == supporters[pk], where

        # Clocks: one per stage entered; the running one is the case's.
        running = [d for d in clocks[pk] if d.done_at is None]
        for d in clocks[pk]:
            assert d.started_at <= d.warn_at <= d.due_at <= d.escalate_at, where
            if d.done_at is not None:
                assert d.met == (d.done_at <= d.due_at), where
        if case.state in CLOCKED:
            assert len(running) == 1, where
            d = running[0]
            assert d.paused_at is None and d.stage == case.stage == STAGE_OF[case.state], where
            assert (d.warn_at, d.due_at) == (case.warn_at, case.due_at), where
            assert d.noticed == (d.due_at < now and any(e.data.get("stage") == d.stage for e in system)), (
                where
            )
        elif case.state == State.SUSPENDED:
            assert len(running) == 1 and running[0].paused_at is not None, where
            assert case.due_at is None and case.warn_at is None and case.suspended_from, where
        else:
            assert not running and case.due_at is None and case.stage == "", where
            assert case.closed_at is not None, where
        if case.state == State.CLOSED:
            assert case.resolved_level is not None, where
        if case.state == State.MERGED:
            assert case.merged_into_id in cases, where
        if case.state in (State.DISPATCHED, State.HANDLING):
            leads = [a for a in active[pk] if a.kind == "lead"]
            assert len(leads) == 1 and leads[0].department_id == case.lead_department_id, where
        if case.state == State.CLOSED:
            assert not active[pk], where
        assert pending[pk] <= (1 if case.state in (State.DISPATCHED, State.HANDLING, State.HANDLED) else 0), (
            where
        )
        if case.lon is not None and case.lat is not None:
            assert locate(case.lon, case.lat).grid_id == case.grid_id, where

    # Numbers: one sequence per local day, each counter at its day's last number.
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for case in cases.values():
        stamp, seq = case.number.split("-")
        assert re.fullmatch(r"\d{8}", stamp) and stamp == f"{timezone.localtime(case.created_at):%Y%m%d}"
        by_day[dt.datetime.strptime(stamp, "%Y%m%d").date()].append(int(seq))
    counters = dict(CaseCounter.objects.values_list("day", "last"))
    for day, seqs in by_day.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), day
        assert counters[day] == len(seqs), day
    # Numbers follow the order of reporting within a day, as `next_number` gives them.
    ordered = sorted(cases.values(), key=lambda c: (c.created_at, c.pk))
    assert [c.pk for c in ordered] == sorted(cases)

    # One audit record per event, the chain intact.
    n_events = sum(len(v) for v in events.values())
    assert AuditRecord.objects.filter(object_type="cases.case").count() == n_events
    assert verify_chain().broken_at is None
    return {"cases": len(cases), "events": n_events}


@pytest.mark.django_db
def test_the_small_demo_county_has_a_history_in_every_state_and_channel():
    report = seed_demo(DemoConfig.small())
    now = timezone.now()
    assert report.history is not None and report.history.cases == DemoConfig.small().cases
    counts = check_history(now)
    assert counts["cases"] == DemoConfig.small().cases
    assert AuditRecord.objects.filter(action="demo.seed", data__cases=counts["cases"]).exists()

    # Six months of it, and what the pages need to show.
    first = Case.objects.order_by("created_at").first()
    assert first.created_at >= now - dt.timedelta(days=HISTORY_DAYS + 120)
    assert Case.objects.filter(created_at__lt=now - dt.timedelta(days=HISTORY_DAYS - 30)).exists()
    open_cases = Case.objects.filter(state__in=CLOCKED)
    assert open_cases.filter(due_at__lte=now).exists(), "some open cases are overdue"
    assert open_cases.filter(warn_at__lte=now, due_at__gt=now).exists(), "some are due soon"
    assert open_cases.filter(warn_at__gt=now).exists(), "some are in time"
    for state in CLOCKED:
        assert Case.objects.filter(state=state, created_at__gte=now - dt.timedelta(days=60)).exists(), state
    closed = Case.objects.filter(state=State.CLOSED)
    assert closed.filter(resolved_level=3, events__action=Action.SELF_HANDLE).exists()  # settled in the grid
    assert closed.filter(resolved_level=2, events__action=Action.SELF_HANDLE).exists()  # in the village
    assert closed.filter(rating="satisfied").count() > closed.exclude(rating="").count() / 2
    assert Supervision.objects.filter(by__isnull=True, card=Card.YELLOW).exists()
    assert Extension.objects.filter(state=ExtensionState.PENDING, case__state=State.HANDLING).exists()
    for action in (Action.ACCEPT, Action.DISPATCH, Action.SIGN, Action.FEEDBACK, Action.VERIFY_PASS):
        assert CaseEvent.objects.filter(action=action).exists(), action


@pytest.mark.django_db
def test_a_full_history_has_every_path():
    """A bigger history at a fixed instant: the rarer paths (returns, reworks, extensions, suspensions, red
    cards, disputes, merges with supporters) all appear, and the record still holds together."""
    config = DemoConfig.small()
    seed_demo(replace(config, cases=0))
    report = seed_history(config, now=NOW, count=3000)
    assert report.cases == 3000
    check_history(NOW)
    actions = set(CaseEvent.objects.values_list("action", flat=True))
    rare = {Action.RETURN, Action.REASSIGN, Action.VERIFY_FAIL, Action.REQUEST_EXTENSION}
    rare |= {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION, Action.SUSPEND, Action.RESUME, Action.DISPUTE}
    rare |= {Action.ESCALATE, Action.ASSIST_SIGN, Action.ASSIST_FEEDBACK, Action.EVALUATE, Action.MERGE}
    assert rare <= actions, rare - actions
    assert Supervision.objects.filter(card=Card.RED, by__isnull=False).exists()
    assert Supporter.objects.filter(from_case__isnull=False).exists()
    assert Extension.objects.filter(state=ExtensionState.APPROVED).exists()
    shares = Counter(Case.objects.values_list("channel", flat=True))
    assert 0.38 < shares[Channel.WORKER_APP] / 3000 < 0.52
    assert 0.14 < shares[Channel.RESIDENT_APP] / 3000 < 0.26

    # The services and the sweep carry on from it: the sweep finds every late clock already noticed and
    # escalated, a new report takes the day's next number, an open case takes its next step.
    assert sweep(now=NOW) == SweepReport(0, 0)
    today = Case.objects.filter(number__startswith=f"{NOW:%Y%m%d}-").count()
    operator = User.objects.get(username="operator")  # the banner's centre
    new = do_report(
        Report(
            Channel.HOTLINE,
            "路灯不亮",
            item="031005",
            grid=Case.objects.first().grid.code,
            reporter_phone="13800000000",
        ),
        actor=operator,
        now=NOW + dt.timedelta(minutes=1),
    ).case
    assert new.number == f"{NOW:%Y%m%d}-{today + 1:04d}" and new.pk == Case.objects.order_by("-id")[1].pk + 1
    waiting = Case.objects.filter(state=State.REPORTED).order_by("id").first()
    event = do_transition(waiting, Action.ACCEPT, actor=operator, now=NOW + dt.timedelta(minutes=2))
    waiting.refresh_from_db()
    assert event.seq == waiting.version == CaseEvent.objects.filter(case=waiting).count()
    assert verify_chain().broken_at is None


@pytest.mark.django_db
def test_the_same_seed_and_instant_give_the_same_history():
    config = DemoConfig.small()
    seed_demo(replace(config, cases=0))

    def fingerprint() -> list[tuple]:
        cases = list(
            Case.objects.order_by("id").values_list(
                "id", "number", "state", "channel", "item_id", "grid_id", "lon", "lat", "description",
                "created_at", "closed_at", "due_at", "reporter_id",
            )
        )  # fmt: skip
        events = list(CaseEvent.objects.order_by("id").values_list("case_id", "seq", "action", "created_at"))
        return cases + events

    prints = []
    for _ in range(2):
        with transaction.atomic():
            seed_history(config, now=NOW, count=300)
            prints.append(fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1]
    with transaction.atomic():
        seed_history(config.with_seed(8), now=NOW, count=300)
        assert fingerprint() != prints[0]
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_history_clock_is_the_working_calendar():
    """The simulator's working-time arithmetic is `add_working_time` / `working_time_between`."""
    today = NOW.date()
    clock = _Clock(today - dt.timedelta(days=400), today + dt.timedelta(days=400))
    rng = random.Random(3)
    for _ in range(3000):
        start = NOW + dt.timedelta(seconds=rng.randrange(-300 * 86400, 30 * 86400))
        start += dt.timedelta(microseconds=rng.randrange(10**6))
        minutes = rng.choice([5, 15, 30, 60, 240, 420, 2100, 6300]) * rng.choice([0.8, 1, 1.5])
        duration = dt.timedelta(minutes=minutes)
        expected = add_working_time(start, duration)
        p = clock.pos(start) + duration // dt.timedelta(microseconds=1)
        assert clock.wall(p) == expected, start
        assert clock.text(p) == str(expected.replace(tzinfo=None)), start  # what SQLite stores
        other = start + dt.timedelta(seconds=rng.randrange(0, 20 * 86400))
        between = working_time_between(start, other)
        assert clock.pos(other) - clock.pos(start) == between // dt.timedelta(microseconds=1)
