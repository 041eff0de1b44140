"""The import page, the template and export downloads and the `import_persons` command: a keeper's good file is
written and counted, a bad one writes nothing and names its cells without repeating a number of the file, a
town head is refused, a resident finds nothing, and the command fails loudly on a refused file."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from gridgov.registry import forms
from gridgov.registry import people as gen
from gridgov.registry.models import Household, Person

from .test_access import client_for

IMPORT = "/registry/import/"


def in_grid(office, people, n=40):
    """`n` generated persons, all in the specialist's grid."""
    return people(n, grids=[office.grid])


def upload(data: bytes, name: str = "persons.csv") -> dict:
    return {"file": SimpleUploadedFile(name, data, content_type="text/csv")}


@pytest.mark.django_db
def test_a_keeper_uploads_a_good_csv_and_sees_the_counts(office, people, as_file):
    rows = in_grid(office, people)
    client = client_for(office.specialist)
    page = client.get(IMPORT)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and "csrfmiddlewaretoken" in page.text
    assert 'accept=".xlsx,.csv' in page.text and "gridgov import-persons FILE" in page.text

    answer = client.post(IMPORT, upload(as_file(rows)))

    assert answer.status_code == 200
    assert Person.objects.count() == len(rows)
    households = len({r[gen.HOUSEHOLD_NUMBER] for r in rows})
    assert Household.objects.count() == households
    assert f'<span class="n">{len(rows)}</span> persons registered' in answer.text
    assert f'<span class="n">{households}</span> households created' in answer.text
    assert "Nothing was imported" not in answer.text
    assert answer["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_a_file_with_a_bad_row_writes_nothing_and_names_the_cell_without_its_numbers(office, people, as_file):
    rows, planted = gen.with_bad_rows(in_grid(office, people, 60), 5, seed=4)

    answer = client_for(office.specialist).post(IMPORT, upload(as_file(rows)))

    assert answer.status_code == 422
    assert not Person.objects.exists() and not Household.objects.exists()
    assert "Nothing was imported" in answer.text
    for row, column, _kind in planted:
        assert (
            f'<td class="num" data-label="Row">{row}</td><td data-label="Column">{column}</td>' in answer.text
        )
    for r in rows:
        for secret in (r[gen.DOCUMENT_NUMBER], r[gen.MOBILE]):
            assert not secret or secret not in answer.text


@pytest.mark.django_db
def test_more_problems_than_listed_are_counted(office, people, as_file, monkeypatch):
    monkeypatch.setattr("gridgov.registry.imports.MAX_PROBLEMS", 2)
    rows, _planted = gen.with_bad_rows(in_grid(office, people, 60), 5, seed=4)

    answer = client_for(office.specialist).post(IMPORT, upload(as_file(rows)))

    assert answer.text.count('<td class="num" data-label="Row">') == 2
    assert "and 3 more problems" in answer.text


@pytest.mark.django_db
def test_a_file_above_the_limit_is_refused_by_the_form(office, people, as_file, monkeypatch):
    data = as_file(in_grid(office, people, 5))
    monkeypatch.setattr(forms, "UPLOAD_MAX_BYTES", len(data) - 1)

    answer = client_for(office.specialist).post(IMPORT, upload(data))

    assert answer.status_code == 422
    assert "The file is larger than" in answer.text
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_a_town_head_is_refused_and_a_resident_finds_nothing(office, people, as_file):
    data = as_file(in_grid(office, people, 5))
    town_head = client_for(office.l1head)
    assert town_head.get(IMPORT).status_code == 403
    assert town_head.post(IMPORT, upload(data)).status_code == 403
    assert town_head.get("/registry/import/template.csv").status_code == 403
    assert not Person.objects.exists()
    assert client_for(office.resident).get(IMPORT).status_code == 404
    # The sub-navigation offers the page to those who may use it only.
    assert reverse("registry:import") not in town_head.get("/registry/persons/").text
    assert reverse("registry:import") in client_for(office.specialist).get("/registry/persons/").text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
        ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbf"),
    ],
)
def test_templates_download_as_attachments(office, fmt, content_type, magic):
    answer = client_for(office.specialist).get(reverse("registry:template", args=[fmt]))

    assert answer.status_code == 200
    assert answer["Content-Type"] == content_type
    assert answer["Content-Disposition"] == f'attachment; filename="persons-template.{fmt}"'
    assert answer.content.startswith(magic)


@pytest.mark.django_db
def test_an_export_is_a_masked_attachment_for_a_reader_and_nothing_for_a_resident(office, people, as_file):
    rows = people(80)
    from gridgov.registry.imports import import_persons

    assert import_persons(as_file(rows), "p.csv", actor=None).ok
    mine = [r for r in rows if r[gen.GRID_CODE] == office.grid.code]
    url = reverse("registry:export")

    answer = client_for(office.l1head).get(url, {"fmt": "csv", "grid": office.grid.code})

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="persons-')
    assert answer["Cache-Control"] == "private, no-store"
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(lines) == 2 + len(mine)  # the watermark, the header, the grid's persons
    for r in rows:
        assert r[gen.DOCUMENT_NUMBER] not in answer.content.decode("utf-8-sig")
    xlsx = client_for(office.l1head).get(url, {"fmt": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK\x03\x04")
    assert client_for(office.l1head).get(url, {"fmt": "pdf"}).status_code == 400
    assert client_for(office.resident).get(url, {"fmt": "csv"}).status_code == 404


@pytest.mark.django_db
def test_the_persons_list_links_to_the_export_with_its_filters(office):
    page = client_for(office.specialist).get("/registry/persons/", {"grid": office.grid.code})

    assert f"/registry/persons/export/?fmt=xlsx&amp;grid={office.grid.code}&amp;residence=" in page.text


@pytest.mark.django_db
@translation.override("en")  # the command speaks the active language (Chinese by default)
def test_the_command_imports_a_file_and_fails_on_a_bad_one(office, people, tmp_path):
    rows = in_grid(office, people, 30)
    good = tmp_path / "good.csv"
    gen.write_csv(good, rows)
    out, err = io.StringIO(), io.StringIO()

    call_command("import_persons", str(good), "--as", office.specialist.username, stdout=out, stderr=err)

    assert Person.objects.count() == 30
    assert "30 persons registered" in out.getvalue()

    bad_rows, planted = gen.with_bad_rows(people(40, grids=[office.grid_b], seed=9), 2, seed=1)
    bad = tmp_path / "bad.csv"
    gen.write_csv(bad, bad_rows)
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_persons", str(bad), stdout=out, stderr=err)
    assert Person.objects.count() == 30
    assert all(f"Row {row}, {column}" in err.getvalue() for row, column, _k in planted)
    # In the specialist's name, another grid's people are refused.
    with pytest.raises(CommandError):
        call_command("import_persons", str(bad), "--as", office.specialist.username, stdout=out, stderr=err)
    with pytest.raises(CommandError, match="No user"):
        call_command("import_persons", str(good), "--as", "nobody", stdout=out, stderr=err)


# -- the other kinds ---------------------------------------------------------------------------------------------


def organisation_csv(rows: list[list[str]]) -> bytes:
    from gridgov.registry.imports import ORGANISATIONS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.chinese for c in ORGANISATIONS.columns])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


@pytest.mark.django_db
def test_the_page_offers_each_kind_with_its_templates_and_imports_the_chosen_one(office):
    from gridgov.registry.models import Organisation
    from gridgov.registry.validators import credit_check_char

    client = client_for(office.specialist)
    page = client.get(IMPORT, {"kind": "organisations"})
    assert page.status_code == 200
    for kind in ("persons", "households", "buildings", "organisations", "components"):
        assert f'data-kind="{kind}"' in page.text
    assert 'aria-current="page">Organisations</a>' in page.text
    assert 'name="kind" value="organisations"' in page.text
    assert reverse("registry:record_template", args=["organisations", "xlsx"]) in page.text
    assert client.get(IMPORT, {"kind": "cars"}).status_code == 404

    body = "9115062100000001"
    code = body + "1" + credit_check_char(body + "1")
    good = [code, "便利店", "个体工商户", "王五", "", office.grid.code, "示例街1号", "在营"]
    bad = [code[:-1] + ("0" if code[-1] != "0" else "1"), "另一家", "商场", "", "", office.grid.code, "", ""]

    refused = client.post(IMPORT, {"kind": "organisations", **upload(organisation_csv([good, bad]), "o.csv")})

    assert refused.status_code == 422
    assert not Organisation.objects.exists()
    assert (
        '<td class="num" data-label="Row">3</td><td data-label="Column">统一社会信用代码</td>' in refused.text
    )
    assert '<td class="num" data-label="Row">3</td><td data-label="Column">类型</td>' in refused.text
    assert 'name="kind" value="organisations"' in refused.text

    answer = client.post(IMPORT, {"kind": "organisations", **upload(organisation_csv([good]), "o.csv")})

    assert answer.status_code == 200
    assert '<span class="n">1</span> organisations registered' in answer.text
    assert Organisation.objects.get().credit_code == code


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["households", "buildings", "organisations", "components"])
@pytest.mark.parametrize(("fmt", "magic"), [("xlsx", b"PK\x03\x04"), ("csv", b"\xef\xbb\xbf")])
def test_each_kinds_template_downloads_and_its_example_row_is_refused(office, catalog, kind, fmt, magic):
    from gridgov.registry.imports import import_file

    client = client_for(office.specialist)
    answer = client.get(reverse("registry:record_template", args=[kind, fmt]))

    assert answer.status_code == 200
    assert answer["Content-Disposition"] == f'attachment; filename="{kind}-template.{fmt}"'
    assert answer.content.startswith(magic)
    assert (
        client_for(office.l1head).get(reverse("registry:record_template", args=[kind, fmt])).status_code
        == 403
    )
    # Imported as it is, the example is refused (households have no example key: theirs is only refused when
    # its grid is not the importer's, so it is imported by the grid's keeper).
    report = import_file(kind, answer.content, f"t.{fmt}", actor=office.admin)
    if kind == "households":
        assert report.ok, report.messages
    else:
        assert [p.row for p in report.problems] == [2], report.messages
    assert client.get(reverse("registry:record_template", args=["cars", fmt])).status_code == 404


@pytest.mark.django_db
@translation.override("en")
def test_the_registry_command_imports_a_kind_and_fails_on_a_bad_file(office, tmp_path):
    from gridgov.registry.imports import BUILDINGS
    from gridgov.registry.models import Building

    path = tmp_path / "b.csv"
    header = ",".join(c.chinese for c in BUILDINGS.columns)
    path.write_text(f"{header}\nB1,1号楼,住宅,6,{office.grid.code},示例街1号\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_registry", "buildings", str(path), "--as", office.specialist.username, stdout=out, stderr=err
    )

    assert Building.objects.get().code == "B1"
    assert "1 buildings registered" in out.getvalue()
    path.write_text(f"{header}\nB2,,住宅,6,{office.grid.code},\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_registry", "buildings", str(path), stdout=out, stderr=err)
    assert "Row 2, 名称" in err.getvalue()
    assert Building.objects.count() == 1
