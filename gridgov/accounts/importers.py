"""Bulk import of people and their roles from an Excel workbook (.xlsx): the template, reading a file safely,
and the plan of what each row would do (create / update / unchanged / error). Applying a plan is
`services.do_import_people`, all or nothing."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.catalog.models import Department
from gridgov.core.textfiles import UnreadableFile, open_workbook
from gridgov.grids.models import Grid

from .choices import ROLE_SCOPE, AdminDuty, Role
from .models import RoleAssignment, User

MAX_BYTES = 2 * 1024 * 1024  # a county's staff fit in far less
MAX_UNPACKED_BYTES = 40 * 1024 * 1024  # refuses zip bombs before openpyxl unpacks anything
MAX_ROWS = 5000

COLUMNS: tuple[str, ...] = (
    "username",
    "full_name",
    "phone",
    "role",
    "grid_code",
    "department_code",
    "language",
)
COLUMN_LABELS = {
    "username": gettext_lazy("username"),
    "full_name": gettext_lazy("full name"),
    "phone": gettext_lazy("phone"),
    "role": gettext_lazy("role"),
    "grid_code": gettext_lazy("grid code"),
    "department_code": gettext_lazy("department code"),
    "language": gettext_lazy("language"),
}
REQUIRED = ("username", "full_name", "role", "grid_code", "department_code")
LANGUAGE_WORDS = {
    "zh-hans": "zh-hans",
    "zh": "zh-hans",
    "zh-cn": "zh-hans",
    "中文": "zh-hans",
    "简体中文": "zh-hans",
    "chinese": "zh-hans",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}
MOBILE = re.compile(r"1[3-9]\d{9}")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(UnreadableFile):
    """The file cannot be read as the import workbook; `message` says why in the user's language."""


class ImportRefused(Exception):
    """The plan has errors: nothing was applied."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("the import has errors")
        self.plan = plan


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe,
    so it is shown as text (formula injection, CSV/Excel)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def column_label(key: str) -> str:
    return str(COLUMN_LABELS[key])


def _header_names() -> dict[str, str]:
    """Every accepted spelling of each column: its key and its label in each language."""
    names: dict[str, str] = {}
    for key in COLUMNS:
        names[key] = key
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                names[str(COLUMN_LABELS[key]).strip().lower()] = key
    return names


def _role_words() -> dict[str, str]:
    words: dict[str, str] = {}
    for value, label in Role.choices:
        words[value] = value
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                words[str(label).strip().lower()] = value
    return words


# -- the template ----------------------------------------------------------------------------------------------


def build_template() -> bytes:
    """The workbook to fill in: the people sheet with its header (labels in the current language), and
    reference sheets of the roles (what each must name), the departments and the current grids."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("people")
    ws.append([neutralise(column_label(k)) for k in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (16, 14, 16, 22, 20, 16, 10), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"

    roles = wb.create_sheet(_("roles"))
    roles.append([_("role"), _("name"), _("needs")])
    for value, label in Role.choices:
        roles.append([value, neutralise(str(label)), neutralise(scope_hint(value))])
    depts = wb.create_sheet(_("departments"))
    depts.append([_("department code"), _("name")])
    for code, name in Department.objects.filter(active=True).values_list("code", "name"):
        depts.append([neutralise(code), neutralise(name)])
    grids = wb.create_sheet(_("grid list"))
    grids.append([_("grid code"), _("name"), _("level")])
    for code, name, level in Grid.objects.current().order_by("code").values_list("code", "name", "level"):
        grids.append([neutralise(code), neutralise(name), level])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def scope_hint(role: str) -> str:
    """What an assignment of `role` must name, in words."""
    kind, level = ROLE_SCOPE[role]
    if kind == "own":
        return _("no grid, no department")
    if kind == "department":
        return _("a department, no grid")
    if kind == "department_grid":
        return _("a department and a level-%(level)s grid") % {"level": level}
    if level is None:
        return _("a grid of any level, no department")
    return _("a level-%(level)s grid, no department") % {"level": level}


# -- reading a file --------------------------------------------------------------------------------------------


def read_workbook(data: bytes, name: str = "") -> list[dict[str, Any]]:
    """The rows of the first sheet as {"line": n, column: text}; refuses files that are not a plain .xlsx
    import workbook with a message naming the problem (and the cell, for a formula)."""
    if name and not name.lower().endswith(".xlsx"):
        raise ImportFileError(_("Upload an Excel workbook (.xlsx); %(name)s is not one.") % {"name": name})
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB: split it into smaller files.") % {"mb": MAX_BYTES // 2**20}
        )
    try:
        wb = open_workbook(data, max_unpacked=MAX_UNPACKED_BYTES)
    except UnreadableFile as exc:
        raise ImportFileError(exc.message) from exc
    try:
        ws = wb.worksheets[0]
        rows_iter = ws.iter_rows()
        header_cells = next(rows_iter, None)
        if header_cells is None:
            raise ImportFileError(_("The workbook is empty."))
        names = _header_names()
        positions: dict[str, int] = {}
        for n, cell in enumerate(header_cells):
            key = names.get(str(cell.value or "").strip().lower())
            if key and key not in positions:
                positions[key] = n
        missing = [k for k in COLUMNS if k not in positions and k in REQUIRED]
        if missing:
            raise ImportFileError(
                _("Row 1 lacks the column(s) %(missing)s: the header must be %(expected)s.")
                % {
                    "missing": ", ".join(column_label(k) for k in missing),
                    "expected": ", ".join(column_label(k) for k in COLUMNS),
                }
            )
        rows: list[dict[str, Any]] = []
        for line, cells in enumerate(rows_iter, start=2):
            for cell in cells:
                if getattr(cell, "data_type", None) == "f":
                    raise ImportFileError(
                        _("Cell %(cell)s holds a formula: type values only (formulas are not imported).")
                        % {"cell": cell.coordinate}
                    )
            values = {k: _text(cells[i].value) if i < len(cells) else "" for k, i in positions.items()}
            if not any(values.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    _("The file has more than %(max)s rows: split it into smaller files.") % {"max": MAX_ROWS}
                )
            rows.append({"line": line, **{k: values.get(k, "") for k in COLUMNS}})
    finally:
        wb.close()
    if not rows:
        raise ImportFileError(_("The workbook has a header but no rows."))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed as a number
    return str(value).strip()


# -- the plan --------------------------------------------------------------------------------------------------


@dataclass
class RowPlan:
    line: int
    values: dict[str, str]
    action: str = "unchanged"  # create / update / unchanged / error
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column key, message)
    username: str = ""
    full_name: str = ""
    language: str = ""
    role: str = ""
    grid: Grid | None = None
    department: Department | None = None
    user_changes: dict[str, str] = field(default_factory=dict)
    assignment_exists: bool = False

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))

    @property
    def messages(self) -> list[str]:
        """Each error naming the row and the column."""
        return [
            _("Row %(line)s, column %(column)s: %(message)s")
            % {"line": self.line, "column": column_label(c), "message": m}
            for c, m in self.errors
        ]

    @property
    def masked_phone(self) -> str:
        from gridgov.core.masking import mask_phone

        phone = self.values.get("phone", "")
        return mask_phone(phone) if phone else ""


@dataclass
class ImportPlan:
    rows: list[RowPlan]

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ("create", "update", "unchanged", "error")}

    @property
    def usernames(self) -> set[str]:
        return {r.username for r in self.rows if r.username}

    @property
    def messages(self) -> list[str]:
        return [m for r in self.rows for m in r.messages]


def plan_import(rows: list[dict[str, Any]]) -> ImportPlan:
    """What each row would do, checked against the database in a few queries: the people named, their role
    assignments, the grids and the departments."""
    usernames = {str(r.get("username", "")).strip() for r in rows} - {""}
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    held = set(
        RoleAssignment.objects.filter(user__username__in=usernames).values_list(
            "user__username", "role", "grid_id", "department_id"
        )
    )
    grid_codes = {str(r.get("grid_code", "")).strip() for r in rows} - {""}
    grids = {
        g.code: g
        for g in Grid.objects.current()
        .filter(code__in=grid_codes)
        .only("id", "code", "name", "level", "valid_to", "path")
    }
    dept_codes = {str(r.get("department_code", "")).strip() for r in rows} - {""}
    depts = {d.code: d for d in Department.objects.filter(code__in=dept_codes)}
    role_words = _role_words()
    validate_username = UnicodeUsernameValidator()
    max_name = User._meta.get_field("full_name").max_length or 0

    first_row: dict[str, RowPlan] = {}
    seen_assignments: set[tuple[str, str, int | None, int | None]] = set()
    plans: list[RowPlan] = []
    for raw in rows:
        values = {k: str(raw.get(k, "") or "").strip() for k in COLUMNS}
        p = RowPlan(line=int(raw.get("line", 0)), values=values)
        plans.append(p)
        # username
        username = values["username"]
        if not username:
            p.error("username", _("the username is empty"))
        elif len(username) > 150:
            p.error("username", _("the username is longer than 150 characters"))
        else:
            try:
                validate_username(username)
            except ValidationError:
                p.error("username", _("use letters, digits and @ . + - _ only"))
        p.username = username
        existing = users.get(username)
        if existing is not None and (existing.admin_duty != AdminDuty.NONE or existing.is_superuser):
            p.error("username", _("an administrator's account is not changed by an import"))
        # full name and language
        full_name = values["full_name"]
        if full_name.startswith(FORMULA_START):
            p.error("full_name", _("a name cannot start with = + - @"))
        elif len(full_name) > max_name:
            p.error("full_name", _("the name is longer than %(max)s characters") % {"max": max_name})
        language = ""
        if values["language"]:
            language = LANGUAGE_WORDS.get(values["language"].lower(), "")
            if not language:
                p.error("language", _("%(value)s is neither zh-hans nor en") % {"value": values["language"]})
        p.full_name, p.language = full_name, language
        phone = re.sub(r"[\s-]", "", values["phone"])
        if phone and not MOBILE.fullmatch(phone):
            p.error("phone", _("%(value)s is not an 11-digit mobile number") % {"value": values["phone"]})
        # role and scope
        grid = dept = None
        if values["grid_code"]:
            grid = grids.get(values["grid_code"])
            if grid is None:
                p.error(
                    "grid_code", _("no current grid has the code %(code)s") % {"code": values["grid_code"]}
                )
        if values["department_code"]:
            dept = depts.get(values["department_code"])
            if dept is None:
                p.error(
                    "department_code",
                    _("no department has the code %(code)s") % {"code": values["department_code"]},
                )
        role = ""
        if values["role"]:
            role = role_words.get(values["role"].lower(), "")
            if not role:
                p.error("role", _("%(value)s is not a role") % {"value": values["role"]})
        elif values["grid_code"] or values["department_code"]:
            p.error("role", _("a grid or a department is given but no role"))
        p.role, p.grid, p.department = role, grid, dept
        if role and not any(c in ("grid_code", "department_code") for c, _m in p.errors):
            try:
                RoleAssignment(role=role, grid=grid, department=dept).clean()
            except ValidationError as exc:
                where = {"grid": "grid_code", "department": "department_code"}
                for key, messages in exc.message_dict.items():
                    for m in messages:
                        p.error(where.get(key, "role"), m)
        # what it does
        first = first_row.get(username)
        if first is None and username:
            first_row[username] = p
            if existing is None:
                if not full_name:
                    p.error("full_name", _("a new person needs a full name"))
            else:
                if full_name and full_name != existing.full_name:
                    p.user_changes["full_name"] = full_name
                if language and language != existing.language:
                    p.user_changes["language"] = language
        elif first is not None:
            for column, value, earlier in (
                ("full_name", full_name, first.full_name),
                ("language", language, first.language),
            ):
                if value and earlier and value != earlier:
                    p.error(column, _("differs from row %(line)s for the same person") % {"line": first.line})
        if role:
            held_key = (username, role, grid.pk if grid else None, dept.pk if dept else None)
            p.assignment_exists = held_key in held or held_key in seen_assignments
            seen_assignments.add(held_key)
        if p.errors:
            p.action = "error"
        elif existing is None and first is None:
            p.action = "create"
        elif p.user_changes or (role and not p.assignment_exists):
            p.action = "update"
        else:
            p.action = "unchanged"
    return ImportPlan(plans)
