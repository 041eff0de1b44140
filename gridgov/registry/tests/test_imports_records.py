"""台账 import of households, buildings, organisations and components through the persons' machinery: each kind
from CSV and from a workbook; one bad row writes nothing and the report names its row and column; a record is
found again by its key (credit code, component ID, building code, household number), listed once in a file and
updated in place; records go only into the importer's grids; notes are stored and kept out of the audit record."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.utils import translation
from openpyxl import Workbook

from gridgov.catalog.models import Department, Item, ItemKind
from gridgov.core.models import AuditRecord
from gridgov.registry.choices import BuildingKind, ComponentState, OrganisationKind, OrganisationState, Source
from gridgov.registry.imports import TEMPLATES, import_file
from gridgov.registry.models import Building, Component, Household, Organisation
from gridgov.registry.validators import credit_check_char, make_component_id


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def sheet(kind: str, rows: list[dict[str, object]], fmt: str = "csv") -> bytes:
    """A file of `kind` in its template's Chinese headers; `rows` are keyed by the column keys."""
    columns = TEMPLATES[kind].all_columns
    lines = [[c.chinese for c in columns], *([r.get(c.key, "") for c in columns] for r in rows)]
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(lines)
        return out.getvalue().encode("utf-8-sig")
    wb = Workbook()
    for line in lines:
        wb.active.append([None if v == "" else v for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def credit_code(serial: int) -> str:
    body = f"9115062100000{serial:04d}"
    return body + credit_check_char(body)


def component_id(item: Item, serial: int) -> str:
    code = item.standard_code
    return make_component_id("150621", int(code[:2]), int(code[2:]), serial)


def organisation(grid, serial: int, **cells) -> dict[str, object]:
    row: dict[str, object] = {
        "credit_code": credit_code(serial), "name": f"便利店{serial}", "kind": "个体工商户",
        "representative": "王五", "phone": "13800138000", "grid_code": grid.code, "address": "示例街1号",
        "state": "在营", "employees": 3, "lon": 109.9, "lat": 40.3, "note": "门前常堆放杂物",
    }  # fmt: skip
    row.update(cells)
    return row


@pytest.fixture
def lamp(catalog):
    return Item.objects.get(kind=ItemKind.COMPONENT, name="路灯")


def component(kind: Item, grid, serial: int, **cells) -> dict[str, object]:
    row: dict[str, object] = {
        "object_id": component_id(kind, serial), "item": kind.name, "name": "", "grid_code": grid.code,
        "location": "示例小区东门", "owner_department": kind.lead_department.name, "owner_unit": "城管局",
        "maintainer_department": "", "state": "完好", "installed_on": "2020-05-01", "lon": 109.95,
        "lat": 40.35, "note": "",
    }  # fmt: skip
    row.update(cells)
    return row


def building(grid, serial: int, **cells) -> dict[str, object]:
    row: dict[str, object] = {
        "code": f"{grid.code}-{serial:03d}", "name": f"{serial}号楼", "kind": "住宅", "floors": 6,
        "grid_code": grid.code, "address": f"示例小区{serial}号楼",
    }  # fmt: skip
    row.update(cells)
    return row


def nothing_imported() -> bool:
    return not (
        Organisation.objects.exists()
        or Component.objects.exists()
        or Building.objects.exists()
        or Household.objects.exists()
        or AuditRecord.objects.filter(action="registry.import").exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_organisations_import_from_both_formats_and_again_update_in_place(office, fmt):
    rows = [organisation(office.grid, n) for n in range(1, 6)]
    rows.append(organisation(office.grid, 0, credit_code="", name="无照小摊", kind="其他"))

    report = import_file(
        "organisations", sheet("organisations", rows, fmt), f"o.{fmt}", actor=office.specialist
    )

    assert report.ok, report.messages
    assert (report.rows, report.created, report.updated) == (6, 6, 0)
    shop = Organisation.objects.get(credit_code=credit_code(1))
    assert (shop.name, shop.kind, shop.state, shop.employees, shop.grid_id, shop.grid_l2_id) == (
        "便利店1",
        OrganisationKind.SHOP,
        OrganisationState.OPEN,
        3,
        office.grid.pk,
        office.grid.l2_id,
    )
    assert shop.phone_masked == "138****8000" and b"13800138000" not in bytes(shop.phone_enc)
    assert shop.note == "门前常堆放杂物" and shop.source == Source.IMPORT
    audit = AuditRecord.objects.get(action="registry.import")
    assert audit.data["kind"] == "organisations" and audit.data["created"] == 6
    assert "门前常堆放杂物" not in json.dumps(audit.data, ensure_ascii=False)

    # Again, closed and without phones or notes: updated in place, the empty cells keep what is stored.
    for r in rows:
        r.update(state="歇业", phone="", note="")
    again = import_file(
        "organisations", sheet("organisations", rows, fmt), f"o.{fmt}", actor=office.specialist
    )

    assert again.ok, again.messages
    assert (again.created, again.updated) == (0, 6)
    assert Organisation.objects.count() == 6
    shop.refresh_from_db()
    assert shop.state == OrganisationState.CLOSED and shop.phone_masked == "138****8000"
    assert shop.note == "门前常堆放杂物"


@pytest.mark.django_db
def test_a_bad_credit_code_and_a_duplicate_in_the_file_import_nothing_naming_row_and_column(office):
    bad = organisation(office.grid, 2)
    bad["credit_code"] = str(bad["credit_code"])[:17] + ("0" if str(bad["credit_code"])[17] != "0" else "1")
    rows = [organisation(office.grid, 1), bad, organisation(office.grid, 1, name="另一家")]

    report = import_file("organisations", sheet("organisations", rows), "o.csv", actor=office.specialist)

    assert [(p.row, p.column) for p in report.problems] == [(3, "统一社会信用代码"), (4, "统一社会信用代码")]
    assert "校验" in report.problems[0].message or "check" in report.problems[0].message
    assert "2" in report.problems[1].message  # the same as row 2
    assert nothing_imported()


@pytest.mark.django_db
def test_an_organisation_of_a_grid_the_importer_does_not_keep_is_refused_on_its_row(office):
    first = import_file(
        "organisations", sheet("organisations", [organisation(office.grid_b, 1)]), "o.csv", actor=None
    )
    assert first.ok, first.messages
    rows = [
        organisation(office.grid, 2),
        organisation(office.grid, 1),  # registered in grid B, which the specialist does not keep
        organisation(office.other_town_grid, 3),  # a grid the specialist does not keep
    ]

    report = import_file("organisations", sheet("organisations", rows), "o.csv", actor=office.specialist)

    assert [(p.row, p.column) for p in report.problems] == [(3, "统一社会信用代码"), (4, "网格编码")]
    assert Organisation.objects.count() == 1
    assert Organisation.objects.get().grid_id == office.grid_b.pk
    # The village head keeps both grids: the same file moves the organisation into grid A.
    report = import_file("organisations", sheet("organisations", rows[:2]), "o.csv", actor=office.l2head)
    assert report.ok, report.messages
    assert (report.created, report.updated) == (1, 1)
    assert Organisation.objects.get(credit_code=credit_code(1)).grid_id == office.grid.pk


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_components_import_with_their_class_departments_and_state(office, lamp, fmt):
    keeper = Department.objects.exclude(pk=lamp.lead_department_id).first()
    rows = [
        component(lamp, office.grid, 1, maintainer_department=keeper.name, state="损坏", note="灯罩破裂"),
        component(lamp, office.grid, 2, owner_department=keeper.code, name="东门路灯", installed_on=""),
    ]

    report = import_file("components", sheet("components", rows, fmt), f"c.{fmt}", actor=office.specialist)

    assert report.ok, report.messages
    assert (report.created, report.updated) == (2, 0)
    first = Component.objects.get(object_id=component_id(lamp, 1))
    assert (first.item_id, first.name, first.state, first.note) == (
        lamp.pk,
        "路灯",
        ComponentState.DAMAGED,
        "灯罩破裂",
    )
    assert (first.owner_department_id, first.maintainer_department_id) == (lamp.lead_department_id, keeper.pk)
    assert str(first.installed_on) == "2020-05-01" and (first.lon, first.lat) == (109.95, 40.35)
    second = Component.objects.get(object_id=component_id(lamp, 2))
    assert (second.name, second.owner_department_id, second.installed_on) == ("东门路灯", keeper.pk, None)

    rows[0].update(state="", note="", maintainer_department="")
    again = import_file("components", sheet("components", rows, fmt), f"c.{fmt}", actor=office.specialist)
    assert again.ok and (again.created, again.updated) == (0, 2)
    first.refresh_from_db()
    assert (first.state, first.note, first.maintainer_department_id) == (
        ComponentState.DAMAGED,
        "灯罩破裂",
        keeper.pk,
    )


@pytest.mark.django_db
def test_component_problems_are_named_and_nothing_is_written(office, lamp):
    other = Item.objects.filter(kind=ItemKind.COMPONENT).exclude(standard_code=lamp.standard_code).first()
    rows = [
        component(lamp, office.grid, 1),
        component(lamp, office.grid, 1),  # row 3: the same ID as row 2
        component(lamp, office.grid, 3, object_id=component_id(other, 3)),  # row 4: another class's digits
        component(lamp, office.grid, 4, item="飞碟"),  # row 5: no such class
        component(lamp, office.grid, 5, owner_department="不存在局"),  # row 6: no such department
        component(lamp, office.grid, 6, state="坏了", installed_on="2020-02-30"),  # row 7: two cells
        component(lamp, office.other_town_grid, 7),  # row 8: not the specialist's grid
        component(lamp, office.grid, 8, object_id="15062101"),  # row 9: too short
    ]

    report = import_file("components", sheet("components", rows), "c.csv", actor=office.specialist)

    assert [(p.row, p.column) for p in report.problems] == [
        (3, "部件标识码"),
        (4, "部件标识码"),
        (5, "部件类别"),
        (6, "主管部门"),
        (7, "状态"),
        (7, "设置日期"),
        (8, "网格编码"),
        (9, "部件标识码"),
    ]
    assert nothing_imported()


@pytest.mark.django_db
def test_a_component_id_registered_in_the_database_is_updated_not_duplicated(office, lamp):
    assert import_file(
        "components", sheet("components", [component(lamp, office.grid, 1)]), "a.csv", actor=None
    ).ok
    moved = component(lamp, office.grid_b, 1, location="北门")

    refused = import_file("components", sheet("components", [moved]), "b.csv", actor=office.other_specialist)
    # Registered in a grid the other specialist does not keep, and not their grid either.
    assert [(p.row, p.column) for p in refused.problems] == [(2, "部件标识码"), (2, "网格编码")]
    report = import_file("components", sheet("components", [moved]), "b.csv", actor=office.l2head)

    assert report.ok, report.messages
    assert (report.created, report.updated) == (0, 1)
    stored = Component.objects.get()
    assert (stored.grid_id, stored.location) == (office.grid_b.pk, "北门")


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_buildings_then_households_import_and_households_name_their_building(office, fmt):
    buildings = [building(office.grid, n) for n in (1, 2)]
    report = import_file("buildings", sheet("buildings", buildings, fmt), f"b.{fmt}", actor=office.specialist)
    assert report.ok, report.messages
    assert (report.created, Building.objects.get(code=f"{office.grid.code}-001").kind) == (
        2,
        BuildingKind.RESIDENTIAL,
    )

    households = [
        {"number": "H1", "grid_code": office.grid.code, "building": f"{office.grid.code}-001",
         "house_number": "1单元101室", "address": "示例小区1号楼", "note": "独居，子女在外地"},
        {"number": "H2", "grid_code": office.grid.code, "building": "", "house_number": "", "address": "平房区5号"},
    ]  # fmt: skip
    report = import_file(
        "households", sheet("households", households, fmt), f"h.{fmt}", actor=office.specialist
    )

    assert report.ok, report.messages
    assert (report.created, report.updated) == (2, 0)
    h1 = Household.objects.get(number="H1")
    assert (h1.building.code, h1.house_number, h1.note, h1.members) == (
        f"{office.grid.code}-001",
        "1单元101室",
        "独居，子女在外地",
        0,
    )
    assert Household.objects.get(number="H2").building_id is None
    assert "独居" not in json.dumps(
        list(AuditRecord.objects.values_list("data", flat=True)), ensure_ascii=False
    )


@pytest.mark.django_db
def test_a_household_naming_an_unknown_building_or_another_grids_building_is_refused(office):
    assert import_file("buildings", sheet("buildings", [building(office.grid_b, 1)]), "b.csv", actor=None).ok
    households = [
        {"number": "H1", "grid_code": office.grid.code, "building": "没有这栋楼"},
        {"number": "H2", "grid_code": office.grid.code, "building": f"{office.grid_b.code}-001"},
        {"number": "H1", "grid_code": office.grid.code},
    ]

    report = import_file("households", sheet("households", households), "h.csv", actor=office.specialist)

    assert [(p.row, p.column) for p in report.problems] == [(2, "楼栋编码"), (3, "楼栋编码"), (4, "户号")]
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_a_town_head_may_not_import_any_kind(office):
    for kind, rows in (
        ("buildings", [building(office.grid, 1)]),
        ("organisations", [organisation(office.grid, 1)]),
    ):
        report = import_file(kind, sheet(kind, rows), "x.csv", actor=office.l1head)
        assert not report.ok and report.problems[0].row == 0
    assert nothing_imported()


@pytest.mark.django_db
def test_a_file_of_another_kind_is_refused_by_its_header(office):
    data = sheet("buildings", [building(office.grid, 1)])

    report = import_file("organisations", data, "b.csv", actor=office.specialist)

    assert len(report.problems) == 1 and "统一社会信用代码" in report.problems[0].message
    assert nothing_imported()
