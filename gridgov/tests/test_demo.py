"""The demo county: reference numbers, determinism, seamless tiling, locating, people and their roles."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np
import pytest
import shapely
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.demo import tiling
from gridgov.demo.config import BBOX, DemoConfig
from gridgov.demo.county import build_county
from gridgov.demo.people import DEMO_ACCOUNTS, plan_people
from gridgov.demo.seed import DEMO_PASSWORD
from gridgov.grids import locator
from gridgov.grids.checks import check_tree
from gridgov.grids.geometry import area_m2, to_geojson
from gridgov.grids.models import SPECIAL_SEQUENCE_START, Grid

from .tiling_checks import brute_force_locate

DEPARTMENTS = [f"D{i:02d}" for i in range(32)]


def fingerprint(config: DemoConfig) -> list[tuple]:
    plan = build_county(config)
    people = plan_people(plan, DEPARTMENTS)
    grids = [(g.code, g.name, g.kind, g.households, g.population, g.geometry.wkb_hex) for g in plan.grids]
    users = [(u.username, u.full_name, tuple(u.assignments), u.admin_duty) for u in people.users]
    return grids + users


def test_the_same_seed_gives_the_same_county_and_another_seed_another():
    small = DemoConfig.small(seed=11)
    assert fingerprint(small) == fingerprint(small)
    assert fingerprint(small) != fingerprint(small.with_seed(12))


def test_small_county_plan_keeps_the_rules():
    config = DemoConfig.small()
    plan = build_county(config)
    levels = Counter(g.level for g in plan.grids)
    assert levels == {0: 1, 1: len(config.units), 2: config.level2, 3: config.level3}
    by_code = plan.by_code()
    for g in plan.grids:
        assert isinstance(g.geometry, shapely.Polygon) and g.geometry.is_valid, g.code
        x0, y0, x1, y1 = g.geometry.bounds
        assert BBOX[0] <= x0 and x1 <= BBOX[2] and BBOX[1] <= y0 and y1 <= BBOX[3], g.code
        if g.parent_code:
            assert g.code.startswith(g.parent_code) and len(g.code) == len(g.parent_code) + 3
            assert by_code[g.parent_code].level == g.level - 1
    for g in plan.level(2):
        # 社区 are numbered from 001 under the 街道, villages and gaqa from 200 under the towns.
        suffix = int(g.code[-3:])
        assert (suffix < 200) == (g.category == "community"), (g.code, g.category)
        assert g.name.endswith(("社区", "村", "嘎查"))
    for g in plan.level(3):
        special = int(g.code[-3:]) > SPECIAL_SEQUENCE_START
        assert special == (g.kind != "base"), g.code
    # Figures add up exactly, and the countryside holds the rural population.
    root = plan.level(0)[0]
    assert root.population == config.population
    rural = sum(g.population for g in plan.level(3) if g.category == "natural_village")
    assert rural == config.rural_population


def test_level3_codes_run_west_to_east_north_to_south():
    plan = build_county(DemoConfig.small())
    children = plan.children()
    for village in plan.level(2):
        base = [g for g in children[village.code] if g.kind == "base"]
        band = tiling.row_height(village.geometry, len(base))
        points = [
            g.geometry.centroid if g.geometry.contains(g.geometry.centroid) else g.geometry.point_on_surface()
            for g in base
        ]
        # Grid 001 lies in the northernmost row: nothing is a whole row further north.
        assert all(p.y < points[0].y + band for p in points), village.code
        # The last one lies in the southernmost row.
        assert all(p.y > points[-1].y - band for p in points), village.code


@pytest.mark.django_db
def test_small_county_in_the_database_tiles_locates_and_signs_in(small_county, client):
    report = check_tree()
    assert report.clean, report.defects[:5]

    # `locate` agrees with a brute-force test, on random points and on shared vertices.
    leaves = list(Grid.objects.current().filter(level=3).values_list("id", "code", "geometry"))
    rng = np.random.default_rng(3)
    root = Grid.objects.get(level=0)
    lons = rng.uniform(root.min_lon - 0.05, root.max_lon + 0.05, 3000)
    lats = rng.uniform(root.min_lat - 0.05, root.max_lat + 0.05, 3000)
    vertices = np.concatenate(
        [shapely.get_coordinates(shapely.from_geojson(json.dumps(g))) for _, _, g in leaves]
    )
    lons = np.concatenate([lons, vertices[:500, 0]])
    lats = np.concatenate([lats, vertices[:500, 1]])
    expected = brute_force_locate(leaves, lons, lats)
    assert (locator.locate_many(lons, lats) == expected).all()
    assert (expected > 0).sum() > 1000
    one = locator.locate(float(lons[0]), float(lats[0]))
    assert (one.grid_id or 0) == expected[0]

    # People: every level-3 grid has a specialist and an officer; every assignment keeps the role rules.
    config = DemoConfig.small()
    leaf_ids = {i for i, _, _ in leaves}
    for role in (Role.GRID_SPECIALIST, Role.INFO_OFFICER):
        covered = set(RoleAssignment.objects.filter(role=role).values_list("grid_id", flat=True))
        assert covered == leaf_ids, role
    for a in RoleAssignment.objects.select_related("grid", "department"):
        a.clean()
    assert RoleAssignment.objects.filter(role=Role.GRID_SPECIALIST).count() == config.specialists
    assert RoleAssignment.objects.filter(role=Role.INFO_OFFICER).count() == config.officers
    guides = RoleAssignment.objects.filter(role=Role.GRID_GUIDE)
    assert guides.count() == config.guides and not guides.filter(department=None).exists()
    assert set(guides.values_list("grid__level", flat=True)) == {2}

    # The three administrators are three accounts; the system administrator may use the admin site.
    duties = dict(User.objects.exclude(admin_duty="").values_list("username", "admin_duty"))
    assert duties == {
        "sysadmin": AdminDuty.SYSTEM,
        "secadmin": AdminDuty.SECURITY,
        "auditor": AdminDuty.AUDIT,
    }
    assert User.objects.get(username="sysadmin").is_staff
    assert set(User.objects.filter(username__in=DEMO_ACCOUNTS).values_list("username", flat=True)) == set(
        DEMO_ACCOUNTS
    )
    validate_password(DEMO_PASSWORD, User(username="sysadmin"))
    for username in ("sysadmin", "l1head", "resident"):
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    client.force_login(User.objects.get(username="sysadmin"))
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_refuses_a_database_that_holds_grids(small_tree):
    with pytest.raises(CommandError) as exc:
        call_command("seed_demo", "--small", stdout=io.StringIO())
    assert "7" in str(exc.value) or "grids" in str(exc.value) or "网格" in str(exc.value)
    assert not User.objects.filter(username="sysadmin").exists()


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError) as exc:
        call_command("seed_demo", "--small", stdout=io.StringIO())
    assert "GRIDGOV_ENV=production" in str(exc.value)
    assert not Grid.objects.exists()


@pytest.mark.django_db
def test_seed_demo_command_prints_the_accounts_and_the_time():
    out = io.StringIO()
    call_command("seed_demo", "--small", "--seed", "5", stdout=out)
    text = out.getvalue()
    assert DEMO_PASSWORD in text
    for username in ("sysadmin", "l2head", "specialist", "guide"):
        assert username in text
    assert Grid.objects.filter(level=3).count() == DemoConfig.small().level3


@pytest.mark.django_db
def test_the_full_demo_county_has_the_reference_numbers():
    """The whole county, once: `gridgov demo` (without serving) seeds it, `gridgov stats --json` counts it."""
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)  # its time is measured by bench/seed.py, not here
    assert DEMO_PASSWORD in out.getvalue() and "town_operator" in out.getvalue()

    buffer = io.StringIO()
    call_command("stats", "--json", stdout=buffer)
    stats = json.loads(buffer.getvalue())
    assert stats["grids"]["by_level"] == {"0": 1, "1": 15, "2": 158, "3": 1675}
    assert 5 <= stats["grids"]["special"] <= 20
    roles = stats["users"]["by_role"]
    assert roles[Role.GRID_HEAD_L1] == 15
    assert roles[Role.GRID_HEAD_L2] == 158
    assert roles[Role.GRID_SPECIALIST] == 1761
    assert roles[Role.INFO_OFFICER] == 2904
    assert roles[Role.GRID_GUIDE] == 251
    assert roles[Role.OPERATOR] == 4 + 15 * 2 and roles[Role.LEADER] == 3 + 15
    assert roles[Role.DEPT_HANDLER] >= 32 and roles[Role.RESIDENT] >= 100
    assert stats["users"]["by_admin_duty"] == {"system": 1, "security": 1, "audit": 1}
    assert stats["departments"] == 32
    assert stats["modules"] == 10
    assert stats["items"] == {"total": 145, "by_kind": {"component": 33, "event": 112}}
    assert stats["territory"]["population"] == 370_000
    assert abs(stats["territory"]["area_km2"] - 8188) < 8188 * 0.01

    # The database holds exactly what the generator makes for the default seed (it is deterministic).
    plan = build_county(DemoConfig())
    stored = {g.code: (g.name, g.population, g.geometry) for g in Grid.objects.current()}
    expected = {g.code: (g.name, g.population, to_geojson(g.geometry)) for g in plan.grids}
    assert stored == {
        code: tuple(v) for code, v in json.loads(json.dumps(expected)).items()
    }  # lists, as stored
    rural = sum(g.population for g in plan.level(3) if g.category == "natural_village")
    assert rural == 161_300

    # Every level-2 grid has its head and at least one grid guide; the six 街道 are small and urban.
    level2 = set(Grid.objects.current().filter(level=2).values_list("id", flat=True))
    guided = set(RoleAssignment.objects.filter(role=Role.GRID_GUIDE).values_list("grid_id", flat=True))
    assert guided == level2
    streets = Grid.objects.current().filter(level=1, code__lt="150621100")
    assert streets.count() == 6 and all(area_m2(shapely.geometry.shape(s.geometry)) < 100e6 for s in streets)

    # Children tile their parents: no gap, overlap or overhang above 1 m² (the check behind check-grids).
    report = check_tree(tolerance_m2=1.0)
    assert report.clean, report.defects[:5]

    # `locate` agrees with a brute-force point-in-polygon test over the whole county.
    leaves = list(Grid.objects.current().filter(level=3).values_list("id", "code", "geometry"))
    rng = np.random.default_rng(2026)
    lons, lats = rng.uniform(BBOX[0], BBOX[2], 4000), rng.uniform(BBOX[1], BBOX[3], 4000)
    assert (locator.locate_many(lons, lats) == brute_force_locate(leaves, lons, lats)).all()
