"""Cases follow their grid through a split (动态调整): each goes to the piece holding its point, with its
level ids, so the piece's staff see it and the closed grid holds nothing open."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box

from gridgov.cases.models import Case
from gridgov.cases.selectors import visible_cases
from gridgov.core.models import AuditRecord
from gridgov.grids.services import do_split_grid

from .helpers import report_case


@pytest.mark.django_db(transaction=True)
def test_a_split_moves_each_case_to_the_piece_holding_its_point(world):
    # The grid spans 109.0–109.025 × 40.0–40.1; one case in each half, one known only by its grid.
    north_case = report_case(world, where=(109.01, 40.07))
    south_case = report_case(world, where=(109.01, 40.03))
    north, south = box(109.0, 40.05, 109.025, 40.1), box(109.0, 40.0, 109.025, 40.05)
    pieces = do_split_grid(
        world.grid, [("北片", north), ("南片", south)], actor=None, effective=dt.date.today()
    )
    by_name = {p.name: p for p in pieces}
    for case, piece in ((north_case, by_name["北片"]), (south_case, by_name["南片"])):
        case = Case.objects.get(pk=case.pk)
        assert (case.grid_id, case.grid_l3_id) == (piece.pk, piece.pk)
        assert case.grid_l2_id == world.village.pk
    assert not Case.objects.filter(grid=world.grid).exists()
    assert AuditRecord.objects.filter(action="case.follow_grids", data__moved=2).exists()
    # The specialist's role was copied to both pieces: they still see both cases.
    assert set(visible_cases(world.specialist).values_list("pk", flat=True)) >= {north_case.pk, south_case.pk}
