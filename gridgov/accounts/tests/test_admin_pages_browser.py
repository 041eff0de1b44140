"""The administration pages in a real browser (Debian's Chromium through Playwright): the security
administrator finds a person, assigns a role (and is told which field is wrong), imports people from Excel;
the system administrator opens the responsibility list and the calendar. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from gridgov.accounts.models import RoleAssignment, User
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = needs_chromium

TOWN, VILLAGE, LEAF = "150621100", "150621100200", "150621100200001"
HEADER = ["username", "full name", "phone", "role", "grid code", "department code", "language"]


def workbook(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_people_import_items_and_calendar_pages(live_server, working_hours, holidays, tmp_path):
    seed_demo(DemoConfig.small())
    handler = User.objects.get(username="handler")
    mixed = tmp_path / "people-mixed.xlsx"
    mixed.write_bytes(
        workbook(
            [
                ["imp_a", "导入甲", "13812345678", "grid_specialist", LEAF, "", ""],
                ["imp_b", "导入乙", "", "grid_head_l1", VILLAGE, "", ""],  # a village for a level-1 head
                ["handler", "", "", "dept_handler", "", "ZF", ""],
                ["imp_c", "导入丙", "139-0000-1111", "志愿者", LEAF, "", "en"],
            ]
        )
    )
    clean = tmp_path / "people.xlsx"
    clean.write_bytes(
        workbook(
            [
                ["imp_a", "导入甲", "13812345678", "grid_specialist", LEAF, "", ""],
                ["imp_b", "导入乙", "", "grid_head_l1", TOWN, "", ""],
            ]
        )
    )
    base = live_server.url

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, "secadmin", DEMO_PASSWORD)
        page.goto(f"{base}/accounts/people/")
        assert page.locator(".people-table tbody tr").count() >= 20
        shoot(page, "admin-people-desktop")
        page.fill("#id_q", "handler")
        page.press("#id_q", "Enter")
        page.wait_for_load_state("networkidle")
        page.click(f"a[href='/accounts/people/{handler.pk}/']")
        page.wait_for_selector("#roles-h")
        # A level-1 grid head over a village: the error names the grid field; nothing is assigned.
        page.select_option("#id_role", "grid_head_l1")
        page.fill("#id_grid", VILLAGE)
        page.click(".assign-form button[type=submit]")
        page.wait_for_selector(".assign-form .field-error")
        # the error sits with the grid input (by structure: the page's language is the account's)
        assert page.locator(".assign-form .has-error #id_grid").count() == 1
        assert page.locator(".assign-form .field-error").count() == 1
        shoot(page, "admin-person-desktop")
        page.fill("#id_grid", TOWN)
        page.click(".assign-form button[type=submit]")
        page.wait_for_selector(".message.success")

        page.goto(f"{base}/accounts/people/import/")
        page.set_input_files("#id_file", str(mixed))
        page.click("button.primary")
        page.wait_for_selector(".import-table")
        assert page.locator(".import-table tr.row-error").count() == 1
        assert page.locator(".confirm-bar button").count() == 0
        shoot(page, "admin-import-preview")
        page.goto(f"{base}/accounts/people/import/")
        page.set_input_files("#id_file", str(clean))
        page.click("button.primary")
        page.click(".confirm-bar button")
        page.wait_for_selector(".import-counts")
        assert errors == []

        sys_page, sys_errors = new_page(browser, DESKTOP)
        sign_in(sys_page, base, "sysadmin", DEMO_PASSWORD)
        sys_page.goto(f"{base}/catalog/items/")
        assert sys_page.locator(".items-table tbody tr").count() == 50
        shoot(sys_page, "admin-items-desktop")
        sys_page.goto(f"{base}/catalog/calendar/?year=2026")
        assert sys_page.locator("table.month").count() == 12
        assert sys_page.locator("table.month td.holiday").count() >= 10
        shoot(sys_page, "admin-calendar-desktop")
        assert sys_errors == []

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, "secadmin", DEMO_PASSWORD)
        phone.goto(f"{base}/accounts/people/")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot(phone, "admin-people-phone")
        assert phone_errors == []

    assert RoleAssignment.objects.filter(user=handler, role="grid_head_l1", grid__code=TOWN).exists()
    assert not RoleAssignment.objects.filter(user=handler, grid__code=VILLAGE, role="grid_head_l1").exists()
    assert User.objects.filter(username__in=["imp_a", "imp_b"]).count() == 2
    assert not User.objects.filter(username="imp_c").exists()
