"""A flaky network sends the same call several times at once: real concurrent connections, on the test
database's engine (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from django.utils import timezone

from gridgov.cases.duplicates import distance_m
from gridgov.cases.tests.test_concurrency import at_once
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord
from gridgov.fieldwork.models import Patrol
from gridgov.fieldwork.services import do_add_track, do_end_patrol, do_start_patrol

from .helpers import IN_G, ms


@pytest.mark.django_db(transaction=True)
def test_one_check_in_sent_three_times_at_once_is_one_patrol(crew):
    key = uuid.uuid4()
    t0 = timezone.now() - dt.timedelta(hours=1)
    results = at_once(3, lambda i: do_start_patrol(crew.specialist, key, t0, *IN_G))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, False, True]
    assert len({r.patrol.pk for r in results}) == 1
    assert Patrol.objects.count() == 1
    assert AuditRecord.objects.filter(action="patrol.start").count() == 1

    ends = at_once(3, lambda i: do_end_patrol(key, crew.specialist, t0 + dt.timedelta(minutes=i + 1)))
    assert not [r for r in ends if isinstance(r, Exception)], ends
    assert len({r.ended_at for r in ends}) == 1
    assert AuditRecord.objects.filter(action="patrol.end").count() == 1
    assert verify_chain().broken_at is None


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_store_each_point_once(crew):
    t0 = timezone.now() - dt.timedelta(hours=1)
    key = do_start_patrol(crew.specialist, uuid.uuid4(), t0, *IN_G).patrol.key
    fixes = [[109.01 + i * 0.001, 40.05, ms(t0 + dt.timedelta(minutes=i + 1)), 5] for i in range(6)]
    batches = [fixes[:4], fixes[2:], fixes]
    results = at_once(3, lambda i: do_add_track(key, crew.specialist, batches[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    patrol = Patrol.objects.get(key=key)
    assert [p[2] for p in patrol.track] == [p[2] for p in fixes]
    assert patrol.points == 6
    along = sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(fixes))
    assert patrol.distance_m == pytest.approx(along)


@pytest.mark.django_db(transaction=True)
def test_a_failed_inspection_sent_three_times_at_once_opens_one_case(field):
    from gridgov.cases.models import Case
    from gridgov.fieldwork.models import InspectionTask
    from gridgov.fieldwork.services import do_complete_task, do_create_plan, do_generate_tasks

    checklist = [{"code": "pressure", "text": "压力表指针在绿区"}]
    do_create_plan(
        actor=field.crew.l2head,
        name="年检",
        item="021001",
        grid="150621100200",
        every_days=365,
        checklist=checklist,
    )
    do_generate_tasks()
    task = InspectionTask.objects.get(component=field.ext)
    key = uuid.uuid4()
    results = at_once(
        3, lambda i: do_complete_task(task, {"pressure": "not_ok"}, actor=field.crew.specialist, key=key)
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, False, True]
    assert Case.objects.count() == 1
    assert {r.task.case_number for r in results} == {Case.objects.get().number}
    assert AuditRecord.objects.filter(action="inspection_task.complete").count() == 1
    assert verify_chain().broken_at is None
