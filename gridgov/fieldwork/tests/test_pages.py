"""The fieldwork pages of the workbench: the home's figures and queue (the overdue first), the inspection list
with its filters, a task's page and its checklist answered at the desk (a failed check opens a case, linked from
the task), plans and a new plan (grid heads only, each bad field named), visits and patrols with their filters,
the photos of both (404 outside the reader's scope, like the pages), the main navigation's link — and every list
within a fixed number of queries however many rows it shows."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.cases.models import Case
from gridgov.core.models import AuditRecord
from gridgov.fieldwork import services
from gridgov.fieldwork.models import InspectionPlan, InspectionTask, Patrol, TaskPhoto, Visit, VisitPhoto
from gridgov.registry.models import Component

from .helpers import IN_G, as_user
from .test_inspections import yearly_fire_check

pytestmark = pytest.mark.django_db

MAX_QUERIES = 16


def page(client: Client, url: str, data: dict | None = None, **extra) -> str:
    response = client.get(url, data or {}, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:400])
    return response.content.decode()


def overdue(component, days: int) -> InspectionTask:
    """The component's open task, made `days` past its date (as if the plan had run that long)."""
    task = InspectionTask.objects.get(component=component, state="open")
    InspectionTask.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=days))
    task.refresh_from_db()
    return task


def more_components(field, n: int, start: int = 500) -> None:
    """`n` more fire extinguishers in the crew's grid, and their tasks."""
    crew = field.crew
    Component.objects.bulk_create(
        [
            Component(
                object_id=f"1506210113{k:06d}",
                item=field.fire,
                name="灭火器",
                grid=crew.grid,
                grid_l1_id=crew.town.pk,
                grid_l2_id=crew.village.pk,
                grid_l3_id=crew.grid.pk,
            )
            for k in range(start, start + n)
        ]
    )
    services.do_generate_tasks()


def _earlier_today(hours: float) -> dt.datetime:
    """`hours` ago, but not before today's local midnight: "today" and "this month" hold whenever the test runs
    (two hours before 01:00 in Asia/Shanghai is yesterday, on the 1st last month)."""
    midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    return max(timezone.now() - dt.timedelta(hours=hours), midnight)


def record_visit(field, png_bytes=None, *, worker=None, household=True, at=None):
    crew = field.crew
    photos = [SimpleUploadedFile("门口.png", png_bytes(), "image/png")] if png_bytes else []
    return services.do_record_visit(
        actor=worker or crew.specialist,
        key=uuid.uuid4(),
        at=at or _earlier_today(hours=2),
        purpose="routine",
        household=field.household.pk if household else None,
        lon=IN_G[0],
        lat=IN_G[1],
        note="家中一切正常",
        photos=photos,
    ).visit


# ------------------------------------------------------------------------------------------------- home


def test_the_home_counts_the_users_scope_and_lists_the_overdue_first(field):
    crew = field.crew
    yearly_fire_check(field)  # three tasks: two in the crew's grid (the specialist's), one in its neighbour
    late = overdue(field.ext2, 3)
    InspectionTask.objects.filter(component=field.ext).update(due_on=timezone.localdate())
    record_visit(field)
    html = page(as_user(crew.specialist), "/fieldwork/")
    assert '<html lang="zh-Hans">' in html
    assert 'data-figure="open"><span class="n">2</span>' in html
    assert 'data-figure="due"><span class="n">1</span>' in html  # the one due today, not the overdue one
    assert 'data-figure="overdue"><span class="n">1</span>' in html
    assert 'data-figure="visits"><span class="n">1</span>' in html
    # The queue: the overdue task first, then the one due today.
    assert html.index(f'data-id="{late.pk}"') < html.index(f'data-id="{task_id(field.ext)}"')
    assert 'data-overdue="3"' in html
    # The village head sees the village's three tasks, and no visit of their own but the village's.
    head = page(as_user(crew.l2head), "/fieldwork/")
    assert 'data-figure="open"><span class="n">3</span>' in head
    assert 'data-figure="visits"><span class="n">1</span>' in head


def task_id(component) -> int:
    return InspectionTask.objects.get(component=component, state="open").pk


def test_the_main_navigation_links_fieldwork_for_those_who_work_with_it(field):
    crew = field.crew
    html = page(as_user(crew.specialist), "/fieldwork/")
    assert '<a href="/fieldwork/" aria-current="page">' in html
    assert html.count('aria-current="page"') == 2  # the main link and the tab: not the workbench's link too
    assert 'href="/fieldwork/"' in page(as_user(crew.specialist), "/")
    assert 'href="/fieldwork/"' not in page(as_user(crew.resident), "/")
    assert as_user(crew.resident).get("/fieldwork/").status_code == 404
    assert as_user(crew.nobody).get("/fieldwork/tasks/").status_code == 404


def test_pages_are_complete_in_english(field):
    yearly_fire_check(field)
    client = as_user(field.crew.l2head)
    client.cookies["django_language"] = "en"
    html = page(client, "/fieldwork/")
    assert '<html lang="en">' in html
    for words in ("Inspections to do", "overdue inspections", "visits this month", "Fieldwork"):
        assert words in html, words
    assert "New inspection plan" in page(client, "/fieldwork/plans/")


# ------------------------------------------------------------------------------------------------- tasks


def test_the_task_list_filters_by_state_grid_and_class(field):
    crew = field.crew
    yearly_fire_check(field)
    late = overdue(field.ext, 10)
    client = as_user(crew.l2head)
    listed = page(client, "/fieldwork/tasks/")
    assert listed.count('class="task-row') == 3
    assert listed.index(f'data-id="{late.pk}"') < listed.index(f'data-id="{task_id(field.ext2)}"')
    only_late = page(client, "/fieldwork/tasks/", {"state": "overdue"})
    assert only_late.count('class="task-row') == 1 and f'data-id="{late.pk}"' in only_late
    grid_b = page(client, "/fieldwork/tasks/", {"grid": crew.grid_b.code})
    assert grid_b.count('class="task-row') == 1 and f'data-id="{task_id(field.ext_b)}"' in grid_b
    assert page(client, "/fieldwork/tasks/", {"item": "031002"}).count('class="task-row') == 0
    assert page(client, "/fieldwork/tasks/", {"item": "021001"}).count('class="task-row') == 3
    assert page(client, "/fieldwork/tasks/", {"state": "done"}).count('class="task-row') == 0
    # A grid the reader does not oversee holds nothing.
    assert (
        page(client, "/fieldwork/tasks/", {"grid": crew.other_town_grid.code}).count('class="task-row') == 0
    )


def test_the_task_list_reads_a_fixed_number_of_queries_and_pages_by_htmx(
    field, django_assert_max_num_queries
):
    yearly_fire_check(field)
    client = as_user(field.crew.l2head)
    with django_assert_max_num_queries(MAX_QUERIES):
        small = page(client, "/fieldwork/tasks/")
    more_components(field, 60)
    with django_assert_max_num_queries(MAX_QUERIES):
        big = page(client, "/fieldwork/tasks/")
    assert small.count('class="task-row') == 3 and big.count('class="task-row') == 50
    assert 'hx-get="/fieldwork/tasks/?before=' in big
    more = big.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    with django_assert_max_num_queries(MAX_QUERIES):
        rest = page(client, more, HTTP_HX_REQUEST="true")
    assert rest.count('class="task-row') == 13 and "<html" not in rest
    with django_assert_max_num_queries(MAX_QUERIES):
        page(client, "/fieldwork/")


def test_completing_a_failed_task_from_its_page_opens_a_case(field, png_bytes):
    crew = field.crew
    yearly_fire_check(field)
    task = InspectionTask.objects.get(component=field.ext, state="open")
    client = as_user(crew.specialist)
    form = page(client, f"/fieldwork/tasks/{task.pk}/")
    assert 'name="answer_pressure"' in form and 'name="photos"' in form
    key = form.split('name="key" value="')[1].split('"')[0]
    data = {
        "key": key,
        "answer_pressure": "not_ok",
        "note_pressure": "指针在红区",
        "answer_seal": "ok",
        "note": "已通知物业",
        "photos": [SimpleUploadedFile("压力表.png", png_bytes(), "image/png")],
    }
    response = client.post(f"/fieldwork/tasks/{task.pk}/", data)
    assert response.status_code == 302 and response["Location"] == f"/fieldwork/tasks/{task.pk}/"
    task.refresh_from_db()
    assert task.state == "failed" and task.case_number and task.done_by == crew.specialist
    case = Case.objects.get(number=task.case_number)
    assert field.ext.object_id in case.description and "指针在红区" in case.description
    assert case.evidence.count() == 1 and TaskPhoto.objects.filter(task=task).count() == 1
    # The same form sent again (a double click) records nothing more and opens no second case.
    data["photos"] = [SimpleUploadedFile("压力表.png", png_bytes(), "image/png")]
    again = client.post(f"/fieldwork/tasks/{task.pk}/", data)
    assert again.status_code == 302 and Case.objects.count() == 1
    shown = page(client, f"/fieldwork/tasks/{task.pk}/")
    assert f'href="/cases/{case.number}/"' in shown
    assert 'data-check="pressure" class="answer-not_ok"' in shown and "指针在红区" in shown
    photo = TaskPhoto.objects.get(task=task)
    served = client.get(f"/fieldwork/tasks/{task.pk}/photos/{photo.pk}")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert f'src="/fieldwork/tasks/{task.pk}/photos/{photo.pk}"' in shown


def test_a_bad_completion_names_the_field_and_changes_nothing(field):
    crew = field.crew
    yearly_fire_check(field)
    task = InspectionTask.objects.get(component=field.ext, state="open")
    client = as_user(crew.specialist)
    audit = AuditRecord.objects.count()
    missing = client.post(f"/fieldwork/tasks/{task.pk}/", {"key": str(uuid.uuid4()), "answer_pressure": "ok"})
    assert missing.status_code == 422
    assert 'id="id_answer_seal-errors"' in missing.content.decode()
    not_a_photo = client.post(
        f"/fieldwork/tasks/{task.pk}/",
        {
            "key": str(uuid.uuid4()),
            "answer_pressure": "ok",
            "answer_seal": "ok",
            "photos": [SimpleUploadedFile("x.png", b"<svg></svg>", "image/png")],
        },
    )
    assert not_a_photo.status_code == 422
    assert 'id="id_photos-errors"' in not_a_photo.content.decode()
    task.refresh_from_db()
    assert task.state == "open" and AuditRecord.objects.count() == audit
    # The village head sees the task but does not inspect it: no form, and a post is refused.
    head = as_user(crew.l2head)
    assert 'name="answer_pressure"' not in page(head, f"/fieldwork/tasks/{task.pk}/")
    assert head.post(f"/fieldwork/tasks/{task.pk}/", {"key": str(uuid.uuid4())}).status_code == 403


def test_another_towns_task_visit_and_photos_are_404(field, png_bytes):
    crew = field.crew
    yearly_fire_check(field)
    task = InspectionTask.objects.get(component=field.ext, state="open")
    services.do_complete_task(
        task,
        {"pressure": "ok", "seal": "ok"},
        actor=crew.specialist,
        key=uuid.uuid4(),
        photos=[SimpleUploadedFile("a.png", png_bytes(), "image/png")],
    )
    task_photo = TaskPhoto.objects.get(task=task)
    visit = record_visit(field, png_bytes)
    visit_photo = VisitPhoto.objects.get(visit=visit)
    urls = [
        f"/fieldwork/tasks/{task.pk}/",
        f"/fieldwork/tasks/{task.pk}/photos/{task_photo.pk}",
        f"/fieldwork/visits/{visit.key}/",
        f"/fieldwork/visits/{visit.key}/photos/{visit_photo.pk}",
    ]
    outsider = as_user(crew.other_specialist)
    for url in urls:
        assert outsider.get(url).status_code == 404, url
    insider = as_user(crew.l2head)
    for url in urls:
        assert insider.get(url).status_code == 200, url
    # A photo of another task (or visit) is not served under this one's address.
    other = InspectionTask.objects.get(component=field.ext2, state="open")
    assert insider.get(f"/fieldwork/tasks/{other.pk}/photos/{task_photo.pk}").status_code == 404


# ------------------------------------------------------------------------------------------------- plans


def test_a_grid_head_makes_a_plan_from_the_page(field, django_assert_max_num_queries):
    crew = field.crew
    client = as_user(crew.l2head)
    form = page(client, "/fieldwork/plans/new/")
    assert 'value="021001"' in form and f'value="{crew.village.code}"' in form
    bad = client.post(
        "/fieldwork/plans/new/",
        {"name": "井盖月检", "item": "031002", "grid": crew.village.code, "every_days": "0", "checklist": ""},
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert 'id="id_every_days-errors"' in text and 'id="id_checklist-errors"' in text
    assert not InspectionPlan.objects.exists()
    response = client.post(
        "/fieldwork/plans/new/",
        {
            "name": "井盖月检",
            "item": "031002",
            "grid": crew.village.code,
            "every_days": "30",
            "checklist": "井盖完好无破损\n\n井盖平稳不松动\n",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/fieldwork/plans/"
    plan = InspectionPlan.objects.get()
    assert plan.checklist == [
        {"code": "c1", "text": "井盖完好无破损"},
        {"code": "c2", "text": "井盖平稳不松动"},
    ]
    assert InspectionTask.objects.filter(plan=plan, component=field.cover).exists()
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/plans/")
    assert "井盖月检" in listed
    for n in range(30):
        services.do_create_plan(
            actor=crew.l2head,
            name=f"计划{n}",
            item="031002",
            grid=crew.village.code,
            every_days=30 + n,
            checklist=[{"code": "a", "text": "完好"}],
        )
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/plans/")
    assert listed.count('class="plan-row"') == 31


def test_only_those_who_plan_see_the_plan_form(field):
    crew = field.crew
    yearly_fire_check(field)
    assert 'href="/fieldwork/plans/new/"' not in page(as_user(crew.specialist), "/fieldwork/plans/")
    assert "消防设施年检" in page(as_user(crew.specialist), "/fieldwork/plans/")
    assert as_user(crew.specialist).get("/fieldwork/plans/new/").status_code == 403
    # A grid of another village: refused by the service, named next to the grid.
    refused = as_user(crew.other_l2head).post(
        "/fieldwork/plans/new/",
        {"name": "x", "item": "021001", "grid": crew.village.code, "every_days": "30", "checklist": "完好"},
    )
    assert refused.status_code in (403, 422)
    assert InspectionPlan.objects.count() == 1


# ------------------------------------------------------------------------------------------------- visits, patrols


def test_visits_filter_by_household_and_days_and_show_their_photos(
    field, png_bytes, django_assert_max_num_queries
):
    crew = field.crew
    visit = record_visit(field, png_bytes)
    record_visit(field, household=False, at=timezone.now() - dt.timedelta(days=3))
    client = as_user(crew.l2head)
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/visits/")
    assert listed.count('class="visit-row"') == 2
    one = page(client, "/fieldwork/visits/", {"household": "H-0001"})
    assert one.count('class="visit-row"') == 1 and f"/fieldwork/visits/{visit.key}/" in one
    unknown = page(client, "/fieldwork/visits/", {"household": "H-0002"})  # another town's household
    assert unknown.count('class="visit-row"') == 0 and 'id="id_household-error"' in unknown
    today = timezone.localdate().isoformat()
    assert page(client, "/fieldwork/visits/", {"since": today}).count('class="visit-row"') == 1
    backwards = page(client, "/fieldwork/visits/", {"since": today, "until": "2020-01-01"})
    assert 'id="id_until-error"' in backwards
    shown = page(client, f"/fieldwork/visits/{visit.key}/")
    photo = VisitPhoto.objects.get(visit=visit)
    assert f'src="/fieldwork/visits/{visit.key}/photos/{photo.pk}"' in shown and "家中一切正常" in shown
    assert f'href="/registry/households/{field.household.pk}/"' in shown
    for n in range(60):
        record_visit(field, at=timezone.now() - dt.timedelta(minutes=n + 5))
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/visits/")
    assert listed.count('class="visit-row"') == 50


def test_patrols_list_within_a_fixed_number_of_queries(field, django_assert_max_num_queries):
    crew = field.crew
    client = as_user(crew.l2head)

    def patrol(n: int) -> None:
        services.do_start_patrol(crew.specialist, uuid.uuid4(), timezone.now() - dt.timedelta(minutes=n + 1))

    patrol(0)
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/patrols/")
    assert listed.count('class="patrol-row"') == 1
    for n in range(1, 60):
        patrol(n)
    with django_assert_max_num_queries(MAX_QUERIES):
        listed = page(client, "/fieldwork/patrols/", {"grid": crew.village.code})
    assert listed.count('class="patrol-row"') == 50
    assert Patrol.objects.count() == 60
    assert page(as_user(crew.other_l2head), "/fieldwork/patrols/").count('class="patrol-row"') == 0
    assert not Visit.objects.exists()
