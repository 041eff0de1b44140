"""台账 import of persons: every bad cell named and nothing written; a good file written at once, found again
(the master index) when imported again, people moved with their history, households with one head and their
member counts, key groups encrypted; CSV in the encodings offices save, workbooks without formulas."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter

import pytest
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from gridgov.core.models import AuditRecord
from gridgov.registry import people as gen
from gridgov.registry.choices import KeyGroup, Relation, Residence
from gridgov.registry.imports import COLUMNS, import_persons, read_persons
from gridgov.registry.models import Household, KeyGroupLabel, Person, PersonMove
from gridgov.registry.services import key_group_index

HEADERS = gen.HEADERS


def nothing_written() -> bool:
    return not (
        Person.objects.exists()
        or Household.objects.exists()
        or PersonMove.objects.exists()
        or KeyGroupLabel.objects.exists()
        or AuditRecord.objects.filter(action="registry.import").exists()
    )


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig") -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADERS])
    return out.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.mark.django_db
def test_a_file_with_bad_rows_imports_nothing_and_names_exactly_each_bad_cell(office, people, as_file):
    rows, planted = gen.with_bad_rows(people(400), 10, seed=3)
    assert {kind for _row, _column, kind in planted} == {str(p) for p in gen.Problem}

    report = import_persons(as_file(rows), "persons.csv", actor=office.admin)

    assert not report.ok
    assert [(p.row, p.column) for p in report.problems] == [(row, column) for row, column, _kind in planted]
    assert report.rows == 400 and report.created == 0
    assert nothing_written()
    # No ID number or phone of the file reaches the report.
    text = "\n".join(report.messages)
    for row in rows:
        for secret in (row[gen.DOCUMENT_NUMBER], row[gen.MOBILE]):
            assert not secret or secret not in text


@pytest.mark.django_db
def test_one_bad_row_in_a_workbook_names_its_row_and_column(office, people, as_file):
    rows = people(120)
    row_number = 57
    rows[row_number - 2][gen.BIRTH_DATE] = "1990-02-30"

    report = import_persons(as_file(rows, "xlsx"), "persons.xlsx", actor=office.admin)

    assert [(p.row, p.column) for p in report.problems] == [(row_number, "出生日期")]
    assert str(row_number) in report.messages[0] and "出生日期" in report.messages[0]
    assert nothing_written()


@pytest.mark.django_db
def test_a_good_file_imports_and_imported_again_updates_instead_of_duplicating(office, people, as_file):
    rows = people(300)
    data = as_file(rows)

    first = import_persons(data, "台账.csv", actor=office.admin)

    assert first.ok, first.messages
    households = Counter(r[gen.HOUSEHOLD_NUMBER] for r in rows)
    assert (first.rows, first.created, first.updated, first.moved) == (300, 300, 0, 0)
    assert (first.households_created, first.households_updated) == (len(households), 0)
    assert Person.objects.count() == 300 and Household.objects.count() == len(households)
    # Everyone registered once, naming the import.
    moves = PersonMove.objects.all()
    assert moves.count() == 300 and all(m.from_grid_id is None and "台账.csv" in m.reason for m in moves)
    # One head per household, and the members counted.
    for household in Household.objects.all():
        assert household.members == households[household.number]
        assert household.people.filter(relation=Relation.HEAD).count() == 1
    audit = AuditRecord.objects.get(action="registry.import")
    assert audit.actor_id == office.admin.pk and audit.data["created"] == 300 and audit.data["rows"] == 300
    dumped = json.dumps(audit.data, ensure_ascii=False)
    assert not any(r[gen.DOCUMENT_NUMBER] in dumped or r[gen.NAME] in dumped for r in rows)

    again = import_persons(data, "台账.csv", actor=office.admin)

    assert again.ok, again.messages
    assert (again.created, again.updated, again.moved) == (0, 300, 0)
    assert (again.households_created, again.households_updated) == (0, len(households))
    assert Person.objects.count() == 300 and Household.objects.count() == len(households)
    assert PersonMove.objects.count() == 300
    assert set(Person.objects.values_list("version", flat=True)) == {2}


@pytest.mark.django_db
def test_a_household_given_another_grid_moves_with_a_move_naming_the_import(office, people, as_file):
    rows = people(200)
    assert import_persons(as_file(rows), "first.csv", actor=office.admin).ok
    number = rows[0][gen.HOUSEHOLD_NUMBER]
    old_code = rows[0][gen.GRID_CODE]
    new_grid = next(g for g in office.level3 if g.code != old_code)
    members = [r for r in rows if r[gen.HOUSEHOLD_NUMBER] == number]
    for r in members:
        r[gen.GRID_CODE] = new_grid.code
        r[gen.KEY_GROUPS] = "独居老人"

    report = import_persons(as_file(rows), "second.csv", actor=office.admin)

    assert report.ok, report.messages
    assert (report.created, report.updated, report.moved) == (0, 200, len(members))
    household = Household.objects.get(number=number)
    assert household.grid_id == new_grid.pk and household.grid_l2_id == new_grid.l2_id
    for person in household.people.all():
        assert (person.grid_id, person.grid_l1_id, person.grid_l3_id) == (
            new_grid.pk,
            new_grid.l1_id,
            new_grid.pk,
        )
        move = person.moves.order_by("-id").first()
        assert (
            move.from_grid.code == old_code and move.to_grid_id == new_grid.pk and "second.csv" in move.reason
        )
        assert set(person.key_groups.values_list("grid_l3_id", flat=True)) == {new_grid.pk}
    assert Person.objects.count() == 200


@pytest.mark.django_db
def test_key_groups_are_stored_encrypted_and_can_be_counted(office, people, as_file):
    rows = people(150)
    for r in rows[:7]:
        r[gen.KEY_GROUPS] = "独居老人；残疾人"
    rows[7][gen.KEY_GROUPS] = "吸毒人员、留守儿童"
    expected = Counter(
        g
        for r in rows
        for g in filter(
            None, (s.strip() for s in r[gen.KEY_GROUPS].replace("；", ";").replace("、", ";").split(";"))
        )
    )

    assert import_persons(as_file(rows), "p.csv", actor=office.admin).ok
    assert import_persons(as_file(rows), "p.csv", actor=office.admin).ok  # labels are not added twice

    words = {"独居老人": KeyGroup.ELDERLY_ALONE, "残疾人": KeyGroup.DISABLED, "吸毒人员": KeyGroup.DRUG_USER,
             "留守儿童": KeyGroup.LEFT_BEHIND_CHILD, "低保对象": KeyGroup.LOW_INCOME,
             "社区矫正人员": KeyGroup.COMMUNITY_CORRECTION, "刑满释放人员": KeyGroup.RELEASED_PRISONER,
             "严重精神障碍患者": KeyGroup.SEVERE_MENTAL, "重点青少年": KeyGroup.KEY_YOUTH}  # fmt: skip
    for word, count in expected.items():
        assert KeyGroupLabel.objects.filter(group_index=key_group_index(words[word])).count() == count
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {KeyGroupLabel._meta.db_table}")  # noqa: S608
        stored = cursor.fetchall()
    assert len(stored) == sum(expected.values())
    plain = [w.encode() for w in words] + [g.encode() for g in KeyGroup.values]
    for db_row in stored:
        raw = b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in db_row)
        assert not any(p in raw for p in plain)


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-8"])
def test_csv_is_read_with_a_bom_and_in_gb18030(office, people, encoding):
    rows = people(60)
    data = csv_bytes(rows, encoding=encoding)
    assert [r.values["name"] for r in read_persons(data, "p.csv")] == [r[gen.NAME] for r in rows]

    report = import_persons(data, "p.csv", actor=office.admin)

    assert report.ok, report.messages
    assert sorted(Person.objects.values_list("name", flat=True)) == sorted(r[gen.NAME] for r in rows)


def workbook(headers, rows) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    return wb


def as_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_formula_cell_is_refused_naming_the_cell(office, people):
    rows = people(10)
    wb = workbook(HEADERS, [[r[h] or None for h in HEADERS] for r in rows])
    wb.active["C5"] = '=HYPERLINK("http://example.com","x")'

    report = import_persons(as_bytes(wb), "p.xlsx", actor=office.admin)

    assert [(p.row, p.column) for p in report.problems] == [(5, "姓名")]
    assert "C5" in report.problems[0].message
    assert nothing_written()


@pytest.mark.django_db
def test_english_headers_labels_codes_and_excel_dates_are_understood(office):
    english = [c.english for c in COLUMNS]
    head = ["H001", "head", "Zhang Wei", "", "resident identity card", valid_id("15062119800101123"), "male", "Han",
            dt.datetime(1980, 1, 1), 13812345678, "registered resident", office.grid.code, "1 Main St",
            "person with a disability; elderly_alone", ""]  # fmt: skip
    wife = ["H001", "spouse", "王芳", "", "id_card", valid_id("15062119820304122"), "2", "蒙古族", "1982/03/04", "",
            "floating", office.grid.code, "", "", "note"]  # fmt: skip
    wb = workbook(english, [head, wife])

    report = import_persons(as_bytes(wb), "english.xlsx", actor=office.admin)

    assert report.ok, report.messages
    zhang = Person.objects.get(name="Zhang Wei")
    assert (zhang.relation, zhang.gender, zhang.ethnicity, zhang.birth_date) == (
        "head",
        "1",
        "01",
        dt.date(1980, 1, 1),
    )
    assert zhang.phone_masked == "138****5678" and zhang.household.members == 2
    assert zhang.key_groups.count() == 2
    wang = Person.objects.get(name="王芳")
    assert (wang.ethnicity, wang.birth_date, wang.residence) == (
        "02",
        dt.date(1982, 3, 4),
        Residence.FLOATING,
    )


def valid_id(body17: str) -> str:
    from gridgov.registry.validators import id_check_char

    return body17 + id_check_char(body17)


def person_row(grid_code: str, household: str, relation: str, body17: str, **cells) -> dict[str, str]:
    row = {h: "" for h in HEADERS}
    row.update({gen.HOUSEHOLD_NUMBER: household, gen.RELATION: relation, gen.NAME: "赵六",
                gen.DOCUMENT_TYPE: "身份证", gen.DOCUMENT_NUMBER: valid_id(body17), gen.GRID_CODE: grid_code})  # fmt: skip
    row.update(cells)
    return row


@pytest.mark.django_db
def test_households_need_one_head_and_one_grid(office):
    g, other = office.grid.code, office.grid_b.code
    rows = [
        person_row(g, "A", "户主", "15062119800101001"),
        person_row(g, "A", "户主", "15062119800101002"),  # row 3: a second head
        person_row(g, "B", "配偶", "15062119800101003"),  # row 4: household B has no head
        person_row(g, "C", "户主", "15062119800101004"),
        person_row(other, "C", "子", "15062120100101005"),  # row 6: household C in two grids
    ]

    report = import_persons(csv_bytes(rows), "p.csv", actor=office.admin)

    assert [(p.row, p.column) for p in report.problems] == [
        (3, "与户主关系"),
        (4, "与户主关系"),
        (6, "网格编码"),
    ]
    assert nothing_written()


@pytest.mark.django_db
def test_members_added_to_a_household_already_registered_keep_its_head(office):
    g = office.grid.code
    assert import_persons(
        csv_bytes([person_row(g, "A", "户主", "15062119800101001")]), "a.csv", actor=None
    ).ok

    report = import_persons(csv_bytes([person_row(g, "A", "子", "15062120100101003")]), "b.csv", actor=None)

    assert report.ok, report.messages
    household = Household.objects.get(number="A")
    assert household.members == 2 and household.people.filter(relation="head").count() == 1
    refused = import_persons(
        csv_bytes([person_row(g, "A", "户主", "15062119800101011")]), "c.csv", actor=None
    )
    assert [(p.row, p.column) for p in refused.problems] == [(2, "与户主关系")]


@pytest.mark.django_db
def test_masked_numbers_and_the_templates_example_are_refused(office):
    g = office.grid.code
    masked = person_row(g, "A", "户主", "15062119800101001")
    masked[gen.DOCUMENT_NUMBER] = "150621********0019"
    masked[gen.MOBILE] = "138****5678"
    example = person_row(g, "B", "户主", "15062119800101002", **{gen.DOCUMENT_NUMBER: "11010519491231002X"})

    report = import_persons(csv_bytes([masked, example]), "p.csv", actor=office.admin)

    assert [(p.row, p.column) for p in report.problems] == [(2, "证件号码"), (2, "手机号"), (3, "证件号码")]
    assert report.problems[0].message == _(
        "A masked number (with *) cannot be imported: enter the full number."
    )
    assert report.problems[1].message == _(
        "A masked number (with *) cannot be imported: enter the full number, or leave the cell empty to keep the "
        "stored one."
    )
    assert nothing_written()


@pytest.mark.django_db
def test_a_grid_specialist_imports_only_into_their_grid_and_a_town_head_not_at_all(office):
    rows = [
        person_row(office.grid.code, "A", "户主", "15062119800101001"),
        person_row(office.other_town_grid.code, "B", "户主", "15062119800101002"),
        person_row("150621999999999", "C", "户主", "15062119800101003"),
    ]

    report = import_persons(csv_bytes(rows), "p.csv", actor=office.specialist)

    assert [(p.row, p.column) for p in report.problems] == [(3, "网格编码"), (4, "网格编码")]
    assert nothing_written()
    refused = import_persons(csv_bytes(rows[:1]), "p.csv", actor=office.l1head)
    assert not refused.ok and nothing_written()
    assert import_persons(csv_bytes(rows[:1]), "p.csv", actor=office.specialist).ok


@pytest.mark.django_db
def test_a_file_without_the_templates_columns_is_refused_and_extra_columns_are_named(office):
    rows = [person_row(office.grid.code, "A", "户主", "15062119800101001")]
    missing = csv_bytes(rows, headers=[h if h != gen.DOCUMENT_NUMBER else "身份证号码" for h in HEADERS])
    report = import_persons(missing, "p.csv", actor=office.admin)
    assert len(report.problems) == 1 and "证件号码" in report.problems[0].message

    extra = io.StringIO()
    extra.write("序号," + ",".join(HEADERS) + "\n1," + ",".join(rows[0][h] for h in HEADERS) + "\n")
    report = import_persons(extra.getvalue().encode(), "p.csv", actor=office.admin)
    assert report.ok, report.messages
    assert report.ignored_columns == ["序号"]
    assert import_persons(b"", "p.txt", actor=office.admin).problems
    assert import_persons(b"not a zip", "p.xlsx", actor=office.admin).problems


@pytest.mark.django_db
def test_unknown_labels_are_each_named_once(office):
    row = person_row(office.grid.code, "A", "邻居", "15062119800101001")
    row.update(
        {
            gen.DOCUMENT_TYPE: "驾驶证",
            gen.POPULATION_TYPE: "常住",
            gen.KEY_GROUPS: "独居老人;某某人员",
            gen.SEX: "x",
        }
    )

    report = import_persons(csv_bytes([row]), "p.csv", actor=office.admin)

    assert [(p.row, p.column) for p in report.problems] == [
        (2, "与户主关系"),
        (2, "证件类型"),
        (2, "性别"),
        (2, "人口类型"),
        (2, "重点人群"),
    ]
    assert "某某人员" not in "\n".join(report.messages)
    assert nothing_written()
