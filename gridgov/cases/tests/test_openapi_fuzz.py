"""Schemathesis against the case operations of the OpenAPI document (gridgov/tests/fuzz.py): every one, called
as a signed-in operator on a small county with cases in several states, must answer without a server error,
with a declared status, content type and body."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import strategies as st

from gridgov.cases.choices import Channel
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.tests import fuzz


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


def strategy_for(operation: Any, data: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Also requests aimed at real cases (or their evidence), reports inside the county, and actions an
    operator may take with real units and cards: some succeed."""
    fixed: list[dict[str, Any]] = []
    if "{evidence_id}" in operation.path:
        fixed = [{"number": number, "evidence_id": ev} for number, ev in data["evidence"]]
    elif "{number}" in operation.path:
        fixed = [{"number": number} for number in data["numbers"]]
    options = fuzz.generated(operation, fixed)
    positive = fuzz.GenerationMode.POSITIVE
    if operation.label == "POST /api/cases/":
        # Reports inside the county, of a real item or of none: intake goes past the place check.
        place = {
            "lon": st.floats(109.0, 109.2),
            "lat": st.floats(40.0, 40.1),
            "item": st.sampled_from(["011001", "011002", ""]),
            "crs": st.sampled_from(["wgs84", "gcj02", "bd09"]),
        }
        options.append(fuzz.with_body(operation.as_strategy(generation_mode=positive), place))
    if operation.label == "POST /api/cases/{number}/actions/{action}":
        fields = {
            "unit": st.sampled_from(["HW", "ZF", "GA"]),
            "card": st.sampled_from(["yellow", "red"]),
            "reason": st.text(min_size=1),
            "note": st.text(min_size=1),
        }
        options += [
            fuzz.with_body(
                operation.as_strategy(generation_mode=positive, path_parameters={**p, "action": action}),
                fields,
            )
            for p in fixed
            for action in ("accept", "dispatch", "comment", "supervise", "suspend", "resume", "escalate")
        ]
    return st.one_of(options)


@pytest.mark.django_db
def test_the_case_api_keeps_to_its_document(cases_world):
    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/cases/"),
            lambda operation: strategy_for(operation, cases_world),
            fuzz.session_of(cases_world["world"].operator),
        )
    assert count >= 10
    assert not failures, fuzz.report(failures)
