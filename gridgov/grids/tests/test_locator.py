"""`locate` must agree with a brute-force point-in-polygon test everywhere, edges included."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from gridgov.grids import locator
from gridgov.grids.locator import Locator

BOUNDS = (109.0, 40.0, 109.5, 40.3)


def voronoi_tiling(n: int, seed: int) -> list[shapely.Geometry]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOUNDS
    seeds = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]))
    envelope = box(*BOUNDS)
    cells = shapely.voronoi_polygons(seeds, extend_to=envelope)
    return [shapely.segmentize(c.intersection(envelope), 0.01) for c in cells.geoms]


CELLS = voronoi_tiling(60, seed=7)
CODES = [f"150621100200{i:03d}" for i in range(len(CELLS))][::-1]  # codes not in insertion order on purpose
IDS = list(range(1000, 1000 + len(CELLS)))
LOC = Locator(IDS, CODES, ["g"] * len(CELLS), CELLS, [()] * len(CELLS), [(None, None, None)] * len(CELLS))


def brute_force(lon: float, lat: float) -> int:
    """Every grid that covers the point, lowest code first; 0 when none does."""
    hits = sorted((CODES[i], IDS[i]) for i, c in enumerate(CELLS) if c.covers(Point(lon, lat)))
    return hits[0][1] if hits else 0


def boundary_points() -> st.SearchStrategy[tuple[float, float]]:
    """Vertices and edge midpoints of the cells: the hard cases for a locator."""
    coords = np.concatenate([shapely.get_coordinates(c) for c in CELLS])
    mids = (coords[:-1] + coords[1:]) / 2
    pool = [tuple(p) for p in np.concatenate([coords, mids])]
    return st.sampled_from(pool)


lon_st = st.floats(BOUNDS[0] - 0.05, BOUNDS[2] + 0.05, allow_nan=False)
lat_st = st.floats(BOUNDS[1] - 0.05, BOUNDS[3] + 0.05, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(point=st.one_of(st.tuples(lon_st, lat_st), boundary_points()))
def test_locate_agrees_with_brute_force(point):
    lon, lat = point
    expected = brute_force(lon, lat)
    single = LOC.locate(lon, lat)
    assert (single.grid_id or 0) == expected
    assert LOC.locate_many(np.array([lon]), np.array([lat]))[0] == expected


def test_batch_agrees_with_single_on_many_points():
    rng = np.random.default_rng(3)
    lons = rng.uniform(BOUNDS[0] - 0.05, BOUNDS[2] + 0.05, 20000)
    lats = rng.uniform(BOUNDS[1] - 0.05, BOUNDS[3] + 0.05, 20000)
    batch = LOC.locate_many(lons, lats)
    single = np.array([LOC.locate(x, y).grid_id or 0 for x, y in zip(lons, lats, strict=True)])
    assert (batch == single).all()
    assert (batch == 0).any() and (batch != 0).any()  # both outside and inside were exercised


def test_a_point_on_a_shared_edge_goes_to_the_lowest_code():
    a, b = box(0, 0, 1, 1), box(1, 0, 2, 1)
    loc = Locator(
        [1, 2], ["150621100200002", "150621100200001"], ["a", "b"], [a, b], [(), ()], [(None,) * 3] * 2
    )
    assert loc.locate(1.0, 0.5).grid_id == 2
    assert list(loc.locate_many(np.array([1.0, 0.5]), np.array([0.5, 0.5]))) == [2, 1]


def test_outside_the_territory_is_an_answer_not_an_error():
    found = LOC.locate(100.0, 30.0)
    assert found.outside and found.grid_id is None
    assert LOC.locate(float("nan"), 40.1).outside
    assert LOC.locate_many(np.array([100.0, np.nan]), np.array([30.0, 40.1]))[0] == 0


@pytest.mark.django_db
def test_locate_reads_the_database_tree_with_ancestors(small_tree):
    found = locator.locate(109.01, 40.05)
    grid = small_tree["150621100200001"]
    assert found.grid_id == grid.pk and found.code == grid.code
    assert found.l1_id == small_tree["150621100"].pk and found.l2_id == small_tree["150621100200"].pk
    assert found.ancestor_ids == (small_tree["150621100"].pk, small_tree["150621100200"].pk)
    assert locator.locate(120.0, 40.05).outside


@pytest.mark.django_db
def test_the_locator_rebuilds_when_the_tree_changes(small_tree):
    from gridgov.grids.services import bump_generation

    first = locator.get_locator()
    assert locator.get_locator() is first  # cached between changes
    bump_generation()  # in a test transaction on_commit does not fire: invalidate as a commit would
    locator.invalidate()
    assert locator.get_locator() is not first


@pytest.mark.django_db
def test_points_from_chinese_map_sdks_are_converted_before_locating(small_tree):
    from gridgov.grids.coords import from_wgs84

    # A point 30 m inside the east edge of grid …001 (109.025): its GCJ-02 form lies ~500 m further east,
    # in grid …002, so locating it unconverted would pick the wrong grid.
    lon, lat = 109.0247, 40.05
    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")
    assert locator.locate(gcj_lon, gcj_lat).code == "150621100200002"
    assert locator.locate(gcj_lon, gcj_lat, crs="gcj02").code == "150621100200001"
    bd_lon, bd_lat = from_wgs84(lon, lat, "bd09")
    assert locator.locate(bd_lon, bd_lat, crs="bd09").code == "150621100200001"
    ids = locator.locate_many(np.array([gcj_lon]), np.array([gcj_lat]), crs="gcj02")
    assert ids[0] == small_tree["150621100200001"].pk
