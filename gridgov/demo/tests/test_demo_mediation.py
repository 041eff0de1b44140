"""The demo county's mediation and volunteer teams: committees on the ladder with their mediators, a year of
disputes in every state whose records the mediation services could have written (timeline, versions, levels,
agreements, follow-ups, referrals, hand-overs, the cases they came from, the audit chain), figures for a town
head, and the demo `mediator` and `volunteer` signing in to find their work."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import pairwise

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.models import CaseEvent, Comment
from gridgov.community import selectors as community
from gridgov.community.choices import ActivityState, TaskState, TeamKind
from gridgov.community.models import Activity, Member, SignUp, Task, Team
from gridgov.core.audit import verify_chain
from gridgov.core.calendar import TZ
from gridgov.core.models import AuditRecord
from gridgov.demo.config import DemoConfig
from gridgov.demo.mediation import seed_mediation
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.grids.models import Grid
from gridgov.mediation import selectors as mediation
from gridgov.mediation.choices import OPEN_STATES, SIGNED_STATES, DisputeState, EventAction, Level, Outcome
from gridgov.mediation.models import (
    Agreement,
    Committee,
    Dispute,
    DisputeCounter,
    DisputeEvent,
    FollowUp,
    Mediator,
    Party,
    Session,
)
from gridgov.mediation.services import follow_up_days

from .test_history import check_history

CONFIG = DemoConfig.small()
NOW = dt.datetime(2026, 11, 26, 10, 17, tzinfo=TZ)


@pytest.fixture
def demo(db):
    return seed_demo(CONFIG)


def ancestors(grid: Grid) -> set[int]:
    return {int(x) for x in grid.path.strip("/").split("/") if x}


def check_disputes(now: dt.datetime) -> Counter:
    """Everything the mediation services keep, checked on every dispute of the database. Returns the events'
    actions."""
    disputes = {
        d.pk: d
        for d in Dispute.objects.select_related("grid", "committee", "committee__grid", "lead_mediator")
    }
    events: dict[int, list[DisputeEvent]] = defaultdict(list)
    for e in DisputeEvent.objects.order_by("dispute_id", "at", "id"):
        events[e.dispute_id].append(e)
    parties: dict[int, set[int]] = defaultdict(set)
    for pk, dispute in Party.objects.values_list("id", "dispute_id"):
        parties[dispute].add(pk)
    sessions: dict[int, list[Session]] = defaultdict(list)
    for s in Session.objects.prefetch_related("mediators", "parties_present").order_by("held_at", "id"):
        sessions[s.dispute_id].append(s)
    agreements = {a.dispute_id: a for a in Agreement.objects.all()}
    visits: dict[int, list[FollowUp]] = defaultdict(list)
    for f in FollowUp.objects.order_by("due_on", "id"):
        visits[f.dispute_id].append(f)
    assistants: dict[int, list[int]] = defaultdict(list)
    for dispute, mediator in Dispute.assistants.through.objects.values_list("dispute_id", "mediator_id"):
        assistants[dispute].append(mediator)
    committee_of = dict(Mediator.objects.values_list("id", "committee_id"))
    committees = {c.pk: c for c in Committee.objects.select_related("grid")}
    actions: Counter = Counter()

    for pk, d in disputes.items():
        evs = events[pk]
        where = f"{d.number} {[e.action for e in evs]}"
        actions.update(e.action for e in evs)
        # The timeline: every step an event, the version their count, time never running backwards.
        assert evs and d.version == len(evs), where
        assert all(a.at <= b.at for a, b in pairwise(evs)), where
        assert evs[0].at == d.received_at == d.created_at and evs[-1].at == d.updated_at <= now, where
        assert (evs[0].action, evs[0].from_state, evs[0].to_state, evs[0].level) in (
            (EventAction.RECEIVED, "", DisputeState.RECEIVED, Level.GRID),
            (EventAction.FROM_CASE, "", DisputeState.RECEIVED, Level.GRID),
        ), where
        assert (evs[0].action == EventAction.FROM_CASE) == (d.case_id is not None), where
        assert d.grid.level == 3 and (d.grid_l1_id, d.grid_l2_id, d.grid_l3_id) == (
            d.grid.l1_id,
            d.grid.l2_id,
            d.grid.pk,
        ), where
        state, level, outcome = DisputeState.RECEIVED, Level.GRID, None
        n_sessions = 0
        for e in evs[1:]:
            assert e.from_state == state, where
            if e.action == EventAction.ASSIGNED:
                c = committees[e.data["committee"]]
                assert c.grid_id in ancestors(d.grid) and c.level <= level and e.level == c.level, where
                assert committee_of[e.data["lead"]] == c.pk, where
                assert all(committee_of[m] == c.pk for m in e.data["assistants"]), where
                assert e.to_state == (
                    DisputeState.MEDIATING if state == DisputeState.MEDIATING else DisputeState.ASSIGNED
                )
                assert state in OPEN_STATES and e.level == c.level, where
            elif e.action == EventAction.SESSION:
                assert state in (DisputeState.ASSIGNED, DisputeState.MEDIATING), where
                assert e.to_state == DisputeState.MEDIATING and e.level == level, where
                n_sessions += 1
            elif e.action == EventAction.OUTCOME:
                assert state == DisputeState.MEDIATING and e.level == level, where
                outcome = e.data["outcome"]
                expected = {
                    Outcome.AGREEMENT: DisputeState.SETTLED,
                    Outcome.PARTIAL: DisputeState.PARTIAL,
                    Outcome.FAILED: DisputeState.FAILED,
                }
                assert e.to_state == expected[outcome] and e.data["level"] == level, where
            elif e.action == EventAction.REFERRED_UP:
                assert state in (*OPEN_STATES, DisputeState.FAILED) and e.to_state == DisputeState.RECEIVED, (
                    where
                )
                assert e.data["from_level"] == level > e.data["to_level"] == e.level, where
                assert e.note, where
            elif e.action == EventAction.HANDED_OVER:
                assert state in (*OPEN_STATES, DisputeState.FAILED, DisputeState.PARTIAL), where
                assert e.to_state == DisputeState.HANDED_OVER and e.data["to"] == d.handed_to, where
            elif e.action in (EventAction.FOLLOW_UP, EventAction.PARTY_ADDED):
                assert e.to_state == state and e.level == level, where
            else:
                raise AssertionError(where)
            state, level = e.to_state, e.level
        assert d.state == state and d.level == level, where

        # Who mediates it: a committee covering its grid at its level, the lead and the assistants of it.
        if d.committee_id is not None and d.lead_mediator_id is not None:
            assert d.committee.level == d.level and d.committee.grid_id in ancestors(d.grid), where
            assert committee_of[d.lead_mediator_id] == d.committee_id, where
            assert all(committee_of[m] == d.committee_id for m in assistants[pk]), where
        elif d.lead_mediator_id is None:
            assert d.state == DisputeState.RECEIVED and not assistants[pk], where
        # Sessions: as many as their events, after the receipt, by mediators, with parties of the dispute.
        assert len(sessions[pk]) == n_sessions, where
        for s in sessions[pk]:
            assert d.received_at <= s.held_at <= now and s.mediators.all(), where
            assert {p.pk for p in s.parties_present.all()} <= parties[pk], where
        assert len(parties[pk]) >= 2, where
        # The outcome: the agreement row is the last outcome's; the dispute's times and levels follow it.
        a = agreements.get(pk)
        assert (a is None) == (outcome is None), where
        if a is not None:
            assert a.outcome == outcome and a.number == d.number, where
            assert a.signed_on >= timezone.localtime(d.received_at).date(), where
        if d.state in SIGNED_STATES or (d.state == DisputeState.HANDED_OVER and outcome == Outcome.PARTIAL):
            assert a is not None and d.settled_at is not None and d.settled_level == a.level, where
            assert d.failed_at is None, where
            if a.amount is not None and d.amount is not None:
                assert a.amount <= d.amount, where
            due = [a.signed_on + dt.timedelta(days=n) for n in follow_up_days()]
            assert [f.due_on for f in visits[pk]] == due, where
        else:
            assert not visits[pk] and d.settled_at is None and d.settled_level is None, where
        if d.state == DisputeState.FAILED:
            assert d.failed_at is not None and a is not None and a.outcome == Outcome.FAILED, where
        if d.state == DisputeState.HANDED_OVER:
            handed = [e for e in evs if e.action == EventAction.HANDED_OVER]
            assert d.handed_to and d.handover_note and [d.handed_at] == [e.at for e in handed], where
        else:
            assert not d.handed_to and d.handed_at is None, where
        done = [f for f in visits[pk] if f.done_at is not None]
        assert len(done) == sum(1 for e in evs if e.action == EventAction.FOLLOW_UP), where
        for f in done:
            assert f.result and f.visitor_id and f.done_at <= now, where
            assert timezone.localtime(f.done_at).date() >= a.signed_on, where  # type: ignore[union-attr]

    # Numbers: one sequence per local day of receipt, in the order of intake.
    by_day: dict[str, list[int]] = defaultdict(list)
    for d in disputes.values():
        match = re.fullmatch(r"T(\d{8})-(\d{4})", d.number)
        assert match and match[1] == f"{timezone.localtime(d.received_at):%Y%m%d}", d.number
        by_day[match[1]].append(int(match[2]))
    counters = {f"{day:%Y%m%d}": last for day, last in DisputeCounter.objects.values_list("day", "last")}
    for day, seqs in by_day.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)) and counters[day] == len(seqs), day
    # One audit record per event, the chain intact.
    assert AuditRecord.objects.filter(object_type="mediation.dispute").count() == sum(actions.values())
    assert verify_chain().broken_at is None
    return actions


@pytest.mark.django_db
def test_the_small_demo_has_committees_mediators_and_a_year_of_disputes_in_every_state(demo):
    now = timezone.now()
    report = demo.mediation
    # The ladder: the towns' grid mediation committees with the volunteers, village committees, grid groups.
    towns = [u for u in CONFIG.units if u.kind == "town"]
    levels = Counter(Committee.objects.values_list("level", flat=True))
    assert levels[Level.TOWN] == len(towns) and levels[Level.VILLAGE] > 0 and levels[Level.GRID] > 0
    assert set(Committee.objects.filter(level=Level.TOWN).values_list("name", flat=True)) == {
        f"{u.name}网格调解委员会" for u in towns
    }
    volunteers = Mediator.objects.filter(committee__level=Level.TOWN)
    assert volunteers.count() == CONFIG.mediators == report.volunteers
    holders = set(RoleAssignment.objects.filter(role=Role.MEDIATOR).values_list("user_id", flat=True))
    assert set(volunteers.values_list("user_id", flat=True)) == holders
    for m in volunteers.select_related("user", "person"):
        assert m.areas.get().level == 2 and m.skills and "zh" in m.languages
        if m.person is not None:
            assert m.name == m.person.name == m.user.full_name  # the login is the registered mediator's
    assert Mediator.objects.filter(person__isnull=False).exists()
    assert set(Mediator.objects.filter(committee__level=Level.GRID).values_list("kind", flat=True)) == {
        "grid_worker"
    }

    # A year of disputes, in every state, whose records hold together; some came from cases.
    states = Counter(Dispute.objects.values_list("state", flat=True))
    assert set(states) == set(DisputeState.values), states
    assert report.disputes == sum(states.values()) >= CONFIG.disputes * 0.9
    first = Dispute.objects.order_by("received_at").first()
    assert first is not None and first.received_at >= now - dt.timedelta(days=366)
    assert first.received_at < now - dt.timedelta(days=300)
    actions = check_disputes(now)
    for action in EventAction.values:
        if action != EventAction.PARTY_UPDATED:
            assert actions[action], action
    settled = Dispute.objects.filter(state=DisputeState.SETTLED)
    assert set(settled.values_list("settled_level", flat=True)) == {1, 2, 3}
    assert FollowUp.objects.filter(done_at__isnull=True, due_on__lt=timezone.localdate()).exists()  # overdue
    assert FollowUp.objects.filter(done_at__isnull=True, due_on__gte=timezone.localdate()).exists()  # to come
    assert (
        Party.objects.filter(person__isnull=False).exists()
        and Party.objects.exclude(id_number_index="").exists()
    )

    # Opened from cases of the disputes module: the case's own record says so, and still holds together.
    linked = Dispute.objects.filter(case__isnull=False).select_related("case__item__module")
    assert linked.exists()
    for d in linked:
        assert d.case.item.module.code == "07"
        last = CaseEvent.objects.filter(case=d.case).order_by("-seq").first()
        assert last.action == "comment" and d.number in last.note and last.created_at == d.received_at
        assert Comment.objects.filter(case=d.case, text=last.note, public=False).exists()
    check_history(now)


@pytest.mark.django_db
def test_a_town_head_sees_the_figures_of_the_year(demo):
    head = User.objects.get(username="l1head")
    today = timezone.localdate()
    figures = mediation.figures(head, today - dt.timedelta(days=365), today)
    assert figures.received > 50 and figures.settled > 20 and figures.amount_at_stake > 0
    assert figures.settled == figures.settled_grid + figures.settled_village + figures.settled_town
    assert figures.settled_grid and figures.settled_village and figures.settled_town
    assert figures.partial and figures.failed and figures.handed_over and figures.amount_agreed > 0
    # Only their town's: the other town's disputes are not counted.
    town = RoleAssignment.objects.get(user=head, role=Role.GRID_HEAD_L1).grid_id
    assert (
        figures.received
        == Dispute.objects.filter(
            grid_l1_id=town, received_at__gte=mediation.day_bounds(today - dt.timedelta(days=365))[0]
        ).count()
    )
    assert mediation.counts_per_grid(1, [town], timezone.now() - dt.timedelta(days=365), timezone.now())[town]
    # The community's figures of the year in their town.
    year = community.figures(head, today - dt.timedelta(days=365), today)
    assert year.teams and year.members and year.activities_held and year.hours_served > 0 and year.tasks_given


@pytest.mark.django_db
def test_the_demo_mediator_and_volunteer_sign_in_and_find_their_work(demo, client):
    # The mediator: a volunteer of the town's committee, leading disputes in mediation, with visits due.
    assert authenticate(username="mediator", password=DEMO_PASSWORD) is not None
    assert client.login(username="mediator", password=DEMO_PASSWORD)
    user = User.objects.get(username="mediator")
    record = Mediator.objects.select_related("committee").get(user=user)
    assert record.committee.level == Level.TOWN
    mine = mediation.disputes(user, mediator=record.pk)
    assert (
        mine.filter(state=DisputeState.ASSIGNED).exists()
        and mine.filter(state=DisputeState.MEDIATING).exists()
    )
    page, _more = mediation.dispute_page(user, state="open")
    assert page
    one = mediation.dispute_for(user, mine.filter(state=DisputeState.MEDIATING).first().number)
    record_of = mediation.record_of(one)
    assert record_of.sessions and len(record_of.parties) >= 2 and record_of.events
    assert mediation.follow_ups_due(user).exists()
    assert any(s.mediator.pk == record.pk for s in mediation.suggest_mediators(one))
    assert mediation.committees(user).filter(pk=record.committee_id).exists()

    # The volunteer: a member of their community's team and of the car team, with tasks, activities, hours.
    assert authenticate(username="volunteer", password=DEMO_PASSWORD) is not None
    assert client.login(username="volunteer", password=DEMO_PASSWORD)
    volunteer = User.objects.get(username="volunteer")
    members = Member.objects.filter(user=volunteer, active=True).select_related("team", "person")
    assert {m.team.kind for m in members} >= {TeamKind.CAR}
    assert len({m.name for m in members}) == 1 and volunteer.full_name == members[0].name
    phone = community.mine(volunteer)
    states = {t.state for t in phone.tasks}
    assert {TaskState.ASSIGNED, TaskState.ACCEPTED} <= states
    accepted = [t for t in phone.tasks if t.state == TaskState.ACCEPTED]
    assert any(t.accepted_by.user_id == volunteer.pk for t in accepted)
    coming = [
        a
        for a in phone.activities
        if a.activity.state == ActivityState.OPEN and a.activity.starts_at > phone.now
    ]
    assert any(a.signup is not None for a in coming) and any(a.signup is None and a.eligible for a in coming)
    assert phone.hours_total > 0
    assert community.tasks(volunteer).exists() and community.teams(volunteer).exists()


@pytest.mark.django_db
def test_the_volunteer_teams_keep_the_services_rules(demo):
    now = timezone.now()
    kinds = Counter(Team.objects.values_list("kind", flat=True))
    assert (
        kinds[TeamKind.CAR] and kinds[TeamKind.PATROL] and kinds[TeamKind.PARTY] and kinds[TeamKind.SERVICE]
    )
    assert Team.objects.filter(leader__isnull=False, version=2).count() == Team.objects.count()
    assert Member.objects.filter(person__isnull=False).exists()
    assert set(Activity.objects.values_list("state", flat=True)) == set(ActivityState.values)
    assert set(Task.objects.values_list("state", flat=True)) == set(TaskState.values)
    for a in Activity.objects.prefetch_related("signups"):
        assert a.created_at < a.starts_at and a.created_at <= now
        for s in a.signups.all():
            assert a.created_at <= s.signed_at < a.starts_at and s.signed_at <= now
            if s.cancelled_at is not None:
                assert s.signed_at <= s.cancelled_at < a.starts_at and s.confirmed_at is None
            if s.hours is not None:
                assert s.hours <= (a.ends_at - a.starts_at).total_seconds() / 3600
            if s.confirmed_at is not None:
                assert a.state == ActivityState.DONE and a.starts_at <= s.confirmed_at <= a.closed_at
            if a.state == ActivityState.CANCELLED:
                assert s.signed_at <= a.closed_at
        if a.state == ActivityState.DONE:
            assert a.closed_at >= a.starts_at
    for t in Task.objects.select_related("team__grid", "grid", "accepted_by", "declined_by"):
        assert t.grid.path.startswith(t.team.grid.path) or t.team.grid.path.startswith(t.grid.path)
        assert t.created_at <= (t.closed_at or now) <= now
        for member in (t.accepted_by, t.declined_by):
            if member is not None:
                assert member.team_id == t.team_id and member.user_id  # a volunteer with the phone
        if t.state == TaskState.DECLINED:
            assert t.closed_by_id == t.declined_by.user_id
    # Hours are the sum of the confirmed sign-ups, for the indicators too.
    hours = community.hours_by_grid(1)
    assert sum(hours.values()) == sum(h for h in SignUp.objects.values_list("hours", flat=True) if h)
    assert AuditRecord.objects.filter(action="community.signup").count() == SignUp.objects.count()
    assert verify_chain().broken_at is None


@pytest.mark.django_db
def test_the_same_seed_and_instant_give_the_same_disputes():
    seed_demo(replace(CONFIG, disputes=0, activities=0, team_tasks=0))

    def fingerprint() -> list[tuple]:
        disputes = list(
            Dispute.objects.order_by("id").values_list(
                "number", "state", "kind", "title", "amount", "grid_id", "level", "received_at", "settled_at"
            )
        )
        events = list(DisputeEvent.objects.order_by("id").values_list("action", "at", "level"))
        return disputes + events

    prints = []
    for _ in range(2):
        with transaction.atomic():
            Mediator.objects.all().delete()
            Committee.objects.all().delete()
            seed_mediation(CONFIG, now=NOW)
            prints.append(fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1] and prints[0]
    with transaction.atomic():
        Mediator.objects.all().delete()
        Committee.objects.all().delete()
        seed_mediation(CONFIG.with_seed(8), now=NOW)
        assert fingerprint() != prints[0]
        transaction.set_rollback(True)
