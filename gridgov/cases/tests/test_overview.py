"""The subtree overview: the right figures per child grid for a small world, each head sees their own
subtree only, and the page's queries do not grow with the number of children or cases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from gridgov.cases import overview as ov
from gridgov.cases.choices import Action, State
from gridgov.cases.models import Case

from .helpers import OTHER_TOWN, act, case_in, report_case

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def figures(world, png_bytes):
    """Town 1 (world.town): grid g holds 2 open cases (one overdue, one red-carded), one closed in the grid,
    one closed in the village, one closed by the town's centre after dispatch; the other town one open case."""
    png = png_bytes
    open_a = report_case(world)
    open_b = case_in(world, State.REGISTERED)
    Case.objects.filter(pk=open_a.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    act(world, open_b.number, Action.SUPERVISE, "leader", card="red", reason="群众反映强烈")

    in_grid = report_case(world, photo=png())
    act(
        world,
        in_grid.number,
        Action.SELF_HANDLE,
        "specialist",
        note="已处置",
        files=[("a.png", png((0, 90, 0)))],
    )

    in_village = report_case(world, photo=png())
    act(world, in_village.number, Action.ESCALATE, "specialist", reason="需村里协调")
    act(
        world,
        in_village.number,
        Action.SELF_HANDLE,
        "l2head",
        note="村里处置",
        files=[("b.png", png((0, 0, 90)))],
    )

    beyond = case_in(world, State.CLOSED, png=png)
    other = report_case(world, where=OTHER_TOWN)
    return {"beyond": beyond, "other": other}


def row_of(data: ov.Overview, code: str) -> ov.Row:
    return next(r for r in data.rows if r.grid is not None and r.grid.code == code)


def test_the_leader_sees_the_towns_with_the_right_figures(client, world, figures):
    login(client, world.leader)
    response = client.get(reverse("cases:overview"))
    assert response.status_code == 200
    data = response.context["ov"]
    assert data.grid == world.root
    assert [r.grid.code for r in data.rows] == ["150621100", "150621101"]
    town = row_of(data, "150621100")
    assert (town.open, town.overdue, town.supervised, town.red) == (2, 1, 1, 1)
    assert (town.in_grid, town.in_village, town.beyond) == (1, 1, 1)
    assert town.reported == 5 and town.contained == 67
    other = row_of(data, "150621101")
    assert (other.open, other.reported, other.resolved) == (1, 1, 0)
    assert (data.total.open, data.total.reported, data.total.resolved) == (3, 6, 3)
    assert [c.card for c in data.supervised] == ["red"]
    html = response.content.decode()
    assert reverse("cases:detail", args=[data.supervised[0].number]) in html
    # A drill-down per child and the filtered case list.
    assert "?grid=150621100&amp;period=this_month" in html
    assert f"{reverse('cases:list')}?grid=150621100&amp;queue=overdue" in html


def test_a_period_without_activity_keeps_the_open_snapshot(client, world, figures):
    login(client, world.leader)
    data = client.get(reverse("cases:overview"), {"period": "last_month"}).context["ov"]
    town = row_of(data, "150621100")
    assert town.open == 2 and town.reported == 0 and town.resolved == 0
    assert data.period.key == "last_month"


def test_each_head_sees_their_own_subtree(client, world, figures):
    login(client, world.l1head)
    data = client.get(reverse("cases:overview")).context["ov"]
    assert data.grid == world.town and [r.grid.code for r in data.rows] == ["150621100200", "150621100201"]
    assert row_of(data, "150621100200").open == 2

    login(client, world.l2head)
    data = client.get(reverse("cases:overview")).context["ov"]
    assert data.grid == world.village
    assert [r.grid.code for r in data.rows] == ["150621100200001", "150621100200002"]
    g = row_of(data, world.grid.code)
    assert (g.open, g.in_grid, g.in_village, g.beyond) == (2, 1, 1, 1)
    # Above or beside their village: nothing.
    assert client.get(reverse("cases:overview"), {"grid": "150621100"}).status_code == 404
    assert client.get(reverse("cases:overview"), {"grid": "150621101200"}).status_code == 404


def test_the_leader_drills_down_to_a_village(client, world, figures):
    login(client, world.leader)
    data = client.get(reverse("cases:overview"), {"grid": world.village.code}).context["ov"]
    assert data.grid == world.village and row_of(data, world.grid.code).open == 2
    trail = client.get(reverse("cases:overview"), {"grid": world.village.code}).context["trail"]
    assert [g.code for g in trail] == ["150621", "150621100", "150621100200"]


@pytest.mark.parametrize("who", ["specialist", "handler", "resident", "guide"])
def test_no_overview_for_others(client, world, who):
    login(client, getattr(world, who))
    assert client.get(reverse("cases:overview")).status_code == 404


def test_the_operator_sees_their_centre(client, world, figures):
    login(client, world.operator)
    data = client.get(reverse("cases:overview")).context["ov"]
    assert data.grid == world.town and data.total.open == 2


def test_cases_at_the_grid_itself_have_their_row(client, world):
    # An address-only report of the county's centre lies at the county, in no town.
    from gridgov.cases.services import Report, do_report

    do_report(
        Report(channel="hotline", description="路灯坏了", address="某街", reporter_phone="13800001111"),
        actor=world.banner_operator,
    )
    login(client, world.leader)
    data = client.get(reverse("cases:overview")).context["ov"]
    assert data.rows[-1].grid is None and data.rows[-1].open == 1 and data.total.open == 1


def test_the_overview_query_count_does_not_grow(client, world, figures, django_assert_max_num_queries):
    for _ in range(4):
        report_case(world, where=(109.06, 40.05))  # village 2 of town 1
        report_case(world, where=OTHER_TOWN)
    login(client, world.leader)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("cases:overview"))
    assert response.context["ov"].total.open == 11
    login(client, world.l1head)
    with django_assert_max_num_queries(16):
        client.get(reverse("cases:overview"), {"period": "this_quarter"})


def test_periods():
    now = dt.datetime(2026, 3, 15, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
    month = ov.period_of("this_month", now)
    assert timezone.localtime(month.start).isoformat().startswith("2026-03-01T00:00:00")
    last = ov.period_of("last_month", now)
    assert timezone.localtime(last.start).date() == dt.date(2026, 2, 1) and last.end == month.start
    assert timezone.localtime(ov.period_of("this_quarter", now).start).date() == dt.date(2026, 1, 1)
    later = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)
    assert timezone.localtime(ov.period_of("this_quarter", later).start).date() == dt.date(2026, 10, 1)
    assert ov.period_of("nonsense", now).key == "this_month"
