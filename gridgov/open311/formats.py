"""GeoReport v2 documents in both formats. A document is plain data (dicts, lists, strings, numbers, booleans,
None); JSON is its Spark mapping (the outer wrapper disappears, every container is an array) and XML its
element tree, with the child element of each container named here.

Written by hand rather than through an XML library: a list of 1,000 requests is rendered in a few
milliseconds."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils import dateparse, timezone

XML = "xml"
JSON = "json"
FORMATS = (XML, JSON)
CONTENT_TYPES = {XML: "text/xml; charset=utf-8", JSON: "application/json; charset=utf-8"}
MIME = {XML: "text/xml", JSON: "application/json"}

# The element of each item of a container.
CHILD = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "notes": "note",
    "media_urls": "media_url",
    "photos": "photo",
    "groups": "group",
}

# Characters XML 1.0 cannot carry (control characters other than tab, line feed and carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return _NOT_XML.sub("", text).translate(_ESCAPES)


def _element(tag: str, value: Any, out: list[str]) -> None:
    if value is None or value == "":
        out.append(f"<{tag}/>")
    elif isinstance(value, dict):
        out.append(f"<{tag}>")
        for k, v in value.items():
            _element(k, v, out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        child = CHILD.get(tag, "item")
        out.append(f"<{tag}>")
        for v in value:
            _element(child, v, out)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{_text(value)}</{tag}>")


def to_xml(root: str, document: Any) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n']
    _element(root, document, out)
    return "".join(out)


def to_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def render(fmt: str, root: str, document: Any, status: int = 200, *, ascii_xml: bool = False) -> HttpResponse:
    """`document` as a response in `fmt`: the XML element `root` wrapping it, or its JSON.

    `ascii_xml` writes every non-ASCII character of the XML as a character reference (`&#26071;`): the same
    document to any XML parser, and one a client that decodes the body as text and then calls `str()` on it
    under Python 2 can read (the `three` package's discovery does that, standards.md §A.6)."""
    body = to_xml(root, document) if fmt == XML else to_json(document)
    data = body.encode("ascii", "xmlcharrefreplace") if fmt == XML and ascii_xml else body.encode()
    return HttpResponse(data, status=status, content_type=CONTENT_TYPES[fmt])


def errors(
    fmt: str, status: int, *problems: tuple[int, str], headers: dict[str, str] | None = None
) -> HttpResponse:
    """The spec's error document: `<errors><error><code/><description/></error>…` or a JSON array of them."""
    document = [{"code": code, "description": str(description)} for code, description in problems]
    response = render(fmt if fmt in FORMATS else XML, "errors", document, status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def parse_datetime(text: str) -> datetime | None:
    """A W3C datetime (`2026-05-01T09:30:00+08:00`, `…Z`), or a bare date; without an offset, Beijing time.
    None when it is neither."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        at = dateparse.parse_datetime(
            text.replace(" ", "+", 1) if re.search(r"T\d\d:\d\d(:\d\d(\.\d+)?)? \d\d:?\d\d$", text) else text
        )
    except ValueError:
        return None
    if at is None:
        try:
            day = dateparse.parse_date(text)
        except ValueError:
            return None
        if day is None:
            return None
        at = datetime(day.year, day.month, day.day)
    if timezone.is_naive(at):
        at = timezone.make_aware(at, ZoneInfo(settings.TIME_ZONE))
    return at
