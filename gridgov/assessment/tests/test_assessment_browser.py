"""The monthly ranking in a real browser (Chromium through Playwright), in Chinese: the leader opens it from the
navigation, sees the warnings first, the table with its marks, the ranking and trend charts drawn by ECharts,
sorts by a column; the configuration pages; shot at 1920×1080 and on a 360×740 phone (test-artifacts/assessment-*.png), and the phone does
not scroll sideways."""

from __future__ import annotations

import datetime as dt

import pytest

from gridgov.cases.models import Case
from gridgov.tests.browser import PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from .test_indicators import _b7_cases

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def _other_town(world) -> None:
    """Forty cases of the other town in November 2026: a few left open past their limit, a red town."""
    g = world.other_grid
    at = dt.datetime(2026, 11, 12, 2, 0, tzinfo=dt.UTC)
    past = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    rows = []
    for i in range(40):
        closed = i % 3 == 0
        rows.append(
            Case(
                number=f"OT-{i:04d}",
                channel="resident_app",
                state="closed" if closed else "handling",
                description="镇2",
                grid=g,
                grid_l1_id=g.l1_id,
                grid_l2_id=g.l2_id,
                grid_l3_id=g.pk,
                reporter_kind="resident",
                created_at=at,
                updated_at=at,
                closed_at=at if closed else None,
                resolved_level=3 if closed else None,
                due_at=None if closed else past,
                rating="unsatisfied" if closed else "",
            )
        )
    Case.objects.bulk_create(rows)


def test_the_leader_reads_the_monthly_ranking(live_server, world):
    _b7_cases(world)
    _other_town(world)
    base = live_server.url
    with chromium() as browser:
        page, errors = new_page(browser, {"width": 1920, "height": 1080})
        sign_in(page, base, world.leader.username, PASSWORD)
        with page.expect_navigation():
            page.locator('.topbar nav a[href="/assessment/"]').click()
        page.goto(f"{base}/assessment/?kind=town&month=2026-11")
        page.wait_for_selector("body[data-charts-ready]")
        # Warnings first: the other town is red.
        warnings = page.locator(".as-warnings")
        assert "镇2" in warnings.inner_text()
        rows = page.locator(".as-table tbody tr[data-key]")
        assert rows.count() == 2
        assert rows.nth(0).get_attribute("data-mark") in ("green", "yellow")
        assert rows.nth(1).get_attribute("data-mark") == "red"
        assert "93.72 %" in page.locator(".as-total").inner_text()
        assert page.locator("#as-bar canvas").count() == 1 and page.locator("#as-trend canvas").count() == 1
        shoot(page, "assessment-ranking-desktop", full_page=True)
        # Sort by 结案率, lowest first.
        page.locator('th a[data-sort="closing_rate"]').click()
        page.locator('th a[data-sort="closing_rate"]').click()
        page.wait_for_load_state("networkidle")
        assert page.locator(".as-table tbody tr[data-key]").nth(0).inner_text().find("镇2") >= 0
        for name in ("config", "exclusions", "appeals"):
            page.goto(f"{base}/assessment/{name}/")
            shoot(page, f"assessment-{name}-desktop")
        assert errors == [], errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, world.leader.username, PASSWORD)
        phone.goto(f"{base}/assessment/?kind=town&month=2026-11")
        phone.wait_for_selector("body[data-charts-ready]")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the ranking is {width}px wide on a phone"
        shoot(phone, "assessment-ranking-phone", full_page=True)
        assert phone_errors == [], phone_errors
