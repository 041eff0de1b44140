"""In the real browser, at 1920×1080 in Chinese with animation off: the county's leader opens the command wall;
the counters, the towns' load, the charts and the map come up, a report made meanwhile arrives in the live feed
(from the feed server, a real uvicorn process), and clicking a town on the map drills down to it.
Screenshots: test-artifacts/command-wall.png, command-wall-town.png."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from gridgov.cases.choices import OPEN_STATES, Action
from gridgov.cases.models import Case
from gridgov.cases.tests.helpers import act, report_case
from gridgov.tests.browser import chromium, needs_chromium, new_page, shoot, sign_in

from .test_sse import feed_server  # noqa: F401 - the fixture

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]
PASSWORD = "Correct-Horse-9"
WALL = {"width": 1920, "height": 1080}

# Points inside the small tree's level-3 grids (109.0–109.2 E, 40.0–40.1 N), more in town 1.
SPOTS = [
    (109.012, 40.031), (109.018, 40.072), (109.031, 40.052), (109.043, 40.088), (109.061, 40.021),
    (109.072, 40.064), (109.088, 40.043), (109.094, 40.081), (109.113, 40.035), (109.142, 40.066),
    (109.171, 40.028), (109.186, 40.074),
]  # fmt: skip


def seed(world, png) -> dict[str, int]:
    """A month of reports over both towns, some overdue, some closed and rated today; returns the open and
    overdue counts the wall must show."""
    now = timezone.now()
    made = []
    for i in range(30):
        where = SPOTS[(i * 7) % len(SPOTS)] if i % 3 else SPOTS[i % 4]
        made.append(report_case(world, where=where, now=now - dt.timedelta(days=(i * 5) % 29, hours=i % 5)))
    Case.objects.filter(pk__in=[c.pk for c in made[:9]]).update(due_at=now - dt.timedelta(hours=3))
    for i in range(6):
        # In world.grid (109.0–109.025 E), where world.specialist handles on the spot.
        done = report_case(world, where=(109.004 + i * 0.003, 40.015 + i * 0.012), photo=png())
        act(world, done.number, Action.SELF_HANDLE, "specialist", note="已处置", files=[("a.png", png())])
        act(world, done.number, Action.EVALUATE, "resident", rating="satisfied" if i else "basic")
    still = Case.objects.filter(state__in=OPEN_STATES)
    return {"open": still.count(), "overdue": still.filter(due_at__lte=timezone.now()).count()}


def test_the_wall_at_1920_in_chinese_with_a_live_feed_and_drill_down(
    live_server,
    world,
    png_bytes,
    feed_server,  # noqa: F811 - the fixture imported above
    monkeypatch,
):
    from playwright.sync_api import expect

    expected = seed(world, png_bytes)
    monkeypatch.setenv("GRIDGOV_SSE_PORT", str(feed_server))
    url = live_server.url
    made: list[str] = []

    def report_meanwhile() -> None:
        # In a thread of its own: Playwright's loop runs in the test's thread, where Django refuses the ORM.
        made.append(report_case(world, where=(109.025, 40.045)).number)

    with chromium() as browser:
        page, errors = new_page(browser, WALL, locale="zh-CN")
        sign_in(page, url, "leader", PASSWORD)
        page.goto(f"{url}/command/wall/?animation=0")
        expect(page.locator("body[data-loaded='1']")).to_have_count(1, timeout=15000)
        expect(page.locator("#c-open")).to_have_text(str(expected["open"]))
        expect(page.locator("#c-overdue")).to_have_text(str(expected["overdue"]))
        expect(page.locator("#load-rows tr")).to_have_count(2)
        text = page.evaluate("JSON.parse(document.getElementById('wall-config').textContent).text")
        expect(page.locator("#live-state")).to_have_text(text["live"], timeout=10000)
        worker = threading.Thread(target=report_meanwhile)
        worker.start()
        worker.join()
        expect(page.locator("#feed li").first).to_contain_text(made[0], timeout=10000)
        expect(page.locator("#feed li").first).to_contain_text("上报")
        assert page.locator("#chart-trend canvas").count() == 1
        assert page.locator("path.leaflet-interactive").count() >= 2  # the towns, clickable
        shoot(page, "command-wall")

        # Drill down: the first town on the map.
        page.locator("path.leaflet-interactive").first.click(force=True)
        page.wait_for_url("**grid=150621100**")
        assert "animation=0" in page.url
        expect(page.locator("body[data-loaded='1']")).to_have_count(1, timeout=15000)
        expect(page.locator(".wall-trail .here")).to_have_text(world.town.name)
        expect(page.locator(".wall-trail a")).to_have_text([world.root.name])
        expect(page.locator("#load-rows tr")).to_have_count(2)  # its villages
        shoot(page, "command-wall-town")
        assert errors == []
