"""The community pages of the workbench: the home's figures and lists, teams (list, page, new, changed, a member
added and leaving), activities (list, page, new, a member signed up, attendance and hours confirmed, closed,
cancelled), tasks (list, page, given, recorded done, cancelled); each refusal shown next to its field; the main
navigation's link — and every list within a fixed number of queries however many rows it shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.community import services
from gridgov.community.models import Activity, Member, SignUp, Task, Team

from .conftest import later
from .helpers import as_user, shift, snapshot

pytestmark = pytest.mark.django_db

MAX_QUERIES = 16


def page(client, url: str, data: dict | None = None, **extra) -> str:
    response = client.get(url, data or {}, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:400])
    return response.content.decode()


def moment(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def many(teams, n: int, start: int = 0) -> None:
    """`n` more teams (two members each), activities (one sign-up each) and tasks in the grid."""
    crew = teams.crew
    for k in range(start, start + n):
        team = services.do_create_team(
            actor=crew.specialist, name=f"队{k}", kind="service", grid=crew.grid.code
        )
        first = services.do_add_member(team, actor=crew.specialist, name=f"甲{k}").member
        services.do_add_member(team, actor=crew.specialist, name=f"乙{k}")
        activity = services.do_create_activity(
            actor=crew.specialist,
            title=f"活动{k}",
            team=team.pk,
            starts_at=later(24 + k),
            ends_at=later(26 + k),
        )
        services.do_sign_up(activity, actor=crew.specialist, member=first.pk)
        services.do_give_task(actor=crew.specialist, team=team.pk, title=f"任务{k}")


def test_the_navigation_links_the_community_for_grid_staff(teams):
    crew = teams.crew
    assert 'href="/community/"' in page(as_user(crew.specialist), "/community/")
    assert 'href="/community/"' in page(as_user(crew.leader), "/cases/")
    body = as_user(crew.resident).get("/", follow=True).content.decode()
    assert 'href="/community/"' not in body


def test_every_list_takes_a_fixed_number_of_queries(teams, django_assert_max_num_queries):
    client = as_user(teams.crew.l1head)
    many(teams, 2)
    urls = ["/community/", "/community/teams/", "/community/activities/", "/community/tasks/"]
    for url in urls:
        with django_assert_max_num_queries(MAX_QUERIES):
            page(client, url)
    many(teams, 12, start=2)
    for url in urls:
        with django_assert_max_num_queries(MAX_QUERIES):
            body = page(client, url)
        assert "队13" in body or "任务13" in body or "活动13" in body, url
    team = Team.objects.get(name="队13")
    with django_assert_max_num_queries(MAX_QUERIES + 4):
        page(client, f"/community/teams/{teams.patrol.pk}/")
    with django_assert_max_num_queries(MAX_QUERIES + 4):
        page(client, f"/community/teams/{team.pk}/")
    activity = Activity.objects.get(title="活动13")
    with django_assert_max_num_queries(MAX_QUERIES + 4):
        page(client, f"/community/activities/{activity.pk}/")


def test_the_home_shows_the_figures_and_what_waits(teams):
    crew = teams.crew
    activity = services.do_create_activity(
        actor=crew.specialist, title="夜间巡逻", team=teams.patrol.pk, starts_at=later(24), ends_at=later(26)
    )
    services.do_give_task(actor=crew.specialist, team=teams.car.pk, title="接送老人")
    body = page(as_user(crew.specialist), "/community/")
    assert 'data-figure="teams"><span class="n">1</span>' in body
    assert 'data-figure="members"><span class="n">3</span>' in body
    assert 'data-figure="open"><span class="n">1</span>' in body
    assert "夜间巡逻" in body and f"/community/activities/{activity.pk}/" in body
    assert "接送老人" in body and "爱心车队" in body
    # Another period: a bad date is named, the figures stay.
    body = page(as_user(crew.specialist), "/community/", {"since": "2026-02-30"})
    assert "field-error" in body


def test_lists_filter_and_page(teams):
    crew = teams.crew
    many(teams, 3)
    client = as_user(crew.l1head)
    body = page(client, "/community/teams/", {"kind": "car"})
    assert "爱心车队" in body and "红袖章巡逻队" not in body
    body = page(client, "/community/teams/", {"name": "巡逻"})
    assert "红袖章巡逻队" in body and "爱心车队" not in body
    body = page(client, "/community/teams/", {"grid": crew.village.code})
    assert "红袖章巡逻队" in body and "爱心车队" not in body
    first = page(client, "/community/tasks/", {"state": "all"})
    assert first.count('class="task-row') == 3
    response = client.get("/community/activities/", {"before": "1", "part": "rows"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()


def test_a_keeper_makes_and_changes_a_team_from_the_pages(crew):
    client = as_user(crew.l2head)
    form = page(client, "/community/teams/new/")
    assert crew.village.code in form
    response = client.post("/community/teams/new/", {"name": "", "kind": "patrol", "grid": crew.village.code})
    assert response.status_code == 422
    before = snapshot()
    response = client.post(
        "/community/teams/new/",
        {"name": "十户联防", "kind": "patrol", "grid": crew.village.code, "phone": "abc"},
    )
    assert response.status_code == 422 and 'data-field="phone"' in response.content.decode()
    assert snapshot() == before
    response = client.post(
        "/community/teams/new/",
        {"name": "十户联防", "kind": "patrol", "grid": crew.village.code, "phone": "13800001111"},
    )
    team = Team.objects.get(name="十户联防")
    assert response.status_code == 302 and response["Location"] == f"/community/teams/{team.pk}/"
    response = client.post(
        f"/community/teams/{team.pk}/members/", {"name": "老赵", "phone": "13912345678", "skills": "巡逻"}
    )
    assert response.status_code == 302
    member = Member.objects.get(team=team)
    body = page(client, f"/community/teams/{team.pk}/")
    assert "老赵" in body and "139****5678" in body and "13912345678" not in body
    response = client.post(
        f"/community/teams/{team.pk}/edit/",
        {"version": 1, "name": "十户联防队", "kind": "patrol", "leader": member.pk, "active": "on"},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.leader_id, team.version) == ("十户联防队", member.pk, 2)
    # Sent again with the version read before: somebody changed it meanwhile.
    response = client.post(f"/community/teams/{team.pk}/edit/", {"version": 1, "name": "x", "kind": "patrol"})
    assert response.status_code == 409 and "Somebody changed this team meanwhile" in response.content.decode()
    response = client.post(f"/community/members/{member.pk}/remove/", {"reason": "搬走"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.active
    # Who keeps no grid is refused the forms.
    assert as_user(crew.leader).get("/community/teams/new/").status_code == 403
    assert as_user(crew.officer).post(f"/community/teams/{team.pk}/members/", {"name": "x"}).status_code in (
        403,
        404,
    )


def test_an_activity_from_the_page_to_the_hours(teams):
    crew = teams.crew
    client = as_user(crew.specialist)
    form = page(client, "/community/activities/new/", {"team": teams.patrol.pk})
    assert "红袖章巡逻队" in form
    start = later(24)
    response = client.post(
        "/community/activities/new/",
        {
            "title": "夜间巡逻",
            "kind": "patrol",
            "team": teams.patrol.pk,
            "starts_at": moment(start),
            "ends_at": moment(start),
        },
    )
    assert response.status_code == 422 and 'data-field="ends_at"' in response.content.decode()
    response = client.post(
        "/community/activities/new/",
        {
            "title": "夜间巡逻",
            "kind": "patrol",
            "team": teams.patrol.pk,
            "starts_at": moment(start),
            "ends_at": moment(start + dt.timedelta(hours=3)),
            "capacity": "2",
        },
    )
    activity = Activity.objects.get(title="夜间巡逻")
    assert response.status_code == 302 and response["Location"] == f"/community/activities/{activity.pk}/"
    body = page(client, f"/community/activities/{activity.pk}/")
    assert "张三" in body and "王五" in body  # the members who may be signed up
    for member in (teams.ann, teams.cat):
        assert (
            client.post(f"/community/activities/{activity.pk}/sign-up/", {"member": member.pk}).status_code
            == 302
        )
    body = page(client, f"/community/activities/{activity.pk}/")
    assert "full" in body or "满" in body
    assert (
        client.post(
            f"/community/activities/{activity.pk}/cancel-sign-up/", {"member": teams.cat.pk}
        ).status_code
        == 302
    )
    assert SignUp.objects.get(member=teams.cat).cancelled_at is not None
    shift(activity, timezone.now() - dt.timedelta(hours=1), hours=3)
    body = page(client, f"/community/activities/{activity.pk}/")
    assert 'name="hours_' in body
    ann = SignUp.objects.get(member=teams.ann)
    before = snapshot()
    response = client.post(
        f"/community/activities/{activity.pk}/attendance/",
        {"signup": [ann.pk], f"attended_{ann.pk}": "on", f"hours_{ann.pk}": "4"},
    )
    assert response.status_code == 422 and "At most 3" in response.content.decode()
    assert snapshot() == before
    response = client.post(
        f"/community/activities/{activity.pk}/attendance/",
        {"signup": [ann.pk], f"attended_{ann.pk}": "on", f"hours_{ann.pk}": "2.5"},
    )
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.attended and str(ann.hours) == "2.50"
    assert client.post(f"/community/activities/{activity.pk}/close/").status_code == 302
    activity.refresh_from_db()
    assert activity.state == "done"
    body = page(client, f"/community/teams/{teams.patrol.pk}/")
    assert 'data-figure="hours">2.5<' in body


def test_cancelling_an_activity_needs_a_reason(teams):
    crew = teams.crew
    activity = services.do_create_activity(
        actor=crew.specialist, title="巡逻", team=teams.patrol.pk, starts_at=later(24), ends_at=later(26)
    )
    client = as_user(crew.specialist)
    response = client.post(f"/community/activities/{activity.pk}/cancel/", {"reason": ""})
    assert response.status_code == 422
    assert client.post(f"/community/activities/{activity.pk}/cancel/", {"reason": "大风"}).status_code == 302
    activity.refresh_from_db()
    assert (activity.state, activity.reason) == ("cancelled", "大风")
    assert as_user(crew.officer).post(f"/community/activities/{activity.pk}/close/").status_code == 403


def test_a_task_from_the_page_recorded_done_and_cancelled(teams):
    crew = teams.crew
    client = as_user(crew.officer)
    form = page(client, "/community/tasks/new/", {"team": teams.car.pk})
    assert "爱心车队" in form
    response = client.post(
        "/community/tasks/new/", {"team": teams.car.pk, "grid": crew.grid.code, "title": ""}
    )
    assert response.status_code == 422
    response = client.post(
        "/community/tasks/new/",
        {"team": teams.car.pk, "grid": crew.grid.code, "title": "接送老人", "due_on": "2020-01-01"},
    )
    assert response.status_code == 422 and 'data-field="due_on"' in response.content.decode()
    response = client.post(
        "/community/tasks/new/", {"team": teams.car.pk, "grid": crew.grid.code, "title": "接送老人"}
    )
    task = Task.objects.get(title="接送老人")
    assert response.status_code == 302 and response["Location"] == f"/community/tasks/{task.pk}/"
    body = page(client, f"/community/tasks/{task.pk}/")
    assert "接送老人" in body and "爱心车队" in body
    assert client.post(f"/community/tasks/{task.pk}/done/", {"result": ""}).status_code == 422
    assert client.post(f"/community/tasks/{task.pk}/done/", {"result": "车队回电已完成"}).status_code == 302
    task.refresh_from_db()
    assert task.state == "done" and task.done_by == crew.officer
    other = services.do_give_task(actor=crew.officer, team=teams.patrol.pk, title="夜间值守")
    assert (
        as_user(crew.leader).post(f"/community/tasks/{other.pk}/cancel/", {"reason": "x"}).status_code == 403
    )
    assert client.post(f"/community/tasks/{other.pk}/cancel/", {"reason": "不需要了"}).status_code == 302
    other.refresh_from_db()
    assert other.state == "cancelled"
