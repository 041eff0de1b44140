"""The case page in a real browser (Debian's Chromium through Playwright): an operator reads a case with its
photos, map and history, opens the dispatch form (pre-filled with the unit routing names) without a reload and
dispatches; the lead unit's handler then finds it to sign. Screenshots at 1366×768 and 360×740 go to
test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest

from gridgov.cases.choices import Action, State
from gridgov.cases.models import Case
from gridgov.cases.tests.helpers import act, report_case
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = needs_chromium

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


@pytest.mark.django_db(transaction=True)
def test_operator_dispatches_from_the_case_page(live_server, world, png_bytes):
    # The database work happens before Playwright starts (its event loop forbids ORM calls in this thread).
    case = report_case(
        world,
        photo=png_bytes((200, 60, 40)),
        description="小区东门垃圾箱满溢，周边散落垃圾，气味很大，请尽快清运。",
        address="树林召镇林原小区东门",
    )
    n = case.number
    act(world, n, Action.COMMENT, "resident", note="垃圾已经堆了三天了")
    act(world, n, Action.ACCEPT, "operator", note="属实，立案")
    act(world, n, Action.COMMENT, "operator", note="已立案，今天派遣环卫。", public=True)
    act(world, n, Action.SUPERVISE, "leader", card="yellow", reason="群众反映强烈，今日内派遣")
    url = f"{live_server.url}/cases/{n}/"

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP, locale="en")
        sign_in(page, live_server.url, world.operator.username, PASSWORD)
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text().endswith(n)
        assert page.locator(".countdown").inner_text().endswith(("left", "overdue"))
        # The map draws the grid's outline and the point, without tiles.
        assert page.locator("path.case-grid").count() == 1
        assert page.locator("path.case-point").count() == 1
        # A photo enlarges in place.
        page.locator("a.thumb").first.click()
        assert page.locator("#lightbox").is_visible()
        assert page.evaluate("document.getElementById('lightbox-img').naturalWidth") > 0
        page.keyboard.press("Escape")
        assert not page.locator("#lightbox").is_visible()
        # The dispatch form opens without a reload, pre-filled with the routed lead unit and assisting unit.
        panel = page.locator("#act-dispatch")
        assert panel.is_hidden()
        page.evaluate("window.notReloaded = true")
        page.locator("#act-button-dispatch").click()
        assert panel.is_visible()
        assert page.evaluate("window.notReloaded") is True
        assert page.locator("#act-dispatch-unit").input_value() == "HW"
        assert page.locator("#act-dispatch input[name=assisting][value=ZF]").is_checked()
        assert page.evaluate("document.activeElement.id") == "act-dispatch-unit"  # the cursor is in the form
        page.fill("#act-dispatch-note", "请今日内清运")
        shoot(page, "case-operator-desktop")
        shoot(page, "case-operator-desktop-full", full_page=True)

        phone, phone_errors = new_page(browser, PHONE, locale="en")
        phone.context.add_cookies(page.context.cookies())
        phone.goto(url)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a phone"
        shoot(phone, "case-operator-phone")
        shoot(phone, "case-operator-phone-full", full_page=True)

        with page.expect_navigation():
            page.locator("#act-dispatch button[type=submit]").click()
        assert page.locator(".message.success").is_visible()
        assert page.locator("#case-state").get_attribute("data-state") == State.DISPATCHED
        assert page.locator("#act-button-reassign").is_visible()
        assert page.locator("#act-button-dispatch").count() == 0

        handler, handler_errors = new_page(browser, DESKTOP, locale="en")
        sign_in(handler, live_server.url, world.handler.username, PASSWORD)
        handler.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        handler.goto(url)
        handler.wait_for_load_state("networkidle")
        offered = handler.locator(".act-toggle").evaluate_all("els => els.map(e => e.dataset.action)")
        assert offered == ["sign", "return", "request_extension", "comment"]
        handler.locator("#act-button-return").click()
        assert handler.locator("#act-return-reason").is_visible()
        shoot(handler, "case-handler-desktop")
        assert errors == [] and phone_errors == [] and handler_errors == []
    assert Case.objects.get(number=n).state == State.DISPATCHED
