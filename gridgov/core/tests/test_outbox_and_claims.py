"""The plain-SQL writes of every change: the live event (written in the change's transaction, announced after its
commit with its stored id), the audit entry (chained exactly as `record_many` chains), and the idempotency claim
(one statement; a refusal keeps nothing, so the same key runs again)."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.test import Client

from gridgov.cases.models import Comment
from gridgov.cases.tests.helpers import case_in
from gridgov.core import audit, outbox
from gridgov.core.models import AuditHead, AuditRecord, IdempotentResponse, OutboxEvent


@pytest.mark.django_db(transaction=True)
def test_a_live_event_is_stored_in_the_transaction_and_announced_after_its_commit():
    heard: list[OutboxEvent] = []

    def listen(sender, event, **kwargs):
        heard.append(event)

    outbox.live_event.connect(listen)
    try:
        with transaction.atomic():
            outbox.publish("case.report", {"case": 7, "number": "20261127-0001"}, grid_l1_id=3)
            assert heard == []  # not before the commit
        with transaction.atomic():
            outbox.publish("case.report", {"case": 8}, grid_l1_id=3)
            transaction.set_rollback(True)
    finally:
        outbox.live_event.disconnect(listen)
    stored = OutboxEvent.objects.get()  # the rolled-back one is neither stored nor announced
    assert [e.pk for e in heard] == [stored.pk]
    assert heard[0].payload == stored.payload == {"case": 7, "number": "20261127-0001"}
    assert heard[0].topic == stored.topic == "case.report" and stored.grid_l1_id == 3


@pytest.mark.django_db(transaction=True)
def test_single_and_batched_audit_entries_make_one_chain():
    with transaction.atomic():
        audit.record("test.one", data={"i": 1}, ip="2001:0db8:0000:0000:0000:0000:0000:0001", success=False)
    with transaction.atomic():
        audit.record_many([audit.Entry("test.many", data={"i": i}) for i in range(3)])
    with transaction.atomic():
        audit.record("test.two", data={"when": "now"}, ip="10.0.0.2")
    records = list(AuditRecord.objects.order_by("id"))
    assert [r.action for r in records] == ["test.one", "test.many", "test.many", "test.many", "test.two"]
    assert records[0].ip == "2001:db8::1" and records[0].success is False  # stored as it was hashed
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert AuditHead.objects.get(pk=1).last_hash == records[-1].hash
    assert audit.verify_chain().broken_at is None and audit.verify_chain().checked == 5


@pytest.mark.django_db
def test_a_refused_request_keeps_no_claim_and_the_same_key_runs_again(world, png_bytes):
    case = case_in(world, "closed", png=png_bytes)
    path = f"/api/cases/{case.number}/actions/comment"
    c = Client()
    c.force_login(world.resident)
    refused = c.post(path, {"note": ""}, headers={"Idempotency-Key": "again-1"})
    assert refused.status_code == 422 and refused.json()["field"] == "note"
    assert not IdempotentResponse.objects.filter(key="again-1").exists()
    ok = c.post(path, {"note": "谢谢"}, headers={"Idempotency-Key": "again-1"})
    assert ok.status_code == 200 and "Idempotent-Replayed" not in ok.headers
    kept = IdempotentResponse.objects.get(key="again-1")
    assert kept.status == 200 and kept.path == path and kept.content_type.startswith("application/json")
    replay = c.post(path, {"note": "谢谢"}, headers={"Idempotency-Key": "again-1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == ok.content
    assert Comment.objects.filter(case=case, text="谢谢").count() == 1
