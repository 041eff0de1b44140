"""The case page: the whole story of one case, and each action's form taken end to end through the page (the
form posts, the case engine acts or refuses, the page tells). Texts are checked in English (the translations
are merged separately)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from gridgov.cases.choices import Action, ExtensionState, Rating, State
from gridgov.cases.models import Case, CaseEvent, Comment, Evidence, Extension, Supervision
from gridgov.cases.services import allowed_actions
from gridgov.cases.tests.helpers import act, case_in, report_case, snapshot
from gridgov.core.models import AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def browse(world):
    """`browse(name)`: a client signed in as world user `name`, reading English pages."""

    def make(name: str) -> Client:
        client = Client()
        client.force_login(getattr(world, name))
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


HOSTILE = '<img src=x onerror="window.injected=1">'


def page_url(case: Case) -> str:
    return reverse("cases:detail", kwargs={"number": case.number})


def act_url(case: Case, action: str) -> str:
    return reverse("cases:act", kwargs={"number": case.number, "action": action})


def buttons(html: str) -> list[str]:
    """The actions offered as buttons on a page, in order."""
    return re.findall(r'class="button act-toggle[^"]*"[^>]*data-action="([a-z_]+)"', html)


def post(client: Client, case: Case, action: str, **data: Any):
    case.refresh_from_db()
    data.setdefault("expected_version", case.version)
    return client.post(act_url(case, action), data)


def done(response, case: Case) -> None:
    """The step was taken: back to the case page (post/redirect/get)."""
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == page_url(case)


def handled_with_photos(world: Any, png: Any) -> Case:
    """A case reported with a photo, dispatched to HW (ZF assisting), signed and fed back with a photo."""
    case = report_case(world, photo=png())
    n = case.number
    act(world, n, Action.ACCEPT, "operator")
    act(world, n, Action.DISPATCH, "operator", unit="HW", assisting=["ZF"])
    act(world, n, Action.SIGN, "handler")
    act(world, n, Action.FEEDBACK, "handler", note="已清运", files=[("after.png", png((0, 160, 0)))])
    return Case.objects.get(pk=case.pk)


# ---------------------------------------------------------------------------------------------- reading


def test_the_page_tells_the_story(world, browse, png_bytes):
    case = handled_with_photos(world, png_bytes)
    act(world, case.number, Action.COMMENT, "resident", note="什么时候来处理？")
    act(world, case.number, Action.COMMENT, "operator", note="今天下午", public=True)
    act(world, case.number, Action.COMMENT, "operator", note="内部：联系环卫", public=False)
    act(world, case.number, Action.SUPERVISE, "leader", card="red", reason="尽快处理")
    act(world, case.number, Action.COMMENT, "resident", note=HOSTILE)
    html = browse("operator").get(page_url(case)).content.decode()
    assert case.number in html
    assert HOSTILE not in html and "&lt;img src=x onerror=" in html  # data is text, never markup
    assert "垃圾箱满了没人清运" in html  # description
    assert "handled, to verify (待核查)" in html  # state chip
    assert re.search(r"\d+ (d|h|min).*(left|overdue)", html)  # the countdown, in words
    assert 'id="case-map"' in html and 'id="case-config"' in html
    assert 'class="photo-group photos-before"' in html and 'class="photo-group photos-after"' in html
    for ev in Evidence.objects.filter(case=case):
        assert reverse("api:case_evidence", kwargs={"number": case.number, "evidence_id": ev.pk}) in html
    assert "什么时候来处理？" in html and "今天下午" in html and "内部：联系环卫" in html
    assert "尽快处理" in html and "red card" in html
    assert "王*" in html and "王小明" not in html  # the reporter, masked
    for label in ("accept and register (受理立案)", "dispatch (派遣)", "sign (签收)"):
        assert label in html  # the history


def test_a_resident_reads_the_public_story_only(world, browse, png_bytes):
    case = case_in(world, State.HANDLING, png=png_bytes)
    act(world, case.number, Action.COMMENT, "operator", note="内部：联系环卫", public=False)
    act(world, case.number, Action.COMMENT, "operator", note="今天下午来", public=True)
    act(world, case.number, Action.SUPERVISE, "leader", card="red", reason="领导督办理由")
    html = browse("resident").get(page_url(case)).content.decode()
    assert "今天下午来" in html
    assert "内部：联系环卫" not in html and "领导督办理由" not in html
    assert 'id="supervision"' not in html and 'id="deadlines"' not in html and 'id="notes"' not in html


def test_out_of_scope_is_404_for_page_and_action_urls(world, browse):
    case = case_in(world, State.DISPATCHED)
    for name in ("other_operator", "other_handler", "other_resident", "other_specialist"):
        client = browse(name)
        assert client.get(page_url(case)).status_code == 404
        before = snapshot()
        assert post(client, case, "sign").status_code == 404
        assert post(client, case, "dispatch", unit="GA").status_code == 404
        assert client.post(reverse("cases:unmask", kwargs={"number": case.number})).status_code == 404
        assert snapshot() == before
    assert (
        browse("operator").get(reverse("cases:detail", kwargs={"number": "19700101-0001"})).status_code == 404
    )
    assert post(browse("operator"), case, "no_such_action").status_code == 404
    # A link to an action's form (without script) opens the page with that form open.
    response = browse("operator").get(act_url(case, "reassign"))
    assert response.status_code == 302 and response["Location"].endswith("?act=reassign#actions")
    html = browse("operator").get(page_url(case) + "?act=reassign").content.decode()
    assert re.search(r'<section class="act-panel" id="act-reassign" aria-labelledby="[^"]*">', html)


def test_anonymous_users_are_sent_to_sign_in(world):
    case = case_in(world, State.REPORTED)
    response = Client().get(page_url(case))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(
    ("state", "names"),
    [
        (State.REPORTED, ("operator", "specialist", "resident", "leader")),
        (State.REGISTERED, ("operator", "specialist", "resident")),
        (State.DISPATCHED, ("operator", "handler", "assistant", "specialist", "resident")),
        (State.HANDLING, ("operator", "handler", "assistant", "leader", "l1head")),
        (State.HANDLED, ("operator", "specialist", "resident", "handler")),
        (State.CLOSED, ("operator", "specialist", "resident", "handler")),
        (State.SUSPENDED, ("operator", "specialist", "leader")),
    ],
)
def test_buttons_are_exactly_the_allowed_actions(world, browse, png_bytes, state, names):
    case = case_in(world, state, png=png_bytes)
    for name in names:
        html = browse(name).get(page_url(case)).content.decode()
        assert buttons(html) == allowed_actions(getattr(world, name), case), name
        for action in allowed_actions(getattr(world, name), case):
            assert f'action="{act_url(case, action)}"' in html  # each button has its form


# ---------------------------------------------------------------------------------------------- acting


def test_accept_with_reclassification(world, browse):
    from gridgov.catalog.models import Item

    case = case_in(world, State.REPORTED)
    client = browse("operator")
    html = client.get(page_url(case)).content.decode()
    assert re.search(r'<option value="011001" selected>', html)  # the item as reported
    other = Item.objects.filter(active=True).exclude(code="011001").order_by("code").first()
    done(post(client, case, "accept", item=other.code, urgency="urgent", note="改为其他事项"), case)
    case.refresh_from_db()
    assert (case.state, case.item_id, case.urgency) == (State.REGISTERED, other.pk, "urgent")
    page = client.get(page_url(case)).content.decode()
    assert "Done: accept and register (受理立案)." in page


def test_dispatch_is_prefilled_with_the_routed_units(world, browse):
    case = case_in(world, State.REGISTERED)
    client = browse("operator")
    html = client.get(page_url(case)).content.decode()
    form = html[html.index('id="act-dispatch"') :]
    form = form[: form.index("</form>")]
    assert re.search(r'<option value="HW" selected>', form)  # the lead unit routing names for 011001
    assert re.search(r'value="ZF"[^>]*checked', form)  # and its assisting unit
    done(post(client, case, "dispatch", unit="HW", assisting=["ZF"], note="请今日处理"), case)
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.lead_department.code == "HW"
    assert set(case.assignments.filter(active=True).values_list("department__code", "kind")) == {
        ("HW", "lead"),
        ("ZF", "assist"),
    }


def test_sign_then_return_needs_a_reason(world, browse):
    case = case_in(world, State.DISPATCHED)
    client = browse("handler")
    done(post(client, case, "sign"), case)
    case.refresh_from_db()
    assert case.state == State.HANDLING
    before = snapshot()
    response = post(client, case, "return", reason="   ")
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(r'<p class="field-error" id="act-return-reason-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and "reason" in error.group(1)  # next to the field it names
    assert 'aria-describedby="act-return-reason-error"' in html
    assert re.search(r'<section class="act-panel" id="act-return"[^>]*>', html).group(0).find("hidden") < 0
    assert snapshot() == before  # nothing changed
    done(post(client, case, "return", reason="不属于本单位职责"), case)
    case.refresh_from_db()
    assert case.state == State.REGISTERED and case.returns == 1


def test_feedback_with_a_photo_then_verify(world, browse, png_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = case_in(world, State.HANDLING)
    client = browse("handler")
    html = client.get(page_url(case)).content.decode()
    assert 'enctype="multipart/form-data"' in html and 'accept="image/*' in html and "multiple" in html
    # Without the photo the engine refuses, next to the file input.
    response = post(client, case, "feedback", note="已清运")
    assert response.status_code == 422 and 'id="act-feedback-files-error"' in response.content.decode()
    photo = SimpleUploadedFile("after.png", png_bytes((0, 150, 0)), content_type="image/png")
    done(post(client, case, "feedback", note="已清运完毕", files=[photo]), case)
    case.refresh_from_db()
    assert case.state == State.HANDLED
    assert Evidence.objects.filter(case=case, phase="after").count() == 1
    done(post(browse("specialist"), case, "verify_pass", note="现场已干净"), case)
    case.refresh_from_db()
    assert case.state == State.CLOSED


def test_a_red_card_and_its_reply_thread(world, browse):
    case = case_in(world, State.HANDLING)
    done(post(browse("leader"), case, "supervise", card="red", reason="三天内必须解决"), case)
    supervision = Supervision.objects.get(case=case)
    assert supervision.card == "red"
    case.refresh_from_db()
    assert case.card == "red"
    handler = browse("handler")
    html = handler.get(page_url(case)).content.decode()
    assert f'id="supervision-{supervision.pk}"' in html and "三天内必须解决" in html
    assert f'name="supervision" value="{supervision.pk}"' in html  # the reply form of the notice
    done(post(handler, case, "comment", note="已安排人员，明天完成", supervision=supervision.pk), case)
    reply = Comment.objects.get(case=case)
    assert reply.supervision_id == supervision.pk and not reply.public
    html = browse("leader").get(page_url(case)).content.decode()
    thread = html[html.index(f'id="supervision-{supervision.pk}"') :]
    thread = thread[: thread.index('class="reply-form"')]
    assert "已安排人员，明天完成" in thread  # the reply, in the notice's thread
    assert "已安排人员，明天完成" not in browse("resident").get(page_url(case)).content.decode()


def test_extension_asked_then_approved(world, browse):
    case = case_in(world, State.HANDLING)
    due = case.due_at
    done(
        post(
            browse("handler"),
            case,
            "request_extension",
            minutes=2,
            minutes_unit="hours",
            reason="需要采购配件",
        ),
        case,
    )
    ext = Extension.objects.get(case=case)
    assert (ext.minutes, ext.state) == (120, ExtensionState.PENDING)
    operator = browse("operator")
    html = operator.get(page_url(case)).content.decode()
    assert (
        buttons(html)[:0] == [] and "approve_extension" in buttons(html) and "deny_extension" in buttons(html)
    )
    assert re.search(rf'name="extension" value="{ext.pk}"', html)  # the pending request, chosen
    assert "需要采购配件" in html
    done(post(operator, case, "approve_extension", extension=ext.pk, reason="同意"), case)
    ext.refresh_from_db()
    case.refresh_from_db()
    assert ext.state == ExtensionState.APPROVED and case.due_at > due


def test_the_reporter_evaluates(world, browse, png_bytes):
    case = case_in(world, State.CLOSED, png=png_bytes)
    client = browse("resident")
    html = client.get(page_url(case)).content.decode()
    assert buttons(html) == ["evaluate", "dispute", "comment"]
    assert 'name="rating"' in html and 'name="public"' not in html
    done(post(client, case, "evaluate", rating=Rating.SATISFIED, note="很满意"), case)
    case.refresh_from_db()
    assert case.rating == Rating.SATISFIED
    assert "evaluate" not in buttons(client.get(page_url(case)).content.decode())


def test_a_stale_page_is_told_the_case_changed(world, browse):
    case = case_in(world, State.REGISTERED)
    stale = case.version
    act(world, case.number, Action.DISPATCH, "operator", unit="GA")  # somebody else, meanwhile
    before = snapshot()
    response = browse("operator").post(act_url(case, "dispatch"), {"unit": "HW", "expected_version": stale})
    assert response.status_code == 409
    html = response.content.decode()
    assert "This case changed meanwhile" in html
    assert "dispatched, to sign (待签收)" in html  # its new state
    assert "dispatch" not in buttons(html) and "reassign" in buttons(html)
    assert snapshot() == before


def test_refusals_change_nothing_and_name_the_field(world, browse):
    case = case_in(world, State.HANDLING)
    before = snapshot()
    response = post(browse("leader"), case, "supervise", card="green", reason="x")
    assert response.status_code == 422 and 'id="act-supervise-card-error"' in response.content.decode()
    response = post(browse("handler"), case, "request_extension", minutes="", reason="x")
    assert (
        response.status_code == 422
        and 'id="act-request_extension-minutes-error"' in response.content.decode()
    )
    # An action the user may not take: refused, never done (and never a button).
    response = post(browse("handler"), case, "verify_pass")
    assert response.status_code in (403, 409) and 'class="message warning"' in response.content.decode()
    assert snapshot() == before


def test_operator_unmasks_the_reporter_on_record(world, browse):
    case = case_in(world, State.REPORTED)
    client = browse("operator")
    html = client.get(page_url(case)).content.decode()
    url = reverse("cases:unmask", kwargs={"number": case.number})
    assert f'action="{url}"' in html and "王小明" not in html
    audited = AuditRecord.objects.filter(action="case.unmask_reporter").count()
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "王小明" in response.content.decode()
    assert 'id="reporter-box"' in response.content.decode()
    assert AuditRecord.objects.filter(action="case.unmask_reporter").count() == audited + 1
    assert "王小明" in client.post(url).content.decode()  # without htmx: the whole page
    # Grid staff see the reporter masked, with no way to unmask.
    specialist = browse("specialist")
    assert f'action="{url}"' not in specialist.get(page_url(case)).content.decode()
    assert specialist.post(url).status_code == 404
    assert AuditRecord.objects.filter(action="case.unmask_reporter").count() == audited + 2


def test_the_page_runs_a_bounded_number_of_queries(world, browse, png_bytes, django_assert_max_num_queries):
    case = handled_with_photos(world, png_bytes)
    operator = browse("operator")

    def grow() -> None:
        n = case.number
        act(world, n, Action.SUPERVISE, "leader", card="yellow", reason="督办")
        for who in ("operator", "handler", "specialist"):
            act(world, n, Action.COMMENT, who, note=f"{who} 留言", public=who == "operator")
        sup = Supervision.objects.filter(case=case).order_by("-id").first()
        act(world, n, Action.COMMENT, "handler", note="回复督办", supervision=sup.pk)
        act(world, n, Action.COMMENT, "resident", note="居民留言")

    counts = []
    for _ in range(3):
        grow()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(30):
            response = operator.get(page_url(case))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert CaseEvent.objects.filter(case=case).count() > 20
    assert counts[0] == counts[-1] <= 20, counts  # more events, comments, notices: not more queries


def test_merge_through_the_page_links_both_cases(world, browse):
    target = case_in(world, State.REGISTERED)
    case = report_case(world, world.other_resident)
    client = browse("operator")
    before = snapshot()
    response = post(client, case, "merge", into="")
    assert response.status_code == 422 and 'id="act-merge-into-error"' in response.content.decode()
    assert snapshot() == before
    done(post(client, case, "merge", into=target.number, note="同一垃圾箱"), case)
    case.refresh_from_db()
    assert case.state == State.MERGED and case.merged_into_id == target.pk
    html = client.get(page_url(case)).content.decode()
    assert f'href="{page_url(target)}"' in html and buttons(html) == []
    html = client.get(page_url(target)).content.decode()
    assert f'href="{page_url(case)}"' in html  # merged here
    assert "1 other person reported this too." in html
    # The merged case's reporter follows the surviving case, and reads it.
    assert browse("other_resident").get(page_url(target)).status_code == 200
