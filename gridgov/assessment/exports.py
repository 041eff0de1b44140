"""A month's ranking table as an Excel workbook (openpyxl) and as an A4 PDF (reportlab, the CJK font embedded):
the same rows and figures as the page, workers' names masked, and who exported it when; every export audited."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.cases.exports import text_cell
from gridgov.core.masking import mask_name

from .choices import Kind, Mark
from .indicators import KIND_LABELS, Row, Table, percent_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _shown_name(table: Table, row: Row) -> str:
    # Workers are people: their names masked in every file that leaves the screen.
    return mask_name(row.name) if table.kind == Kind.WORKER and row.key is not None else row.name


def _value_text(value: Decimal | int | None, is_rate: bool) -> str:
    if is_rate:
        return percent_text(value if not isinstance(value, int) else Decimal(value))
    return "—" if value is None else str(value)


MARKS = {Mark.RED: "红", Mark.YELLOW: "黄", Mark.GREEN: "绿"}


def headings(table: Table) -> list[str]:
    return [
        _("Rank"),
        str(KIND_LABELS[table.kind]),
        _("Composite score (综合指标值)"),
        _("Warning"),
        *[str(c.label) for c in table.columns],
    ]


def lines(table: Table) -> list[list[str]]:
    """The table as text cells, as displayed: rows, then the total."""
    out = []
    for row in [*table.rows, table.total]:
        out.append(
            [
                str(row.rank or "") if row.key is not None else "",
                _shown_name(table, row),
                "—" if row.score is None else f"{row.score:.2f}",
                str(Mark(row.mark).label) if row.mark else "",
                *[_value_text(row.values.get(c.code), c.is_rate) for c in table.columns],
            ]
        )
    return out


def title(table: Table, scope_name: str) -> str:
    return _("Assessment of %(kind)s, %(period)s, %(scope)s") % {
        "kind": str(KIND_LABELS[table.kind]),
        "period": table.period.key,
        "scope": scope_name,
    }


def xlsx(table: Table, scope_name: str, user: Any) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.period.key)
    bold = Font(bold=True)
    head = text_cell(ws, title(table, scope_name))
    head.font = bold
    ws.append([head])
    stamp = _("Exported by %(user)s at %(time)s") % {
        "user": mask_name(user.full_name or user.username),
        "time": f"{timezone.localtime():%Y-%m-%d %H:%M}",
    }
    ws.append([text_cell(ws, stamp)])
    cells = []
    for h in headings(table):
        c = text_cell(ws, h)
        c.font = bold
        cells.append(c)
    ws.append(cells)
    for line in lines(table):
        ws.append([text_cell(ws, v) for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pdf(table: Table, scope_name: str, user: Any) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    # The CJK font of the mediation documents (WenQuanYi Micro Hei or MEDIATION_PDF_FONT), embedded.
    from gridgov.mediation.agreement_pdf import pdf_fonts

    font = pdf_fonts().main.name
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title(table, scope_name),
    )
    h = ParagraphStyle("h", fontName=font, fontSize=14, leading=18)
    small = ParagraphStyle("s", fontName=font, fontSize=8, leading=10)
    cell = ParagraphStyle("c", fontName=font, fontSize=6.5, leading=8)
    stamp = _("Exported by %(user)s at %(time)s") % {
        "user": mask_name(user.full_name or user.username),
        "time": f"{timezone.localtime():%Y-%m-%d %H:%M}",
    }
    data = [[Paragraph(escape(x), cell) for x in headings(table)]]
    data += [[Paragraph(escape(x), cell) for x in line] for line in lines(table)]
    n = len(data[0])
    widths = [8 * mm, 28 * mm, 14 * mm, 8 * mm] + [(277 - 58) * mm / max(n - 4, 1)] * (n - 4)
    t = PdfTable(data, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
    ]
    colour: dict[str, Any] = {Mark.RED: colors.HexColor("#f8d7da"), Mark.YELLOW: colors.HexColor("#fff3cd")}
    for i, row in enumerate(table.rows, 1):
        if row.mark in colour:
            style.append(("BACKGROUND", (3, i), (3, i), colour[row.mark]))
    t.setStyle(TableStyle(style))
    doc.build(
        [
            Paragraph(escape(title(table, scope_name)), h),
            Paragraph(escape(stamp), small),
            Spacer(1, 4 * mm),
            t,
        ]
    )
    return buf.getvalue()
