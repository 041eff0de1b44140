"""The community API: a volunteer's flow on the phone (what it keeps offline, signing up and taking it back,
a task accepted and reported done, each call sent twice answering the first), the staff's lists and forms,
every refusal in the project's one error shape, and the routes in the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.community import services
from gridgov.community.models import SignUp, Task, Team

from .conftest import later
from .helpers import as_user, assert_error, shift, snapshot

pytestmark = pytest.mark.django_db

API = "/api/community"


@pytest.fixture
def plans(teams):
    crew = teams.crew
    teams.night = services.do_create_activity(
        actor=crew.specialist,
        title="夜间巡逻",
        team=teams.patrol.pk,
        kind="patrol",
        starts_at=later(24),
        ends_at=later(27),
        capacity=2,
    )
    teams.town_day = services.do_create_activity(
        actor=crew.l1head,
        title="环境整治日",
        grid=crew.town.code,
        kind="cleanup",
        starts_at=later(48),
        ends_at=later(52),
    )
    teams.far_day = services.do_create_activity(
        actor=crew.other_specialist, title="义诊", team=teams.far.pk, starts_at=later(24), ends_at=later(26)
    )
    teams.escort = services.do_give_task(
        actor=crew.specialist,
        team=teams.car.pk,
        title="护送老人",
        due_on=timezone.localdate() + dt.timedelta(days=1),
    )
    return teams


def test_the_phone_reads_everything_it_keeps_in_one_call(plans, django_assert_max_num_queries):
    phone = as_user(plans.crew.vol1)
    with django_assert_max_num_queries(14):
        response = phone.get(f"{API}/mine")
    assert response.status_code == 200, response.content
    mine = response.json()
    assert {(m["team"]["name"], m["name"]) for m in mine["memberships"]} == {
        ("红袖章巡逻队", "张三"),
        ("爱心车队", "张三"),
    }
    patrol = next(m for m in mine["memberships"] if m["team"]["name"] == "红袖章巡逻队")
    assert patrol["team_phone"] == "0477-5123456" and patrol["hours"] == 0 and patrol["is_leader"] is False
    by_title = {a["title"]: a for a in mine["activities"]}
    assert set(by_title) == {"夜间巡逻", "环境整治日"}  # not the other town's
    night = by_title["夜间巡逻"]
    assert night["may_sign_up"] and not night["may_cancel"] and night["my_signup"] is None
    assert night["member_ids"] == [plans.ann.pk] and night["places_left"] == 2 and night["capacity"] == 2
    assert night["kind_label"] and night["state"] == "open" and night["length_hours"] == 3
    # Both memberships may join the town's open day.
    assert sorted(by_title["环境整治日"]["member_ids"]) == sorted([plans.ann.pk, plans.driver.pk])
    assert [t["title"] for t in mine["tasks"]] == ["护送老人"]
    assert mine["tasks"][0]["state"] == "assigned" and mine["tasks"][0]["team"]["name"] == "爱心车队"
    assert {c["value"] for c in mine["choices"]["task_states"]} == {
        "assigned",
        "accepted",
        "done",
        "declined",
        "cancelled",
    }
    assert mine["hours_total"] == 0 and mine["hours_this_year"] == 0


def test_a_volunteer_flow_each_call_sent_twice(plans):
    crew = plans.crew
    phone = as_user(crew.vol1)
    url = f"{API}/activities/{plans.night.pk}"
    first = phone.post(f"{url}/sign-up")
    assert first.status_code == 201, first.content
    again = phone.post(f"{url}/sign-up")
    assert again.status_code == 200 and again.json() == first.json()
    assert first.json()["member"] == {"id": plans.ann.pk, "name": "张三"}
    mine = phone.get(f"{API}/mine").json()
    night = next(a for a in mine["activities"] if a["id"] == plans.night.pk)
    assert night["my_signup"]["id"] == first.json()["id"] and night["may_cancel"] and not night["may_sign_up"]
    assert night["signed"] == 1 and night["places_left"] == 1
    taken_back = phone.post(f"{url}/cancel-sign-up")
    assert taken_back.status_code == 200 and taken_back.json()["cancelled"] is True
    assert phone.post(f"{url}/cancel-sign-up").json() == taken_back.json()
    assert phone.post(f"{url}/sign-up").status_code == 201  # back on the same row
    assert SignUp.objects.filter(activity=plans.night).count() == 1
    # The task: accepted, then done; each twice.
    task_url = f"{API}/tasks/{plans.escort.pk}"
    accepted = phone.post(f"{task_url}/accept")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert accepted.json()["accepted_by"] == {"id": plans.driver.pk, "name": "张三"}
    assert phone.post(f"{task_url}/accept").json() == accepted.json()
    done = phone.post(f"{task_url}/done", {"result": "已安全送到卫生院"})
    assert (
        done.status_code == 200
        and done.json()["state"] == "done"
        and done.json()["result"] == "已安全送到卫生院"
    )
    assert phone.post(f"{task_url}/done", {"result": "已安全送到卫生院"}).json() == done.json()
    # Hours appear once the organiser confirms them.
    shift(plans.night, timezone.now() - dt.timedelta(hours=1), hours=3)
    signup = SignUp.objects.get(activity=plans.night)
    organiser = as_user(crew.specialist)
    confirmed = organiser.post(f"{API}/signups/{signup.pk}/attendance", {"attended": "true", "hours": "2.5"})
    assert confirmed.status_code == 200 and confirmed.json()["hours"] == 2.5
    mine = phone.get(f"{API}/mine").json()
    assert mine["hours_total"] == 2.5 and mine["hours_this_year"] == 2.5
    night = next(a for a in mine["activities"] if a["id"] == plans.night.pk)
    assert night["my_signup"]["hours"] == 2.5 and not night["may_cancel"]


def test_the_phone_idempotency_key_replays_the_first_answer(plans):
    phone = as_user(plans.crew.vol2)
    url = f"{API}/tasks/{plans.escort.pk}/decline"
    # vol2 is not in the car team: 404 (they do not see its task), nothing kept.
    response = phone.post(url, {"reason": "x"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(response, 404, "not_found")
    first = phone.post(f"{API}/activities/{plans.night.pk}/sign-up", HTTP_IDEMPOTENCY_KEY="k-2")
    again = phone.post(f"{API}/activities/{plans.night.pk}/sign-up", HTTP_IDEMPOTENCY_KEY="k-2")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_refusals_in_the_one_error_shape_change_nothing(plans):
    crew = plans.crew
    phone = as_user(crew.vol2)
    before = snapshot()
    # The patrol's volunteer accepts the car team's task: not theirs to see.
    assert_error(phone.post(f"{API}/tasks/{plans.escort.pk}/accept"), 404, "not_found")
    # A keeper may see the task but does not answer it for the team.
    assert_error(as_user(crew.specialist).post(f"{API}/tasks/{plans.escort.pk}/accept"), 403, "not_allowed")
    # Bad input named.
    assert_error(
        as_user(crew.vol1).post(f"{API}/tasks/{plans.escort.pk}/done", {"result": ""}),
        422,
        "invalid",
        "result",
    )
    assert_error(
        as_user(crew.specialist).post(f"{API}/tasks", {"team": plans.patrol.pk, "title": ""}),
        422,
        "invalid",
        "title",
    )
    assert_error(
        as_user(crew.specialist).post(
            f"{API}/activities",
            {
                "title": "巡逻",
                "team": plans.patrol.pk,
                "starts_at": "2020-01-01T08:00",
                "ends_at": "2020-01-01T09:00",
            },
        ),
        422,
        "invalid",
        "starts_at",
    )
    assert_error(
        as_user(crew.specialist).post(
            f"{API}/teams", {"name": "队", "kind": "choir", "grid": crew.grid.code}
        ),
        422,
        "invalid",
        "kind",
    )
    # Not signed in; no community role.
    from django.test import Client

    assert_error(Client().get(f"{API}/teams"), 401, "unauthorized")
    assert_error(as_user(crew.resident).get(f"{API}/teams"), 403, "not_allowed")
    assert_error(as_user(crew.specialist).get(f"{API}/mine"), 403, "not_allowed")
    assert snapshot() == before
    # Full: 409.
    services.do_sign_up(plans.night, actor=crew.vol1)
    services.do_sign_up(plans.night, actor=crew.specialist, member=plans.cat.pk)
    before = snapshot()
    assert_error(phone.post(f"{API}/activities/{plans.night.pk}/sign-up"), 409, "conflict")
    assert snapshot() == before


def test_the_staff_lists_and_forms(plans):
    crew = plans.crew
    staff = as_user(crew.l1head)
    teams = staff.get(f"{API}/teams", {"limit": 1})
    assert teams.status_code == 200
    body = teams.json()
    assert [t["name"] for t in body["items"]] == ["爱心车队"] and body["has_more"] and body["next_before"]
    rest = staff.get(f"{API}/teams", {"limit": 1, "before": body["next_before"]}).json()
    assert [t["name"] for t in rest["items"]] == ["红袖章巡逻队"] and not rest["has_more"]
    patrol = staff.get(f"{API}/teams/{plans.patrol.pk}").json()
    assert patrol["member_count"] == 3 and patrol["grid"]["code"] == crew.grid.code and patrol["version"] == 1
    members = staff.get(f"{API}/teams/{plans.patrol.pk}/members").json()["items"]
    assert [(m["name"], m["phone"], m["has_login"]) for m in members] == [
        ("张三", "138****1234", True),
        ("李四", "", True),
        ("王五", "", False),
    ]
    made = as_user(crew.specialist).post(
        f"{API}/teams", {"name": "十户联防", "kind": "patrol", "grid": crew.grid.code}
    )
    assert made.status_code == 201 and made.json()["kind_label"]
    team_id = made.json()["id"]
    edited = as_user(crew.specialist).post(
        f"{API}/teams/{team_id}", {"version": 1, "name": "十户联防队", "kind": "patrol", "active": "true"}
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = as_user(crew.specialist).post(
        f"{API}/teams/{team_id}", {"version": 1, "name": "x", "kind": "patrol"}
    )
    assert_error(stale, 409, "conflict", "version")
    added = as_user(crew.specialist).post(
        f"{API}/teams/{team_id}/members", {"name": "老周", "phone": "13900001111"}
    )
    assert added.status_code == 201 and added.json()["phone"] == "139****1111"
    removed = as_user(crew.specialist).post(f"{API}/members/{added.json()['id']}/remove", {"reason": "搬走"})
    assert removed.status_code == 200 and removed.json()["active"] is False and removed.json()["left_on"]
    activities = staff.get(f"{API}/activities", {"state": "open"}).json()["items"]
    assert [a["title"] for a in activities] == ["环境整治日", "夜间巡逻"]  # the latest start first
    detail = staff.get(f"{API}/activities/{plans.night.pk}").json()
    assert detail["may_organise"] is True and detail["signups"] == []
    assert as_user(crew.officer).get(f"{API}/activities/{plans.night.pk}").json()["may_organise"] is False
    created = as_user(crew.specialist).post(
        f"{API}/activities",
        {
            "title": "宣传",
            "team": plans.patrol.pk,
            "kind": "publicity",
            "starts_at": timezone.localtime(later(30)).isoformat(),
            "ends_at": timezone.localtime(later(32)).isoformat(),
        },
    )
    assert (
        created.status_code == 201
        and created.json()["capacity"] is None
        and created.json()["places_left"] is None
    )
    cancelled = as_user(crew.specialist).post(
        f"{API}/activities/{created.json()['id']}/cancel", {"reason": "下雨"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    given = as_user(crew.officer).post(f"{API}/tasks", {"team": plans.patrol.pk, "title": "看护", "case": ""})
    assert given.status_code == 201 and given.json()["grid"]["code"] == crew.grid.code
    tasks = staff.get(f"{API}/tasks", {"state": "assigned"}).json()["items"]
    assert [t["title"] for t in tasks] == ["看护", "护送老人"]
    gone = as_user(crew.officer).post(f"{API}/tasks/{given.json()['id']}/cancel", {"reason": "不需要了"})
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    assert Task.objects.filter(state="cancelled").count() == 1 and Team.objects.count() == 4


def test_the_routes_are_in_the_api_document(crew):
    document = as_user(crew.leader).get("/api/openapi.json").json()
    paths = document["paths"]
    for path, methods in {
        "/api/community/mine": {"get"},
        "/api/community/figures": {"get"},
        "/api/community/teams": {"get", "post"},
        "/api/community/teams/{team_id}": {"get", "post"},
        "/api/community/teams/{team_id}/members": {"get", "post"},
        "/api/community/members/{member_id}/remove": {"post"},
        "/api/community/activities": {"get", "post"},
        "/api/community/activities/{activity_id}": {"get"},
        "/api/community/activities/{activity_id}/sign-up": {"post"},
        "/api/community/activities/{activity_id}/cancel-sign-up": {"post"},
        "/api/community/activities/{activity_id}/close": {"post"},
        "/api/community/activities/{activity_id}/cancel": {"post"},
        "/api/community/signups/{signup_id}/attendance": {"post"},
        "/api/community/tasks": {"get", "post"},
        "/api/community/tasks/{task_id}": {"get"},
        "/api/community/tasks/{task_id}/accept": {"post"},
        "/api/community/tasks/{task_id}/decline": {"post"},
        "/api/community/tasks/{task_id}/done": {"post"},
        "/api/community/tasks/{task_id}/cancel": {"post"},
    }.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            answers = set(paths[path][method]["responses"])
            assert {"401", "403", "404", "422"} <= answers, (path, method)
            if method == "post":
                assert "409" in answers, (path, method)
    assert "CommunityMine" in document["components"]["schemas"]


def test_refusals_speak_the_users_language(plans):
    crew = plans.crew
    services.do_sign_up(plans.night, actor=crew.vol1)
    services.do_sign_up(plans.night, actor=crew.specialist, member=plans.cat.pk)
    chinese = assert_error(
        as_user(crew.vol2, language="zh-hans").post(f"{API}/activities/{plans.night.pk}/sign-up"),
        409,
        "conflict",
    )
    assert chinese["message"] == "该活动名额已满。"
    english = assert_error(
        as_user(crew.vol2).post(f"{API}/activities/{plans.night.pk}/sign-up"), 409, "conflict"
    )
    assert english["message"] == "All places of this activity are taken."
    body = as_user(crew.vol1, language="zh-hans").get(f"{API}/mine").json()
    assert {c["label"] for c in body["choices"]["team_kinds"]} >= {
        "爱心车队",
        "治安联防队",
        "党建联盟",
        "志愿服务队",
    }


def test_the_volunteers_of_a_team_given_a_task_are_told_in_their_inbox(plans):
    # vol1 drives for the car team; vol2 is in the patrol only.
    inbox = as_user(plans.crew.vol1).get("/api/cases/inbox").json()["items"]
    told = [n for n in inbox if n["kind"] == "team_task"]
    assert len(told) == 1 and "护送老人" in told[0]["text"] and told[0]["link"] == "/m/#/volunteer"
    assert not [
        n
        for n in as_user(plans.crew.vol2).get("/api/cases/inbox").json()["items"]
        if n["kind"] == "team_task"
    ]
