"""Real concurrent connections: two operators dispatching at once, one idempotency key sent three times at once,
several sweeps at once. Runs on the test database's engine (SQLite file in WAL mode, or PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from gridgov.cases.choices import Action, Channel
from gridgov.cases.errors import CaseError
from gridgov.cases.models import Case, CaseEvent, Deadline, Supervision
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.cases.sweep import sweep
from gridgov.core.audit import verify_chain

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def at_once(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) on n threads released together, each with its own database connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # collected, asserted by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_operators_dispatching_the_same_case_at_once_one_wins(world):
    case = do_report(
        Report(
            Channel.HOTLINE, "垃圾箱倒了", item="011001", lon=109.01, lat=40.05, reporter_phone="13800001111"
        ),
        actor=world.operator,
    ).case
    do_transition(case, Action.ACCEPT, actor=world.operator)
    units = ["HW", "ZF"]
    ops = [world.operator, world.banner_operator]
    results = at_once(
        2, lambda i: do_transition(case.number, Action.DISPATCH, Step(unit=units[i]), actor=ops[i])
    )
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], CaseError), results
    assert lost[0].status == 409
    assert CaseEvent.objects.filter(case=case, action=Action.DISPATCH).count() == 1
    assert case.assignments.filter(active=True, kind="lead").count() == 1
    assert verify_chain().broken_at is None


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_three_times_at_once_makes_one_case(world):
    def send(i: int):
        r = Report(
            Channel.RESIDENT_APP,
            "井盖丢了",
            item="011001",
            lon=109.01,
            lat=40.05,
            idempotency_key="same-key-1",
        )
        return do_report(r, actor=world.resident).case.pk

    results = at_once(3, send)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1 and Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_several_sweeps_at_once_notice_and_escalate_each_case_once(world):
    numbers = [
        do_report(
            Report(Channel.RESIDENT_APP, f"第{i}个问题", item="011001", lon=109.001 + i * 0.002, lat=40.05),
            actor=world.resident,
            now=T0,
        ).case.number
        for i in range(12)
    ]
    later = T0 + dt.timedelta(days=30)  # past every register deadline and its escalation threshold
    results = at_once(3, lambda i: sweep(later, batch=5))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.noticed for r in results) == 12 and sum(r.escalated for r in results) == 12
    assert Supervision.objects.count() == 12
    assert set(Case.objects.values_list("level", flat=True)) == {2}  # grid → village, once
    again = sweep(later)
    assert again.noticed == 0 and again.escalated == 0
    assert Deadline.objects.filter(noticed=True).count() == 12
    for number in numbers:
        seqs = list(CaseEvent.objects.filter(case__number=number).values_list("seq", flat=True))
        assert seqs == [1, 2, 3]
    assert verify_chain().broken_at is None
    assert connection.vendor in ("sqlite", "postgresql")
