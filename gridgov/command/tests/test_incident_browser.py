"""An emergency from its declaration to its closing report, and a hotspot's page, in a real browser (Debian's
Chromium through Playwright), in Chinese:

- the town's operator declares a rainstorm over two villages (a missing title is refused next to the field first),
  dispatches two departments at once and tells the grid workers;
- the environment-sanitation department's handler acknowledges its task on the incident's page;
- the grid specialist finds the message in the inbox on a phone (360×740);
- the operator closes the emergency with its report, and the printable report shows it;
- the department's handler opens a hotspot found in the grid: its cases on the map, the chart of cases per week,
  and takes it up with the root cause.

Screenshots: test-artifacts/command-incident*.png, command-hotspot.png."""

from __future__ import annotations

import pytest

from gridgov.command.hotspots import find_hotspots
from gridgov.command.models import DispatchState, Hotspot, Incident, IncidentDispatch
from gridgov.mobile.tests.test_app_browser import in_db
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from .test_hotspots import cluster, make_cases, offset

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def test_an_emergency_is_declared_dispatched_acknowledged_and_closed(live_server, world):
    w = world
    # A hotspot in the grid: cases of the last weeks, and a few older ones at the same place.
    make_cases(w, cluster(7), days_ago=2)
    make_cases(w, cluster(4, spread_m=15), days_ago=30)
    make_cases(w, [offset(109.0125, 40.05, 40, -30)], days_ago=60)
    find_hotspots()
    hotspot = Hotspot.objects.get()
    base = live_server.url

    with chromium() as browser:
        # 1. The town's operator declares the emergency.
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, w.operator.username, PASSWORD)
        with page.expect_navigation():
            page.locator('.topbar nav a[href="/command/incidents/"]').click()  # 指挥中心
        with page.expect_navigation():
            page.click("#declare-link")
        page.select_option("#id_kind", "natural")
        page.select_option("#id_level", "3")
        page.fill("#id_description", "凌晨强降雨，镇区低洼路段积水半米，两户房屋进水。")
        page.fill("#id_place", "镇1东街低洼路段")
        page.check(f'input[name="grids"][value="{w.village.code}"]')
        page.check('input[name="grids"][value="150621100201"]')
        with page.expect_navigation():
            page.click("#declare-form button.primary")
        assert page.locator("#id_title-errors").inner_text().strip()
        assert page.locator('input[name="grids"]:checked').count() == 2  # what was chosen stays
        assert in_db(lambda: Incident.objects.count()) == 0
        page.fill("#id_title", "暴雨致道路积水")
        with page.expect_navigation():
            page.click("#declare-form button.primary")
        number = page.locator(".incident-head h1 .code").inner_text()
        assert number.startswith("YJ")

        # Two departments at once.
        page.click("#dispatch-step > summary")
        page.select_option("#id_department_0", "HW")
        page.fill("#id_task_0", "抽排积水，清理路面")
        page.select_option("#id_department_1", "ZF")
        page.fill("#id_task_1", "排查危房，设置警示")
        with page.expect_navigation():
            page.click("#dispatch-form button.primary")
        assert page.locator("tr.dispatch-row").count() == 2
        # The grid workers are told.
        page.fill("#id_message", "请立即排查辖区低洼户，劝离危房住户")
        with page.expect_navigation():
            page.click("#broadcast-form button.primary")
        assert page.locator(".message.success").count() == 1
        assert not errors, errors

        # 2. The department acknowledges its task.
        unit, unit_errors = new_page(browser, DESKTOP)
        sign_in(unit, base, w.handler.username, PASSWORD)
        unit.goto(f"{base}/command/incidents/")
        assert unit.locator(f'tr.incident-row.cc-mine[data-number="{number}"]').count() == 1
        unit.goto(f"{base}/command/incidents/{number}/")
        with unit.expect_navigation():
            unit.click('tr.dispatch-row[data-department="HW"] .ack-button')
        assert (
            unit.locator('tr.dispatch-row[data-department="HW"]').get_attribute("data-state")
            == "acknowledged"
        )
        assert unit.locator('tr.dispatch-row[data-department="ZF"] .ack-button').count() == 0  # not theirs
        unit.evaluate("window.scrollTo(0, 0)")
        shoot(unit, "command-incident-department", full_page=True)
        state = in_db(lambda: IncidentDispatch.objects.get(department=w.hw).state)
        assert state == DispatchState.ACKNOWLEDGED

        # 3. The grid specialist reads the message on a phone.
        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, w.specialist.username, PASSWORD)
        phone.goto(f"{base}/cases/inbox/")
        assert "请立即排查辖区低洼户" in phone.content()
        shoot(phone, "command-incident-phone-inbox")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert not phone_errors, phone_errors

        # 4. The operator closes it with the report.
        page.reload()
        page.click("#close-step > summary")
        page.fill("#id_summary", "强降雨致镇区积水，经处置已恢复通行。")
        page.fill("#id_measures", "抽排积水；转移群众12人；设置警示标志。")
        page.fill("#id_relocated_people", "12")
        page.fill("#id_injuries", "abc")
        with page.expect_navigation():
            page.click("#close-form button.primary")
        assert page.locator("#id_injuries-errors").inner_text().strip()
        page.fill("#id_injuries", "1")
        page.fill("#id_direct_loss", "3.5")
        with page.expect_navigation():
            page.click("#close-form button.primary")
        assert page.locator("#incident-state").get_attribute("data-state") == "closed"
        assert page.locator("#incident-timeline li").count() == 6
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "command-incident", full_page=True)
        with page.expect_navigation():
            page.click("#report-link")
        assert "强降雨致镇区积水" in page.content() and "3.50" in page.content()
        shoot(page, "command-incident-report", full_page=True)
        assert not errors, errors

        # 5. The department's hotspot: the map, the chart, the root cause.
        unit.goto(f"{base}/command/incidents/")
        with unit.expect_navigation():
            unit.click('.section-tabs a[href="/command/hotspots/"]')
        with unit.expect_navigation():
            unit.click(f'tr.hotspot-row[data-id="{hotspot.pk}"] a')
        unit.wait_for_selector("#hotspot-map .leaflet-interactive")
        unit.wait_for_selector("#hotspot-chart canvas")
        # The ring and one marker per case.
        assert unit.locator("#hotspot-map path.leaflet-interactive").count() == 1 + 12
        unit.fill("#id_root_cause", "东街只有一个垃圾桶，周边餐馆多，清运一天一次。")
        unit.fill("#id_measures", "增设4个垃圾桶，清运改为一天两次。")
        unit.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays at the top of the full-page shot
        shoot(unit, "command-hotspot", full_page=True)
        with unit.expect_navigation():
            unit.click('#hotspot-form button[value="take"]')
        assert unit.locator(".cc-status-working").count() >= 1
        assert not unit_errors, unit_errors
