"""In the real browser: an operator takes a phone report with the item search (pinyin initials, keyboard) and
the map picker at 1366×768; the leader's overview on a desktop and on a phone. Screenshots go to
test-artifacts/ (intake-operator-desktop, overview-leader-desktop, overview-leader-phone)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.cases.choices import Action, Channel, State
from gridgov.cases.models import Case
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from .helpers import OTHER_TOWN, act, case_in, report_case

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]
PASSWORD = "Correct-Horse-9"


def test_operator_intake_with_map_and_item_search_and_leader_overview(live_server, world, png_bytes):
    # The database work first (see gridgov/tests/browser.py).
    overdue = report_case(world)
    Case.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    supervised = case_in(world, State.REGISTERED)
    act(world, supervised.number, Action.SUPERVISE, "leader", card="red", reason="群众反映强烈")
    in_grid = report_case(world, photo=png_bytes())
    act(
        world, in_grid.number, Action.SELF_HANDLE, "specialist", note="已处置", files=[("a.png", png_bytes())]
    )
    case_in(world, State.CLOSED, png=png_bytes)
    for _ in range(3):
        report_case(world, where=OTHER_TOWN)
    ready = [case_in(world, State.REGISTERED) for _ in range(2)]
    dup = report_case(world, world.other_resident, description="门口垃圾箱被风吹倒了，垃圾撒了一地")
    before = Case.objects.count()
    url = live_server.url

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, url, "op", PASSWORD)
        page.goto(f"{url}/cases/new/")
        page.wait_for_selector("#picker-map svg path")  # the centre's villages are drawn
        assert page.evaluate("document.activeElement.id") == "id_description"
        page.fill("#id_description", "二道街东口垃圾乱堆放，已经好几天了，气味很大")
        # Item search: pinyin initials of the keyword 垃圾堆放; the keyboard picks the first suggestion.
        page.click("#item-q")
        page.keyboard.type("ljdf")
        page.wait_for_selector("#item-hits li[data-code='012001']")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Enter")
        assert page.input_value("#id_item") == "012001"
        assert page.is_visible("#item-chosen")
        # The map: a click sets the point and names its grid.
        paths = page.locator("#picker-map svg path")
        boxes = [paths.nth(i).bounding_box() for i in range(paths.count())]
        village = min(boxes, key=lambda b: b["x"])  # 村1-1, the westernmost
        page.mouse.click(village["x"] + village["width"] * 0.3, village["y"] + village["height"] * 0.5)
        page.wait_for_selector("#picker-status.ok")
        status = page.text_content("#picker-status")
        assert "村1-1" in status and "网格1-1-" in status
        assert page.input_value("#id_lon") and page.input_value("#id_lat")
        page.fill("#id_reporter_name", "李大妈")
        page.fill("#id_reporter_phone", "13912345678")
        shoot(page, "intake-operator-desktop")
        page.click("#intake-submit")
        page.wait_for_url(f"{url}/cases/2*/")
        # Batch dispatch of three registered cases, routing's unit chosen; the merge tool's comparison.
        numbers = ",".join(c.number for c in [*ready, supervised])
        page.goto(f"{url}/cases/dispatch/?numbers={numbers}")
        assert page.locator(".batch tbody tr").count() == 3
        shoot(page, "batch-dispatch-operator-desktop")
        page.goto(f"{url}/cases/merge/?number={dup.number}&into={overdue.number}")
        assert page.locator(".compare .card").count() == 2
        shoot(page, "merge-operator-desktop", full_page=True)
        assert not errors, errors

        leader, errors = new_page(browser, DESKTOP)
        sign_in(leader, url, "leader", PASSWORD)
        leader.goto(f"{url}/cases/overview/")
        assert leader.locator(".overview-table tbody tr").count() == 2
        assert leader.is_visible(".supervised .chip.card-red")
        shoot(leader, "overview-leader-desktop", full_page=True)
        leader.click(".overview-table tbody tr:first-child td.name a")  # drill down to the town
        leader.wait_for_url("**grid=150621100*")
        assert leader.locator(".overview-table tbody tr").count() == 2
        assert not errors, errors

        phone, errors = new_page(browser, PHONE)
        sign_in(phone, url, "leader", PASSWORD)
        phone.goto(f"{url}/cases/overview/")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width  # nothing wider than the phone
        shoot(phone, "overview-leader-phone", full_page=True)
        assert not errors, errors

    assert Case.objects.count() == before + 1
    case = Case.objects.order_by("-id").first()
    assert case.state == State.REPORTED
    assert case.item.code == "012001" and case.channel == Channel.HOTLINE
    assert case.grid.parent.code == "150621100200"
