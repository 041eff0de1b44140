"""The 台账 as files: an export of the records a user may see (persons, households, buildings, organisations,
components), and each kind's empty template.

An export has the import template's columns, so it can be edited and imported again; but its document numbers
and phones are masked (`150621********123X`, `138****1234`), and the importer refuses masked numbers: fill in the
full numbers (or empty the phone cells, which keeps the stored phones) before importing an edited export.

Every export carries a watermark naming who exported it, when, and that it is for internal work only: the first
line of the file (the importer skips it), and the page header and footer of the workbook. Key groups are
exported only to the people who may see them (the grid and the village); every cell goes through `neutralise`,
so that nothing in the file is a formula; every export is on the audit record (who, how many rows, which kind,
which filters; never a record's content). The other kinds' exports have their import templates' columns too,
phones masked the same way."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gridgov.accounts.importers import neutralise
from gridgov.core.audit import atomic_record
from gridgov.core.errors import Invalid, NotAllowed
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import (
    BuildingKind,
    ComponentState,
    KeyGroup,
    OrganisationKind,
    OrganisationState,
    PersonState,
    Relation,
    Residence,
)
from .codes import DocumentKind, Ethnicity, Gender
from .imports import (
    ALL_COLUMNS,
    BUILDING_KIND_WORDS,
    COLUMNS,
    COMPONENT_STATE_WORDS,
    DOCUMENT_WORDS,
    ETHNICITY_WORDS,
    EXAMPLE_ID_NUMBER,
    GENDER_WORDS,
    IMPORTERS,
    KEY_GROUP_WORDS,
    ORGANISATION_KIND_WORDS,
    ORGANISATION_STATE_WORDS,
    RELATION_WORDS,
    RESIDENCE_WORDS,
    TEMPLATES,
    Template,
    chinese_word,
    kind_label,
)
from .models import Building, Component, Household, KeyGroupLabel, Organisation, Person
from .scoping import reads_registry
from .services import key_group_index, key_group_of

FORMATS = ("xlsx", "csv")
CHUNK = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def headers(template: Template | None = None) -> list[str]:
    """A template's headers (the persons' by default) in the reader's language (the importer takes either)."""
    chinese = _chinese()
    columns = template.all_columns if template is not None else ALL_COLUMNS
    return [c.chinese if chinese else c.english for c in columns]


def _words(table: dict[str, tuple[str, ...]], choices: Any) -> dict[str, str]:
    """{code: what the export writes} in the reader's language: the usual Chinese word, or the English label."""
    chinese = _chinese()
    return {value: chinese_word(table, value) if chinese else str(label) for value, label in choices.choices}


def _word(table: dict[str, tuple[str, ...]], choices: Any, code: str) -> str:
    return _words(table, choices).get(code, code) if code else ""


def watermark(user: Any, now: dt.datetime | None = None) -> str:
    """Who exported, when, and what for: the first line of every export."""
    when = timezone.localtime(now or timezone.now()).strftime("%Y-%m-%d %H:%M")
    return _(
        "Exported by: %(username)s %(full_name)s Time: %(time)s Purpose: internal work only, do not pass on"
    ) % {
        "username": getattr(user, "username", ""),
        "full_name": getattr(user, "full_name", ""),
        "time": when,
    }


def _in_grid(qs: QuerySet[Any], code: str) -> QuerySet[Any]:
    """The rows of `qs` in the subtree of the current grid `code` (by its level's copied id), or Invalid."""
    found = Grid.objects.current().filter(code=code).values_list("id", "level").first()
    if found is None:
        raise Invalid(_("No current grid has the code %(code)s.") % {"code": code}, field="grid")
    pk, level = found
    return qs.filter(**{f"grid_l{min(level, 3)}_id": pk}) if level else qs


def _persons(user: Any, grid: str | None, residence: str | None, key_group: str | None) -> Any:
    qs = visible_to(user, Person).filter(state=PersonState.LIVING_HERE)
    if grid:
        qs = _in_grid(qs, grid)
    if residence:
        if residence not in Residence.values:
            raise Invalid(_("Unknown kind of residence."), field="residence")
        qs = qs.filter(residence=residence)
    if key_group:
        if key_group not in KeyGroup.values:
            raise Invalid(_("Unknown key group."), field="key_group")
        labelled = visible_to(user, KeyGroupLabel).filter(group_index=key_group_index(key_group))
        qs = qs.filter(pk__in=labelled.values("person_id"))
    head_first = Case(
        When(relation=Relation.HEAD, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return qs.annotate(head_first=head_first).order_by("grid__code", "household__number", "head_first", "id")


FIELDS = (
    "id", "household__number", "relation", "name", "name_mongolian", "document_kind", "document_masked", "gender",
    "ethnicity", "birth_date", "phone_masked", "residence", "grid__code", "address", "lon", "lat", "note",
)  # fmt: skip


def _rows(user: Any, qs: Any, *, dates_as_text: bool) -> Iterator[list[Any]]:
    """The export's rows, in the template's column order; key groups only where the user may see them."""
    labels = visible_to(user, KeyGroupLabel)
    separator = "、" if _chinese() else "; "
    relations, documents, genders, ethnicities, residences, key_groups = (
        _words(table, choices)
        for table, choices in (
            (RELATION_WORDS, Relation), (DOCUMENT_WORDS, DocumentKind), (GENDER_WORDS, Gender),
            (ETHNICITY_WORDS, Ethnicity), (RESIDENCE_WORDS, Residence), (KEY_GROUP_WORDS, KeyGroup),
        )
    )  # fmt: skip
    chunk: list[tuple[Any, ...]] = []

    def flush() -> Iterator[list[Any]]:
        groups: dict[int, list[str]] = {}
        for person_id, index in labels.filter(person_id__in=[r[0] for r in chunk]).values_list(
            "person_id", "group_index"
        ):
            group = key_group_of(index)  # by its blind index, never decrypted
            if group:
                groups.setdefault(person_id, []).append(group)
        for r in chunk:
            (pk, household, relation, name, mongolian, kind, document, gender, ethnicity, born, phone,
             residence, grid, address, lon, lat, note) = r  # fmt: skip
            yield [
                household or "",
                relations.get(relation, relation),
                name,
                mongolian,
                documents.get(kind, kind),
                document,
                genders.get(gender, gender),
                ethnicities.get(ethnicity, ethnicity),
                (born.isoformat() if dates_as_text else born) if born else "",
                phone,
                residences.get(residence, residence),
                grid,
                address,
                separator.join(key_groups[g] for g in sorted(groups.get(pk, ()))),
                note,  # shown to the same readers on the person's page
                "" if lon is None else lon,
                "" if lat is None else lat,
            ]

    for r in qs.values_list(*FIELDS).iterator(chunk_size=CHUNK):
        chunk.append(r)
        if len(chunk) >= CHUNK:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _csv(lines: Iterator[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in lines:
        writer.writerow([neutralise(v) for v in line])
    # With a BOM, so that Excel reads it as UTF-8.
    return out.getvalue().encode("utf-8-sig")


PERSON_WIDTHS = (17, 10, 12, 14, 12, 21, 6, 8, 12, 13, 10, 17, 40, 16, 10, 11, 11)


def _xlsx(
    title: str,
    mark: str,
    head: list[str],
    rows: Iterator[Sequence[Any]],
    codes: bool = False,
    *,
    widths: Sequence[int] = PERSON_WIDTHS,
    code_tables: Sequence[tuple[str, dict[str, tuple[str, ...]], Any]] | None = None,
    hints: Sequence[str] | None = None,
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    if mark:
        # Excel's header and footer codes start with &: a literal one is written twice.
        printed = mark.replace("&", "&&")
        ws.oddHeader.center.text = printed
        ws.oddFooter.center.text = printed
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[_letter(n)].width = width
    ws.freeze_panes = "A3" if mark else "A2"
    bold = Font(bold=True)
    if mark:
        cell = WriteOnlyCell(ws, value=neutralise(mark))
        cell.font = Font(bold=True, color="C00000")
        ws.append([cell])
    header_cells = []
    for text in head:
        cell = WriteOnlyCell(ws, value=neutralise(text))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        cells: list[Any] = []
        for value in row:
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(neutralise(value))
        ws.append(cells)
    if codes:
        _code_sheet(wb, code_tables, hints)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def export_persons(
    user: Any,
    fmt: str = "xlsx",
    *,
    grid: str | None = None,
    residence: str | None = None,
    key_group: str | None = None,
    ip: str | None = None,
) -> tuple[bytes, str]:
    """The persons `user` may see (optionally those of one grid's subtree, of one kind of residence, of one key
    group), as the import template with masked numbers and a watermark; the export is audited. Returns the
    file's bytes and its name."""
    if fmt not in FORMATS:
        raise Invalid(_("Export as xlsx or csv."), field="format")
    if not reads_registry(user):
        raise NotAllowed(_("Only the grid's and the office's staff may export the register."))
    now = timezone.now()
    qs = _persons(user, grid, residence, key_group)
    mark = watermark(user, now)
    counted = _Counted(_rows(user, qs, dates_as_text=fmt == "csv"))
    if fmt == "csv":
        content = _csv(_chain([[mark], headers()], counted))
    else:
        content = _xlsx(_("Persons"), mark, headers(), counted)
    filters = {k: v for k, v in (("grid", grid), ("residence", residence), ("key_group", key_group)) if v}
    atomic_record(
        "registry.export", actor=user, data={"rows": counted.n, "format": fmt, "filters": filters}, ip=ip
    )
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    return content, f"persons-{stamp}.{fmt}"


class _Counted(Iterator[list[Any]]):
    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self._rows = rows
        self.n = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> list[Any]:
        row = next(self._rows)
        self.n += 1
        return row


def _chain(first: list[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield from first
    yield from rest


# -- the template ------------------------------------------------------------------------------------------------


def example_row() -> list[Any]:
    """A made-up person: the sample ID number GB 11643 publishes (the importer refuses it, so that the example
    is never registered), in a grid of the demo county."""
    born = dt.date(1949, 12, 31)
    return [
        "150621100000001",
        _word(RELATION_WORDS, Relation, Relation.HEAD),
        _("Zhang San") if not _chinese() else "张三",
        "",
        _word(DOCUMENT_WORDS, DocumentKind, DocumentKind.ID_CARD),
        EXAMPLE_ID_NUMBER,
        _word(GENDER_WORDS, Gender, Gender.FEMALE),
        _word(ETHNICITY_WORDS, Ethnicity, Ethnicity.HAN),
        born,
        "13800000000",
        _word(RESIDENCE_WORDS, Residence, Residence.REGISTERED),
        "150621100200001",
        _("No. 1, example street") if not _chinese() else "示例街1号",
        _word(KEY_GROUP_WORDS, KeyGroup, KeyGroup.ELDERLY_ALONE),
        _("Example: delete this row before importing."),
        "",
        "",
    ]


def _code_sheet(
    wb: Any,
    tables: Sequence[tuple[str, dict[str, tuple[str, ...]], Any]] | None = None,
    hints: Sequence[str] | None = None,
) -> None:
    """The second sheet: every accepted value of the coded columns (the persons' by default), code and name,
    and how to fill in the sheet."""
    from openpyxl.styles import Font

    ws = wb.create_sheet(_("Codes"))
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 40
    bold = Font(bold=True)
    from openpyxl.cell import WriteOnlyCell

    def title(text: str) -> None:
        cell = WriteOnlyCell(ws, value=neutralise(text))
        cell.font = bold
        ws.append([cell])

    chinese = _chinese()
    if tables is None:
        by_key = {c.key: c for c in COLUMNS}
        tables = [
            (by_key[key].chinese if chinese else by_key[key].english, table, choices)
            for key, table, choices in (
                ("relation", RELATION_WORDS, Relation),
                ("document_kind", DOCUMENT_WORDS, DocumentKind),
                ("residence", RESIDENCE_WORDS, Residence),
                ("key_groups", KEY_GROUP_WORDS, KeyGroup),
                ("gender", GENDER_WORDS, Gender),
                ("ethnicity", ETHNICITY_WORDS, Ethnicity),
            )
        ]
    for header, table, choices in tables:
        title(header)
        ws.append([_("code"), _("name"), _("also accepted")])
        for value, label in choices.choices:
            words = table.get(value, ())
            name = words[0] if chinese and words else str(label)
            others = [w for w in (*words, str(label)) if w != name]
            ws.append([neutralise(value), neutralise(name), neutralise("、".join(dict.fromkeys(others)))])
        ws.append([])
    title(_("How to fill in the sheet"))
    if hints is None:
        hints = (
            _(
                "One row per person; the members of a household share its household number, and one of them is its head."
            ),
            _(
                "Dates as YYYY-MM-DD; key groups separated by ; or 、; the grid code is that of a level-3 grid."
            ),
            _("Document numbers and phones in full, typed as text: masked numbers (with *) are refused."),
            _("An empty cell keeps what the register holds; key groups are added, never taken away."),
        )
    for line in hints:
        ws.append([neutralise(line)])


def person_template(fmt: str = "xlsx") -> tuple[bytes, str]:
    """The empty template with one example row; the workbook also lists the codes on a second sheet."""
    if fmt not in FORMATS:
        raise Invalid(_("Export as xlsx or csv."), field="format")
    example = example_row()
    if fmt == "csv":
        example[8] = example[8].isoformat()
        return _csv(iter([headers(), example])), "persons-template.csv"
    return _xlsx(_("Persons"), "", headers(), iter([example]), codes=True), "persons-template.xlsx"


# -- households, buildings, organisations, components ------------------------------------------------------------

RECORD_KINDS = ("households", "buildings", "organisations", "components")


def _number_or_empty(value: Any) -> Any:
    return "" if value is None else value


def _record_rows(kind: str, qs: Any, *, dates_as_text: bool) -> Iterator[list[Any]]:
    """The rows of a kind's export, in its import template's column order (phones masked)."""
    point = ("lon", "lat", "note")
    if kind == "households":
        fields: tuple[str, ...] = (
            "number",
            "grid__code",
            "building__code",
            "house_number",
            "address",
            *point,
        )
        for number, grid, building, house, address, lon, lat, note in qs.values_list(*fields).iterator(CHUNK):
            yield [
                number,
                grid,
                building or "",
                house,
                address,
                _number_or_empty(lon),
                _number_or_empty(lat),
                note,
            ]
    elif kind == "buildings":
        kinds = _words(BUILDING_KIND_WORDS, BuildingKind)
        fields = ("code", "name", "kind", "floors", "grid__code", "address", *point)
        for code, name, k, floors, grid, address, lon, lat, note in qs.values_list(*fields).iterator(CHUNK):
            yield [
                code, name, kinds.get(k, k), _number_or_empty(floors), grid, address, _number_or_empty(lon),
                _number_or_empty(lat), note,
            ]  # fmt: skip
    elif kind == "organisations":
        kinds = _words(ORGANISATION_KIND_WORDS, OrganisationKind)
        states = _words(ORGANISATION_STATE_WORDS, OrganisationState)
        fields = (
            "credit_code", "name", "kind", "representative", "phone_masked", "grid__code", "address", "state",
            "building__code", "employees", *point,
        )  # fmt: skip
        for (code, name, k, representative, phone, grid, address, state, building, employees, lon, lat,
             note) in qs.values_list(*fields).iterator(CHUNK):  # fmt: skip
            yield [
                code, name, kinds.get(k, k), representative, phone, grid, address, states.get(state, state),
                building or "", _number_or_empty(employees), _number_or_empty(lon), _number_or_empty(lat), note,
            ]  # fmt: skip
    else:
        states = _words(COMPONENT_STATE_WORDS, ComponentState)
        english = not _chinese()
        fields = (
            "object_id", "item__name", "item__name_en", "name", "grid__code", "location",
            "owner_department__name", "owner_department__name_en", "owner_unit", "maintainer_department__name",
            "maintainer_department__name_en", "state", "installed_on", *point,
        )  # fmt: skip
        for (object_id, item, item_en, name, grid, location, owner, owner_en, unit, keeper, keeper_en, state,
             installed, lon, lat, note) in qs.values_list(*fields).iterator(CHUNK):  # fmt: skip
            yield [
                object_id, (item_en if english and item_en else item), name, grid, location,
                (owner_en if english and owner_en else owner) or "", unit,
                (keeper_en if english and keeper_en else keeper) or "", states.get(state, state),
                (installed.isoformat() if dates_as_text else installed) if installed else "",
                _number_or_empty(lon), _number_or_empty(lat), note,
            ]  # fmt: skip


RECORD_MODELS: dict[str, Any] = {
    "households": Household,
    "buildings": Building,
    "organisations": Organisation,
    "components": Component,
}


def _sheet_title(kind: str) -> str:
    return str(kind_label(kind))


def export_records(
    user: Any, kind: str, fmt: str = "xlsx", *, grid: str | None = None, ip: str | None = None
) -> tuple[bytes, str]:
    """The households, buildings, organisations or components `user` may see (optionally those of one grid's
    subtree), in their import template's columns with phones masked and a watermark; the export is audited.
    Returns the file's bytes and its name."""
    if kind not in RECORD_KINDS:
        raise Invalid(_("Unknown kind of record."), field="kind")
    if fmt not in FORMATS:
        raise Invalid(_("Export as xlsx or csv."), field="format")
    if not reads_registry(user):
        raise NotAllowed(_("Only the grid's and the office's staff may export the register."))
    now = timezone.now()
    qs = visible_to(user, RECORD_MODELS[kind])
    if grid:
        qs = _in_grid(qs, grid)
    qs = qs.order_by("grid__code", "id")
    template = TEMPLATES[kind]
    mark = watermark(user, now)
    counted = _Counted(_record_rows(kind, qs, dates_as_text=fmt == "csv"))
    if fmt == "csv":
        content = _csv(_chain([[mark], headers(template)], counted))
    else:
        content = _xlsx(_sheet_title(kind), mark, headers(template), counted, widths=_widths(template))
    atomic_record(
        "registry.export",
        actor=user,
        data={"kind": kind, "rows": counted.n, "format": fmt, "filters": {"grid": grid} if grid else {}},
        ip=ip,
    )
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    return content, f"{kind}-{stamp}.{fmt}"


def _widths(template: Template) -> list[int]:
    """Column widths from the headers, wider for names and addresses."""
    wide = {"name", "address", "location", "owner_unit", "representative", "note"}
    return [
        30 if c.key in wide else max(12, 2 * len(c.chinese) + 4, len(c.english) + 2)
        for c in template.all_columns
    ]


def _record_example(kind: str) -> list[Any]:
    """A made-up record of the demo county whose key the importer refuses, so that it is never registered."""
    chinese = _chinese()
    example = IMPORTERS[kind].example_key
    note = _("Example: delete this row before importing.")
    grid = "150621100200001"
    if kind == "households":
        return ["150621100000001", grid, "", _("Unit 1, room 101") if not chinese else "1单元101室",
                _("No. 1, example street") if not chinese else "示例街1号", "", "", note]  # fmt: skip
    if kind == "buildings":
        return [example, _("Building 1") if not chinese else "1号楼", _word(BUILDING_KIND_WORDS, BuildingKind,
                BuildingKind.RESIDENTIAL), 6, grid, _("No. 1, example street") if not chinese else "示例街1号",
                "", "", note]  # fmt: skip
    if kind == "organisations":
        return [example, _("Example shop") if not chinese else "示例便利店",
                _word(ORGANISATION_KIND_WORDS, OrganisationKind, OrganisationKind.SHOP),
                _("Zhang San") if not chinese else "张三", "0477-1234567", grid,
                _("No. 1, example street") if not chinese else "示例街1号",
                _word(ORGANISATION_STATE_WORDS, OrganisationState, OrganisationState.OPEN), "", 3, "", "", note]  # fmt: skip
    return [example, "Fire-fighting facility" if not chinese else "消防设施", "", grid,
            _("east gate of the example compound") if not chinese else "示例小区东门", "", "", "",
            _word(COMPONENT_STATE_WORDS, ComponentState, ComponentState.GOOD), dt.date(2020, 5, 1), "", "", note]  # fmt: skip


def _record_codes(kind: str) -> tuple[list[tuple[str, dict[str, tuple[str, ...]], Any]], list[str]]:
    """The coded columns of a kind (for the codes sheet) and how to fill in its sheet."""
    by_key = {c.key: c for c in TEMPLATES[kind].all_columns}
    chinese = _chinese()

    def header(key: str) -> str:
        return by_key[key].chinese if chinese else by_key[key].english

    empty_keeps = _("An empty cell keeps what the register holds; the grid code is that of a level-3 grid.")
    if kind == "households":
        return [], [
            _("One row per household, found again by its number; its members come with the persons file."),
            _("The building code names a building already registered (import the buildings first)."),
            empty_keeps,
        ]
    if kind == "buildings":
        return [(header("kind"), BUILDING_KIND_WORDS, BuildingKind)], [
            _("One row per building, found again by its building code."),
            empty_keeps,
        ]
    if kind == "organisations":
        return [
            (header("kind"), ORGANISATION_KIND_WORDS, OrganisationKind),
            (header("state"), ORGANISATION_STATE_WORDS, OrganisationState),
        ], [
            _(
                "One row per organisation, found again by its unified social credit code (GB 32100); one without a code by its name in its grid."
            ),
            _("Phones in full: masked numbers (with *) are refused; an empty cell keeps the stored phone."),
            empty_keeps,
        ]
    return [(header("state"), COMPONENT_STATE_WORDS, ComponentState)], [
        _("One row per component, found again by its 16-digit component ID."),
        _(
            "The class is a component class of the responsibility list (its code or name); digits 7 to 10 of the ID are its national code."
        ),
        _("Departments by name or code; dates as YYYY-MM-DD."),
        empty_keeps,
    ]


def template_file(kind: str, fmt: str = "xlsx") -> tuple[bytes, str]:
    """A kind's empty template with one example row; the workbook also explains the columns on a second sheet."""
    if kind == "persons":
        return person_template(fmt)
    if kind not in RECORD_KINDS:
        raise Invalid(_("Unknown kind of record."), field="kind")
    if fmt not in FORMATS:
        raise Invalid(_("Export as xlsx or csv."), field="format")
    template = TEMPLATES[kind]
    example = _record_example(kind)
    if fmt == "csv":
        example = [v.isoformat() if isinstance(v, dt.date) else v for v in example]
        return _csv(iter([headers(template), example])), f"{kind}-template.csv"
    tables, hints = _record_codes(kind)
    content = _xlsx(
        _sheet_title(kind),
        "",
        headers(template),
        iter([example]),
        codes=True,
        widths=_widths(template),
        code_tables=tables,
        hints=hints,
    )
    return content, f"{kind}-template.xlsx"
