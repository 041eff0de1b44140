"""In the real browser: the operator of town 1 has the queue of reports to accept (待受理) open, and their home
in another tab; a resident reports from the phone app's API call. The new case shows in the open queue by
itself (the page asks every second and brings in its rows), lit up for a moment, with what the operator was
typing into the filters left as it was; the home's queue tile counts it. A report in town 2 never shows. And in
the queue to dispatch, ticked boxes stay ticked while rows come in. Screenshots: test-artifacts/
live-queue-operator-desktop, live-dispatch-queue-operator-desktop."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.cases.choices import State
from gridgov.tests.browser import DESKTOP, chromium, needs_chromium, new_page, shoot, sign_in

from .helpers import HERE, OTHER_TOWN, case_in, report_case

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]
PASSWORD = "Correct-Horse-9"
# The page's own refresh: one question a second, then a fetch of the page.
WITHIN = 2000  # ms


def api_post(page: Any, base_url: str, path: str, fields: dict[str, str]) -> Any:
    """A form posted as the phone app posts it (multipart, the CSRF header from the cookie), with the page's
    cookies."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return page.request.post(
        f"{base_url}{path}", multipart=fields, headers={"X-CSRFToken": token, "Referer": f"{base_url}/"}
    )


def post_report(phone: Any, base_url: str, where: tuple[float, float], description: str) -> str:
    """A resident's report from the phone; returns its number."""
    fields = {"channel": "resident_app", "description": description, "item": "011001", "force": "true"}
    response = api_post(
        phone, base_url, "/api/cases/", {**fields, "lon": str(where[0]), "lat": str(where[1])}
    )
    assert response.status == 201, response.text()
    return response.json()["summary"]["number"]


def test_a_phone_report_shows_in_the_open_queue_of_its_town_only(live_server, world):
    from playwright.sync_api import expect

    # The database work first (see gridgov/tests/browser.py): one report already waits in town 1.
    waiting = report_case(world, description="垃圾箱满了没人清运")
    url = live_server.url

    with chromium() as browser:
        queue, errors = new_page(browser, DESKTOP)
        sign_in(queue, url, "op", PASSWORD)
        home = queue.context.new_page()
        home.goto(f"{url}/")
        tile = home.locator('a[data-queue="to_accept"] .n')
        expect(tile).to_have_text("1")
        queue.goto(f"{url}/cases/?queue=to_accept")
        expect(queue.locator("tr[data-number]")).to_have_count(1)
        queue.fill("#id_q", "路灯")  # typed, not applied: must survive the refresh

        phone, phone_errors = new_page(browser, DESKTOP)
        sign_in(phone, url, "res", PASSWORD)
        here = post_report(phone, url, HERE, "小区门口路灯不亮，晚上很黑")
        acknowledged = time.perf_counter()
        row = queue.locator(f'tr[data-number="{here}"]')
        expect(row).to_be_visible(timeout=WITHIN)
        # Printed, not asserted (speed is measured, not tested): the page polls twice a second.
        print(f"live_queue_latency: {(time.perf_counter() - acknowledged) * 1000:.0f} ms after the upload")
        expect(row).to_have_class(re.compile(r"\blive-new\b"))  # lit up for a moment
        expect(queue.locator("tr[data-number]").first).to_have_attribute("data-number", here)  # newest first
        expect(queue.locator(f'tr[data-number="{waiting.number}"]')).to_be_visible()
        assert queue.input_value("#id_q") == "路灯"
        shoot(queue, "live-queue-operator-desktop")
        expect(tile).to_have_text("2", timeout=WITHIN)

        # Town 2's report, then one more in town 1: once the second shows, the page has looked past the first.
        there = post_report(phone, url, OTHER_TOWN, "镇2的井盖丢了")
        again = post_report(phone, url, (109.06, 40.05), "村1-2的垃圾没人清运")
        expect(queue.locator(f'tr[data-number="{again}"]')).to_be_visible(timeout=WITHIN)
        expect(queue.locator(f'tr[data-number="{there}"]')).to_have_count(0)
        expect(queue.locator("tr[data-number]")).to_have_count(3)
        expect(tile).to_have_text("3", timeout=WITHIN)
        assert not errors, errors
        assert not phone_errors, phone_errors


def test_ticked_boxes_stay_ticked_and_a_new_row_joins_the_batch(live_server, world, make_user):
    """The queue to dispatch: a colleague at the same centre accepts a report; its row comes in with its box
    while the box the operator ticked stays ticked, and the batch bar counts both."""
    from playwright.sync_api import expect

    ready = [case_in(world, State.REGISTERED) for _ in range(2)]
    fresh = report_case(world, description="路边的垃圾桶倒了")
    colleague = make_user("op-b", PASSWORD, full_name="op-b")
    RoleAssignment.objects.create(user=colleague, role=Role.OPERATOR, grid=world.town)
    url = live_server.url

    with chromium() as browser:
        queue, errors = new_page(browser, DESKTOP)
        sign_in(queue, url, "op", PASSWORD)
        queue.goto(f"{url}/cases/?queue=to_dispatch")
        expect(queue.locator("tr[data-number]")).to_have_count(2)
        queue.check(f'tr[data-number="{ready[0].number}"] input[name="numbers"]')
        count = queue.locator("#batch-count")
        expect(count).to_contain_text("1")

        desk, desk_errors = new_page(browser, DESKTOP)
        sign_in(desk, url, "op-b", PASSWORD)
        response = api_post(desk, url, f"/api/cases/{fresh.number}/actions/accept", {"note": ""})
        assert response.status == 200, response.text()

        box = queue.locator(f'tr[data-number="{fresh.number}"] input[name="numbers"]')
        expect(box).to_be_visible(timeout=WITHIN)
        expect(queue.locator(f'tr[data-number="{ready[0].number}"] input[name="numbers"]')).to_be_checked()
        box.check()
        expect(count).to_contain_text("2")
        expect(queue.locator("#batch button[type=submit]")).to_be_enabled()
        shoot(queue, "live-dispatch-queue-operator-desktop")
        assert not errors, errors
        assert not desk_errors, desk_errors
