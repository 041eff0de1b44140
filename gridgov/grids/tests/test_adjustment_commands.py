"""The operators' way to adjust grids: split-grid, merge-grids and redraw-boundary on the command line."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import box, mapping

from gridgov.grids.checks import check_tree
from gridgov.grids.models import Grid, GridChange
from gridgov.grids.selectors import tree_on


def write(path, features):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"name": name}, "geometry": mapping(geom)}
                    for name, geom in features
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.django_db
def test_split_merge_and_redraw_from_the_command_line(small_tree, tmp_path, capsys):
    pieces = write(
        tmp_path / "pieces.geojson",
        [("北片", box(109.0, 40.05, 109.025, 40.1)), ("南片", box(109.0, 40.0, 109.025, 40.05))],
    )
    call_command("split_grid", "150621100200001", pieces, effective="2026-06-01", reason="人口增长")
    out = capsys.readouterr().out
    assert "北片" in out and "南片" in out
    assert not Grid.objects.current().filter(code="150621100200001").exists()

    north, south = (Grid.objects.current().get(name=n) for n in ("北片", "南片"))
    call_command("merge_grids", north.code, south.code, name="合并片", effective="2026-06-02")
    merged = Grid.objects.current().get(name="合并片")

    boundary = write(tmp_path / "a.geojson", [("", box(109.0, 40.0, 109.03, 40.1))])
    call_command("redraw_boundary", merged.code, "150621100200002", boundary, effective="2026-06-03")
    merged.refresh_from_db()
    assert merged.max_lon == pytest.approx(109.03)

    assert check_tree().clean
    assert list(GridChange.objects.order_by("created_at").values_list("kind", flat=True))[-3:] == [
        "split",
        "merge",
        "redraw",
    ]
    # The tree as it was before any of it.
    import datetime as dt

    assert "150621100200001" in {v.grid.code for v in tree_on(dt.date(2026, 5, 31)).select_related("grid")}


@pytest.mark.django_db
def test_a_bad_split_is_reported_and_changes_nothing(small_tree, tmp_path):
    # The pieces leave the south half uncovered.
    pieces = write(
        tmp_path / "gap.geojson",
        [("北片", box(109.0, 40.05, 109.025, 40.1)), ("小片", box(109.0, 40.04, 109.01, 40.05))],
    )
    before = Grid.objects.count()
    with pytest.raises(CommandError):
        call_command("split_grid", "150621100200001", pieces, effective="2026-06-01")
    with pytest.raises(CommandError, match="150621999"):
        call_command("merge_grids", "150621999", "150621100200002", name="x")
    with pytest.raises(CommandError):
        call_command("split_grid", "150621100200001", pieces, effective="June")
    assert Grid.objects.count() == before and not GridChange.objects.exclude(kind="import").exists()
