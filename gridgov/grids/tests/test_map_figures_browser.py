"""The registry's figures on the grid map, in a real browser (Debian's Chromium through Playwright).

The county's leader opens the map: the panel shows the registry's figures of the county and, for each town
listed, its registered population and households; opening a town, a village and one of its grids asks for the
figures once per grid opened (none for a grid whose figures came with its parent's). Colouring the map by
registered population colours the grids from the legend's ramp and draws the legend. A department's handler,
who reads no registry, sees the map as before: no figures, no colouring choice, no request for them, no error.
Screenshots at 1366×768 and 360×740, in Chinese and in English, go to test-artifacts/map-figures-*.png."""

from __future__ import annotations

import re

import pytest

from gridgov.accounts.models import User
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.grids.models import Grid
from gridgov.registry.selectors import figures_of
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in
from gridgov.tests.test_map_browser import click_grid

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

COUNTY, TOWN, VILLAGE = "150621", "150621100", "150621100200"
RAMP = {"#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"}  # map.js's colours for registered population
FIGURES_API = "/api/registry/figures"


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def shown_figure(page, name: str) -> int:
    return digits(page.locator(f'#g-provided [data-figure="{name}"] dd').inner_text())


def test_the_map_shows_registry_figures_and_colours_by_registered_population(live_server, working_hours):
    seed_demo(DemoConfig.small())
    leader = User.objects.get(username="leader")
    county, towns = figures_of(leader, Grid.objects.current().get(code=COUNTY))
    town_totals, villages = figures_of(leader, Grid.objects.current().get(code=TOWN))
    village = next(v for v in villages if v.grid.code == VILLAGE)
    _village, leaves = figures_of(leader, village.grid)
    leaf = next(g for g in leaves if g.persons)
    assert county.persons and town_totals.persons and leaf.persons  # the demo has people to count
    base = live_server.url

    with chromium() as browser:
        for language in ("zh-hans", "en"):
            for viewport, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
                page, errors = new_page(browser, viewport)
                sign_in(page, base, "leader", DEMO_PASSWORD)
                page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
                asked: list[str] = []
                page.on(
                    "request", lambda r, asked=asked: asked.append(r.url) if FIGURES_API in r.url else None
                )

                page.goto(f"{base}/grids/map/")
                page.wait_for_selector(f"path.grid-{TOWN}")
                page.locator('#g-provided [data-figure="persons"]').wait_for()
                # The county's figures, and each town's registered population and households in the list.
                assert shown_figure(page, "persons") == county.persons
                assert shown_figure(page, "households") == county.households
                assert shown_figure(page, "buildings") == county.buildings
                assert shown_figure(page, "keyGroups") == county.key_group_people
                assert page.locator("#g-provided .key-groups li").count() == len(county.key_groups)
                rows = page.locator("#g-children-rows tr")
                assert rows.count() == len(towns)
                town_row = page.locator(f'#g-children-rows tr[data-code="{TOWN}"]')
                expected = next(t for t in towns if t.grid.code == TOWN)
                assert digits(town_row.locator("td.persons").inner_text()) == expected.persons
                assert digits(town_row.locator("td.households").inner_text()) == expected.households
                assert len(asked) == 1, asked

                click_grid(page, TOWN)  # the town: its figures and its villages'
                page.wait_for_selector(f"path.grid-{VILLAGE}")
                page.wait_for_function(
                    "n => document.querySelector('#g-provided [data-figure=persons] dd')"
                    "?.textContent.replace(/\\D/g, '') === String(n)",
                    arg=town_totals.persons,
                )
                assert len(asked) == 2, asked
                village_row = page.locator(f'#g-children-rows tr[data-code="{VILLAGE}"]')
                assert digits(village_row.locator("td.persons").inner_text()) == village.persons

                # Coloured by registered population: every grid filled from the ramp, and a legend.
                page.select_option("#map-colouring", "population")
                legend = page.locator("#map-legend")
                assert legend.is_visible()
                assert legend.locator("li").count() >= 1
                fills = page.evaluate(
                    "() => [...window.gridMap.state.layers.values()].map(l => l.baseStyle.fillColor)"
                )
                assert fills and set(fills) <= RAMP, fills
                # The most populous village gets the darkest class shown.
                most = max(villages, key=lambda v: v.persons)
                fill = page.locator(f"path.grid-{most.grid.code}").get_attribute("fill")
                assert fill == page.locator("#map-legend li .swatch").last.evaluate(
                    "e => '#' + getComputedStyle(e).backgroundColor.match(/\\d+/g)"
                    ".map(n => (+n).toString(16).padStart(2, '0')).join('')"
                )
                page.evaluate("window.scrollTo(0, 0)")
                shoot(page, f"map-figures-town-{tag}-{language}", full_page=tag == "phone")

                click_grid(page, VILLAGE)  # one more request: the village's grids
                page.wait_for_selector(f"path.grid-{leaf.grid.code}")
                click_grid(page, leaf.grid.code)  # a grid among its siblings: its figures came with them
                page.wait_for_function(
                    "code => document.querySelector('#g-code')?.textContent === code", arg=leaf.grid.code
                )
                assert shown_figure(page, "persons") == leaf.persons
                assert len(asked) == 3, asked
                page.evaluate("window.scrollTo(0, 0)")
                shoot(page, f"map-figures-grid-{tag}-{language}", full_page=tag == "phone")
                wide = page.evaluate(
                    "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w)"
                    ".filter(e => !e.closest('.leaflet-container, .topbar, nav')).slice(0, 5)"
                    ".map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 30))",
                    viewport["width"],
                )
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], wide
                assert not errors, errors
                page.context.close()

        # Who reads no registry sees the map as before.
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, "handler", DEMO_PASSWORD)
        asked = []
        page.on("request", lambda r: asked.append(r.url) if "/api/registry/" in r.url else None)
        page.goto(f"{base}/grids/map/")
        page.wait_for_selector(f"path.grid-{TOWN}")
        click_grid(page, TOWN)
        page.wait_for_selector(f"path.grid-{VILLAGE}")
        assert page.locator("#g-provided").is_hidden()
        assert page.locator("#map-colouring").count() == 0 and page.locator("#map-legend").count() == 0
        assert page.locator("#th-persons").is_hidden() and page.locator("td.provided").count() == 0
        assert page.locator("#g-children-rows td.col-code").first.is_visible()
        assert asked == [] and not errors, (asked, errors)
        shoot(page, "map-figures-none-desktop")
