"""Hotspots: a cluster of cases of one item is found and a scattered set is not; finding again brings the hotspot
up to date instead of making another; the department takes it up, resolves it, and it is reopened when the place
produces cases again; each user sees the hotspots of their scope only (404 otherwise), in the pages and the API."""

from __future__ import annotations

import datetime as dt
import math
from itertools import count

import pytest
from django.utils import timezone

from gridgov.cases.models import Case
from gridgov.command.hotspots import HotspotNotFound, do_note, do_resolve, do_take, find_hotspots
from gridgov.command.models import Hotspot, HotspotEvent, HotspotStatus
from gridgov.core.errors import Conflict, Invalid
from gridgov.core.models import AuditRecord, OutboxEvent

_serial = count(1)
# The middle of grid 150621100200001 (109.0–109.025 E, 40.0–40.1 N in the small tree).
CENTRE = (109.0125, 40.05)


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
        lat + north_m / 110_540,
    )


def make_cases(w, points, *, days_ago, item=None, grid=None) -> list[Case]:
    """Case rows (as the engine leaves them) of `item` at `points`, reported `days_ago` days back (one per point,
    an hour apart)."""
    item = item or w.item
    grid = grid or w.grid
    now = timezone.now()
    rows = []
    for n, (lon, lat) in enumerate(points):
        at = now - dt.timedelta(days=days_ago, hours=n)
        rows.append(
            Case(
                number=f"20261101-{next(_serial):04d}",
                channel="worker_app",
                state="closed",
                item=item,
                description="垃圾桶满溢",
                lon=lon,
                lat=lat,
                grid=grid,
                grid_l1_id=grid.l1_id,
                grid_l2_id=grid.l2_id,
                grid_l3_id=grid.pk,
                reporter_kind="staff",
                lead_department=w.hw,
                created_at=at,
                updated_at=at,
            )
        )
    return Case.objects.bulk_create(rows)


def cluster(n: int, centre=CENTRE, spread_m: float = 25) -> list[tuple[float, float]]:
    """`n` points within `spread_m` metres of `centre`, on a small circle."""
    return [
        offset(*centre, spread_m * math.cos(2 * math.pi * k / n), spread_m * math.sin(2 * math.pi * k / n))
        for k in range(n)
    ]


@pytest.fixture
def spot(world):
    """Six cases of the litter-bin item within 25 m of each other in grid g, plus noise: eight cases of the same
    item scattered 700 m apart, and a tight cluster of six that lies outside the 90-day window."""
    w = world
    make_cases(w, cluster(6), days_ago=3)
    make_cases(w, [offset(109.005, 40.01, 0, 700 * k) for k in range(8)], days_ago=1)
    make_cases(w, cluster(6, centre=(109.02, 40.09)), days_ago=120)
    return w


def test_a_cluster_is_found_a_scattered_set_and_an_old_cluster_are_not(spot):
    w = spot
    report = find_hotspots()
    assert report.found == 1
    hotspot = Hotspot.objects.get()
    assert hotspot.case_count == 6
    assert hotspot.item == w.item and hotspot.department == w.hw and hotspot.grid == w.grid
    assert hotspot.grid_l1_id == w.town.pk and hotspot.grid_l3_id == w.grid.pk
    assert 20 <= hotspot.radius_m <= 30
    assert abs(hotspot.lon - CENTRE[0]) < 1e-4 and abs(hotspot.lat - CENTRE[1]) < 1e-4
    assert hotspot.status == HotspotStatus.NEW
    assert AuditRecord.objects.filter(action="hotspot.found", object_id=str(hotspot.pk)).count() == 1
    assert OutboxEvent.objects.filter(topic="hotspot.found", grid_l1_id=w.town.pk).count() == 1
    # A smaller radius than the cluster's spacing finds nothing.
    Hotspot.objects.all().delete()
    assert find_hotspots(eps_m=10).found == 0


def test_finding_again_updates_instead_of_duplicating(spot):
    w = spot
    find_hotspots()
    again = find_hotspots()
    assert again.found == 0 and again.unchanged == 1
    assert Hotspot.objects.count() == 1
    # Two more cases at the place: the same hotspot grows.
    make_cases(w, cluster(2, spread_m=10), days_ago=0)
    grown = find_hotspots()
    assert grown.found == 0 and grown.grown == 1
    hotspot = Hotspot.objects.get()
    assert hotspot.case_count == 8
    assert list(HotspotEvent.objects.filter(hotspot=hotspot).values_list("action", flat=True)) == [
        "found",
        "grew",
    ]


def test_the_department_takes_up_resolves_and_a_comeback_reopens(spot):
    w = spot
    find_hotspots()
    hotspot = Hotspot.objects.get()
    with pytest.raises(Invalid) as missing:
        do_take(hotspot.pk, actor=w.handler, root_cause="  ")
    assert missing.value.field == "root_cause"
    assert Hotspot.objects.get().status == HotspotStatus.NEW
    # Another department does not see it; a grid specialist sees it but does not work on it.
    with pytest.raises(HotspotNotFound):
        do_take(hotspot.pk, actor=w.other_handler, root_cause="x")
    with pytest.raises(Exception) as not_allowed:
        do_take(hotspot.pk, actor=w.specialist, root_cause="x")
    assert getattr(not_allowed.value, "status", None) == 403
    taken = do_take(
        hotspot.pk, actor=w.handler, root_cause="小区只有一个垃圾桶，清运一天一次", measures="加两个桶"
    )
    assert taken.status == HotspotStatus.WORKING
    with pytest.raises(Conflict):
        do_take(hotspot.pk, actor=w.handler, root_cause="again")
    do_note(
        hotspot.pk, actor=w.handler, root_cause="小区只有一个垃圾桶", measures="加两个桶，清运改为一天两次"
    )
    with pytest.raises(Invalid) as no_measures:
        do_resolve(hotspot.pk, actor=w.handler, measures="")
    assert no_measures.value.field == "measures"
    resolved = do_resolve(hotspot.pk, actor=w.handler, measures="已加两个桶，清运改为一天两次")
    assert resolved.status == HotspotStatus.RESOLVED and resolved.resolved_at is not None
    actions = list(HotspotEvent.objects.filter(hotspot=hotspot).values_list("action", "actor_id"))
    assert actions[1:] == [("taken", w.handler.pk), ("noted", w.handler.pk), ("resolved", w.handler.pk)]
    # One new case since the resolution: not yet back. Three: reopened.
    make_cases(w, cluster(1, spread_m=5), days_ago=0)
    assert find_hotspots().reopened == 0
    assert Hotspot.objects.get().status == HotspotStatus.RESOLVED
    make_cases(w, cluster(2, spread_m=8), days_ago=0)
    assert find_hotspots().reopened == 1
    hotspot = Hotspot.objects.get()
    assert hotspot.status == HotspotStatus.NEW and hotspot.reopened == 1 and hotspot.resolved_at is None


def test_scope_in_pages_and_api(spot, client, django_assert_max_num_queries):
    w = spot
    find_hotspots()
    hotspot = Hotspot.objects.get()
    seen = {
        w.specialist: True,
        w.l1head: True,
        w.leader: True,
        w.handler: True,
        w.guide: True,
        w.other_specialist: False,
        w.other_operator: False,
        w.assistant: False,
        w.other_handler: False,
    }
    for user, sees in seen.items():
        client.force_login(user)
        page = client.get(f"/command/hotspots/{hotspot.pk}/")
        assert page.status_code == (200 if sees else 404), user.username
        listed = client.get("/command/hotspots/")
        assert (f"/command/hotspots/{hotspot.pk}/" in listed.content.decode()) is sees, user.username
        api = client.get(f"/api/command/hotspots/{hotspot.pk}")
        assert api.status_code == (200 if sees else 404), user.username
    client.force_login(w.resident)
    assert client.get("/command/hotspots/").status_code == 404
    assert client.get("/api/command/hotspots").status_code == 403
    # The department works on it through the API; a case link is shown only where the user may open the case.
    client.force_login(w.handler)
    refused = client.post(
        f"/api/command/hotspots/{hotspot.pk}/take", {"root_cause": ""}, content_type="application/json"
    )
    assert refused.status_code == 422 and refused.json()["field"] == "root_cause"
    taken = client.post(
        f"/api/command/hotspots/{hotspot.pk}/take", {"root_cause": "桶太少"}, content_type="application/json"
    )
    assert taken.status_code == 200 and taken.json()["status"] == "working"
    assert len(taken.json()["cases"]) == 6
    page = client.get(f"/command/hotspots/{hotspot.pk}/").content.decode()
    assert "/cases/20261101-" not in page  # the handler's department was never dispatched these cases
    client.force_login(w.specialist)
    with django_assert_max_num_queries(10):  # whatever the number of cases and steps
        page = client.get(f"/command/hotspots/{hotspot.pk}/").content.decode()
    assert page.count('href="/cases/20261101-') == 6
