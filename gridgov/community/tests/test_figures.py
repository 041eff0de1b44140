"""The figures agree with the events: a known set of teams, members, activities, hours and tasks, and every
number of every figure for people of each scope; the volunteer hours per grid that the subtree overview shows
beside the cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from gridgov.community import selectors, services
from gridgov.community.services import Attendance

from .conftest import later
from .helpers import as_user, fresh, shift

pytestmark = pytest.mark.django_db


def held(teams, actor, start: dt.datetime, hours: float, attendance: dict, *, close=True, **fields):
    """An activity that began at `start` and lasted `hours`, with the sign-ups of `attendance` ({member: hours
    or False}) made before it began and confirmed after."""
    activity = services.do_create_activity(
        actor=actor, title="活动", starts_at=later(24), ends_at=later(25), **fields
    )
    signups = {m: services.do_sign_up(activity, actor=actor, member=m.pk).signup for m in attendance}
    activity = shift(activity, start, hours)
    entries = {
        signups[m].pk: Attendance(came is not False, None if came is False else came)
        for m, came in attendance.items()
    }
    if entries:
        services.do_confirm_attendance(activity, entries, actor=actor)
    if close:
        services.do_close_activity(activity, actor=actor)
    return activity


@pytest.fixture
def known(teams):
    crew = teams.crew
    now = timezone.now()
    # An inactive team of the neighbour grid, and a member who left the patrol.
    team_b = services.do_create_team(
        actor=crew.specialist_b, name="停用队", kind="other", grid=crew.grid_b.code
    )
    services.do_add_member(team_b, actor=crew.specialist_b, name="某人")
    services.do_edit_team(
        team_b, actor=crew.specialist_b, version=1, name="停用队", kind="other", active=False
    )
    services.do_remove_member(teams.cat, actor=crew.specialist)
    # A1: the patrol's, three days ago: 张三 2.5 h, 李四 did not come.
    held(
        teams,
        crew.specialist,
        now - dt.timedelta(days=3),
        3,
        {teams.ann: "2.5", teams.bob: False},
        team=teams.patrol.pk,
    )
    # A2: open to the town's teams, two days ago: 张三 (the patrol) 1 h, 张三 (the car team) 4 h; 李四 cancelled.
    a2 = services.do_create_activity(
        actor=crew.l1head, title="环境整治日", grid=crew.town.code, starts_at=later(24), ends_at=later(26)
    )
    one = services.do_sign_up(a2, actor=crew.l1head, member=teams.ann.pk).signup
    two = services.do_sign_up(a2, actor=crew.l1head, member=teams.driver.pk).signup
    services.do_sign_up(a2, actor=crew.l1head, member=teams.bob.pk)
    services.do_cancel_sign_up(a2, actor=crew.l1head, member=teams.bob.pk)
    a2 = shift(a2, now - dt.timedelta(days=2), 4)
    services.do_confirm_attendance(
        a2, {one.pk: Attendance(True, 1), two.pk: Attendance(True, 4)}, actor=crew.l1head
    )
    services.do_close_activity(a2, actor=crew.l1head)
    # A3: twenty days ago, outside the period: 张三 3 h.
    held(teams, crew.specialist, now - dt.timedelta(days=20), 3, {teams.ann: "3"}, team=teams.patrol.pk)
    # A4: the other town's, yesterday: 赵六 2 h.
    held(
        teams,
        crew.other_specialist,
        now - dt.timedelta(days=1),
        2,
        {teams.far_member: "2"},
        team=teams.far.pk,
    )
    # A5 cancelled, A6 open and coming: neither was held.
    a5 = services.do_create_activity(
        actor=crew.specialist, title="取消", team=teams.patrol.pk, starts_at=later(5), ends_at=later(6)
    )
    services.do_cancel_activity(a5, actor=crew.specialist, reason="下雨")
    services.do_create_activity(
        actor=crew.specialist, title="明天", team=teams.patrol.pk, starts_at=later(30), ends_at=later(31)
    )
    # Held but no attendance confirmed: counted as held, no hours.
    held(teams, crew.specialist, now - dt.timedelta(days=4), 1, {}, team=teams.patrol.pk)
    # Tasks: T1 done by 张三, T2 open (to the car team), T3 declined (the other town), T4 cancelled (the village's).
    t1 = services.do_give_task(actor=crew.specialist, team=teams.patrol.pk, title="T1")
    services.do_complete_task(t1, actor=fresh(crew.vol1), result="完成")
    services.do_give_task(actor=crew.specialist, team=teams.car.pk, title="T2")
    t3 = services.do_give_task(actor=crew.other_specialist, team=teams.far.pk, title="T3")
    services.do_decline_task(t3, actor=fresh(crew.vol3), reason="没空")
    t4 = services.do_give_task(actor=crew.l2head, grid=crew.village.code, team=teams.patrol.pk, title="T4")
    services.do_cancel_task(t4, actor=crew.l2head, reason="不用了")
    for user in vars(crew).values():
        if hasattr(user, "username"):
            fresh(user)
    teams.since = timezone.localdate(now - dt.timedelta(days=10))
    teams.until = timezone.localdate(now)
    return teams


def figures_of(known, who, **kw):
    found = selectors.figures(getattr(known.crew, who), known.since, known.until, **kw)
    return (
        found.teams,
        found.members,
        found.activities_held,
        found.volunteers_served,
        found.hours_served,
        found.tasks_given,
        found.tasks_done,
        found.tasks_open,
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # teams, members, held, volunteers, hours, given, done, open
        ("leader", (3, 4, 4, 3, Decimal("9.5"), 4, 1, 1)),
        ("l1head", (2, 3, 3, 2, Decimal("7.5"), 3, 1, 1)),  # the town: the patrol, the car team, A1, A2, A0
        ("l2head", (1, 2, 2, 1, Decimal("2.5"), 3, 1, 1)),  # the village: the patrol; tasks given in it
        ("specialist", (1, 2, 2, 1, Decimal("2.5"), 2, 1, 1)),  # the grid: T4 was the village's
        ("other_specialist", (1, 1, 1, 1, Decimal("2"), 1, 0, 0)),
        ("vol1", (2, 3, 2, 1, Decimal("2.5"), 3, 1, 1)),  # their teams: the patrol and the car team
        ("nobody", (0, 0, 0, 0, Decimal("0"), 0, 0, 0)),
    ],
)
def test_every_figure_of_a_known_set(known, who, expected):
    assert figures_of(known, who) == expected


def test_figures_of_a_grid_and_of_another_period(known):
    # The leader narrowed to the village.
    assert figures_of(known, "leader", grid=known.crew.village.code) == (1, 2, 2, 1, Decimal("2.5"), 3, 1, 1)
    # A grid the user does not see holds nothing.
    assert figures_of(known, "specialist", grid=known.crew.other_town.code)[:5] == (0, 0, 0, 0, Decimal("0"))
    # Thirty days back: A3 counts too (3 h more, 张三 already counted).
    found = selectors.figures(known.crew.leader, known.until - dt.timedelta(days=30), known.until)
    assert (found.activities_held, found.volunteers_served, found.hours_served) == (5, 3, Decimal("12.5"))


def test_the_figures_api_answers_the_same(known):
    response = as_user(known.crew.l1head).get(
        "/api/community/figures", {"since": known.since.isoformat(), "until": known.until.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "since": known.since.isoformat(),
        "until": known.until.isoformat(),
        "teams": 2,
        "members": 3,
        "activities_held": 3,
        "volunteers_served": 2,
        "hours_served": 7.5,
        "tasks_given": 3,
        "tasks_done": 1,
        "tasks_open": 1,
    }


def test_hours_per_grid_for_the_indicators(known):
    crew = known.crew
    since = known.since
    assert selectors.hours_by_grid(1, [crew.town.pk, crew.other_town.pk], since=since) == {
        crew.town.pk: Decimal("7.5"),
        crew.other_town.pk: Decimal("2"),
    }
    # A2 was the town's own: it belongs to no village.
    assert selectors.hours_by_grid(2, [crew.village.pk, crew.other_village.pk], since=since) == {
        crew.village.pk: Decimal("2.5")
    }
    assert selectors.hours_by_grid(3, None, since=since) == {
        crew.grid.pk: Decimal("2.5"),
        crew.other_town_grid.pk: Decimal("2"),
    }
    assert selectors.hours_by_grid(3, None) == {
        crew.grid.pk: Decimal("5.5"),
        crew.other_town_grid.pk: Decimal("2"),
    }


def test_the_overview_shows_the_volunteer_hours_of_each_grid_this_month(teams):
    from gridgov.cases import overview

    crew = teams.crew
    month = timezone.make_aware(dt.datetime.combine(selectors.month_start(), dt.time.min))
    held(teams, crew.specialist, month, 2, {teams.ann: "2", teams.bob: "1.5"}, team=teams.patrol.pk)
    held(teams, crew.specialist, month - dt.timedelta(days=3), 2, {teams.ann: "2"}, team=teams.patrol.pk)
    found = overview.build(fresh(crew.leader), crew.root, overview.period_of("this_month"))
    label = str(selectors.VolunteerHours.label)
    assert label in [str(c) for c in found.columns]
    column = [str(c) for c in found.columns].index(label)
    by_town = {row.grid.code: row.more[column][1] for row in found.rows if row.grid is not None}
    assert by_town == {crew.town.code: 3, crew.other_town.code: 0}  # 3.5 h, counted whole
    link = next(row.more[column][2] for row in found.rows if row.grid == crew.town)
    assert link.startswith("/community/activities/?") and f"grid={crew.town.code}" in link
