"""Extending the list from the national catalogue: the real transcription, Chinese encodings, bad files."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from gridgov.catalog.models import Item, ItemKind, TimeLimit
from gridgov.catalog.services import CatalogDataError, do_import_items_csv
from gridgov.core.models import AuditRecord

from .conftest import TRANSCRIPTION, needs_transcription

HEADER = "matter_kind,standard_code,major_code,major_name,name\n"


@needs_transcription
@pytest.mark.django_db
def test_the_national_catalogue_extends_the_list_once(catalog):
    report = do_import_items_csv(TRANSCRIPTION, actor=None, module_code="03", lead_department_code="ZJ")
    # 153 components and 250 matters, less the 74 the packaged list already carries.
    assert len(report.created) == 403 - 74 and len(report.skipped) == 74
    assert Item.objects.count() == 145 + 329
    well = Item.objects.get(kind=ItemKind.COMPONENT, standard_code="01024")
    assert (well.name, well.module.code, well.lead_department.code) == ("水井", "03", "ZJ")
    assert well.code.startswith("031") and well.pinyin == "shuijing sj"
    assert TimeLimit.objects.filter(item=well).count() == 10
    # The packaged 雨水井盖 keeps its place; the matter 雨水井盖异常 is new, as an event.
    assert Item.objects.filter(standard_code="01003", kind=ItemKind.COMPONENT).get().code == "031001"
    assert Item.objects.filter(standard_code="01003", kind=ItemKind.EVENT).get().name == "雨水井盖异常"
    assert len(set(Item.objects.values_list("code", flat=True))) == Item.objects.count()
    again = do_import_items_csv(TRANSCRIPTION, actor=None, module_code="03", lead_department_code="ZJ")
    assert again.created == [] and len(again.skipped) == 403
    assert Item.objects.count() == 145 + 329
    assert AuditRecord.objects.filter(action="catalog.import").count() == 1


@needs_transcription
@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_chinese_spreadsheet_encodings_are_read(catalog, tmp_path, encoding):
    lines = TRANSCRIPTION.read_text(encoding="utf-8-sig").splitlines()
    # The traffic facilities (class 02) that the list does not carry yet, as Excel would save them.
    rows = [line for line in lines[1:] if line.startswith("管理部件,02")]
    path = tmp_path / "traffic.csv"
    path.write_bytes(("\r\n".join([lines[0], *rows]) + "\r\n").encode(encoding))
    report = do_import_items_csv(
        path, actor=None, module_code="09", lead_department_code="JJ", kind=ItemKind.COMPONENT
    )
    names = {i.name for i in report.created}
    assert "立体车库" in names and "门（楼号）牌" not in names  # the latter is already item 091007
    assert len(report.created) == len(rows) - 10  # ten traffic components are packaged items


@pytest.mark.django_db
def test_a_bad_file_is_refused_whole_with_each_bad_row_named(catalog, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "管理部件,02002,02,交通设施,立体车库\n"  # line 2: fine
        + "设施,02003,02,交通设施,停车计费设备\n"  # line 3: unknown kind
        + "管理部件,2004,02,交通设施,公交站设施\n"  # line 4: 4-digit code
        + "管理部件,02005,03,交通设施,出租车停靠站\n"  # line 5: class does not match
        + "管理事项,02006,02,交通设施类,\n"  # line 6: no name
        + "管理部件,02002,02,交通设施,立体车库\n"  # line 7: twice
        + "管理部件,02007,02\n",  # line 8: short row
        encoding="utf-8",
    )
    before = Item.objects.count()
    with translation.override("en"), pytest.raises(CatalogDataError) as exc:
        do_import_items_csv(path, actor=None, module_code="09", lead_department_code="JJ")
    messages = exc.value.messages
    assert [m.split(":")[0] for m in messages] == [f"Line {n}" for n in range(3, 9)]
    assert "设施" in messages[0] and "2004" in messages[1] and "major_code 03" in messages[2]
    assert "name is empty" in messages[3] and "first on line 2" in messages[4] and "columns" in messages[5]
    assert Item.objects.count() == before
    assert not AuditRecord.objects.filter(action="catalog.import").exists()


@pytest.mark.django_db
def test_unknown_module_department_and_header_are_named(catalog, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("kind,code,name\n管理部件,02002,立体车库\n", encoding="utf-8")
    with translation.override("en"), pytest.raises(CatalogDataError) as exc:
        do_import_items_csv(path, actor=None, module_code="99", lead_department_code="XX")
    text = "\n".join(exc.value.messages)
    assert "module has the code 99" in text and "department has the code XX" in text
    assert "missing column(s) matter_kind, standard_code, major_code, major_name" in text
    path.write_bytes(b"\xff\xfe\x00\x00garbage")
    with translation.override("en"), pytest.raises(CatalogDataError, match="neither UTF-8 nor GB18030"):
        do_import_items_csv(path, actor=None, module_code="09", lead_department_code="JJ")


@pytest.mark.django_db
def test_the_command_imports_and_reports(catalog, tmp_path, capsys):
    path = tmp_path / "two.csv"
    path.write_text(
        HEADER + "管理部件,02002,02,交通设施,立体车库\n管理事项,02002,02,交通设施类,立体车库异常\n"
    )
    call_command("import_catalog", str(path), "--module", "09", "--department", "JJ", "--kind", "event")
    assert list(Item.objects.filter(name__startswith="立体车库").values_list("code", "kind")) == [
        ("092011", "event")
    ]
    entry = AuditRecord.objects.get(action="catalog.import")
    assert entry.data["created"] == ["092011"] and entry.data["department"] == "JJ"
    path.write_text(HEADER + "管理部件,0200X,02,交通设施,立体车库\n")
    with pytest.raises(CommandError):
        call_command("import_catalog", str(path), "--module", "09", "--department", "JJ")
    assert "0200X" in capsys.readouterr().err
