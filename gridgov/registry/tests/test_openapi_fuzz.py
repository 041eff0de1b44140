"""Schemathesis against the registry's operations of the OpenAPI document, as a signed-in village head (who
keeps the records of two grids and sees their key groups), over the shared scene: every call must answer
without a server error, with a declared status, content type and body. Built on gridgov/tests/fuzz.py; besides
Schemathesis' own positive and negative requests, requests aimed at real people and households, with grid
codes, names, numbers and reasons that get past the first check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gridgov.registry.choices import KeyGroup
from gridgov.tests import fuzz

from . import test_access
from .test_access import PEOPLE, id_number

scene = test_access.scene  # the registry tests' shared fixture

GRIDS = [
    "150621100200001",
    "150621100200002",
    "150621100200",
    "150621100",
    "150621101200001",
    "150621",
    "nope",
]


def _numbers() -> st.SearchStrategy[str]:
    """Whole and partial ID numbers and phones, valid and not, as a clerk types them."""
    known = [v for p in PEOPLE.values() for v in (p["id"], p["phone"])]
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda v: v[:-3]),
        st.from_regex(r"15062119[5-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9])[0-9]{3}", fullmatch=True).map(
            id_number
        ),
        st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        st.text(max_size=20),
    )


def _names() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["张建国", "李", "王德", "陈美兰", "Anna Müller", "巴特尔", "刘晓燕#", "", " "]),
        st.text(max_size=60),
    )


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    s = data["scene"]
    fixed: list[dict[str, Any]] = []
    if "{person_id}" in operation.path:
        fixed = [{"person_id": p.pk} for p in s.persons.values()]
    if "{household_id}" in operation.path:
        fixed = [{"household_id": h.pk} for h in (s.household, s.household_b)]
    options = fuzz.generated(operation, fixed)
    positive = GenerationMode.POSITIVE
    label = operation.label
    if label == "GET /api/registry/persons":
        query = {
            "q": st.one_of(_numbers(), _names()),
            "grid": st.sampled_from(GRIDS),
            "key_group": st.sampled_from(KeyGroup.values),
        }
        options.append(fuzz.with_query(operation.as_strategy(generation_mode=positive), query))
    if label in ("GET /api/registry/figures", "GET /api/registry/households", "GET /api/registry/components"):
        options.append(
            fuzz.with_query(operation.as_strategy(generation_mode=positive), {"grid": st.sampled_from(GRIDS)})
        )
    if label == "POST /api/registry/persons":
        fields = {
            "name": _names(),
            "grid": st.sampled_from(GRIDS),
            "document_number": _numbers(),
            "phone": _numbers(),
            "household": st.sampled_from(["H-0001", "H-0002", "H-9999"]),
            "relation": st.sampled_from(["head", "spouse", "son", "cousin", ""]),
            "key_groups": st.lists(st.sampled_from([*KeyGroup.values, "nobody"]), max_size=3),
            "gender": st.sampled_from(["", "0", "1", "2", "9", "x"]),
            "ethnicity": st.sampled_from(["", "01", "02", "57", "97"]),
        }
        options.append(fuzz.with_body(operation.as_strategy(generation_mode=positive), fields))
    if label == "POST /api/registry/persons/{person_id}/move":
        options += [
            fuzz.with_body(
                operation.as_strategy(generation_mode=positive, path_parameters=p),
                {"grid": st.sampled_from(GRIDS), "reason": st.sampled_from(["搬家", "", " ", "x" * 200])},
            )
            for p in fixed
        ]
    if label == "POST /api/registry/persons/{person_id}/unmask":
        options += [
            fuzz.with_body(
                operation.as_strategy(generation_mode=positive, path_parameters=p),
                {
                    "what": st.sampled_from(["phone", "document_number"]),
                    "reason": st.sampled_from(["电话回访", "", "看", "核对户籍信息"]),
                },
            )
            for p in fixed
        ]
    return st.one_of(options)


@pytest.mark.django_db
def test_the_registry_api_keeps_to_its_document(scene):
    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/registry/"),
            lambda operation: strategy_for(operation, {"scene": scene}),
            fuzz.session_of(scene.world.l2head),
        )
    assert count == 14
    assert not failures, fuzz.report(failures)
