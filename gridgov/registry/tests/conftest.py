"""The people around a grid register in the small tree (see the project's conftest): keepers of grid
150621100200001 ("grid"), of its village and of the other town, a town head, and generated persons files over
the tree's eight level-3 grids."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gridgov.accounts.models import RoleAssignment
from gridgov.registry.people import generate_people, write_csv, write_xlsx


@pytest.fixture
def office(small_tree, make_user):
    grids = small_tree

    def person(username: str, role: str | None = None, code: str | None = None, **fields):
        user = make_user(username, full_name=fields.pop("full_name", f"{username}-name"), **fields)
        if role:
            RoleAssignment.objects.create(user=user, role=role, grid=grids[code] if code else None)
        return user

    return SimpleNamespace(
        grids=grids,
        level3=[g for code, g in sorted(grids.items()) if g.level == 3],
        grid=grids["150621100200001"],
        grid_b=grids["150621100200002"],
        other_town_grid=grids["150621101200001"],
        specialist=person("spec", "grid_specialist", "150621100200001", full_name="李网格"),
        other_specialist=person("spec2", "grid_specialist", "150621101200001"),
        l2head=person("l2", "grid_head_l2", "150621100200"),
        l1head=person("l1", "grid_head_l1", "150621100"),
        leader=person("leader", "leader", "150621"),
        resident=person("res", "resident"),
        admin=person("sysadmin", is_staff=True, admin_duty="system"),
    )


def grid_rows(grids) -> list[tuple[str, str, str, str, float]]:
    """The generator's grid list: (code, name, town, village, households weight)."""
    return [(g.code, g.name, g.parent.parent.name, g.parent.name, 1.0) for g in grids]


@pytest.fixture
def people(office):
    """A function: `n` generated persons (dicts keyed by the template's headers) over the given grids (all eight
    by default)."""

    def make(n: int = 300, grids=None, seed: int = 7) -> list[dict[str, str]]:
        return list(generate_people(grid_rows(grids or office.level3), n, seed))

    return make


@pytest.fixture
def as_file(tmp_path):
    """A function: the bytes of a CSV or XLSX persons file holding `rows`."""

    def make(rows, fmt: str = "csv") -> bytes:
        path = tmp_path / f"persons.{fmt}"
        (write_csv if fmt == "csv" else write_xlsx)(path, rows)
        return path.read_bytes()

    return make
