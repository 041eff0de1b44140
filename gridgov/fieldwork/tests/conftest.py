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
