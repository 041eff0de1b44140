"""Sign-in codes asked for at the same moment, on real concurrent connections (SQLite or PostgreSQL): the
throttles hold, so one SMS goes out."""

from __future__ import annotations

import pytest

from gridgov.cases.errors import CaseError
from gridgov.cases.tests.test_concurrency import at_once
from gridgov.mobile.models import PhoneCode
from gridgov.mobile.phone import request_code


@pytest.mark.django_db(transaction=True)
def test_three_sends_at_once_for_one_number_send_one_code():
    results = at_once(3, lambda i: request_code("13812345678", ip=f"10.0.0.{i}"))
    sent = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, CaseError)]
    assert len(sent) == 1 and len(refused) == 2, results
    assert all(r.status == 429 for r in refused)
    assert PhoneCode.objects.count() == 1
