"""Grid administration in a real browser (Debian's Chromium through Playwright): the system administrator
opens a village, then splits one of its grids by drawing a line across it on the map and previews the split.
Screenshots at 1366×768 and 360×740 go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest

from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.grids.models import Grid
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = needs_chromium

VILLAGE, LEAF = "150621100200", "150621100200001"


def draw_line_across(page) -> None:
    """Click a vertical line through the middle of the map, from its top edge to its bottom edge: the grid is
    fitted with a margin, so both ends lie outside it."""
    box = page.locator("#manage-map").bounding_box()
    x = box["x"] + box["width"] / 2
    page.click("#draw-start")
    page.mouse.click(x, box["y"] + 6)
    page.mouse.click(x + 4, box["y"] + box["height"] - 30)
    page.click("#draw-finish")


@pytest.mark.django_db(transaction=True)
def test_manage_grids_and_preview_a_split(live_server, working_hours):
    seed_demo(DemoConfig.small())
    village = Grid.objects.current().get(code=VILLAGE)
    leaf = Grid.objects.current().get(code=LEAF)
    children = village.children.filter(valid_to=None).count()
    base = live_server.url

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, "sysadmin", DEMO_PASSWORD)
        page.goto(f"{base}/grids/manage/?grid={village.pk}")
        page.wait_for_selector("#manage-map path.grid-child")
        assert page.locator("#manage-map path.grid-child").count() == children
        assert page.locator("#children-list li").count() >= 2
        shoot(page, "manage-grids-desktop")

        # Split a level-3 grid along a line drawn across it, and preview what moves.
        page.goto(f"{base}/grids/manage/{leaf.pk}/split/")
        page.wait_for_selector("#draw-tools:not([hidden])")
        draw_line_across(page)
        drawn = page.input_value("#id_geometry")
        assert '"LineString"' in drawn
        page.click("button[name=preview]")
        page.wait_for_load_state("networkidle")
        page.wait_for_selector("#preview")
        assert page.locator("#preview .errors").count() == 0, page.inner_text("#preview")
        assert page.locator("#preview-results tbody tr").count() >= 2
        page.wait_for_selector("#manage-map path.grid-result")
        assert page.locator("button[name=save]").is_visible()
        page.locator("#preview").scroll_into_view_if_needed()
        shoot(page, "manage-grids-split-preview")

        # Redraw: the grid's corners are handles; dragging one writes the new boundary into the form.
        page.goto(f"{base}/grids/manage/{leaf.pk}/redraw/")
        page.wait_for_selector("#manage-map .vertex")
        before = page.input_value("#id_geometry")
        handle = page.locator("#manage-map .vertex:not(.middle)").first.bounding_box()
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 15, y + 10, steps=5)
        page.mouse.up()
        assert page.input_value("#id_geometry") != before
        assert '"Polygon"' in page.input_value("#id_geometry")
        shoot(page, "manage-grids-redraw")
        assert errors == []

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, "sysadmin", DEMO_PASSWORD)
        phone.goto(f"{base}/grids/manage/?grid={village.pk}")
        phone.wait_for_selector("#manage-map path.grid-child")
        # Nothing wider than the screen.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot(phone, "manage-grids-phone")
        assert phone_errors == []
