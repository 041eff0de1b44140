"""A dispute from a grid worker's report to a follow-up visit, in a real browser (Debian's Chromium through
Playwright), in Chinese:

- the grid specialist reports a quarrel between neighbours on the phone (/m/, a case of the disputes module 07);
- the village head takes that case into mediation in the workbench, with the two parties, and assigns it to the
  village's committee, the elder leading (the suggested mediators are shown);
- the elder records two sessions and the agreement, downloads the agreement (调解协议书) through the browser,
  which the test renders to PNG with pypdfium2 and reads back: the Chinese title, the parties' names and the
  terms are there, and no character lacks a glyph;
- the elder records the first follow-up visit.

Every page is shot at 1366×768 and 360×740 (test-artifacts/mediation-*.png), and none scrolls sideways on the
phone. The database is read in a thread of its own while the browser runs (Playwright's sync API keeps an event
loop in the test's thread, where Django refuses ORM calls)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgov.cases.models import Case
from gridgov.mediation.models import Agreement, Dispute, DisputeEvent, FollowUp, Session
from gridgov.mobile.tests.test_app_browser import (
    fill_report,
    in_db,
    open_app,
    phone_context,
    sign_in_with_password,
)
from gridgov.tests.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    chromium,
    needs_chromium,
    new_page,
    shoot,
    sign_in,
)

from .helpers import id_number

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's
APPLICANT, RESPONDENT = "张建国", "李秀英"
TERMS = (
    "一、李秀英于2026年12月10日前一次性赔偿张建国房屋修缮费用人民币叁仟元整（3000元）。\n"
    "二、李秀英在一周内请人修好卫生间防水，修好前不再使用该卫生间。\n"
    "三、双方就此纠纷再无其他争议，今后和睦相处。"
)


def no_sideways_scroll(page, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width}px wide on a phone"


def pdf_pages(data: bytes, png: Path) -> list[str]:
    """The text of each page of a PDF, and its first page rendered to `png` (150 dpi)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        texts = []
        for n in range(len(pdf)):
            page = pdf[n]
            if n == 0:
                page.render(scale=150 / 72).to_pil().save(png)
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


# Submits a form twice in a row and answers how many of the submits the browser went on with.
SUBMIT_TWICE = """selector => {
    const form = document.querySelector(selector);
    let sent = 0;
    const count = (event) => { if (!event.defaultPrevented) sent += 1; };
    window.addEventListener("submit", count);
    form.requestSubmit();
    form.requestSubmit();
    window.removeEventListener("submit", count);
    return sent;
}"""


def test_a_reported_quarrel_is_mediated_to_an_agreement_and_visited(live_server, med):
    w = med.w
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    with chromium() as browser:
        # 1. The grid specialist reports the quarrel on the phone: a case of the disputes module.
        phone = phone_context(browser)
        app, app_errors = open_app(phone, base)
        sign_in_with_password(app, w.specialist.username)
        app.click('#tabs a[href="#/report"]')
        fill_report(app, "楼上卫生间漏水，楼下墙面泡坏，两家吵起来了，要求调解", module="07", item="072001")
        app.click(".report button.primary.big")
        app.wait_for_selector('.sent[data-state="done"]')
        case_number = re.search(r"\d{8}-\d+", app.locator('.sent [data-out="title"]').inner_text()).group(0)
        shoot(app, "mediation-phone-report-sent")
        assert app_errors == [], app_errors
        phone.close()

        # 2. The village head takes the case into mediation, with the two parties.
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, w.l2head.username, PASSWORD)
        with page.expect_navigation():
            page.locator('.topbar nav a[href="/mediation/"]').click()
        shoot(page, "mediation-home-desktop", full_page=True)
        page.goto(f"{base}/mediation/disputes/new/")
        page.fill("#id_case", case_number)
        page.select_option("#id_risk", "medium")
        page.fill("#id_amount", "3000")
        for n, (name, role, serial, mobile) in enumerate(
            ((APPLICANT, "applicant", "111", "13800001111"), (RESPONDENT, "respondent", "222", "13900002222"))
        ):
            page.select_option(f"#id_p{n}-role", role)
            page.fill(f"#id_p{n}-name", name)
            page.fill(f"#id_p{n}-id_number", id_number(serial=serial))
            page.fill(f"#id_p{n}-phone", mobile)
            page.fill(f"#id_p{n}-address", "幸福小区3号楼")
        # A wrong check digit in the second party's ID number: refused next to it, nothing received.
        good = id_number(serial="222")
        page.fill("#id_p1-id_number", good[:17] + ("0" if good[17] != "0" else "1"))
        with page.expect_navigation():
            page.click(".md-intake > .form-actions button.primary")
        assert page.locator("#id_p1-id_number-errors").inner_text().strip()
        assert page.locator("#id_p0-name").input_value() == APPLICANT  # what was typed stays
        shoot(page, "mediation-new-refused-desktop", full_page=True)
        assert in_db(lambda: Dispute.objects.count()) == 0
        page.fill("#id_p1-id_number", good)
        shoot(page, "mediation-new-desktop", full_page=True)
        with page.expect_navigation():
            page.click(".md-intake > .form-actions button.primary")
        number = page.locator(".md-head h1 .code").inner_text()
        assert number.startswith("T")
        assert page.locator(".case-link a").inner_text() == case_number
        assert page.locator(".party-table tr.party-row").count() == 2

        # Assigned to the village's committee, the elder leading and the teacher assisting.
        assert page.locator(".suggest-table tr.suggestion").count() >= 1
        page.select_option("#assign-form #id_committee", str(med.village_committee.pk))
        page.select_option("#assign-form #id_lead", str(med.elder.pk))
        page.check(f'#assign-form input[name="assistants"][value="{med.teacher.pk}"]')
        shoot(page, "mediation-dispute-assign-desktop", full_page=True)
        with page.expect_navigation():
            page.click("#assign-form button.primary")
        assert page.locator(".md-lead").inner_text() == "乡贤巴特尔"
        assert not errors, errors
        page.context.close()

        # 3. The elder mediates: two sessions and the agreement.
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, w.mediator.username, PASSWORD)
        page.goto(f"{base}/mediation/")
        assert page.locator(f'#mine-title ~ .table-wrap tr[data-number="{number}"]').count() == 1
        page.goto(f"{base}/mediation/disputes/{number}/")
        for notes in (
            "双方各自陈述：漏水已三个月，楼下要求赔偿5000元，楼上只愿出1000元。",
            "经耐心劝导，双方同意按3000元赔偿并修好防水。",
        ):
            page.click("#sessions details.md-step > summary")
            page.check(f'#session-form input[name="mediators"][value="{med.teacher.pk}"]')
            page.fill("#session-form #id_notes", notes)
            with page.expect_navigation():
                # A second tap while the first is on its way (a slow network) is not sent again.
                assert page.evaluate(SUBMIT_TWICE, "#session-form") == 1
            assert page.locator(".message.success").count() == 1
        assert page.locator(".md-session").count() == 2
        shoot(page, "mediation-dispute-sessions-desktop", full_page=True)

        page.click("#outcome details.md-step > summary")
        page.check('#outcome-form input[name="outcome"][value="agreement"]')
        page.fill("#outcome-form #id_terms", TERMS)
        page.fill("#outcome-form #id_amount", "3000")
        page.fill("#outcome-form #id_performance_method", "一次性现金支付，在调解员见证下交付。")
        with page.expect_navigation():
            page.click("#outcome-form button.primary")
        assert page.locator(".md-out-agreement").count() == 1
        shoot(page, "mediation-dispute-agreed-desktop", full_page=True)

        # 4. The agreement, downloaded through the browser, rendered and read back.
        with page.expect_download() as caught:
            page.click("#agreement-pdf")
        download = caught.value
        assert download.suggested_filename.endswith(".pdf")
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"%PDF")
        (ARTIFACTS / "mediation-agreement.pdf").write_bytes(data)
        png = ARTIFACTS / "mediation-agreement.png"
        texts = pdf_pages(data, png)
        text = "".join(texts)
        flat = re.sub(r"\s+", "", text)
        assert "人民调解协议书" in flat
        assert APPLICANT in flat and RESPONDENT in flat
        for term in TERMS.splitlines():
            assert re.sub(r"\s+", "", term) in flat, term
        assert "\ufffd" not in text
        from gridgov.mediation.agreement_pdf import missing_glyphs

        assert missing_glyphs(text) == "", "characters without a glyph in the agreement"
        from PIL import Image

        with Image.open(png) as image:
            grey = image.convert("L")
            width, height = grey.size
            # The title's band holds dark strokes (the text is drawn, not blank boxes or nothing).
            band = grey.crop((0, 0, width, height // 5))
            assert sum(1 for v in band.tobytes() if v < 100) > 500

        # 5. The first follow-up visit.
        first = page.locator(".md-visit").first
        first.locator("details.md-step > summary").click()
        first.locator('input[name$="-result"][value="performed"]').check()
        first.locator('textarea[name$="-note"]').fill("已按协议赔偿3000元，防水已修好，两家关系缓和。")
        with page.expect_navigation():
            first.locator("button.primary").click()
        assert page.locator(".md-visit.is-done").count() == 1
        shoot(page, "mediation-dispute-desktop", full_page=True)
        assert not errors, errors

        # 6. Every page on a phone, without scrolling sideways; and the lists on the desktop.
        for path, name in (
            ("/mediation/disputes/", "disputes"),
            ("/mediation/committees/", "committees"),
            (f"/mediation/committees/{med.village_committee.pk}/", "committee"),
        ):
            page.goto(f"{base}{path}")
            shoot(page, f"mediation-{name}-desktop", full_page=True)
        small, small_errors = new_page(browser, PHONE)
        sign_in(small, base, w.mediator.username, PASSWORD)
        for path, name in (
            ("/mediation/", "home"),
            ("/mediation/disputes/", "disputes"),
            (f"/mediation/disputes/{number}/", "dispute"),
            ("/mediation/disputes/new/", "new"),
            ("/mediation/committees/", "committees"),
            (f"/mediation/committees/{med.village_committee.pk}/", "committee"),
        ):
            small.goto(f"{base}{path}")
            small.wait_for_load_state("networkidle")
            no_sideways_scroll(small, path)
            shoot(small, f"mediation-{name}-phone", full_page=True)
        # In English too: the language button keeps the page.
        small.goto(f"{base}/mediation/disputes/{number}/")
        with small.expect_navigation():
            small.click(".topbar .lang button")
        assert small.evaluate("document.documentElement.lang") == "en"
        no_sideways_scroll(small, "en")
        shoot(small, "mediation-dispute-phone-en", full_page=True)
        page.goto(f"{base}/mediation/disputes/{number}/")
        with page.expect_navigation():
            page.click(".topbar .lang button")
        shoot(page, "mediation-dispute-desktop-en", full_page=True)
        page.goto(f"{base}/mediation/")
        shoot(page, "mediation-home-desktop-en", full_page=True)
        assert not small_errors, small_errors

    def check() -> None:
        dispute = Dispute.objects.get(number=number)
        case = Case.objects.get(number=case_number)
        assert dispute.case_id == case.pk and case.item.code == "072001"
        assert dispute.state == "settled" and dispute.settled_level == 2
        assert dispute.committee_id == med.village_committee.pk and dispute.lead_mediator_id == med.elder.pk
        assert Session.objects.filter(dispute=dispute).count() == 2
        agreement = Agreement.objects.get(dispute=dispute)
        assert (agreement.outcome, agreement.amount) == ("agreement", 3000)
        visits = FollowUp.objects.filter(dispute=dispute).order_by("due_on")
        assert [v.result for v in visits][:1] == ["performed"]
        actions = list(
            DisputeEvent.objects.filter(dispute=dispute).order_by("at", "id").values_list("action", flat=True)
        )
        assert actions == ["from_case", "assigned", "session", "session", "outcome", "follow_up"]

    in_db(check)
