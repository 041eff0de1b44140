"""台账 import: persons, households, buildings, organisations and components, each from its template's columns
(Chinese or English headers), every row checked before anything is written, then one transaction that writes
them all in bulk with one audit record.

One machinery for every kind: one reader for CSV and XLSX (`read_sheet`), one report (`ImportReport`), one
driver (`import_file`: check every row, check the rows against each other and the register, then write all or
nothing). A kind says only its columns, how a row is checked, how the register already holds it, and how it is
written (persons: `_PersonImporter`; the others: `_RecordImporter`'s subclasses on the shared bulk writer).

Rules a clerk relies on:
- Nothing is written while any cell is wrong; the report names every bad cell by its row (as Excel numbers it)
  and its column header (as the file spells it), without repeating ID numbers or phones.
- A person already in the register (the same document) is updated in place, never duplicated; a person whose
  grid changes moves, with the move in their history.
- An empty cell keeps what the register holds (phone, Mongolian name, ethnicity, address, residence…); the
  household and the relation are the file's.
- Masked numbers (an export's `150621********123X`, `138****1234`) cannot be imported: the full number, or an
  empty cell for a phone (keep the stored one).
- Key groups in the file are added to the person's labels; the import never removes a label.
- A leading watermark line of an export (导出人: … / Exported by: …) is skipped, so an export can be edited and
  imported again once its numbers are filled in.
- The 备注 column is the record's note; an empty cell keeps the stored note. Notes may be personal: they never
  reach a report, a log or the audit record.
- Households, buildings, organisations and components are found again by their number, building code, unified
  social credit code (an organisation without one: by its name in its grid) and component ID: a record already
  registered is updated in place, never duplicated, when it lies in a grid the importer keeps; one registered in
  a grid they do not keep is reported on its row (its keepers or the office may change it). Two rows with the
  same key are reported: a record is listed once.
- Whoever imports places records only in the grids they keep (`may_import`, `_kept_grids`): a row naming
  another grid is reported on its grid cell."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DateField, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from openpyxl.utils import get_column_letter

from gridgov.accounts.importers import FORMULA_START, ImportFileError
from gridgov.accounts.scoping import held_roles, is_county_wide
from gridgov.catalog.models import Department, Item, ItemKind
from gridgov.core import audit
from gridgov.core.crypto import provider
from gridgov.core.masking import mask_phone
from gridgov.core.personal import KEY_GROUP, PHONE, blind_index, encrypt_text
from gridgov.core.textfiles import UnreadableFile, decode_text, open_workbook
from gridgov.grids.models import Grid

from . import validators
from .choices import (
    BuildingKind,
    ComponentState,
    KeyGroup,
    MoveKind,
    OrganisationKind,
    OrganisationState,
    PersonState,
    Relation,
    Residence,
    Source,
)
from .codes import DocumentKind, Ethnicity, Gender
from .models import Building, Component, Household, KeyGroupLabel, Organisation, Person, PersonMove
from .scoping import REGISTRY_KEEPERS, keeper_reach
from .services import NOTE_MAX, PersonInput, clean_person, document_index, key_group_index, note_too_long

MAX_BYTES = 200 * 1024 * 1024  # a county's 370,000 people: ~60 MB of CSV, ~25 MB of XLSX
# A worksheet's XML packs about ten to one; a zip bomb packs a thousand to one.
MAX_UNPACK_RATIO = 40
MIN_UNPACKED_ALLOWANCE = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_PROBLEMS = 1000
# SQLite builds before 3.32 allow 999 variables per statement, later ones 32,766; lists of ids stay far below.
CHUNK = 5000

# -- the template ------------------------------------------------------------------------------------------------


class Column(NamedTuple):
    key: str
    chinese: str  # the template's header
    english: str  # the header an English-speaking office may use instead


@dataclass(frozen=True)
class Template:
    """A kind of record's file: the columns its header must have, those it may have, and the columns given
    together or not at all (longitude and latitude)."""

    kind: str
    columns: tuple[Column, ...]
    optional: tuple[Column, ...] = ()
    together: tuple[tuple[str, str], ...] = (("lon", "lat"),)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.optional

    @property
    def order(self) -> dict[str, int]:
        return {c.key: n for n, c in enumerate(self.all_columns)}


NOTE_COLUMN = Column("note", "备注", "note")
POINT_COLUMNS = (Column("lon", "经度", "longitude"), Column("lat", "纬度", "latitude"))

COLUMNS: tuple[Column, ...] = (
    Column("household", "户号", "household number"),
    Column("relation", "与户主关系", "relation"),
    Column("name", "姓名", "name"),
    Column("name_mongolian", "蒙古文姓名", "Mongolian name"),
    Column("document_kind", "证件类型", "document type"),
    Column("document_number", "证件号码", "document number"),
    Column("gender", "性别", "gender"),
    Column("ethnicity", "民族", "ethnicity"),
    Column("birth_date", "出生日期", "date of birth"),
    Column("phone", "手机号", "mobile"),
    Column("residence", "人口类型", "residence"),
    Column("grid_code", "网格编码", "grid code"),
    Column("address", "地址", "address"),
    Column("key_groups", "重点人群", "key groups"),
    Column("note", "备注", "note"),
)
OPTIONAL_COLUMNS: tuple[Column, ...] = (
    Column("lon", "经度", "longitude"),
    Column("lat", "纬度", "latitude"),
)
ALL_COLUMNS = COLUMNS + OPTIONAL_COLUMNS
COLUMN_ORDER = {c.key: n for n, c in enumerate(ALL_COLUMNS)}
PERSONS = Template("persons", COLUMNS, OPTIONAL_COLUMNS)
HOUSEHOLDS = Template(
    "households",
    (
        Column("number", "户号", "household number"),
        Column("grid_code", "网格编码", "grid code"),
        Column("building", "楼栋编码", "building code"),
        Column("house_number", "门牌号", "house number"),
        Column("address", "地址", "address"),
    ),
    (*POINT_COLUMNS, NOTE_COLUMN),
)
BUILDINGS = Template(
    "buildings",
    (
        Column("code", "楼栋编码", "building code"),
        Column("name", "名称", "name"),
        Column("kind", "类型", "kind"),
        Column("floors", "层数", "floors"),
        Column("grid_code", "网格编码", "grid code"),
        Column("address", "地址", "address"),
    ),
    (*POINT_COLUMNS, NOTE_COLUMN),
)
ORGANISATIONS = Template(
    "organisations",
    (
        Column("credit_code", "统一社会信用代码", "unified social credit code"),
        Column("name", "名称", "name"),
        Column("kind", "类型", "kind"),
        Column("representative", "法定代表人或负责人", "legal representative or keeper"),
        Column("phone", "联系电话", "phone"),
        Column("grid_code", "网格编码", "grid code"),
        Column("address", "地址", "address"),
        Column("state", "经营状态", "state"),
    ),
    (
        Column("building", "楼栋编码", "building code"),
        Column("employees", "从业人数", "employees"),
        *POINT_COLUMNS,
        NOTE_COLUMN,
    ),
)
COMPONENTS = Template(
    "components",
    (
        Column("object_id", "部件标识码", "component ID"),
        Column("item", "部件类别", "class"),
        Column("name", "名称", "name"),
        Column("grid_code", "网格编码", "grid code"),
        Column("location", "位置", "where"),
        Column("owner_department", "主管部门", "department in charge"),
        Column("owner_unit", "权属单位", "owner"),
        Column("maintainer_department", "养护部门", "maintained by"),
        Column("state", "状态", "state"),
    ),
    (Column("installed_on", "设置日期", "installed"), *POINT_COLUMNS, NOTE_COLUMN),
)


def kind_label(kind: str) -> Any:
    """A kind of record's name in the reader's language (lazy: forms build their choices at import time)."""
    return {
        "persons": pgettext_lazy("record kind", "Persons"),
        "households": pgettext_lazy("record kind", "Households"),
        "buildings": pgettext_lazy("record kind", "Buildings"),
        "organisations": pgettext_lazy("record kind", "Organisations"),
        "components": pgettext_lazy("record kind", "Components"),
    }[kind]


TEMPLATES: dict[str, Template] = {
    t.kind: t for t in (PERSONS, HOUSEHOLDS, BUILDINGS, ORGANISATIONS, COMPONENTS)
}
KINDS = tuple(TEMPLATES)
WATERMARK_STARTS = ("导出人", "exported by")

# The template's example person: the sample number GB 11643 publishes, refused on import so that the example
# row is never registered as somebody.
EXAMPLE_ID_NUMBER = "11010519491231002X"

# Chinese words for each code, the usual label first (what exports write); the English labels and the codes
# themselves are accepted as well.
RELATION_WORDS: dict[str, tuple[str, ...]] = {
    Relation.HEAD: ("户主", "本人"),
    Relation.SPOUSE: ("配偶", "妻", "妻子", "夫", "丈夫"),
    Relation.SON: ("子", "儿子", "长子", "次子", "三子", "独子"),
    Relation.DAUGHTER: ("女", "女儿", "长女", "次女", "三女", "独女"),
    Relation.PARENT: ("父母", "父亲", "母亲", "父", "母"),
    Relation.GRANDCHILD: ("孙子女", "孙子", "孙女", "外孙子", "外孙女"),
    Relation.SIBLING: ("兄弟姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    Relation.OTHER: ("其他", "儿媳", "女婿", "祖父母", "其他亲属"),
}
DOCUMENT_WORDS: dict[str, tuple[str, ...]] = {
    DocumentKind.ID_CARD: ("居民身份证", "身份证"),
    DocumentKind.HMT_RESIDENCE: ("港澳台居民居住证",),
    DocumentKind.HK_MACAO_PERMIT: ("港澳居民来往内地通行证", "回乡证"),
    DocumentKind.TAIWAN_PERMIT: ("台湾居民来往大陆通行证", "台胞证"),
    DocumentKind.FOREIGNER_PERMANENT: ("外国人永久居留身份证", "外国人永久居留证"),
    DocumentKind.PASSPORT: ("护照",),
    DocumentKind.OTHER: ("其他证件", "其他"),
}
RESIDENCE_WORDS: dict[str, tuple[str, ...]] = {
    Residence.REGISTERED: ("户籍人口", "户籍"),
    Residence.FLOATING: ("流动人口", "流动"),
    Residence.OVERSEAS: ("境外人员", "境外人口", "境外"),
    Residence.LEFT_BEHIND: ("留守人员", "留守人口", "留守"),
}
KEY_GROUP_WORDS: dict[str, tuple[str, ...]] = {
    KeyGroup.ELDERLY_ALONE: ("独居老人", "空巢独居老人"),
    KeyGroup.DISABLED: ("残疾人",),
    KeyGroup.LEFT_BEHIND_CHILD: ("留守儿童",),
    KeyGroup.LOW_INCOME: ("低保对象", "低保户", "低保人员"),
    KeyGroup.COMMUNITY_CORRECTION: ("社区矫正人员", "社区矫正对象"),
    KeyGroup.RELEASED_PRISONER: ("刑满释放人员",),
    KeyGroup.SEVERE_MENTAL: ("严重精神障碍患者",),
    KeyGroup.DRUG_USER: ("吸毒人员", "社会吸毒人员"),
    KeyGroup.KEY_YOUTH: ("重点青少年",),
}
GENDER_WORDS: dict[str, tuple[str, ...]] = {
    Gender.UNKNOWN: ("未知", "未知的性别"),
    Gender.MALE: ("男", "男性", "m"),
    Gender.FEMALE: ("女", "女性", "f"),
    Gender.NOT_STATED: ("未说明", "未说明的性别"),
}
# GB/T 3304 in code order (Ethnicity's order).
_ETHNIC_NAMES = [
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克",
    "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌",
    "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安",
    "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
]  # fmt: skip
ETHNICITY_WORDS: dict[str, tuple[str, ...]] = {
    code: (f"{name}族", name) for code, name in zip(Ethnicity.values[:56], _ETHNIC_NAMES, strict=True)
}
ETHNICITY_WORDS[Ethnicity.OTHER] = ("其他", "未识别民族", "其他未识别民族")
ETHNICITY_WORDS[Ethnicity.FOREIGN_ORIGIN] = ("外国血统", "外国血统中国籍人士", "入籍")
KEY_GROUP_SEPARATORS = re.compile(r"[;；、,，]")
BUILDING_KIND_WORDS: dict[str, tuple[str, ...]] = {
    BuildingKind.RESIDENTIAL: ("住宅", "住宅楼", "居民楼"),
    BuildingKind.COURTYARD: ("农村院落", "院落", "平房院落"),
    BuildingKind.COMMERCIAL: ("商业", "商业楼", "商业用房"),
    BuildingKind.PUBLIC: ("公共建筑", "公建"),
    BuildingKind.INDUSTRIAL: ("工业", "厂房", "工业厂房"),
    BuildingKind.OTHER: ("其他",),
}
ORGANISATION_KIND_WORDS: dict[str, tuple[str, ...]] = {
    OrganisationKind.SHOP: ("个体工商户", "个体户", "商铺", "门店"),
    OrganisationKind.ENTERPRISE: ("企业", "公司"),
    OrganisationKind.SOCIAL: ("社会组织", "协会"),
    OrganisationKind.INSTITUTION: ("机关事业单位", "事业单位", "机关"),
    OrganisationKind.OTHER: ("其他",),
}
ORGANISATION_STATE_WORDS: dict[str, tuple[str, ...]] = {
    OrganisationState.OPEN: ("在营", "营业", "正常", "开业", "存续"),
    OrganisationState.CLOSED: ("歇业", "停业", "注销", "关闭"),
}
COMPONENT_STATE_WORDS: dict[str, tuple[str, ...]] = {
    ComponentState.GOOD: ("完好", "正常"),
    ComponentState.DAMAGED: ("损坏", "破损"),
    ComponentState.MISSING: ("丢失", "缺失"),
    ComponentState.OCCUPIED: ("占用", "被占用", "堵塞"),
    ComponentState.RETIRED: ("报废", "废弃", "停用"),
}
# {lookup name: (Chinese words, choices)}: the coded columns of every template.
WORD_TABLES: dict[str, tuple[dict[str, tuple[str, ...]], Any]] = {
    "relation": (RELATION_WORDS, Relation),
    "document_kind": (DOCUMENT_WORDS, DocumentKind),
    "residence": (RESIDENCE_WORDS, Residence),
    "key_groups": (KEY_GROUP_WORDS, KeyGroup),
    "gender": (GENDER_WORDS, Gender),
    "ethnicity": (ETHNICITY_WORDS, Ethnicity),
    "building_kind": (BUILDING_KIND_WORDS, BuildingKind),
    "organisation_kind": (ORGANISATION_KIND_WORDS, OrganisationKind),
    "organisation_state": (ORGANISATION_STATE_WORDS, OrganisationState),
    "component_state": (COMPONENT_STATE_WORDS, ComponentState),
}


def chinese_word(table: dict[str, tuple[str, ...]], code: str) -> str:
    """The usual Chinese word for a code (what a Chinese export writes)."""
    words = table.get(code)
    return words[0] if words else code


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


@cache
def _lookup(table_name: str) -> dict[str, str]:
    """{spelling: code}: the codes, the Chinese words and the choice labels in English and Chinese."""
    table, choices = WORD_TABLES[table_name]
    words: dict[str, str] = {}
    for value, label in choices.choices:
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                words[_fold(str(label))] = value
    for value, spellings in table.items():
        for spelling in spellings:
            words[_fold(spelling)] = value
    for value in choices.values:
        words[_fold(value)] = value
    if table_name == "ethnicity":
        for value in choices.values:  # "1" for "01"
            words[str(int(value))] = value
    return words


# -- reading a file ----------------------------------------------------------------------------------------------


class SheetFileError(ImportFileError):
    """The file cannot be read as its template; `row` and `column` say where, when a cell is at fault."""

    def __init__(self, message: str, *, row: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.row = row
        self.column = column


class SheetRow(NamedTuple):
    line: int  # the row number as Excel shows it
    values: dict[str, Any]  # column key -> the cell's value (text; a date or a number from an Excel cell)


class SheetRows(Iterator[SheetRow]):
    """The record rows of a file, read lazily after its header; `headers` is {column key: header as in the
    file}, `ignored` the headers of the columns that are not the template's."""

    def __init__(
        self,
        lines: Iterator[tuple[int, Sequence[Any]]],
        template: Template = PERSONS,
        *,
        formulas: bool = False,
        close: Any = None,
    ) -> None:
        self._lines = lines
        self.template = template
        self._formulas = formulas  # cells read from a workbook: a text starting with = is a formula
        self._close = close
        self.headers: dict[str, str] = {}
        self.ignored: list[str] = []
        self._positions: list[tuple[str, int]] = []
        self._count = 0
        self._read_header()

    def _refuse_formulas(self, line: int, cells: Sequence[Any]) -> None:
        for position, value in enumerate(cells):
            if type(value) is str and value.startswith("="):
                key = next((k for k, p in self._positions if p == position), "")
                raise SheetFileError(
                    _("Cell %(cell)s holds a formula: type values only (formulas are not imported).")
                    % {"cell": f"{get_column_letter(position + 1)}{line}"},
                    row=line,
                    column=self.headers.get(key, ""),
                )

    def _read_header(self) -> None:
        names = _header_names(self.template.kind)
        columns = self.template.columns
        for line, cells in self._lines:
            texts = [_plain(c) for c in cells]
            if not any(texts):
                continue
            if texts[0].casefold().startswith(WATERMARK_STARTS):
                continue  # an export's watermark line above the header
            if self._formulas:
                self._refuse_formulas(line, cells)
            for position, text in enumerate(texts):
                key = names.get(_fold(text))
                if key is None:
                    if text:
                        self.ignored.append(text)
                elif key in self.headers:
                    raise SheetFileError(
                        _("Row %(row)s has the column %(column)s twice.") % {"row": line, "column": text},
                        row=line,
                        column=text,
                    )
                else:
                    self.headers[key] = text
                    self._positions.append((key, position))
            missing = [c.chinese for c in columns if c.key not in self.headers]
            if missing:
                raise SheetFileError(
                    _(
                        "The header (row %(row)s) lacks the column(s) %(missing)s: the template's header is %(expected)s."
                    )
                    % {
                        "row": line,
                        "missing": "、".join(missing),
                        "expected": "、".join(c.chinese for c in columns),
                    },
                    row=line,
                )
            for first, second in self.template.together:
                if (first in self.headers) != (second in self.headers):
                    raise SheetFileError(_("Give both longitude and latitude columns, or neither."), row=line)
            return
        raise SheetFileError(_("The file is empty: it has no header row."))

    def __iter__(self) -> SheetRows:
        return self

    def __next__(self) -> SheetRow:
        positions = self._positions
        for line, cells in self._lines:
            if self._formulas:
                self._refuse_formulas(line, cells)
            width = len(cells)
            values = {key: cells[i] if i < width else None for key, i in positions}
            if all(v is None or v == "" for v in values.values()):
                continue
            self._count += 1
            if self._count > MAX_ROWS:
                raise SheetFileError(
                    _("The file has more than %(max)s rows: split it into smaller files.") % {"max": MAX_ROWS}
                )
            for key, value in values.items():
                if type(value) is str and value.startswith("'") and value[1:2] and value[1] in FORMULA_START:
                    values[key] = value[1:]  # an export's protection against formula injection, taken off
            return SheetRow(line, values)
        self.close()
        raise StopIteration

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


@cache
def _header_names(kind: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for column in TEMPLATES[kind].all_columns:
        for spelling in (column.key, column.chinese, column.english):
            names[_fold(spelling)] = column.key
    return names


def _plain(value: Any) -> str:
    return "" if value is None else str(value).strip()


def read_persons(data: bytes, name: str) -> SheetRows:
    """The rows of a persons file (`read_sheet` with the persons template)."""
    return read_sheet(data, name, PERSONS)


def read_sheet(data: bytes, name: str, template: Template) -> SheetRows:
    """The rows of an .xlsx (first sheet) or .csv (UTF-8, with or without BOM, or GB18030) file of `template`.

    Raises SheetFileError for a file that is not the template: too large, not a workbook, a zip bomb, a header
    without the template's columns, or a formula in a cell (naming the cell)."""
    lower = name.lower()
    if len(data) > MAX_BYTES:
        raise SheetFileError(
            _("The file is larger than %(mb)s MB: split it into smaller files.") % {"mb": MAX_BYTES // 2**20}
        )
    if lower.endswith(".csv"):
        return _read_csv(data, template)
    if lower.endswith(".xlsx"):
        return _read_xlsx(data, template)
    raise SheetFileError(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


def _read_csv(data: bytes, template: Template) -> SheetRows:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise SheetFileError(
            _("The file is neither UTF-8 nor GB18030 text (byte %(at)s): save it again as CSV.")
            % {"at": exc.start}
        ) from exc
    return SheetRows(enumerate(csv.reader(io.StringIO(text, newline="")), start=1), template)


def _read_xlsx(data: bytes, template: Template) -> SheetRows:
    try:
        wb = open_workbook(data, max_unpacked=max(MIN_UNPACKED_ALLOWANCE, MAX_UNPACK_RATIO * len(data)))
    except UnreadableFile as exc:
        raise SheetFileError(exc.message) from exc
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some writers store a wrong sheet size; read every row there is
        return SheetRows(
            enumerate(ws.iter_rows(values_only=True), start=1), template, formulas=True, close=wb.close
        )
    except BaseException:
        wb.close()
        raise


# -- checking ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    row: int  # as Excel numbers it (the header is row 1 unless a watermark line is above it)
    column: str  # the header as the file spells it ("" for the whole file)
    message: str


@dataclass
class ImportReport:
    kind: str = "persons"
    rows: int = 0
    created: int = 0  # records of the kind (persons, buildings…) registered
    updated: int = 0
    moved: int = 0  # persons only: found in another grid and moved
    households_created: int = 0  # persons only: the households their rows named
    households_updated: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    more_problems: int = 0  # problems found beyond the listed ones
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> list[tuple[int, str]]:
        """What was written, as (number, words) in the reader's language."""
        if self.kind == "persons":
            return [
                (self.created, _("persons registered")),
                (self.updated, _("persons updated")),
                (self.moved, _("persons moved from another grid")),
                (self.households_created, _("households created")),
                (self.households_updated, _("households updated")),
            ]
        created, updated = {
            "households": (_("households created"), _("households updated")),
            "buildings": (_("buildings registered"), _("buildings updated")),
            "organisations": (_("organisations registered"), _("organisations updated")),
            "components": (_("components registered"), _("components updated")),
        }[self.kind]
        return [(self.created, created), (self.updated, updated)]

    def reset_counts(self) -> None:
        self.created = self.updated = self.moved = self.households_created = self.households_updated = 0

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.more_problems

    @property
    def messages(self) -> list[str]:
        """Each problem in words: "Row 12, 证件号码: …"."""
        out = []
        for p in self.problems:
            if p.row and p.column:
                out.append(
                    _("Row %(row)s, %(column)s: %(message)s")
                    % {"row": p.row, "column": p.column, "message": p.message}
                )
            elif p.row:
                out.append(_("Row %(row)s: %(message)s") % {"row": p.row, "message": p.message})
            else:
                out.append(p.message)
        if self.more_problems:
            out.append(_("… and %(count)s more problems.") % {"count": self.more_problems})
        return out


# clean_person's field names -> the template's column keys.
_FIELD_COLUMN = {"grid": "grid_code"}
# Digits that could be part of a document number or a phone never reach a message of those columns.
_LONG_DIGITS = re.compile(r"\d{5,}")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


class _Row:
    """One checked row: what the cross-row checks and the writer need."""

    __slots__ = (
        "cleaned", "grid", "groups", "household", "index", "keep", "line", "problems", "relation",
    )  # fmt: skip

    def __init__(self, line: int) -> None:
        self.line = line
        self.household = ""
        self.relation = ""
        self.grid: Grid | None = None
        self.index = ""  # the document's blind index, when the number is valid
        self.cleaned: dict[str, Any] | None = None
        self.groups: list[str] = []
        self.keep: frozenset[str] = frozenset()  # fields whose cells were empty: an update keeps them
        self.problems: list[tuple[str, str]] = []  # (column key, message)


@dataclass
class _Context:
    grids: dict[str, Grid]  # current level-3 grids by code
    allowed: frozenset[int] | None  # grid ids the actor keeps (None: every grid)
    today: dt.date


def _context(actor: Any) -> _Context:
    grids = {
        g.code: g
        for g in Grid.objects.current()
        .filter(level=3)
        .only("id", "code", "name", "level", "valid_to", "path", "l1_id", "l2_id", "l3_id")
    }
    return _Context(grids=grids, allowed=_kept_grids(actor, grids.values()), today=timezone.localdate())


def _kept_grids(actor: Any, grids: Iterable[Grid]) -> frozenset[int] | None:
    """The level-3 grids whose people `actor` may register: those under their keeper roles (None: all)."""
    if actor is None or is_county_wide(actor):
        return None
    reach = keeper_reach(actor)
    return None if reach.everything else frozenset(g.pk for g in grids if reach.covers(g))


def may_import(actor: Any) -> bool:
    """Who may import at all (any kind): the grid's and the village's keepers, and the county's administrators."""
    return (
        actor is None or is_county_wide(actor) or any(h.role in REGISTRY_KEEPERS for h in held_roles(actor))
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def _unknown_word(key: str, value: str) -> str:
    """The message for a label that is not in the list (translated only when needed)."""
    if key == "relation":
        return _("Unknown relation “%(value)s”: see the list of codes.") % {"value": value}
    if key == "document_kind":
        return _("Unknown document type “%(value)s”: see the list of codes.") % {"value": value}
    if key == "gender":
        return _("Unknown gender “%(value)s”: write 男 or 女, or a GB/T 2261.1 code (0, 1, 2, 9).") % {
            "value": value
        }
    if key == "ethnicity":
        return _(
            "Unknown ethnicity “%(value)s”: write a name such as 汉族 or a GB/T 3304 code (01 to 56, 97, 98)."
        ) % {"value": value}
    if key == "residence":
        return _("Unknown kind of residence “%(value)s”: see the list of codes.") % {"value": value}
    raise KeyError(key)


def _word(row: Any, key: str, raw: Any, table: str = "") -> str:
    """The code a label stands for ("" for an empty cell); an unknown label is reported on column `key`."""
    text = _text(raw)
    if not text:
        return ""
    code = _lookup(table or key).get(_fold(text))
    if code is None:
        message = (
            _("Unknown value “%(value)s”: see the list of codes.") % {"value": text}
            if table
            else _unknown_word(key, text)
        )
        row.problems.append((key, message))
        return ""
    return code


def _date(row: Any, raw: Any, key: str = "birth_date") -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _text(raw)
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        message = (
            _("Write the date of birth as YYYY-MM-DD.")
            if key == "birth_date"
            else _("Write the date as YYYY-MM-DD.")
        )
        row.problems.append((key, message))
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        message = (
            _("The date of birth is no real day of the calendar.")
            if key == "birth_date"
            else _("The date is no real day of the calendar.")
        )
        row.problems.append((key, message))
        return None


def _number(row: Any, key: str, raw: Any) -> str:
    """A document number or a phone as text; numbers Excel has rounded and masked numbers are refused."""
    if raw is None:
        return ""
    if isinstance(raw, float) and (not raw.is_integer() or abs(raw) >= 1e15):
        row.problems.append(
            (
                key,
                _(
                    "The number is stored as a number and Excel has rounded it: format the column as text and type it again."
                ),
            )
        )
        return ""
    text = _text(raw)
    if "*" in text:
        if key == "phone":
            message = _(
                "A masked number (with *) cannot be imported: enter the full number, or leave the cell empty to keep the stored one."
            )
        else:
            message = _("A masked number (with *) cannot be imported: enter the full number.")
        row.problems.append((key, message))
        return ""
    return text


def _coordinate(row: Any, key: str, raw: Any, limit: float) -> float | None:
    text = _text(raw)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -limit <= value <= limit:
        row.problems.append(
            (
                key,
                _("Not a WGS-84 coordinate in degrees (%(min)s to %(max)s).") % {"min": -limit, "max": limit},
            )
        )
        return None
    return value


def _grid(row: Any, raw: Any, ctx: _Context, *, message: str) -> Grid | None:
    """The level-3 grid a row names, when it is current and one whose register the importer keeps; else the
    problem on the grid column (`message` when the cell is empty)."""
    code = _text(raw)
    if not code:
        row.problems.append(("grid_code", message))
        return None
    grid = ctx.grids.get(code)
    if grid is None:
        row.problems.append(
            ("grid_code", _("No current level-3 grid has the code %(code)s.") % {"code": code})
        )
    elif ctx.allowed is not None and grid.pk not in ctx.allowed:
        row.problems.append(
            ("grid_code", _("Grid %(code)s is not one whose register you keep.") % {"code": code})
        )
        grid = None
    return grid


def _point(row: Any, v: dict[str, Any]) -> tuple[float | None, float | None]:
    """Longitude and latitude, both or neither (None, None when the file has no such columns)."""
    if "lon" not in v:
        return None, None
    lon = _coordinate(row, "lon", v["lon"], 180)
    lat = _coordinate(row, "lat", v["lat"], 90)
    if (lon is None) != (lat is None) and not any(k in ("lon", "lat") for k, _m in row.problems):
        row.problems.append(("lon", _("Give both longitude and latitude, or neither.")))
    return lon, lat


def _note(row: Any, raw: Any) -> str:
    """The 备注 cell; its text is never repeated in a message (it may be personal)."""
    note = _text(raw)
    if len(note) > NOTE_MAX:
        row.problems.append(("note", note_too_long()))
        return ""
    return note


def check_row(sheet_row: SheetRow, ctx: _Context) -> _Row:
    """Every cell of one row; the cleaned person (encrypted, indexed) when none is wrong."""
    v = sheet_row.values
    row = _Row(sheet_row.line)
    problems = row.problems

    household = _text(v["household"])
    if len(household) > 30:
        problems.append(("household", _("A household number has at most 30 characters.")))
    row.household = household
    relation = _word(row, "relation", v["relation"])
    if household and not relation and not any(k == "relation" for k, _m in problems):
        problems.append(("relation", _("Say how the person is related to the head of the household.")))
    elif relation and not household:
        problems.append(("household", _("A relation is given but no household number.")))
    row.relation = relation

    kind_text = _text(v["document_kind"])
    kind = _word(row, "document_kind", kind_text)
    if not kind_text:
        kind = DocumentKind.ID_CARD
    number = _number(row, "document_number", v["document_number"])
    if not number and not any(k == "document_number" for k, _m in problems):
        problems.append(
            ("document_number", _("Enter the document number: the register finds a person again by it."))
        )
    elif unicodedata.normalize("NFKC", number).replace(" ", "").upper() == EXAMPLE_ID_NUMBER:
        problems.append(("document_number", _("This is the template's example person: delete the row.")))

    gender = _word(row, "gender", v["gender"])
    ethnicity = _word(row, "ethnicity", v["ethnicity"])
    birth = _date(row, v["birth_date"])
    phone = _number(row, "phone", v["phone"])
    residence = _word(row, "residence", v["residence"])

    grid = _grid(row, v["grid_code"], ctx, message=_("Enter the code of the person's level-3 grid."))
    row.grid = grid

    groups: list[str] = []
    groups_text = _text(v["key_groups"])
    if groups_text:
        words = _lookup("key_groups")
        for part in KEY_GROUP_SEPARATORS.split(groups_text):
            if not part.strip():
                continue
            group = words.get(_fold(part))
            if group is None:
                # The unknown word is not repeated: even misspelt, a key group is sensitive.
                problems.append(
                    (
                        "key_groups",
                        _("Unknown key group: use the names in the list of codes, separated by ; or 、."),
                    )
                )
            elif group not in groups:
                groups.append(group)
    row.groups = groups

    lon, lat = _point(row, v)
    name_mongolian = _text(v["name_mongolian"])
    address = _text(v["address"])
    note = _text(v["note"])  # clean_person checks its length
    cleaned, found = clean_person(
        PersonInput(
            name=_text(v["name"]),
            grid=grid,
            document_kind=kind or DocumentKind.ID_CARD,
            # An unknown document type is reported; its number is not checked against another type's rules.
            document_number=number if kind else "",
            name_mongolian=name_mongolian,
            gender=gender,
            ethnicity=ethnicity,
            birth_date=birth,
            phone=phone,
            relation=relation,
            residence=residence or Residence.REGISTERED,
            address=address,
            lon=lon,
            lat=lat,
            key_groups=groups,
            source=Source.IMPORT,
            note=note,
        )
    )
    if found:
        said = {k for k, _m in problems}
        for p in found:
            key = _FIELD_COLUMN.get(p.field, p.field)
            if key not in said:
                message = p.message
                if key in ("document_number", "phone"):
                    message = _LONG_DIGITS.sub(lambda m: "*" * len(m.group()), message)
                problems.append((key, message))
    if problems:
        if number and not any(k in ("document_number", "document_kind") for k, _m in problems):
            # Still compared with the other rows, so that a duplicate is reported in the same round.
            with contextlib.suppress(ValidationError):
                row.index = document_index(kind, validators.check_document(kind, number))
        return row
    assert cleaned is not None
    row.index = cleaned.document_index
    row.cleaned = cleaned.fields
    keep = {
        f
        for f, cell in (
            ("name_mongolian", name_mongolian),
            ("ethnicity", ethnicity),
            ("phone", phone),
            ("residence", residence),
            ("address", address),
            ("note", note),
        )
        if not cell
    }
    row.keep = frozenset(keep)
    return row


def _check_households(
    rows: list[_Row],
    existing: dict[str, tuple[int, int]],
    heads_in_db: dict[int, set[str]],
    indexes_in_file: set[str],
) -> None:
    """Each household: one head (or a head already in the register, when the file adds members), one grid."""
    by_number: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        if r.household:
            by_number[r.household].append(r)
    for number, members in by_number.items():
        first = members[0]
        for r in members[1:]:
            if r.grid is not None and first.grid is not None and r.grid.pk != first.grid.pk:
                r.problems.append(
                    (
                        "grid_code",
                        _(
                            "Household %(number)s is in grid %(code)s in row %(row)s: a household lies in one grid."
                        )
                        % {"number": number, "code": first.grid.code, "row": first.line},
                    )
                )
        if any(k == "relation" for r in members for k, _m in r.problems):
            continue  # a relation the file gets wrong may be the head's: reported as it is, not guessed at
        heads = [r for r in members if r.relation == Relation.HEAD]
        for r in heads[1:]:
            r.problems.append(
                (
                    "relation",
                    _("Household %(number)s already has its head in row %(row)s.")
                    % {"number": number, "row": heads[0].line},
                )
            )
        known = existing.get(number)
        if known and not all(r.index for r in members):
            continue  # who is who is unknown until the documents are right; their problems are reported
        others = heads_in_db.get(known[0], set()) - indexes_in_file if known else set()
        if not heads and not others:
            first.problems.append(
                (
                    "relation",
                    _("Household %(number)s has no head (户主): mark one member as the head.")
                    % {"number": number},
                )
            )
        elif heads and others:
            heads[0].problems.append(
                (
                    "relation",
                    _(
                        "Household %(number)s already has another head in the register: list them in the file too, with their relation now."
                    )
                    % {"number": number},
                )
            )


def _in_chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Register:
    """What the register already holds of a file: its people by document (id, grid, household), its households
    by number (id, grid), and the documents of those households' heads."""

    people: dict[str, tuple[int, int, int | None]]
    households: dict[str, tuple[int, int]]
    heads: dict[int, set[str]]


def _register(indexes: Sequence[str], numbers: Sequence[str]) -> _Register:
    people: dict[str, tuple[int, int, int | None]] = {}
    for chunk in _in_chunks(indexes):
        # `document_index <> ''` too: SQLite uses the partial unique index (the master index) only for a query
        # that implies its condition; without it each lookup reads the whole table.
        found = (
            Person.objects.filter(document_index__in=chunk)
            .exclude(document_index="")
            .values_list("document_index", "id", "grid_id", "household_id")
        )
        people.update((index, (pk, grid_id, household_id)) for index, pk, grid_id, household_id in found)
    households: dict[str, tuple[int, int]] = {}
    for chunk in _in_chunks(numbers):
        found_households = Household.objects.filter(number__in=chunk).values_list("number", "id", "grid_id")
        households.update((number, (pk, grid_id)) for number, pk, grid_id in found_households)
    heads: dict[int, set[str]] = defaultdict(set)
    for chunk in _in_chunks([pk for pk, _g in households.values()]):
        for household_id, index in Person.objects.filter(
            household_id__in=chunk, relation=Relation.HEAD
        ).values_list("household_id", "document_index"):
            heads[household_id].add(index)
    return _Register(people, households, heads)


def import_persons(data: bytes, name: str, *, actor: Any) -> ImportReport:
    """Check every row of a persons file; if all are right, write them all in one transaction (households,
    persons, moves, key-group labels, member counts) with one audit record. Never raises for a bad file: the
    report lists the problems, and then nothing was written."""
    return import_file("persons", data, name, actor=actor)


def import_file(kind: str, data: bytes, name: str, *, actor: Any) -> ImportReport:
    """Check every row of a file of `kind` (persons, households, buildings, organisations, components), then the
    rows against each other and the register; if all are right, write them all in one transaction with one
    audit record. Never raises for a bad file: the report lists the problems, and then nothing was written."""
    started = time.perf_counter()
    importer = IMPORTERS[kind]
    template = importer.template
    order = template.order
    report = ImportReport(kind=kind)
    problems: list[tuple[int, int, str, str]] = []  # (row, column order, header, message)

    def done() -> ImportReport:
        problems.sort(key=lambda p: (p[0], p[1]))
        report.problems = [ImportProblem(r, h, m) for r, _o, h, m in problems[:MAX_PROBLEMS]]
        report.more_problems = max(0, len(problems) - MAX_PROBLEMS)
        report.seconds = time.perf_counter() - started
        return report

    if not may_import(actor):
        problems.append((0, 0, "", _("Only the people who keep a grid's register may import it.")))
        return done()
    ctx = importer.context(actor)
    rows: list[Any] = []
    sheet: SheetRows | None = None
    try:
        sheet = read_sheet(data, name, template)
        report.ignored_columns = list(sheet.ignored)
        headers = sheet.headers
        check = importer.check
        for sheet_row in sheet:
            rows.append(check(sheet_row, ctx))
    except SheetFileError as exc:
        problems.append((exc.row, 0, exc.column, exc.message))
        return done()
    finally:
        if sheet is not None:
            sheet.close()
    report.rows = len(rows)
    if not rows:
        problems.append((0, 0, "", _("The file has a header but no rows to import.")))
        return done()

    held = importer.against_register(rows, ctx)
    for r in rows:
        for key, message in r.problems:
            problems.append((r.line, order.get(key, 0), headers.get(key, key), message))
    if problems:
        return done()

    try:
        with transaction.atomic():
            importer.write(rows, held, report, actor=actor, name=name)
            # Counts and the file's fingerprint only: never a name, a number or a note of the file.
            audit.record(
                "registry.import",
                actor=actor,
                data={
                    "kind": kind,
                    "format": "xlsx" if name.lower().endswith(".xlsx") else "csv",
                    "file_sm3": provider().sm3(data).hex(),
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    **(
                        {
                            "moved": report.moved,
                            "households_created": report.households_created,
                            "households_updated": report.households_updated,
                        }
                        if kind == "persons"
                        else {}
                    ),
                },
            )
    except IntegrityError:
        # Somebody registered one of these records while the file was checked.
        report.reset_counts()
        problems.append((0, 0, "", _("The register changed while the file was checked: import it again.")))
    return done()


class _PersonImporter:
    """Persons with their households: the master index by document, moves, key groups, member counts."""

    template = PERSONS

    def context(self, actor: Any) -> _Context:
        return _context(actor)

    def check(self, sheet_row: SheetRow, ctx: _Context) -> _Row:
        return check_row(sheet_row, ctx)

    def against_register(self, rows: list[_Row], ctx: _Context) -> _Register:
        first_of: dict[str, int] = {}
        for r in rows:
            if r.index:
                earlier = first_of.setdefault(r.index, r.line)
                if earlier != r.line:
                    r.problems.append(
                        ("document_number", _("The same document as row %(row)s.") % {"row": earlier})
                    )
        held = _register(list(first_of), sorted({r.household for r in rows if r.household}))
        _check_households(rows, held.households, held.heads, set(first_of))
        return held

    def write(
        self, rows: list[_Row], held: _Register, report: ImportReport, *, actor: Any, name: str
    ) -> None:
        _Writer(rows, held, report, actor=actor, name=name).write()


# -- writing -----------------------------------------------------------------------------------------------------


def _executemany(sql: str, rows: Iterable[Sequence[Any]]) -> None:
    with connection.cursor() as cursor:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _insert(model: Any, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Plain executemany (model instances and bulk_create cost several times more per row, and SQLite's
    bulk_create is held to 999 variables a statement). Columns not named get their field's default."""
    given = [model._meta.get_field(n) for n in names]
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f not in given]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in (*given, *rest))
    marks = ", ".join(["%s"] * (len(given) + len(rest)))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - fixed names
    _executemany(sql, ((*row, *defaults) for row in rows))


def _update(model: Any, assignments: Sequence[str], key: str, rows: Iterable[Sequence[Any]]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {key} = %s"  # noqa: S608 - fixed names
    _executemany(sql, rows)


def _keep_or_set(column: str) -> str:
    """An assignment that keeps the stored value when the parameter is NULL (the cell was empty)."""
    name = connection.ops.quote_name(column)
    return f"{name} = COALESCE(%s, {name})"


PERSON_FIELDS = [f for f in Person._meta.concrete_fields if not f.primary_key]
# Person columns an update keeps when the file's cell is empty (the phone: its three columns together).
KEPT_WHEN_EMPTY = {
    "name_mongolian": "name_mongolian",
    "ethnicity": "ethnicity",
    "phone_enc": "phone",
    "phone_index": "phone",
    "phone_masked": "phone",
    "residence": "residence",
    "address": "address",
    "note": "note",
}


class _Writer:
    """Writes a checked file in bulk: a few statements per thousand rows, no query per row."""

    def __init__(
        self, rows: list[_Row], held: _Register, report: ImportReport, *, actor: Any, name: str
    ) -> None:
        self.rows = rows
        self.held = held
        self.report = report
        self.actor_id = getattr(actor, "pk", None)
        self.now = timezone.now()
        self.now_db = Person._meta.get_field("updated_at").get_db_prep_save(self.now, connection)
        # The move's kind says "a register was imported" in the reader's language; the file is its reason.
        self.file_label = name.replace("\\", "/").rsplit("/", 1)[-1][:120]
        self.household_ids: dict[str, int] = {}
        self.person_ids: dict[str, int] = {}

    def write(self) -> None:
        self.households()
        new = [r for r in self.rows if r.index not in self.held.people]
        known = [r for r in self.rows if r.index in self.held.people]
        self.insert_people(new)
        self.update_people(known)
        self.moves(new, known)
        self.key_groups(known)
        self.member_counts()

    def households(self) -> None:
        """Created by number, or placed in the file's grid with its head's address and point."""
        first: dict[str, _Row] = {}
        for r in self.rows:
            if r.household and (r.household not in first or r.relation == Relation.HEAD):
                first[r.household] = r
        existing = self.held.households
        new = [n for n in first if n not in existing]
        _insert(
            Household,
            [
                "number",
                "grid",
                "grid_l1_id",
                "grid_l2_id",
                "grid_l3_id",
                "lon",
                "lat",
                "address",
                "created_at",
                "updated_at",
            ],
            ((n, *_grid_ids(first[n]), *_point_address(first[n]), self.now_db, self.now_db) for n in new),
        )
        self.household_ids = {n: pk for n, (pk, _g) in existing.items()}
        for chunk in _in_chunks(new):
            self.household_ids.update(Household.objects.filter(number__in=chunk).values_list("number", "id"))
        assignments = [
            "grid_id = %s", "grid_l1_id = %s", "grid_l2_id = %s", "grid_l3_id = %s", _keep_or_set("lon"),
            _keep_or_set("lat"), _keep_or_set("address"), "updated_at = %s",
        ]  # fmt: skip
        _update(
            Household,
            assignments,
            "id",
            (
                (*_grid_ids(r), *_point_address(r, empty_as_null=True), self.now_db, existing[n][0])
                for n, r in first.items()
                if n in existing
            ),
        )
        self.report.households_created = len(new)
        self.report.households_updated = len(first) - len(new)

    def insert_people(self, new: list[_Row]) -> None:
        names = [f.attname for f in PERSON_FIELDS]
        # Dates and times as the database takes them (DateTimeField is a DateField too).
        dates = {f.attname: f for f in PERSON_FIELDS if isinstance(f, DateField)}
        fixed = {
            "created_at": self.now,
            "updated_at": self.now,
            "state": PersonState.LIVING_HERE,
            "version": 1,
        }

        def values(r: _Row) -> list[Any]:
            assert r.cleaned is not None and r.grid is not None
            v = {**r.cleaned, **fixed, "household_id": self.household_ids.get(r.household)}
            v["grid_id"], v["grid_l1_id"], v["grid_l2_id"], v["grid_l3_id"] = _grid_ids(r)
            return [dates[n].get_db_prep_save(v[n], connection) if n in dates else v[n] for n in names]

        _insert(Person, names, (values(r) for r in new))
        self.person_ids = {index: pk for index, (pk, _g, _h) in self.held.people.items()}
        for chunk in _in_chunks([r.index for r in new]):
            found = Person.objects.filter(document_index__in=chunk).exclude(document_index="")
            self.person_ids.update(found.values_list("document_index", "id"))
        self.report.created = len(new)

    def update_people(self, known: list[_Row]) -> None:
        """In place, found by document: what the file says, except that empty cells keep the stored values."""
        birth = Person._meta.get_field("birth_date")
        kept = list(KEPT_WHEN_EMPTY)

        def values(r: _Row) -> list[Any]:
            c = r.cleaned
            assert c is not None
            return [
                *_grid_ids(r), c["lon"], c["lat"], self.now_db, c["name"], c["document_kind"], c["document_enc"],
                c["document_masked"], c["gender"], birth.get_db_prep_save(c["birth_date"], connection),
                self.household_ids.get(r.household), c["relation"],
                *(None if KEPT_WHEN_EMPTY[col] in r.keep else c[col] for col in kept),
                self.held.people[r.index][0],
            ]  # fmt: skip

        assignments = [
            "grid_id = %s", "grid_l1_id = %s", "grid_l2_id = %s", "grid_l3_id = %s", _keep_or_set("lon"),
            _keep_or_set("lat"), "updated_at = %s", "name = %s", "document_kind = %s", "document_enc = %s",
            "document_masked = %s", "gender = %s", _keep_or_set("birth_date"), "household_id = %s",
            "relation = %s", *(_keep_or_set(col) for col in kept), "version = version + 1",
        ]  # fmt: skip
        _update(
            Person,
            assignments,
            "id",
            (values(r) for r in known),
        )
        self.report.updated = len(known)

    def moves(self, new: list[_Row], known: list[_Row]) -> None:
        """Every new person registered by this import; a known person in another grid moved by it, with their
        key-group labels."""
        people = self.held.people
        moved = [r for r in known if r.grid is not None and people[r.index][1] != r.grid.pk]
        ids = self.person_ids
        _insert(
            PersonMove,
            ["person_id", "from_grid_id", "to_grid_id", "moved_at", "kind", "reason", "actor_id"],
            (
                *(
                    (
                        ids[r.index],
                        None,
                        _grid_ids(r)[0],
                        self.now_db,
                        MoveKind.IMPORTED,
                        self.file_label,
                        self.actor_id,
                    )
                    for r in new
                ),
                *(
                    (
                        ids[r.index],
                        people[r.index][1],
                        _grid_ids(r)[0],
                        self.now_db,
                        MoveKind.IMPORTED,
                        self.file_label,
                        self.actor_id,
                    )
                    for r in moved
                ),
            ),
        )
        _update(
            KeyGroupLabel,
            ["grid_l1_id = %s", "grid_l2_id = %s", "grid_l3_id = %s"],
            "person_id",
            ((*_grid_ids(r)[1:], ids[r.index]) for r in moved),
        )
        self.report.moved = len(moved)

    def key_groups(self, known: list[_Row]) -> None:
        """The file's groups added to each person's labels (encrypted, with their blind index); none removed."""
        ids = self.person_ids
        have: set[tuple[int, str]] = set()
        for chunk in _in_chunks([ids[r.index] for r in known if r.groups]):
            have.update(
                KeyGroupLabel.objects.filter(person_id__in=chunk).values_list("person_id", "group_index")
            )
        _insert(
            KeyGroupLabel,
            ["person_id", "group_enc", "group_index", "grid_l1_id", "grid_l2_id", "grid_l3_id", "created_at"],
            (
                (
                    ids[r.index],
                    encrypt_text(g, KEY_GROUP),
                    key_group_index(g),
                    *_grid_ids(r)[1:],
                    self.now_db,
                )
                for r in self.rows
                for g in r.groups
                if (ids[r.index], key_group_index(g)) not in have
            ),
        )

    def member_counts(self) -> None:
        """Of every household touched: the file's, and those its people left."""
        touched = set(self.household_ids.values())
        touched.update(h for _p, _g, h in self.held.people.values() if h is not None)
        living = (
            Person.objects.filter(household=OuterRef("pk"), state=PersonState.LIVING_HERE)
            .order_by()
            .values("household")
            .annotate(n=Count("id"))
            .values("n")
        )
        for chunk in _in_chunks(sorted(touched)):
            Household.objects.filter(pk__in=chunk).update(
                members=Coalesce(Subquery(living, output_field=IntegerField()), Value(0)), updated_at=self.now
            )


def _grid_ids(r: _Row | _Record) -> tuple[int, int | None, int | None, int | None]:
    g = r.grid
    assert g is not None
    return g.pk, g.l1_id, g.l2_id, g.l3_id


def _point_address(r: _Row, *, empty_as_null: bool = False) -> tuple[float | None, float | None, str | None]:
    c = r.cleaned
    assert c is not None
    return c["lon"], c["lat"], (c["address"] or None) if empty_as_null else c["address"]


# -- households, buildings, organisations, components ------------------------------------------------------------


class _Record:
    """One checked row of a record file: its key (how the register finds it again), its grid, its fields as
    the model names them, and the fields whose cells were empty (an update keeps what is stored)."""

    __slots__ = ("building", "cleaned", "existing", "grid", "keep", "key", "line", "problems")

    def __init__(self, line: int) -> None:
        self.line = line
        self.key: Any = None
        self.grid: Grid | None = None
        self.cleaned: dict[str, Any] = {}
        self.keep: set[str] = set()
        self.building = ""  # a building code to resolve against the register
        self.existing: int | None = None  # the id of the record the register already holds
        self.problems: list[tuple[str, str]] = []


def _text_cell(row: _Record, v: dict[str, Any], key: str, limit: int, *, required: str = "") -> str:
    """A text cell of at most `limit` characters; `required` is the message for an empty one."""
    text = _text(v.get(key))
    if not text and required:
        row.problems.append((key, required))
    elif len(text) > limit:
        row.problems.append((key, _("At most %(max)s characters.") % {"max": limit}))
        return ""
    return text


def _count(row: _Record, key: str, raw: Any, limit: int) -> int | None:
    """A whole number from 0 to `limit` (None for an empty cell)."""
    text = _text(raw)
    if not text:
        return None
    if not text.isdigit() or int(text) > limit:
        row.problems.append((key, _("Write a whole number from 0 to %(max)s.") % {"max": limit}))
        return None
    return int(text)


def _set(row: _Record, name: str, value: Any, default: Any) -> None:
    """A field that keeps its stored value on an update when the cell is empty, and is `default` when new."""
    if value in ("", None):
        row.keep.add(name)
        row.cleaned[name] = default
    else:
        row.cleaned[name] = value


class _RecordImporter:
    """A kind of record found again by one key (`key_column`): in the file once, in the register updated in
    place when it lies in a grid the importer keeps, reported when it lies in another; written in bulk."""

    template: Template
    model: Any
    key_column: str
    key_field: str
    # The template's example (its key), refused so that it is never registered.
    example_key = ""

    def context(self, actor: Any) -> _Context:
        return _context(actor)

    def check(self, sheet_row: SheetRow, ctx: _Context) -> _Record:
        row = _Record(sheet_row.line)
        v = sheet_row.values
        self.check_cells(row, v, ctx)
        lon, lat = _point(row, v)
        _set(row, "lon", lon, None)
        _set(row, "lat", lat, None)
        _set(row, "note", _note(row, v.get("note")), "")
        if row.key is not None and row.key == self.example_key:
            row.problems.append((self.key_column, _("This is the template's example: delete the row.")))
        return row

    def check_cells(self, row: _Record, v: dict[str, Any], ctx: _Context) -> None:
        raise NotImplementedError

    def existing(self, keys: list[Any]) -> dict[Any, tuple[int, int]]:
        """{key: (id, grid id)} of the keys the register holds."""
        found: dict[Any, tuple[int, int]] = {}
        for chunk in _in_chunks(keys):
            rows = self.model.objects.filter(**{f"{self.key_field}__in": chunk})
            found.update((k, (pk, g)) for k, pk, g in rows.values_list(self.key_field, "id", "grid_id"))
        return found

    def duplicate_column(self, row: _Record) -> str:
        return self.key_column

    def against_register(self, rows: list[_Record], ctx: _Context) -> None:
        first_of: dict[Any, int] = {}
        for r in rows:
            if r.key is None:
                continue
            earlier = first_of.setdefault(r.key, r.line)
            if earlier != r.line:
                r.problems.append(
                    (
                        self.duplicate_column(r),
                        _("The same as row %(row)s: each record is listed once.") % {"row": earlier},
                    )
                )
        held = self.existing(list(first_of))
        for r in rows:
            known = held.get(r.key) if r.key is not None else None
            if known is None:
                continue
            if ctx.allowed is not None and known[1] not in ctx.allowed:
                r.problems.append(
                    (
                        self.duplicate_column(r),
                        _(
                            "Registered in a grid whose register you do not keep: its keepers or the office may change it."
                        ),
                    )
                )
            else:
                r.existing = known[0]
        codes = sorted({r.building for r in rows if r.building})
        if codes:
            buildings: dict[str, tuple[int, int]] = {}
            for chunk in _in_chunks(codes):
                found = Building.objects.filter(code__in=chunk).values_list("code", "id", "grid_id")
                buildings.update((code, (pk, g)) for code, pk, g in found)
            for r in rows:
                if not r.building:
                    continue
                building = buildings.get(r.building)
                if building is None:
                    r.problems.append(
                        (
                            "building",
                            _("No building has the code %(code)s: import the buildings first.")
                            % {"code": r.building},
                        )
                    )
                elif ctx.allowed is not None and building[1] not in ctx.allowed:
                    r.problems.append(
                        (
                            "building",
                            _("Building %(code)s is in a grid whose register you do not keep.")
                            % {"code": r.building},
                        )
                    )
                else:
                    r.cleaned["building"] = building[0]
                    r.keep.discard("building")

    def write(self, rows: list[_Record], held: None, report: ImportReport, *, actor: Any, name: str) -> None:
        report.created, report.updated = _write_records(self.model, rows)


def _write_records(model: Any, rows: list[_Record]) -> tuple[int, int]:
    """New rows inserted, known ones updated in place (an empty cell keeps the stored value), in a few
    statements; returns (created, updated)."""
    names = list(rows[0].cleaned)
    fields = [model._meta.get_field(n) for n in names]
    now_db = model._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    kept = {n for r in rows for n in r.keep}

    def values(r: _Record, *, update: bool) -> list[Any]:
        return [
            None if update and n in r.keep else f.get_db_prep_save(r.cleaned[n], connection)
            for n, f in zip(names, fields, strict=True)
        ]

    new = [r for r in rows if r.existing is None]
    known = [r for r in rows if r.existing is not None]
    _insert(
        model,
        [*names, "grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "created_at", "updated_at"],
        ((*values(r, update=False), *_grid_ids(r), now_db, now_db) for r in new),
    )
    quote = connection.ops.quote_name
    assignments = [
        _keep_or_set(f.column) if n in kept else f"{quote(f.column)} = %s"
        for n, f in zip(names, fields, strict=True)
    ]
    assignments += [
        "grid_id = %s",
        "grid_l1_id = %s",
        "grid_l2_id = %s",
        "grid_l3_id = %s",
        "updated_at = %s",
    ]
    _update(
        model,
        assignments,
        "id",
        ((*values(r, update=True), *_grid_ids(r), now_db, r.existing) for r in known),
    )
    return len(new), len(known)


class _HouseholdImporter(_RecordImporter):
    """What a persons file cannot say of a household: its building and house number, its own address, point
    and note. Its members come with the persons file (the household is found by its number there)."""

    template = HOUSEHOLDS
    model = Household
    key_column = "number"
    key_field = "number"

    def check_cells(self, row: _Record, v: dict[str, Any], ctx: _Context) -> None:
        number = _text_cell(row, v, "number", 30, required=_("Enter the household number."))
        row.key = number or None
        row.cleaned["number"] = number
        row.grid = _grid(
            row, v["grid_code"], ctx, message=_("Enter the code of the household's level-3 grid.")
        )
        row.building = _text_cell(row, v, "building", 40)
        _set(row, "building", None, None)  # resolved against the register; empty keeps the stored one
        _set(row, "house_number", _text_cell(row, v, "house_number", 40), "")
        _set(row, "address", _text_cell(row, v, "address", 200), "")

    def against_register(self, rows: list[_Record], ctx: _Context) -> None:
        super().against_register(rows, ctx)
        # A household with members moves with them (the persons file): here its grid cannot change.
        known = {r.existing: r for r in rows if r.existing is not None and r.grid is not None}
        for chunk in _in_chunks(sorted(known)):
            for pk, grid_id, code in Household.objects.filter(pk__in=chunk, members__gt=0).values_list(
                "id", "grid_id", "grid__code"
            ):
                r = known[pk]
                if r.grid is not None and r.grid.pk != grid_id:
                    r.problems.append(
                        (
                            "grid_code",
                            _(
                                "The household's members live in grid %(code)s: move them with the persons file, and the household moves with them."
                            )
                            % {"code": code},
                        )
                    )


class _BuildingImporter(_RecordImporter):
    template = BUILDINGS
    model = Building
    key_column = "code"
    key_field = "code"
    example_key = "150621100200001-EXAMPLE"

    def check_cells(self, row: _Record, v: dict[str, Any], ctx: _Context) -> None:
        code = _text_cell(row, v, "code", 40, required=_("Enter the building code."))
        row.key = code or None
        row.cleaned["code"] = code
        row.cleaned["name"] = _text_cell(row, v, "name", 100, required=_("Enter the building's name."))
        _set(row, "kind", _word(row, "kind", v["kind"], "building_kind"), BuildingKind.OTHER)
        _set(row, "floors", _count(row, "floors", v["floors"], 200), None)
        row.grid = _grid(
            row, v["grid_code"], ctx, message=_("Enter the code of the building's level-3 grid.")
        )
        _set(row, "address", _text_cell(row, v, "address", 200), "")


# A landline as offices write it: area code, optional dash, 7 or 8 digits.
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


class _OrganisationImporter(_RecordImporter):
    """Found again by the unified social credit code (GB 32100); one without a code by its name in its grid."""

    template = ORGANISATIONS
    model = Organisation
    key_column = "credit_code"
    key_field = "credit_code"
    example_key = "91150621MA0EXAMPL8"

    def check_cells(self, row: _Record, v: dict[str, Any], ctx: _Context) -> None:
        code = ""
        raw_code = _text(v["credit_code"])
        if raw_code:
            try:
                code = validators.check_credit_code(raw_code)
            except ValidationError as exc:
                row.problems.append(("credit_code", " ".join(str(m) for m in exc.messages)))
        name = _text_cell(row, v, "name", 200, required=_("Enter the organisation's name."))
        row.cleaned["credit_code"] = code
        row.cleaned["name"] = name
        _set(row, "kind", _word(row, "kind", v["kind"], "organisation_kind"), OrganisationKind.OTHER)
        _set(row, "representative", _text_cell(row, v, "representative", 50), "")
        self.phone(row, v["phone"])
        row.grid = _grid(
            row, v["grid_code"], ctx, message=_("Enter the code of the organisation's level-3 grid.")
        )
        _set(row, "address", _text_cell(row, v, "address", 200), "")
        _set(row, "state", _word(row, "state", v["state"], "organisation_state"), OrganisationState.OPEN)
        row.building = _text_cell(row, v, "building", 40)
        _set(row, "building", None, None)
        _set(row, "employees", _count(row, "employees", v.get("employees"), 10_000_000), None)
        if raw_code and code:
            row.key = code
        elif not raw_code and name and row.grid is not None:
            row.key = (row.grid.pk, name)  # no code: the same name in the same grid is the same organisation
        _set(row, "source", None, Source.IMPORT)  # where a record came from stays what it was

    def phone(self, row: _Record, raw: Any) -> None:
        text = _number(row, "phone", raw)
        phone = ""
        if text:
            compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
            if _LANDLINE.fullmatch(compact):
                phone = compact
            else:
                try:
                    phone = validators.check_mobile(text)
                except ValidationError:
                    row.problems.append(
                        (
                            "phone",
                            _("Write a mobile number, or a landline with its area code (0477-1234567)."),
                        )
                    )
        for name, value in (
            ("phone_enc", encrypt_text(phone, PHONE) if phone else None),
            ("phone_index", blind_index(phone) if phone else ""),
            ("phone_masked", mask_phone(phone) if phone else ""),
        ):
            _set(row, name, value, None if name == "phone_enc" else "")

    def duplicate_column(self, row: _Record) -> str:
        return "credit_code" if isinstance(row.key, str) else "name"

    def existing(self, keys: list[Any]) -> dict[Any, tuple[int, int]]:
        codes = [k for k in keys if isinstance(k, str)]
        found = super().existing(codes)
        named = [k for k in keys if isinstance(k, tuple)]
        for chunk in _in_chunks(named):
            candidates = Organisation.objects.filter(
                credit_code="", grid_id__in={g for g, _n in chunk}, name__in={n for _g, n in chunk}
            ).values_list("grid_id", "name", "id")
            wanted = set(chunk)
            for grid_id, name, pk in candidates.order_by("id"):
                if (grid_id, name) in wanted:
                    found.setdefault((grid_id, name), (pk, grid_id))
        return found


@dataclass
class _ComponentContext(_Context):
    items: dict[str, Item | None] = field(default_factory=dict)  # spelling -> item (None: ambiguous)
    departments: dict[str, Department | None] = field(default_factory=dict)


class _ComponentImporter(_RecordImporter):
    """Found again by the 16-digit component ID; its class from the responsibility list's components, its
    departments by name."""

    template = COMPONENTS
    model = Component
    key_column = "object_id"
    key_field = "object_id"
    example_key = "1506210113999999"  # a 消防设施 (national code 01013)

    def context(self, actor: Any) -> _ComponentContext:
        base = _context(actor)
        ctx = _ComponentContext(grids=base.grids, allowed=base.allowed, today=base.today)
        for item in Item.objects.filter(kind=ItemKind.COMPONENT, active=True).select_related(
            "lead_department"
        ):
            for spelling in {item.code, item.name, item.name_en, item.standard_code} - {""}:
                key = _fold(spelling)
                ctx.items[key] = None if key in ctx.items and ctx.items[key] != item else item
        for d in Department.objects.filter(active=True):
            for spelling in {d.code, d.name, d.name_en, d.short_name} - {""}:
                key = _fold(spelling)
                ctx.departments[key] = None if key in ctx.departments and ctx.departments[key] != d else d
        return ctx

    def check_cells(self, row: _Record, v: dict[str, Any], ctx: _Context) -> None:
        assert isinstance(ctx, _ComponentContext)
        object_id = ""
        raw_id = _number(row, "object_id", v["object_id"])
        if raw_id:
            try:
                object_id = validators.check_component_id(raw_id)
            except ValidationError as exc:
                row.problems.append(("object_id", " ".join(str(m) for m in exc.messages)))
        elif not row.problems:
            row.problems.append(("object_id", _("Enter the component ID.")))
        row.key = object_id or None
        row.cleaned["object_id"] = object_id
        item = self.item(row, v["item"], ctx)
        if item is not None and object_id and len(item.standard_code) == 5:
            # The ID's digits 7 to 10 are the class's national code: major class, then minor class.
            major, minor = item.standard_code[:2], int(item.standard_code[2:])
            if object_id[6:8] != major or int(object_id[8:10]) != minor:
                row.problems.append(
                    (
                        "object_id",
                        _(
                            "Digits 7 to 10 of the component ID are %(digits)s; the class %(item)s has %(expected)s."
                        )
                        % {"digits": object_id[6:10], "item": item.label, "expected": f"{major}{minor:02d}"},
                    )
                )
        row.cleaned["item"] = item.pk if item is not None else None
        name = _text_cell(row, v, "name", 100)
        _set(row, "name", name, item.name if item is not None else "")
        row.grid = _grid(
            row, v["grid_code"], ctx, message=_("Enter the code of the component's level-3 grid.")
        )
        _set(row, "location", _text_cell(row, v, "location", 200), "")
        owner = self.department(row, "owner_department", v["owner_department"], ctx)
        _set(row, "owner_department", owner, item.lead_department_id if item is not None else None)
        _set(row, "owner_unit", _text_cell(row, v, "owner_unit", 100), "")
        _set(
            row,
            "maintainer_department",
            self.department(row, "maintainer_department", v["maintainer_department"], ctx),
            None,
        )
        _set(row, "state", _word(row, "state", v["state"], "component_state"), ComponentState.GOOD)
        _set(row, "installed_on", _date(row, v.get("installed_on"), "installed_on"), None)
        _set(row, "source", None, Source.IMPORT)  # where a record came from stays what it was

    def item(self, row: _Record, raw: Any, ctx: _ComponentContext) -> Item | None:
        text = _text(raw)
        if not text:
            row.problems.append(
                ("item", _("Enter the component's class (its code or name in the list of codes)."))
            )
            return None
        key = _fold(text)
        if key not in ctx.items:
            row.problems.append(
                ("item", _("“%(value)s” is no component class of the responsibility list.") % {"value": text})
            )
            return None
        item = ctx.items[key]
        if item is None:
            row.problems.append(
                ("item", _("Several classes are called “%(value)s”: write the class code.") % {"value": text})
            )
        return item

    def department(self, row: _Record, key: str, raw: Any, ctx: _ComponentContext) -> int | None:
        text = _text(raw)
        if not text:
            return None
        folded = _fold(text)
        if folded not in ctx.departments:
            row.problems.append((key, _("No department is called “%(value)s”.") % {"value": text}))
            return None
        department = ctx.departments[folded]
        if department is None:
            row.problems.append(
                (
                    key,
                    _("Several departments are called “%(value)s”: write the department code.")
                    % {"value": text},
                )
            )
            return None
        return department.pk


IMPORTERS: dict[str, Any] = {
    "persons": _PersonImporter(),
    "households": _HouseholdImporter(),
    "buildings": _BuildingImporter(),
    "organisations": _OrganisationImporter(),
    "components": _ComponentImporter(),
}
