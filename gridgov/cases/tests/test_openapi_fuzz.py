"""Schemathesis against the OpenAPI document of the in-process WSGI application: every case operation, called
as a signed-in operator (session cookie + CSRF token) on a small county with cases in several states, must
answer without a server error, with a declared status, content type and body.

One pytest test drives every operation with Schemathesis' Hypothesis strategies, so the database fixtures are
built once. (Schemathesis' own lazy `from_fixture(...).parametrize()` reads `request.node._nodeid`, which pytest
9.2 no longer has.) Examples are derandomised for `make test`; hunt with more, at random:
`GRIDGOV_FUZZ_RANDOM=1 GRIDGOV_FUZZ_EXAMPLES=200 pytest gridgov/cases/tests/test_openapi_fuzz.py`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gridgov.cases.choices import Channel
from gridgov.cases.services import Report, Step, do_report, do_transition

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TRIAGE_MODEL_PATH = tmp_path / "triage.model"


@pytest.fixture
def cases_world(world, png_bytes) -> dict[str, Any]:
    """Cases in the operator's town: reported, dispatched (with a photo), closed."""

    def new(lon: float, **kw: Any):
        return do_report(
            Report(Channel.RESIDENT_APP, "垃圾箱满了", item="011001", lon=lon, lat=40.05, **kw),
            actor=world.resident,
        ).case

    reported = new(109.01, files=[("a.png", png_bytes())])
    dispatched = new(109.03)
    do_transition(dispatched, "accept", actor=world.operator)
    do_transition(dispatched, "dispatch", Step(unit="HW"), actor=world.operator)
    closed = new(109.06)
    do_transition(closed, "accept", actor=world.operator)
    do_transition(closed, "dispatch", Step(unit="HW"), actor=world.operator)
    do_transition(closed, "sign", actor=world.handler)
    do_transition(
        closed,
        "feedback",
        Step(note="ok", files=[SimpleUploadedFile("b.png", png_bytes(), "image/png")]),
        actor=world.handler,
    )
    do_transition(closed, "verify_pass", actor=world.operator)
    photos = [(closed.number, ev) for ev in closed.evidence.values_list("pk", flat=True)]
    photos += [(reported.number, ev) for ev in reported.evidence.values_list("pk", flat=True)]
    return {
        "world": world,
        "numbers": [reported.number, dispatched.number, closed.number],
        "evidence": photos,
    }


@pytest.fixture
def signed_in(cases_world) -> dict[str, dict[str, str]]:
    """An operator's session cookie, with the CSRF token ninja checks on unsafe methods."""
    client = Client()
    client.force_login(cases_world["world"].operator)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    token = _get_new_csrf_string()
    return {
        "cookies": {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: token},
        "headers": {"X-CSRFToken": token},
    }


@pytest.fixture
def api_schema(cases_world) -> Iterator[Any]:
    from gridgov.wsgi import application

    # Like Django's test client: keep the test's connection (and its transaction) across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


MAX_EXAMPLES = int(os.environ.get("GRIDGOV_FUZZ_EXAMPLES", "25"))


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Positive and negative requests; where the path names a case (or its evidence), also requests aimed at
    real ones: a random number would only ever find nothing."""
    fixed: list[dict[str, Any]] = []
    if "{evidence_id}" in operation.path:
        fixed = [{"number": number, "evidence_id": ev} for number, ev in data["evidence"]]
    elif "{number}" in operation.path:
        fixed = [{"number": number} for number in data["numbers"]]
    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        options.append(operation.as_strategy(generation_mode=mode))
        options += [operation.as_strategy(generation_mode=mode, path_parameters=p) for p in fixed]
    if operation.label == "POST /api/cases/":
        # Reports inside the county, of a real item or of none: intake goes past the place check.
        options.append(
            st.tuples(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                st.fixed_dictionaries(
                    {
                        "lon": st.floats(109.0, 109.2),
                        "lat": st.floats(40.0, 40.1),
                        "item": st.sampled_from(["011001", "011002", ""]),
                        "crs": st.sampled_from(["wgs84", "gcj02", "bd09"]),
                    }
                ),
            ).map(_with_body)
        )
    if operation.label == "POST /api/cases/{number}/actions/{action}":
        # Actions an operator may take on the fixture's cases, with real units and cards: some succeed.
        options += [
            st.tuples(
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters={**p, "action": action}
                ),
                st.fixed_dictionaries(
                    {
                        "unit": st.sampled_from(["HW", "ZF", "GA"]),
                        "card": st.sampled_from(["yellow", "red"]),
                        "reason": st.text(min_size=1),
                        "note": st.text(min_size=1),
                    }
                ),
            ).map(_with_body)
            for p in fixed
            for action in ("accept", "dispatch", "comment", "supervise", "suspend", "resume", "escalate")
        ]
    return st.one_of(options)


def _with_body(pair: tuple[Any, dict[str, Any]]) -> Any:
    case, fields = pair
    if isinstance(case.body, dict):
        body = {**case.body, **fields}
        body.pop("expected_version", None)
        case.body = body
    return case


@pytest.mark.django_db
def test_the_case_api_keeps_to_its_document(api_schema, signed_in, cases_world):
    schema = api_schema.include(path_regex=r"^/api/cases/")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=strategy_for(operation, cases_world))
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=not os.environ.get("GRIDGOV_FUZZ_RANDOM"),
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS, **signed_in)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
