"""The grid worker's fieldwork in the phone app (/m/#/field), in a real browser on a phone (360×740, the
location granted inside the worker's grid): the task list, the households and the forms' choices are kept on
the phone while there is a signal; without one the worker inspects an overdue fire extinguisher and finds a
fault, visits a household and registers a person (the phone catches a wrong ID check digit); when the signal
returns the three go up once each — the task failed with a case opened for the component, the visit and the
person recorded, the ID number masked and no longer on the phone. A registration the server refuses shows its
complaint at the field, is put right and sent again. Screens are saved as test-artifacts/mobile-field*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gridgov.cases.models import Case
from gridgov.core.masking import mask_id_number
from gridgov.fieldwork.models import InspectionTask, TaskPhoto, Visit
from gridgov.registry.models import Person
from gridgov.tests.browser import ARGS, CHROMIUM, needs_chromium, shoot

from .conftest import id_number
from .test_app_browser import (
    in_db,
    open_app,
    phone_context,
    photo_file,
    queue_records,
    shoot_tall,
    sign_in_with_password,
    small_targets,
    wait_controlled,
    wait_queue_settled,
)

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

KEPT = ["fieldwork", "inspections", "households", "places"]


def wait_kept(page: Any, names: list[str], seconds: float = 20) -> None:
    """What the phone keeps for fieldwork without a signal is in (read after signing in)."""
    for _ in range(int(seconds * 4)):
        missing = page.evaluate(
            """async (names) => {
                const { kv } = await import("m/db");
                const out = [];
                for (const name of names) if (!(await kv.get(name))) out.push(name);
                return out;
            }""",
            names,
        )
        if not missing:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"not kept on the phone: {missing}")


def test_a_grid_worker_inspects_visits_and_registers_offline_and_it_all_arrives_once(live_server, rounds):
    base = live_server.url
    world = rounds.world
    good = id_number("15062119850312123")
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    refused_number = id_number("15062119900101245")  # a man's number

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            sign_in_with_password(page, world.specialist.username)
            page.wait_for_selector(".grid .leaflet-container")
            wait_controlled(page)
            wait_kept(page, KEPT)
            # The service worker keeps the new screens' script, so that the app opens with them offline.
            assert page.evaluate(
                """async () => {
                    const map = JSON.parse(document.querySelector('script[type="importmap"]').textContent);
                    return Boolean(await caches.match(map.imports["m/fieldwork"]));
                }"""
            )

            # The worker's entry: the fieldwork tab, its three ways in.
            page.click('#tabs a[href="#/field"]')
            page.wait_for_selector(".field .hub-tile")
            expect(page.locator(".field .hub-tile")).to_have_count(3)
            shoot(page, "mobile-field")
            assert small_targets(page) == []

            # The inspection tasks: the overdue one first, marked.
            page.click('.field a[href="#/inspections"]')
            rows = page.locator(".inspections a[data-task]")
            expect(rows).to_have_count(2)
            assert [rows.nth(i).get_attribute("data-task") for i in range(2)] == [
                str(rounds.late_task),
                str(rounds.later_task),
            ]
            expect(rows.nth(0)).to_have_class(re.compile(r"\boverdue\b"))
            expect(rows.nth(0).locator(".chip")).to_have_class(re.compile("st-overdue"))
            expect(rows.nth(1).locator(".chip")).to_be_hidden()
            shoot(page, "mobile-field-inspections")
            assert small_targets(page) == []

            # The households of the worker's grid (not the other town's), searched.
            page.evaluate("location.hash = '#/visits'")
            expect(page.locator(".visits a.case-row")).to_have_count(len(rounds.households))
            page.fill('.visits input[name="q"]', "H-0003")
            expect(page.locator(".visits a.case-row")).to_have_count(1)
            page.fill('.visits input[name="q"]', "")
            expect(page.locator(".visits a.case-row")).to_have_count(len(rounds.households))
            shoot(page, "mobile-field-visits")
            page.click('.visits [data-tab="place"]')
            expect(page.locator(".visits a.case-row")).to_have_count(1)

            # ------------------------------------------------------------------------- no signal from here on
            context.set_offline(True)
            page.evaluate("location.hash = '#/inspections'")
            page.click(f'.inspections a[data-task="{rounds.late_task}"]')
            page.wait_for_selector(".inspection form")
            page.wait_for_selector(".inspection .where.ok")
            # Every check is answered before anything is queued.
            page.click(".inspection button.primary")
            expect(page.locator('.inspection [data-err="answer-pressure"]')).not_to_be_empty()
            checks = page.locator(".inspection .check-item")
            checks.nth(0).locator(".fail").click()
            expect(checks.nth(0).locator("textarea")).to_be_visible()
            # A failed check says what is wrong.
            checks.nth(1).locator(".pass").click()
            page.click(".inspection button.primary")
            expect(page.locator('.inspection [data-err="fault-pressure"]')).not_to_be_empty()
            checks.nth(0).locator("textarea").fill("压力表指针在红区，压力不足")
            page.set_input_files('.inspection input[name="photo"]', [photo_file("extinguisher.jpg")])
            page.wait_for_selector('.inspection [data-list="photos"] li')
            assert queue_records(page) == []
            shoot_tall(page, "mobile-field-inspection")
            assert small_targets(page) == []
            page.click(".inspection button.primary")
            page.wait_for_selector('.saved[data-state="waiting"]')
            shoot(page, "mobile-field-saved-offline")

            # Opened again, the task says it waits to be sent: one completion only.
            page.evaluate(f"location.hash = '#/inspection/{rounds.late_task}'")
            page.wait_for_selector('.inspection [data-out="pending"]:not([hidden])')
            expect(page.locator(".inspection form")).to_be_hidden()

            # A visit to a household, from the phone's copy of the list.
            page.evaluate("location.hash = '#/visits'")
            visited = rounds.households[1]
            page.click(f'.visits a[data-id="{visited.pk}"]')
            page.wait_for_selector(".visit form")
            page.select_option('.visit select[name="purpose"]', "care")
            page.fill('.visit textarea[name="note"]', "独居老人，身体状况良好")
            page.wait_for_selector(".visit .where.ok")
            shoot_tall(page, "mobile-field-visit")
            page.click(".visit button.primary")
            page.wait_for_selector('.saved[data-state="waiting"]')

            # A new person: the phone catches a typing error in the ID number before keeping anything.
            page.evaluate("location.hash = '#/register'")
            page.wait_for_selector(".register form")
            page.fill('.register input[name="name"]', "张三")
            page.fill('.register input[name="document_number"]', typo)
            page.click(".register button.primary")
            number_error = page.locator('.register [data-err="document_number"]')
            expect(number_error).not_to_be_empty()
            expect(page.locator('.register input[name="document_number"]')).to_have_attribute(
                "aria-invalid", "true"
            )
            assert len(queue_records(page)) == 2
            page.fill('.register input[name="document_number"]', good)
            page.select_option('.register select[name="ethnicity"]', "02")
            page.fill('.register input[name="phone"]', "13912340000")
            page.fill('.register input[name="household"]', rounds.households[0].number)
            page.select_option('.register select[name="relation"]', "spouse")
            page.click(".register details.groups summary")
            page.check('.register input[name="key_groups"][value="elderly_alone"]')
            shoot_tall(page, "mobile-field-register")
            page.click(".register button.primary")
            page.wait_for_selector('.saved[data-state="waiting"]')

            page.click("#queue-link")
            page.wait_for_selector(".queue-list .record")
            expect(page.locator("#queue-badge")).to_have_text("3")
            records = queue_records(page)
            assert [r["kind"] for r in records] == ["inspection", "visit", "register_person"]
            assert {r["state"] for r in records} == {"waiting"}
            kinds = page.locator('.queue-list [data-out="kind"]').all_inner_texts()
            assert len(set(kinds)) == 3 and all(kinds), kinds  # each kind named, none as a plain "record"
            shoot_tall(page, "mobile-field-queue-offline")

            # --------------------------------------------------------------------------- the signal returns
            context.set_offline(False)
            records = wait_queue_settled(page, 3)
            assert [r["state"] for r in records] == ["done"] * 3, records
            case_number = records[0]["result"]["case_number"]
            assert case_number and records[0]["result"]["state"] == "failed"
            # The inspection's record shows the case it opened.
            page.wait_for_selector(f'.queue-list a[href="#/case/{case_number}"]')
            registered = records[2]["result"]["person"]
            assert registered["document"] == mask_id_number(good)
            shoot_tall(page, "mobile-field-queue-done")
            # The person's numbers are not kept on the phone once the server has them.
            kept_fields = page.evaluate(
                """async (key) => (await (await import("m/queue")).get(key)).fields""", records[2]["key"]
            )
            assert "document_number" not in kept_fields and "phone" not in kept_fields
            assert good not in str(kept_fields)

            # ---------------------------------------------------- a registration the server refuses, put right
            page.evaluate("location.hash = '#/register'")
            page.wait_for_selector(".register form")
            page.fill('.register input[name="name"]', "李四")
            page.fill('.register input[name="document_number"]', refused_number)
            page.select_option('.register select[name="gender"]', "2")  # the number says male
            page.click(".register button.primary")
            page.wait_for_selector('.saved[data-state="failed"]')
            expect(page.locator('.saved [data-out="text"]')).not_to_be_empty()
            fix = page.locator('.saved [data-act="fix"]')
            expect(fix).to_be_visible()
            shoot(page, "mobile-field-register-refused")
            fix.click()
            page.wait_for_selector(".register form")
            expect(page.locator('.register [data-err="gender"]')).not_to_be_empty()
            expect(page.locator('.register input[name="name"]')).to_have_value("李四")
            expect(page.locator('.register input[name="document_number"]')).to_have_value(refused_number)
            shoot_tall(page, "mobile-field-register-fix")
            page.select_option('.register select[name="gender"]', "")  # from the ID number
            page.click(".register button.primary")
            page.wait_for_selector('.saved[data-state="done"]')
            records = wait_queue_settled(page, 4)
            assert [r["state"] for r in records] == ["done"] * 4, records

            # In English: the fieldwork screens speak it too.
            page.evaluate("location.hash = '#/field'")
            page.wait_for_selector(".field .hub-tile")
            page.click("#lang-form button")
            page.wait_for_selector(".field .hub-tile")
            assert page.evaluate("document.documentElement.lang") == "en"
            expect(page.locator('#tabs a[href="#/field"]')).to_have_text("Fieldwork")
            page.click('.field a[href="#/inspections"]')
            expect(page.locator(".inspections a[data-task]")).to_have_count(1)  # the one done is gone
            page.click(f'.inspections a[data-task="{rounds.later_task}"]')
            page.wait_for_selector(".inspection .check-item")
            shoot_tall(page, "mobile-field-inspection-en")
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        task = InspectionTask.objects.get(pk=rounds.late_task)
        assert task.state == "failed" and task.done_by_id == world.specialist.pk
        assert task.case_number == case_number
        assert task.result["pressure"]["note"] == "压力表指针在红区，压力不足"
        assert TaskPhoto.objects.filter(task=task).count() == 1
        case = Case.objects.get(number=case_number)
        assert case.component_code == rounds.late.object_id and case.grid_id == world.grid.pk
        assert InspectionTask.objects.get(pk=rounds.later_task).state == "open"
        visit = Visit.objects.get()
        assert (visit.household_id, visit.purpose, visit.worker_id) == (
            visited.pk,
            "care",
            world.specialist.pk,
        )
        assert visit.lon is not None
        person = Person.objects.get(name="张三")
        assert person.document_masked == mask_id_number(good)
        assert (person.grid_id, person.household_id, person.ethnicity) == (
            world.grid.pk,
            rounds.households[0].pk,
            "02",
        )
        corrected = Person.objects.get(name="李四")
        assert corrected.gender == "1" and corrected.document_masked == mask_id_number(refused_number)
        assert Person.objects.count() == 2

    in_db(check)
