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


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """Database work done once for a module's tests, held in an outer transaction that is rolled back after
    the module. Each test's own transaction (the `db` fixture) nests in it as a savepoint, so every test
    starts from exactly the module's data and its own changes are rolled back after it.

    Yields `unblocked`, the context to do the module's database work in. Use it from a module-scoped fixture
    only in a module whose database tests all run on that data (a test of the module running after the first
    user sees it too), with no transactional test in the module, and no test that reaches the database from
    another thread or process (the outer transaction holds SQLite's write lock for the module):

        @pytest.fixture(scope="module")
        def county_once(module_db):
            with module_db():
                seed_demo(DemoConfig.small())

        @pytest.fixture
        def county(db, county_once): ...
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield django_db_blocker.unblock
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Tests roll their transactions back, so cache generations can repeat: start each test with fresh caches."""
    from gridgov.catalog.selectors import invalidate_cache
    from gridgov.core import calendar
    from gridgov.grids import locator

    locator.invalidate()
    calendar.invalidate()
    invalidate_cache()
    yield
    locator.invalidate()
    calendar.invalidate()
    invalidate_cache()


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Evidence and other uploads of a test go to its own directory, never to the project's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def small_tree(db):
    """Root 150621, towns 150621100/101, villages …200/201, level-3 grids …001/002; returns {code: Grid}."""
    grids = do_create_grids(small_tree_specs(), actor=None, effective=dt.date(2026, 1, 1))
    return {g.code: g for g in grids}


# argon2 is slow on purpose (~0.1 s a hash): hash each test password once per run and give every user made with
# it the same real argon2 hash, so a world of twenty people costs milliseconds, and sign-in still verifies it.
_HASHES: dict[tuple[str, str], str] = {}


@pytest.fixture
def make_user(db):
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from gridgov.accounts.models import User

    def make(username: str, password: str = "Correct-Horse-9", **fields):
        key = (password, settings.PASSWORD_HASHERS[0])  # a test may choose another hasher
        if key not in _HASHES:
            _HASHES[key] = make_password(password)
        user = User(username=username, password=_HASHES[key], **fields)
        user.save()
        return user

    return make


@pytest.fixture
def catalog(db):
    """The packaged responsibility list: 32 departments, 10 modules, 145 items."""
    from gridgov.catalog.services import do_load_catalog

    return do_load_catalog(actor=None)


@pytest.fixture
def working_hours(db):
    """The default working hours. A transactional test flushes the tables, migrations' data included."""
    from gridgov.core import calendar
    from gridgov.core.models import WorkingPeriod

    if not WorkingPeriod.objects.exists():
        WorkingPeriod.objects.bulk_create(
            [
                WorkingPeriod(start=dt.time(8, 30), end=dt.time(12, 0)),
                WorkingPeriod(start=dt.time(14, 30), end=dt.time(18, 0)),
            ]
        )
        calendar.invalidate()


@pytest.fixture
def holidays(db):
    """The packaged 2026 public holidays and make-up working days, as the migration loads them (a transactional
    test before this one may have flushed them)."""
    from pathlib import Path

    from gridgov.core import calendar
    from gridgov.core.models import CalendarDay

    if not CalendarDay.objects.filter(date__year=2026).exists():
        data = calendar.load_holidays_file(
            Path(calendar.__file__).parents[1] / "catalog/data/holidays/2026.json"
        )
        calendar.do_load_holidays(data, actor=None)


@pytest.fixture
def world(small_tree, catalog, make_user, working_hours):
    """Everybody around a case in the small tree, item 011001 (litter bin: lead HW, assisting ZF).

    Town 150621100 ("t") holds village …100200 ("v") holding grid …100200001 ("g"); "g2" is a grid of the
    other town. Returns a namespace with the grids, the item and one user per capacity."""
    from types import SimpleNamespace

    from gridgov.accounts.models import RoleAssignment
    from gridgov.catalog.models import Department, Item

    grids = small_tree
    root, t, v, g = grids["150621"], grids["150621100"], grids["150621100200"], grids["150621100200001"]
    g2 = grids["150621101200001"]
    hw, zf, ga = (Department.objects.get(code=c) for c in ("HW", "ZF", "GA"))

    def person(username: str, role: str | None = None, grid=None, department=None, **fields):
        user = make_user(username, full_name=fields.pop("full_name", username), **fields)
        if role:
            RoleAssignment.objects.create(user=user, role=role, grid=grid, department=department)
        return user

    return SimpleNamespace(
        root=root,
        town=t,
        village=v,
        grid=g,
        grid_b=grids["150621100200002"],
        other_grid=g2,
        item=Item.objects.get(code="011001"),
        hw=hw,
        zf=zf,
        ga=ga,
        operator=person("op", "operator", t),
        banner_operator=person("bop", "operator", root),
        other_operator=person("op2", "operator", grids["150621101"]),
        l1head=person("l1", "grid_head_l1", t),
        l2head=person("l2", "grid_head_l2", v),
        specialist=person("spec", "grid_specialist", g),
        officer=person("officer", "info_officer", g),
        other_specialist=person("spec2", "grid_specialist", g2),
        handler=person("hw1", "dept_handler", department=hw),
        assistant=person("zf1", "dept_handler", department=zf),
        other_handler=person("ga1", "dept_handler", department=ga),
        guide=person("guide", "grid_guide", v, hw),
        leader=person("leader", "leader", root),
        resident=person("res", "resident", full_name="王小明"),
        other_resident=person("res2", "resident"),
        mediator=person("med", "mediator", v),
    )


@pytest.fixture
def png_bytes():
    """A small real PNG photo."""
    import io

    from PIL import Image

    def make(colour=(200, 30, 30)) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(buf, format="PNG")
        return buf.getvalue()

    return make
