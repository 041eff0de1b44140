"""The signed alarm webhook: a valid alarm becomes one case with its snapshot as evidence; a forged, stale,
replayed or unreadable call is refused with a clear status and creates nothing."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from django.test import Client
from PIL import Image

from gridgov.cases.choices import Action, Channel, EvidencePhase, ReporterKind, State
from gridgov.cases.models import Case, CaseEvent, Evidence
from gridgov.command import alarms
from gridgov.command.alarms import do_create_alarm_source, signature, signed_headers
from gridgov.command.cameras import CameraInput, do_save_camera
from gridgov.command.models import AlarmReceipt, AlarmSource, CameraKind
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord

URL = "/api/command/alarms"


def jpeg() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(buf, format="JPEG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def setup(world):
    camera = do_save_camera(
        CameraInput(
            name="一号路口",
            code="CAM-1",
            kind=CameraKind.GB28181,
            channel_id="15062100001310000001",
            hls_url="http://video.example.local/live/CAM-1.m3u8",
            lon=109.01,
            lat=40.05,
        ),
        actor=world.banner_operator,
    )
    source, secret = do_create_alarm_source(
        actor=None,
        code="ai-video",
        name="视频智能分析平台",
        kind="video",
        mapping={"litter": world.item.code},
        default_lon=109.012,
        default_lat=40.051,
    )
    return world, camera, source, secret.encode()


def counts() -> tuple[int, ...]:
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        AuditRecord.objects.count(),
        Evidence.objects.count(),
        AlarmReceipt.objects.count(),
    )


def send(body: bytes, headers: dict[str, str]):
    # A platform has no session and no CSRF token: the signature is its only credential.
    return Client(enforce_csrf_checks=True).post(
        URL, data=body, content_type="application/json", headers=headers
    )


def alarm(event_id: str = "evt-1", **extra) -> bytes:
    return json.dumps({"event_id": event_id, "type": "litter", "camera": "CAM-1", **extra}).encode()


def test_a_valid_alarm_becomes_one_case_with_its_snapshot(setup):
    world, camera, source, secret = setup
    body = alarm(snapshot=jpeg(), description="垃圾满溢")
    response = send(body, signed_headers("ai-video", secret, body))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["created"] is True and answer["joined"] is False
    case = Case.objects.get(number=answer["case"])
    assert case.channel == Channel.VIDEO and case.state == State.REPORTED
    assert case.item_id == world.item.pk and case.grid_id == camera.grid_id
    assert (case.lon, case.lat) == (camera.lon, camera.lat)
    assert case.reporter_kind == ReporterKind.MACHINE and case.reporter_id == source.account_id
    assert "垃圾满溢" in case.description and camera.name in case.description
    event = CaseEvent.objects.get(case=case)
    assert event.action == Action.REPORT and event.actor_id == source.account_id
    photo = Evidence.objects.get(case=case)
    assert photo.phase == EvidencePhase.REPORT
    receipt = AlarmReceipt.objects.get(source=source, event_id="evt-1")
    assert receipt.case_id == case.pk and receipt.camera_id == camera.pk
    report = verify_chain()
    assert report.broken_at is None and report.checked > 0


def test_the_same_alarm_twice_is_one_case_and_the_replay_is_refused(setup):
    _, _, _, secret = setup
    body = alarm()
    first = send(body, signed_headers("ai-video", secret, body))
    assert first.status_code == 201
    before = counts()
    again = send(body, signed_headers("ai-video", secret, body))
    assert again.status_code == 409
    assert again.json()["code"] == "replayed" and again.json()["case"] == first.json()["case"]
    assert counts() == before


def test_another_alarm_of_the_same_thing_joins_the_open_case(setup):
    _, _, _, secret = setup
    one, two = alarm("a"), alarm("b")
    first = send(one, signed_headers("ai-video", secret, one)).json()
    second = send(two, signed_headers("ai-video", secret, two)).json()
    assert second == {"case": first["case"], "created": False, "joined": True}
    assert Case.objects.count() == 1


def test_hmac_sm3_signatures_are_accepted(setup):
    _, _, _, secret = setup
    body = alarm("sm3")
    stamp = str(int(time.time()))
    headers = {
        alarms.SOURCE_HEADER: "ai-video",
        alarms.TIMESTAMP_HEADER: stamp,
        alarms.SIGNATURE_HEADER: signature(secret, stamp, body, "hmac-sm3"),
    }
    assert send(body, headers).status_code == 201


def forged(secret: bytes, body: bytes) -> dict[str, str]:
    return signed_headers("ai-video", b"not-the-secret", body)


def tampered(secret: bytes, body: bytes) -> dict[str, str]:
    return signed_headers("ai-video", secret, body.replace(b"evt-1", b"evt-9"))


def stale(secret: bytes, body: bytes) -> dict[str, str]:
    return signed_headers("ai-video", secret, body, at=time.time() - alarms.MAX_SKEW_SECONDS - 5)


def future(secret: bytes, body: bytes) -> dict[str, str]:
    return signed_headers("ai-video", secret, body, at=time.time() + alarms.MAX_SKEW_SECONDS + 5)


def unknown(secret: bytes, body: bytes) -> dict[str, str]:
    return signed_headers("no-such-source", secret, body)


def unsigned(secret: bytes, body: bytes) -> dict[str, str]:
    headers = signed_headers("ai-video", secret, body)
    del headers[alarms.SIGNATURE_HEADER]
    return headers


def no_timestamp(secret: bytes, body: bytes) -> dict[str, str]:
    headers = signed_headers("ai-video", secret, body)
    headers[alarms.TIMESTAMP_HEADER] = "yesterday"
    return headers


@pytest.mark.parametrize(
    ("headers_of", "code"),
    [
        (forged, "bad_signature"),
        (tampered, "bad_signature"),
        (unsigned, "bad_signature"),
        (stale, "stale"),
        (future, "stale"),
        (no_timestamp, "bad_timestamp"),
        (unknown, "unknown_source"),
    ],
)
def test_forged_stale_and_unknown_calls_are_refused_and_create_nothing(setup, headers_of, code):
    _, _, _, secret = setup
    body = alarm(snapshot=jpeg())
    before = counts()
    response = send(body, headers_of(secret, body))
    assert response.status_code == 401
    assert response.json()["code"] == code and response.json()["message"]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"type": "litter", "camera": "CAM-1"}).encode(), "event_id"),
        (alarm(type="earthquake"), "type"),
        (alarm(camera="CAM-404"), "camera"),
        (alarm(camera="", lon=120.0, lat=30.0), "lon"),
        (alarm(snapshot="not base64!"), "snapshot"),
        (alarm(snapshot=base64.b64encode(b"<svg onload=alert(1)>").decode()), "snapshot"),
    ],
)
def test_a_signed_but_bad_body_is_refused_naming_the_field(setup, body, field):
    _, _, _, secret = setup
    before = counts()
    response = send(body, signed_headers("ai-video", secret, body))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert counts() == before


def test_an_inactive_source_is_refused(setup):
    _, _, source, secret = setup
    source.active = False
    source.save()
    body = alarm()
    before = counts()
    assert send(body, signed_headers("ai-video", secret, body)).status_code == 401
    assert counts() == before


def test_the_secret_is_stored_encrypted(setup):
    _, _, source, secret = setup
    source.refresh_from_db()
    assert secret not in bytes(source.secret_enc)
    assert alarms.secret_of(source) == secret


def test_the_system_administrator_adds_a_source_and_sees_its_secret_once(world, make_user):
    admin = make_user("sysadmin", is_staff=True, admin_duty="system")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/command/alarmsource/add/",
        {
            "code": "water",
            "name": "水位监测",
            "kind": "iot",
            "mapping": '{"high_water": "022009"}',
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    source = AlarmSource.objects.get(code="water")
    shown = [str(m) for m in response.context["messages"]]
    secret = alarms.secret_of(source).decode()
    assert any(secret in m for m in shown)
    assert source.account.is_staff and not source.account.has_usable_password()
    assert AuditRecord.objects.filter(action="command.alarm_source_added", object_id=str(source.pk)).exists()
    # A mapping to an item that does not exist is refused, naming the field.
    bad = client.post(
        "/admin/command/alarmsource/add/",
        {"code": "bad", "name": "x", "kind": "iot", "mapping": '{"a": "999999"}', "active": "on"},
    )
    assert bad.status_code == 200 and "mapping" in bad.context["adminform"].form.errors
    assert not AlarmSource.objects.filter(code="bad").exists()
    # Nobody else opens the page.
    assert Client().get("/admin/command/alarmsource/").status_code == 302


def test_a_body_over_the_size_limit_is_refused(setup, settings):
    _, _, _, secret = setup
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = alarm(description="x" * 2000)
    before = counts()
    response = send(body, signed_headers("ai-video", secret, body))
    assert response.status_code == 400  # Django refuses it before any view reads it
    assert counts() == before
