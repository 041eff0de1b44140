"""Who am I, for the volunteer's and the mediator's screens: /api/mobile/me says whether the person signed in
holds the volunteer role (their teams' tasks, activities and hours) and the mediator role (their disputes), from
the role assignments it reads anyway — no query more than for anybody else. The shell carries the words and the
scripts of those screens, and the service worker keeps the scripts for use without a signal."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.models import RoleAssignment
from gridgov.mobile.views import MODULES, PRECACHE, words

pytestmark = pytest.mark.django_db


def me_of(user: Any) -> tuple[dict[str, Any], int]:
    client = Client()
    client.force_login(user)
    client.get("/api/mobile/me")  # the session's first read
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/mobile/me")
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_me_says_who_volunteers_and_who_mediates_without_more_queries(world, make_user):
    volunteer = make_user("vol", full_name="张志愿")
    RoleAssignment.objects.create(user=volunteer, role="volunteer", grid=world.village)
    both = make_user("both")
    RoleAssignment.objects.create(user=both, role="volunteer", grid=world.village)
    RoleAssignment.objects.create(user=both, role="mediator", grid=world.village)

    me, volunteer_queries = me_of(volunteer)
    assert (me["can_volunteer"], me["can_mediate"], me["can_patrol"], me["kind"]) == (
        True,
        False,
        False,
        "staff",
    )
    assert me["roles"] == ["volunteer"]
    me, mediator_queries = me_of(world.mediator)
    assert (me["can_volunteer"], me["can_mediate"], me["can_patrol"]) == (False, True, False)
    me, both_queries = me_of(both)
    assert (me["can_volunteer"], me["can_mediate"]) == (True, True)
    me, specialist_queries = me_of(world.specialist)
    assert (me["can_volunteer"], me["can_mediate"], me["can_patrol"]) == (False, False, True)
    me, _ = me_of(world.resident)
    assert (me["can_volunteer"], me["can_mediate"], me["kind"]) == (False, False, "resident")
    assert volunteer_queries == mediator_queries == both_queries == specialist_queries


def test_the_shell_carries_the_community_screens_and_the_worker_keeps_them(world):
    client = Client()
    shell = client.get("/m/").content.decode()
    for template in (
        "t-volunteer",
        "t-vtask",
        "t-vactivity",
        "t-mediation",
        "t-dispute",
        "t-session",
        "t-follow-up",
    ):
        assert f'id="{template}"' in shell, template
    assert 'href="#/volunteer" data-side="volunteer"' in shell
    assert 'href="#/mediation" data-side="mediator"' in shell
    assert {"m/community", "m/mediation"} <= set(MODULES)
    assert {"mobile/community.js", "mobile/mediation.js"} <= set(PRECACHE)
    sw = client.get("/m/sw.js").content.decode()
    assert "mobile/community.js" in sw and "mobile/mediation.js" in sw
    # Every record these screens queue is named in the queue's list.
    said = words()
    for kind in (
        "task_accept",
        "task_decline",
        "task_done",
        "sign_up",
        "cancel_sign_up",
        "session",
        "follow_up",
    ):
        assert said.get(f"kind_{kind}"), kind
