"""Inspections by plan: a plan makes one task per component per period for the grid's worker (made again, it
makes nothing new); the worker answers the checklist on the phone; a failed check opens exactly one case with
the component's code in the worker's grid, however often the phone sends the completion; overdue tasks come
first in the queue and count in the indicators; a task is seen only by its worker and the grids' overseers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gridgov.cases.models import Case, Evidence
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord
from gridgov.fieldwork import services
from gridgov.fieldwork.models import InspectionPlan, InspectionTask, TaskPhoto
from gridgov.fieldwork.selectors import overdue_counts
from gridgov.fieldwork.services import do_create_plan, do_generate_tasks

from .helpers import as_user, assert_error, phone_time

pytestmark = pytest.mark.django_db

CHECKLIST = [{"code": "pressure", "text": "压力表指针在绿区"}, {"code": "seal", "text": "铅封完好"}]
TASKS = "/api/fieldwork/tasks"
PLANS = "/api/fieldwork/plans"


def yearly_fire_check(field, grid=None) -> InspectionPlan:
    return do_create_plan(
        actor=field.crew.l2head,
        name="消防设施年检",
        item="021001",
        grid=(grid or field.crew.village).code,
        every_days=365,
        checklist=CHECKLIST,
    )


def task_of(component) -> InspectionTask:
    return InspectionTask.objects.get(component=component, state="open")


def complete(client, task, answers: Any, key: str | None = None, **fields: Any):
    at = fields.pop("at", timezone.now() - dt.timedelta(minutes=10))
    form = {
        "key": key or str(uuid.uuid4()),
        "at": phone_time(at),
        "answers": answers if isinstance(answers, str) else json.dumps(answers),
        **fields,
    }
    return client.post(f"{TASKS}/{task.pk}/complete", form)


ALL_OK = {"pressure": "ok", "seal": "ok"}
PRESSURE_LOW = {"pressure": {"answer": "not_ok", "note": "指针在红区"}, "seal": "ok"}


def snapshot() -> dict[str, Any]:
    return {
        "tasks": list(InspectionTask.objects.order_by("pk").values()),
        "cases": Case.objects.count(),
        "audit": AuditRecord.objects.count(),
        "photos": TaskPhoto.objects.count(),
    }


# ---------------------------------------------------------------------------------------------- generation


def test_a_plan_makes_one_task_per_component_per_period(field):
    crew = field.crew
    yearly_fire_check(field)  # makes the plan's first tasks at once
    today = timezone.localdate()
    tasks = {t.component_id: t for t in InspectionTask.objects.all()}
    # Fire facilities of the village: not the retired one, not the other town's, not the manhole cover.
    assert set(tasks) == {field.ext.pk, field.ext2.pk, field.ext_b.pk}
    assert {t.due_on for t in tasks.values()} == {today + dt.timedelta(days=365)}
    # The grid's worker: its grid specialist assigned first; a grid with an information officer only, theirs.
    assert tasks[field.ext.pk].worker == crew.specialist
    assert tasks[field.ext_b.pk].worker == crew.two_grids
    assert tasks[field.ext_b.pk].grid == crew.grid_b
    assert tasks[field.ext_b.pk].grid_l2_id == crew.village.pk
    assert tasks[field.ext_b.pk].grid_l1_id == crew.town.pk

    # Run again, the same day or later in the period: nothing new.
    assert do_generate_tasks(today).created == 0
    assert do_generate_tasks(today + dt.timedelta(days=200)).created == 0
    assert InspectionTask.objects.count() == 3

    # Inspected today: the next task appears a week before the year is over, due a year after the inspection.
    assert (
        complete(as_user(crew.specialist), tasks[field.ext.pk], ALL_OK, at=timezone.now()).status_code == 200
    )
    assert do_generate_tasks(today + dt.timedelta(days=300)).created == 0
    assert do_generate_tasks(today + dt.timedelta(days=357)).created == 0
    assert do_generate_tasks(today + dt.timedelta(days=358)).created == 1
    assert do_generate_tasks(today + dt.timedelta(days=359)).created == 0
    assert task_of(field.ext).due_on == today + dt.timedelta(days=365)
    assert InspectionTask.objects.filter(component=field.ext).count() == 2


def test_a_plan_covers_only_its_subtree(field):
    yearly_fire_check(field, grid=field.crew.grid_b)
    assert list(InspectionTask.objects.values_list("component_id", flat=True)) == [field.ext_b.pk]


def test_generation_reads_per_plan_not_per_component(field):
    from gridgov.registry.models import Component

    yearly_fire_check(field)
    InspectionTask.objects.all().delete()
    with CaptureQueriesContext(connection) as few:
        assert do_generate_tasks().created == 3
    InspectionTask.objects.all().delete()
    Component.objects.bulk_create(
        [
            Component(
                object_id=f"1506210113{n:06d}",
                item=field.fire,
                name="灭火器",
                grid=field.crew.grid,
                grid_l1_id=field.crew.town.pk,
                grid_l2_id=field.crew.village.pk,
                grid_l3_id=field.crew.grid.pk,
            )
            for n in range(500, 540)
        ]
    )
    with CaptureQueriesContext(connection) as many:
        assert do_generate_tasks().created == 43
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_sweep_generates_the_days_tasks(field, monkeypatch):
    from gridgov.core import housekeeping

    yearly_fire_check(field)
    InspectionTask.objects.all().delete()  # as if the plan had been made before its components
    monkeypatch.setattr(services, "_generated_on", None)
    housekeeping.run()  # what `gridgov sweep` runs on each pass
    assert InspectionTask.objects.count() == 3
    housekeeping.run()
    assert InspectionTask.objects.count() == 3


def test_open_tasks_follow_the_grids_worker(field):
    from gridgov.accounts.models import RoleAssignment

    crew = field.crew
    yearly_fire_check(field)
    assert task_of(field.ext_b).worker == crew.two_grids
    # The information officer leaves grid …002; its new specialist gets its open tasks at the next run.
    RoleAssignment.objects.filter(user=crew.two_grids, grid=crew.grid_b).delete()
    RoleAssignment.objects.create(user=crew.officer, role="grid_specialist", grid=crew.grid_b)
    assert do_generate_tasks().reassigned == 1
    assert task_of(field.ext_b).worker == crew.officer
    assert task_of(field.ext).worker == crew.specialist


# ---------------------------------------------------------------------------------------------- completion


def test_all_checks_ok_is_done_without_a_case(field, png_bytes):
    crew = field.crew
    yearly_fire_check(field)
    photo = SimpleUploadedFile("ext.png", png_bytes(), "image/png")
    answer = complete(
        as_user(crew.specialist),
        task_of(field.ext),
        ALL_OK,
        note="已检查",
        lon="109.01",
        lat="40.05",
        photos=[photo],
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (
        body["state"] == "done" and body["case_number"] == "" and body["done_by"]["id"] == crew.specialist.pk
    )
    assert [a["answer"] for a in body["answers"]] == ["ok", "ok"]
    assert body["answers"][0]["text"] == "压力表指针在绿区"
    assert Case.objects.count() == 0
    assert TaskPhoto.objects.count() == 1


def test_a_failed_check_opens_one_case_even_when_sent_twice(field, png_bytes):
    crew = field.crew
    yearly_fire_check(field)
    task = task_of(field.ext)
    client = as_user(crew.specialist)
    key = str(uuid.uuid4())
    photo = SimpleUploadedFile("ext.png", png_bytes(), "image/png")
    first = complete(client, task, PRESSURE_LOW, key, photos=[photo])
    assert first.status_code == 200, first.content
    again = complete(client, task, PRESSURE_LOW, key)  # the phone never saw the answer
    assert again.status_code == 200 and again.json() == first.json()
    assert first.json()["state"] == "failed"

    case = Case.objects.get()
    assert first.json()["case_number"] == case.number
    assert case.component_code == field.ext.object_id
    assert case.grid_id == crew.grid.pk and case.grid_l2_id == crew.village.pk
    assert case.channel == "worker_app" and case.reporter == crew.specialist
    assert case.item.code == "021001"
    assert (case.lon, case.lat) == (field.ext.lon, field.ext.lat)
    assert "压力表指针在绿区" in case.description and "指针在红区" in case.description
    assert field.ext.object_id in case.description
    assert "铅封完好" not in case.description
    assert Evidence.objects.filter(case=case).count() == 1  # the photo travels with the case
    field.ext.refresh_from_db()
    assert field.ext.state == "damaged"  # the registry knows the component is broken
    assert AuditRecord.objects.filter(action="registry.component.state").count() == 1
    assert AuditRecord.objects.filter(action="inspection_task.complete").count() == 1
    assert AuditRecord.objects.filter(action="case.report").count() == 1
    assert verify_chain().broken_at is None

    # The case's page names the component.
    detail = as_user(crew.l2head).get(f"/api/cases/{case.number}")
    assert detail.status_code == 200 and detail.json()["component_code"] == field.ext.object_id

    # Another completion of the same task (another key) is refused: it was recorded.
    before = snapshot()
    assert_error(complete(client, task, ALL_OK), 409, "conflict")
    assert snapshot() == before


def test_the_failed_cases_description_speaks_the_workers_language(field, settings):
    yearly_fire_check(field)
    client = as_user(field.crew.specialist)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert complete(client, task_of(field.ext), PRESSURE_LOW).status_code == 200
    assert Case.objects.get().description.startswith("Inspection “消防设施年检” of ")


def test_a_completion_key_of_another_inspection_is_a_conflict(field):
    yearly_fire_check(field)
    client = as_user(field.crew.specialist)
    key = str(uuid.uuid4())
    assert complete(client, task_of(field.ext), ALL_OK, key).status_code == 200
    before = snapshot()
    assert_error(complete(client, task_of(field.ext2), ALL_OK, key), 409, "conflict", "key")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("answers", "fields", "field_name"),
    [
        pytest.param("not json", {}, "answers", id="not-json"),
        pytest.param(["ok"], {}, "answers", id="not-an-object"),
        pytest.param({"pressure": "ok"}, {}, "answers", id="a-check-unanswered"),
        pytest.param({**ALL_OK, "colour": "ok"}, {}, "answers", id="an-unknown-check"),
        pytest.param({"pressure": "fine", "seal": "ok"}, {}, "answers", id="neither-ok-nor-not-ok"),
        pytest.param(ALL_OK, {"key": "not-a-uuid"}, "key", id="key"),
        pytest.param(ALL_OK, {"at": timezone.now() + dt.timedelta(hours=2)}, "at", id="in-the-future"),
        pytest.param(ALL_OK, {"lon": "109.01"}, "lat", id="no-latitude"),
        pytest.param(ALL_OK, {"lon": "190", "lat": "40"}, "lon", id="longitude"),
        pytest.param(ALL_OK, {"photos": "text"}, "photos", id="not-a-photo"),
    ],
)
def test_a_bad_completion_is_refused_naming_the_field(field, answers, fields, field_name):
    yearly_fire_check(field)
    if fields.get("photos") == "text":
        fields = {"photos": [SimpleUploadedFile("a.png", b"plain text, not a picture", "image/png")]}
    before = snapshot()
    assert_error(
        complete(as_user(field.crew.specialist), task_of(field.ext), answers, **fields),
        422,
        "invalid",
        field_name,
    )
    assert snapshot() == before


# ---------------------------------------------------------------------------------------------- who


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("resident", 404),
        ("nobody", 404),
        ("other_specialist", 404),  # a worker of another town's grid
        ("officer", 404),  # a colleague in the same grid: the task is the specialist's
        ("other_l2head", 404),
        ("l2head", 403),  # sees the task, does not inspect
        ("operator", 403),
    ],
)
def test_only_the_tasks_worker_records_it(field, who, status):
    yearly_fire_check(field)
    before = snapshot()
    code = "not_found" if status == 404 else "not_allowed"
    assert_error(complete(as_user(getattr(field.crew, who)), task_of(field.ext), ALL_OK), status, code)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("specialist", 200), ("l2head", 200), ("operator", 200), ("other_specialist", 404), ("officer", 404)],
)
def test_one_task_is_read_by_who_sees_it_and_is_404_to_others(field, who, status):
    yearly_fire_check(field)
    task = task_of(field.ext)
    response = as_user(getattr(field.crew, who)).get(f"{TASKS}/{task.pk}")
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert body["id"] == task.pk and body["component"]["object_id"] == field.ext.object_id
        assert [c["code"] for c in body["checklist"]] == ["pressure", "seal"]
        assert body["state"] == "open" and body["answers"] == []


def test_a_task_without_a_worker_is_taken_by_whoever_of_its_grid_inspects(field):
    yearly_fire_check(field)
    task = task_of(field.ext)
    InspectionTask.objects.filter(pk=task.pk).update(worker=None)
    officer = as_user(field.crew.officer)
    assert task.pk in [t["id"] for t in officer.get(TASKS).json()["items"]]
    assert complete(officer, task, ALL_OK).json()["worker"]["id"] == field.crew.officer.pk


def queue(user, **query) -> list[int]:
    response = as_user(user).get(TASKS, query)
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["items"]]


def test_the_queue_shows_overdue_tasks_first_and_they_count_per_grid(field):
    crew = field.crew
    yearly_fire_check(field)
    do_create_plan(
        actor=crew.operator,
        name="井盖月检",
        item="031002",
        grid=crew.town.code,
        every_days=30,
        checklist=[{"code": "level", "text": "井盖平稳无位移"}],
    )
    today = timezone.localdate()
    ext, ext2, cover, ext_b = (task_of(c) for c in (field.ext, field.ext2, field.cover, field.ext_b))
    for task, days in ((ext, 10), (ext2, -3), (cover, -1), (ext_b, -5)):
        InspectionTask.objects.filter(pk=task.pk).update(due_on=today + dt.timedelta(days=days))

    assert queue(crew.specialist) == [ext2.pk, cover.pk, ext.pk]
    first = as_user(crew.specialist).get(TASKS).json()["items"]
    assert [t["overdue"] for t in first] == [True, True, False]
    assert first[1]["checklist"] == [{"code": "level", "text": "井盖平稳无位移"}]
    assert queue(crew.specialist, overdue="true") == [ext2.pk, cover.pk]
    assert queue(crew.specialist, overdue="false") == [ext.pk]
    assert queue(crew.two_grids) == [ext_b.pk]
    assert queue(crew.other_specialist) == []
    # The overseers: their subtree's tasks, overdue first.
    assert queue(crew.l2head) == [ext_b.pk, ext2.pk, cover.pk, ext.pk]
    assert queue(crew.l2head, grid=crew.grid_b.code) == [ext_b.pk]
    assert queue(crew.other_l2head) == []
    # Paged by due date.
    page = as_user(crew.specialist).get(TASKS, {"limit": 2}).json()
    assert [t["id"] for t in page["items"]] == [ext2.pk, cover.pk] and page["has_more"]
    rest = as_user(crew.specialist).get(TASKS, {"limit": 2, "before": page["next_before"]}).json()
    assert [t["id"] for t in rest["items"]] == [ext.pk] and not rest["has_more"]

    assert overdue_counts(3) == {crew.grid.pk: 2, crew.grid_b.pk: 1}
    assert overdue_counts(3, [crew.grid_b.pk]) == {crew.grid_b.pk: 1}
    assert overdue_counts(2) == {crew.village.pk: 3}
    assert overdue_counts(1, [crew.town.pk, crew.other_town_grid.l1_id]) == {crew.town.pk: 3}
    assert overdue_counts(0, [crew.grids["150621"].pk]) == {crew.grids["150621"].pk: 3}
    # The village head's overview counts them per grid beside the cases, each count linking to its list.
    page = as_user(crew.l2head).get(reverse("cases:overview"), {"grid": crew.village.code}).content.decode()
    for grid, n in ((crew.grid, 2), (crew.grid_b, 1)):
        link = f"{reverse('fieldwork:tasks')}?grid={grid.code}&amp;state=overdue"
        assert f'<a href="{link}" class="bad">{n}</a>' in page, grid.code
    # Done is no longer overdue, in the queue or the counts.
    assert complete(as_user(crew.specialist), ext2, ALL_OK).status_code == 200
    assert queue(crew.specialist) == [cover.pk, ext.pk]
    assert queue(crew.specialist, state="done") == [ext2.pk]
    assert overdue_counts(3) == {crew.grid.pk: 1, crew.grid_b.pk: 1}


@pytest.mark.parametrize("who", ["resident", "mediator", "nobody"])
def test_people_outside_fieldwork_are_refused_the_lists(field, who):
    for path in (TASKS, PLANS):
        assert_error(as_user(getattr(field.crew, who)).get(path), 403, "not_allowed")


# ---------------------------------------------------------------------------------------------- plans


def plan_form(**fields: Any) -> dict[str, Any]:
    return {
        "name": "消防设施年检",
        "item": "021001",
        "grid": "150621100200",
        "every_days": "365",
        "checklist": json.dumps(CHECKLIST, ensure_ascii=False),
        **fields,
    }


def test_heads_and_operators_make_plans_for_their_grids(field):
    crew = field.crew
    made = as_user(crew.l2head).post(PLANS, plan_form())
    assert made.status_code == 201, made.content
    assert made.json()["checklist"] == CHECKLIST and made.json()["item"]["code"] == "021001"
    # Its first tasks at once, for the village's fire facilities.
    assert InspectionTask.objects.filter(plan_id=made.json()["id"]).count() == 3
    assert AuditRecord.objects.filter(action="inspection_plan.create").count() == 1
    for who in ("specialist", "resident", "leader"):
        assert_error(as_user(getattr(crew, who)).post(PLANS, plan_form()), 403, "not_allowed")
    assert_error(as_user(crew.other_l2head).post(PLANS, plan_form()), 403, "not_allowed", "grid")
    assert as_user(crew.operator).post(PLANS, plan_form(grid=crew.town.code)).status_code == 201

    def names(user) -> list[str]:
        return [p["grid"]["code"] for p in as_user(user).get(PLANS).json()["items"]]

    # The village's plan and the town's (it covers the village); not for another village's head.
    assert names(crew.l2head) == [crew.town.code, crew.village.code]
    assert names(crew.specialist) == [crew.town.code, crew.village.code]
    assert names(crew.other_l2head) == [crew.town.code]
    assert names(crew.other_specialist) == []
    assert names(crew.leader) == [crew.town.code, crew.village.code]


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"item": "011999"}, "item"),
        ({"item": "042001"}, "item"),  # an event, not a component
        ({"grid": "nope"}, "grid"),
        ({"every_days": "0"}, "every_days"),
        ({"checklist": "[]"}, "checklist"),
        ({"checklist": '[{"code": "Bad Code", "text": "x"}]'}, "checklist"),
        ({"checklist": '[{"code": "a", "text": "x"}, {"code": "a", "text": "y"}]'}, "checklist"),
        ({"checklist": '[{"code": "a", "text": ""}]'}, "checklist"),
        ({"checklist": "{"}, "checklist"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(field, fields, field_name):
    before = InspectionPlan.objects.count()
    assert_error(as_user(field.crew.l2head).post(PLANS, plan_form(**fields)), 422, "invalid", field_name)
    assert InspectionPlan.objects.count() == before
