"""Exports of the persons 台账: only the people the user may see, numbers masked, key groups only for the grid
and the village, a watermark naming who exported, every export audited, no cell a spreadsheet would run; an
edited export imports again once its masked numbers are filled in; the template explains itself."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from gridgov.core.errors import NotAllowed
from gridgov.core.models import AuditRecord
from gridgov.registry import people as gen
from gridgov.registry.exports import export_persons, person_template
from gridgov.registry.imports import COLUMNS, EXAMPLE_ID_NUMBER, TEMPLATES, import_file, import_persons
from gridgov.registry.models import Person
from gridgov.registry.services import PersonInput, do_register_person
from gridgov.registry.validators import id_check_char

CHINESE_HEADERS = [c.chinese for c in COLUMNS] + ["经度", "纬度"]
WATERMARK_STARTS = ("导出人", "Exported by")


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def registered(office, people, as_file):
    """300 generated persons over the eight grids, a few of those of office.grid in key groups."""
    rows = people(300)
    in_grid = [r for r in rows if r[gen.GRID_CODE] == office.grid.code]
    for r in in_grid[:3]:
        r[gen.KEY_GROUPS] = "独居老人;残疾人"
    report = import_persons(as_file(rows), "p.csv", actor=None)
    assert report.ok, report.messages
    return rows


def xlsx_rows(content: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def column(rows: list[list], header: str) -> list:
    at = rows[1].index(header)
    return [r[at] for r in rows[2:]]


@pytest.mark.django_db
def test_a_grid_specialist_exports_their_grid_masked_watermarked_and_audited(office, registered):
    content, filename = export_persons(office.specialist, "xlsx")

    assert filename.endswith(".xlsx")
    rows = xlsx_rows(content)
    mark = rows[0][0]
    assert mark.startswith(WATERMARK_STARTS) and "spec" in mark and "李网格" in mark
    assert rows[1] == CHINESE_HEADERS
    mine = [r for r in registered if r[gen.GRID_CODE] == office.grid.code]
    assert len(rows) - 2 == len(mine) == Person.objects.filter(grid=office.grid).count()
    assert set(column(rows, "网格编码")) == {office.grid.code}
    documents = column(rows, "证件号码")
    assert all("*" in d for d in documents)
    assert sorted(documents) == sorted(
        Person.objects.filter(grid=office.grid).values_list("document_masked", flat=True)
    )
    phones = [p for p in column(rows, "手机号") if p]
    assert phones and all("****" in p for p in phones)
    everything = "\n".join(str(v) for r in rows for v in r if v is not None)
    for r in registered:
        assert r[gen.DOCUMENT_NUMBER] not in everything
        assert not r[gen.MOBILE] or r[gen.MOBILE] not in everything
    assert sum(1 for g in column(rows, "重点人群") if g) == sum(1 for r in mine if r[gen.KEY_GROUPS]) >= 3
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert "spec" in sheet.oddHeader.center.text and "spec" in sheet.oddFooter.center.text

    audit = AuditRecord.objects.get(action="registry.export")
    assert audit.actor_id == office.specialist.pk
    assert audit.data["rows"] == len(mine) and audit.data["format"] == "xlsx"


@pytest.mark.django_db
def test_a_town_head_exports_the_town_without_key_groups_and_the_village_head_with_them(office, registered):
    town = office.grids["150621100"]
    in_town = Person.objects.filter(grid_l1_id=town.pk).count()

    rows = csv_rows(export_persons(office.l1head, "csv")[0])

    assert rows[0][0].startswith(WATERMARK_STARTS)
    assert len(rows) - 2 == in_town
    assert {code[:9] for code in column(rows, "网格编码")} == {"150621100"}
    assert not any(column(rows, "重点人群"))

    village_rows = csv_rows(export_persons(office.l2head, "csv")[0])
    in_village = [r for r in registered if r[gen.GRID_CODE].startswith("150621100200")]
    assert sum(1 for g in column(village_rows, "重点人群") if g) == sum(
        1 for r in in_village if r[gen.KEY_GROUPS]
    )
    one_grid = csv_rows(export_persons(office.l1head, "csv", grid=office.grid_b.code)[0])
    assert set(column(one_grid, "网格编码")) == {office.grid_b.code}
    other = csv_rows(export_persons(office.other_specialist, "csv")[0])
    assert set(column(other, "网格编码")) == {office.other_town_grid.code}
    assert AuditRecord.objects.filter(action="registry.export").count() == 4
    with pytest.raises(NotAllowed):
        export_persons(office.resident, "csv")
    assert AuditRecord.objects.filter(action="registry.export").count() == 4


@pytest.mark.django_db
def test_no_cell_of_an_export_is_a_formula(office):
    body = "15062119800101123"
    do_register_person(
        PersonInput(
            name="王五",
            grid=office.grid,
            document_number=body + id_check_char(body),
            address='=HYPERLINK("http://evil.example","click")',
        ),
        actor=office.specialist,
    )
    content, _name = export_persons(office.specialist, "xlsx")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    address = next(c for c in sheet[3] if c.column == CHINESE_HEADERS.index("地址") + 1)
    assert address.data_type == "s" and address.value.startswith("'=")
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)

    rows = csv_rows(export_persons(office.specialist, "csv")[0])
    assert column(rows, "地址") == ['\'=HYPERLINK("http://evil.example","click")']


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again_once_its_masked_numbers_are_filled_in(office, registered, fmt):
    content, filename = export_persons(office.specialist, fmt)
    before = dict(Person.objects.values_list("id", "version"))

    refused = import_persons(content, filename, actor=office.specialist)

    assert not refused.ok and refused.created == refused.updated == 0
    assert {p.column for p in refused.problems} <= {"证件号码", "手机号"}
    assert {p.row for p in refused.problems if p.column == "证件号码"} == set(range(3, refused.rows + 3))
    assert dict(Person.objects.values_list("id", "version")) == before

    # The clerk types the full numbers in again and empties the phones (which keeps the stored ones).
    full = {
        (r[gen.NAME], r[gen.DOCUMENT_NUMBER][:6], r[gen.DOCUMENT_NUMBER][-4:]): r[gen.DOCUMENT_NUMBER]
        for r in registered
    }
    rows = csv_rows(content) if fmt == "csv" else xlsx_rows(content)
    number_at, phone_at, name_at = (rows[1].index(h) for h in ("证件号码", "手机号", "姓名"))
    for r in rows[2:]:
        masked = r[number_at]
        r[number_at] = full[(r[name_at], masked[:6], masked[-4:])]
        r[phone_at] = ""
    edited = _write(rows, fmt)
    phones = dict(Person.objects.values_list("id", "phone_masked"))

    report = import_persons(edited, f"edited.{fmt}", actor=office.specialist)

    assert report.ok, report.messages
    assert (report.created, report.updated, report.moved) == (0, len(rows) - 2, 0)
    assert Person.objects.count() == len(registered)
    assert dict(Person.objects.values_list("id", "phone_masked")) == phones
    changed = {pk for pk, version in Person.objects.values_list("id", "version") if version != before[pk]}
    assert changed == set(Person.objects.filter(grid=office.grid).values_list("id", flat=True))


def _write(rows: list[list], fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.django_db
def test_the_template_has_the_columns_an_example_and_the_codes(office):
    content, filename = person_template("xlsx")

    assert filename.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(content))
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    assert rows[0] == CHINESE_HEADERS and rows[1][5] == EXAMPLE_ID_NUMBER and len(rows) == 2
    codes = {str(v) for r in wb.worksheets[1].iter_rows(values_only=True) for v in r if v is not None}
    assert {"户主", "居民身份证", "户籍人口", "独居老人", "汉族", "蒙古族", "head", "id_card", "02"} <= codes

    # Imported as it is, the example is refused rather than registered.
    for data, name in ((content, filename), person_template("csv")):
        report = import_persons(data, name, actor=office.admin)
        assert [(p.row, p.column) for p in report.problems] == [(2, "证件号码")]
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_an_english_export_uses_english_headers_and_labels_and_imports(office, registered):
    with translation.override("en"):
        content, filename = export_persons(office.specialist, "csv")
    rows = csv_rows(content)
    assert rows[0][0].startswith("Exported by") and rows[1][:3] == ["household number", "relation", "name"]
    assert "head of household" in column(rows, "relation")
    refused = import_persons(content, filename, actor=office.specialist)
    assert {p.column for p in refused.problems} <= {"document number", "mobile"}


# -- the other kinds ---------------------------------------------------------------------------------------------


@pytest.fixture
def things(office, catalog):
    """Two organisations and two components in the specialist's grid, one of each in the other town."""
    from gridgov.catalog.models import Item, ItemKind
    from gridgov.registry.validators import credit_check_char, make_component_id

    def code(n: int) -> str:
        body = f"9115062100000{n:04d}"
        return body + credit_check_char(body)

    lamp = Item.objects.get(kind=ItemKind.COMPONENT, name="路灯")
    sc = lamp.standard_code
    organisations = [
        [code(1), "便利店", "个体工商户", "王五", "13800138000", office.grid.code, "示例街1号", "在营", "", "3", "", "", "常有纠纷"],
        [code(2), "=HYPERLINK(\"http://evil.example\")", "企业", "", "", office.grid.code, "", "在营", "", "", "", "", ""],
        [code(3), "外镇公司", "企业", "", "", office.other_town_grid.code, "", "在营", "", "", "", "", ""],
    ]  # fmt: skip
    components = [
        [make_component_id("150621", int(sc[:2]), int(sc[2:]), n), "路灯", "", grid.code, "东门",
         lamp.lead_department.name, "", "", "完好", "2020-05-01", "", "", ""]
        for n, grid in ((1, office.grid), (2, office.grid), (3, office.other_town_grid))
    ]  # fmt: skip
    for kind, rows in (("organisations", organisations), ("components", components)):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.chinese for c in TEMPLATES[kind].all_columns])
        writer.writerows(rows)
        report = import_file(kind, out.getvalue().encode(), f"{kind}.csv", actor=None)
        assert report.ok, report.messages
    return {"organisations": organisations, "components": components}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["organisations", "components"])
def test_a_kinds_export_is_scoped_masked_watermarked_and_audited(office, things, kind):
    from gridgov.registry.exports import export_records

    content, filename = export_records(office.specialist, kind, "xlsx")

    assert filename.startswith(f"{kind}-") and filename.endswith(".xlsx")
    rows = xlsx_rows(content)
    mark = rows[0][0]
    assert mark.startswith(WATERMARK_STARTS) and "spec" in mark and "李网格" in mark
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert "spec" in sheet.oddHeader.center.text and "spec" in sheet.oddFooter.center.text
    assert len(rows) - 2 == 2  # the specialist's grid only
    assert set(column(rows, "网格编码")) == {office.grid.code}
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    everything = "\n".join(str(v) for r in rows for v in r if v is not None)
    assert "13800138000" not in everything
    if kind == "organisations":
        assert "138****8000" in column(rows, "联系电话") and "常有纠纷" in column(rows, "备注")
    audit = AuditRecord.objects.get(action="registry.export")
    assert audit.actor_id == office.specialist.pk
    assert (audit.data["kind"], audit.data["rows"], audit.data["format"]) == (kind, 2, "xlsx")
    assert "常有纠纷" not in str(audit.data)
    with pytest.raises(NotAllowed):
        export_records(office.resident, kind, "csv")
    assert AuditRecord.objects.filter(action="registry.export").count() == 1


@pytest.mark.django_db
def test_a_components_export_imports_again_unchanged(office, things):
    from gridgov.registry.exports import export_records
    from gridgov.registry.models import Component

    content, filename = export_records(office.l2head, "components", "csv")
    before = dict(Component.objects.values_list("object_id", "updated_at"))

    report = import_file("components", content, filename, actor=office.l2head)

    assert report.ok, report.messages
    assert (report.created, report.updated) == (0, 2)
    assert Component.objects.count() == len(before)


@pytest.mark.django_db
def test_the_export_view_answers_a_reader_and_refuses_others(office, things):
    from .test_access import client_for

    answer = client_for(office.l1head).get("/registry/export/organisations/", {"fmt": "csv"})

    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith('attachment; filename="organisations-')
    assert answer["Cache-Control"] == "private, no-store"
    assert csv_rows(answer.content)[0][0].startswith(WATERMARK_STARTS)
    assert AuditRecord.objects.filter(action="registry.export", data__kind="organisations").count() == 1
    assert client_for(office.l1head).get("/registry/export/cars/").status_code == 404
    assert client_for(office.l1head).get("/registry/export/components/", {"fmt": "pdf"}).status_code == 400
    assert client_for(office.resident).get("/registry/export/components/").status_code == 404
