"""Schemathesis against the phone app's operations of the OpenAPI document (gridgov/tests/fuzz.py), as a
signed-in grid specialist with open cases in the grid: no server error, declared statuses and bodies. Sign-in
operations are called without a CSRF cookie too (403, declared)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.cases.tests.helpers import case_in
from gridgov.tests import fuzz


@pytest.fixture
def grid_world(world, png_bytes) -> Any:
    case_in(world, "reported")
    case_in(world, "handled", png=png_bytes)
    return world


def strategy_for(operation: Any) -> st.SearchStrategy[Any]:
    options = fuzz.generated(operation)
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    if operation.label == "GET /api/mobile/nearby":
        near = {
            "lon": st.floats(109.0, 109.2),
            "lat": st.floats(40.0, 40.1),
            "item": st.sampled_from(["011001", "011002", "x"]),
            "crs": st.sampled_from(["wgs84", "gcj02", "bd09", "utm"]),
        }
        options.append(fuzz.with_query(positive, near))
    if operation.label in ("POST /api/mobile/code", "POST /api/mobile/verify"):
        phone = {"phone": st.sampled_from(["13812345678", "1381234567", "+86 138 1234 5678", "0477-1234567"])}
        options.append(fuzz.with_body(positive, phone))
    return st.one_of(options)


@pytest.mark.django_db
def test_the_mobile_api_keeps_to_its_document(grid_world):
    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/mobile/").exclude(path_regex=r"/logout$"),
            strategy_for,
            fuzz.session_of(grid_world.specialist),
        )
    assert count == 8  # with GET /api/mobile/fieldwork
    assert not failures, fuzz.report(failures)
