"""Schemathesis against the patrol operations of the OpenAPI document, as a signed-in grid specialist with
patrols (open and ended): every call must answer without a server error, with a declared status, content type
and body. Built on gridgov/tests/fuzz.py (one test, fixtures built once); besides
Schemathesis' own positive and negative requests, requests aimed at real patrols with plausible times,
places and tracks, so that the services run past their first check."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.fieldwork.services import do_add_track, do_end_patrol, do_start_patrol
from gridgov.tests import fuzz

from .helpers import IN_G, ms


@pytest.fixture
def patrols(crew) -> dict[str, Any]:
    t0 = timezone.now() - dt.timedelta(hours=2)
    open_key, ended_key = uuid.uuid4(), uuid.uuid4()
    do_start_patrol(crew.specialist, open_key, t0, *IN_G)
    do_add_track(open_key, crew.specialist, [[109.01, 40.05, ms(t0 + dt.timedelta(minutes=1)), 5]])
    do_start_patrol(crew.specialist, ended_key, t0, *IN_G)
    do_end_patrol(ended_key, crew.specialist, t0 + dt.timedelta(minutes=30))
    # Somebody else's: 404 for the specialist.
    other_key = uuid.uuid4()
    do_start_patrol(crew.officer, other_key, t0, *IN_G)
    return {"crew": crew, "keys": [str(open_key), str(ended_key), str(other_key)], "t0": t0}


def _times(t0: dt.datetime) -> st.SearchStrategy[str]:
    """Plausible phone times around the patrols, some with an offset, some without, some wrong."""
    return st.one_of(
        st.integers(-600, 10_000).map(lambda s: timezone.localtime(t0 + dt.timedelta(seconds=s)).isoformat()),
        st.integers(-600, 10_000).map(lambda s: (t0 + dt.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S")),
        st.sampled_from(["", "2026-13-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"]),
    )


def _tracks(t0: dt.datetime) -> st.SearchStrategy[str]:
    base = ms(t0)
    point = st.tuples(
        st.floats(108.9, 109.3, allow_nan=False),
        st.floats(39.9, 40.2, allow_nan=False),
        st.integers(base - 120_000, base + 4 * 3_600_000),
        st.one_of(st.floats(-5, 200, allow_nan=False), st.integers(0, 50)),
    ).map(list)
    return st.one_of(
        st.lists(point, max_size=30).map(lambda ps: json.dumps(sorted(ps, key=lambda p: p[2]))),
        st.lists(point, max_size=10).map(json.dumps),
        st.sampled_from(["[]", "[[]]", "[1]", "null", "[[1e400, 0, 0, 0]]", "[" * 5000 + "]" * 5000]),
    )


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    fixed = [{"key": key} for key in data["keys"]] if "{key}" in operation.path else []
    options = fuzz.generated(operation, fixed)
    t0 = data["t0"]
    place = {"lon": st.floats(108.9, 109.3), "lat": st.floats(39.9, 40.2)}
    if operation.label == "POST /api/fieldwork/patrols":
        fields = {
            "key": st.one_of(st.uuids().map(str), st.sampled_from(data["keys"])),
            "at": _times(t0),
            **place,
        }
        options.append(fuzz.with_body(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), fields))
    if operation.label == "POST /api/fieldwork/patrols/{key}/track":
        options += [
            fuzz.with_body(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=p),
                {"points": _tracks(t0)},
            )
            for p in fixed
        ]
    if operation.label == "POST /api/fieldwork/patrols/{key}/end":
        options += [
            fuzz.with_body(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=p),
                {"at": _times(t0), **place},
            )
            for p in fixed
        ]
    if operation.label == "GET /api/fieldwork/patrols":
        query = {
            "grid": st.sampled_from(["150621100200", "150621100200001", "150621", "nope"]),
            "day": st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)).map(str),
        }
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), query))
    return st.one_of(options)


@pytest.mark.django_db
def test_the_patrol_api_keeps_to_its_document(patrols):
    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/fieldwork/"),
            lambda operation: strategy_for(operation, patrols),
            fuzz.session_of(patrols["crew"].specialist),
        )
    assert count == 4
    assert not failures, fuzz.report(failures)
