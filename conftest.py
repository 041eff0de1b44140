"""Shared pytest fixtures: a small grid tree that tiles exactly, and users holding roles in it."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box

from gridgov.grids.services import GridSpec, do_create_grids

COUNTY = "150621"


def small_tree_specs(towns: int = 2, villages: int = 2, grids: int = 2) -> list[GridSpec]:
    """A county of `towns` × `villages` × `grids` rectangles laid west→east; every level tiles its parent."""
    width = 0.1
    specs = [GridSpec(COUNTY, "达拉特旗", 0, box(109.0, 40.0, 109.0 + width * towns, 40.1))]
    for t in range(towns):
        t_code = f"{COUNTY}{100 + t:03d}"
        tx = 109.0 + t * width
        specs.append(GridSpec(t_code, f"镇{t + 1}", 1, box(tx, 40.0, tx + width, 40.1), COUNTY))
        v_width = width / villages
        for v in range(villages):
            v_code = f"{t_code}{200 + v:03d}"
            vx = tx + v * v_width
            specs.append(GridSpec(v_code, f"村{t + 1}-{v + 1}", 2, box(vx, 40.0, vx + v_width, 40.1), t_code))
            g_width = v_width / grids
            for g in range(grids):
                gx = vx + g * g_width
                specs.append(
                    GridSpec(
                        f"{v_code}{g + 1:03d}",
                        f"网格{t + 1}-{v + 1}-{g + 1}",
                        3,
                        box(gx, 40.0, gx + g_width, 40.1),
                        v_code,
                        households=100,
                        population=300,
                    )
                )
    return specs


@pytest.fixture(autouse=True)
def fresh_caches():
    """Tests roll their transactions back, so cache generations can repeat: start each test with fresh caches."""
    from gridgov.core import calendar
    from gridgov.grids import locator

    locator.invalidate()
    calendar.invalidate()
    yield
    locator.invalidate()
    calendar.invalidate()


@pytest.fixture
def small_tree(db):
    """Root 150621, towns 150621100/101, villages …200/201, level-3 grids …001/002; returns {code: Grid}."""
    grids = do_create_grids(small_tree_specs(), actor=None, effective=dt.date(2026, 1, 1))
    return {g.code: g for g in grids}


@pytest.fixture
def make_user(db):
    from gridgov.accounts.models import User

    def make(username: str, password: str = "Correct-Horse-9", **fields):
        user = User(username=username, **fields)
        user.set_password(password)
        user.save()
        return user

    return make


@pytest.fixture
def catalog(db):
    """The packaged responsibility list: 32 departments, 10 modules, 145 items."""
    from gridgov.catalog.services import do_load_catalog

    return do_load_catalog(actor=None)
