"""Schemathesis against the assessment's operations of the OpenAPI document (gridgov/tests/fuzz.py): each one,
called by the county's leader with a few cases on record, answers without a server error, with a declared status,
content type and body."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.assessment import services
from gridgov.cases.tests.helpers import T0, report_case
from gridgov.tests import fuzz


def strategy_for(operation: Any, numbers: list[str]) -> st.SearchStrategy[Any]:
    positive = GenerationMode.POSITIVE
    options = fuzz.generated(operation)
    months = st.sampled_from(["2026-11", "2026-13", "0000-01", "2026-01", "2027-12"])
    if operation.label == "GET /api/assessment/table":
        query = {
            "month": months,
            "kind": st.sampled_from(["town", "village", "grid", "department", "worker"]),
        }
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=positive), query))
    if operation.label in ("POST /api/assessment/exclusions", "POST /api/assessment/appeals"):
        body = {"case": st.sampled_from([*numbers, "x"]), "reason": st.sampled_from(["重复投诉", " "])}
        options.append(fuzz.with_body(operation.as_strategy(generation_mode=positive), body))
    return st.one_of(options)


@pytest.mark.django_db
def test_the_assessment_api_keeps_to_its_document(world):
    numbers = [report_case(world, now=T0).number for _ in range(2)]
    services.do_appeal(numbers[0], "部门误派", actor=world.l1head)
    with fuzz.wsgi_schema() as schema:
        part = schema.include(path_regex=r"^/api/assessment/")
        count, failures = fuzz.check_operations(
            part, lambda operation: strategy_for(operation, numbers), fuzz.session_of(world.leader)
        )
    assert count == 10
    assert not failures, fuzz.report(failures)
