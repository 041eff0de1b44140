"""Schemathesis against the fieldwork operations of the OpenAPI document (patrols, visits, inspection tasks and
plans), as a signed-in grid specialist with patrols (open and ended), visits and open inspection tasks, and
then as a village's head (who makes plans): every call must answer without a server error, with a declared
status, content type and body. Built on gridgov/tests/fuzz.py (one test, fixtures built once); besides
Schemathesis' own positive and negative requests, requests aimed at real patrols, visits and tasks with
plausible times, places, tracks, answers and checklists, so that the services run past their first check."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.fieldwork.models import InspectionTask
from gridgov.fieldwork.services import (
    do_add_track,
    do_create_plan,
    do_end_patrol,
    do_generate_tasks,
    do_record_visit,
    do_start_patrol,
)
from gridgov.registry.models import Component
from gridgov.tests import fuzz

from .helpers import IN_G, ms


@pytest.fixture
def patrols(field) -> dict[str, Any]:
    crew = field.crew
    t0 = timezone.now() - dt.timedelta(hours=2)
    open_key, ended_key = uuid.uuid4(), uuid.uuid4()
    do_start_patrol(crew.specialist, open_key, t0, *IN_G)
    do_add_track(open_key, crew.specialist, [[109.01, 40.05, ms(t0 + dt.timedelta(minutes=1)), 5]])
    do_start_patrol(crew.specialist, ended_key, t0, *IN_G)
    do_end_patrol(ended_key, crew.specialist, t0 + dt.timedelta(minutes=30))
    # Somebody else's: 404 for the specialist.
    other_key = uuid.uuid4()
    do_start_patrol(crew.officer, other_key, t0, *IN_G)
    visits = [
        do_record_visit(actor=who, key=uuid.uuid4(), at=t0, purpose="routine", lon=IN_G[0], lat=IN_G[1]).visit
        for who in (crew.specialist, crew.officer)
    ]
    checklist = [{"code": "pressure", "text": "压力表指针在绿区"}, {"code": "seal", "text": "铅封完好"}]
    do_create_plan(
        actor=crew.l2head,
        name="年检",
        item="021001",
        grid=crew.village.code,
        every_days=365,
        checklist=checklist,
    )
    # More of the specialist's components: every completion uses a task up.
    Component.objects.bulk_create(
        [
            Component(
                object_id=f"1506210113{n:06d}",
                item=field.fire,
                name="灭火器",
                lon=109.01,
                lat=40.05,
                grid=crew.grid,
                grid_l1_id=crew.town.pk,
                grid_l2_id=crew.village.pk,
                grid_l3_id=crew.grid.pk,
            )
            for n in range(500, 508)
        ]
    )
    do_generate_tasks()
    return {
        "crew": crew,
        "field": field,
        "keys": [str(open_key), str(ended_key), str(other_key)],
        "visits": [str(v.key) for v in visits],
        # The specialist's two open tasks, and one of a colleague's grid (404 for the specialist).
        "tasks": [
            *InspectionTask.objects.filter(worker=crew.specialist)
            .order_by("id")
            .values_list("pk", flat=True),
            InspectionTask.objects.get(component=field.ext_b).pk,
        ],
        "t0": t0,
    }


def _without_photos(case: Any) -> Any:
    """Schemathesis' photos are random bytes (always refused): most aimed requests go without."""
    if isinstance(case.body, dict):
        case.body.pop("photos", None)
    return case


def _answers() -> st.SearchStrategy[str]:
    valid = st.one_of(
        st.sampled_from(["ok", "not_ok"]),
        st.fixed_dictionaries({"answer": st.sampled_from(["ok", "not_ok"]), "note": st.text(max_size=20)}),
    )
    answer = st.one_of(
        valid, st.sampled_from(["maybe", ""]), st.fixed_dictionaries({"note": st.text(max_size=3)})
    )
    return st.one_of(
        st.fixed_dictionaries({"pressure": valid, "seal": valid}).map(json.dumps),
        st.fixed_dictionaries({"pressure": answer, "seal": answer}).map(json.dumps),
        st.dictionaries(st.sampled_from(["pressure", "seal", "other"]), answer).map(json.dumps),
        st.sampled_from(["", "{}", "[]", "null", "not json", '{"pressure": 1}']),
    )


def _checklists() -> st.SearchStrategy[str]:
    valid = st.fixed_dictionaries(
        {
            "code": st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True),
            "text": st.sampled_from(["铅封完好", "ok?"]),
        }
    )
    check = st.fixed_dictionaries({"code": st.text(max_size=5), "text": st.text(max_size=30)})
    return st.one_of(
        st.lists(valid, min_size=1, max_size=4, unique_by=lambda c: c["code"]).map(json.dumps),
        st.lists(st.one_of(valid, check), max_size=4).map(json.dumps),
        st.sampled_from(["[]", "{}", "null", '[{"code": "a"}]', "[" * 3000 + "]" * 3000]),
    )


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


def strategy_for(
    operation: Any, data: dict[str, Any], *, plans_aimed_only: bool = False
) -> st.SearchStrategy[Any]:
    fixed: list[dict[str, Any]] = []
    if operation.path == "/api/fieldwork/visits/{key}":
        fixed = [{"key": key} for key in data["visits"]]
    elif "{key}" in operation.path:
        fixed = [{"key": key} for key in data["keys"]]
    elif "{task_id}" in operation.path:
        fixed = [{"task_id": pk} for pk in data["tasks"]]
    # Schemathesis' own requests go to a few of the tasks (one of them somebody else's); the aimed ones below
    # to any.
    options = fuzz.generated(operation, fixed[:1] + fixed[-1:] if "{task_id}" in operation.path else fixed)
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
    field = data["field"]
    grids = st.sampled_from(["150621100200", "150621100200001", "150621", "nope"])
    if operation.label == "POST /api/fieldwork/visits":
        fields = {
            "key": st.one_of(st.uuids().map(str), st.sampled_from(data["visits"])),
            "at": _times(t0),
            "purpose": st.sampled_from(["routine", "care", "check", "other"]),
            "household": st.sampled_from([field.household.pk, field.other_household.pk, 10**12]),
            "organisation": st.sampled_from([field.shop.pk, 10**12]),
            "accuracy_m": st.floats(0, 500),
            **place,
        }
        options.append(fuzz.with_body(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), fields))
    if operation.label == "GET /api/fieldwork/visits":
        query = {"grid": grids, "day": st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)).map(str)}
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), query))
    if operation.label == "GET /api/fieldwork/tasks":
        query = {
            "state": st.sampled_from(["open", "done", "failed"]),
            "overdue": st.sampled_from(["true", "false"]),
            "grid": grids,
        }
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), query))
    # Aimed requests weigh more where Schemathesis' own would hardly ever get past the first check.
    if operation.label == "POST /api/fieldwork/tasks/{task_id}/complete":
        recent = st.integers(0, 5400).map(
            lambda s: timezone.localtime(t0 + dt.timedelta(seconds=s)).isoformat()
        )
        body = {
            "key": st.uuids().map(str),
            "at": st.one_of(recent, _times(t0)),
            "answers": _answers(),
            **place,
        }
        aimed = st.sampled_from(fixed).flatmap(
            lambda p: fuzz.with_body(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=p), body
            ).map(_without_photos)
        )
        options[:0] = 2 * [aimed]  # first: Hypothesis favours the first choices
    if operation.label == "POST /api/fieldwork/plans":
        fields = {
            "item": st.sampled_from(["021001", "031002", "021001", "042001", "nope"]),
            "grid": st.sampled_from(["150621100200", "150621100200001", "150621100200", "150621", "nope"]),
            "every_days": st.integers(-1, 4000),
            "checklist": _checklists(),
        }
        aimed_plan = fuzz.with_body(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), fields)
        if plans_aimed_only:  # the head's pass: Schemathesis' own requests ran in the worker's pass
            return aimed_plan
        options[:0] = 2 * [aimed_plan]
    return st.one_of(options)


@pytest.mark.django_db
def test_the_fieldwork_api_keeps_to_its_document(patrols):
    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/fieldwork/"),
            lambda operation: strategy_for(operation, patrols),
            fuzz.session_of(patrols["crew"].specialist),
        )
        # The village's head makes plans, and sees the tasks and visits of the village.
        head_count, head_failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/fieldwork/(plans|tasks|visits)$"),
            lambda operation: strategy_for(operation, patrols, plans_aimed_only=True),
            fuzz.session_of(patrols["crew"].l2head),
        )
    assert count == 12 and head_count == 5
    assert not failures, fuzz.report(failures)
    assert not head_failures, fuzz.report(head_failures)
