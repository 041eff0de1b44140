"""Bulk import of people and roles from Excel: template, preview, confirm (all or nothing), bad files."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from gridgov.accounts import importers
from gridgov.accounts.models import RoleAssignment, User
from gridgov.catalog.models import Department
from gridgov.core.models import AuditRecord

HEADER = ["username", "full name", "phone", "role", "grid code", "department code", "language"]


def xlsx(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(data: bytes, name: str = "people.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def sec(make_user):
    c = Client()
    c.force_login(make_user("secadmin", admin_duty="security", is_staff=True))
    c.cookies["django_language"] = "en"
    return c


def preview(sec, data: bytes, name: str = "people.xlsx"):
    return sec.post(reverse("accounts:people_import"), {"file": upload(data, name)})


def test_template_has_the_columns_and_neutralises_formulas(world, sec):
    Department.objects.create(code="XX", name='=HYPERLINK("http://evil")')
    response = sec.get(reverse("accounts:people_import_template"))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in wb.worksheets[0][1]] == HEADER
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    evil = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert evil == ['\'=HYPERLINK("http://evil")']
    # the template, filled in, reads back
    assert importers.neutralise("-1") == "'-1" and importers.neutralise("张三") == "张三"


def test_preview_then_confirm_creates_and_updates_people_and_roles(world, sec, django_assert_max_num_queries):
    rows = [
        ["newbie", "新人甲", "13812345678", "grid_specialist", world.grid.code, "", ""],
        ["newbie", "", "", "info_officer", world.grid_b.code, "", ""],
        ["hw1", "环卫张", "", "dept_handler", "", "ZF", "en"],  # existing: new name, language and role
        ["zf1", "", "", "dept_handler", "", "ZF", ""],  # existing role: unchanged
        ["guide2", "指导员", "", "网格指导员", world.village.code, "HW", "中文"],  # role by its Chinese label
    ]
    rows += [[f"bulk{n:02d}", f"批量{n}", "", "volunteer", world.grid.code, "", ""] for n in range(30)]
    before_users = User.objects.count()
    with django_assert_max_num_queries(30):
        response = preview(sec, xlsx(rows))
    assert response.status_code == 200
    html = response.content.decode()
    assert "138****5678" in html and "13812345678" not in html  # masked
    assert 'class="action-chip create"' in html and 'class="action-chip update"' in html
    assert 'class="action-chip unchanged"' in html and "with errors" in html
    assert User.objects.count() == before_users  # a preview changes nothing
    token = sec.session["people_import"]["token"]
    done = sec.post(reverse("accounts:people_import_confirm"), {"token": token})
    assert done.status_code == 302
    summary = sec.get(done["Location"]).content.decode()
    assert "Import done" in summary
    newbie = User.objects.get(username="newbie")
    assert newbie.full_name == "新人甲" and not newbie.has_usable_password()
    assert set(newbie.assignments.values_list("role", flat=True)) == {"grid_specialist", "info_officer"}
    hw1 = User.objects.get(username="hw1")
    assert (hw1.full_name, hw1.language) == ("环卫张", "en")
    assert set(hw1.assignments.values_list("department__code", flat=True)) == {"HW", "ZF"}
    assert RoleAssignment.objects.filter(user__username="zf1").count() == 1
    guide2 = RoleAssignment.objects.get(user__username="guide2")
    assert (guide2.role, guide2.grid, guide2.department.code) == ("grid_guide", world.village, "HW")
    assert User.objects.count() == before_users + 32
    audit = AuditRecord.objects.get(action="accounts.import_people")
    assert audit.data["created"] == 32 and audit.data["file"] == "people.xlsx"
    # the token is spent: confirming twice imports nothing more
    again = sec.post(reverse("accounts:people_import_confirm"), {"token": token})
    assert again.status_code == 302 and again["Location"] == reverse("accounts:people_import")


def test_one_bad_row_applies_nothing_and_names_row_and_column(world, sec):
    rows = [
        ["ok1", "好人", "", "grid_specialist", world.grid.code, "", ""],
        ["ok2", "好人二", "", "grid_head_l1", world.village.code, "", ""],  # a village for a level-1 head
        ["ok3", "好人三", "12345", "nobody", "", "", "fr"],
    ]
    html = preview(sec, xlsx(rows)).content.decode()
    assert "Row 3, column grid code: This role is held over a level-1 grid." in html
    assert "Row 4, column phone: 12345 is not an 11-digit mobile number" in html
    assert "Row 4, column role: nobody is not a role" in html
    assert "Row 4, column language: fr is neither zh-hans nor en" in html
    assert "Confirm and import" not in html
    # even a forged confirmation applies nothing
    token = sec.session["people_import"]["token"]
    response = sec.post(reverse("accounts:people_import_confirm"), {"token": token})
    assert response.status_code == 409
    assert not User.objects.filter(username__in=["ok1", "ok2", "ok3"]).exists()
    assert not AuditRecord.objects.filter(action="accounts.import_people").exists()


def test_rows_checked_again_at_confirmation(world, sec):
    """A row valid at preview that became wrong before the confirmation (the grid closed, the department
    went) stops the whole import."""
    response = preview(
        sec,
        xlsx(
            [
                ["late1", "迟到", "", "dept_handler", "", "GA", ""],
                ["late2", "迟到二", "", "operator", world.town.code, "", ""],
            ]
        ),
    )
    assert "Confirm and import" in response.content.decode()
    RoleAssignment.objects.filter(department__code="GA").delete()
    Department.objects.filter(code="GA").update(code="GA-OLD")
    token = sec.session["people_import"]["token"]
    html = sec.post(reverse("accounts:people_import_confirm"), {"token": token}).content.decode()
    assert "Row 2, column department code: no department has the code GA" in html
    assert not User.objects.filter(username__in=["late1", "late2"]).exists()


def test_administrators_are_not_changed_by_an_import(world, sec, make_user):
    make_user("sysadmin", admin_duty="system", is_staff=True)
    html = preview(sec, xlsx([["sysadmin", "黑客", "", "leader", world.root.code, "", ""]])).content.decode()
    assert "Row 2, column username: an administrator" in html


def _formula_file() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["x", "=1+1", "", "", "", "", ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            "username,full name\nzs,张三\n".encode(),
            "people.csv",
            "Upload an Excel workbook (.xlsx); people.csv is not one.",
        ),
        (b"not a zip at all", "people.xlsx", "The file is not an Excel workbook (.xlsx)."),
        (b"PK\x03\x04garbage", "people.xlsx", "The file is not an Excel workbook (.xlsx) that can be read."),
        (b"PK\x03\x04" + b"0" * (importers.MAX_BYTES + 1), "people.xlsx", "The file is larger than 2 MB"),
        (None, "people.xlsx", "Cell B2 holds a formula"),
        ("missing", "people.xlsx", "Row 1 lacks the column(s) role, grid code, department code"),
        ("empty", "people.xlsx", "The workbook has a header but no rows."),
    ],
)
def test_bad_files_get_a_clear_message(db, sec, data, name, message):
    if data is None:
        data = _formula_file()
    elif data == "missing":
        data = xlsx([["zs", "张三"]], header=["username", "full name"])
    elif data == "empty":
        data = xlsx([])
    response = preview(sec, data, name)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "people_import" not in sec.session


def test_zip_bomb_is_refused(db, sec):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/big.bin", b"\0" * (importers.MAX_UNPACKED_BYTES + 10))
    html = preview(sec, buf.getvalue()).content.decode()
    assert "The workbook unpacks to too much data." in html


def test_chinese_headers_are_accepted(world):
    from django.utils import translation

    with translation.override("zh-hans"):
        header = [importers.column_label(k) for k in importers.COLUMNS]
    rows = importers.read_workbook(
        xlsx([["zs", "张三", 13812345678, "volunteer", world.grid.code, "", ""]], header=header), "a.xlsx"
    )
    assert rows[0]["username"] == "zs" and rows[0]["phone"] == "13812345678"


def test_csrf_on_upload(db, make_user):
    c = Client(enforce_csrf_checks=True)
    c.force_login(make_user("secadmin", admin_duty="security", is_staff=True))
    assert c.post(reverse("accounts:people_import"), {"file": upload(xlsx([]))}).status_code == 403
