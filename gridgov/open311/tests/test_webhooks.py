"""Outbound webhooks against a real local HTTP server: signed deliveries of the chosen case events, retried with
backoff while the subscriber fails, and the delivery log in the workbench."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.cases.choices import Action, Channel
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.core.models import AuditRecord
from gridgov.open311 import webhooks
from gridgov.open311.models import Delivery, DeliveryState
from gridgov.open311.services import do_create_subscriber

pytestmark = pytest.mark.django_db


class Receiver:
    """A subscriber: records what it gets, answers with the statuses it is told (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _report(world, description="路灯不亮"):
    return do_report(
        Report(
            channel=Channel.HOTLINE,
            description=description,
            item="011001",
            lon=109.01,
            lat=40.05,
            reporter_phone="13800138000",
            reporter_name="王小明",
            force=True,
        ),
        actor=world.operator,
    ).case


def test_signed_deliveries_of_the_chosen_events(world, receiver, settings, client):
    made = do_create_subscriber("城管APP", receiver.url, ["case.report", "case.accept"], actor=world.operator)
    secret = made.secret.encode()
    assert AuditRecord.objects.filter(action="open311.webhook_create").count() == 1
    case = _report(world)
    do_transition(case, Action.ACCEPT, actor=world.operator)
    do_transition(case, Action.DISPATCH, Step(unit="HW"), actor=world.operator)
    call_command("deliver_webhooks", "--once", "--timeout", "5")
    assert len(receiver.received) == 2  # dispatch was not chosen
    topics = []
    for headers, body in receiver.received:
        timestamp = headers["x-gridgov-timestamp"]
        expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["x-gridgov-signature"] == f"sha256={expected}"
        assert abs(int(timestamp) - timezone.now().timestamp()) < 60
        assert headers["content-type"] == "application/json; charset=utf-8"
        payload = json.loads(body)
        assert payload["service_request_id"] == case.number and payload["status"] == "open"
        assert headers["x-gridgov-event"] == payload["topic"]
        # No personal data in what leaves.
        assert "13800138000" not in body.decode() and "王小明" not in body.decode()
        topics.append(payload["topic"])
    assert topics == ["case.report", "case.accept"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    # A second pass sends nothing again.
    call_command("deliver_webhooks", "--once")
    assert len(receiver.received) == 2
    # The delivery log in the workbench.
    client.force_login(world.operator)
    page = client.get(f"/open311/keys/webhooks/{made.subscriber.pk}/")
    assert (
        page.status_code == 200 and page.content.decode().count('class="delivery-row state-delivered"') == 2
    )
    client.force_login(world.resident)
    assert client.get(f"/open311/keys/webhooks/{made.subscriber.pk}/").status_code == 404


def test_failures_are_retried_with_backoff_then_given_up(world, receiver):
    made = do_create_subscriber("失败的订阅者", receiver.url, [], actor=world.operator)
    receiver.statuses = [500, 503]
    _report(world)
    now = timezone.now()
    assert webhooks.collect(now) == 1
    assert webhooks.deliver_due(now) == (0, 1)
    d = Delivery.objects.get(subscriber=made.subscriber)
    assert d.state == DeliveryState.PENDING and d.attempts == 1 and d.last_status == 500
    assert d.next_attempt_at == now + timedelta(seconds=30)
    assert webhooks.deliver_due(now + timedelta(seconds=10)) == (0, 0)  # not due yet
    assert webhooks.deliver_due(now + timedelta(seconds=31)) == (0, 1)
    d.refresh_from_db()
    assert d.attempts == 2 and d.next_attempt_at == now + timedelta(seconds=31) + timedelta(seconds=60)
    assert webhooks.deliver_due(now + timedelta(seconds=100)) == (1, 0)
    d.refresh_from_db()
    assert d.state == DeliveryState.DELIVERED and d.attempts == 3
    # Every attempt carried the same delivery id (receivers drop repeats by it).
    assert {h["x-gridgov-delivery"] for h, _ in receiver.received} == {str(d.pk)}
    # A subscriber that never answers is given up after MAX_ATTEMPTS.
    receiver.close()
    _report(world, "第二个")
    later = now + timedelta(hours=1)
    webhooks.collect(later)
    for i in range(webhooks.MAX_ATTEMPTS):
        webhooks.deliver_due(later + timedelta(days=i), timeout=1)
    last = Delivery.objects.exclude(pk=d.pk).get()
    assert last.state == DeliveryState.FAILED and last.attempts == webhooks.MAX_ATTEMPTS and last.last_error


def test_subscriber_input_is_checked(world):
    from gridgov.core.errors import Invalid

    for name, url, events, field in (
        ("", "http://x.cn/", [], "name"),
        ("a", "ftp://x.cn/", [], "url"),
        ("a", "http://x.cn/", ["case.nope"], "events"),
    ):
        with pytest.raises(Invalid) as refused:
            do_create_subscriber(name, url, events, actor=world.operator)
        assert refused.value.field == field
