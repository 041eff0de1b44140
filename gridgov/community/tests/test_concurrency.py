"""Several volunteers signing up for the last places at the same moment, on real concurrent connections: the
places are never overbooked, and the same sign-up sent several times at once is one sign-up. On PostgreSQL the
activity's row lock orders them; SQLite's write transactions (BEGIN IMMEDIATE) run one after another anyway, so
the race is PostgreSQL's to prove."""

from __future__ import annotations

import pytest
from django.db import connection

from gridgov.accounts.models import RoleAssignment
from gridgov.cases.tests.test_concurrency import at_once
from gridgov.community import services
from gridgov.community.errors import Conflict
from gridgov.community.models import SignUp
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord

from .conftest import later
from .helpers import fresh

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a race of real connections: PostgreSQL"),
]


def volunteers(teams, n: int):
    crew = teams.crew
    users = []
    for k in range(n):
        user = type(crew.vol1).objects.create(username=f"racer{k}", full_name=f"racer{k}")
        RoleAssignment.objects.create(user=user, role="volunteer", grid=crew.grid)
        services.do_add_member(teams.patrol, actor=crew.specialist, name=f"队员{k}", user=user.username)
        users.append(fresh(user))
    return users


def test_five_volunteers_for_two_places_at_once_two_get_them(teams):
    crew = teams.crew
    racers = volunteers(teams, 5)
    activity = services.do_create_activity(
        actor=crew.specialist,
        title="夜间巡逻",
        team=teams.patrol.pk,
        starts_at=later(24),
        ends_at=later(26),
        capacity=2,
    )
    results = at_once(5, lambda i: services.do_sign_up(activity, actor=racers[i]))
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 2 and all(r.created for r in won), results
    assert len(lost) == 3 and all(isinstance(r, Conflict) for r in lost), results
    assert SignUp.objects.filter(activity=activity, cancelled_at__isnull=True).count() == 2
    assert AuditRecord.objects.filter(action="community.signup").count() == 2
    assert verify_chain().broken_at is None


def test_one_sign_up_sent_three_times_at_once_is_one_sign_up(teams):
    crew = teams.crew
    activity = services.do_create_activity(
        actor=crew.specialist, title="夜间巡逻", team=teams.patrol.pk, starts_at=later(24), ends_at=later(26)
    )
    results = at_once(
        3, lambda i: services.do_sign_up(activity, actor=fresh(type(crew.vol1).objects.get(pk=crew.vol1.pk)))
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, False, True]
    assert len({r.signup.pk for r in results}) == 1
    assert SignUp.objects.filter(activity=activity).count() == 1
    assert AuditRecord.objects.filter(action="community.signup").count() == 1


def test_two_volunteers_accepting_one_task_at_once_one_wins(teams):
    crew = teams.crew
    task = services.do_give_task(actor=crew.specialist, team=teams.patrol.pk, title="看护")
    users = [type(crew.vol1).objects.get(pk=u.pk) for u in (crew.vol1, crew.vol2)]
    results = at_once(2, lambda i: services.do_accept_task(task, actor=users[i]))
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 1 and won[0].changed, results
    assert [type(r) for r in results if isinstance(r, Exception)] == [Conflict]
    assert AuditRecord.objects.filter(action="community.task.accept").count() == 1
