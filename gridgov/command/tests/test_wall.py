"""The wall's data endpoints: the right figures for a small known set of cases, each user sees their own
subtree only (another town's code answers 404, as does a grid that does not exist), and the page itself."""

from __future__ import annotations

import datetime as dt

import h3
import pytest
from django.test import Client
from django.utils import timezone

from gridgov.cases.choices import Action
from gridgov.cases.models import Case
from gridgov.cases.tests.helpers import HERE, OTHER_TOWN, act, report_case

pytestmark = pytest.mark.django_db
API = "/api/command/wall/"


@pytest.fixture
def cases(world, png_bytes):
    """Town 1: one open overdue case, two closed today by the grid (rated satisfied and unsatisfied);
    town 2: one open case in time."""
    overdue = report_case(world)
    Case.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    for rating in ("satisfied", "unsatisfied"):
        done = report_case(world, photo=png_bytes())
        act(
            world,
            done.number,
            Action.SELF_HANDLE,
            "specialist",
            note="已处置",
            files=[("a.png", png_bytes())],
        )
        act(world, done.number, Action.EVALUATE, "resident", rating=rating)
    other = report_case(world, where=OTHER_TOWN)
    return {"overdue": overdue, "other": other}


def get(user, name: str, **params) -> dict:
    c = Client()
    c.force_login(user)
    response = c.get(API + name, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_leader_sees_the_county_figures(world, cases):
    body = get(world.leader, "counters")
    assert body["grid"]["code"] == world.root.code
    keys = ("reported_today", "open", "overdue", "closed_today", "reported_30d", "closed_30d", "rated_30d")
    assert {k: body[k] for k in keys} == {
        "reported_today": 4,
        "open": 2,
        "overdue": 1,
        "closed_today": 2,
        "reported_30d": 4,
        "closed_30d": 2,
        "rated_30d": 2,
    }
    assert body["closing_rate"] == 50.0
    assert body["satisfaction"] == 50.0

    towns = {c["code"]: c for c in get(world.leader, "children")["children"]}
    assert list(towns) == ["150621100", "150621101"]
    one, two = towns["150621100"], towns["150621101"]
    assert (one["open"], one["overdue"], one["reported_30d"], one["closed_30d"]) == (1, 1, 3, 2)
    assert one["closing_rate"] == 66.7
    assert (two["open"], two["overdue"], two["reported_30d"], two["closing_rate"]) == (1, 0, 1, 0.0)

    ranks = get(world.leader, "rankings")
    assert [r["code"] for r in ranks["overdue"]] == ["150621100"]
    assert [r["code"] for r in ranks["closing_rate"]] == ["150621100", "150621101"]

    points = get(world.leader, "points")["points"]
    assert {p["number"]: p["overdue"] for p in points} == {
        cases["overdue"].number: True,
        cases["other"].number: False,
    }

    heat = get(world.leader, "heat")
    assert heat["resolution"] == 6 and heat["max"] == 3
    cells = {c["h3"]: c["n"] for c in heat["cells"]}
    assert sum(cells.values()) == 4 and len(cells) == 2
    # Each group's centre lies within half an edge of its points: the cell of the point or a neighbour of it.
    here = h3.latlng_to_cell(HERE[1], HERE[0], 6)
    assert any(cells.get(c) == 3 for c in h3.grid_disk(here, 1))

    trends = get(world.leader, "trends")
    assert len(trends["days"]) == 30 and trends["days"][-1] == timezone.localdate().isoformat()
    assert (trends["reported"][-1], trends["closed"][-1]) == (4, 2)
    assert sum(trends["reported"]) == 4 and sum(trends["closed"]) == 2


def test_a_towns_operator_sees_their_town_only(world, cases):
    body = get(world.operator, "counters")
    assert body["grid"]["code"] == world.town.code
    assert (body["reported_today"], body["open"], body["overdue"], body["closed_today"]) == (3, 1, 1, 2)
    villages = [c["code"] for c in get(world.operator, "children")["children"]]
    assert villages == ["150621100200", "150621100201"]
    assert [p["number"] for p in get(world.operator, "points")["points"]] == [cases["overdue"].number]
    # Drill down inside the town: the village, then its grid (a level-3 grid lists itself).
    village = get(world.operator, "counters", grid=world.village.code)
    assert (village["grid"]["level"], village["open"]) == (2, 1)
    grid = get(world.operator, "children", grid=world.grid.code)["children"]
    assert [(c["code"], c["open"], c["overdue"]) for c in grid] == [(world.grid.code, 1, 1)]

    c = Client()
    c.force_login(world.operator)
    for name in ("counters", "children", "points", "heat", "trends", "rankings"):
        assert c.get(API + name, {"grid": world.other_grid.code}).status_code == 404, name
    assert c.get(API + "counters", {"grid": "999999"}).status_code == 404
    assert c.get(API + "counters", {"grid": "15 0"}).status_code == 422


def test_who_has_no_wall(world, cases):
    for user in (world.resident, world.handler, world.specialist):
        c = Client()
        c.force_login(user)
        assert c.get(API + "counters").status_code == 404
        assert c.get("/command/wall/").status_code == 404
    assert Client().get(API + "counters").status_code == 401
    assert Client().get("/command/wall/").status_code == 302


def test_the_wall_page_carries_its_config(world, cases, django_assert_max_num_queries):
    c = Client()
    c.force_login(world.operator)
    with django_assert_max_num_queries(12):
        response = c.get("/command/wall/", {"grid": world.village.code})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="wall-config"' in page and world.village.code in page
    assert c.get("/command/wall/", {"grid": world.other_grid.code}).status_code == 404


def test_the_wall_api_keeps_to_its_document(world, cases):
    """Schemathesis against the six wall operations, as a town's operator, with real codes too (inside and
    outside the town): every answer is declared, with its content type and body, never a server error."""
    from hypothesis import strategies as st

    from gridgov.tests import fuzz

    codes = st.sampled_from([world.town.code, world.village.code, world.grid.code, world.other_grid.code, ""])
    with fuzz.wsgi_schema() as schema:
        part = schema.include(path_regex=r"^/api/command/wall/")
        count, failures = fuzz.check_operations(
            part,
            lambda operation: st.one_of(
                *fuzz.generated(operation), fuzz.with_query(operation.as_strategy(), {"grid": codes})
            ),
            fuzz.session_of(world.operator),
        )
    assert count == 6
    assert not failures, fuzz.report(failures)
