"""The figures of a grid (`GET /api/registry/figures`, the registry home, the grid map): what the registry holds
in a grid and in each grid directly below it, rolled up the tree, counted from the records the caller may see;
key groups as counts. The cost is one grouped query per kind of record however many grids are below: the
guard grows the number of children and the query count must not follow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conftest import small_tree_specs
from gridgov.accounts.models import RoleAssignment
from gridgov.catalog.models import Item
from gridgov.grids.services import do_create_grids
from gridgov.registry.choices import KeyGroup
from gridgov.registry.models import Building, Component, Household, Organisation
from gridgov.registry.services import PersonInput, do_register_person

from . import test_access
from .test_access import client_for

scene = test_access.scene  # the registry tests' shared fixture

API = "/api/registry/figures"
STEMS = "甲乙丙丁戊己庚辛壬癸"
pytestmark = pytest.mark.django_db


def figures(user: Any, grid_code: str) -> dict[str, Any]:
    answer = client_for(user).get(API, {"grid": grid_code})
    assert answer.status_code == 200, answer.content
    return answer.json()


def counts(entry: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        entry["persons"],
        entry["households"],
        entry["buildings"],
        entry["organisations"],
        entry["components"],
    )


def test_figures_roll_up_the_tree_and_count_buildings(scene):
    world = scene.world
    tower = Building(code="B-0001", name="林原小区1栋")
    tower.place_in(world.grid)
    tower.save()
    leader = world.leader  # the county: every record

    county = figures(leader, world.root.code)
    # 张建国, 李秀英 and 王德胜 in the first town, 陈美兰 in the other; two households, a building, a shop, a bin.
    assert counts(county["totals"]) == (4, 2, 1, 1, 1)
    assert [(c["grid"]["code"], c["persons"]) for c in county["children"]] == [
        ("150621100", 3),
        ("150621101", 1),
    ]
    assert county["totals"]["key_groups"][KeyGroup.LOW_INCOME] == 1

    town = figures(leader, world.town.code)
    assert counts(town["totals"]) == (3, 2, 1, 1, 1)
    by_code = {c["grid"]["code"]: c for c in town["children"]}
    assert counts(by_code["150621100200"]) == (3, 2, 1, 1, 1)  # everything sits in the first village
    assert counts(by_code["150621100201"]) == (0, 0, 0, 0, 0)

    village = figures(leader, world.village.code)
    by_code = {c["grid"]["code"]: c for c in village["children"]}
    assert counts(by_code[world.grid.code]) == (2, 1, 1, 1, 1)
    assert counts(by_code[world.grid_b.code]) == (1, 1, 0, 0, 0)
    assert by_code[world.grid.code]["key_groups"][KeyGroup.ELDERLY_ALONE] == 1
    assert by_code[world.grid_b.code]["key_groups"][KeyGroup.DISABLED] == 1
    # Every key group is counted, zeros included, and named in the caller's language.
    assert set(by_code[world.grid.code]["key_groups"]) == set(KeyGroup.values)
    assert [g["code"] for g in village["key_group_labels"]] == list(KeyGroup.values)

    leaf = figures(leader, world.grid.code)  # a level-3 grid: its own totals, nothing below
    assert counts(leaf["totals"]) == (2, 1, 1, 1, 1) and leaf["children"] == []
    assert leaf["totals"]["key_groups"][KeyGroup.ELDERLY_ALONE] == 1


def test_a_reader_counts_only_the_records_of_their_scope(scene):
    world = scene.world
    # The grid specialist of g: the two people of g, the village's other grid counted as nothing.
    mine = figures(world.specialist, world.grid.code)
    assert mine["totals"]["persons"] == 2
    assert client_for(world.specialist).get(API, {"grid": world.village.code}).status_code == 404
    # The town head sees counts of key groups (never names) for the town.
    town = figures(world.l1head, world.town.code)
    assert town["totals"]["key_groups"][KeyGroup.ELDERLY_ALONE] == 1
    assert town["totals"]["key_groups"][KeyGroup.LOW_INCOME] == 0  # 陈美兰 is in the other town
    # Outside the registry: 404 for every grid, as for one that does not exist.
    for who in (world.resident, world.handler, world.mediator):
        assert client_for(who).get(API, {"grid": world.root.code}).status_code == 404


def _county_with(villages: int, make_user: Any) -> tuple[Any, Any]:
    """A county of one town with `villages` villages of two grids, each grid holding a person (one in a key
    group), a household, a building, an organisation and a component; and the town's head."""
    grids = {
        g.code: g
        for g in do_create_grids(
            small_tree_specs(towns=1, villages=villages, grids=2), actor=None, effective=dt.date(2026, 1, 1)
        )
    }
    town = grids["150621100"]
    head = make_user("l1", full_name="镇长")
    RoleAssignment.objects.create(user=head, role="grid_head_l1", grid=town)
    item = Item.objects.get(code="011001")
    for n, grid in enumerate(g for g in grids.values() if g.level == 3):
        for record in (
            Household(number=f"H-{n:04d}"),
            Building(code=f"B-{n:04d}", name=f"楼{n}"),
            Organisation(name=f"商店{n}", kind="shop"),
            Component(object_id=f"150621010100{n:04d}", item=item, name="垃圾箱"),
        ):
            record.place_in(grid)
            record.save()
        groups = [KeyGroup.ELDERLY_ALONE] if n % 2 else []
        name = "居民" + STEMS[n // 10] + STEMS[n % 10]  # names hold no digits
        do_register_person(PersonInput(name=name, grid=grid, key_groups=groups), actor=head)
    return town, head


# Session, user, role assignments (twice), the grid, its children, five kinds of record, the key groups.
FIGURES_QUERIES = 12


@pytest.mark.parametrize("villages", [2, 12])
def test_the_figures_cost_one_grouped_query_per_kind_however_many_children(
    villages, catalog, make_user, django_assert_max_num_queries
):
    town, head = _county_with(villages, make_user)
    client = client_for(head)
    with django_assert_max_num_queries(FIGURES_QUERIES):
        answer = client.get(API, {"grid": town.code})
    assert answer.status_code == 200
    data = answer.json()
    assert len(data["children"]) == villages
    assert counts(data["totals"]) == (2 * villages,) * 5
    assert all(counts(c) == (2, 2, 2, 2, 2) for c in data["children"])
    assert data["totals"]["key_groups"][KeyGroup.ELDERLY_ALONE] == villages
    # The registry home reads the same figures: its cost does not grow either.
    with django_assert_max_num_queries(FIGURES_QUERIES + 1):
        assert client.get("/registry/").status_code == 200
