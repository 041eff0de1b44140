"""The case list as an Excel workbook (台账): the same filters as the page, capped, columns in the reader's
language, personal data masked, every export audited, and no cell that Excel could evaluate.

Formula injection: text from people (descriptions, addresses, names) may start with `=`, `+`, `-`, `@`, a tab
or a carriage return, which a spreadsheet takes for a formula (`=HYPERLINK(...)`, `=cmd|...`). Every text cell
is written as a string (never a formula), and such a cell also carries the quote prefix (Excel's leading
apostrophe), so that even editing it does not turn it into a formula."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from gridgov.accounts.choices import Role
from gridgov.core.audit import atomic_record
from gridgov.core.choices import label
from gridgov.core.masking import mask_name, mask_phone

from . import selectors
from .choices import Card, Channel, Colour, Rating, State
from .models import Case
from .personal import reporter_identity
from .scoping import held_roles

CAP = 50_000
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Who may see (masked) who reported, on some case (`selectors.reporter_visible` decides per case).
REPORTER_SEERS = frozenset({Role.OPERATOR, Role.INFO_OFFICER, Role.GRID_SPECIALIST, Role.GRID_HEAD_L2})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def text_cell(ws: Any, value: str) -> WriteOnlyCell:
    """A cell holding `value` as text, never as a formula."""
    cell = WriteOnlyCell(ws, value=value)
    if value.startswith(DANGEROUS_START):
        cell.data_type = "s"  # openpyxl would take `=…` for a formula
        cell.quotePrefix = True
    return cell


def _cell(ws: Any, value: Any) -> Any:
    if isinstance(value, str):
        return text_cell(ws, value)
    if isinstance(value, datetime):
        # Excel knows no time zones: the local (Asia/Shanghai) wall-clock time.
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def columns(show_reporter: bool) -> list[str]:
    cols = [
        _("Case number"),
        _("State"),
        _("Item"),
        _("Module"),
        _("Grid"),
        _("Grid code"),
        _("Responsible level"),
        _("Lead department"),
        _("Channel"),
        _("Urgency"),
        _("Description"),
        _("Address"),
        _("Reported at"),
        _("Due at"),
        _("Deadline"),
        _("Supervision notices"),
        _("Strongest card"),
        _("Supporters"),
        _("Closed at"),
        _("Rating"),
    ]
    if show_reporter:
        cols += [_("Reporter (masked)"), _("Reporter phone (masked)")]
    return cols


def _row(user: Any, case: Case, now: datetime, show_reporter: bool) -> list[Any]:
    colour = selectors.colour(case, now)
    item = case.item
    row: list[Any] = [
        case.number,
        label(State, case.state),
        item.label if item is not None else "",
        item.module.label if item is not None else "",
        case.grid.name,
        case.grid.code,
        case.level,
        case.lead_department.label if case.lead_department is not None else "",
        label(Channel, case.channel),
        case.get_urgency_display(),
        case.description,
        case.address,
        case.created_at,
        case.due_at,
        label(Colour, colour) if colour else "",
        case.supervised,
        label(Card, case.card) if case.card else "",
        case.supporters_count,
        case.closed_at,
        label(Rating, case.rating) if case.rating else "",
    ]
    if show_reporter:
        if selectors.reporter_visible(user, case):
            name, phone = reporter_identity(case)
            row += [mask_name(name) if name else "", mask_phone(phone) if phone else ""]
        else:
            row += ["", ""]
    return row


def write_workbook(user: Any, qs: QuerySet[Case], filters: dict[str, Any]) -> tuple[bytes, int, bool]:
    """The workbook of `qs` (already scoped, filtered and ordered): its bytes, the number of case rows and
    whether the cap cut the list."""
    now = timezone.now()
    show_reporter = bool({h.role for h in held_roles(user)} & REPORTER_SEERS)
    qs = qs.select_related("item__module", "reporter" if show_reporter else "grid")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Cases"))
    bold = Font(bold=True)
    header = []
    for title in columns(show_reporter):
        c = WriteOnlyCell(ws, value=title)
        c.font = bold
        header.append(c)
    ws.freeze_panes = "A2"
    ws.append(header)
    n = 0
    truncated = False
    for case in qs[: CAP + 1].iterator(chunk_size=2000):
        if n == CAP:
            truncated = True
            break
        ws.append([_cell(ws, v) for v in _row(user, case, now, show_reporter)])
        n += 1
    if truncated:
        ws.append(
            [
                text_cell(
                    ws,
                    _("Only the first %(cap)d cases were exported: narrow the filters to export the rest.")
                    % {"cap": CAP},
                )
            ]
        )
    about = wb.create_sheet(_("About this export"))
    about.append([_("Exported at"), timezone.localtime(now).replace(tzinfo=None)])
    about.append([_("Exported by"), text_cell(about, getattr(user, "username", ""))])
    about.append([_("Cases"), n])
    if truncated:
        about.append([_("Cut at"), CAP])
    for key, value in sorted(filters.items()):
        about.append([text_cell(about, _("Filter: %(name)s") % {"name": key}), _cell(about, str(value))])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), n, truncated


def export_response(
    user: Any, qs: QuerySet[Case], *, filters: dict[str, Any], ip: str | None
) -> HttpResponse:
    """The download, after its audit record (what was filtered, how many rows)."""
    content, rows, truncated = write_workbook(user, qs, filters)
    atomic_record(
        "case.export",
        actor=user,
        data={"filters": filters, "rows": rows, "truncated": truncated},
        ip=ip,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.xlsx"'
    if truncated:
        response["X-Export-Truncated"] = str(CAP)
    return response
