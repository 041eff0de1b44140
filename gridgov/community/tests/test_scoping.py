"""Who sees which team, activity, sign-up and task: the subtree for the heads, operators and leaders, their own
grid for the grid's workers, the teams and activities of the grids above them too; a volunteer their teams',
their teams' activities and the open ones of a grid holding their team, and their own sign-ups. What lies
outside answers 404, like what does not exist."""

from __future__ import annotations

import pytest

from gridgov.community import selectors, services
from gridgov.community.errors import ActivityNotFound, TaskNotFound, TeamNotFound
from gridgov.community.models import Member, SignUp, Team
from gridgov.core.scoping import visible_to

from .conftest import later
from .helpers import as_user, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(teams):
    crew = teams.crew
    team_day = services.do_create_activity(
        actor=crew.specialist, title="夜间巡逻", team=teams.patrol.pk, starts_at=later(24), ends_at=later(26)
    )
    town_day = services.do_create_activity(
        actor=crew.l1head, title="环境整治日", grid=crew.town.code, starts_at=later(48), ends_at=later(50)
    )
    far_day = services.do_create_activity(
        actor=crew.other_specialist, title="义诊", team=teams.far.pk, starts_at=later(24), ends_at=later(26)
    )
    services.do_sign_up(team_day, actor=crew.vol1)
    services.do_sign_up(team_day, actor=crew.vol2)
    to_car = services.do_give_task(actor=crew.specialist, team=teams.car.pk, title="接送")
    to_far = services.do_give_task(actor=crew.other_specialist, team=teams.far.pk, title="义诊")
    for user in vars(crew).values():
        if hasattr(user, "username"):
            fresh(user)
    teams.team_day, teams.town_day, teams.far_day, teams.to_car, teams.to_far = (
        team_day,
        town_day,
        far_day,
        to_car,
        to_far,
    )
    return teams


def names(qs) -> set[str]:
    return {str(x) for x in qs}


def test_who_sees_which_team(world):
    crew = world.crew
    expected = {
        "specialist": {"红袖章巡逻队", "爱心车队"},  # their grid's, and the town's above it
        "officer": {"红袖章巡逻队", "爱心车队"},
        "specialist_b": {"爱心车队"},  # the neighbour grid's patrol is not theirs
        "l2head": {"红袖章巡逻队", "爱心车队"},
        "other_l2head": {"爱心车队"},
        "l1head": {"红袖章巡逻队", "爱心车队"},
        "operator": {"红袖章巡逻队", "爱心车队"},
        "other_specialist": {"志愿服务队"},
        "leader": {"红袖章巡逻队", "爱心车队", "志愿服务队"},
        "vol1": {"红袖章巡逻队", "爱心车队"},
        "vol2": {"红袖章巡逻队"},
        "vol3": {"志愿服务队"},
        "idle_volunteer": set(),
        "resident": set(),
        "nobody": set(),
    }
    for who, teams in expected.items():
        assert names(visible_to(getattr(crew, who), Team)) == teams, who


def test_who_sees_which_activity(world):
    crew = world.crew
    expected = {
        "specialist": {"夜间巡逻", "环境整治日"},
        "specialist_b": {"环境整治日"},  # the town's day is open to their grid's teams
        "other_l2head": {"环境整治日"},
        "l1head": {"夜间巡逻", "环境整治日"},
        "other_specialist": {"义诊"},
        "leader": {"夜间巡逻", "环境整治日", "义诊"},
        "vol1": {"夜间巡逻", "环境整治日"},
        "vol2": {"夜间巡逻", "环境整治日"},  # the patrol's grid lies in the town
        "vol3": {"义诊"},
        "idle_volunteer": set(),
        "nobody": set(),
    }
    for who, activities in expected.items():
        assert names(selectors.activities(getattr(crew, who))) == activities, who


def test_who_sees_which_task(world):
    crew = world.crew
    expected = {
        "specialist": {"接送"},
        "officer": {"接送"},
        "specialist_b": set(),
        "l2head": {"接送"},
        "l1head": {"接送"},
        "other_specialist": {"义诊"},
        "leader": {"接送", "义诊"},
        "vol1": {"接送"},  # a member of the car team
        "vol2": set(),  # not
        "vol3": {"义诊"},
        "nobody": set(),
    }
    for who, tasks in expected.items():
        assert names(selectors.tasks(getattr(crew, who))) == tasks, who


def test_a_volunteer_sees_their_own_sign_ups_staff_every_one(world):
    crew = world.crew
    assert {s.member.name for s in selectors.signups(crew.vol1, world.team_day)} == {"张三"}
    assert {s.member.name for s in selectors.signups(crew.vol2, world.team_day)} == {"李四"}
    assert {s.member.name for s in selectors.signups(crew.specialist, world.team_day)} == {"张三", "李四"}
    assert visible_to(crew.vol3, SignUp).count() == 0
    assert set(visible_to(crew.vol2, Member).values_list("name", flat=True)) == {"张三", "李四", "王五"}


def test_out_of_scope_reads_are_not_found(world):
    crew = world.crew
    with pytest.raises(TeamNotFound):
        selectors.team_for(crew.specialist_b, world.patrol.pk)
    with pytest.raises(TeamNotFound):
        selectors.team_for(crew.vol3, world.patrol.pk)
    with pytest.raises(ActivityNotFound):
        selectors.activity_for(crew.vol3, world.team_day.pk)
    with pytest.raises(TaskNotFound):
        selectors.task_for(crew.vol2, world.to_car.pk)
    with pytest.raises(TaskNotFound):
        selectors.task_for(crew.specialist, world.to_far.pk)


@pytest.mark.parametrize(
    "url",
    [
        "/api/community/teams/{patrol}",
        "/api/community/teams/{patrol}/members",
        "/api/community/activities/{team_day}",
        "/api/community/tasks/{to_car}",
    ],
)
def test_the_api_answers_404_out_of_scope_and_for_what_does_not_exist(world, url):
    ids = {"patrol": world.patrol.pk, "team_day": world.team_day.pk, "to_car": world.to_car.pk}
    outsider = as_user(world.crew.other_specialist)
    response = outsider.get(url.format(**ids))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    missing = outsider.get(url.format(**{k: 10**12 for k in ids}))
    assert missing.status_code == 404 and missing.json() == response.json()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/community/activities/{team_day}/sign-up"),
        ("post", "/api/community/activities/{team_day}/cancel-sign-up"),
        ("post", "/api/community/tasks/{to_car}/accept"),
        ("post", "/api/community/tasks/{to_car}/decline"),
        ("post", "/api/community/tasks/{to_car}/done"),
        ("post", "/api/community/activities/{team_day}/close"),
    ],
)
def test_writes_out_of_scope_are_not_found_and_change_nothing(world, method, url):
    from .helpers import snapshot

    ids = {"team_day": world.team_day.pk, "to_car": world.to_car.pk}
    before = snapshot()
    response = getattr(as_user(world.crew.vol3), method)(url.format(**ids), {"result": "x", "reason": "x"})
    assert response.status_code == 404, response.content
    assert snapshot() == before


def test_pages_out_of_scope_are_not_found(world):
    crew = world.crew
    client = as_user(crew.specialist_b)
    for url in (
        f"/community/teams/{world.patrol.pk}/",
        f"/community/activities/{world.team_day.pk}/",
        f"/community/tasks/{world.to_car.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    # Volunteers, residents and people without a role have no workbench pages at all.
    for user in (crew.vol1, crew.resident, crew.nobody):
        assert as_user(user).get("/community/").status_code == 404
