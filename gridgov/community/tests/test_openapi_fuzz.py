"""Schemathesis against the community operations of the OpenAPI document, as a grid specialist (who keeps the
patrol, organises its activities and gives tasks) and as a volunteer of the patrol and of the town's car team:
every call must answer without a server error, with a declared status, content type and body. Besides
Schemathesis' own requests, requests aimed at the real teams, members, activities, sign-ups and tasks (and at
one of the other town's, 404 for both), with plausible times, hours and grids, so that the services run past
their first check."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.community import services
from gridgov.community.models import SignUp
from gridgov.tests import fuzz

from .conftest import later
from .helpers import shift

PARAMETERS = ("team_id", "member_id", "activity_id", "signup_id", "task_id")


@pytest.fixture
def records(teams) -> dict[str, Any]:
    crew = teams.crew
    coming = services.do_create_activity(
        actor=crew.specialist,
        title="巡逻",
        team=teams.patrol.pk,
        starts_at=later(24),
        ends_at=later(27),
        capacity=3,
    )
    begun = services.do_create_activity(
        actor=crew.specialist, title="夜巡", team=teams.patrol.pk, starts_at=later(24), ends_at=later(27)
    )
    town = services.do_create_activity(
        actor=crew.l1head, title="整治", grid=crew.town.code, starts_at=later(30), ends_at=later(32)
    )
    far = services.do_create_activity(
        actor=crew.other_specialist, title="义诊", team=teams.far.pk, starts_at=later(24), ends_at=later(26)
    )
    services.do_sign_up(coming, actor=crew.vol1)
    signed = services.do_sign_up(begun, actor=crew.vol1).signup
    services.do_sign_up(begun, actor=crew.vol2)
    shift(begun, timezone.now() - dt.timedelta(hours=1), hours=3)
    tasks = [
        services.do_give_task(actor=crew.specialist, team=team, title=f"任务{n}").pk
        for n, team in enumerate([teams.patrol.pk, teams.car.pk, teams.patrol.pk, teams.car.pk])
    ]
    tasks.append(services.do_give_task(actor=crew.other_specialist, team=teams.far.pk, title="远").pk)
    return {
        "crew": crew,
        "team_id": [teams.patrol.pk, teams.car.pk, teams.far.pk],
        "member_id": [teams.cat.pk, teams.bob.pk, teams.far_member.pk],
        "activity_id": [coming.pk, begun.pk, town.pk, far.pk],
        "signup_id": [*SignUp.objects.filter(activity=begun).values_list("pk", flat=True), signed.pk],
        "task_id": tasks,
    }


def _moments() -> st.SearchStrategy[str]:
    now = timezone.now()
    return st.one_of(
        st.integers(-48, 24 * 400).map(lambda h: timezone.localtime(now + dt.timedelta(hours=h)).isoformat()),
        st.integers(1, 200).map(lambda h: (now + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M")),
        st.sampled_from(["", "tomorrow", "2026-13-01T00:00", "0001-01-01T00:00:00+14:00"]),
    )


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    names = [p for p in PARAMETERS if "{" + p + "}" in operation.path]
    fixed = [{names[0]: pk} for pk in data[names[0]]] if names else []
    options = fuzz.generated(operation, fixed)
    positive = GenerationMode.POSITIVE
    grids = st.sampled_from(
        ["150621100200001", "150621100200", "150621100", "150621", "150621101200001", "nope"]
    )
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/community/teams": {"grid": grids, "kind": st.sampled_from(["car", "patrol", "other"])},
        "POST /api/community/activities": {
            "team": st.sampled_from([*data["team_id"], 10**12]),
            "grid": grids,
            "starts_at": _moments(),
            "ends_at": _moments(),
            "capacity": st.integers(0, 1001),
        },
        "POST /api/community/tasks": {
            "team": st.sampled_from([*data["team_id"], 10**12]),
            "grid": grids,
            "due_on": st.dates(dt.date(2020, 1, 1), dt.date(2031, 1, 1)).map(str),
            "case": st.sampled_from(["", "20260101-0001", "x"]),
        },
        "POST /api/community/signups/{signup_id}/attendance": {
            "attended": st.sampled_from(["true", "false"]),
            "hours": st.sampled_from(["0", "1", "2.5", "3", "3.01", "-1", "1e9", "NaN", "abc", "1.255"]),
        },
        "POST /api/community/activities/{activity_id}/sign-up": {
            "member": st.sampled_from([*data["member_id"], 10**12]),
        },
        "POST /api/community/teams/{team_id}/members": {
            "user": st.sampled_from(["vol1", "vol2", "vol3", "vol9", "nobody", ""]),
            "phone": st.sampled_from(["13812345678", "1381234", "+8613912345678", ""]),
        },
    }
    if operation.label in bodies:
        for p in fixed or [{}]:
            strategy = operation.as_strategy(generation_mode=positive, path_parameters=p or None)
            options[:0] = [fuzz.with_body(strategy, bodies[operation.label])]
    if operation.label == "GET /api/community/activities":
        query = {"grid": grids, "since": st.dates(dt.date(2026, 1, 1), dt.date(2027, 1, 1)).map(str)}
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=positive), query))
    return st.one_of(options)


@pytest.mark.django_db
def test_the_community_api_keeps_to_its_document(records):
    crew = records["crew"]
    with fuzz.wsgi_schema() as schema:
        part = schema.include(path_regex=r"^/api/community/")
        count, failures = fuzz.check_operations(
            part, lambda operation: strategy_for(operation, records), fuzz.session_of(crew.specialist)
        )
        volunteer_count, volunteer_failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/community/(mine|activities/|tasks/)"),
            lambda operation: strategy_for(operation, records),
            fuzz.session_of(crew.vol1),
        )
    assert count == 24 and volunteer_count == 11
    assert not failures, fuzz.report(failures)
    assert not volunteer_failures, fuzz.report(volunteer_failures)
