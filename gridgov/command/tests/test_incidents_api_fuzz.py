"""Schemathesis against the hotspot and emergency operations of the OpenAPI document, as the town's operator (who
declares, dispatches, broadcasts and closes) and as a department's handler (who answers its task and works on
its hotspots): every call answers without a server error, with a declared status, content type and body. Besides
Schemathesis' own requests, requests aimed at the real hotspot, incident and dispatches, and bodies with real
grid and department codes, so that the services run past their first check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.command import incidents_services as services
from gridgov.command.hotspots import find_hotspots
from gridgov.command.models import Hotspot
from gridgov.tests import fuzz

from .test_hotspots import cluster, make_cases


@pytest.fixture
def records(world) -> dict[str, Any]:
    w = world
    make_cases(w, cluster(6), days_ago=1)
    find_hotspots()
    incident = services.do_declare(
        actor=w.operator,
        kind="natural",
        level=4,
        title="暴雨",
        description="积水",
        place="东街",
        grids=[w.grid.code],
    )
    made = services.do_dispatch(incident.pk, actor=w.operator, departments=[("HW", "排水"), ("ZF", "警戒")])
    return {
        "w": w,
        "hotspot_id": [Hotspot.objects.get().pk, 10**12],
        "number": [incident.number, "YJ20990101-0001"],
        "dispatch_id": [d.pk for d in made],
    }


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    names = [p for p in ("hotspot_id", "number") if "{" + p + "}" in operation.path]
    fixed: list[dict[str, Any]] = []
    if names == ["number"] and "{dispatch_id}" in operation.path:
        fixed = [{"number": data["number"][0], "dispatch_id": d} for d in data["dispatch_id"]]
    elif names:
        fixed = [{names[0]: v} for v in data[names[0]]]
    options = fuzz.generated(operation, fixed)
    grids = st.lists(
        st.sampled_from(["150621100200001", "150621100200", "150621101200001", "nope"]), max_size=3
    )
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/command/incidents": {
            "grids": grids,
            "kind": st.sampled_from(["natural", "health"]),
            "title": st.sampled_from(["", "暴雨", "x" * 100]),
        },
        "POST /api/command/incidents/{number}/dispatches": {
            "departments": st.lists(
                st.fixed_dictionaries(
                    {
                        "department": st.sampled_from(["HW", "ZF", "GA", "NOPE", "1"]),
                        "task": st.sampled_from(["", "去"]),
                    }
                ),
                max_size=3,
            )
        },
    }
    if operation.label in bodies:
        for p in fixed or [{}]:
            strategy = operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, path_parameters=p or None
            )
            options[:0] = [fuzz.with_body(strategy, bodies[operation.label])]
    return st.one_of(options)


@pytest.mark.django_db
def test_the_hotspot_and_emergency_api_keeps_to_its_document(records):
    w = records["w"]
    with fuzz.wsgi_schema() as schema:
        part = schema.include(path_regex=r"^/api/command/(hotspots|incidents)")
        count, failures = fuzz.check_operations(
            part, lambda operation: strategy_for(operation, records), fuzz.session_of(w.operator)
        )
        _count, handler_failures = fuzz.check_operations(
            part, lambda operation: strategy_for(operation, records), fuzz.session_of(w.handler)
        )
    assert count == 10
    assert not failures, fuzz.report(failures)
    assert not handler_failures, fuzz.report(handler_failures)
