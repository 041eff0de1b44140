"""The mediation API: a dispute through every step as the phone and other clients call it (JSON bodies), the
answers' shapes, the refusals (404 out of scope, 403 for readers, 409 out of step, 422 naming the field, and the
issue's three: a party with an invalid ID number, a session before the dispute was received, an agreement without
parties — each changing nothing), the offline queue's idempotency (the same session or visit sent twice is
recorded once), `GET /mine` for a mediator's phone, the figures, committees and mediators, and the PDFs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.cases.tests.helpers import report_case
from gridgov.mediation import services
from gridgov.mediation.models import FollowUp, Party, Session

from .helpers import bad_id_number, id_number, mediate, receive, snapshot, two_parties

pytestmark = pytest.mark.django_db

API = "/api/mediation"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict, key: str = "", method: str = "post"):
    headers = {"Idempotency-Key": key} if key else {}
    call = getattr(client, method)
    return call(f"{API}{path}", json.dumps(body), content_type="application/json", headers=headers)


def refused(response, status: int, field: str = "") -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["code"] and body["message"] and body["detail"] == body["message"]
    if field:
        assert body["field"] == field, body
    return body


def now_text(delta: dt.timedelta = dt.timedelta()) -> str:
    return (timezone.localtime() + delta).isoformat()


def new_dispute_body(**fields) -> dict:
    body = {
        "kind": "neighbours",
        "title": "邻居漏水纠纷",
        "description": "楼上漏水导致楼下墙面受损。",
        "grid": "150621100200001",
        "amount": "3000",
        "risk": "high",
        "parties": two_parties(),
    }
    body.update(fields)
    return body


def test_a_dispute_through_every_step(med):
    w = med.w
    spec = as_user(w.specialist)
    response = post(spec, "/disputes", new_dispute_body())
    assert response.status_code == 201, response.content[:500]
    d = response.json()
    number = d["number"]
    assert (d["state"], d["level"], d["risk"], d["state_kind"], d["amount"]) == (
        "received",
        3,
        "high",
        "open",
        "3000.00",
    )
    assert d["may_act"] is True and len(d["parties"]) == 2
    assert d["parties"][0]["id_number"] == "150621********111" + d["parties"][0]["id_number"][-1]
    assert id_number(serial="111") not in response.content.decode()
    assert d["events"][0]["action"] == "received"

    listed = spec.get(f"{API}/disputes", {"risk": "high", "state": "open"}).json()
    assert [i["number"] for i in listed["items"]] == [number] and listed["has_more"] is False
    assert spec.get(f"{API}/disputes/{number}").json()["id"] == d["id"]
    assert spec.get(f"{API}/disputes/{d['id']}").json()["number"] == number

    hints = spec.get(f"{API}/disputes/{number}/suggestions").json()
    assert hints[0]["mediator"]["id"] == med.grid_mediator.pk and hints[0]["skilled"] is True

    response = post(
        spec,
        f"/disputes/{number}/assign",
        {"committee": med.village_committee.pk, "lead": med.elder.pk, "assistants": [med.teacher.pk]},
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["lead_mediator"]["name"] == "乡贤巴特尔" and response.json()["level"] == 2

    elder = as_user(w.mediator)
    parties = [p["id"] for p in d["parties"]]
    body = {
        "held_at": now_text(),
        "mediators": [med.elder.pk],
        "parties_present": parties,
        "notes": "初次调解",
    }
    first = post(elder, f"/disputes/{number}/sessions", body, key="session-1")
    assert first.status_code == 201, first.content[:500]
    assert first.json()["parties_present"] == parties and first.json()["mediators"][0]["id"] == med.elder.pk

    response = post(
        elder,
        f"/disputes/{number}/outcome",
        {"outcome": "agreement", "terms": "一、赔偿3000元。", "amount": "3000"},
    )
    assert response.status_code == 201, response.content[:500]
    assert response.json()["outcome"] == "agreement" and response.json()["level"] == 2

    detail = elder.get(f"{API}/disputes/{number}").json()
    assert detail["state"] == "settled" and detail["agreement"]["amount"] == "3000.00"
    visit = detail["follow_ups"][0]
    response = post(
        elder, f"/follow-ups/{visit['id']}", {"result": "performed", "note": "已履行"}, key="visit-1"
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["result"] == "performed" and response.json()["dispute"] == number

    for name in ("agreement.pdf", "record.pdf"):
        pdf = elder.get(f"{API}/disputes/{number}/{name}")
        assert (
            pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
        )

    actions = [e["action"] for e in elder.get(f"{API}/disputes/{number}").json()["events"]]
    assert actions == ["received", "assigned", "session", "outcome", "follow_up"]


def test_the_offline_queue_sends_twice_and_one_session_and_one_visit_are_recorded(med):
    dispute = receive(med)
    services.do_assign(dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    spec = as_user(med.w.specialist)
    body = {"held_at": now_text(), "mediators": [med.grid_mediator.pk], "notes": "在村委会调解"}
    first = post(spec, f"/disputes/{dispute.number}/sessions", body, key="k-session")
    again = post(spec, f"/disputes/{dispute.number}/sessions", body, key="k-session")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Session.objects.filter(dispute=dispute).count() == 1
    # Another key is another session.
    assert post(spec, f"/disputes/{dispute.number}/sessions", body, key="k-session-2").status_code == 201
    assert Session.objects.filter(dispute=dispute).count() == 2

    services.do_record_outcome(dispute, actor=med.w.specialist, outcome="agreement", terms="赔偿")
    visit = FollowUp.objects.filter(dispute=dispute).order_by("due_on").first()
    path = f"/follow-ups/{visit.pk}"
    # A point given by half is refused, and nothing changes.
    before = snapshot()
    refused(post(spec, path, {"result": "partly", "lon": 109.95}), 422, "lat")
    assert snapshot() == before
    # The phone's fix is kept: the visit was made on the spot.
    made = {"result": "partly", "lon": 109.95, "lat": 40.05, "accuracy_m": 12}
    first = post(spec, path, made, key="k-visit")
    again = post(spec, path, made, key="k-visit")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    visit.refresh_from_db()
    assert (visit.lon, visit.lat, visit.accuracy_m) == (109.95, 40.05, 12)
    # Without the key (or with another), the visit made already is a conflict, and nothing changes.
    before = snapshot()
    refused(post(spec, path, {"result": "performed"}), 409)
    assert snapshot() == before


def test_the_issues_three_refusals_change_nothing(med):
    spec = as_user(med.w.specialist)
    bad = new_dispute_body(
        parties=[{"role": "applicant", "name": "张三", "id_number": bad_id_number()}, two_parties()[1]]
    )
    before = snapshot()
    refused(post(spec, "/disputes", bad), 422, "parties.0.id_number")
    assert snapshot() == before

    dispute = receive(med, parties=[])
    services.do_assign(dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    refused(
        post(spec, f"/disputes/{dispute.number}/parties", {"name": "王五", "id_number": bad_id_number()}),
        422,
        "id_number",
    )
    early = (timezone.localtime(dispute.received_at) - dt.timedelta(hours=3)).isoformat()
    before = snapshot()
    refused(
        post(
            spec,
            f"/disputes/{dispute.number}/sessions",
            {"held_at": early, "mediators": [med.grid_mediator.pk]},
        ),
        422,
        "held_at",
    )
    assert snapshot() == before
    services.do_record_session(
        dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[med.grid_mediator]
    )
    before = snapshot()
    refused(
        post(spec, f"/disputes/{dispute.number}/outcome", {"outcome": "agreement", "terms": "赔偿"}),
        422,
        "parties",
    )
    assert snapshot() == before


def test_scope_roles_and_state(med):
    dispute = receive(med)
    outsider = as_user(med.outsider_user)
    refused(outsider.get(f"{API}/disputes/{dispute.number}"), 404)
    refused(post(outsider, f"/disputes/{dispute.number}/refer-up", {"reason": "x"}), 404)
    assert outsider.get(f"{API}/disputes").json()["items"] == []
    refused(as_user(med.w.resident).get(f"{API}/disputes"), 403)
    refused(Client().get(f"{API}/disputes"), 401)
    refused(post(as_user(med.w.leader), f"/disputes/{dispute.number}/refer-up", {"reason": "x"}), 403)
    spec = as_user(med.w.specialist)
    refused(post(spec, f"/disputes/{dispute.number}/outcome", {"outcome": "agreement", "terms": "x"}), 409)
    refused(
        post(spec, f"/disputes/{dispute.number}/hand-over", {"to": "nowhere", "note": "x"}), 422, "handed_to"
    )
    refused(spec.get(f"{API}/disputes", {"level": "7"}), 422, "level")
    refused(spec.get(f"{API}/disputes/{dispute.number}/agreement.pdf"), 422, "agreement")


def test_a_case_goes_to_mediation_once_through_the_api(med):
    case = report_case(med.w, item="072001", description="两家因宅基地边界争吵")
    spec = as_user(med.w.specialist)
    first = post(
        spec, "/disputes/from-case", {"case": case.number, "parties": two_parties(), "risk": "medium"}
    )
    assert first.status_code == 201 and first.json()["case_number"] == case.number
    again = post(spec, "/disputes/from-case", {"case": case.number})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    refused(post(spec, "/disputes/from-case", {"case": "20990101-0001"}), 404)


def test_a_party_replaced_refer_up_and_hand_over(med):
    dispute = receive(med)
    spec = as_user(med.w.specialist)
    party = Party.objects.filter(dispute=dispute).order_by("id").first()
    response = post(
        spec,
        f"/disputes/{dispute.number}/parties/{party.pk}",
        {"role": "applicant", "name": "张三", "id_number": id_number(serial="999")},
        method="put",
    )
    assert response.status_code == 200 and response.json()["id_number"].endswith(
        "999" + response.json()["id_number"][-1]
    )
    other = receive(med)
    stranger = Party.objects.filter(dispute=other).first()
    refused(post(spec, f"/disputes/{dispute.number}/parties/{stranger.pk}", {"name": "x"}, method="put"), 404)
    refused(post(spec, f"/disputes/{dispute.number}/refer-up", {"reason": ""}), 422, "reason")
    response = post(spec, f"/disputes/{dispute.number}/refer-up", {"reason": "网格调不了"})
    assert (
        response.status_code == 200
        and response.json()["level"] == 2
        and response.json()["state"] == "received"
    )
    response = post(spec, f"/disputes/{dispute.number}/hand-over", {"to": "court", "note": "当事人起诉"})
    assert response.status_code == 200 and response.json()["state"] == "handed_over"
    assert response.json()["handed_to_label"]


def test_mine_is_what_a_mediators_phone_needs(med):
    w = med.w
    mine_lead = receive(med, risk="low", title="我主办的")
    services.do_assign(mine_lead, actor=w.specialist, committee=med.village_committee, lead=med.elder)
    helping = receive(med, risk="high", title="我协办的")
    services.do_assign(
        helping, actor=w.specialist, committee=med.village_committee, lead=med.teacher, assistants=[med.elder]
    )
    others = receive(med, title="别人的")
    services.do_assign(others, actor=w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    settled = receive(med, title="已调结")
    mediate(med, settled, committee=med.village_committee, lead=med.elder)
    services.do_record_outcome(settled, actor=w.mediator, outcome="agreement", terms="赔偿")
    FollowUp.objects.filter(dispute=settled).update(due_on=timezone.localdate())

    response = as_user(w.mediator).get(f"{API}/mine")
    assert response.status_code == 200
    body = response.json()
    numbers = [d["number"] for d in body["disputes"]]
    assert numbers == [helping.number, mine_lead.number]  # high risk first; not the others'
    parts = {d["number"]: d["my_part"] for d in body["disputes"]}
    assert parts == {helping.number: "assistant", mine_lead.number: "lead"}
    first = body["disputes"][0]
    assert {m["id"] for m in first["mediators"]} == {med.teacher.pk, med.elder.pk}
    assert [p["name"] for p in first["parties"]] == ["张三", "李四"]
    assert "********" in first["parties"][0]["id_number"] and "****" in first["parties"][0]["phone"]
    assert (
        id_number(serial="111") not in response.content.decode()
        and "13800001111" not in response.content.decode()
    )
    assert {v["dispute"] for v in body["follow_ups_due"]} == {settled.number}
    assert {c["value"] for c in body["choices"]["follow_up_results"]} == {
        "performed",
        "partly",
        "not_performed",
    }
    assert body["choices"]["kinds"][0]["label"]
    assert as_user(w.resident).get(f"{API}/mine").status_code == 403


def test_figures_committees_and_mediators(med):
    w = med.w
    settled = receive(med, amount="5000")
    mediate(med, settled)
    services.do_record_outcome(settled, actor=w.specialist, outcome="agreement", terms="赔偿", amount="4000")
    receive(med, amount="1000")
    client = as_user(w.l2head)
    f = client.get(f"{API}/figures").json()
    assert (f["received"], f["settled"], f["open"], f["settled_grid"], f["settled_rate"]) == (2, 1, 1, 1, 100)
    assert Decimal(f["amount_at_stake"]) == Decimal("6000") and Decimal(f["amount_agreed"]) == Decimal("4000")
    assert (
        client.get(f"{API}/figures", {"since": "2020-01-01", "until": "2020-01-31"}).json()["received"] == 0
    )
    refused(client.get(f"{API}/figures", {"since": "2026-02-01", "until": "2026-01-01"}), 422, "until")

    committees = client.get(f"{API}/committees").json()
    names = {c["name"] for c in committees}
    assert {med.grid_committee.name, med.village_committee.name, med.town_committee.name} <= names
    assert med.other_committee.name not in names
    detail = client.get(f"{API}/committees/{med.village_committee.pk}").json()
    elder = next(m for m in detail["members"] if m["id"] == med.elder.pk)
    assert {s["value"] for s in elder["skills"]} == {"land", "neighbours"}
    assert {x["value"] for x in elder["languages"]} == {"zh", "mn"}
    assert [a["code"] for a in elder["areas"]] == [w.village.code]
    refused(client.get(f"{API}/committees/{med.other_committee.pk}"), 404)


def test_every_answer_is_in_the_document(med):
    """Each mediation operation declares its errors; its schema names are unique (test_api_schemas)."""
    from gridgov.api import api

    doc = api.get_openapi_schema()
    ops = [(p, m, o) for p, item in doc["paths"].items() if "/mediation/" in p for m, o in item.items()]
    assert len(ops) >= 18
    for path, method, op in ops:
        codes = {str(c) for c in op["responses"]}
        assert {"401", "403"} <= codes, (path, method)
        if method != "get" or "{" in path:
            assert "404" in codes or path.endswith("/mine"), (path, method)
        if method in ("post", "put"):
            assert {"409", "422"} <= codes, (path, method)
