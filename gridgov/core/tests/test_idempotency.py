"""The Idempotency-Key replay under real concurrency: a phone that sends the same queued action three times at
once (a flaky network's retries) gets one change and the same answer three times, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.cases.models import CaseEvent, Comment
from gridgov.cases.tests.helpers import case_in
from gridgov.cases.tests.test_concurrency import at_once
from gridgov.core.audit import verify_chain


@pytest.mark.django_db(transaction=True)
def test_one_key_three_times_at_once_is_one_change_and_one_answer(world, png_bytes):
    case = case_in(world, "closed", png=png_bytes)
    path = f"/api/cases/{case.number}/actions/comment"

    def send(i: int):
        client = Client()
        client.force_login(world.resident)
        response = client.post(path, {"note": "修好了，谢谢"}, headers={"Idempotency-Key": "phone-queue-7"})
        return response.status_code, response.content, response.headers.get("Idempotent-Replayed")

    results = at_once(3, send)
    assert [r[0] for r in results] == [200, 200, 200], results
    assert len({r[1] for r in results}) == 1  # the same answer
    assert sorted(str(r[2]) for r in results) == ["None", "true", "true"]
    assert Comment.objects.filter(case=case, text="修好了，谢谢").count() == 1
    assert CaseEvent.objects.filter(case=case, action="comment").count() == 1
    assert verify_chain().broken_at is None
