"""Notes (备注): read from the persons file, kept when a later file leaves the cell empty, set in the register form,
shown on the person's and the household's pages, and never put on the audit record or in a log."""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest
from django.utils import translation

from gridgov.core.models import AuditRecord
from gridgov.registry import people as gen
from gridgov.registry.imports import HOUSEHOLDS, import_file, import_persons
from gridgov.registry.models import Household, Person
from gridgov.registry.services import NOTE_MAX
from gridgov.registry.validators import id_check_char

from .test_access import client_for

REMARK = "邻里纠纷，需每周走访"


def persons_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(gen.HEADERS)
    writer.writerows([r[h] for h in gen.HEADERS] for r in rows)
    return out.getvalue().encode("utf-8-sig")


def head(grid_code: str, note: str = "") -> dict[str, str]:
    body = "15062119800101123"
    row = {h: "" for h in gen.HEADERS}
    row.update({gen.HOUSEHOLD_NUMBER: "H1", gen.RELATION: "户主", gen.NAME: "赵六", gen.DOCUMENT_TYPE: "身份证",
                gen.DOCUMENT_NUMBER: body + id_check_char(body), gen.GRID_CODE: grid_code, gen.NOTE: note})  # fmt: skip
    return row


@pytest.mark.django_db
def test_a_persons_note_is_imported_kept_when_empty_and_never_logged(office, caplog):
    caplog.set_level(logging.DEBUG)
    with translation.override("zh-hans"):
        first = import_persons(
            persons_csv([head(office.grid.code, REMARK)]), "p.csv", actor=office.specialist
        )
        assert first.ok, first.messages
        assert Person.objects.get().note == REMARK

        again = import_persons(persons_csv([head(office.grid.code, "")]), "p.csv", actor=office.specialist)
        assert again.ok and again.updated == 1
        assert Person.objects.get().note == REMARK

        too_long = import_persons(
            persons_csv([head(office.grid.code, "长" * (NOTE_MAX + 1))]), "p.csv", actor=office.specialist
        )
        assert [(p.row, p.column) for p in too_long.problems] == [(2, "备注")]
    assert REMARK not in json.dumps(
        list(AuditRecord.objects.values_list("data", flat=True)), ensure_ascii=False
    )
    assert REMARK not in caplog.text


@pytest.mark.django_db
def test_the_person_and_household_pages_show_their_notes(office):
    assert import_persons(persons_csv([head(office.grid.code, REMARK)]), "p.csv", actor=office.specialist).ok
    out = io.StringIO()
    csv.writer(out).writerows(
        [
            [c.chinese for c in HOUSEHOLDS.all_columns],
            ["H1", office.grid.code, "", "3号", "", "", "", "低保复核中"],
        ]
    )
    report = import_file("households", out.getvalue().encode(), "h.csv", actor=office.specialist)
    assert report.ok, report.messages
    assert (report.created, report.updated) == (0, 1)
    household = Household.objects.get()
    assert (household.note, household.house_number, household.members) == ("低保复核中", "3号", 1)

    client = client_for(office.specialist)
    person = Person.objects.get()
    assert REMARK in client.get(f"/registry/persons/{person.pk}/").text
    assert "低保复核中" in client.get(f"/registry/households/{household.pk}/").text


@pytest.mark.django_db
def test_the_register_form_sets_a_note(office):
    body = "15062120010203002"
    client = client_for(office.specialist)
    form = client.get("/registry/persons/new/")
    assert 'name="note"' in form.text

    answer = client.post(
        "/registry/persons/new/",
        {
            "name": "刘晓燕",
            "document_kind": "id_card",
            "document_number": body + id_check_char(body),
            "grid": office.grid.code,
            "residence": "registered",
            "note": REMARK,
        },
    )

    assert answer.status_code == 302, answer.text
    assert Person.objects.get().note == REMARK
    assert REMARK not in json.dumps(
        list(AuditRecord.objects.values_list("data", flat=True)), ensure_ascii=False
    )
    refused = client.post(
        "/registry/persons/new/",
        {"name": "王五", "document_kind": "id_card", "grid": office.grid.code, "residence": "registered",
         "note": "长" * (NOTE_MAX + 1)},
    )  # fmt: skip
    assert refused.status_code == 422 and 'data-field="note"' in refused.text
