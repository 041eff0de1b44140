"""The registry in a real browser (Debian's Chromium through Playwright): a village head types a whole ID number
into the persons search box, the results narrow to that person without a reload (htmx), opens the person's page
and reads the phone in full after giving a reason — the number appears in place, the rest of the page stays as it
was, and the reading is on the audit record. Then the same on a 360 px phone, which must not scroll sideways.
Screenshots go to test-artifacts/registry-*.png for a person to look at."""

from __future__ import annotations

import pytest

from gridgov.core.models import AuditRecord
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from . import test_access
from .test_access import PEOPLE

scene = test_access.scene  # the registry tests' shared fixture

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's
ZHANG = PEOPLE["zhang"]


def _search_by_id_number(page, base: str) -> None:
    page.goto(f"{base}/registry/persons/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#results tr.person-row").count() == 3
    page.evaluate("window.notReloaded = true")
    page.fill("#id_q", ZHANG["id"])
    page.wait_for_function("document.querySelectorAll('#results tr.person-row').length === 1")
    assert page.evaluate("window.notReloaded") is True  # the results came in place
    row = page.locator("#results tr.person-row")
    assert ZHANG["name"] in row.inner_text()
    assert ZHANG["id"] not in row.inner_text()  # masked in the results
    # The number typed stays out of the address bar (and so out of history and server logs).
    assert ZHANG["id"] not in page.url


def _unmask_phone(page) -> None:
    box = page.locator("#number-phone")
    assert box.locator(".number.masked").inner_text() == ZHANG["phone"][:3] + "****" + ZHANG["phone"][-4:]
    page.evaluate("window.notReloaded = true")
    box.locator("summary").click()
    reason = page.locator("#reason-phone")
    assert reason.is_visible()
    # Without a reason the browser does not even send the form.
    box.locator(".unmask-form button[type=submit]").click()
    assert box.locator(".number.masked").is_visible()
    reason.fill("电话回访独居老人")
    box.locator(".unmask-form button[type=submit]").click()
    page.locator("#number-phone .number.shown").wait_for()
    assert page.locator("#number-phone .number.shown").inner_text() == ZHANG["phone"]
    assert page.locator("#number-phone a").get_attribute("href") == f"tel:{ZHANG['phone']}"
    assert page.evaluate("window.notReloaded") is True
    # Only the phone: the ID number is still masked.
    assert page.locator("#number-document_number .number.masked").is_visible()
    assert ZHANG["id"] not in page.content()


def test_a_village_head_finds_a_person_by_id_number_and_reads_the_phone_with_a_reason(live_server, scene):
    base = live_server.url
    user = scene.world.l2head
    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, user.username, PASSWORD)
        page.goto(f"{base}/registry/")
        page.wait_for_load_state("networkidle")
        assert page.locator("ul.kg-counts li").count() == 9
        shoot(page, "registry-home-desktop", full_page=True)

        _search_by_id_number(page, base)
        shoot(page, "registry-search-desktop")
        with page.expect_navigation():
            page.locator("#results tr.person-row td.name a").click()
        assert ZHANG["name"] in page.locator("h1").inner_text()
        shoot(page, "registry-person-desktop", full_page=True)
        _unmask_phone(page)
        shoot(page, "registry-person-unmasked-desktop", full_page=True)

        # The register form names each bad field next to it.
        page.goto(f"{base}/registry/persons/new/")
        page.fill("#id_name", "刘晓燕#")
        page.fill("#id_document_number", ZHANG["id"][:-1] + ("0" if ZHANG["id"][-1] != "0" else "1"))
        page.fill("#id_phone", "0477-1234567")
        with page.expect_navigation():
            page.locator(".form-actions button[type=submit]").click()
        for field in ("name", "document_number", "phone"):
            assert page.locator(f"#id_{field}-errors").is_visible(), field
        shoot(page, "registry-register-errors-desktop", full_page=True)
        assert not errors, errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, user.username, PASSWORD)
        _search_by_id_number(phone, base)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the list is {width}px wide on a phone"
        shoot(phone, "registry-search-phone", full_page=True)
        with phone.expect_navigation():
            phone.locator("#results tr.person-row td.name a").click()
        _unmask_phone(phone)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the person's page is {width}px wide on a phone"
        shoot(phone, "registry-person-unmasked-phone", full_page=True)
        phone.goto(f"{base}/registry/")
        phone.wait_for_load_state("networkidle")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot(phone, "registry-home-phone", full_page=True)
        assert not phone_errors, phone_errors

    # Two readings, each with its field and reason.
    readings = list(AuditRecord.objects.filter(action="registry.unmask").values_list("data", "actor_id"))
    assert readings == [({"what": "phone", "reason": "电话回访独居老人"}, user.pk)] * 2
