"""`check-grids`: gaps, overlaps, overhangs, invalid and missing boundaries, each with codes, place and area;
exit status 0 only when clean; fast on a county-sized tree."""

import datetime as dt
import json
import time

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation
from shapely.geometry import Polygon, box

from gridgov.grids.checks import DefectKind, check_tree, tile_defects
from gridgov.grids.geometry import to_geojson
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, do_create_grids

DALAD_BOX = (108.99, 39.81, 110.72, 40.56)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids); test_translations checks the Chinese ones."""
    with translation.override("en"):
        yield


# -- a synthetic county built bottom-up, so every level tiles its parent exactly --------------------------------
def voronoi_cells(n: int, bounds, rng) -> list[shapely.Geometry]:
    x0, y0, x1, y1 = bounds
    seeds = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]))
    envelope = box(*bounds)
    return [c.intersection(envelope) for c in shapely.voronoi_polygons(seeds, extend_to=envelope).geoms]


def group(geoms, k: int, rng) -> np.ndarray:
    """Assign each geometry to the nearest of k seeds taken among their centroids (no group is empty)."""
    centres = shapely.get_coordinates(shapely.centroid(np.array(geoms, dtype=object)))
    seeds = centres[rng.choice(len(geoms), k, replace=False)]
    return ((centres[:, None, :] - seeds[None, :, :]) ** 2).sum(-1).argmin(1)


def county_specs(towns=15, villages=158, grids=1675, seed=1, bounds=DALAD_BOX) -> list[GridSpec]:
    """A root, `towns` level-1, `villages` level-2 and `grids` level-3 grids; parents are unions of children."""
    rng = np.random.default_rng(seed)
    leaves = voronoi_cells(grids, bounds, rng)
    village_of = group(leaves, villages, rng)
    village_geoms = [
        shapely.union_all([leaves[i] for i in np.flatnonzero(village_of == v)]) for v in range(villages)
    ]
    town_of = group(village_geoms, towns, rng)
    specs = [GridSpec("150621", "达拉特旗", 0, box(*bounds))]
    for t in range(towns):
        members = np.flatnonzero(town_of == t)
        t_code = f"150621{100 + t:03d}"
        specs.append(
            GridSpec(t_code, f"镇{t}", 1, shapely.union_all([village_geoms[v] for v in members]), "150621")
        )
        for vi, v in enumerate(members):
            v_code = f"{t_code}{200 + vi:03d}"
            specs.append(GridSpec(v_code, f"村{t}-{vi}", 2, village_geoms[v], t_code))
            for gi, leaf in enumerate(np.flatnonzero(village_of == v)):
                specs.append(
                    GridSpec(
                        f"{v_code}{gi + 1:03d}",
                        f"网格{leaf}",
                        3,
                        leaves[leaf],
                        v_code,
                        households=50,
                        population=120,
                    )
                )
    return specs


def set_geometry(code: str, geom) -> None:
    Grid.objects.filter(code=code).update(geometry=to_geojson(geom))


@pytest.mark.django_db
def test_a_county_sized_tree_checks_clean_in_well_under_a_few_seconds():
    do_create_grids(county_specs(), actor=None, effective=dt.date(2025, 1, 1))
    assert Grid.objects.count() == 1 + 15 + 158 + 1675
    started = time.perf_counter()
    report = check_tree()
    elapsed = time.perf_counter() - started
    assert report.clean, [d.message() for d in report.defects[:5]]
    assert report.grids == 1849
    assert elapsed < 3.0


@pytest.mark.django_db
def test_the_small_tree_is_clean(small_tree):
    assert check_tree().clean


@pytest.mark.django_db
def test_a_gap_is_reported_with_its_parent_place_and_area(small_tree):
    # Grid …200001 is the west half of village …200 (109.0–109.025); take a 0.001° strip off its west side.
    set_geometry("150621100200001", box(109.001, 40.0, 109.025, 40.1))
    [gap] = check_tree().defects
    assert gap.kind == DefectKind.GAP and gap.codes == ("150621100200",)
    assert 109.0 < gap.lon < 109.001 and 40.0 < gap.lat < 40.1
    assert gap.area_m2 == pytest.approx(0.001 * 85_200 * 0.1 * 111_200, rel=0.01)  # ≈ 0.95 km²
    # The strip also lies in the town and the county, but those are tiled by villages and towns: one defect.
    assert "150621100200" in gap.message() and "m²" in gap.message()


@pytest.mark.django_db
def test_overlap_and_overhang_are_reported(small_tree):
    # Grid …200001 grows 0.001° east into its sibling …200002, and 0.001° north out of its village.
    set_geometry("150621100200001", box(109.0, 40.0, 109.026, 40.101))
    defects = check_tree().defects
    kinds = {d.kind: d for d in defects}
    assert set(kinds) == {DefectKind.OVERLAP, DefectKind.OUTSIDE}
    overlap = kinds[DefectKind.OVERLAP]
    assert overlap.codes == ("150621100200001", "150621100200002")
    assert 109.025 < overlap.lon < 109.026
    assert overlap.area_m2 == pytest.approx(0.001 * 85_200 * 0.1 * 111_200, rel=0.02)
    outside = kinds[DefectKind.OUTSIDE]
    assert outside.codes == ("150621100200001", "150621100200")
    assert 40.1 < outside.lat < 40.101
    assert "150621100200001" in outside.message() and "150621100200" in outside.message()


@pytest.mark.django_db
def test_tolerance_hides_slivers(small_tree):
    set_geometry("150621100200001", box(109.0, 40.0, 109.0250001, 40.1))  # 1 cm overlap along 11 km: ≈ 95 m²
    assert not check_tree().clean
    with override_settings(GRID_TOLERANCE_M2=200.0):
        assert check_tree().clean
    assert check_tree(tolerance_m2=200.0).clean


@pytest.mark.django_db
def test_invalid_and_missing_boundaries_are_reported(small_tree):
    bowtie = Polygon([(109.0, 40.0), (109.025, 40.1), (109.025, 40.0), (109.0, 40.1)])
    Grid.objects.filter(code="150621100200001").update(geometry=shapely.geometry.mapping(bowtie))
    Grid.objects.filter(code="150621100201002").update(geometry=None)
    defects = check_tree().defects
    missing = [d for d in defects if d.kind == DefectKind.MISSING]
    invalid = [d for d in defects if d.kind == DefectKind.INVALID]
    assert [d.codes for d in missing] == [("150621100201002",)]
    assert [d.codes for d in invalid] == [("150621100200001",)]
    assert "crosses itself" in invalid[0].message() and "109.012500, 40.050000" in invalid[0].message()
    # The village with a grid lacking its boundary gets no gap report: the missing boundary explains it.
    assert not any(d.kind == DefectKind.GAP and d.codes == ("150621100201",) for d in defects)


@pytest.mark.django_db
def test_tree_inconsistencies_are_reported(small_tree):
    Grid.objects.filter(code="150621100200002").update(
        code="150621101299002"
    )  # no longer its parent's prefix
    [defect] = check_tree().defects
    assert defect.kind == DefectKind.TREE and "150621101299002" in defect.message()


def test_tile_defects_on_plain_shapes():
    parent = box(0, 0, 0.01, 0.01)
    halves = [box(0, 0, 0.005, 0.01), box(0.005, 0, 0.01, 0.01)]
    assert tile_defects("P", parent, ["A", "B"], halves, tolerance_m2=1.0) == []
    defects = tile_defects(
        "P", parent, ["A", "B"], [box(0, 0, 0.006, 0.01), box(0.004, 0, 0.009, 0.01)], tolerance_m2=1.0
    )
    assert sorted(d.kind for d in defects) == ["gap", "overlap"]


@pytest.mark.django_db
def test_the_command_exit_status_and_json(small_tree, capsys):
    call_command("check_grids")
    assert "clean" in capsys.readouterr().out
    set_geometry("150621100200001", box(109.001, 40.0, 109.025, 40.1))
    with pytest.raises(SystemExit) as exit_:
        call_command("check_grids", "--json")
    assert exit_.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] is False and report["counts"] == {"gap": 1}
    [gap] = report["defects"]
    assert gap["codes"] == ["150621100200"] and gap["area_m2"] > 1e5 and gap["lon"] and gap["lat"]


def test_areas_are_exact_for_straight_lon_lat_edges_and_add_up():
    from gridgov.grids.geometry import EARTH_RADIUS_M, area_m2, areas_m2

    # A lon/lat box has a closed form on the authalic sphere.
    exact = EARTH_RADIUS_M**2 * np.radians(0.1) * (np.sin(np.radians(40.1)) - np.sin(np.radians(40.0)))
    assert area_m2(box(109.0, 40.0, 109.1, 40.1)) == pytest.approx(exact, rel=1e-12)
    # Pieces add up to the whole, wherever the cut puts new vertices on slanted edges.
    triangle = Polygon([(109.0, 40.0), (109.3, 40.2), (109.1, 40.5)])
    west = triangle.intersection(box(100, 30, 109.13, 50))
    east = triangle.difference(box(100, 30, 109.13, 50))
    assert area_m2(west) + area_m2(east) == pytest.approx(area_m2(triangle), abs=1e-3)
    # A zero-width sliver (a vertex in the middle of a slanted edge) has no area. Projecting vertices only
    # would give it the bulge of the projected edge: hundreds of m², reported as a gap.
    assert abs(area_m2(Polygon([(109.0, 40.0), (109.2, 40.3), (109.1, 40.15)]))) < 1e-3
    # Holes, collections and non-polygons.
    holed = box(109.0, 40.0, 109.1, 40.1).difference(box(109.02, 40.02, 109.03, 40.03))
    assert area_m2(holed) == pytest.approx(exact - area_m2(box(109.02, 40.02, 109.03, 40.03)), rel=1e-12)
    collection = shapely.GeometryCollection(
        [shapely.MultiPolygon([box(109.0, 40.0, 109.1, 40.1)]), shapely.Point(0, 0)]
    )
    assert list(areas_m2([collection, Polygon(), shapely.LineString([(0, 0), (1, 1)])])) == [
        pytest.approx(exact),
        0,
        0,
    ]
