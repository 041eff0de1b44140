"""Tasks a grid gives a team: given by the grid's staff to a team of their grid, above it or below it; accepted
or declined by a volunteer of the team, reported done with a result, cancelled by the grid. Every call from the
phone answers the first when sent again; every refusal changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.community import services
from gridgov.community.errors import Conflict, Invalid, NotAllowed
from gridgov.community.models import Task
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord

from .helpers import fresh, snapshot

pytestmark = pytest.mark.django_db


def give(teams, actor=None, **changes):
    data = {"team": teams.patrol.pk, "title": "护送老人去卫生院", "description": "周三上午九点"}
    return services.do_give_task(actor=actor or teams.crew.specialist, **{**data, **changes})


def test_a_grid_worker_gives_a_task_in_their_grid(teams):
    crew = teams.crew
    task = give(teams, actor=crew.officer, due_on=timezone.localdate() + dt.timedelta(days=2))
    assert (task.grid_id, task.grid_l1_id, task.grid_l2_id, task.grid_l3_id) == (
        crew.grid.pk,
        crew.town.pk,
        crew.village.pk,
        crew.grid.pk,
    )
    assert task.state == "assigned" and task.created_by == crew.officer
    # To the town's car team above the grid too.
    above = give(teams, team=teams.car.pk)
    assert above.team_id == teams.car.pk and above.grid_id == crew.grid.pk
    # A village head gives in the village, to a team of a grid below it.
    below = give(teams, actor=crew.l2head, grid=crew.village.code)
    assert below.grid_id == crew.village.pk
    assert AuditRecord.objects.filter(action="community.task.give").count() == 3


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"title": ""}, "title", Invalid),
        ({"title": "x" * 101}, "title", Invalid),
        ({"team": None}, "team", Invalid),
        ({"team": "x"}, "team", Invalid),
        ({"team": 10**12}, "team", Invalid),
        ({"description": "x" * 2001}, "description", Invalid),
        ({"due_on": "2020-01-01"}, "due_on", Invalid),
        ({"due_on": "soon"}, "due_on", Invalid),
        ({"case": "20260101-9999"}, "case", Invalid),
        ({"grid": "nowhere"}, "grid", Invalid),
        ({"grid": "150621100200002"}, "grid", NotAllowed),  # the neighbour's grid
    ],
)
def test_a_bad_task_is_refused_naming_the_field_and_nothing_changes(teams, changes, field, error):
    before = snapshot()
    with pytest.raises(error) as refused:
        give(teams, **changes)
    assert refused.value.field == field, refused.value.message
    assert snapshot() == before


def test_tasks_go_to_teams_on_the_grid_line_only(teams):
    crew = teams.crew
    team_b = services.do_create_team(
        actor=crew.specialist_b, name="服务队", kind="service", grid=crew.grid_b.code
    )
    before = snapshot()
    # The neighbour's team, seen by the village head but not on the line of grid …001.
    with pytest.raises(Invalid) as refused:
        give(teams, actor=crew.l2head, grid=crew.grid.code, team=team_b.pk)
    assert refused.value.field == "team"
    # The other town's team is not one the specialist sees.
    with pytest.raises(Invalid):
        give(teams, team=teams.far.pk)
    # People who give no tasks.
    for user in (crew.leader, crew.vol1, crew.resident):
        with pytest.raises((NotAllowed, Invalid)):
            give(teams, actor=user, grid=crew.grid.code)
    assert snapshot() == before


def test_accept_then_done_sent_twice_each_answer_the_first(teams):
    crew = teams.crew
    task = give(teams)
    accepted = services.do_accept_task(task, actor=crew.vol1)
    assert (
        accepted.changed
        and accepted.task.state == "accepted"
        and accepted.task.accepted_by_id == teams.ann.pk
    )
    before = snapshot()
    again = services.do_accept_task(task, actor=crew.vol1)  # the stale object, as the phone's queue has it
    assert not again.changed and again.task.state == "accepted"
    assert snapshot() == before
    done = services.do_complete_task(accepted.task, actor=crew.vol1, result="已送到，老人平安")
    assert done.changed and done.task.state == "done" and done.task.result == "已送到，老人平安"
    assert done.task.done_by == crew.vol1 and done.task.done_at and done.task.closed_at
    before = snapshot()
    again = services.do_complete_task(accepted.task, actor=crew.vol1, result="已送到，老人平安")
    assert not again.changed and again.task.result == "已送到，老人平安"
    assert snapshot() == before
    assert verify_chain().broken_at is None


def test_a_teammate_cannot_take_an_accepted_task_but_may_report_it_done(teams):
    crew = teams.crew
    task = services.do_accept_task(give(teams), actor=crew.vol1).task
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        services.do_accept_task(task, actor=crew.vol2)
    assert "张三" in str(refused.value.message)
    with pytest.raises(Conflict):
        services.do_decline_task(task, actor=crew.vol2, reason="没空")
    assert snapshot() == before
    done = services.do_complete_task(task, actor=crew.vol2, result="一起去的")
    assert done.task.accepted_by_id == teams.ann.pk and done.task.done_by == crew.vol2


def test_declining(teams):
    crew = teams.crew
    task = give(teams)
    declined = services.do_decline_task(task, actor=crew.vol2, reason="周三上班")
    assert declined.task.state == "declined" and declined.task.declined_by_id == teams.bob.pk
    assert declined.task.reason == "周三上班" and declined.task.closed_at
    before = snapshot()
    assert not services.do_decline_task(task, actor=crew.vol2, reason="周三上班").changed
    for call in (
        lambda: services.do_accept_task(declined.task, actor=crew.vol1),
        lambda: services.do_complete_task(declined.task, actor=crew.vol1, result="x"),
        lambda: services.do_decline_task(declined.task, actor=crew.vol1),
    ):
        with pytest.raises(Conflict):
            call()
    assert snapshot() == before
    # The one who accepted gives the task back.
    other = services.do_accept_task(give(teams, title="看护"), actor=crew.vol1).task
    assert services.do_decline_task(other, actor=crew.vol1, reason="病了").task.state == "declined"


def test_only_the_team_volunteers_answer_a_task(teams):
    crew = teams.crew
    task = give(teams)
    before = snapshot()
    for user in (crew.vol3, crew.idle_volunteer, crew.specialist, crew.l1head):
        with pytest.raises(NotAllowed):
            services.do_accept_task(task, actor=fresh(user))
        with pytest.raises(NotAllowed):
            services.do_decline_task(task, actor=fresh(user))
    # A volunteer who left the team.
    services.do_remove_member(teams.bob, actor=crew.specialist)
    snap = snapshot()
    with pytest.raises(NotAllowed):
        services.do_accept_task(task, actor=fresh(crew.vol2))
    with pytest.raises(NotAllowed):
        services.do_complete_task(task, actor=crew.vol3, result="做完了")
    with pytest.raises(Invalid) as refused:
        services.do_complete_task(task, actor=crew.vol1, result="  ")
    assert refused.value.field == "result"
    assert snapshot() == snap
    assert before["tasks"] == snap["tasks"]


def test_the_grid_records_a_task_done_for_the_team_and_cancels_tasks(teams):
    crew = teams.crew
    task = give(teams, actor=crew.officer)
    done = services.do_complete_task(task, actor=crew.specialist, result="队长电话说已完成")
    assert (
        done.task.state == "done"
        and done.task.accepted_by_id is None
        and done.task.done_by == crew.specialist
    )
    other = give(teams, title="夜间值守")
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_cancel_task(other, actor=crew.specialist, reason="")
    assert refused.value.field == "reason"
    for user in (crew.vol1, crew.other_specialist, crew.leader):
        with pytest.raises(NotAllowed):
            services.do_cancel_task(other, actor=user, reason="不需要了")
    with pytest.raises(Conflict):
        services.do_cancel_task(done.task, actor=crew.specialist, reason="不需要了")
    assert snapshot() == before
    cancelled = services.do_cancel_task(other, actor=crew.officer, reason="不需要了")
    assert (
        cancelled.changed and cancelled.task.state == "cancelled" and cancelled.task.closed_by == crew.officer
    )
    before = snapshot()
    assert not services.do_cancel_task(other, actor=crew.officer, reason="不需要了").changed
    with pytest.raises(Conflict):
        services.do_accept_task(cancelled.task, actor=crew.vol1)
    assert snapshot() == before
    assert Task.objects.filter(state="cancelled").count() == 1


def test_a_task_about_a_case_the_giver_sees(teams, catalog, working_hours):
    from gridgov.cases.choices import Channel
    from gridgov.cases.services import Report, do_report

    crew = teams.crew
    case = do_report(
        Report(Channel.WORKER_APP, "独居老人需要接送", item="011001", lon=109.01, lat=40.05),
        actor=crew.specialist,
    ).case
    task = give(teams, case=case.number)
    assert task.case_id == case.pk
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        give(teams, actor=crew.other_specialist, team=teams.far.pk, case=case.number)
    assert refused.value.field == "case"
    assert snapshot() == before
