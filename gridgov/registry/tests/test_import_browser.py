"""The import page in a real browser (Debian's Chromium through Playwright), in Chinese: a grid specialist picks
the organisations, uploads a file with bad cells and reads the report (row, column, problem), nothing written;
then the same on a 360 px phone, which must not scroll sideways. Screenshots go to
test-artifacts/registry-import-*.png for a person to look at."""

from __future__ import annotations

import csv
import io

import pytest

from gridgov.registry.imports import ORGANISATIONS
from gridgov.registry.models import Organisation
from gridgov.registry.validators import credit_check_char
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def bad_file(grid_code: str, other_grid: str) -> bytes:
    body = "9115062100000001"
    good = body + "1" + credit_check_char(body + "1")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.chinese for c in ORGANISATIONS.all_columns])
    writer.writerows(
        [
            [good, "示例便利店", "个体工商户", "王五", "13800138000", grid_code, "示例街1号", "在营", "", "3", "", "", ""],
            [wrong, "东胜商贸有限公司", "企业", "", "138001380", grid_code, "", "营业中", "", "", "", "", ""],
            [good, "示例便利店二店", "商铺", "", "", other_grid, "", "在营", "", "-2", "", "", ""],
        ]
    )  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


def _upload(page, base: str, data: bytes) -> None:
    page.goto(f"{base}/registry/import/")
    page.locator('.import-kinds a[data-kind="organisations"]').click()
    page.wait_for_load_state("networkidle")
    assert page.locator('input[name="kind"]').get_attribute("value") == "organisations"
    page.set_input_files("#id_file", files=[{"name": "组织台账.csv", "mimeType": "text/csv", "buffer": data}])
    with page.expect_navigation():
        page.locator(".import-form button[type=submit]").click()
    page.locator(".import-problems").wait_for()


def test_a_specialist_uploads_a_bad_organisations_file_and_reads_every_bad_cell(live_server, office, catalog):
    base = live_server.url
    data = bad_file(office.grid.code, office.other_town_grid.code)
    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, office.specialist.username, PASSWORD)
        _upload(page, base, data)
        assert page.locator("#report-title").inner_text() == "未导入任何数据"
        rows = page.locator(".import-problems tbody tr")
        cells = [
            tuple(rows.nth(i).locator("td").nth(n).inner_text() for n in range(2))
            for i in range(rows.count())
        ]
        assert cells == [
            ("3", "统一社会信用代码"),
            ("3", "联系电话"),
            ("3", "经营状态"),
            ("4", "统一社会信用代码"),
            ("4", "网格编码"),
            ("4", "从业人数"),
        ]
        assert "13800138000" not in page.content()
        shoot(page, "registry-import-report-desktop", full_page=True)
        assert not errors, errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, office.specialist.username, PASSWORD)
        _upload(phone, base, data)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the import page is {width}px wide on a phone"
        shoot(phone, "registry-import-report-phone", full_page=True)
        assert not phone_errors, phone_errors
    assert not Organisation.objects.exists()
