"""The case API through Django's test client: intake, duplicates and "me too", a case's whole loop through the
action endpoint, lists and queues per role, scope (404), refusals (403/409/422) in one error shape, evidence
without metadata, the audited unmasking of the reporter, and the inbox."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from gridgov.cases.models import Case
from gridgov.core.models import AuditRecord, IdempotentResponse

pytestmark = pytest.mark.django_db
API = "/api/cases/"
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files in a temporary directory; no triage model unless a test trains one."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TRIAGE_MODEL_PATH = tmp_path / "triage.model"
    return tmp_path


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(client: Client, **fields: Any):
    data = {
        "channel": "resident_app",
        "description": "垃圾箱满了没人清运",
        "item": "011001",
        "lon": "109.01",
        "lat": "40.05",
        "reporter_phone": PHONE,
    }
    data.update({k: v for k, v in fields.items() if v is not None})
    return client.post(API, data)


def act(client: Client, number: str, action: str, **fields: Any):
    return client.post(f"{API}{number}/actions/{action}", fields)


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 30)).save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def upload(name: str, data: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and body["detail"] == body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body


# ------------------------------------------------------------------------------------------------- intake


def test_anonymous_calls_answer_401_in_the_error_shape(world):
    assert_error(Client().get(API), 401, "unauthorized")
    assert_error(Client().get(f"{API}queues"), 401, "unauthorized")


def test_a_post_without_the_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.resident)
    assert_error(report(client), 403, "csrf")
    assert Case.objects.count() == 0


def test_intake_creates_the_case_and_the_same_key_returns_it(world, png_bytes):
    client = as_user(world.resident)
    response = report(client, idempotency_key="app-key-1", files=[upload("a.png", png_bytes(), "image/png")])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True and body["joined"] is False
    assert body["case"]["state"] == "reported" and body["case"]["colour"] == "green"
    case = client.get(f"{API}{body['case']['number']}").json()
    assert case["state"] == "reported" and case["grid"]["code"] == world.grid.code
    assert case["item"]["code"] == "011001" and case["routed_department"]["code"] == "HW"
    assert case["colour"] == "green" and case["due_at"].endswith("+08:00")
    assert case["reporter"]["phone"] == "138****5678"  # the reporter sees their own report masked
    assert [e["phase"] for e in case["evidence"]] == ["report"]
    assert [e["action"] for e in case["events"]] == ["report"]

    again = report(client, idempotency_key="app-key-1")
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["summary"]["number"] == case["number"]
    assert Case.objects.count() == 1
    # The key can also come as a header.
    header = client.post(
        API,
        {"description": "路灯不亮", "item": "011001", "lon": "109.06", "lat": "40.05"},
        headers={"Idempotency-Key": "app-key-2"},
    )
    assert header.status_code == 201
    replay = client.post(
        API,
        {"description": "路灯不亮", "item": "011001", "lon": "109.06", "lat": "40.05"},
        headers={"Idempotency-Key": "app-key-2"},
    )
    # The header is the case's own key too (IDEMPOTENCY_OWN_KEY): the first case again, nothing kept beside it.
    assert replay.status_code == 200 and replay.json()["created"] is False
    assert "Idempotent-Replayed" not in replay.headers
    assert replay.json()["summary"]["number"] == header.json()["summary"]["number"]
    assert Case.objects.filter(idempotency_key="app-key-2").count() == 1
    assert not IdempotentResponse.objects.filter(key="app-key-2").exists()


def test_bad_intake_names_the_field(world):
    client = as_user(world.resident)
    assert_error(report(client, description="  "), 422, "invalid", "description")
    assert_error(report(client, lon="120.0"), 422, "invalid", "lon")
    assert_error(report(client, item="999999"), 422, "invalid", "item")
    # Parsing errors use the same shape, naming the first bad field.
    body = assert_error(report(client, lat="north"), 422, "invalid", "lat")
    assert body["errors"][0]["loc"] == ["form", "lat"]
    body = assert_error(client.post(API, {"item": "011001"}), 422, "invalid", "description")
    assert body["errors"][0]["type"] == "missing"
    assert Case.objects.count() == 0


def test_a_duplicate_is_offered_and_me_too_joins_it(world, make_user):
    first = report(as_user(world.resident)).json()["case"]
    other = as_user(world.other_resident)
    response = report(other, lon="109.0102", lat="40.0501")  # ~20 m away
    body = assert_error(response, 409, "already_reported", "item")
    [candidate] = body["candidates"]
    assert candidate["number"] == first["number"] and 0 < candidate["distance_m"] < 50
    assert candidate["excerpt"] == "垃圾箱满了没人清运" and candidate["supporters_count"] == 0

    # Before joining, the other resident does not see the case.
    assert other.get(f"{API}{first['number']}").status_code == 404
    # The token is bound to the resident it was offered to.
    stranger = as_user(make_user("res3"))
    stranger_try = stranger.post(f"{API}{first['number']}/me-too", {"token": candidate["me_too_token"]})
    assert_error(stranger_try, 404, "not_found")
    assert_error(other.post(f"{API}{first['number']}/me-too"), 404, "not_found")

    joined = other.post(f"{API}{first['number']}/me-too", {"token": candidate["me_too_token"]})
    assert joined.status_code == 200, joined.content
    assert joined.json() == {
        "number": first["number"],
        "state": "reported",
        "state_label": joined.json()["state_label"],
        "supporters_count": 1,
        "joined": True,
    }
    # Saying it twice changes nothing; now a supporter, they follow the case.
    again = other.post(f"{API}{first['number']}/me-too")
    assert again.status_code == 200 and again.json()["supporters_count"] == 1
    seen = other.get(f"{API}{first['number']}").json()
    assert seen["reporter"] is None  # a supporter never sees who reported
    assert all(e["actor"] in (None, "res2") for e in seen["events"])

    forced = report(other, lon="109.0102", lat="40.0501", force="true")
    assert forced.status_code == 201 and forced.json()["case"]["number"] != first["number"]


# ------------------------------------------------------------------------------------------------- workflow


def test_a_case_goes_round_the_loop_through_the_action_endpoint(world, png_bytes):
    resident, operator = as_user(world.resident), as_user(world.operator)
    handler, specialist = as_user(world.handler), as_user(world.specialist)
    number = report(resident).json()["case"]["number"]

    seen = operator.get(f"{API}{number}").json()
    assert {a["action"] for a in seen["actions"]} >= {"accept", "reject", "merge", "comment"}
    assert {a["action"]: a["requires"] for a in seen["actions"]}["reject"] == ["reason"]
    assert seen["reporter"] == {"kind": "resident", "kind_label": seen["reporter"]["kind_label"],
                                "name": "王*明", "phone": "138****5678"}  # fmt: skip

    r = act(operator, number, "accept", expected_version=seen["version"])
    assert r.status_code == 200 and r.json()["state"] == "registered" and r.json()["level"] == 1
    # The handler sees nothing before the dispatch.
    assert handler.get(f"{API}{number}").status_code == 404
    r = act(operator, number, "dispatch", unit="HW", assisting=["ZF"])
    assert r.status_code == 200 and r.json()["state"] == "dispatched"
    assert {(a["department"]["code"], a["kind"]) for a in r.json()["assignments"]} == {
        ("HW", "lead"),
        ("ZF", "assist"),
    }
    assert r.json()["lead_department"]["code"] == "HW"

    seen = handler.get(f"{API}{number}").json()
    assert [a["action"] for a in seen["actions"]] == ["sign", "return", "request_extension", "comment"]
    assert seen["reporter"] is None  # departments never see who reported
    r = act(handler, number, "sign")
    assert r.status_code == 200 and r.json()["state"] == "handling"
    feedback = handler.post(
        f"{API}{number}/actions/feedback",
        {"note": "已清运", "files": [upload("after.png", png_bytes((0, 0, 200)), "image/png")]},
    )
    assert feedback.status_code == 200, feedback.content
    assert feedback.json()["state"] == "handled"
    assert [e["phase"] for e in feedback.json()["evidence"]] == ["after"]

    r = act(specialist, number, "verify_pass")
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_at"]
    r = act(resident, number, "evaluate", rating="satisfied")
    assert r.status_code == 200 and r.json()["rating"] == "satisfied"
    detail = r.json()
    assert [e["action"] for e in detail["events"]] == [
        "report", "accept", "dispatch", "sign", "feedback", "verify_pass", "evaluate",
    ]  # fmt: skip
    assert [d["stage"] for d in detail["deadlines"]] == ["register", "dispatch", "sign", "handle", "verify"]
    assert all(d["met"] for d in detail["deadlines"]) and detail["colour"] == ""
    assert {a["action"] for a in detail["actions"]} <= {"evaluate", "dispute", "comment"}
    assert_error(act(resident, number, "evaluate", rating="basic"), 409, "wrong_state")


def test_refusals_answer_403_404_409_and_422_in_one_shape(world):
    number = report(as_user(world.resident)).json()["case"]["number"]
    operator, specialist = as_user(world.operator), as_user(world.specialist)

    # Outside the caller's scope the case does not exist.
    for user in (world.other_operator, world.other_handler, world.other_resident):
        assert_error(as_user(user).get(f"{API}{number}"), 404, "not_found")
        assert_error(act(as_user(user), number, "accept"), 404, "not_found")
    assert_error(operator.get(f"{API}20990101-0001"), 404, "not_found")
    # Seen, but not theirs to do.
    assert_error(act(specialist, number, "accept"), 403, "not_allowed")
    assert_error(act(as_user(world.resident), number, "dispatch", unit="HW"), 403, "not_allowed")
    # Not in this state.
    assert_error(act(operator, number, "dispatch", unit="HW"), 409, "wrong_state")
    # Changed meanwhile.
    assert_error(act(operator, number, "accept", expected_version=99), 409, "conflict")
    # A required field, named.
    assert_error(act(operator, number, "reject"), 422, "invalid", "reason")
    assert_error(act(operator, number, "reject", reason="   "), 422, "invalid", "reason")
    # An action that does not exist, and a bad value of a known field.
    assert_error(act(operator, number, "teleport"), 422, "invalid", "action")
    assert_error(act(operator, number, "supervise", card="blue", reason="x"), 422, "invalid", "card")
    assert Case.objects.get(number=number).version == 1  # nothing changed


# ------------------------------------------------------------------------------------------------- lists


def test_lists_and_queues_follow_the_role(world):
    resident = as_user(world.resident)
    first = report(resident).json()["case"]["number"]
    second = report(resident, lon="109.06", lat="40.05", description="路灯不亮").json()["case"]["number"]
    operator, handler = as_user(world.operator), as_user(world.handler)

    page = operator.get(API).json()
    assert [c["number"] for c in page["items"]] == [second, first] and page["has_more"] is False
    first_page = operator.get(API, {"limit": 1}).json()
    assert [c["number"] for c in first_page["items"]] == [second] and first_page["has_more"] is True
    rest = operator.get(API, {"limit": 1, "before": first_page["next_before"]}).json()
    assert [c["number"] for c in rest["items"]] == [first] and rest["has_more"] is False
    assert operator.get(API, {"state": ["reported", "closed"]}).json()["items"]
    assert operator.get(API, {"state": "closed"}).json()["items"] == []
    assert [c["number"] for c in operator.get(API, {"q": "路灯"}).json()["items"]] == [second]
    assert [c["number"] for c in operator.get(API, {"phone": PHONE}).json()["items"]] == [second, first]
    assert [c["number"] for c in operator.get(API, {"grid": world.grid.code}).json()["items"]] == [first]
    assert operator.get(API, {"item": "011001", "channel": "resident_app"}).json()["items"]
    assert operator.get(API, {"since": "2000-01-01", "until": "2999-12-31"}).json()["items"]
    assert_error(operator.get(API, {"phone": "12"}), 422, "invalid", "phone")
    assert_error(operator.get(API, {"state": "lost"}), 422, "invalid", "state")
    assert_error(operator.get(API, {"limit": 1000}), 422, "invalid", "limit")

    counts = {q["name"]: q["count"] for q in operator.get(f"{API}queues").json()}
    assert counts["to_accept"] == 2 and counts["to_sign"] == 0 and set(counts) == {
        "to_accept", "to_dispatch", "to_sign", "handling", "to_verify", "due_soon", "overdue", "supervised",
    }  # fmt: skip
    queue = operator.get(f"{API}queues/to_accept").json()
    assert [c["number"] for c in queue["items"]] == [second, first]

    assert handler.get(API).json()["items"] == []
    act(operator, first, "accept")
    act(operator, first, "dispatch", unit="HW")
    counts = {q["name"]: q["count"] for q in handler.get(f"{API}queues").json()}
    assert counts["to_sign"] == 1 and counts["handling"] == 0
    assert [c["number"] for c in handler.get(f"{API}queues/to_sign").json()["items"]] == [first]
    assert [c["number"] for c in handler.get(API, {"queue": "to_sign"}).json()["items"]] == [first]
    act(handler, first, "sign")
    counts = {q["name"]: q["count"] for q in handler.get(f"{API}queues").json()}
    assert counts["to_sign"] == 0 and counts["handling"] == 1
    assert_error(handler.get(f"{API}queues/nowhere"), 422, "invalid", "name")


# ------------------------------------------------------------------------------------------------- evidence


def test_evidence_is_served_without_metadata_and_only_in_scope(world):
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()  # the upload does carry EXIF
    resident = as_user(world.resident)
    number = report(resident, files=[upload("photo.jpg", original, "image/jpeg")]).json()["case"]["number"]
    created = resident.get(f"{API}{number}").json()
    [ev] = created["evidence"]
    assert ev["content_type"] == "image/jpeg"
    operator = as_user(world.operator)
    response = operator.get(ev["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    data = b"".join(response.streaming_content)
    assert data != original and not Image.open(io.BytesIO(data)).getexif()
    assert b"PhoneMaker" not in data

    assert_error(as_user(world.other_operator).get(ev["url"]), 404, "not_found")
    assert_error(as_user(world.other_resident).get(ev["url"]), 404, "not_found")
    assert_error(operator.get(f"{API}{created['number']}/evidence/999999"), 404, "not_found")


# ------------------------------------------------------------------------------------------------- reporter


def test_unmasking_the_reporter_is_for_operators_and_audited(world):
    number = report(as_user(world.resident)).json()["case"]["number"]
    url = f"{API}{number}/reporter/unmask"
    assert_error(as_user(world.specialist).post(url), 403, "not_allowed")
    assert_error(as_user(world.other_operator).post(url), 404, "not_found")
    assert not AuditRecord.objects.filter(action="case.unmask_reporter").exists()

    response = as_user(world.operator).post(url)
    assert response.status_code == 200
    assert response.json() == {
        "kind": "resident",
        "kind_label": response.json()["kind_label"],
        "name": "王小明",
        "phone": PHONE,
    }
    record = AuditRecord.objects.get(action="case.unmask_reporter")
    assert record.actor_id == world.operator.pk and record.object_id == str(
        Case.objects.get(number=number).pk
    )


# ------------------------------------------------------------------------------------------------- inbox


def test_the_inbox_lists_and_marks_read(world):
    resident = as_user(world.resident)
    number = report(resident).json()["case"]["number"]
    act(as_user(world.operator), number, "accept")
    inbox = resident.get(f"{API}inbox").json()
    assert inbox["unread_count"] == 1 and inbox["has_more"] is False
    [note] = inbox["items"]
    assert note["kind"] == "accepted" and note["case"] == number and number in note["text"]
    assert note["read_at"] is None

    marked = resident.post(f"{API}inbox/read", {"all": True}, content_type="application/json").json()
    assert marked == {"marked": 1, "unread_count": 0}
    assert resident.get(f"{API}inbox", {"unread": "true"}).json()["items"] == []
    again = resident.post(f"{API}inbox/read", {"ids": [note["id"]]}, content_type="application/json")
    assert again.json() == {"marked": 0, "unread_count": 0}
    # Somebody else's notification is never theirs to mark.
    other = as_user(world.other_resident)
    assert other.get(f"{API}inbox").json()["items"] == []


# ------------------------------------------------------------------------------------------------- triage


def test_triage_suggests_items_with_their_department_for_operators(world, monkeypatch):
    from gridgov.cases import triage

    calls = []

    def suggest(text: str, *, limit: int = 3) -> list[triage.Suggestion]:
        calls.append((text, limit))
        return [triage.Suggestion(world.item.pk, 0.91234), triage.Suggestion(10**9, 0.05)]

    monkeypatch.setattr(triage, "suggest", suggest)
    response = as_user(world.operator).get(f"{API}triage", {"text": "垃圾桶满了", "limit": 2})
    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "item": {"code": "011001", "name": world.item.name},
            "department": {"code": "HW", "name": world.hw.name},
            "confidence": 0.9123,
        }
    ]  # an item that no longer exists is left out
    assert calls == [("垃圾桶满了", 2)]
    assert_error(as_user(world.specialist).get(f"{API}triage", {"text": "x"}), 403, "not_allowed")
    assert_error(as_user(world.operator).get(f"{API}triage"), 422, "invalid", "text")


def test_without_a_model_triage_suggests_nothing(world):
    assert as_user(world.operator).get(f"{API}triage", {"text": "垃圾桶满了"}).json() == []


def test_a_supervision_reaches_the_lead_unit(world):
    number = report(as_user(world.resident)).json()["case"]["number"]
    operator = as_user(world.operator)
    act(operator, number, "accept")
    act(operator, number, "dispatch", unit="HW")
    response = act(operator, number, "supervise", card="yellow", reason="三天未签收")
    assert response.status_code == 200 and response.json()["supervised"] == 1
    inbox = as_user(world.handler).get(f"{API}inbox").json()
    assert "supervision" in {n["kind"] for n in inbox["items"]}
