"""Routing rules name grids; when grids are split or merged the rules follow them (动态调整)."""

import datetime as dt

import pytest
from shapely.geometry import box

from gridgov.catalog.models import Department, Item, RoutingRule
from gridgov.catalog.selectors import route
from gridgov.grids.models import Grid
from gridgov.grids.services import do_merge_grids, do_split_grid

DAY = dt.date(2026, 6, 1)


def current(code: str) -> Grid:
    return Grid.objects.current().get(code=code)


@pytest.mark.django_db
def test_a_split_grid_hands_its_rules_to_every_piece(catalog, small_tree):
    item = Item.objects.get(code="011001")
    utility = Department.objects.get(code="GS")
    grid = current("150621100200001")
    RoutingRule.objects.create(grid=grid, item=item, department=utility)

    pieces = do_split_grid(
        grid,
        [("北片", box(109.0, 40.05, 109.025, 40.1)), ("南片", box(109.0, 40.0, 109.025, 40.05))],
        actor=None,
        effective=DAY,
    )
    assert sorted(RoutingRule.objects.values_list("grid__code", flat=True)) == sorted(p.code for p in pieces)
    assert all(route(item, piece).lead == utility for piece in pieces)
    # The neighbour was never covered by the rule and still is not.
    assert route(item, current("150621100200002")).lead == item.lead_department


@pytest.mark.django_db
def test_merged_grids_keep_one_rule_per_item(catalog, small_tree):
    item = Item.objects.get(code="011001")
    first, second = current("150621100200001"), current("150621100200002")
    RoutingRule.objects.create(grid=first, item=item, department=Department.objects.get(code="GS"))
    RoutingRule.objects.create(grid=second, item=item, department=Department.objects.get(code="GD"))

    merged = do_merge_grids([first, second], name="合并网格", actor=None, effective=DAY)
    rules = RoutingRule.objects.all()
    # Both rules named the same item: the one of the lowest code (…001) is kept for the merged grid.
    assert [(r.grid_id, r.department.code) for r in rules] == [(merged.pk, "GS")]
    assert route(item, merged).lead.code == "GS"
