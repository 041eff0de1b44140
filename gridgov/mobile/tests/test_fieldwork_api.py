"""What the grid worker's fieldwork forms offer (GET /api/mobile/fieldwork): the server's code tables in the
caller's language and the worker's own grids, for grid workers only; and the forms the phone sends for
fieldwork (a registration with the phone's fields, an inspection's answers) taken by the fieldwork and
registry APIs as the phone sends them, once however often they are sent."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import RoleAssignment
from gridgov.cases.models import Case
from gridgov.core.masking import mask_id_number
from gridgov.fieldwork.models import InspectionTask, Visit
from gridgov.registry.codes import DocumentKind, Ethnicity
from gridgov.registry.models import Person

from .conftest import id_number

pytestmark = pytest.mark.django_db
CHOICES = "/api/mobile/fieldwork"


def as_user(user: Any, language: str = "") -> Client:
    client = Client()
    client.force_login(user)
    if language:
        from django.conf import settings

        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_a_grid_worker_gets_the_choices_of_the_forms_and_their_own_grids(
    world, django_assert_max_num_queries
):
    client = as_user(world.specialist)
    with django_assert_max_num_queries(4):
        response = client.get(CHOICES)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [g["code"] for g in body["grids"]] == [world.grid.code]
    assert [c["code"] for c in body["document_kinds"]] == list(DocumentKind.values)
    assert [c["code"] for c in body["ethnicities"]] == list(Ethnicity.values)
    assert {c["code"] for c in body["purposes"]} >= {"routine", "care", "check"}
    assert {c["code"] for c in body["genders"]} == {"0", "1", "2", "9"}
    assert {c["code"] for c in body["residences"]} >= {"registered", "floating"}
    assert {c["code"] for c in body["relations"]} >= {"head", "spouse"}
    # A grid worker names key groups (they keep the grid's register).
    assert {c["code"] for c in body["key_groups"]} >= {"elderly_alone", "disabled"}
    # In the worker's language: Chinese by default, English when asked.
    labels = {c["code"]: c["name"] for c in body["genders"]}
    assert labels["1"] == "男"
    english = {c["code"]: c["name"] for c in as_user(world.specialist, "en").get(CHOICES).json()["genders"]}
    assert english["1"] == "male"


def test_a_worker_of_two_grids_gets_both_and_no_grid_above(world):
    RoleAssignment.objects.create(user=world.officer, role="info_officer", grid=world.grid_b)
    RoleAssignment.objects.create(user=world.officer, role="grid_head_l2", grid=world.village)
    body = as_user(world.officer).get(CHOICES).json()
    assert [g["code"] for g in body["grids"]] == sorted([world.grid.code, world.grid_b.code])


@pytest.mark.parametrize("who", ["resident", "operator", "l2head", "handler", "leader"])
def test_anybody_but_a_grid_worker_is_refused(world, who):
    response = as_user(getattr(world, who)).get(CHOICES)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"


def test_nobody_signed_in_is_asked_to_sign_in(world):
    assert Client().get(CHOICES).status_code == 401


def phone_post(client: Client, path: str, fields: dict[str, Any], key: str):
    """As the queue sends a record: a form, with the record's key as the Idempotency-Key header."""
    return client.post(path, fields, headers={"Idempotency-Key": key})


def test_a_registration_as_the_phone_sends_it_is_taken_once(rounds):
    world = rounds.world
    client = as_user(world.specialist)
    number = id_number("15062119850312123")
    fields = {
        "name": "张三",
        "document_kind": "id_card",
        "document_number": number,
        "gender": "",
        "ethnicity": "01",
        "phone": "13912340000",
        "grid": world.grid.code,
        "household": rounds.households[0].number,
        "relation": "spouse",
        "residence": "registered",
        "address": "幸福路1号",
        "key_groups": ["elderly_alone", "disabled"],
    }
    key = str(uuid.uuid4())
    first = phone_post(client, "/api/registry/persons", fields, key)
    assert first.status_code == 201, first.content
    again = phone_post(client, "/api/registry/persons", fields, key)  # the phone never heard the answer
    assert again.status_code == 201 and again.json() == first.json()
    person = Person.objects.get()
    assert person.document_masked == mask_id_number(number) and first.json()["person"]["document"] == (
        mask_id_number(number)
    )
    assert number not in first.content.decode()
    assert person.gender == "1"  # read from the ID number
    assert person.household_id == rounds.households[0].pk
    groups = {g["code"] for g in first.json()["person"]["key_groups"]}
    assert groups == {"elderly_alone", "disabled"}


def test_a_refused_registration_names_every_bad_field_and_changes_nothing(rounds):
    world = rounds.world
    fields = {
        "name": "李四",
        "document_kind": "id_card",
        "document_number": id_number("15062119900101245"),
        "gender": "2",  # the number says male
        "grid": rounds.world.other_grid.code,  # not the worker's
        "residence": "registered",
    }
    response = phone_post(as_user(world.specialist), "/api/registry/persons", fields, str(uuid.uuid4()))
    assert response.status_code == 422, response.content
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"gender", "grid"}
    assert body["field"] in {"gender", "grid"} and body["message"]
    assert not Person.objects.exists()


def test_an_inspection_and_a_visit_as_the_phone_sends_them(rounds):
    world = rounds.world
    client = as_user(world.specialist)
    tasks = client.get("/api/fieldwork/tasks", {"limit": 100}).json()["items"]
    assert [t["id"] for t in tasks] == [rounds.late_task, rounds.later_task]
    assert [t["overdue"] for t in tasks] == [True, False]
    key = str(uuid.uuid4())
    answers = {"pressure": {"answer": "not_ok", "note": "指针在红区"}, "seal": "ok"}
    fields = {
        "key": key,
        "at": timezone.now().isoformat(),
        "answers": json.dumps(answers),
        "note": "",
        "lon": "109.0101",
        "lat": "40.0501",
    }
    done = phone_post(client, f"/api/fieldwork/tasks/{rounds.late_task}/complete", fields, key)
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "failed" and done.json()["case_number"]
    assert Case.objects.get().number == done.json()["case_number"]
    assert InspectionTask.objects.get(pk=rounds.late_task).state == "failed"

    key = str(uuid.uuid4())
    fields = {"key": key, "at": timezone.now().isoformat(), "purpose": "routine", "note": "家中一切正常"}
    visit = phone_post(client, "/api/fieldwork/visits", {**fields, "household": rounds.households[1].pk}, key)
    assert visit.status_code == 201, visit.content
    assert Visit.objects.get().household_id == rounds.households[1].pk
