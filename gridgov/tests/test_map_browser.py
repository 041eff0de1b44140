"""The grid map in a real browser (Debian's Chromium through Playwright): sign in, drill down town →
village → level-3 grid by clicking the polygons, and read the responsible people in the panel. Screenshots
at 1366×768 and 360×740 go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.grids.models import Grid
from gridgov.tests.browser import ARGS, ARTIFACTS, CHROMIUM, needs_chromium

TOWN, VILLAGE, LEAF = "150621100", "150621100200", "150621100200001"
HOSTILE = '<img src=x onerror="window.injected=1">昭君镇'

pytestmark = needs_chromium


def click_grid(page, code: str) -> None:
    """Click a grid's polygon where its label sits (a point inside it, never in a hole)."""
    point = page.evaluate(
        """code => {
            const {map, state} = window.gridMap;
            for (const layer of state.layers.values()) {
                if (layer.feature.properties.code === code) {
                    const [lon, lat] = layer.feature.properties.label;
                    const p = map.latLngToContainerPoint([lat, lon]);
                    const box = map.getContainer().getBoundingClientRect();
                    return {x: box.left + p.x, y: box.top + p.y};
                }
            }
            return null;
        }""",
        code,
    )
    assert point is not None, f"{code} is not on the map"
    page.mouse.click(point["x"], point["y"])


@pytest.mark.django_db(transaction=True)
def test_drill_down_to_a_level3_grid_and_see_its_people(live_server, working_hours):
    # The database work happens before Playwright starts: its sync API runs an event loop in this thread,
    # and Django refuses ORM calls from a thread with a running loop.
    seed_demo(DemoConfig.small())
    leaf = Grid.objects.get(code=LEAF)
    people = {
        a.role: a.user.full_name
        for a in RoleAssignment.objects.filter(grid=leaf).select_related("user").order_by("-id")
    }
    village_name = Grid.objects.get(code=VILLAGE).name
    # Names are data (the admin, imports): markup in one must show as text and run nothing.
    Grid.objects.filter(code="150621104").update(name=HOSTILE)
    ARTIFACTS.mkdir(exist_ok=True)

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width, height, tag in ((1366, 768, "desktop"), (360, 740, "phone")):
                context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))

                page.goto(f"{live_server.url}/grids/map/")
                page.fill("#id_username", "leader")
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/grids/map/**")
                page.wait_for_selector(f"path.grid-{TOWN}")
                expect(page.locator("#g-name")).to_have_text("达拉特旗")
                expect(page.locator("#g-children-rows")).to_contain_text(HOSTILE)
                assert page.locator(".leaflet-tooltip img, #panel img").count() == 0
                assert page.evaluate("window.injected") is None
                page.screenshot(path=ARTIFACTS / f"map-county-{tag}.png")

                click_grid(page, TOWN)  # the town → its villages
                page.wait_for_selector(f"path.grid-{VILLAGE}")
                expect(page.locator("#crumbs")).to_contain_text("树林召镇")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=ARTIFACTS / f"map-town-{tag}.png")

                click_grid(page, VILLAGE)  # the village → its level-3 grids
                page.wait_for_selector(f"path.grid-{LEAF}")
                expect(page.locator("#g-name")).to_have_text(village_name)

                click_grid(page, LEAF)  # the level-3 grid: its figures and its people
                expect(page.locator("#g-code")).to_have_text(LEAF)
                panel = page.locator("#g-people")
                expect(panel).to_contain_text(people[Role.GRID_SPECIALIST])
                expect(panel).to_contain_text(people[Role.INFO_OFFICER])
                expect(panel).to_contain_text("网格专员")
                expect(page.locator("#crumbs")).to_contain_text(village_name)
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=ARTIFACTS / f"map-grid-{tag}.png", full_page=tag == "phone")

                # Up again through the breadcrumb.
                page.locator("#crumbs button", has_text="树林召镇").click()
                expect(page.locator("#g-name")).to_have_text("树林召镇")
                # A link to a grid that does not exist says so and shows the user's own grids.
                page.goto(f"{live_server.url}/grids/map/?grid=987654321")
                expect(page.locator("#map-status")).to_contain_text("不存在或不在您的管辖范围内")
                expect(page.locator("#g-name")).to_have_text("达拉特旗")
                assert errors == [], errors
                context.close()
        finally:
            browser.close()
