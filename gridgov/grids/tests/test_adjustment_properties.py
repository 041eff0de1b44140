"""Properties of dynamic adjustment on small synthetic trees: after any sequence of splits, merges and
redraws the tree is still seamless (check-grids is clean), every level still covers the same area, the
leaves keep their households, and the history answers the old tree for the day before each change."""

import datetime as dt
import math

import pytest
import shapely
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from gridgov.grids.checks import check_tree
from gridgov.grids.geometry import area_m2, from_geojson
from gridgov.grids.models import Grid
from gridgov.grids.selectors import tree_on
from gridgov.grids.services import do_create_grids, do_merge_grids, do_redraw_boundary, do_split_grid
from gridgov.grids.validation import GridInputError

from .test_checks import county_specs

START = dt.date(2026, 1, 1)
BOUNDS = (109.0, 40.0, 109.2, 40.1)


def half_plane(point: shapely.Point, angle: float) -> Polygon:
    """The half of the plane left of the line through `point` at `angle` (radians)."""
    dx, dy = math.cos(angle), math.sin(angle)
    nx, ny = -dy, dx
    x, y, far = point.x, point.y, 1.0
    return Polygon(
        [
            (x - far * dx, y - far * dy),
            (x + far * dx, y + far * dy),
            (x + far * dx + far * nx, y + far * dy + far * ny),
            (x - far * dx + far * nx, y - far * dy + far * ny),
        ]
    )


def shape(grid: Grid):
    return from_geojson(grid.geometry)


def neighbours(grid: Grid) -> list[Grid]:
    """Current siblings sharing more than about a metre of boundary with `grid`."""
    mine = shape(grid)
    siblings = Grid.objects.current().filter(parent_id=grid.parent_id).exclude(pk=grid.pk).order_by("code")
    return [s for s in siblings if shapely.intersection(mine, shape(s)).length > 1e-5]


def current_tree() -> dict[str, tuple[str | None, shapely.Geometry]]:
    return {
        g.code: (g.parent.code if g.parent else None, shape(g))
        for g in Grid.objects.current().select_related("parent")
    }


def tree_as_of(day: dt.date) -> dict[str, tuple[str | None, shapely.Geometry]]:
    return {
        v.grid.code: (v.parent.code if v.parent else None, from_geojson(v.geometry)) for v in tree_on(day)
    }


def same_tree(a, b) -> bool:
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and shapely.equals_exact(a[k][1].normalize(), b[k][1].normalize(), 1e-12)
        for k in a
    )


def level_areas() -> dict[int, tuple[float, float]]:
    """Total area of each level: in square degrees and in m² as stored (both exactly additive)."""
    totals: dict[int, tuple[float, float]] = {}
    for g in Grid.objects.current():
        degrees, metres = totals.get(g.level, (0.0, 0.0))
        totals[g.level] = (degrees + shape(g).area, metres + g.area_m2)
    return totals


def leaf_households() -> int:
    return sum(Grid.objects.current().filter(level=3).values_list("households", flat=True))


# -- one random adjustment -------------------------------------------------------------------------------------------
def split_leaf(data, day):
    grid = data.draw(st.sampled_from(list(Grid.objects.current().filter(level=3).order_by("code"))))
    whole = shape(grid)
    cut = half_plane(shapely.point_on_surface(whole), data.draw(st.floats(0, math.pi)))
    pieces = [("甲", shapely.intersection(whole, cut)), ("乙", shapely.difference(whole, cut))]
    do_split_grid(grid, pieces, actor=None, effective=day)


def split_village(data, day):
    villages = [
        v
        for v in Grid.objects.current().filter(level=2).order_by("code")
        if v.children.filter(valid_to=None).count() >= 2
    ]
    if not villages:
        return False
    village = data.draw(st.sampled_from(villages))
    children = list(village.children.filter(valid_to=None).order_by("code"))
    first = data.draw(st.sets(st.integers(0, len(children) - 1), min_size=1, max_size=len(children) - 1))
    groups = [
        [c for i, c in enumerate(children) if i in first],
        [c for i, c in enumerate(children) if i not in first],
    ]
    pieces = [(f"片{i}", shapely.union_all([shape(c) for c in g])) for i, g in enumerate(groups)]
    do_split_grid(village, pieces, actor=None, effective=day)
    return True


def merge_pair(data, day):
    level = data.draw(st.sampled_from([2, 3]))
    candidates = [g for g in Grid.objects.current().filter(level=level).order_by("code") if neighbours(g)]
    if not candidates:
        return False
    grid = data.draw(st.sampled_from(candidates))
    other = data.draw(st.sampled_from(neighbours(grid)))
    do_merge_grids([grid, other], name=f"并{grid.pk}-{other.pk}", actor=None, effective=day)
    return True


def redraw_leaves(data, day):
    candidates = [g for g in Grid.objects.current().filter(level=3).order_by("code") if neighbours(g)]
    if not candidates:
        return False
    a = data.draw(st.sampled_from(candidates))
    b = data.draw(st.sampled_from(neighbours(a)))
    shape_b = shape(b)
    taken = shapely.intersection(
        shape_b, half_plane(shapely.point_on_surface(shape_b), data.draw(st.floats(0, 2 * math.pi)))
    )
    do_redraw_boundary(a, b, shapely.union_all([shape(a), taken]), actor=None, effective=day)
    return True


def redraw_villages(data, day):
    """Village A takes one grid of its neighbour B (B keeps at least one)."""
    candidates = [g for g in Grid.objects.current().filter(level=2).order_by("code") if neighbours(g)]
    if not candidates:
        return False
    a = data.draw(st.sampled_from(candidates))
    options = [b for b in neighbours(a) if b.children.filter(valid_to=None).count() >= 2]
    if not options:
        return False
    b = data.draw(st.sampled_from(options))
    child = data.draw(st.sampled_from(list(b.children.filter(valid_to=None).order_by("code"))))
    do_redraw_boundary(a, b, shapely.union_all([shape(a), shape(child)]), actor=None, effective=day)
    return True


OPERATIONS = {
    "split leaf": split_leaf,
    "split village": split_village,
    "merge": merge_pair,
    "redraw leaves": redraw_leaves,
    "redraw villages": redraw_villages,
}


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # explaining takes a minute
)
@given(data=st.data(), seed=st.integers(0, 10_000))
def test_adjustments_keep_the_tree_seamless_and_the_history_true(data, seed):
    with translation.override("en"), transaction.atomic():
        do_create_grids(county_specs(2, 4, 12, seed=seed, bounds=BOUNDS), actor=None, effective=START)
        root = shape(Grid.objects.get(level=0))
        root_area = (root.area, area_m2(root))
        households = leaf_households()
        assert check_tree().clean
        day = START
        for _step in range(data.draw(st.integers(1, 3))):
            name = data.draw(st.sampled_from(sorted(OPERATIONS)))
            day = day + dt.timedelta(days=data.draw(st.integers(1, 60)))
            before = current_tree()
            try:
                done = OPERATIONS[name](data, day)
            except GridInputError as exc:
                # A refusal is allowed (e.g. a cut too thin to keep) but must change nothing.
                event(f"{name}: refused")
                assert same_tree(current_tree(), before), exc.messages
                continue
            if done is False:
                continue
            event(f"{name}: done")
            report = check_tree()
            assert report.clean, [d.message() for d in report.defects]
            for level, (degrees, metres) in level_areas().items():
                assert degrees == pytest.approx(root_area[0], rel=1e-9), level
                assert metres == pytest.approx(root_area[1], rel=1e-9), level
            assert leaf_households() == households
            assert same_tree(tree_as_of(day - dt.timedelta(days=1)), before)
            assert same_tree(tree_as_of(day), current_tree())
            for g in Grid.objects.current().select_related("parent"):
                assert g.path.endswith(f"/{g.pk}/") and (g.parent is None or g.path.startswith(g.parent.path))
                assert getattr(g, f"l{g.level}_id", g.pk) == g.pk if 1 <= g.level <= 3 else True
        transaction.set_rollback(True)
