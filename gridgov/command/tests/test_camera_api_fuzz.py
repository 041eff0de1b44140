"""Schemathesis against the camera and alarm operations of the OpenAPI document (as an operator and as a grid
specialist): every call answers without a server error, with a declared status, content type and body. The
webhook's unsigned calls are refused (401); signed calls with bodies drawn by Hypothesis reach the body's checks
and answer 201, 409 or 422, never a server error, and create a case only when they answer 201."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.cases.models import Case
from gridgov.command.alarms import do_create_alarm_source, signed_headers
from gridgov.command.cameras import CameraInput, do_save_camera
from gridgov.tests import fuzz


@pytest.fixture
def alarm_world(world):
    do_save_camera(
        CameraInput(
            name="路口",
            code="C1",
            kind="hls",
            hls_url="http://v.example.local/C1.m3u8",
            lon=109.01,
            lat=40.05,
        ),
        actor=world.banner_operator,
    )
    _, secret = do_create_alarm_source(
        actor=None, code="iot", name="物联网", kind="iot", mapping={"bin": world.item.code}
    )
    return world, secret.encode()


@pytest.mark.django_db
def test_the_camera_and_alarm_api_keeps_to_its_document(alarm_world):
    world, _ = alarm_world
    with fuzz.wsgi_schema() as schema:
        part = schema.include(path_regex=r"^/api/command/(cameras|alarms)")
        count, failures = fuzz.check_operations(
            part, lambda operation: st.one_of(fuzz.generated(operation)), fuzz.session_of(world.operator)
        )
        _, specialist_failures = fuzz.check_operations(
            part, lambda operation: st.one_of(fuzz.generated(operation)), fuzz.session_of(world.specialist)
        )
    assert count == 3
    assert not failures, fuzz.report(failures)
    assert not specialist_failures, fuzz.report(specialist_failures)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=100),
    st.lists(st.integers(), max_size=3),
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(st.text(max_size=90), st.integers(), values),
        "type": st.one_of(st.sampled_from(["bin", "fire"]), values),
        "camera": st.one_of(st.sampled_from(["C1", "C2", ""]), values),
        "lon": st.one_of(st.floats(108.9, 109.3), values),
        "lat": st.one_of(st.floats(39.95, 40.15), values),
        "description": values,
        "snapshot": st.one_of(st.sampled_from(["", "AAAA", "!!"]), values),
    },
)

# Bodies a platform would send: they pass the checks, so the intake behind them runs too.
valid = st.fixed_dictionaries(
    {"event_id": st.text("abc123-", min_size=1, max_size=12), "type": st.just("bin")},
    optional={
        "camera": st.just("C1"),
        "description": st.text(max_size=40),
        "lon": st.floats(109.0, 109.2),
        "lat": st.floats(40.0, 40.1),
    },
)


@pytest.mark.django_db
def test_signed_bodies_of_any_shape_are_answered_without_a_server_error(alarm_world):
    _, secret = alarm_world
    client = Client()
    answered: list[int] = []

    @given(body=st.one_of(valid, bodies, values))
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(body: Any) -> None:
        raw = json.dumps(body).encode()
        before = Case.objects.count()
        response = client.post(
            "/api/command/alarms",
            data=raw,
            content_type="application/json",
            headers=signed_headers("iot", secret, raw),
        )
        assert response.status_code in (201, 409, 422), (body, response.content)
        answered.append(response.status_code)
        answer = response.json()
        if response.status_code == 201:
            assert Case.objects.filter(number=answer["case"]).exists()
        else:
            assert answer["code"] and answer["message"] and Case.objects.count() == before

    run()
    assert {201, 409, 422} <= set(answered), sorted(set(answered))
