"""The people of a patrol in the small tree: workers of grid 150621100200001 ("g", village …100200 "v",
town …100 "t"), one of them also of its neighbour …002, a worker of the other town, the heads above them, and
people who do not patrol."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gridgov.accounts.models import RoleAssignment


@pytest.fixture
def crew(small_tree, make_user):
    grids = small_tree

    def person(username: str, *roles: tuple[str, str | None]):
        user = make_user(username, full_name=f"{username}-name")
        for role, code in roles:
            RoleAssignment.objects.create(user=user, role=role, grid=grids[code] if code else None)
        return user

    return SimpleNamespace(
        grids=grids,
        town=grids["150621100"],
        village=grids["150621100200"],
        other_village=grids["150621100201"],
        grid=grids["150621100200001"],
        grid_b=grids["150621100200002"],
        other_town_grid=grids["150621101200001"],
        specialist=person("spec", ("grid_specialist", "150621100200001")),
        officer=person("officer", ("info_officer", "150621100200001")),
        # Specialist of one grid and information officer of its neighbour.
        two_grids=person("two", ("grid_specialist", "150621100200001"), ("info_officer", "150621100200002")),
        other_specialist=person("spec2", ("grid_specialist", "150621101200001")),
        l2head=person("l2", ("grid_head_l2", "150621100200")),
        other_l2head=person("l2b", ("grid_head_l2", "150621100201")),
        l1head=person("l1", ("grid_head_l1", "150621100")),
        operator=person("op", ("operator", "150621100")),
        leader=person("leader", ("leader", "150621")),
        mediator=person("med", ("mediator", "150621100200")),
        resident=person("res", ("resident", None)),
        nobody=person("nobody"),
    )


@pytest.fixture
def field(crew, catalog, working_hours):
    """What visits and inspections need besides the crew: households, a place and components of the registry
    (made with the models: the registry has no service for them), in the crew's grid, its neighbour and the
    other town. Fire facilities (item 021001) in grid …001 at two points, in …002, in the other town, one
    retired; a sewer manhole cover (031002) in …001."""
    from gridgov.catalog.models import Item
    from gridgov.registry.choices import ComponentState, OrganisationKind
    from gridgov.registry.models import Component, Household, Organisation

    def located(record, grid, lon=None, lat=None):
        record.place_in(grid)
        record.lon, record.lat = lon, lat
        record.save()
        return record

    fire, manhole = Item.objects.get(code="021001"), Item.objects.get(code="031002")
    serial = iter(range(1, 100))

    def component(item, grid, lon, lat, name="灭火器", **fields):
        return located(
            Component(object_id=f"15062101130{next(serial):05d}", item=item, name=name, **fields),
            grid,
            lon,
            lat,
        )

    return SimpleNamespace(
        crew=crew,
        fire=fire,
        manhole=manhole,
        household=located(Household(number="H-0001", address="一号院"), crew.grid, 109.01, 40.05),
        other_household=located(Household(number="H-0002"), crew.other_town_grid, 109.11, 40.05),
        shop=located(Organisation(name="便民超市", kind=OrganisationKind.SHOP), crew.grid, 109.012, 40.05),
        ext=component(fire, crew.grid, 109.01, 40.05, location="村委会一楼"),
        ext2=component(fire, crew.grid, 109.015, 40.06),
        ext_b=component(fire, crew.grid_b, 109.03, 40.05),
        ext_far=component(fire, crew.other_town_grid, 109.11, 40.05),
        ext_retired=component(fire, crew.grid, 109.02, 40.05, state=ComponentState.RETIRED),
        cover=component(manhole, crew.grid, 109.01, 40.07, name="污水井盖"),
    )
