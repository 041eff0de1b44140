"""The Open311 world: the case tests' `world`, questions of every datatype on item 011001 (litter bin), a client
application's API key, and helpers that read a document in either format and check it against the public
GeoReport v2 JSON Schemas (tests/schemas, see its README)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema_rs
import pytest

from gridgov.catalog.models import Item, ItemQuestion
from gridgov.open311.formats import CHILD
from gridgov.open311.services import do_create_key

SCHEMAS = Path(__file__).parent / "schemas"
BASE = "/open311/v2/"
POINT = {"lat": "40.05", "long": "109.01"}  # inside grid 150621100200001 of the small tree


def _retrieve(uri: str) -> Any:
    return json.loads((SCHEMAS / uri.rsplit("/", 1)[-1]).read_text())


def validator(name: str) -> Any:
    return jsonschema_rs.validator_for(
        json.loads((SCHEMAS / name).read_text()),
        base_uri="file:///georeport-v2/" + name,
        retriever=_retrieve,
        validate_formats=True,
    )


VALIDATORS = {
    n: validator(n)
    for n in ("services.json", "service.json", "service-definition.json", "requests.json", "request.json")
}


def check_schema(document: Any, name: str) -> None:
    problems = [str(e) for e in VALIDATORS[name].iter_errors(document)]
    assert not problems, problems


def xml_document(body: bytes) -> tuple[str, Any]:
    """(root tag, data) of an XML answer, read back the way the JSON maps it (Spark convention)."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(body)  # noqa: S314 - our own server's answer

    def read(el: ET.Element) -> Any:
        if el.tag in CHILD:
            return [read(c) for c in el]
        if len(el):
            return {c.tag: read(c) for c in el}
        return el.text if el.text not in (None, "") else None

    return root.tag, read(root)


def as_xml_text(document: Any) -> Any:
    """A JSON document with its scalars as XML writes them, to compare with `xml_document`."""
    if isinstance(document, list):
        return [as_xml_text(d) for d in document]
    if isinstance(document, dict):
        return {k: as_xml_text(v) for k, v in document.items()}
    if document is True:
        return "true"
    if document is False:
        return "false"
    if document is None or document == "":
        return None
    return str(document)


def fetch(client, path: str, fmt: str, *, status: int = 200, method: str = "get", **kwargs: Any) -> Any:
    """The document at BASE+path.fmt in `fmt`, checked for its status and content type; XML as `xml_document`
    reads it."""
    call = getattr(client, method)
    response = call(f"{BASE}{path}.{fmt}", **kwargs)
    assert response.status_code == status, response.content[:500]
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return xml_document(response.content)


def both(client, path: str, **kwargs: Any) -> Any:
    """The JSON document at `path`, after checking that its XML twin says the same. Returns (json, xml root)."""
    data = fetch(client, path, "json", **kwargs)
    root, xml_data = fetch(client, path, "xml", **kwargs)
    assert xml_data == as_xml_text(data)
    return data, root


QUESTIONS = [
    # code, datatype, required, values
    ("OBJID", "string", True, []),
    ("HOWMANY", "number", False, []),
    ("SEEN_AT", "datetime", False, []),
    ("DETAIL", "text", False, []),
    (
        "URGENT",
        "singlevaluelist",
        False,
        [{"key": "1", "name": "紧急", "name_en": "urgent"}, {"key": "0", "name": "一般"}],
    ),
    ("SMELL", "multivaluelist", False, [{"key": "a", "name": "臭味"}, {"key": "b", "name": "污水"}]),
]


@pytest.fixture
def o311(world):
    item = Item.objects.get(code="011001")
    for order, (code, datatype, required, values) in enumerate(QUESTIONS, start=1):
        q = ItemQuestion(
            item=item,
            code=code,
            datatype=datatype,
            required=required,
            order=order,
            name=f"问题{code}",
            name_en=f"Question {code}",
            hint="提示" if datatype == "datetime" else "",
            values=values,
        )
        q.full_clean()
        q.save()
    made = do_create_key("测试客户端", actor=None, rate_per_minute=1000)
    private_item = Item.objects.filter(module__code="07", active=True).order_by("code").first()
    return SimpleNamespace(w=world, item=item, key=made.key, api_key=made.api_key, private_item=private_item)


def post_form(client, fmt: str, fields: dict[str, Any], *, status: int = 200, query: str = "") -> Any:
    """POST requests.fmt as a form (UTF-8), checked for its status; the document as `fetch` reads it."""
    from urllib.parse import urlencode

    body = urlencode(fields, doseq=True)
    response = client.post(
        f"{BASE}requests.{fmt}{query}",
        data=body,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert response.status_code == status, response.content[:500]
    if fmt == "json":
        return json.loads(response.content)
    return xml_document(response.content)
