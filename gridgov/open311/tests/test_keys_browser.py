"""The operator's page of Open311 keys and webhooks in a real browser (Chromium through Playwright), in Chinese:
make a key (shown once), see it listed with its use, revoke it, add a webhook. Shot at 1366×768 and 360×740
(test-artifacts/open311-keys-*.png); the page does not scroll sideways on a phone."""

from __future__ import annotations

import re

import pytest

from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def test_operator_makes_uses_and_revokes_a_key(world, live_server):
    import http.client
    import threading

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, live_server.url, world.operator.username, PASSWORD)
        page.goto(f"{live_server.url}/open311/keys/")
        assert page.locator("h1").inner_text().startswith("Open311")
        page.locator("form.key-form input[name=name]").fill("城管通APP")
        page.click("button.make-key")
        page.wait_for_load_state("networkidle")
        key = page.locator("code.new-key").inner_text()
        assert re.fullmatch(r"g311_\S{32}", key)
        shoot(page, "open311-keys-new-desktop", full_page=True)

        # The key works against the endpoint (from another thread: the ORM refuses Playwright's loop thread).
        host = live_server.url.removeprefix("http://")
        statuses: list[int] = []

        def call() -> None:
            conn = http.client.HTTPConnection(host)
            conn.request("GET", f"/open311/v2/services.json?api_key={key}")
            statuses.append(conn.getresponse().status)

        t = threading.Thread(target=call)
        t.start()
        t.join()
        assert statuses == [200]
        page.goto(f"{live_server.url}/open311/keys/")
        row = page.locator("tr.key-row").first
        assert "城管通APP" in row.inner_text() and key not in page.content()
        assert row.locator("td.num").first.inner_text() == "1"  # one request counted

        page.locator("form.hook-form input[name=url]").fill("https://hooks.example.cn/gridgov")
        page.locator("form.hook-form input[name=name]").fill("市数据平台")
        page.click("button.add-hook")
        page.wait_for_load_state("networkidle")
        assert page.locator("code.new-secret").count() == 1
        page.locator("tr.key-row button.revoke").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("tr.key-row button.revoke").count() == 0  # revoked: the date instead
        shoot(page, "open311-keys-desktop", full_page=True)
        assert not errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, live_server.url, world.operator.username, PASSWORD)
        phone.goto(f"{live_server.url}/open311/keys/")
        shoot(phone, "open311-keys-phone", full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a phone"
        assert not phone_errors
