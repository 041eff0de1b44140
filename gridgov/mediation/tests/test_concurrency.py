"""Several people at once, on real concurrent connections (SQLite in WAL mode, or PostgreSQL): intakes of one day
get distinct numbers in sequence; one case taken to mediation twice at once makes one dispute. (A stale copy of
a dispute cannot overwrite a newer state: test_refusals.)"""

from __future__ import annotations

import pytest

from gridgov.cases.models import Comment
from gridgov.cases.tests.helpers import report_case
from gridgov.cases.tests.test_concurrency import at_once
from gridgov.core.audit import verify_chain
from gridgov.mediation import services
from gridgov.mediation.models import Dispute

from .conftest import T0
from .helpers import receive


@pytest.mark.django_db(transaction=True)
def test_intakes_at_once_get_distinct_numbers(med):
    results = at_once(4, lambda i: receive(med, now=T0).number)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"T20261125-{n:04d}" for n in range(1, 5)]
    assert verify_chain().broken_at is None


@pytest.mark.django_db(transaction=True)
def test_one_case_taken_to_mediation_twice_at_once_is_one_dispute(med):
    case = report_case(med.w, item="072001", description="楼上漏水，邻居吵起来了")
    results = at_once(3, lambda i: services.do_open_from_case(case.pk, actor=med.w.specialist))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, False, True]
    assert len({r.dispute.pk for r in results}) == 1
    assert Dispute.objects.count() == 1
    assert Comment.objects.filter(case=case).count() == 1
    assert verify_chain().broken_at is None
