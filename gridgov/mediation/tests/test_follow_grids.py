"""Disputes and committees follow their grid through a split (动态调整): a dispute taken from a case goes to
the piece holding the case's point, one received directly to the first piece; the grid's committee goes to the
first piece; their level ids follow, so the pieces' people see them."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box

from gridgov.cases.tests.helpers import report_case
from gridgov.core.models import AuditRecord
from gridgov.grids.services import do_split_grid
from gridgov.mediation import services
from gridgov.mediation.models import Committee, Dispute

from .helpers import receive


@pytest.mark.django_db(transaction=True)
def test_a_split_moves_disputes_and_the_committee(med):
    w = med.w
    south_case = report_case(w, where=(109.01, 40.03), item="072001", description="邻里纠纷")
    from_case = services.do_open_from_case(south_case.pk, actor=w.specialist).dispute
    direct = receive(med)
    north, south = box(109.0, 40.05, 109.025, 40.1), box(109.0, 40.0, 109.025, 40.05)
    pieces = do_split_grid(w.grid, [("北片", north), ("南片", south)], actor=None, effective=dt.date.today())
    by_name = {p.name: p for p in pieces}
    first = min(pieces, key=lambda p: p.code)
    moved = Dispute.objects.get(pk=from_case.pk)
    assert (moved.grid_id, moved.grid_l3_id, moved.grid_l2_id) == (
        by_name["南片"].pk,
        by_name["南片"].pk,
        w.village.pk,
    )
    other = Dispute.objects.get(pk=direct.pk)
    assert (other.grid_id, other.grid_l3_id) == (first.pk, first.pk)
    committee = Committee.objects.get(pk=med.grid_committee.pk)
    assert (committee.grid_id, committee.grid_l3_id, committee.level) == (first.pk, first.pk, 3)
    assert AuditRecord.objects.filter(
        action="mediation.follow_grids", data__disputes=2, data__committees=1
    ).exists()
