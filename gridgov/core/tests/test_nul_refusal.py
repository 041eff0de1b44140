"""A NUL in an API call's path, query, form or JSON is refused with 422 naming the field (PostgreSQL text
cannot hold one: without the refusal these calls were server errors there)."""

from __future__ import annotations

import json

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/registry/persons?q=%00a", "q"),
        ("/api/registry/households?q=%00", "q"),
        ("/api/registry/components?item=%00", "item"),
        ("/api/cases/?q=%00abc", "q"),
        ("/api/fieldwork/tasks?grid=%00", "grid"),
        ("/api/cases/2026%00/", "path"),
    ],
)
def test_a_nul_in_a_query_or_path_is_refused_naming_the_field(world, path, field):
    c = Client()
    c.force_login(world.l2head)
    answer = c.get(path, HTTP_ACCEPT="application/json")
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == field and answer.json()["code"] == "invalid"


@pytest.mark.django_db
def test_a_nul_in_a_form_or_json_body_is_refused_and_changes_nothing(world):
    from gridgov.cases.models import Case

    c = Client()
    c.force_login(world.resident)
    form = {"channel": "resident_app", "description": "路灯\x00不亮", "lon": "109.01", "lat": "40.05"}
    answer = c.post("/api/cases/", form, HTTP_ACCEPT="application/json")
    assert answer.status_code == 422 and answer.json()["field"] == "description"
    body = json.dumps({"description": "a\x00b"})
    answer = c.post("/api/cases/", body, content_type="application/json", HTTP_ACCEPT="application/json")
    assert answer.status_code == 422 and answer.json()["field"] == "body"
    assert Case.objects.count() == 0
    # Pages are not the middleware's: their forms refuse NUL themselves.
    assert c.get("/registry/persons/?q=%00").status_code < 500
