"""The live pages' question `GET /api/cases/changes`: "has a case of mine changed since event N?". Scoped like
the case lists (an operator hears of their town, not of the next one; a department of the cases it was
assigned), refused to residents and to anonymous callers, one query on the outbox whatever the scope; and the
list and home pages carry what the live script needs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from gridgov.cases import api
from gridgov.cases.choices import Action, State
from gridgov.core.models import OutboxEvent

from .helpers import OTHER_TOWN, act, case_in, report_case

pytestmark = pytest.mark.django_db
CHANGES = "/api/cases/changes"


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def ask(c: Client, **params: Any) -> dict[str, Any]:
    response = c.get(CHANGES, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"latest", "changed"}, body
    return body


def cursor(c: Client) -> int:
    """The first call of a page: the cursor, and never a change."""
    body = ask(c)
    assert body["changed"] is False
    return body["latest"]


def test_an_operator_hears_of_a_report_in_their_town_and_not_of_one_in_the_next(world):
    op_a, op_b = client_for(world.operator), client_for(world.other_operator)
    a, b = cursor(op_a), cursor(op_b)
    # A resident reports through the API (the phone app's call), inside town A.
    resident = client_for(world.resident)
    response = resident.post(
        "/api/cases/",
        {
            "channel": "resident_app",
            "description": "路灯不亮了",
            "item": "011001",
            "lon": "109.01",
            "lat": "40.05",
        },
    )
    assert response.status_code == 201, response.content

    heard = ask(op_a, after=a)
    assert heard["changed"] is True and heard["latest"] > a
    assert ask(op_b, after=b) == {"latest": b, "changed": False}
    # Asked again from the new cursor: nothing more.
    assert ask(op_a, after=heard["latest"]) == {"latest": heard["latest"], "changed": False}

    # A report in town B: the other way round.
    report_case(world, world.other_resident, where=OTHER_TOWN)
    assert ask(op_a, after=heard["latest"]) == {"latest": heard["latest"], "changed": False}
    assert ask(op_b, after=b)["changed"] is True


def test_every_step_of_a_case_is_heard_by_its_town_and_the_county(world):
    op, leader, banner = (client_for(u) for u in (world.operator, world.leader, world.banner_operator))
    case = report_case(world)
    starts = {c: cursor(c) for c in (op, leader, banner)}
    act(world, case.number, Action.ACCEPT, "operator")
    for c, start in starts.items():
        assert ask(c, after=start)["changed"] is True
    # The county's people hear of the other town too; a grid specialist and a level-2 head of town A of
    # their town (the hint is by town: their page then reads its own list).
    county = cursor(leader)
    specialist, l2head = client_for(world.specialist), client_for(world.l2head)
    town = cursor(specialist)
    report_case(world, world.other_resident, where=OTHER_TOWN)
    assert ask(leader, after=county)["changed"] is True
    assert ask(specialist, after=town)["changed"] is False
    assert ask(l2head, after=town)["changed"] is False


def test_a_department_hears_of_the_cases_assigned_to_it(world):
    hw, ga, guide = (client_for(u) for u in (world.handler, world.other_handler, world.guide))
    case = case_in(world, State.REGISTERED)
    starts = {c: cursor(c) for c in (hw, ga, guide)}
    act(world, case.number, Action.DISPATCH, "operator", unit="HW", assisting=["ZF"])
    assert ask(hw, after=starts[hw])["changed"] is True
    assert ask(guide, after=starts[guide])["changed"] is True
    quiet = ask(ga, after=starts[ga])
    # GA was not assigned: no change, but its cursor moves past what it has been told of.
    assert quiet["changed"] is False and quiet["latest"] > starts[ga]
    assert ask(ga, after=quiet["latest"]) == {"latest": quiet["latest"], "changed": False}
    # ZF assists: told too; and every later step of the case reaches HW.
    assert ask(client_for(world.assistant), after=starts[ga])["changed"] is True
    mark = ask(hw, after=starts[hw])["latest"]
    act(world, case.number, Action.SIGN, "handler")
    assert ask(hw, after=mark)["changed"] is True


def test_a_department_far_behind_catches_up_in_steps_and_misses_nothing(world, monkeypatch):
    monkeypatch.setattr(api, "LIVE_BATCH", 2)
    case = case_in(world, State.REGISTERED)
    hw = client_for(world.handler)
    start = cursor(hw)
    for _ in range(2):
        report_case(world, world.other_resident, where=OTHER_TOWN)  # not HW's
        report_case(world, world.other_resident)  # nor this
    act(world, case.number, Action.DISPATCH, "operator", unit="HW")  # HW's
    first = ask(hw, after=start)
    assert first == {"latest": start + 2, "changed": False}
    second = ask(hw, after=first["latest"])
    assert second == {"latest": start + 4, "changed": False}
    assert ask(hw, after=second["latest"]) == {"latest": start + 5, "changed": True}


@pytest.mark.parametrize("who", ["operator", "leader"])  # by town; the whole county
def test_the_first_cursor_stops_before_the_page_was_made(world, who):
    """What happened while the page loaded (after its rows were read, before its script asked) is told by the
    next call: the first cursor, given the page's time, stops LIVE_MARGIN before it."""
    op = client_for(getattr(world, who))
    report_case(world)
    event = OutboxEvent.objects.latest("pk")
    made = event.created_at + dt.timedelta(milliseconds=10)  # the page was made just after the event
    early = ask(op, since=made.isoformat())["latest"]
    assert early < event.pk
    assert ask(op, after=early)["changed"] is True
    later = event.created_at + api.LIVE_MARGIN + dt.timedelta(seconds=1)
    assert ask(op, since=later.isoformat()) == {"latest": event.pk, "changed": False}


def test_residents_are_refused_and_anonymous_callers_must_sign_in(world):
    response = client_for(world.resident).get(CHANGES)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_allowed" and body["message"]
    response = client_for(world.mediator).get(CHANGES)  # a role that holds no cases
    assert response.status_code == 403
    response = Client().get(CHANGES, {"after": 1})
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_bad_input_is_named(world):
    op = client_for(world.operator)
    for params in ({"after": -1}, {"after": "x"}, {"since": "2026-11-26T10:00:00"}):
        response = op.get(CHANGES, params)
        assert response.status_code == 422, (params, response.content)
        assert response.json()["field"] in ("after", "since")


@pytest.mark.parametrize("who", ["operator", "leader", "handler", "guide"])
def test_one_query_on_the_outbox_whatever_the_scope(world, who, django_assert_num_queries):
    case = case_in(world, State.DISPATCHED)
    act(world, case.number, Action.SIGN, "handler")
    c = client_for(getattr(world, who))
    start = cursor(c)
    act(world, case.number, Action.COMMENT, "handler", note="已到现场", public=True)
    # The session, its user, the user's roles, and the outbox.
    with django_assert_num_queries(4):
        assert ask(c, after=start)["changed"] is True
    with django_assert_num_queries(4):
        ask(c)


def test_the_case_list_and_home_carry_the_live_hooks(world):
    case = report_case(world)
    op = client_for(world.operator)
    html = op.get("/cases/", {"queue": "to_accept"}).content.decode()
    assert 'data-live-changes="/api/cases/changes"' in html and "data-live-since=" in html
    assert f'data-number="{case.number}"' in html and "cases/live.js" in html
    since = re.search(r'data-live-since="([^"]+)"', html)
    assert since and ask(op, since=since.group(1))["latest"] == 0  # the page's time is taken as it is
    home = op.get("/").content.decode()
    assert 'data-live-changes="/api/cases/changes"' in home and 'data-live-part="next"' in home
    # A resident's home has no queues: no live script.
    assert "cases/live.js" not in client_for(world.resident).get("/").content.decode()
