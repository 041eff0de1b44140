"""The mediation pages of the workbench: the navigation's link and who reaches the pages, the home's figures and
queue, the dispute list with its filters and its next rows by htmx, a dispute received directly or from a case
(each refusal next to the field it names, nothing saved), the dispute's page and the forms of its steps (parties,
assignment with the suggested mediators, sessions, the outcome, the agreement and the record as PDF, follow-up
visits, referral up, hand-over), and the committees with their mediators — every list and the dispute's page
within a fixed number of queries however many rows it shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import override

from gridgov.cases.models import Comment
from gridgov.cases.tests.helpers import report_case
from gridgov.mediation import services
from gridgov.mediation.errors import Invalid
from gridgov.mediation.models import Agreement, Dispute, DisputeEvent, FollowUp, Party, Session

from .helpers import bad_id_number, id_number, mediate, receive, snapshot, two_parties

pytestmark = pytest.mark.django_db

MAX_QUERIES = 30


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, url: str, data: dict | None = None, **extra) -> str:
    response = client.get(url, data or {}, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:600])
    return response.content.decode()


def url_of(dispute: Dispute, step: str = "") -> str:
    base = f"/mediation/disputes/{dispute.number}/"
    return f"{base}{step}/" if step else base


def error_of(html: str, field_id: str) -> str:
    """The error shown next to the input of id `field_id` (the registry's form field markup)."""
    found = re.search(rf'id="{re.escape(field_id)}-errors"[^>]*>(.*?)</ul>', html, re.S)
    assert found, f"no error next to {field_id}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


def many_disputes(med, n: int) -> list[Dispute]:
    return [receive(med, title=f"纠纷{k}", parties=[]) for k in range(n)]


# ---------------------------------------------------------------------------------------------- who


def test_the_navigation_links_mediation_for_those_who_work_on_it(med):
    w = med.w
    for user in (w.specialist, w.mediator, w.l2head, w.operator, w.leader):
        html = page(as_user(user), "/cases/" if user != w.mediator else "/mediation/")
        assert 'href="/mediation/"' in html, user.username
    resident = as_user(w.resident)
    assert 'href="/mediation/"' not in resident.get("/").content.decode()
    for path in ("/mediation/", "/mediation/disputes/", "/mediation/committees/"):
        assert resident.get(path).status_code == 404
        assert as_user(w.handler).get(path).status_code == 404


def test_a_dispute_out_of_scope_does_not_exist(med):
    dispute = receive(med)
    outsider = as_user(med.outsider_user)
    for path in ("", "agreement.pdf", "record.pdf"):
        assert outsider.get(url_of(dispute) + path).status_code == 404
    assert outsider.post(url_of(dispute, "refer-up"), {"reason": "x"}).status_code == 404
    assert outsider.get("/mediation/disputes/T20000101-9999/").status_code == 404


def test_a_reader_sees_no_forms_and_cannot_act(med):
    dispute = receive(med)
    leader = as_user(med.w.leader)
    html = page(leader, url_of(dispute))
    assert dispute.title in html and 'id="assign-form"' not in html and 'name="party-name"' not in html
    before = snapshot()
    response = leader.post(url_of(dispute, "refer-up"), {"reason": "村里调不了"})
    assert response.status_code == 403
    assert snapshot() == before


# ---------------------------------------------------------------------------------------------- home and list


def test_the_home_shows_the_figures_and_the_queue(med, django_assert_max_num_queries):
    w = med.w
    settled = receive(med, risk="low", title="已调结")
    mediate(med, settled)
    services.do_record_outcome(settled, actor=w.specialist, outcome="agreement", terms="赔偿", amount="800")
    high = receive(med, risk="high", title="高风险纠纷")
    low = receive(med, risk="low", title="低风险纠纷")
    services.do_assign(low, actor=w.specialist, committee=med.village_committee, lead=med.elder)
    visit = FollowUp.objects.filter(dispute=settled).order_by("due_on").first()
    FollowUp.objects.filter(pk=visit.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))

    client = as_user(w.mediator)  # the elder: assigned `low`
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, "/mediation/")
    figure = dict(re.findall(r'data-figure="(\w+)"><span class="n[^"]*">([^<]*)<', html))
    assert figure["received"] == "3" and figure["settled"] == "1" and figure["open"] == "2"
    assert figure["settled_grid"] == "1" and figure["settled_village"] == "0"
    assert figure["amount_at_stake"] == "¥9000.00" and figure["amount_agreed"] == "¥800.00"
    mine = html.split('id="mine-title"')[1].split("</section>")[0]
    assert low.number in mine and high.number not in mine
    queue = html.split('id="high-title"')[1].split("</section>")[0]
    assert queue.index(high.number) < queue.index(low.number)  # high risk first
    due = html.split('id="due-title"')[1].split("</section>")[0]
    assert settled.number in due and "is-overdue" in due

    # Another period: nothing received in it.
    html = page(client, "/mediation/", {"since": "2020-01-01", "until": "2020-01-31"})
    assert 'data-figure="received"><span class="n">0<' in html


def test_the_list_filters_and_pages_by_htmx_in_a_fixed_number_of_queries(med, django_assert_max_num_queries):
    w = med.w
    rows = many_disputes(med, 55)
    high = receive(med, risk="high", title="宅基地边界争执", kind="land")
    services.do_assign(high, actor=w.specialist, committee=med.village_committee, lead=med.elder)
    client = as_user(w.l2head)
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, "/mediation/disputes/")
    assert html.count('class="dispute-row') == 50
    more = re.search(r'hx-get="([^"]+part=rows)"', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(MAX_QUERIES):
        rest = page(client, more, HTTP_HX_REQUEST="true")
    assert rest.count('class="dispute-row') == 6 and "<html" not in rest
    assert rows[0].number in rest

    for query, expected in (
        ({"risk": "high"}, [high]),
        ({"kind": "land"}, [high]),
        ({"state": "assigned"}, [high]),
        ({"state": "open"}, None),
        ({"level": "2"}, [high]),
        ({"committee": med.village_committee.pk}, [high]),
        ({"mediator": med.elder.pk}, [high]),
        ({"q": "宅基地"}, [high]),
        ({"q": high.number}, [high]),
        ({"grid": w.grid_b.code}, []),
        ({"since": "2020-01-01", "until": "2020-01-02"}, []),
    ):
        html = page(client, "/mediation/disputes/", query)
        found = re.findall(r'data-number="([^"]+)"', html)
        if expected is not None:
            assert found == [d.number for d in expected], query
    html = page(client, "/mediation/disputes/", {"since": "2026-02-01", "until": "2026-01-01"})
    assert "id_until-error" in html


# ---------------------------------------------------------------------------------------------- intake


def intake(**fields) -> dict:
    data = {
        "kind": "neighbours",
        "title": "邻居噪音纠纷",
        "description": "楼上深夜装修，楼下多次协商未果。",
        "grid": "150621100200001",
        "amount": "",
        "risk": "medium",
        "language": "zh",
        "p0-role": "applicant",
        "p0-name": "张三",
        "p0-id_number": id_number(serial="111"),
        "p0-phone": "13800001111",
        "p1-role": "respondent",
        "p1-name": "李四",
        "p1-id_number": id_number(serial="222"),
        "p2-role": "third_party",
    }
    data.update(fields)
    return data


def test_a_dispute_received_directly_with_its_parties(med):
    client = as_user(med.w.specialist)
    html = page(client, "/mediation/disputes/new/")
    assert 'name="p0-id_number"' in html and 'name="case"' in html
    response = client.post("/mediation/disputes/new/", intake())
    assert response.status_code == 302
    dispute = Dispute.objects.get(title="邻居噪音纠纷")
    assert response["Location"] == url_of(dispute)
    assert list(dispute.parties.order_by("id").values_list("name", "role")) == [
        ("张三", "applicant"),
        ("李四", "respondent"),
    ]
    html = page(client, url_of(dispute))
    assert "150621********111" in html and id_number(serial="111") not in html  # masked


def test_a_party_with_an_invalid_id_number_is_shown_next_to_it_and_nothing_is_saved(med):
    client = as_user(med.w.specialist)
    before = snapshot()
    response = client.post("/mediation/disputes/new/", intake(**{"p1-id_number": bad_id_number()}))
    assert response.status_code == 422
    html = response.content.decode()
    assert error_of(html, "id_p1-id_number")
    assert 'value="张三"' in html  # what was typed stays
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "field_id"),
    [
        ({"title": ""}, "id_title"),
        ({"kind": ""}, "id_kind"),
        ({"grid": "150621101200001"}, "id_grid"),  # a grid where the specialist does not work
        ({"amount": "-5"}, "id_amount"),
        ({"received_at": "2999-01-01T10:00"}, "id_received_at"),
        ({"p0-phone": "12345"}, "id_p0-phone"),
    ],
)
def test_each_refusal_of_the_intake_names_its_field(med, fields, field_id):
    client = as_user(med.w.specialist)
    before = snapshot()
    response = client.post("/mediation/disputes/new/", intake(**fields))
    assert response.status_code in (422, 200), response.status_code
    assert error_of(response.content.decode(), field_id)
    assert snapshot() == before


def test_a_case_of_the_disputes_module_is_taken_into_mediation_once(med):
    w = med.w
    case = report_case(w, item="072001", description="楼上漏水，邻居吵起来了", address="幸福小区3号楼")
    client = as_user(w.l2head)
    # The case's page offers to take it into mediation, to those who receive disputes.
    take = f'href="/mediation/disputes/new/?case={case.number}"'
    assert take in page(client, f"/cases/{case.number}/")
    assert take not in page(as_user(w.leader), f"/cases/{case.number}/")
    html = page(client, "/mediation/disputes/new/", {"case": case.number})
    assert f'value="{case.number}"' in html
    response = client.post(
        "/mediation/disputes/new/", intake(case=case.number, title="", kind="", description="")
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get(case=case)
    assert dispute.description == "楼上漏水，邻居吵起来了" and dispute.parties.count() == 2
    html = page(client, url_of(dispute))
    assert f'href="/cases/{case.number}/"' in html
    assert Comment.objects.filter(case=case, text__contains=dispute.number).exists()
    # Again: the same dispute, nothing new.
    again = client.post("/mediation/disputes/new/", intake(case=case.number))
    assert again["Location"] == url_of(dispute) and Dispute.objects.filter(case=case).count() == 1

    other = report_case(w, description="垃圾箱满了")  # module 01
    assert "/mediation/disputes/new/" not in page(client, f"/cases/{other.number}/")
    before = snapshot()
    response = client.post("/mediation/disputes/new/", intake(case=other.number))
    assert response.status_code == 422 and error_of(response.content.decode(), "id_case")
    response = client.post("/mediation/disputes/new/", intake(case="20990101-0001"))
    assert response.status_code == 404 and error_of(response.content.decode(), "id_case")
    assert snapshot() == before


def test_who_receives_nowhere_gets_no_intake(med):
    leader = as_user(med.w.leader)
    assert "/mediation/disputes/new/" not in page(leader, "/mediation/")
    assert leader.get("/mediation/disputes/new/").status_code == 403


# ---------------------------------------------------------------------------------------------- a dispute


def test_the_dispute_page_in_a_fixed_number_of_queries(med, django_assert_max_num_queries):
    dispute = receive(med)
    client = as_user(med.w.specialist)
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, url_of(dispute))
    assert 'id="assign-form"' in html and "suggest-table" in html
    mediate(med, dispute)
    for _ in range(4):
        services.do_record_session(
            dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[med.grid_mediator]
        )
    services.do_record_outcome(dispute, actor=med.w.specialist, outcome="agreement", terms="一、赔偿。")
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, url_of(dispute))
    assert html.count('class="md-session"') == 5 and 'id="agreement-pdf"' in html


def test_a_dispute_taken_step_by_step_through_the_page(med):
    w = med.w
    dispute = receive(med, parties=[])
    client = as_user(w.specialist)

    # Parties: one with a bad ID number is refused next to it; two good ones; one edited keeping its number.
    before = snapshot()
    response = client.post(
        url_of(dispute, "parties"),
        {"party-role": "applicant", "party-name": "王五", "party-id_number": bad_id_number()},
    )
    assert response.status_code == 422 and error_of(response.content.decode(), "id_party-id_number")
    assert snapshot() == before
    for _n, p in enumerate(two_parties()):
        response = client.post(url_of(dispute, "parties"), {f"party-{k}": v for k, v in p.items()})
        assert response.status_code == 302, response.content[:500]
    first = Party.objects.filter(dispute=dispute).order_by("id").first()
    number_index = first.id_number_index
    edit = f"{url_of(dispute)}parties/{first.pk}/"
    assert "150621********111" in page(client, edit)
    response = client.post(edit, {"role": "applicant", "name": "张三丰", "address": "二号院"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.name, first.address, first.id_number_index) == ("张三丰", "二号院", number_index)

    # Assignment: a lead not of the committee chosen is refused next to the lead.
    response = client.post(
        url_of(dispute, "assign"), {"committee": med.grid_committee.pk, "lead": med.teacher.pk}
    )
    assert response.status_code == 422 and error_of(response.content.decode(), "id_lead")
    response = client.post(
        url_of(dispute, "assign"),
        {"committee": med.village_committee.pk, "lead": med.elder.pk, "assistants": [med.teacher.pk]},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.level, dispute.lead_mediator_id) == (2, med.elder.pk)

    # A session before the dispute was received: refused next to the time, nothing saved.
    early = timezone.localtime(dispute.received_at - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    before = snapshot()
    response = client.post(url_of(dispute, "sessions"), {"held_at": early, "mediators": [med.elder.pk]})
    assert response.status_code == 422
    assert error_of(response.content.decode(), "id_held_at")
    assert snapshot() == before
    response = client.post(url_of(dispute, "sessions"), {"held_at": "", "mediators": []})
    assert response.status_code == 422
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")
    parties = list(dispute.parties.values_list("pk", flat=True))
    response = client.post(
        url_of(dispute, "sessions"),
        {
            "held_at": now,
            "mediators": [med.elder.pk, med.teacher.pk],
            "parties_present": parties,
            "notes": "初次调解",
        },
    )
    assert response.status_code == 302, response.content[:800]
    session = Session.objects.get(dispute=dispute)
    assert sorted(session.mediators.values_list("pk", flat=True)) == sorted([med.elder.pk, med.teacher.pk])

    # The outcome: terms required; then the agreement, its PDF and the record's.
    response = client.post(url_of(dispute, "outcome"), {"outcome": "agreement", "terms": ""})
    assert response.status_code == 422 and error_of(response.content.decode(), "id_terms")
    response = client.post(
        url_of(dispute, "outcome"), {"outcome": "agreement", "terms": "一、赔偿3000元。", "amount": "3000"}
    )
    assert response.status_code == 302
    agreement = Agreement.objects.get(dispute=dispute)
    assert agreement.amount == 3000
    for name in ("agreement.pdf", "record.pdf"):
        pdf = client.get(url_of(dispute) + name)
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and "attachment" in pdf["Content-Disposition"]

    # A follow-up visit, once.
    visit = FollowUp.objects.filter(dispute=dispute).order_by("due_on").first()
    response = client.post(
        url_of(dispute, f"follow-ups/{visit.pk}"),
        {f"fu{visit.pk}-result": "performed", f"fu{visit.pk}-note": "已履行"},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.result == "performed" and visit.visitor_id == w.specialist.pk
    html = page(client, url_of(dispute))
    assert "md-visit is-done" in html
    assert list(
        DisputeEvent.objects.filter(dispute=dispute).order_by("at", "id").values_list("action", flat=True)
    ) == [
        "received",
        "party_added",
        "party_added",
        "party_updated",
        "assigned",
        "session",
        "outcome",
        "follow_up",
    ]


def test_an_agreement_without_parties_is_refused_with_a_clear_error(med):
    dispute = receive(med, parties=[])
    mediate(med, dispute)
    client = as_user(med.w.specialist)
    before = snapshot()
    response = client.post(url_of(dispute, "outcome"), {"outcome": "agreement", "terms": "一、赔偿。"})
    assert response.status_code == 422
    html = response.content.decode()
    errors = html.split('id="outcome-form"')[1].split("</form>")[0]
    with override(settings.LANGUAGE_CODE), pytest.raises(Invalid) as refusal:
        services.do_record_outcome(dispute, actor=med.w.specialist, outcome="agreement", terms="一、赔偿。")
    assert 'class="errors"' in errors and escape(str(refusal.value.message)) in errors
    assert snapshot() == before
    assert 'id="agreement-pdf"' not in html


def test_a_failed_mediation_is_referred_up_then_handed_over(med):
    dispute = receive(med)
    mediate(med, dispute)
    client = as_user(med.w.specialist)
    response = client.post(url_of(dispute, "outcome"), {"outcome": "failed", "terms": "双方分歧太大"})
    assert response.status_code == 302
    response = client.post(url_of(dispute, "refer-up"), {"reason": ""})
    assert response.status_code == 422 and error_of(response.content.decode(), "id_reason")
    response = client.post(url_of(dispute, "refer-up"), {"reason": "网格调解不成，请村调委会处理"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.level, dispute.committee_id) == ("received", 2, med.village_committee.pk)
    l2 = as_user(med.w.l2head)
    response = l2.post(url_of(dispute, "hand-over"), {"handed_to": "", "handover_note": "移交司法所"})
    assert response.status_code == 422 and error_of(response.content.decode(), "id_handed_to")
    response = l2.post(
        url_of(dispute, "hand-over"), {"handed_to": "judicial_office", "handover_note": "移交司法所"}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.handed_to) == ("handed_over", "judicial_office")
    html = page(l2, url_of(dispute))
    assert 'id="hand-over-form"' not in html and 'id="record-pdf"' in html


def test_a_page_out_of_date_says_so_and_changes_nothing(med):
    dispute = receive(med)
    client = as_user(med.w.specialist)
    services.do_hand_over(dispute, actor=med.w.specialist, to="court", note="起诉")
    before = snapshot()
    response = client.post(url_of(dispute, "refer-up"), {"reason": "请上级处理"})
    assert response.status_code == 409
    assert 'class="errors"' in response.content.decode() or 'class="message' in response.content.decode()
    assert snapshot() == before


def test_a_party_linked_from_the_registry_search(med):
    from gridgov.registry.models import Person
    from gridgov.registry.services import document_index

    w = med.w
    number = id_number(serial="333")
    person = Person(name="赵六", document_kind="id_card", document_index=document_index("id_card", number))
    person.place_in(w.grid)
    person.save()
    client = as_user(w.specialist)
    hits = client.post(
        "/mediation/persons/", {"q": "赵", "target": "party"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'data-person="{person.pk}"' in hits and "赵六" in hits
    assert as_user(w.mediator).post("/mediation/persons/", {"q": "赵"}).status_code == 404  # no registry
    dispute = receive(med, parties=[])
    response = client.post(
        url_of(dispute, "parties"), {"party-role": "applicant", "party-name": "", "party-person": person.pk}
    )
    assert response.status_code == 302
    party = Party.objects.get(dispute=dispute)
    assert (party.name, party.person_id) == ("赵六", person.pk)
    assert f'href="/registry/persons/{person.pk}/"' in page(client, url_of(dispute))


# ---------------------------------------------------------------------------------------------- committees


def test_committees_and_their_mediators(med, django_assert_max_num_queries):
    dispute = receive(med)
    services.do_assign(
        dispute,
        actor=med.w.specialist,
        committee=med.village_committee,
        lead=med.elder,
        assistants=[med.teacher],
    )
    client = as_user(med.w.l2head)
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, "/mediation/committees/")
    for c in (med.grid_committee, med.village_committee, med.town_committee):
        assert f'href="/mediation/committees/{c.pk}/"' in html
    assert med.other_committee.name not in html  # another town's
    with django_assert_max_num_queries(MAX_QUERIES):
        html = page(client, f"/mediation/committees/{med.village_committee.pk}/")
    row = html.split(f'data-id="{med.elder.pk}"')[1].split("</tr>")[0]
    assert "乡贤巴特尔" in html and "村1-1" in row and f"mediator={med.elder.pk}" in row
    gone = html.split(f'data-id="{med.gone.pk}"')[1].split("</tr>")[0]
    assert "is-gone" in html and "mediator=" not in gone
    assert client.get(f"/mediation/committees/{med.other_committee.pk}/").status_code == 404


def test_the_mediators_assigned_and_the_committee_referred_to_are_told_in_their_inbox(med):
    w = med.w
    dispute = receive(med)
    services.do_assign(
        dispute, actor=w.specialist, committee=med.village_committee, lead=med.elder, assistants=[med.teacher]
    )
    # The elder (a login) is told, with a link to the dispute; the teacher has no login.
    inbox = page(as_user(w.mediator), "/cases/inbox/")
    assert f'href="/mediation/disputes/{dispute.number}/"' in inbox and dispute.number in inbox
    services.do_record_session(dispute, actor=w.mediator, held_at=timezone.now(), mediators=[med.elder])
    services.do_record_outcome(dispute, actor=w.mediator, outcome="failed", terms="双方分歧太大")
    services.do_refer_up(dispute, actor=w.mediator, reason="村里调不成，请镇里调解")
    # The town's committee gets it to assign: its mediator with a login is told.
    inbox = page(as_user(med.town_user), "/cases/inbox/")
    assert f'href="/mediation/disputes/{dispute.number}/"' in inbox and med.town_committee.name in inbox


def test_the_copy_to_sign_carries_the_full_numbers_for_those_who_work_on_it_and_is_audited(med):
    pdfium = pytest.importorskip("pypdfium2")
    from gridgov.core.models import AuditRecord

    w = med.w
    dispute = mediate(med, receive(med))
    services.do_record_outcome(dispute, actor=w.specialist, outcome="agreement", terms="李四赔偿张三3000元")
    url = f"/mediation/disputes/{dispute.number}/agreement.pdf"

    def text(response) -> str:
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        doc = pdfium.PdfDocument(response.content)
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))

    full = two_parties()[0]["id_number"]
    client = as_user(w.specialist)
    assert full not in text(client.get(url))  # masked by default
    assert not AuditRecord.objects.filter(action="dispute.document.unmasked").exists()
    assert full in text(client.post(url))
    assert AuditRecord.objects.filter(action="dispute.document.unmasked", actor=w.specialist).count() == 1
    # A leader reads the dispute but does not work on it: the masked copy only.
    leader = as_user(w.leader)
    assert leader.get(url).status_code == 200 and leader.post(url).status_code == 403
