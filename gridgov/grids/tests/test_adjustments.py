"""Dynamic adjustment (动态调整): split, merge and redraw close the old, open the new, move what lies inside,
keep history, and refuse bad input with a clear error that changes nothing."""

import datetime as dt

import numpy as np
import pytest
import shapely
from django.utils import translation
from shapely.geometry import box

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.services import do_assign_role
from gridgov.core.models import AuditRecord
from gridgov.grids.checks import check_tree
from gridgov.grids.geometry import from_geojson
from gridgov.grids.models import Grid, GridChange, GridVersion, TreeGeneration
from gridgov.grids.selectors import tree_on, visible_tree_on
from gridgov.grids.services import (
    GridSpec,
    do_create_grids,
    do_merge_grids,
    do_redraw_boundary,
    do_split_grid,
    do_update_grid,
)
from gridgov.grids.signals import grid_adjusted, relocate
from gridgov.grids.validation import GridInputError

DAY = dt.date(2026, 6, 1)
BEFORE = DAY - dt.timedelta(days=1)
START = dt.date(2026, 1, 1)


def current(code: str) -> Grid:
    return Grid.objects.current().get(code=code)


def snapshot():
    """Everything an adjustment may touch, to show that a refused one touched nothing."""
    return (
        sorted(Grid.objects.values_list("pk", "code", "valid_to", "parent_id", "area_m2", "households")),
        sorted(GridVersion.objects.values_list("pk", "valid_to")),
        GridChange.objects.count(),
        AuditRecord.objects.count(),
        sorted(RoleAssignment.objects.values_list("pk", "grid_id")),
        TreeGeneration.objects.values_list("value", flat=True).first(),
    )


def codes_on(day: dt.date) -> set[str]:
    return {v.grid.code for v in tree_on(day)}


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids); test_translations checks the Chinese ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    grid_adjusted.connect(receiver)
    yield received
    grid_adjusted.disconnect(receiver)


# -- split ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_split_a_leaf(small_tree, make_user, signals):
    grid = current("150621100200001")  # 109.0–109.025 × 40.0–40.1, 100 households, 300 people
    officer = make_user("officer")
    do_assign_role(officer, Role.INFO_OFFICER, actor=None, grid_code=grid.code)
    generation = TreeGeneration.objects.get().value
    north, south = box(109.0, 40.05, 109.025, 40.1), box(109.0, 40.0, 109.025, 40.05)
    pieces = do_split_grid(
        grid, [("北片", north), ("南片", south)], actor=officer, effective=DAY, reason="人口增长"
    )

    # New codes: the next free numbers under the village, after the highest ever used (002).
    assert [p.code for p in pieces] == ["150621100200003", "150621100200004"]
    assert [(p.households, p.population) for p in pieces] == [(50, 150), (50, 150)]
    assert all(p.parent.code == "150621100200" and p.l2_id == p.parent_id and p.l3_id == p.pk for p in pieces)
    grid.refresh_from_db()
    assert grid.valid_to == DAY and GridVersion.objects.get(grid=grid).valid_to == DAY
    assert check_tree().clean
    # History answers both trees.
    assert "150621100200001" in codes_on(BEFORE) and "150621100200003" not in codes_on(BEFORE)
    assert "150621100200001" not in codes_on(DAY) and {"150621100200003", "150621100200004"} <= codes_on(DAY)
    # The role assignment is copied to every piece.
    assert sorted(RoleAssignment.objects.filter(user=officer).values_list("grid__code", flat=True)) == [
        "150621100200003",
        "150621100200004",
    ]
    change = GridChange.objects.get(kind=GridChange.Kind.SPLIT)
    assert change.effective == DAY and change.actor == officer and change.reason == "人口增长"
    assert list(change.closed.values_list("code", flat=True)) == ["150621100200001"]
    assert change.moved["grids"] == {"150621100200001": ["150621100200003", "150621100200004"]}
    assert change.moved["assignments"][0]["to"] == ["150621100200003", "150621100200004"]
    record = AuditRecord.objects.get(action="grids.split")
    assert record.actor_id == officer.pk and record.data["closed"] == ["150621100200001"]
    assert TreeGeneration.objects.get().value == generation + 1
    # Other apps hear about it, with the geometries to relocate their rows.
    [sent] = signals
    assert sent["kind"] == "split" and sent["mapping"] == {grid.pk: [p.pk for p in pieces]}
    ids = relocate(
        sent["mapping"][grid.pk], sent["geometries"], np.array([109.01, 109.01]), np.array([40.07, 40.02])
    )
    assert list(ids) == [pieces[0].pk, pieces[1].pk]


@pytest.mark.django_db
def test_split_a_village_moves_its_grids_to_the_pieces(small_tree):
    village = current("150621100200")  # grids …001 (west half) and …002 (east half)
    west, east = box(109.0, 40.0, 109.025, 40.1), box(109.025, 40.0, 109.05, 40.1)
    pieces = do_split_grid(village, [("西村", west), ("东村", east)], actor=None, effective=DAY)
    # Village numbers stay in the village-committee hundred (2xx) after the highest used (201).
    assert [p.code for p in pieces] == ["150621100202", "150621100203"]
    # Each grid follows the piece holding it, re-coded under it with its own last digits.
    moved_west = current("150621100202001")
    moved_east = current("150621100203002")
    assert (
        moved_west.parent == pieces[0]
        and moved_west.l2_id == pieces[0].pk
        and moved_west.l1_id == village.l1_id
    )
    assert moved_east.parent == pieces[1]
    assert moved_west.path == f"{pieces[0].path}{moved_west.pk}/"
    assert (pieces[0].households, pieces[1].households) == (100, 100)
    assert Grid.objects.get(code="150621100200001").valid_to == DAY
    assert check_tree().clean
    change = GridChange.objects.get(kind="split")
    assert change.moved["grids"]["150621100200001"] == ["150621100202001"]
    assert set(change.opened.values_list("code", flat=True)) == {
        "150621100202",
        "150621100203",
        "150621100202001",
        "150621100203002",
    }


@pytest.mark.django_db
def test_a_split_that_cuts_a_child_grid_is_refused(small_tree):
    village = current("150621100200")
    before = snapshot()
    with pytest.raises(GridInputError) as exc:
        do_split_grid(
            village,
            [("西", box(109.0, 40.0, 109.03, 40.1)), ("东", box(109.03, 40.0, 109.05, 40.1))],
            actor=None,
            effective=DAY,
        )
    [message] = exc.value.messages
    assert message.startswith("150621100200002:") and "cut" in message and "m²" in message
    assert snapshot() == before


@pytest.mark.django_db
def test_bad_splits_are_refused_with_every_reason_and_change_nothing(small_tree):
    grid = current("150621100200001")
    before = snapshot()
    cases = [
        ([("一", box(109.0, 40.0, 109.025, 40.1))], "at least two pieces"),
        (
            [("北", box(109.0, 40.05, 109.025, 40.1)), ("南", box(109.0, 40.0, 109.025, 40.04))],
            "gap in 150621100200001",
        ),
        (
            [("北", box(109.0, 40.04, 109.025, 40.1)), ("南", box(109.0, 40.0, 109.025, 40.05))],
            "overlap between piece 1 (北) and piece 2 (南)",
        ),
        (
            [("北", box(109.0, 40.05, 109.03, 40.1)), ("南", box(109.0, 40.0, 109.025, 40.05))],
            "piece 1 (北) sticks out",
        ),
        (
            [("北", box(109.0, 40.05, 109.025, 40.1)), ("", box(109.0, 40.0, 109.025, 40.05))],
            "piece 2, name: the name is empty",
        ),
        (
            [("北", box(109.0, 40.05, 109.025, 40.1)), ("北", box(109.0, 40.0, 109.025, 40.05))],
            "already used by piece 1",
        ),
        (
            [("北", box(109.0, 40.05, 109.025, 40.1)), ("网格1-1-2", box(109.0, 40.0, 109.025, 40.05))],
            "already used by 150621100200002",
        ),
        (
            [
                ("北", box(109.0, 40.05, 109.025, 40.1)),
                (
                    "南",
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [[109, 40], [109.025, 40.05], [109.025, 40], [109, 40.05], [109, 40]]
                        ],
                    },
                ),
            ],
            "piece 2, geometry: the boundary is not valid: the boundary crosses itself",
        ),
    ]
    for pieces, expected in cases:
        with pytest.raises(GridInputError) as exc:
            do_split_grid(grid, pieces, actor=None, effective=DAY)
        assert any(expected in m for m in exc.value.messages), (expected, exc.value.messages)
    halves = [("北", box(109.0, 40.05, 109.025, 40.1)), ("南", box(109.0, 40.0, 109.025, 40.05))]
    with pytest.raises(GridInputError) as exc:
        do_split_grid(grid, halves, actor=None, effective=dt.date.today() + dt.timedelta(days=30))
    assert "in the future" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        do_split_grid(grid, halves, actor=None, effective=START)
    assert "must be after 2026-01-01" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        do_split_grid(current("150621"), halves, actor=None, effective=DAY)
    assert "county root" in " ".join(exc.value.messages)
    assert snapshot() == before
    # A closed grid cannot be split again.
    do_split_grid(grid, halves, actor=None, effective=DAY)
    with pytest.raises(GridInputError) as exc:
        do_split_grid(grid, halves, actor=None, effective=DAY)
    assert "no longer current" in exc.value.messages[0]


# -- merge ---------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_merge_two_villages(small_tree, make_user, signals):
    a, b = current("150621100200"), current("150621100201")
    head_a, head_both = make_user("head_a"), make_user("head_both")
    do_assign_role(head_a, Role.GRID_HEAD_L2, actor=None, grid_code=a.code)
    do_assign_role(head_both, Role.GRID_HEAD_L2, actor=None, grid_code=a.code)
    do_assign_role(head_both, Role.GRID_HEAD_L2, actor=None, grid_code=b.code)
    merged = do_merge_grids([a, b], name="合并村", actor=None, effective=DAY, reason="撤并")
    assert merged.code == "150621100202" and merged.parent.code == "150621100"
    assert shapely.equals(from_geojson(merged.geometry), box(109.0, 40.0, 109.1, 40.1).normalize())
    assert (merged.households, merged.population) == (400, 1200)
    # Children: village 200's keep 001 and 002; village 201's 001 and 002 are taken, so they get 003 and 004.
    children = dict(Grid.objects.current().filter(parent=merged).values_list("code", "name"))
    assert children == {
        "150621100202001": "网格1-1-1",
        "150621100202002": "网格1-1-2",
        "150621100202003": "网格1-2-1",
        "150621100202004": "网格1-2-2",
    }
    assert check_tree().clean
    # Assignments move to the merged grid; one who held both keeps one.
    assert list(RoleAssignment.objects.filter(user=head_a).values_list("grid__code", flat=True)) == [
        "150621100202"
    ]
    assert list(RoleAssignment.objects.filter(user=head_both).values_list("grid__code", flat=True)) == [
        "150621100202"
    ]
    assert {"150621100200", "150621100201", "150621100200001"} <= codes_on(BEFORE)
    assert "150621100202" in codes_on(DAY) and "150621100201" not in codes_on(DAY)
    [sent] = signals
    assert sent["mapping"][a.pk] == [merged.pk] and sent["mapping"][b.pk] == [merged.pk]
    assert len(sent["mapping"]) == 2 + 4  # the villages and their re-coded grids


def row_of_grids(n: int, columns: int | None = None):
    """A village of n grids of 0.01° in a row (or a grid of `columns` columns), numbered west→east."""
    columns = columns or n
    specs = [
        GridSpec("150621", "旗", 0, box(109.0, 40.0, 109.0 + 0.01 * columns, 40.0 + 0.01 * (n // columns))),
        GridSpec(
            "150621100",
            "镇",
            1,
            box(109.0, 40.0, 109.0 + 0.01 * columns, 40.0 + 0.01 * (n // columns)),
            "150621",
        ),
        GridSpec(
            "150621100200",
            "村",
            2,
            box(109.0, 40.0, 109.0 + 0.01 * columns, 40.0 + 0.01 * (n // columns)),
            "150621100",
        ),
    ]
    for i in range(n):
        x, y = 109.0 + 0.01 * (i % columns), 40.0 + 0.01 * (i // columns)
        specs.append(
            GridSpec(
                f"150621100200{i + 1:03d}", f"格{i + 1}", 3, box(x, y, x + 0.01, y + 0.01), "150621100200"
            )
        )
    return {g.code: g for g in do_create_grids(specs, actor=None, effective=START)}


@pytest.mark.django_db
def test_bad_merges_are_refused_and_change_nothing(small_tree):
    before = snapshot()
    with pytest.raises(GridInputError) as exc:
        do_merge_grids(
            [current("150621100200001"), current("150621100201001")], name="x", actor=None, effective=DAY
        )
    assert "only siblings" in exc.value.messages[0] and "150621100201001" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        do_merge_grids([current("150621100200001")], name="x", actor=None, effective=DAY)
    assert "at least two" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        do_merge_grids(
            [current("150621100200"), current("150621100201")], name="", actor=None, effective=START
        )
    assert (
        len(exc.value.messages) == 1 and "name is empty" in exc.value.messages[0]
    )  # names first, then dates
    with pytest.raises(GridInputError) as exc:
        do_merge_grids(
            [current("150621100200"), current("150621100201")], name="新村", actor=None, effective=START
        )
    assert {m.split(":")[0] for m in exc.value.messages} == {
        "150621100200",
        "150621100201",
        "150621100200001",
        "150621100200002",
        "150621100201001",
        "150621100201002",
    }  # the villages and the grids that would move
    assert snapshot() == before


@pytest.mark.django_db
def test_merged_grids_must_form_one_area():
    grids = row_of_grids(4, columns=2)  # 001 002 (south row), 003 004 (north row)
    before = snapshot()
    with pytest.raises(GridInputError) as exc:  # diagonal: they touch at a corner only
        do_merge_grids(
            [grids["150621100200001"], grids["150621100200004"]], name="对角", actor=None, effective=DAY
        )
    assert exc.value.messages[0].startswith("150621100200004:") and "one area" in exc.value.messages[0]
    assert snapshot() == before
    merged = do_merge_grids(
        [grids["150621100200001"], grids["150621100200002"], grids["150621100200004"]],
        name="L形",
        actor=None,
        effective=DAY,
    )
    assert merged.code == "150621100200005" and check_tree().clean


@pytest.mark.django_db
def test_name_clash_with_a_remaining_sibling_is_refused():
    grids = row_of_grids(3)
    with pytest.raises(GridInputError) as exc:
        do_merge_grids(
            [grids["150621100200001"], grids["150621100200002"]], name="格3", actor=None, effective=DAY
        )
    assert "格3" in exc.value.messages[0] and "150621100200003" in exc.value.messages[0]
    # The merged grids' own names are free again.
    assert do_merge_grids(
        [grids["150621100200001"], grids["150621100200002"]], name="格1", actor=None, effective=DAY
    )


# -- redraw ----------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_redraw_keeps_identities_and_adds_versions(small_tree, make_user, signals):
    a, b = current("150621100200001"), current("150621100200002")
    officer = make_user("officer")
    do_assign_role(officer, Role.INFO_OFFICER, actor=None, grid_code=b.code)
    new_a = box(109.0, 40.0, 109.03, 40.1)
    a2, b2 = do_redraw_boundary(a, b, new_a, actor=None, effective=DAY, reason="道路改线")
    assert (a2.pk, a2.code, b2.pk, b2.code) == (a.pk, a.code, b.pk, b.code)
    assert shapely.equals(from_geojson(a2.geometry), new_a)
    assert shapely.equals(from_geojson(b2.geometry), box(109.03, 40.0, 109.05, 40.1))
    assert a2.area_m2 > a.area_m2 and a2.area_m2 + b2.area_m2 == pytest.approx(
        a.area_m2 + b.area_m2, rel=1e-9
    )
    assert [(v.valid_from, v.valid_to) for v in GridVersion.objects.filter(grid=a)] == [
        (START, DAY),
        (DAY, None),
    ]
    assert check_tree().clean
    old = {v.grid.code: v for v in tree_on(BEFORE)}
    assert shapely.equals(from_geojson(old[a.code].geometry), box(109.0, 40.0, 109.025, 40.1))
    assert list(RoleAssignment.objects.filter(user=officer).values_list("grid_id", flat=True)) == [b.pk]
    change = GridChange.objects.get(kind="redraw")
    assert change.versions.count() == 2 and not change.closed.exists()
    assert change.moved["area_m2"]["after"][a.code] == pytest.approx(a2.area_m2)
    [sent] = signals
    assert sent["mapping"] == {a.pk: [a.pk, b.pk], b.pk: [a.pk, b.pk]}
    assert list(
        relocate(sent["mapping"][b.pk], sent["geometries"], np.array([109.027]), np.array([40.05]))
    ) == [a.pk]


@pytest.mark.django_db
def test_redraw_between_villages_moves_whole_grids(small_tree, make_user):
    a, b = current("150621100200"), current("150621100201")  # 109.0–109.05 | 109.05–109.1
    officer = make_user("officer")
    do_assign_role(officer, Role.INFO_OFFICER, actor=None, grid_code="150621100201001")
    # Village 200 takes grid 201-001 (109.05–109.075).
    do_redraw_boundary(a, b, box(109.0, 40.0, 109.075, 40.1), actor=None, effective=DAY)
    moved = current("150621100200003")  # 001 and 002 are taken under village 200
    assert moved.name == "网格1-2-1" and moved.parent_id == a.pk and moved.l2_id == a.pk
    assert Grid.objects.get(code="150621100201001").valid_to == DAY
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.households, b.households) == (300, 100)
    assert list(RoleAssignment.objects.filter(user=officer).values_list("grid__code", flat=True)) == [
        "150621100200003"
    ]
    assert check_tree().clean
    # Moving it back gives it yet another code: codes are never reused.
    do_redraw_boundary(
        current("150621100201"),
        current("150621100200"),
        box(109.05, 40.0, 109.1, 40.1),
        actor=None,
        effective=DAY + dt.timedelta(days=1),
    )
    assert current("150621100201003").name == "网格1-2-1"
    assert check_tree().clean


@pytest.mark.django_db
def test_bad_redraws_are_refused_and_change_nothing(small_tree):
    a, b = current("150621100200001"), current("150621100200002")
    before = snapshot()
    cases = [
        (a, b, box(109.0, 40.0, 109.06, 40.1), "goes"),  # beyond A∪B
        (a, b, box(109.0, 40.0, 109.05, 40.1), "would leave this grid empty"),  # B empty
        (a, b, box(109.0, 40.0, 109.025, 40.1), "same as the current one"),
        (a, current("150621100201001"), box(109.0, 40.0, 109.03, 40.1), "only siblings"),
        (a, a, box(109.0, 40.0, 109.03, 40.1), "two different grids"),
        (current("150621100200"), current("150621100201"), box(109.0, 40.0, 109.06, 40.1), "cut"),
    ]
    for grid_a, grid_b, shape, expected in cases:
        with pytest.raises(GridInputError) as exc:
            do_redraw_boundary(grid_a, grid_b, shape, actor=None, effective=DAY)
        assert any(expected in m for m in exc.value.messages), (expected, exc.value.messages)
    assert snapshot() == before


@pytest.mark.django_db
def test_redraw_needs_neighbours():
    grids = row_of_grids(3)
    with pytest.raises(GridInputError) as exc:
        do_redraw_boundary(
            grids["150621100200001"],
            grids["150621100200003"],
            box(109.0, 40.0, 109.015, 40.01),
            actor=None,
            effective=DAY,
        )
    assert "does not share a boundary" in exc.value.messages[0]


# -- reads and small edits -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_history_is_scoped_like_the_grids(small_tree, make_user):
    head = make_user("head")
    do_assign_role(head, Role.GRID_HEAD_L2, actor=None, grid_code="150621100200")
    do_split_grid(
        current("150621100200001"),
        [("北", box(109.0, 40.05, 109.025, 40.1)), ("南", box(109.0, 40.0, 109.025, 40.05))],
        actor=None,
        effective=DAY,
    )
    seen_before = {v.grid.code for v in visible_tree_on(head, BEFORE)}
    assert seen_before == {"150621", "150621100", "150621100200", "150621100200001", "150621100200002"}
    assert {"150621100200003", "150621100200004"} <= {v.grid.code for v in visible_tree_on(head, DAY)}
    assert "150621100201" not in {v.grid.code for v in visible_tree_on(head, DAY)}


@pytest.mark.django_db
def test_rename_and_figures(small_tree, make_user):
    admin = make_user("admin")
    grid = current("150621100200001")
    do_update_grid(grid, actor=admin, name="幸福小区", households=120)
    grid.refresh_from_db()
    assert (grid.name, grid.households, grid.population) == ("幸福小区", 120, 300)
    assert AuditRecord.objects.get(action="grids.update").data["before"] == {
        "name": "网格1-1-1",
        "households": 100,
    }
    with pytest.raises(GridInputError) as exc:
        do_update_grid(grid, actor=admin, name=" ", population=-1)
    assert len(exc.value.messages) == 2


def test_corrected_figures_add_up_the_tree(small_tree):
    from gridgov.grids.services import do_update_grid
    from gridgov.grids.validation import GridInputError

    above = ("150621100200", "150621100", "150621")
    before = {code: (current(code).population, current(code).households) for code in above}
    leaf = current("150621100200001")
    do_update_grid(leaf, actor=None, population=leaf.population + 1000, households=leaf.households + 10)
    # Every grid above carries the same difference, so its figures stay the sum of its children's.
    for code in above:
        assert (current(code).population, current(code).households) == (
            before[code][0] + 1000,
            before[code][1] + 10,
        )
    assert current("150621101").population == small_tree["150621101"].population  # the other town: untouched
    # A grid with grids below it takes its figures from them.
    with pytest.raises(GridInputError):
        do_update_grid(current("150621100200"), actor=None, population=1)
