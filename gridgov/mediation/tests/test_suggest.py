"""Assignment by area and skill: the active mediators of the handling (or nearest) committee whose areas cover
the dispute's grid, the skilled first, then those who speak the parties' language, then the least loaded."""

from __future__ import annotations

import pytest

from gridgov.mediation import selectors, services

from .helpers import make_mediator, receive

pytestmark = pytest.mark.django_db


def names(suggestions) -> list[str]:
    return [s.mediator.name for s in suggestions]


def test_ranked_by_skill_language_and_load(med, django_assert_num_queries):
    w = med.w
    make_mediator(med.village_committee, "别的网格的", skills=["land"], languages=["mn"], areas=[w.grid_b])
    busy = receive(med, actor=w.mediator, title="占着")
    services.do_assign(busy, actor=w.mediator, committee=med.village_committee, lead=med.teacher)
    dispute = receive(med, actor=w.mediator, kind="land", language="mn")
    services.do_assign(dispute, actor=w.mediator, committee=med.village_committee, lead=med.elder)
    found = selectors.dispute_for(w.mediator, dispute.number)
    with django_assert_num_queries(1):
        ranked = selectors.suggest_mediators(found)
    # The elder knows land and speaks Mongolian; the retired cadre (no areas: anywhere in the committee's
    # subtree) has no open dispute, the teacher leads one; the one who left and the one of another grid are out.
    assert names(ranked) == ["乡贤巴特尔", "老干部王", "退休教师李"]
    assert [(s.skilled, s.speaks, s.open_disputes) for s in ranked] == [
        (True, True, 1),
        (False, False, 0),
        (False, False, 1),
    ]


def test_before_assignment_the_nearest_committee(med, django_assert_num_queries):
    w = med.w
    in_grid = selectors.dispute_for(w.l2head, receive(med).number)
    with django_assert_num_queries(2):
        assert names(selectors.suggest_mediators(in_grid)) == ["网格员张"]
    # Grid g-b has no committee of its own: the village's takes it. The teacher knows family disputes but
    # mediates in grid g only; the elder's area is the whole village, the retired cadre has none (anywhere).
    next_door = selectors.dispute_for(
        w.l2head, receive(med, actor=w.l2head, grid=w.grid_b, kind="family").number
    )
    assert names(selectors.suggest_mediators(next_door)) == ["乡贤巴特尔", "老干部王"]
