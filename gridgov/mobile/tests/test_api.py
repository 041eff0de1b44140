"""The phone app's API: sign-in by phone code (consent, wrong and used codes, throttles, CSRF), sign-in with a
password, who am I, the item picker, "already reported nearby?", a grid worker's grid and tasks; and the
Idempotency-Key replay the offline queue relies on."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.models import Case, CaseEvent, Comment
from gridgov.cases.tests.helpers import HERE, case_in, report_case
from gridgov.core.models import AuditRecord, IdempotentResponse
from gridgov.mobile.models import PhoneCode, PhoneIdentity

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def csrf_client() -> Client:
    """A client that sends the CSRF token like the app does."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # any page with a form sets the cookie
    return client


def post(client: Client, path: str, data: dict[str, Any], **headers: str):
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    return client.post(path, data, headers={"X-CSRFToken": token, **headers})


def sent_code(caplog) -> str:
    """The code of the last SMS the default sender wrote to the log."""
    messages = [r.getMessage() for r in caplog.records if r.name == "gridgov.sms"]
    assert messages, "no SMS was sent"
    return re.findall(r"(?<!\d)\d{6}(?!\d)", messages[-1])[-1]


def sign_in_by_phone(client: Client, caplog, phone: str = PHONE) -> dict[str, Any]:
    assert post(client, "/api/mobile/code", {"phone": phone}).status_code == 200
    response = post(
        client, "/api/mobile/verify", {"phone": phone, "code": sent_code(caplog), "consent": "true"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_phone_and_a_code_sign_a_resident_in_without_an_account(caplog, world):
    caplog.set_level("INFO", logger="gridgov.sms")
    client = csrf_client()
    me = sign_in_by_phone(client, caplog)
    assert me["kind"] == "resident" and me["phone"] == "138****5678" and me["roles"] == ["resident"]
    user = User.objects.get(pk=me["id"])
    assert not user.has_usable_password()
    identity = PhoneIdentity.objects.get(user=user)
    assert PHONE.encode() not in bytes(identity.phone_enc)  # encrypted at rest
    actions = set(AuditRecord.objects.filter(actor_id=user.pk).values_list("action", flat=True))
    assert {"mobile.resident_created", "privacy.consent", "login.phone"} <= actions
    # Signed in: the case API takes the resident's report as theirs.
    response = post(
        client,
        "/api/cases/",
        {
            "channel": "resident_app",
            "description": "路灯不亮",
            "item": "011001",
            "lon": HERE[0],
            "lat": HERE[1],
        },
    )
    assert response.status_code == 201, response.content
    assert Case.objects.get(number=response.json()["summary"]["number"]).reporter_id == user.pk
    assert client.get("/api/mobile/me").json()["id"] == user.pk

    # Another phone, another day: the same number signs in to the same resident.
    again = csrf_client()
    PhoneCode.objects.update(created_at=PhoneCode.objects.first().created_at.replace(year=2020))
    assert sign_in_by_phone(again, caplog)["id"] == user.pk
    assert User.objects.filter(phone_identity__isnull=False).count() == 1


def test_the_first_sign_in_needs_consent_and_the_right_code(caplog, world):
    caplog.set_level("INFO", logger="gridgov.sms")
    client = csrf_client()
    assert post(client, "/api/mobile/code", {"phone": PHONE}).status_code == 200
    code = sent_code(caplog)
    no_consent = post(client, "/api/mobile/verify", {"phone": PHONE, "code": code})
    assert no_consent.status_code == 422 and no_consent.json()["field"] == "consent"
    wrong = post(
        client,
        "/api/mobile/verify",
        {"phone": PHONE, "code": "000000" if code != "000000" else "111111", "consent": "true"},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    assert not User.objects.filter(phone_identity__isnull=False).exists()
    assert PhoneCode.objects.get().attempts == 1  # the wrong try counts although the request was refused
    assert (
        post(client, "/api/mobile/verify", {"phone": PHONE, "code": code, "consent": "true"}).status_code
        == 200
    )
    # Used once.
    replay = csrf_client()
    used = post(replay, "/api/mobile/verify", {"phone": PHONE, "code": code, "consent": "true"})
    assert used.status_code == 422 and used.json()["field"] == "code"


def test_wrong_codes_run_out(caplog, world, settings):
    caplog.set_level("INFO", logger="gridgov.sms")
    client = csrf_client()
    post(client, "/api/mobile/code", {"phone": PHONE})
    code = sent_code(caplog)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.MOBILE_CODE_ATTEMPTS):
        post(client, "/api/mobile/verify", {"phone": PHONE, "code": wrong, "consent": "true"})
    late = post(client, "/api/mobile/verify", {"phone": PHONE, "code": code, "consent": "true"})
    assert late.status_code == 422 and late.json()["field"] == "code"
    assert client.get("/api/mobile/me").status_code == 401


def test_codes_are_throttled_and_numbers_checked(caplog, world):
    caplog.set_level("INFO", logger="gridgov.sms")
    client = csrf_client()
    bad = post(client, "/api/mobile/code", {"phone": "12345"})
    assert bad.status_code == 422 and bad.json()["field"] == "phone"
    assert post(client, "/api/mobile/code", {"phone": PHONE}).status_code == 200
    again = post(client, "/api/mobile/code", {"phone": PHONE})
    assert again.status_code == 429 and again.json()["field"] == "phone"
    assert PhoneCode.objects.count() == 1
    # The stored code is an HMAC, never the code.
    assert sent_code(caplog) not in PhoneCode.objects.get().code_hash


def test_sign_in_demands_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/mobile/code", {"phone": PHONE})
    assert response.status_code == 403 and response.json()["code"] == "csrf"
    assert not PhoneCode.objects.exists()


def test_password_sign_in_for_staff_with_their_grid(world):
    client = csrf_client()
    wrong = post(client, "/api/mobile/login", {"username": "spec", "password": "nope"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "password"
    # A NUL can be in no name: refused before sign-in looks at anything (naming it tells nothing of accounts).
    nul = post(client, "/api/mobile/login", {"username": "spec\x00", "password": "x"})
    assert nul.status_code == 422 and nul.json()["field"] == "username"
    me = post(client, "/api/mobile/login", {"username": "spec", "password": "Correct-Horse-9"}).json()
    assert me["kind"] == "staff" and me["can_patrol"] is True
    assert [g["code"] for g in me["grids"]] == [world.grid.code]
    assert post(client, "/api/mobile/logout", {}).status_code == 204
    assert client.get("/api/mobile/me").status_code == 401


def test_catalog_lists_active_items_by_module(world):
    client = Client()
    client.force_login(world.resident)
    modules = client.get("/api/mobile/catalog").json()["modules"]
    assert [m["code"] for m in modules] == sorted(m["code"] for m in modules)
    codes = {i["code"] for m in modules for i in m["items"]}
    assert "011001" in codes and len(codes) > 100


def test_nearby_offers_me_too_before_reporting(world):
    case = case_in(world, "reported")
    client = Client()
    client.force_login(world.other_resident)
    found = client.get("/api/mobile/nearby", {"lon": HERE[0], "lat": HERE[1], "item": "011001"}).json()
    assert [c["number"] for c in found["candidates"]] == [case.number]
    token = found["candidates"][0]["me_too_token"]
    joined = client.post(f"/api/cases/{case.number}/me-too", {"token": token})
    assert joined.status_code == 200 and joined.json()["joined"] is True
    far = client.get("/api/mobile/nearby", {"lon": 109.15, "lat": 40.05, "item": "011001"}).json()
    assert far["candidates"] == []
    bad = client.get("/api/mobile/nearby", {"lon": HERE[0], "lat": HERE[1], "item": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "item"


def test_a_grid_worker_sees_their_grid_and_their_tasks(world, png_bytes):
    handled = case_in(world, "handled", png=png_bytes)
    reported = case_in(world, "reported")
    elsewhere = report_case(world, where=(109.15, 40.05))
    client = Client()
    client.force_login(world.specialist)
    out = client.get("/api/mobile/grid").json()
    assert [g["code"] for g in out["grids"]] == [world.grid.code]
    assert out["grids"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    tasks = {c["number"]: c["task"] for c in out["cases"]}
    assert tasks[handled.number] == "verify" and tasks[reported.number] == "self_handle"
    assert elsewhere.number not in tasks
    resident = Client()
    resident.force_login(world.resident)
    assert resident.get("/api/mobile/grid").status_code == 403


def test_the_grid_costs_the_same_queries_however_many_cases(world, django_assert_max_num_queries):
    for _ in range(3):
        case_in(world, "reported")
    client = Client()
    client.force_login(world.specialist)
    client.get("/api/mobile/grid")
    with django_assert_max_num_queries(8):
        assert client.get("/api/mobile/grid").status_code == 200


# ------------------------------------------------------------------------------------------ idempotency


def test_a_repeated_post_with_the_same_key_is_answered_once(world, png_bytes):
    case = case_in(world, "closed", png=png_bytes)
    client = Client()
    client.force_login(world.resident)
    path = f"/api/cases/{case.number}/actions/comment"
    first = client.post(path, {"note": "谢谢"}, headers={"Idempotency-Key": "k-1"})
    second = client.post(path, {"note": "谢谢"}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert second.content == first.content
    assert Comment.objects.filter(case=case, text="谢谢").count() == 1
    assert CaseEvent.objects.filter(case=case, action="comment").count() == 1
    kept = bytes(IdempotentResponse.objects.get(key="k-1").body)
    assert case.number.encode() not in kept and "谢谢".encode() not in kept  # encrypted at rest
    # The key is the caller's: another request under it is refused, another user has keys of their own.
    other = client.post(
        f"/api/cases/{case.number}/actions/evaluate",
        {"rating": "satisfied"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422 and other.json()["field"] == "idempotency_key"


def test_a_refused_post_is_not_kept_so_a_retry_runs(world, png_bytes):
    case = case_in(world, "closed", png=png_bytes)
    client = Client()
    client.force_login(world.resident)
    path = f"/api/cases/{case.number}/actions/comment"
    refused = client.post(path, {"note": ""}, headers={"Idempotency-Key": "k-2"})
    assert refused.status_code == 422
    assert not IdempotentResponse.objects.filter(key="k-2").exists()
    ok = client.post(path, {"note": "好的"}, headers={"Idempotency-Key": "k-2"})
    assert ok.status_code == 200 and "Idempotent-Replayed" not in ok.headers


def test_sign_in_state_does_not_leak_between_users(world, png_bytes):
    """A kept answer belongs to its user: another user's same key runs their own request."""
    case = case_in(world, "closed", png=png_bytes)
    a, b = Client(), Client()
    a.force_login(world.resident)
    b.force_login(world.operator)
    path = f"/api/cases/{case.number}/actions/comment"
    a.post(path, {"note": "一"}, headers={"Idempotency-Key": "same"})
    response = b.post(path, {"note": "二"}, headers={"Idempotency-Key": "same"})
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert set(Comment.objects.filter(case=case).values_list("text", flat=True)) >= {"一", "二"}
    assert RoleAssignment.objects.filter(user=world.resident).exists()


def test_the_reporter_unmasking_is_never_replayed(world, png_bytes):
    """Its answer is personal data and each look is audited: the key does not keep it."""
    case = case_in(world, "registered", png=png_bytes, reporter="phone")
    client = Client()
    client.force_login(world.operator)
    path = f"/api/cases/{case.number}/reporter/unmask"
    for _ in range(2):
        response = client.post(path, headers={"Idempotency-Key": "look"})
        assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert not IdempotentResponse.objects.filter(key="look").exists()
    assert AuditRecord.objects.filter(action__contains="unmask", object_id=str(case.pk)).count() == 2


def test_a_new_code_replaces_the_earlier_one_and_old_codes_are_forgotten(caplog, world):
    from gridgov.core import housekeeping

    caplog.set_level("INFO", logger="gridgov.sms")
    client = csrf_client()
    post(client, "/api/mobile/code", {"phone": PHONE})
    first = sent_code(caplog)
    PhoneCode.objects.update(created_at=PhoneCode.objects.get().created_at - dt.timedelta(minutes=2))
    assert post(client, "/api/mobile/code", {"phone": PHONE}).status_code == 200
    second = sent_code(caplog)
    if first != second:
        old = post(client, "/api/mobile/verify", {"phone": PHONE, "code": first, "consent": "true"})
        assert old.status_code == 422 and old.json()["field"] == "code"
    assert (
        post(client, "/api/mobile/verify", {"phone": PHONE, "code": second, "consent": "true"}).status_code
        == 200
    )
    PhoneCode.objects.update(created_at=PhoneCode.objects.first().created_at - dt.timedelta(days=2))
    housekeeping.run()  # what `gridgov sweep` runs on each pass
    assert not PhoneCode.objects.exists()
