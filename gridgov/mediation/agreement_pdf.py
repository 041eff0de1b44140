"""The mediation agreement (人民调解协议书) and the whole record of a dispute (移交卷宗) as PDF, in Chinese.

`agreement_pdf(dispute)` lays out the agreement the way people's mediation committees print it (the national
template of 人民调解文书): the committee, the title, the number, the parties' particulars, the facts, the terms
agreed, how and by when they are performed, the clauses of the People's Mediation Law on its effect, and a place
for every party's signature or fingerprint, every mediator's signature and the committee's seal, with the date.
`record_pdf(dispute)` is what the judicial office or the court receives when a dispute is handed over: the
particulars, the parties, every session with its notes, the outcome, the follow-up visits and the timeline.

Both are printed in Chinese whatever the reader's language: they are documents of Chinese law, handed to the
parties and to the court. The particulars show what the office recorded; ID and phone numbers are masked
(`150621********1234`) unless the caller passes `unmasked=True`, which it decides by the user's permission and
records on the audit chain, as every unmasking (neither function changes anything nor writes the audit).

Fonts. A CJK TrueType font is embedded (subset), so the PDF looks the same in every reader: the font of
`settings.MEDIATION_PDF_FONT` if set, else the first of `FONT_SEARCH` found (Debian's fonts-wqy-microhei first).
Fonts with PostScript (CFF) outlines, such as Noto Sans CJK and Source Han, cannot be embedded by reportlab and
are passed over. Without any, the built-in CID font STSong-Light is used (not embedded: the reader supplies the
glyphs) and a warning is logged once. Before anything is drawn every character is checked against the fonts'
character maps: one the main font lacks is taken from a fallback font that has it (`FALLBACK_SEARCH`,
`settings.MEDIATION_PDF_FALLBACK_FONTS`: DejaVu Sans for Latin letters such as Ə, HanaMin for the rarest
Chinese characters such as 𠮷); one no font has, or one of a script reportlab cannot shape (Mongolian, Tibetan
and Uyghur script), refuses the document with `MissingGlyphs`, naming the characters and where they are, never
a blank box in a name."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from reportlab.lib import colors
from reportlab.lib import textsplit as rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import paragraph as rl_paragraph

from gridgov.core.choices import label
from gridgov.core.errors import Invalid
from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.personal import DOCUMENT, ID_NUMBER, PHONE, decrypt_text

from .choices import (
    DisputeKind,
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Level,
    Outcome,
    PartyRole,
    RiskLevel,
)
from .models import Agreement, Committee, Dispute, Mediator, Party, Session

log = logging.getLogger(__name__)

# reportlab's CJK line breaking keeps Japanese closing punctuation off the start of a line but not the Chinese
# full-width comma, semicolon, colon, marks and closing quotes: add them (once per process), so that no line of
# an agreement starts with "，" or "；".
_NO_LINE_START = "，；：！？》〉”’％…"
for _module in (rl_textsplit, rl_paragraph):  # one frag breaks in textsplit, several in paragraph
    _module.ALL_CANNOT_START += "".join(ch for ch in _NO_LINE_START if ch not in _module.ALL_CANNOT_START)

__all__ = [
    "FALLBACK_SEARCH",
    "FONT_SEARCH",
    "MissingGlyphs",
    "PdfFonts",
    "agreement_pdf",
    "amount_in_words",
    "missing_glyphs",
    "pdf_fonts",
    "record_pdf",
    "split_terms",
]

# Where a CJK TrueType font is looked for when settings.MEDIATION_PDF_FONT is not set, best first.
FONT_SEARCH: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian/Ubuntu fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Fedora, Arch
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    # CFF outlines: found but not embeddable by reportlab, listed so that a later reportlab may use them.
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSans-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansCN-Regular.otf",
)

# Fonts that lend the characters the main font lacks, in this order (after settings.MEDIATION_PDF_FALLBACK_FONTS).
FALLBACK_SEARCH: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Latin, Greek, Cyrillic letters CJK fonts lack
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",  # fonts-hanazono: CJK extension A
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",  # CJK extensions B–F (𠮷)
    *FONT_SEARCH,
)

CID_FONT = "STSong-Light"

# Scripts that need shaping (joined, reordered letters) which reportlab does not do without HarfBuzz: printed
# letter by letter they would be wrong, so they are refused like a missing glyph.
UNSHAPEABLE = (
    (0x0600, 0x06FF),  # Arabic (Uyghur)
    (0x0750, 0x077F),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1800, 0x18AF),  # Mongolian
    (0x11660, 0x1167F),
)

# A4 with the binding edge on the left (GB/T 9704: 天头 37 mm, 订口 28 mm; a little less at the head here).
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 28 * mm
MARGIN_RIGHT = 22 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 25 * mm
TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT

BODY_SIZE = 12  # 小四
SMALL_SIZE = 10.5  # 五号
TITLE_SIZE = 22  # 二号

# A note of a table row (a follow-up visit, a step of the timeline) longer than this is printed below the table.
NOTE_IN_CELL = 150
NOTE_BEGUN = 60


class MissingGlyphs(Invalid):
    """A character of the document no available font can print (or a script reportlab cannot lay out): the
    document is refused rather than printed with a blank box; `data["characters"]` lists them."""

    code = "missing_glyphs"


# --------------------------------------------------------------------------------------------------- fonts


@dataclass(frozen=True)
class Face:
    """A registered font: its reportlab name, file, and the code points it has (None: a CID font)."""

    name: str
    path: str
    cmap: frozenset[int] | None = field(repr=False)

    def has(self, ch: str) -> bool:
        if self.cmap is not None:
            return ord(ch) in self.cmap
        # STSong-Light (Adobe-GB1) holds GBK and ASCII; the reader supplies the glyphs.
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            return False
        return True


@dataclass(frozen=True)
class PdfFonts:
    """The main font and its fallbacks. `embedded` is False when only the CID font was found."""

    main: Face
    fallbacks: tuple[Face, ...]

    @property
    def embedded(self) -> bool:
        return self.main.cmap is not None

    def face_for(self, ch: str) -> Face | None:
        if self.main.has(ch):
            return self.main
        return next((f for f in self.fallbacks if f.has(ch)), None)


def _load(path: str) -> Face | None:
    """The TrueType font at `path` registered with reportlab (the first face of a collection), or None."""
    if not path or not Path(path).is_file():
        return None
    name = (
        "GG-"
        + Path(path).stem[:24]
        + "-"
        + hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:6]
    )
    try:
        font = TTFont(name, path, subfontIndex=0)
    except (TTFError, OSError, ValueError) as exc:
        log.info("mediation PDF: font %s cannot be embedded (%s)", path, exc)
        return None
    pdfmetrics.registerFont(font)
    cmap = frozenset(cp for cp, glyph in font.face.charToGlyph.items() if glyph)
    return Face(name, path, cmap)


@lru_cache(maxsize=4)
def _fonts(main_setting: str, fallback_setting: tuple[str, ...]) -> PdfFonts:
    main: Face | None = None
    if main_setting:
        main = _load(main_setting)
        if main is None:
            log.warning(
                "mediation PDF: MEDIATION_PDF_FONT %s is not a TrueType font reportlab can embed",
                main_setting,
            )
    for path in FONT_SEARCH:
        if main is not None:
            break
        main = _load(path)
    if main is None:
        log.warning(
            "mediation PDF: no CJK TrueType font found (install fonts-wqy-microhei or set MEDIATION_PDF_FONT); "
            "using the built-in %s, which is not embedded: readers without a Chinese font show no text",
            CID_FONT,
        )
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        main = Face(CID_FONT, "", None)
    fallbacks: list[Face] = []
    for path in (*fallback_setting, *FALLBACK_SEARCH):
        if path == main.path or any(f.path == path for f in fallbacks):
            continue
        face = _load(path)
        if face is not None:
            fallbacks.append(face)
    return PdfFonts(main, tuple(fallbacks))


def pdf_fonts() -> PdfFonts:
    """The fonts the documents are set in, found once per process (per setting)."""
    fallback = getattr(settings, "MEDIATION_PDF_FALLBACK_FONTS", ()) or ()
    return _fonts(str(getattr(settings, "MEDIATION_PDF_FONT", "") or ""), tuple(str(p) for p in fallback))


def _unshapeable(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in UNSHAPEABLE)


def _ignorable(ch: str) -> bool:
    """Characters that print nothing and that fonts need not have: format controls (zero-width joiners, BOM)
    and variation selectors. Other controls are dropped as well."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Cf", "Cc") or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF
    ) and ch != "\n"


def _normalise(text: str) -> str:
    text = (
        unicodedata.normalize("NFC", str(text)).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    )
    # Other spaces (no-break, thin…) as a plain space; the ideographic space U+3000 is kept.
    text = "".join(" " if ch != "\u3000" and unicodedata.category(ch) == "Zs" else ch for ch in text)
    return "".join(ch for ch in text if not _ignorable(ch))


def missing_glyphs(text: str) -> str:
    """The characters of `text` the documents cannot print (no font has them, or their script needs shaping),
    each once, in order. Empty when everything prints."""
    fonts = pdf_fonts()
    seen: dict[str, None] = {}
    for ch in _normalise(text):
        if ch in ("\n", " ") or ch in seen:
            continue
        if _unshapeable(ch) or fonts.face_for(ch) is None:
            seen[ch] = None
    return "".join(seen)


class _Setter:
    """Turns text into reportlab markup in the document's fonts, taking each character the main font lacks
    from a fallback, and collecting (without drawing anything) those no font has, with where they are."""

    def __init__(self, fonts: PdfFonts) -> None:
        self.fonts = fonts
        self.missing: dict[str, list[Any]] = {}  # character -> [(field, where)…]
        self.first_field = ""

    def runs(self, text: Any, where: tuple[str, Any]) -> list[tuple[str, str]]:
        """(font name, text) pieces of `text`, newlines kept."""
        out: list[tuple[str, str]] = []
        for ch in _normalise(text):
            if ch in ("\n", " "):
                face_name = out[-1][0] if out else self.fonts.main.name
            else:
                face = None if _unshapeable(ch) else self.fonts.face_for(ch)
                if face is None:
                    self.missing.setdefault(ch, [])
                    if where not in self.missing[ch]:
                        self.missing[ch].append(where)
                    self.first_field = self.first_field or where[0]
                    face = self.fonts.main
                face_name = face.name
            if out and out[-1][0] == face_name:
                out[-1] = (face_name, out[-1][1] + ch)
            else:
                out.append((face_name, ch))
        return out

    def markup(self, text: Any, where: tuple[str, Any]) -> str:
        parts = []
        for face, piece in self.runs(text, where):
            piece = escape(piece).replace("\n", "<br/>")
            parts.append(piece if face == self.fonts.main.name else f'<font face="{face}">{piece}</font>')
        return "".join(parts)

    def refusal(self) -> MissingGlyphs | None:
        if not self.missing:
            return None
        chars = "".join(self.missing)
        places: list[str] = []
        for wheres in self.missing.values():
            for _field, where in wheres:
                if str(where) not in places:
                    places.append(str(where))
        shown = "、".join(f"{ch} (U+{ord(ch):04X})" for ch in chars)
        if all(_unshapeable(ch) for ch in chars):
            message = gettext(
                "The document cannot be printed: %(chars)s in %(where)s is in a script it cannot lay out "
                "(Mongolian, Tibetan or Uyghur script). Write it in Chinese characters or in Latin or Cyrillic "
                "letters; the party signs in their own script."
            )
        else:
            message = gettext(
                "The document cannot be printed: no font has %(chars)s in %(where)s. Ask the administrator to "
                "install a font that has it (setting MEDIATION_PDF_FALLBACK_FONTS, or fonts-hanazono for rare "
                "Chinese characters)."
            )
        return MissingGlyphs(
            message % {"chars": shown, "where": "、".join(places)},
            field=self.first_field,
            data={"characters": list(chars)},
        )


# ---------------------------------------------------------------------------------------------- wording


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def amount_in_words(amount: Decimal | int | str) -> str:
    """An amount of yuan in capital numerals, as written on agreements and receipts (大写金额):
    `12500` → 壹万贰仟伍佰元整, `100010.05` → 壹拾万零壹拾元零伍分."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError("a negative amount has no capital form")
    cents = int(value * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if yuan >= 10**16:
        raise ValueError("amount too large")

    def four(g: int) -> str:
        out, zero = "", False
        for pos in (3, 2, 1, 0):
            d = g // 10**pos % 10
            if d == 0:
                zero = bool(out)
                continue
            if zero:
                out += "零"
                zero = False
            out += _DIGITS[d] + _UNITS[pos]
        return out

    groups = []
    n = yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    words, pending = "", False
    for i in reversed(range(len(groups))):
        g = groups[i]
        if g == 0:
            pending = bool(words)
            continue
        if words and (pending or g < 1000):
            words += "零"
        words += four(g) + _GROUPS[i]
        pending = False
    if yuan:
        words += "元"
    if jiao == 0 and fen == 0:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif yuan:
        words += "零"
    words += _DIGITS[fen] + "分" if fen else "整"
    return words


_CN = "零一二三四五六七八九"


def _chinese_ordinal(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (term numbers; beyond 99 in Arabic numerals)."""
    if n < 10:
        return _CN[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[units] if units else "")
    return str(n)


_ENUMERATED = re.compile(
    r"^\s*(?:[（(]?\d{1,3}[)）.、．]|[（(]?[一二三四五六七八九十]{1,3}[、.．)）]|第[一二三四五六七八九十\d]{1,4}条)"
)


def split_terms(text: str) -> list[tuple[str, str]]:
    """The terms of an agreement as (number, text): one a line. Lines the author numbered are kept as they are
    (continuation lines without a number join the term above them); otherwise each line is numbered 一、二、…"""
    lines = [line.strip() for line in _normalise(text or "").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return []
    if _ENUMERATED.match(lines[0]):
        terms: list[tuple[str, str]] = []
        for line in lines:
            m = _ENUMERATED.match(line)
            if m:
                terms.append((m.group(0).strip(), line[m.end() :].strip()))
            else:
                number, body = terms[-1]
                terms[-1] = (number, body + "\n" + line)
        return terms
    return [(_chinese_ordinal(i) + "、", line) for i, line in enumerate(lines, 1)]


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _money(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return pgettext("mediation document", "%(amount)s yuan (in words: %(words)s)") % {
        "amount": f"{amount:,.2f}",
        "words": amount_in_words(amount),
    }


def _who(user: Any) -> str:
    return str(user) if user is not None else ""


# ----------------------------------------------------------------------------------------------- styles


@dataclass
class _Styles:
    body: ParagraphStyle
    para: ParagraphStyle  # narrative paragraph, first line indented two characters
    party: ParagraphStyle  # a party's particulars: lines after the first indented two characters
    party_note: ParagraphStyle
    caption: ParagraphStyle  # "调解记录：" above paragraphs of the record
    small_right: ParagraphStyle
    head: ParagraphStyle
    small: ParagraphStyle
    small_centre: ParagraphStyle
    centre: ParagraphStyle
    right: ParagraphStyle
    org: ParagraphStyle
    title: ParagraphStyle
    term_cache: dict[int, ParagraphStyle] = field(default_factory=dict)

    def term(self, prefix_chars: int) -> ParagraphStyle:
        """A numbered term: the number hangs, the text wraps under the text."""
        if prefix_chars not in self.term_cache:
            indent = prefix_chars * BODY_SIZE
            self.term_cache[prefix_chars] = ParagraphStyle(
                f"term{prefix_chars}",
                parent=self.body,
                leftIndent=indent + 2 * BODY_SIZE,
                firstLineIndent=-indent,
            )
        return self.term_cache[prefix_chars]


def _styles(font: str) -> _Styles:
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=BODY_SIZE,
        leading=BODY_SIZE * 1.6,
        wordWrap="CJK",
        alignment=TA_LEFT,
        allowWidows=0,  # the last line of a term never alone at the top of a page
    )
    small = ParagraphStyle("small", parent=body, fontSize=SMALL_SIZE, leading=SMALL_SIZE * 1.45)
    return _Styles(
        body=body,
        para=ParagraphStyle("para", parent=body, firstLineIndent=2 * BODY_SIZE),
        party=ParagraphStyle(
            "party", parent=body, leftIndent=2 * BODY_SIZE, firstLineIndent=-2 * BODY_SIZE, spaceAfter=2
        ),
        head=ParagraphStyle("head", parent=body, spaceBefore=BODY_SIZE * 0.6, spaceAfter=BODY_SIZE * 0.15),
        small=small,
        small_centre=ParagraphStyle("small_centre", parent=small, alignment=TA_CENTER),
        small_right=ParagraphStyle("small_right", parent=small, alignment=TA_RIGHT),
        party_note=ParagraphStyle("party_note", parent=body, leftIndent=2 * BODY_SIZE, spaceAfter=2),
        caption=ParagraphStyle("caption", parent=body, spaceBefore=5),
        centre=ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
        right=ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        org=ParagraphStyle("org", parent=body, fontSize=15, leading=22, alignment=TA_CENTER),
        title=ParagraphStyle(
            "title", parent=body, fontSize=TITLE_SIZE, leading=TITLE_SIZE * 1.6, alignment=TA_CENTER
        ),
    )


class _Title(Flowable):
    """A title on one line, centred, letter-spaced and in faux bold (text filled and stroked: the CJK fonts at
    hand have no bold face). Letter-spacing, not spaces, so that the title is found by a search of the PDF."""

    def __init__(self, runs: list[tuple[str, str]], size: float = TITLE_SIZE, space: float = 0.35) -> None:
        super().__init__()
        self.runs, self.size, self.char_space = runs, size, size * space
        self.spaceBefore, self.spaceAfter = size * 0.1, size * 0.3

    def _text_width(self) -> float:
        count = sum(len(t) for _f, t in self.runs)
        width = sum(pdfmetrics.stringWidth(t, f, self.size) for f, t in self.runs)
        return width + self.char_space * max(count - 1, 0)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.avail = availWidth
        return availWidth, self.size * 1.3

    def draw(self) -> None:
        c = self.canv
        text = c.beginText()
        text.setTextOrigin((self.avail - self._text_width()) / 2, self.size * 0.3)
        text.setCharSpace(self.char_space)
        text.setTextRenderMode(2)
        c.setLineWidth(self.size / 40)
        c.setStrokeColor(colors.black)
        for face, piece in self.runs:
            text.setFont(face, self.size)
            text.textOut(piece)
        c.drawText(text)


class _SignLine(Flowable):
    """A place to sign: a label, and a line to write on reaching the right edge, with room above for the hand."""

    def __init__(
        self, runs: list[tuple[str, str]], width: float, size: float = BODY_SIZE, room: float = 8 * mm
    ):
        super().__init__()
        self.runs, self.width, self.size, self.room = runs, width, size, room
        self.height = room + size * 0.6

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = min(self.width, availWidth)
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        x, y = 0.0, self.size * 0.3
        for face, text in self.runs:
            c.setFont(face, self.size)
            c.drawString(x, y, text)
            x += pdfmetrics.stringWidth(text, face, self.size)
        c.setLineWidth(0.6)
        c.line(x + 2, y - 2, self.width, y - 2)


# ------------------------------------------------------------------------------------------------ pages


def _page_canvas(footer: Any, *, always: bool) -> type[Canvas]:
    """A canvas that knows the page count when it finishes, and writes `footer(page, pages)` (a list of
    (font, text) runs, centred) on every page, or only when the document runs over one page."""

    class PagedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                if always or total > 1:
                    runs = footer(number, total)
                    width = sum(pdfmetrics.stringWidth(t, f, 9) for f, t in runs)
                    x = (PAGE_WIDTH - width) / 2
                    self.setFillColor(colors.black)
                    for face, text in runs:
                        self.setFont(face, 9)
                        self.drawString(x, MARGIN_BOTTOM - 12 * mm, text)
                        x += pdfmetrics.stringWidth(text, face, 9)
                super().showPage()
            super().save()

    return PagedCanvas


def _build(story: list[Flowable], *, title: str, author: str, subject: str, canvas: type[Canvas]) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_LEFT,
        rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=author,
        subject=subject,
        creator="gridgov",
        lang="zh-CN",
    )
    doc.build(story, canvasmaker=canvas)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- what is read


@dataclass
class _PartyData:
    role: str
    name: str
    gender: str = ""
    ethnicity: str = ""
    born: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    note: str = ""


def _month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def _party_data(party: Party, *, unmasked: bool) -> _PartyData:
    """What the office recorded of a party: the party's own record, filled in from the registry's record of the
    person where blank, and sex and date of birth read from the ID number where neither says them. Numbers are
    masked unless `unmasked`."""
    from django.core.exceptions import ValidationError

    from gridgov.registry.codes import DocumentKind, Ethnicity, Gender
    from gridgov.registry.validators import id_number_facts

    person = party.person
    full_id = decrypt_text(party.id_number_enc, ID_NUMBER)
    full_phone = decrypt_text(party.phone_enc, PHONE)
    id_number = full_id if unmasked else party.id_number_masked
    phone = full_phone if unmasked else party.phone_masked
    gender = ethnicity = born = address = ""
    if person is not None:
        if person.gender in (Gender.MALE, Gender.FEMALE):
            gender = label(Gender, person.gender)
        ethnicity = label(Ethnicity, person.ethnicity) if person.ethnicity else ""
        born = _month(person.birth_date) if person.birth_date else ""
        address = person.address
        if not id_number and person.document_kind == DocumentKind.ID_CARD:
            full_id = decrypt_text(person.document_enc, DOCUMENT)
            id_number = full_id if unmasked else person.document_masked
        if not phone:
            phone = decrypt_text(person.phone_enc, PHONE) if unmasked else person.phone_masked
    if full_id and not (gender and born):
        try:
            facts = id_number_facts(full_id)
        except ValidationError:
            pass
        else:
            gender = gender or label(Gender, facts.gender)
            born = born or _month(facts.birth_date)
    if not unmasked:
        # Whatever was stored, never a full number on a masked copy.
        id_number = mask_id_number(id_number) if id_number and "*" not in id_number else id_number
        phone = mask_phone(phone) if phone and "*" not in phone else phone
    return _PartyData(
        role=label(PartyRole, party.role),
        name=party.name,
        gender=gender,
        ethnicity=ethnicity,
        born=born,
        id_number=id_number,
        phone=phone,
        address=party.address or address,
        note=party.note,
    )


def _places(dispute: Dispute) -> tuple[str, str]:
    """The county's name and the dispute's place from the town down ("镇1 村1-1 网格1-1-1")."""
    from gridgov.grids.models import Grid

    ids = [int(x) for x in (dispute.grid.path or "").strip("/").split("/") if x]
    grids = sorted(Grid.objects.filter(id__in=ids).only("name", "level"), key=lambda g: g.level)
    county = next((g.name for g in grids if g.level == 0), "")
    below = " ".join(g.name for g in grids if g.level > 0) or dispute.grid.name
    return county, below


def _committee_name(committee: Committee | None, county: str) -> str:
    if committee is None:
        return ""
    name = committee.name
    return name if not county or name.startswith(county) else county + name


def _mediators(dispute: Dispute, sessions: Iterable[Session] = ()) -> list[Mediator]:
    """Those who sign as mediators: the lead and the assisting mediators, else whoever mediated a session."""
    found: list[Mediator] = []
    if dispute.lead_mediator is not None:
        found.append(dispute.lead_mediator)
    found += [m for m in dispute.assistants.all() if m not in found]
    if not found:
        for session in sessions:
            found += [m for m in session.mediators.all() if m not in found]
    return found


def _dispute_for_print(dispute: Dispute) -> Dispute:
    """The dispute again with what the documents read, in a fixed number of queries."""
    return (
        Dispute.objects.select_related(
            "grid", "committee", "lead_mediator", "received_by", "case", "agreement", "agreement__committee"
        )
        .prefetch_related(
            Prefetch("parties", queryset=Party.objects.select_related("person").order_by("id")),
            "assistants",
            Prefetch(
                "sessions",
                queryset=Session.objects.select_related("created_by")
                .prefetch_related("mediators", "parties_present")
                .order_by("held_at", "id"),
            ),
        )
        .get(pk=dispute.pk)
    )


def _agreement(dispute: Dispute) -> Agreement | None:
    try:
        return dispute.agreement
    except Agreement.DoesNotExist:
        return None


# -------------------------------------------------------------------------------------------- agreement


def agreement_pdf(dispute: Dispute, *, unmasked: bool = False) -> bytes:
    """The 人民调解协议书 of `dispute`, A4, ready to print and sign. Refuses (`Invalid`) a dispute without an
    agreement (or whose mediation failed) or without parties, and (`MissingGlyphs`) text no font can print.
    `unmasked=True` prints full ID and phone numbers: the caller checks the permission and audits it."""
    dispute = _dispute_for_print(dispute)
    agreement = _agreement(dispute)
    if agreement is None or agreement.outcome == Outcome.FAILED:
        raise Invalid(_("The dispute has no agreement to print."), field="agreement")
    parties = list(dispute.parties.all())
    if not parties:
        raise Invalid(_("An agreement needs its parties: add them first."), field="parties")
    fonts = pdf_fonts()
    with translation.override("zh-hans"):
        setter = _Setter(fonts)
        county, _place = _places(dispute)
        committee = _committee_name(agreement.committee or dispute.committee, county)
        story = _agreement_story(dispute, agreement, parties, committee, setter, unmasked=unmasked)
        number = agreement.number or dispute.number
        footer_where = ("", pgettext_lazy("mediation document", "page numbers"))
        setter.runs(pgettext("mediation document", "No. %(number)s") % {"number": number}, footer_where)
        setter.runs(
            pgettext("mediation document", "page %(page)d of %(pages)d") % {"page": 1, "pages": 2},
            footer_where,
        )
        refusal = setter.refusal()
        if refusal is None:
            title = pgettext("mediation document", "People's mediation agreement")

            def footer(page: int, pages: int) -> list[tuple[str, str]]:
                text = pgettext("mediation document", "page %(page)d of %(pages)d") % {
                    "page": page,
                    "pages": pages,
                }
                return setter.runs(text, footer_where)

            pdf = _build(
                story,
                title=f"{title} {number}",
                author=committee,
                subject=dispute.title,
                canvas=_page_canvas(footer, always=False),
            )
    if refusal is not None:
        raise refusal
    return pdf


def _agreement_story(
    dispute: Dispute,
    agreement: Agreement,
    parties: Sequence[Party],
    committee: str,
    setter: _Setter,
    *,
    unmasked: bool,
) -> list[Flowable]:
    st = _styles(setter.fonts.main.name)
    m = setter.markup

    def fixed(text: str) -> str:
        return m(text, ("", pgettext_lazy("mediation document", "the form")))

    story: list[Flowable] = []
    if committee:
        story.append(
            Paragraph(
                m(committee, ("committee", pgettext_lazy("mediation document", "the committee's name"))),
                st.org,
            )
        )
    story.append(
        _Title(
            setter.runs(
                pgettext("mediation document", "People's mediation agreement"),
                ("", pgettext_lazy("mediation document", "the form")),
            )
        )
    )
    story.append(
        Paragraph(
            fixed(pgettext("mediation document", "No.") + "：")
            + m(agreement.number, ("number", pgettext_lazy("mediation document", "the agreement's number"))),
            st.right,
        )
    )
    story.append(Spacer(1, 3 * mm))

    # The parties' particulars, one block each.
    for i, party in enumerate(parties, 1):
        data = _party_data(party, unmasked=unmasked)
        story.append(_particulars(data, i, setter, st))

    # Facts and what is in dispute.
    story.append(
        Paragraph(
            fixed(pgettext("mediation document", "Main facts of the dispute and the matters in dispute:")),
            st.head,
        )
    )
    facts = [line.strip() for line in _normalise(dispute.description).split("\n") if line.strip()]
    for line in facts:
        story.append(
            Paragraph(
                m(line, ("description", pgettext_lazy("mediation document", "the facts of the dispute"))),
                st.para,
            )
        )
    particulars = [
        pgettext("mediation document", "Kind of dispute: %(kind)s")
        % {"kind": label(DisputeKind, dispute.kind)},
    ]
    if dispute.amount is not None:
        particulars.append(
            pgettext("mediation document", "amount at stake: %(amount)s") % {"amount": _money(dispute.amount)}
        )
    story.append(Paragraph(fixed("；".join(particulars) + "。"), st.para))

    # The terms.
    if agreement.outcome == Outcome.PARTIAL:
        opening = pgettext(
            "mediation document",
            "Through mediation the parties have, of their own free will, agreed on part of the matters in dispute "
            "as follows:",
        )
    else:
        opening = pgettext(
            "mediation document",
            "Through mediation the parties have, of their own free will, reached this agreement:",
        )
    story.append(Paragraph(fixed(opening), st.head))
    for number, text in split_terms(agreement.terms):
        style = st.term(len(number))
        body = m(text, ("terms", pgettext_lazy("mediation document", "the terms")))
        story.append(Paragraph(escape(number) + body, style))
    if agreement.amount is not None:
        story.append(
            Paragraph(
                fixed(
                    pgettext("mediation document", "Amount agreed: %(amount)s.")
                    % {"amount": _money(agreement.amount)}
                ),
                st.para,
            )
        )

    # How and by when.
    story.append(
        Paragraph(
            fixed(pgettext("mediation document", "How and by when the agreement is performed:")), st.head
        )
    )
    method = [ln.strip() for ln in _normalise(agreement.performance_method).split("\n") if ln.strip()]
    for line in method:
        story.append(
            Paragraph(
                m(line, ("performance_method", pgettext_lazy("mediation document", "how it is performed"))),
                st.para,
            )
        )
    if agreement.performance_due:
        story.append(
            Paragraph(
                fixed(
                    pgettext("mediation document", "To be performed in full by %(day)s.")
                    % {"day": _day(agreement.performance_due)}
                ),
                st.para,
            )
        )
    if not method and not agreement.performance_due:
        story.append(
            Paragraph(fixed(pgettext("mediation document", "As set out in the terms above.")), st.para)
        )

    # The law on its effect, the copies, and the signatures: kept on one page, so that the page the parties
    # sign always carries text of the agreement.
    copies = len(parties) + 1
    story.append(
        Paragraph(
            fixed(
                pgettext(
                    "mediation document",
                    "This agreement takes effect on the day all parties have signed it (or sealed it, or put "
                    "their fingerprint on it), the mediators have signed it and the people's mediation committee "
                    "has set its seal on it. An agreement reached through a people's mediation committee is "
                    "legally binding; the parties shall perform it as agreed. The parties may together apply to "
                    "the people's court for judicial confirmation within thirty days of its taking effect.",
                )
            ),
            st.para,
        )
    )
    closing = [
        Paragraph(
            fixed(
                pgettext(
                    "mediation document",
                    "This agreement is made in %(copies)s copies: each party holds one and the people's "
                    "mediation committee keeps one.",
                )
                % {"copies": _chinese_ordinal(copies)}
            ),
            st.para,
        ),
        Spacer(1, 3 * mm),
        *_signatures(dispute, agreement, parties, committee, setter, st),
    ]
    story.append(KeepTogether(closing))
    return story


def _particulars(data: _PartyData, index: int, setter: _Setter, st: _Styles) -> Paragraph:
    """A party's particulars in the sentence of the national template: role and name, sex, ethnic group, date of
    birth, ID number, phone and address, each where recorded."""
    where = ("parties", pgettext_lazy("mediation document", "the particulars of party %(n)d") % {"n": index})
    facts = [data.gender, data.ethnicity]
    if data.born:
        facts.append(pgettext("mediation document", "born %(month)s") % {"month": data.born})
    if data.id_number:
        facts.append(pgettext("mediation document", "ID number: %(number)s") % {"number": data.id_number})
    if data.phone:
        facts.append(pgettext("mediation document", "phone: %(phone)s") % {"phone": data.phone})
    if data.address:
        facts.append(pgettext("mediation document", "address: %(address)s") % {"address": data.address})
    text = "，".join([data.name, *(f for f in facts if f)]) + "。"
    return Paragraph(setter.markup(data.role + "：", ("", "")) + setter.markup(text, where), st.party)


def _signatures(
    dispute: Dispute,
    agreement: Agreement,
    parties: Sequence[Party],
    committee: str,
    setter: _Setter,
    st: _Styles,
) -> list[Flowable]:
    """Places to sign, in two columns that line up: every party on the left, every mediator and the recorder on
    the right, each with a line and room above it for the hand; below, the committee's name, where its seal is
    set, and the date."""
    form = ("", pgettext_lazy("mediation document", "the form"))
    column = TEXT_WIDTH / 2 - 6 * mm
    party_where = ("parties", pgettext_lazy("mediation document", "the name of a party"))
    mediator_where = ("mediators", pgettext_lazy("mediation document", "the name of a mediator"))

    def place(*parts: list[tuple[str, str]]) -> Any:
        runs = [r for part in parts for r in part]
        if sum(pdfmetrics.stringWidth(t, f, BODY_SIZE) for f, t in runs) <= column - 25 * mm:
            return _SignLine(runs, column)
        # A long name: on its own lines, the line to sign below it.
        label_text = "".join(f'<font face="{f}">{escape(t)}</font>' for f, t in runs)
        return [Paragraph(label_text, st.body), _SignLine([], column)]

    left: list[Any] = [
        Paragraph(
            setter.markup(pgettext("mediation document", "Parties (signature, seal or fingerprint):"), form),
            st.body,
        )
    ]
    for party in parties:
        left.append(
            place(
                setter.runs(label(PartyRole, party.role) + " ", form),
                setter.runs(party.name + "：", party_where),
            )
        )
    right: list[Any] = [
        Paragraph(
            setter.markup(pgettext("mediation document", "People's mediators (signature):"), form), st.body
        )
    ]
    mediators = _mediators(dispute, dispute.sessions.all())
    for mediator in mediators:
        right.append(place(setter.runs(mediator.name + "：", mediator_where)))
    if not mediators:
        right.append(place())
    right.append(place(setter.runs(pgettext("mediation document", "Recorder (signature):"), form)))
    # Row by row, so that the places on the left and on the right line up.
    rows = [
        [left[i] if i < len(left) else "", right[i] if i < len(right) else ""]
        for i in range(max(len(left), len(right)))
    ]
    table = Table(rows, colWidths=[TEXT_WIDTH / 2, TEXT_WIDTH / 2], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1 * mm),
            ]
        )
    )
    committee_where = ("committee", pgettext_lazy("mediation document", "the committee's name"))
    seal = pgettext("mediation document", "(seal)")
    return [
        table,
        # Room for the seal, which is stamped over the committee's name and the date.
        Spacer(1, 8 * mm),
        Paragraph(setter.markup(committee, committee_where) + setter.markup(seal, form), st.right),
        Spacer(1, 2 * mm),
        Paragraph(setter.markup(_day(agreement.signed_on), form), st.right),
    ]


# ----------------------------------------------------------------------------------------------- record


def record_pdf(dispute: Dispute, *, unmasked: bool = False) -> bytes:
    """The whole record of `dispute` for its hand-over (移交) to the judicial office or a court: particulars,
    parties, every session with its notes, the outcome, the follow-up visits and the timeline of events.
    Page numbers on every page. `unmasked` as for `agreement_pdf`."""
    dispute = _dispute_for_print(dispute)
    fonts = pdf_fonts()
    with translation.override("zh-hans"):
        setter = _Setter(fonts)
        county, place = _places(dispute)
        committee = _committee_name(dispute.committee, county)
        story = _record_story(dispute, county, place, committee, setter, unmasked=unmasked)
        footer_where = ("", pgettext_lazy("mediation document", "page numbers"))
        number_text = pgettext("mediation document", "Record of dispute %(number)s") % {
            "number": dispute.number
        }

        def footer(page: int, pages: int) -> list[tuple[str, str]]:
            pages_text = pgettext("mediation document", "page %(page)d of %(pages)d") % {
                "page": page,
                "pages": pages,
            }
            return setter.runs(number_text + "    " + pages_text, footer_where)

        footer(1, 2)
        refusal = setter.refusal()
        if refusal is None:
            pdf = _build(
                story,
                title=number_text,
                author=committee or county,
                subject=dispute.title,
                canvas=_page_canvas(footer, always=True),
            )
    if refusal is not None:
        raise refusal
    return pdf


def _record_story(
    dispute: Dispute, county: str, place: str, committee: str, setter: _Setter, *, unmasked: bool
) -> list[Flowable]:
    from .models import DisputeEvent, FollowUp

    st = _styles(setter.fonts.main.name)
    m = setter.markup
    form = ("", pgettext_lazy("mediation document", "the form"))

    def fixed(text: str) -> str:
        return m(text, form)

    def heading(text: str) -> list[Flowable]:
        return [CondPageBreak(30 * mm), Paragraph(fixed(text), st.head)]

    def cell(text: Any, where: tuple[str, Any] = form, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(m(text if text is not None else "", where), style or st.small)

    def grid_table(rows: list[list[Any]], widths: list[float], *, header: bool) -> Table:
        # No row is ever taller than a page (long notes go below the table), so rows need not split.
        table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
        table.setStyle(TableStyle(commands))
        return table

    def captioned(text: str) -> list[Flowable]:
        """A caption above paragraphs, never alone at the foot of a page."""
        return [CondPageBreak(25 * mm), Paragraph(fixed(text), st.caption)]

    def lines(text: str, where: tuple[str, Any]) -> list[Flowable]:
        out = [ln.strip() for ln in _normalise(text or "").split("\n") if ln.strip()]
        return [Paragraph(m(ln, where), st.para) for ln in out]

    # A note too long for a table's cell (they take 2,000 characters) is begun in the cell and printed in full
    # below the table, numbered: the whole record, in rows that never outgrow a page.
    notes: list[tuple[str, tuple[str, Any]]] = []
    printed_notes = 0

    def note_cell(text: str, where: tuple[str, Any]) -> Paragraph:
        text = _normalise(text or "").strip()
        if len(text) <= NOTE_IN_CELL:
            return cell(text, where)
        notes.append((text, where))
        more = pgettext("mediation document", "… (in full: note %(n)d below)") % {"n": len(notes)}
        return Paragraph(m(text[:NOTE_BEGUN], where) + fixed(more), st.small)

    def notes_below() -> list[Flowable]:
        nonlocal printed_notes
        out: list[Flowable] = []
        for n, (text, where) in enumerate(notes[printed_notes:], printed_notes + 1):
            out += captioned(pgettext("mediation document", "Note %(n)d:") % {"n": n})
            out += lines(text, where)
        printed_notes = len(notes)
        return out

    story: list[Flowable] = []
    if committee or county:
        story.append(
            Paragraph(
                m(
                    committee or county,
                    ("committee", pgettext_lazy("mediation document", "the committee's name")),
                ),
                st.org,
            )
        )
    story.append(
        _Title(setter.runs(pgettext("mediation document", "Record of a people's mediation dispute"), form))
    )
    if dispute.handed_to:
        story.append(
            Paragraph(
                fixed(
                    pgettext("mediation document", "(handed over to %(to)s)")
                    % {"to": label(HandOverTo, dispute.handed_to)}
                ),
                st.centre,
            )
        )
    story.append(
        Paragraph(fixed(pgettext("mediation document", "No.") + "：") + m(dispute.number, form), st.right)
    )
    printed = pgettext("mediation document", "Printed on %(when)s") % {"when": _moment(timezone.now())}
    story.append(Paragraph(fixed(printed), st.small_right))
    story.append(Spacer(1, 2 * mm))

    # Particulars: label / value pairs, two a row.
    agreement = _agreement(dispute)
    mediators = _mediators(dispute)
    lead = dispute.lead_mediator.name if dispute.lead_mediator else ""
    assistants = "、".join(x.name for x in mediators if x != dispute.lead_mediator)
    pairs: list[tuple[str, Any, tuple[str, Any]]] = [
        (pgettext("mediation document", "Dispute"), dispute.title, ("title", pgettext_lazy("mediation document", "the title"))),
        (pgettext("mediation document", "Kind"), label(DisputeKind, dispute.kind), form),
        (pgettext("mediation document", "Risk"), label(RiskLevel, dispute.risk), form),
        (pgettext("mediation document", "Amount at stake"), _money(dispute.amount), form),
        (pgettext("mediation document", "Where"), " ".join(x for x in (county, place, dispute.address) if x),
         ("address", pgettext_lazy("mediation document", "the place"))),
        (pgettext("mediation document", "State"), label(DisputeState, dispute.state), form),
        (pgettext("mediation document", "Received"), _moment(dispute.received_at), form),
        (pgettext("mediation document", "Received by"), _who(dispute.received_by), form),
        (pgettext("mediation document", "From case"), dispute.case.number if dispute.case else "", form),
        (pgettext("mediation document", "Committee"), committee, ("committee", pgettext_lazy("mediation document", "the committee's name"))),
        (pgettext("mediation document", "Handled at"), label(Level, dispute.level), form),
        (pgettext("mediation document", "Settled at"), label(Level, dispute.settled_level) if dispute.settled_level else "", form),
        (pgettext("mediation document", "Lead mediator"), lead, ("mediators", pgettext_lazy("mediation document", "the name of a mediator"))),
        (pgettext("mediation document", "Assisting mediators"), assistants, ("mediators", pgettext_lazy("mediation document", "the name of a mediator"))),
    ]  # fmt: skip
    if dispute.handed_to:
        pairs += [
            (pgettext("mediation document", "Handed over to"), label(HandOverTo, dispute.handed_to), form),
            (pgettext("mediation document", "Handed over"), _moment(dispute.handed_at), form),
        ]
    rows: list[list[Any]] = []
    for i in range(0, len(pairs), 2):
        row: list[Any] = []
        for lab_text, value, where in pairs[i : i + 2]:
            row += [cell(lab_text, style=st.small_centre), cell(value, where)]
        rows.append(row + [""] * (4 - len(row)))
    story.append(grid_table(rows, [24 * mm, TEXT_WIDTH / 2 - 24 * mm] * 2, header=False))
    if dispute.handover_note:
        story += heading(pgettext("mediation document", "Hand-over note"))
        story += lines(
            dispute.handover_note,
            ("handover_note", pgettext_lazy("mediation document", "the hand-over note")),
        )

    # 一、Parties.
    story += heading(pgettext("mediation document", "1. Parties"))
    if not dispute.parties.all():
        story.append(Paragraph(fixed(pgettext("mediation document", "No party was recorded.")), st.para))
    for i, party in enumerate(dispute.parties.all(), 1):
        data = _party_data(party, unmasked=unmasked)
        story.append(_particulars(data, i, setter, st))
        if data.note:
            where = (
                "parties",
                pgettext_lazy("mediation document", "the particulars of party %(n)d") % {"n": i},
            )
            note = pgettext("mediation document", "Note: %(note)s") % {"note": data.note}
            story.append(Paragraph(m(note, where), st.party_note))

    # 二、The dispute.
    story += heading(pgettext("mediation document", "2. The dispute"))
    story += lines(
        dispute.description, ("description", pgettext_lazy("mediation document", "the facts of the dispute"))
    )

    # 三、Sessions.
    # The heading goes with the first session's table (a KeepTogether takes no keepWithNext).
    sessions_heading = heading(pgettext("mediation document", "3. Mediation sessions"))
    sessions = list(dispute.sessions.all())
    if not sessions:
        story += sessions_heading
        story.append(Paragraph(fixed(pgettext("mediation document", "No session was held.")), st.para))
    for n, session in enumerate(sessions, 1):
        where = ("sessions", pgettext_lazy("mediation document", "the record of session %(n)d") % {"n": n})
        title = pgettext("mediation document", "Session %(n)s: %(when)s") % {
            "n": _chinese_ordinal(n),
            "when": _moment(session.held_at),
        }
        block: list[Flowable] = [Paragraph(fixed(title), st.body)]
        facts = [
            (pgettext("mediation document", "Place"), session.place),
            (pgettext("mediation document", "Mediators"), "、".join(x.name for x in session.mediators.all())),
            (pgettext("mediation document", "Parties present"), "、".join(x.name for x in session.parties_present.all())),
            (pgettext("mediation document", "Others present"), session.others_present),
            (pgettext("mediation document", "Recorded by"), _who(session.created_by)),
        ]  # fmt: skip
        rows = [[cell(k, style=st.small_centre), cell(v, where)] for k, v in facts if v]
        block.append(grid_table(rows, [28 * mm, TEXT_WIDTH - 28 * mm], header=False))
        if n == 1:
            story.append(sessions_heading[0])
            block.insert(0, sessions_heading[1])
        story.append(KeepTogether(block))
        # The notes as paragraphs, which run on over pages however long they are.
        for caption, text in (
            (pgettext("mediation document", "Notes:"), session.notes),
            (pgettext("mediation document", "Next steps:"), session.next_steps),
        ):
            if text.strip():
                story += captioned(caption)
                story += lines(text, where)
        story.append(Spacer(1, 3 * mm))

    # 四、Outcome.
    story += heading(pgettext("mediation document", "4. Outcome"))
    if agreement is None:
        story.append(Paragraph(fixed(pgettext("mediation document", "No outcome was recorded.")), st.para))
    else:
        facts = [
            (pgettext("mediation document", "Outcome"), label(Outcome, agreement.outcome)),
            (pgettext("mediation document", "Agreement number"), agreement.number),
            (pgettext("mediation document", "Signed on"), _day(agreement.signed_on)),
            (pgettext("mediation document", "Amount agreed"), _money(agreement.amount)),
            (pgettext("mediation document", "Performed by"), _day(agreement.performance_due)),
        ]
        where = ("agreement", pgettext_lazy("mediation document", "the agreement"))
        rows = [[cell(k, style=st.small_centre), cell(v, where)] for k, v in facts if v]
        story.append(grid_table(rows, [28 * mm, TEXT_WIDTH - 28 * mm], header=False))
        terms = split_terms(agreement.terms)
        if terms:
            caption = (
                pgettext("mediation document", "Terms:")
                if agreement.outcome != Outcome.FAILED
                else pgettext("mediation document", "Why no agreement was reached:")
            )
            story += captioned(caption)
            for num, text in terms:
                story.append(Paragraph(escape(num) + m(text, where), st.term(len(num))))
        if agreement.performance_method:
            story += captioned(pgettext("mediation document", "How it is performed:"))
            story += lines(agreement.performance_method, where)

    # 五、Follow-up visits.
    story += heading(pgettext("mediation document", "5. Follow-up visits"))
    follow_ups = list(
        FollowUp.objects.filter(dispute=dispute).select_related("visitor").order_by("due_on", "id")
    )
    if not follow_ups:
        story.append(Paragraph(fixed(pgettext("mediation document", "No follow-up visit.")), st.para))
    else:
        rows = [
            [
                cell(pgettext("mediation document", "Due"), style=st.small_centre),
                cell(pgettext("mediation document", "Visited"), style=st.small_centre),
                cell(pgettext("mediation document", "Visited by"), style=st.small_centre),
                cell(pgettext("mediation document", "Result"), style=st.small_centre),
                cell(pgettext("mediation document", "Note"), style=st.small_centre),
            ]
        ]
        where = ("follow_ups", pgettext_lazy("mediation document", "the follow-up visits"))
        for f in follow_ups:
            rows.append(
                [
                    cell(_day(f.due_on)),
                    cell(_moment(f.done_at)),
                    cell(_who(f.visitor), where),
                    cell(label(FollowUpResult, f.result) if f.result else ""),
                    note_cell(f.note, where),
                ]
            )
        story.append(
            grid_table(rows, [29 * mm, 36 * mm, 22 * mm, 22 * mm, TEXT_WIDTH - 109 * mm], header=True)
        )
        story += notes_below()

    # 六、Timeline.
    story += heading(pgettext("mediation document", "6. Timeline"))
    events = list(DisputeEvent.objects.filter(dispute=dispute).select_related("actor").order_by("at", "id"))
    rows = [
        [
            cell(pgettext("mediation document", "Time"), style=st.small_centre),
            cell(pgettext("mediation document", "Step"), style=st.small_centre),
            cell(pgettext("mediation document", "By"), style=st.small_centre),
            cell(pgettext("mediation document", "State"), style=st.small_centre),
            cell(pgettext("mediation document", "Note"), style=st.small_centre),
        ]
    ]
    where = ("events", pgettext_lazy("mediation document", "the timeline"))
    for e in events:
        states = ""
        if e.to_state and e.to_state != e.from_state:
            states = "→".join(label(DisputeState, s) for s in (e.from_state, e.to_state) if s)
        rows.append(
            [
                cell(_moment(e.at)),
                cell(label(EventAction, e.action)),
                cell(_who(e.actor), where),
                cell(states),
                note_cell(e.note, where),
            ]
        )
    if events:
        story.append(
            grid_table(rows, [36 * mm, 25 * mm, 20 * mm, 30 * mm, TEXT_WIDTH - 111 * mm], header=True)
        )
        story += notes_below()
    else:
        story.append(Paragraph(fixed(pgettext("mediation document", "No step was recorded.")), st.para))
    return story
