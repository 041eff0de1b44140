"""What the OpenAPI fuzz tests share: Schemathesis against the document of the in-process WSGI application, a
signed-in session (cookie + CSRF token), and one loop that drives every operation of a part of the document
with Hypothesis strategies and reports every operation's failure together.

One pytest test per part drives all its operations, so the database fixtures are built once. (Schemathesis'
own lazy `from_fixture(...).parametrize()` reads `request.node._nodeid`, which pytest 9.2 no longer has.)
Examples are derandomised for `make test`; hunt with more, at random:
`GRIDGOV_FUZZ_RANDOM=1 GRIDGOV_FUZZ_EXAMPLES=200 pytest -k keeps_to_its_document`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from django.conf import settings
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

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("GRIDGOV_FUZZ_EXAMPLES", "25"))


def session_of(user: Any) -> dict[str, dict[str, str]]:
    """The session cookie of `user`, with the CSRF token ninja checks on unsafe methods."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    token = _get_new_csrf_string()
    return {
        "cookies": {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: token},
        "headers": {"X-CSRFToken": token},
    }


@contextmanager
def wsgi_schema() -> Iterator[Any]:
    from gridgov.wsgi import application

    # Like Django's test client: keep the test's connection (and its transaction) across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def generated(operation: Any, fixed_paths: list[dict[str, Any]] = ()) -> list[st.SearchStrategy[Any]]:  # type: ignore[assignment]
    """Schemathesis' positive and negative requests, also aimed at real objects (`fixed_paths`: path
    parameters naming them): a random identifier would only ever find nothing."""
    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        options.append(operation.as_strategy(generation_mode=mode))
        options += [operation.as_strategy(generation_mode=mode, path_parameters=p) for p in fixed_paths]
    return options


def with_body(strategy: st.SearchStrategy[Any], fields: dict[str, Any]) -> st.SearchStrategy[Any]:
    """`strategy`'s requests with these form fields drawn from their strategies."""

    def merge(pair: tuple[Any, dict[str, Any]]) -> Any:
        case, drawn = pair
        if isinstance(case.body, dict):
            body = {**case.body, **drawn}
            body.pop("expected_version", None)
            case.body = body
        return case

    return st.tuples(strategy, st.fixed_dictionaries(fields)).map(merge)


def with_query(strategy: st.SearchStrategy[Any], fields: dict[str, Any]) -> st.SearchStrategy[Any]:
    def merge(pair: tuple[Any, dict[str, Any]]) -> Any:
        case, drawn = pair
        case.query = {**(case.query or {}), **drawn}
        return case

    return st.tuples(strategy, st.fixed_dictionaries(fields)).map(merge)


def check_operations(
    schema: Any, strategy_for: Callable[[Any], st.SearchStrategy[Any]], auth: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    """Drive every operation of `schema`; answers how many there were and the failures by operation."""
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @given(case=strategy_for(operation))
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=not os.environ.get("GRIDGOV_FUZZ_RANDOM"),
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS, **auth)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    return len(operations), failures


def report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
