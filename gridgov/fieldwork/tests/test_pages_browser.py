"""Fieldwork in a real browser (Debian's Chromium through Playwright), in Chinese: a grid specialist opens the
fieldwork home from the main navigation, finds the overdue inspection first in the list, answers its checklist
with a fault and a photo, and lands on the task with the case it opened linked; the village head reads the list,
the task and a visit on a 360 px phone, which must not scroll sideways. Screenshots go to
test-artifacts/fieldwork-*.png for a person to look at."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.cases.models import Case
from gridgov.fieldwork.models import InspectionTask, TaskPhoto
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from .test_inspections import yearly_fire_check
from .test_pages import record_visit

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def test_a_worker_records_a_failed_inspection_and_a_head_reads_it_on_a_phone(
    live_server, field, png_bytes, tmp_path
):
    crew = field.crew
    yearly_fire_check(field)
    late = InspectionTask.objects.get(component=field.ext2, state="open")
    InspectionTask.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=4))
    visit = record_visit(field, png_bytes)
    photo = tmp_path / "压力表.png"
    photo.write_bytes(png_bytes((30, 160, 90)))
    base = live_server.url

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, crew.specialist.username, PASSWORD)
        with page.expect_navigation():
            page.locator('.topbar nav a[href="/fieldwork/"]').click()
        assert page.locator('[data-figure="overdue"] .n').inner_text() == "1"
        shoot(page, "fieldwork-home-desktop", full_page=True)

        page.goto(f"{base}/fieldwork/tasks/")
        first = page.locator("tr.task-row").first
        assert first.get_attribute("data-id") == str(late.pk)  # the overdue one first
        assert "is-overdue" in (first.get_attribute("class") or "")
        shoot(page, "fieldwork-tasks-desktop", full_page=True)

        with page.expect_navigation():
            first.locator("td.name a").click()
        page.locator('fieldset[data-check="pressure"] input[value="not_ok"]').check()
        page.locator('fieldset[data-check="pressure"] input[type="text"]').fill("指针在红区")
        page.locator('fieldset[data-check="seal"] input[value="ok"]').check()
        page.set_input_files("#id_photos", str(photo))
        shoot(page, "fieldwork-task-form-desktop", full_page=True)
        with page.expect_navigation():
            page.locator(".complete-form button[type=submit]").click()
        case_link = page.locator(".case-link a")
        case_link.wait_for()
        number = case_link.inner_text()
        assert page.locator(".fw-thumbs img").count() == 1
        # The photo is served (a lazy image: the page's load event does not wait for it).
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=page.locator(".fw-thumbs img").element_handle(),
            timeout=10_000,
        )
        shoot(page, "fieldwork-task-failed-desktop", full_page=True)
        assert not errors, errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, crew.l2head.username, PASSWORD)
        for path, name in (
            ("/fieldwork/", "home"),
            ("/fieldwork/tasks/", "tasks"),
            (f"/fieldwork/tasks/{late.pk}/", "task"),
            ("/fieldwork/visits/", "visits"),
            (f"/fieldwork/visits/{visit.key}/", "visit"),
            ("/fieldwork/plans/new/", "plan-new"),
        ):
            phone.goto(f"{base}{path}")
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a phone"
            shoot(phone, f"fieldwork-{name}-phone", full_page=True)
        assert not phone_errors, phone_errors

    task = InspectionTask.objects.get(pk=late.pk)
    assert task.state == "failed" and task.case_number == number
    assert Case.objects.filter(number=number).exists() and TaskPhoto.objects.filter(task=task).count() == 1
