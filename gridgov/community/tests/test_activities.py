"""Activities, sign-ups and hours served: a team's activity or one open to every team of a grid; sign-up until
it starts, capped by its places, once per member (the same sign-up sent again answers the first); attendance
and hours confirmed by the organiser, at most the activity's length; every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from gridgov.community import selectors, services
from gridgov.community.errors import Conflict, Invalid, NotAllowed
from gridgov.community.models import Activity, SignUp
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord

from .conftest import later
from .helpers import fresh, shift, snapshot

pytestmark = pytest.mark.django_db


def patrol_night(teams, **changes):
    data = {
        "title": "夜间巡逻",
        "team": teams.patrol.pk,
        "kind": "patrol",
        "starts_at": later(24),
        "ends_at": later(27),
        "place": "村委会门口集合",
        "capacity": 2,
    }
    return services.do_create_activity(actor=teams.crew.specialist, **{**data, **changes})


def test_a_team_activity_takes_the_team_grid(teams):
    activity = patrol_night(teams)
    assert activity.grid_id == teams.patrol.grid_id
    assert (activity.grid_l1_id, activity.grid_l2_id, activity.grid_l3_id) == (
        teams.crew.town.pk,
        teams.crew.village.pk,
        teams.crew.grid.pk,
    )
    assert activity.state == "open" and activity.created_by == teams.crew.specialist
    assert AuditRecord.objects.filter(action="community.activity.create").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"title": ""}, "title", Invalid),
        ({"kind": "party"}, "kind", Invalid),
        ({"team": None}, "team", Invalid),  # neither a team nor a grid
        ({"team": 10**12}, "team", Invalid),
        ({"starts_at": "tomorrow"}, "starts_at", Invalid),
        ({"starts_at": "2020-01-01T09:00:00+08:00"}, "starts_at", Invalid),  # in the past
        ({"starts_at": later(24 * 400), "ends_at": later(24 * 400 + 2)}, "starts_at", Invalid),
        ({"ends_at": later(24)}, "ends_at", Invalid),  # not after the start
        ({"ends_at": later(23)}, "ends_at", Invalid),
        ({"ends_at": later(24 + 24 * 8)}, "ends_at", Invalid),  # longer than a week
        ({"capacity": 0}, "capacity", Invalid),
        ({"capacity": "many"}, "capacity", Invalid),
        ({"capacity": 1001}, "capacity", Invalid),
        ({"place": "x" * 201}, "place", Invalid),
        ({"notes": "x" * 2001}, "notes", Invalid),
    ],
)
def test_a_bad_activity_is_refused_naming_the_field_and_nothing_changes(teams, changes, field, error):
    before = snapshot()
    with pytest.raises(error) as refused:
        patrol_night(teams, **changes)
    assert refused.value.field == field, refused.value.message
    assert snapshot() == before


def test_only_the_keepers_of_the_grid_organise(teams):
    crew = teams.crew
    before = snapshot()
    for user in (crew.officer, crew.leader, crew.vol1, crew.specialist_b):
        with pytest.raises((NotAllowed, Invalid)):
            services.do_create_activity(
                actor=user, title="巡逻", team=teams.patrol.pk, starts_at=later(24), ends_at=later(26)
            )
    # The other town's team is not one the specialist sees: as if it did not exist.
    with pytest.raises(Invalid) as refused:
        services.do_create_activity(
            actor=crew.specialist, title="巡逻", team=teams.far.pk, starts_at=later(24), ends_at=later(26)
        )
    assert refused.value.field == "team"
    assert snapshot() == before


def test_a_volunteer_signs_up_once_and_the_same_call_again_answers_the_first(teams):
    crew = teams.crew
    activity = patrol_night(teams)
    first = services.do_sign_up(activity, actor=crew.vol2)
    assert first.created and first.signup.member_id == teams.bob.pk
    before = snapshot()
    again = services.do_sign_up(activity, actor=crew.vol2)
    assert not again.created and again.signup.pk == first.signup.pk
    again = services.do_sign_up(activity, actor=crew.vol2, member=teams.bob.pk)
    assert not again.created and again.signup.pk == first.signup.pk
    assert snapshot() == before
    assert SignUp.objects.filter(activity=activity).count() == 1


def test_the_places_are_capped(teams):
    crew = teams.crew
    activity = patrol_night(teams, capacity=2)
    services.do_sign_up(activity, actor=crew.vol1)
    services.do_sign_up(activity, actor=crew.specialist, member=teams.cat.pk)
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        services.do_sign_up(activity, actor=crew.vol2)
    with translation.override("en"):
        assert str(refused.value.message) == "All places of this activity are taken."
    assert snapshot() == before
    # A cancelled sign-up frees its place.
    services.do_cancel_sign_up(activity, actor=crew.vol1)
    assert services.do_sign_up(activity, actor=crew.vol2).created
    assert selectors.activity_for(crew.specialist, activity.pk).signed == 2


def test_no_sign_up_once_the_activity_has_started_nor_once_it_is_closed(teams):
    crew = teams.crew
    activity = patrol_night(teams)
    services.do_sign_up(activity, actor=crew.vol1)
    started = shift(activity, timezone.now() - dt.timedelta(minutes=1))
    before = snapshot()
    with pytest.raises(Conflict):
        services.do_sign_up(started, actor=crew.vol2)
    with pytest.raises(Conflict):
        services.do_cancel_sign_up(started, actor=crew.vol1)  # the sign-up stands
    assert snapshot() == before
    # One already signed up still gets their sign-up back (the phone sending it again after the start).
    assert not services.do_sign_up(started, actor=crew.vol1).created
    other = patrol_night(teams, title="白天巡逻")
    services.do_cancel_activity(other, actor=crew.specialist, reason="下雨")
    other.refresh_from_db()
    before = snapshot()
    with pytest.raises(Conflict):
        services.do_sign_up(other, actor=crew.vol2)
    assert snapshot() == before


def test_who_may_sign_up(teams):
    crew = teams.crew
    team_activity = patrol_night(teams)
    before = snapshot()
    # A volunteer of another team: none of their teams may join.
    with pytest.raises(NotAllowed):
        services.do_sign_up(team_activity, actor=crew.vol3)
    # A volunteer naming another's membership.
    with pytest.raises(NotAllowed):
        services.do_sign_up(team_activity, actor=crew.vol1, member=teams.bob.pk)
    # A keeper signing up a member whose team may not join (the car team is not the patrol).
    with pytest.raises(Invalid) as refused:
        services.do_sign_up(team_activity, actor=crew.specialist, member=teams.driver.pk)
    assert refused.value.field == "member"
    # A member who left.
    services.do_remove_member(teams.cat, actor=crew.specialist)
    snap = snapshot()
    with pytest.raises(Invalid):
        services.do_sign_up(team_activity, actor=crew.specialist, member=teams.cat.pk)
    assert snapshot() == snap
    assert snap["signups"] == before["signups"]


def test_an_open_activity_takes_every_team_of_its_grid_and_below(teams):
    crew = teams.crew
    town_day = services.do_create_activity(
        actor=crew.l1head,
        title="环境整治日",
        grid=crew.town.code,
        kind="cleanup",
        starts_at=later(48),
        ends_at=later(52),
    )
    assert town_day.team_id is None and town_day.grid_id == crew.town.pk
    # The grid's patrol and the town's car team both may join: vol1 is in both, and signs up once.
    assert services.do_sign_up(town_day, actor=crew.vol1).created
    assert not services.do_sign_up(town_day, actor=crew.vol1).created
    assert services.do_sign_up(
        town_day, actor=crew.vol1, member=teams.driver.pk
    ).created  # the other membership
    assert services.do_sign_up(town_day, actor=crew.vol2).created
    with pytest.raises(NotAllowed):
        services.do_sign_up(town_day, actor=fresh(crew.vol3))  # the other town's team


def attended(teams, hours=2):
    """An activity of the patrol that began an hour ago, with vol1 and vol2 signed up before."""
    crew = teams.crew
    activity = patrol_night(teams, capacity=None)
    a = services.do_sign_up(activity, actor=crew.vol1).signup
    b = services.do_sign_up(activity, actor=crew.vol2).signup
    return shift(activity, timezone.now() - dt.timedelta(hours=1), hours=hours), a, b


def test_the_organiser_confirms_who_came_and_their_hours(teams):
    crew = teams.crew
    activity, a, b = attended(teams, hours=3)
    done = services.do_confirm_attendance(
        activity,
        {a.pk: services.Attendance(True, "2.5"), b.pk: services.Attendance(False, None)},
        actor=crew.specialist,
    )
    assert [(s.attended, s.hours) for s in done] == [(True, Decimal("2.50")), (False, None)]
    assert all(s.confirmed_by_id == crew.specialist.pk and s.confirmed_at for s in done)
    ann = selectors.members(crew.specialist, teams.patrol).get(pk=teams.ann.pk)
    assert ann.hours == Decimal("2.50")
    # Corrected later: the member's hours follow (they are the sum of the sign-ups, nothing to drift).
    services.do_confirm_attendance(activity, {a.pk: services.Attendance(True, 3)}, actor=crew.l2head)
    assert selectors.members(crew.specialist, teams.patrol).get(pk=teams.ann.pk).hours == Decimal("3.00")
    assert AuditRecord.objects.filter(action="community.attendance").count() == 2
    assert verify_chain().broken_at is None


@pytest.mark.parametrize(
    ("hours", "came", "field"),
    [
        ("-1", True, "hours"),
        ("3.01", True, "hours"),  # longer than the activity
        ("abc", True, "hours"),
        ("NaN", True, "hours"),
        ("1.255", True, "hours"),
        (None, True, "hours"),  # who came served some hours: say how many
        ("2", False, "hours"),  # who did not come served none
    ],
)
def test_bad_hours_are_refused_and_nothing_changes(teams, hours, came, field):
    crew = teams.crew
    activity, a, b = attended(teams, hours=3)
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_confirm_attendance(
            activity,
            {b.pk: services.Attendance(True, "1"), a.pk: services.Attendance(came, hours)},
            actor=crew.specialist,
        )
    assert refused.value.field == field
    assert snapshot() == before


def test_attendance_refusals(teams):
    crew = teams.crew
    activity, a, _b = attended(teams)
    before = snapshot()
    # Not the organiser, nor a keeper of the grid.
    for user in (crew.officer, crew.vol1, crew.other_specialist):
        with pytest.raises(NotAllowed):
            services.do_confirm_attendance(activity, {a.pk: services.Attendance(True, 1)}, actor=user)
    assert snapshot() == before
    # A sign-up of another activity.
    _other, c, _d = attended(teams)
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_confirm_attendance(activity, {c.pk: services.Attendance(True, 1)}, actor=crew.specialist)
    assert refused.value.field == "signup"
    assert snapshot() == before
    # Before the start.
    coming = patrol_night(teams, capacity=None, title="明天")
    e = services.do_sign_up(coming, actor=crew.vol1).signup
    snap = snapshot()
    with pytest.raises(Invalid):
        services.do_confirm_attendance(coming, {e.pk: services.Attendance(True, 1)}, actor=crew.specialist)
    assert snapshot() == snap
    # A cancelled sign-up.
    services.do_cancel_sign_up(coming, actor=crew.vol1)
    shift(coming, timezone.now() - dt.timedelta(hours=1))
    snap = snapshot()
    with pytest.raises(Invalid):
        services.do_confirm_attendance(coming, {e.pk: services.Attendance(True, 1)}, actor=crew.specialist)
    assert snapshot() == snap


def test_closing_and_cancelling(teams):
    crew = teams.crew
    activity, a, _b = attended(teams)
    coming = patrol_night(teams, title="明天")
    before = snapshot()
    with pytest.raises(Invalid):
        services.do_close_activity(coming, actor=crew.specialist)  # not started yet
    with pytest.raises(Invalid) as refused:
        services.do_cancel_activity(coming, actor=crew.specialist, reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(NotAllowed):
        services.do_close_activity(activity, actor=crew.vol1)
    assert snapshot() == before
    services.do_confirm_attendance(activity, {a.pk: services.Attendance(True, 1)}, actor=crew.specialist)
    before = snapshot()
    with pytest.raises(Conflict):  # attendance confirmed: it was held
        services.do_cancel_activity(activity, actor=crew.specialist, reason="下雨")
    assert snapshot() == before
    closed = services.do_close_activity(activity, actor=crew.l2head)
    assert closed.state == "done" and closed.closed_by == crew.l2head
    assert services.do_close_activity(closed, actor=crew.l2head).state == "done"  # again: the same
    cancelled = services.do_cancel_activity(coming, actor=crew.specialist, reason="下雨")
    assert (cancelled.state, cancelled.reason) == ("cancelled", "下雨")
    before = snapshot()
    with pytest.raises(Conflict):
        services.do_close_activity(cancelled, actor=crew.specialist)
    assert snapshot() == before
    stored = Activity.objects.get(pk=coming.pk)
    assert stored.state == "cancelled" and stored.closed_at is not None
