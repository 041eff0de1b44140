"""Patrols through the API, as the phone's offline queue sends them: check-in, track batches and check-out with
the phone's own times, each call safe to send twice; bad input refused whole, naming the field; a worker's
patrol is theirs alone; the heads of a village see its patrols, another village's head does not."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord
from gridgov.fieldwork.models import Patrol
from gridgov.fieldwork.services import MAX_BATCH

from .helpers import (
    API,
    IN_G,
    IN_G_B,
    IN_OTHER_VILLAGE,
    OUTSIDE,
    as_user,
    assert_error,
    end,
    ms,
    phone_time,
    snapshot,
    start,
    track,
)

pytestmark = pytest.mark.django_db

# 0.001° of longitude at 40.05° N, and 0.001° of latitude, in metres (haversine, mean Earth radius).
LON_STEP_M = 85.15
LAT_STEP_M = 111.20


def hour_ago() -> dt.datetime:
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)


def walk(t0: dt.datetime) -> list[list[float]]:
    """Three fixes a minute apart: 0.001° east, then 0.001° north."""
    return [
        [109.010, 40.050, ms(t0 + dt.timedelta(minutes=1)), 8],
        [109.011, 40.050, ms(t0 + dt.timedelta(minutes=2)), 5.5],
        [109.011, 40.051, ms(t0 + dt.timedelta(minutes=3)), 12],
    ]


# ---------------------------------------------------------------------------------------------- the round


def test_check_in_track_and_check_out(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = str(uuid.uuid4())

    started = start(client, t0, IN_G, key)
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["key"] == key and body["grid"]["code"] == crew.grid.code
    assert body["worker"] == {"id": crew.specialist.pk, "name": "spec-name"}
    assert body["ended_at"] is None and body["duration_s"] is None
    assert body["points"] == 0 and body["distance_m"] == 0
    assert dt.datetime.fromisoformat(body["started_at"]) == t0 and body["started_at"].endswith("+08:00")

    tracked = track(client, key, walk(t0))
    assert tracked.status_code == 200, tracked.content
    assert tracked.json()["points"] == 3
    assert tracked.json()["distance_m"] == pytest.approx(LON_STEP_M + LAT_STEP_M, abs=0.5)

    ended = end(client, key, t0 + dt.timedelta(minutes=10), (109.011, 40.051))
    assert ended.status_code == 200, ended.content
    out = ended.json()
    assert out["duration_s"] == 600 and out["points"] == 3
    assert dt.datetime.fromisoformat(out["ended_at"]) == t0 + dt.timedelta(minutes=10)

    patrol = Patrol.objects.get(key=key)
    assert patrol.user == crew.specialist and patrol.grid == crew.grid
    assert (patrol.grid_l1_id, patrol.grid_l2_id) == (crew.town.pk, crew.village.pk)
    assert (patrol.start_lon, patrol.start_lat, patrol.end_lon, patrol.end_lat) == (*IN_G, 109.011, 40.051)
    assert [p[2] for p in patrol.track] == [p[2] for p in walk(t0)]
    # Check-in and check-out are on record, the track batches are not.
    actions = list(
        AuditRecord.objects.filter(object_type="fieldwork.patrol", object_id=str(patrol.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["patrol.start", "patrol.end"]
    assert verify_chain().broken_at is None

    listed = client.get(API).json()
    assert [p["key"] for p in listed["items"]] == [key] and listed["has_more"] is False


def test_the_same_key_twice_is_one_patrol(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = str(uuid.uuid4())
    assert start(client, t0, IN_G, key).status_code == 201
    again = start(client, t0 + dt.timedelta(minutes=5), IN_G_B, key)
    assert again.status_code == 200, again.content
    assert again.json()["key"] == key and again.json()["grid"]["code"] == crew.grid.code
    assert dt.datetime.fromisoformat(again.json()["started_at"]) == t0  # the first check-in, unchanged
    assert Patrol.objects.count() == 1
    assert AuditRecord.objects.filter(action="patrol.start").count() == 1


def test_another_workers_key_is_a_conflict(crew):
    key = str(uuid.uuid4())
    assert start(as_user(crew.specialist), hour_ago(), IN_G, key).status_code == 201
    before = snapshot()
    assert_error(start(as_user(crew.officer), hour_ago(), IN_G, key), 409, "conflict", "key")
    assert snapshot() == before


def test_a_batch_sent_again_adds_nothing(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    points = walk(t0)
    first = track(client, key, points).json()
    again = track(client, key, points)
    assert again.status_code == 200 and again.json() == first
    # A batch overlapping the stored track keeps only what is newer.
    later = [109.012, 40.051, ms(t0 + dt.timedelta(minutes=4)), 6]
    overlap = track(client, key, [points[1], points[2], later]).json()
    assert overlap["points"] == 4
    assert overlap["distance_m"] == pytest.approx(first["distance_m"] + LON_STEP_M, abs=0.5)
    assert [p[2] for p in Patrol.objects.get(key=key).track] == [p[2] for p in [*points, later]]


def test_batches_that_crossed_on_the_network_both_count_in_time_order(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    points = walk(t0)
    whole = track(client, start(client, t0).json()["key"], points).json()
    track(client, key, points[1:])
    crossed = track(client, key, points[:1]).json()  # the older batch arrives last
    assert crossed["points"] == len(points)
    assert crossed["distance_m"] == pytest.approx(whole["distance_m"])
    assert [p[2] for p in Patrol.objects.get(key=key).track] == [p[2] for p in points]


def test_ending_twice_answers_the_first_check_out(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    first = end(client, key, t0 + dt.timedelta(minutes=30)).json()
    again = end(client, key, t0 + dt.timedelta(minutes=45), IN_G_B)
    assert again.status_code == 200 and again.json() == first
    assert first["duration_s"] == 1800
    assert AuditRecord.objects.filter(action="patrol.end").count() == 1


def test_the_last_batch_may_arrive_after_the_check_out(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    end(client, key, t0 + dt.timedelta(minutes=10))
    assert track(client, key, walk(t0)).json()["points"] == 3
    late = [[109.02, 40.05, ms(t0 + dt.timedelta(minutes=20)), 5]]
    body = assert_error(track(client, key, late), 422, "invalid", "points")
    assert "1" in body["message"]  # names the point


# ---------------------------------------------------------------------------------------------- the grid


def test_the_grid_is_the_workers_grid_holding_the_check_in(crew):
    client = as_user(crew.two_grids)
    t0 = hour_ago()
    assert start(client, t0, IN_G_B).json()["grid"]["code"] == crew.grid_b.code
    assert start(client, t0, IN_G).json()["grid"]["code"] == crew.grid.code
    # Outside both, or without a fix: the first of their grids.
    assert start(client, t0, IN_OTHER_VILLAGE).json()["grid"]["code"] == crew.grid.code
    assert start(client, t0, OUTSIDE).json()["grid"]["code"] == crew.grid.code
    assert start(client, t0, None).json()["grid"]["code"] == crew.grid.code
    # A grid where the worker is not assigned is never theirs, even when they stand in it.
    assert start(as_user(crew.specialist), t0, IN_G_B).json()["grid"]["code"] == crew.grid.code


# ---------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "points",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"lon": 109}', id="not-a-list"),
        pytest.param("[[109.01, 40.05, NaN, 5]]", id="nan"),
        pytest.param("[[109.01, 40.05, 5]]", id="three-numbers"),
        pytest.param('[[109.01, "40.05", 1, 5]]', id="text"),
        pytest.param("[[true, 40.05, 1, 5]]", id="boolean"),
        pytest.param("out-of-order", id="out-of-order"),
        pytest.param("same-time", id="same-time"),
        pytest.param("longitude", id="longitude"),
        pytest.param("latitude", id="latitude"),
        pytest.param("accuracy", id="negative-accuracy"),
        pytest.param("before", id="before-check-in"),
        pytest.param("future", id="in-the-future"),
        pytest.param("too-many", id="too-many"),
    ],
)
def test_a_bad_batch_is_refused_whole_naming_points(crew, points):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    good = walk(t0)
    if points != "before":  # a point older than the stored ones is skipped, not checked: the batch was sent
        track(client, key, good[:1])
    now_ms = ms(timezone.now())
    bad = {
        "out-of-order": [good[2], good[1]],
        "same-time": [good[1], [109.02, 40.05, good[1][2], 3]],
        "longitude": [good[1], [180.5, 40.05, good[2][2], 3]],
        "latitude": [good[1], [109.01, -91, good[2][2], 3]],
        "accuracy": [good[1], [109.01, 40.05, good[2][2], -1]],
        "before": [[109.01, 40.05, ms(t0 - dt.timedelta(minutes=5)), 3]],
        "future": [good[1], [109.01, 40.05, now_ms + 3_600_000, 3]],
        "too-many": [[109.01, 40.05, good[1][2] + i, 3] for i in range(MAX_BATCH + 1)],
    }.get(points, points)
    before = snapshot()
    body = assert_error(track(client, key, bad), 422, "invalid", "points")
    assert snapshot() == before, body


def test_a_bad_check_in_is_refused_naming_the_field(crew):
    client = as_user(crew.specialist)
    before = snapshot()
    now = timezone.now()
    assert_error(client.post(API, {"key": "not-a-uuid", "at": phone_time(now)}), 422, "invalid", "key")
    assert_error(start(client, now + dt.timedelta(hours=1)), 422, "invalid", "at")
    assert_error(start(client, now - dt.timedelta(days=40)), 422, "invalid", "at")
    assert_error(client.post(API, {"key": str(uuid.uuid4()), "at": "yesterday"}), 422, "invalid", "at")
    assert_error(client.post(API, {"key": str(uuid.uuid4())}), 422, "invalid", "at")
    missing_lat = {"key": str(uuid.uuid4()), "at": phone_time(now), "lon": "109.01"}
    assert_error(client.post(API, missing_lat), 422, "invalid", "lat")
    assert_error(start(client, now, (200.0, 40.05)), 422, "invalid", "lon")
    assert_error(start(client, now, (109.01, 95.0)), 422, "invalid", "lat")
    assert snapshot() == before


def test_a_bad_check_out_is_refused_naming_the_field(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = start(client, t0).json()["key"]
    before = snapshot()
    assert_error(end(client, key, t0 - dt.timedelta(minutes=1)), 422, "invalid", "at")
    assert_error(end(client, key, timezone.now() + dt.timedelta(hours=1)), 422, "invalid", "at")
    assert_error(end(client, key, t0, (109.01, -100.0)), 422, "invalid", "lat")
    assert snapshot() == before


def test_the_errors_speak_the_users_language(crew):
    client = as_user(crew.specialist)
    zh = start(client, hour_ago(), (200.0, 40.05)).json()["message"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = start(client, hour_ago(), (200.0, 40.05)).json()["message"]
    assert en == "Longitude must lie between -180 and 180." and zh != en
    key = start(client, hour_ago()).json()["key"]
    assert "Point 2" in track(client, key, "[[1, 2, 3, 4], [1, 2, 3, 4]]").json()["message"]


# ---------------------------------------------------------------------------------------------- whose patrol


def test_somebody_elses_patrol_does_not_exist(crew):
    t0 = hour_ago()
    key = start(as_user(crew.specialist), t0).json()["key"]
    colleague = as_user(crew.officer)
    before = snapshot()
    assert_error(track(colleague, key, walk(t0)), 404, "not_found")
    assert_error(end(colleague, key, t0 + dt.timedelta(minutes=5)), 404, "not_found")
    assert_error(end(colleague, "not-a-key", t0), 404, "not_found")
    assert snapshot() == before
    assert colleague.get(API).json()["items"] == []
    # The head of the village sees it, but may not touch it either.
    assert_error(end(as_user(crew.l2head), key, t0 + dt.timedelta(minutes=5)), 404, "not_found")


@pytest.mark.parametrize("who", ["resident", "mediator", "nobody", "l2head", "operator"])
def test_only_grid_workers_check_in(crew, who):
    before = snapshot()
    assert_error(start(as_user(getattr(crew, who)), hour_ago()), 403, "not_allowed")
    assert snapshot() == before


@pytest.mark.parametrize("who", ["resident", "mediator", "nobody"])
def test_people_who_neither_patrol_nor_oversee_are_refused_the_list(crew, who):
    assert_error(as_user(getattr(crew, who)).get(API), 403, "not_allowed")


def test_a_worker_whose_grid_closed_no_longer_checks_in(crew):
    crew.grid.valid_to = dt.date(2026, 1, 2)
    crew.grid.save(update_fields=["valid_to"])
    assert_error(start(as_user(crew.specialist), hour_ago()), 403, "not_allowed")


def test_calls_need_a_signed_in_user_and_the_csrf_token(crew):
    assert_error(Client().get(API), 401, "unauthorized")
    assert_error(start(Client(), hour_ago()), 401, "unauthorized")
    phone = Client(enforce_csrf_checks=True)
    phone.force_login(crew.specialist)
    assert_error(start(phone, hour_ago()), 403, "csrf")
    assert Patrol.objects.count() == 0
    # As the phone does it: the csrftoken cookie echoed in X-CSRFToken.
    token = _get_new_csrf_string()
    phone.cookies[settings.CSRF_COOKIE_NAME] = token
    answer = phone.post(
        API, {"key": str(uuid.uuid4()), "at": phone_time(hour_ago())}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 201, answer.content


# ---------------------------------------------------------------------------------------------- who sees what


def test_heads_see_the_patrols_of_their_grids(crew):
    t0 = hour_ago()
    mine = start(as_user(crew.specialist), t0).json()["key"]
    neighbour = start(as_user(crew.two_grids), t0, IN_G_B).json()["key"]
    far = start(as_user(crew.other_specialist), t0, (109.11, 40.05)).json()["key"]
    day = timezone.localdate(t0).isoformat()

    def keys(user, **query) -> set[str]:
        response = as_user(user).get(API, query)
        assert response.status_code == 200, response.content
        return {p["key"] for p in response.json()["items"]}

    village = crew.village.code
    assert keys(crew.l2head, grid=village, day=day) == {mine, neighbour}
    assert keys(crew.l2head, grid=crew.grid_b.code) == {neighbour}
    assert keys(crew.l2head, day=day) == {mine, neighbour}
    assert keys(crew.l2head) == set()  # without a grid or a day: their own patrols
    assert keys(crew.other_l2head, grid=village, day=day) == set()
    assert keys(crew.other_l2head, day=day) == set()
    assert keys(crew.l1head, grid=crew.town.code) == {mine, neighbour}
    assert keys(crew.operator, day=day) == {mine, neighbour}
    assert keys(crew.leader, day=day) == {mine, neighbour, far}
    # Workers see only their own, even in their own grid.
    assert keys(crew.specialist, grid=crew.grid.code, day=day) == {mine}
    assert keys(crew.officer, grid=crew.grid.code) == set()
    # Another day holds none of them.
    other_day = (timezone.localdate(t0) - dt.timedelta(days=3)).isoformat()
    assert keys(crew.leader, day=other_day) == set()
    assert keys(crew.l2head, grid="no-such-grid") == set()


def test_own_patrols_page_newest_first(crew):
    client = as_user(crew.specialist)
    t0 = hour_ago()
    # Sent out of order (an offline queue), listed by the phone's check-in time.
    keys = {
        minutes: start(client, t0 + dt.timedelta(minutes=minutes)).json()["key"] for minutes in (20, 0, 10)
    }
    first = client.get(API, {"limit": 2}).json()
    assert [p["key"] for p in first["items"]] == [keys[20], keys[10]]
    assert first["has_more"] is True and first["next_before"]
    second = client.get(API, {"limit": 2, "before": first["next_before"]}).json()
    assert [p["key"] for p in second["items"]] == [keys[0]]
    assert second["has_more"] is False and second["next_before"] is None


def test_the_offline_queue_sends_each_call_with_its_idempotency_key(crew):
    """The phone's queue sends every record with its key as `Idempotency-Key`: the calls run inside the kept
    answer's transaction, and a record sent again gets the first answer back."""
    client = as_user(crew.specialist)
    t0 = hour_ago()
    key = str(uuid.uuid4())
    fields = {"key": key, "at": phone_time(t0), "lon": "109.01", "lat": "40.05"}
    first = client.post(API, fields, headers={"Idempotency-Key": f"{key}-start"})
    assert first.status_code == 201, first.content
    replay = client.post(API, fields, headers={"Idempotency-Key": f"{key}-start"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    batch = {"points": json.dumps(walk(t0))}
    tracked = client.post(f"{API}/{key}/track", batch, headers={"Idempotency-Key": f"{key}-track-1"})
    assert tracked.status_code == 200 and tracked.json()["points"] == 3
    ended = client.post(
        f"{API}/{key}/end",
        {"at": phone_time(t0 + dt.timedelta(minutes=5))},
        headers={"Idempotency-Key": f"{key}-end"},
    )
    assert ended.status_code == 200 and ended.json()["duration_s"] == 300
    assert Patrol.objects.count() == 1
    assert AuditRecord.objects.filter(action__startswith="patrol.").count() == 2
