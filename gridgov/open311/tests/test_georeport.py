"""Every GeoReport v2 endpoint in both formats, with its errors: the documents validate against the public JSON
Schemas, and the XML says what the JSON says."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.cases.choices import Action, Channel, ReporterKind, State
from gridgov.cases.models import Case, CaseEvent
from gridgov.cases.personal import reporter_identity
from gridgov.cases.services import Step, do_transition
from gridgov.core.models import AuditRecord
from gridgov.core.personal import decrypt_text
from gridgov.open311.models import ApiKey, ServiceRequest
from gridgov.open311.services import EMAIL, do_revoke_key

from .conftest import BASE, POINT, both, check_schema, fetch, post_form, xml_document

pytestmark = pytest.mark.django_db

FMTS = ("json", "xml")


def report(client, o, fmt="json", **extra):
    fields = {
        "api_key": o.key,
        "service_code": "011001",
        **POINT,
        "description": "垃圾箱满溢，臭气熏天 “引号” & <尖括号>",
        "attribute[OBJID]": "1506210100000001",
        "email": "wang@example.cn",
        "phone": "13800138000",
        "first_name": "小明",
        "last_name": "王",
        **extra,
    }
    return post_form(client, fmt, fields)


def test_discovery_in_both_formats(client, o311):
    for fmt in FMTS:
        response = client.get(f"/open311/discovery.{fmt}")
        assert response.status_code == 200
        assert (
            response["Content-Type"]
            == ("application/json" if fmt == "json" else "text/xml") + "; charset=utf-8"
        )
    data = json.loads(client.get("/open311/discovery.json").content)
    assert isinstance(data, dict) and data["contact"] and data["key_service"] and data["changeset"]
    (endpoint,) = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root, xml_data = xml_document(client.get("/open311/discovery.xml").content)
    assert root == "discovery" and xml_data["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    # The base URL points at discovery; an unknown suffix is 404 with the error document.
    assert client.get(BASE).status_code == 302
    response = client.get("/open311/discovery.html")
    assert response.status_code == 404 and xml_document(response.content)[0] == "errors"


def test_discovery_xml_is_ascii_for_the_three_client(client, o311):
    # The `three` client (PyPI three 0.8.0, Python 2) reads discovery.xml as text and str()s it: any
    # non-ASCII character raised UnicodeEncodeError there. Character references carry the same Chinese.
    body = client.get("/open311/discovery.xml").content
    body.decode("ascii")
    assert b"&#" in body
    _root, data = xml_document(body)
    shown = json.loads(client.get("/open311/discovery.json").content)
    assert data["contact"] == shown["contact"] and data["key_service"] == shown["key_service"]
    assert any(ord(c) > 127 for c in data["key_service"])


def test_service_list_from_the_responsibility_list(client, o311):
    data, root = both(client, "services")
    assert root == "services"
    check_schema(data, "services.json")
    by_code = {s["service_code"]: s for s in data}
    assert len(by_code) == 145
    bin_ = by_code["011001"]
    assert bin_ == {
        "service_code": "011001",
        "service_name": "垃圾箱",
        "description": bin_["description"],
        "metadata": True,  # it asks questions
        "type": "realtime",
        "keywords": bin_["keywords"],
        "group": "市容市貌",
    }
    assert "果皮箱" in bin_["keywords"] and "lajixiang" in bin_["keywords"] and "ljx" in bin_["keywords"]
    assert by_code["011002"]["metadata"] is False
    # English when the client asks for it (the language cookie, as the workbench sets it).
    client.cookies["django_language"] = "en"
    english = {s["service_code"]: s for s in fetch(client, "services", "json")}
    assert (
        english["011001"]["service_name"] == "Litter bin" and english["011001"]["group"] == "City appearance"
    )


def test_service_definition_with_every_datatype(client, o311):
    data, root = both(client, "services/011001")
    assert root == "service_definition" and isinstance(data, dict)
    check_schema(data, "service-definition.json")
    assert [a["datatype"] for a in data["attributes"]] == [
        "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist",
    ]  # fmt: skip
    assert [a["order"] for a in data["attributes"]] == [1, 2, 3, 4, 5, 6]
    objid = data["attributes"][0]
    assert objid["code"] == "OBJID" and objid["required"] is True and objid["variable"] is True
    assert objid["description"] == "问题OBJID" and "values" not in objid
    assert data["attributes"][4]["values"] == [{"key": "1", "name": "紧急"}, {"key": "0", "name": "一般"}]
    # The singular alias an old client uses; an item without questions has an empty list.
    assert fetch(client, "service/011001", "json") == data
    assert fetch(client, "services/011002", "json") == {"service_code": "011002", "attributes": []}
    for fmt in FMTS:
        errors = fetch(client, "services/999999", fmt, status=404)
        assert (errors[1] if fmt == "xml" else errors)[0]["description"]
    response = client.get(f"{BASE}services/011001.yaml")
    assert response.status_code == 404 and xml_document(response.content)[0] == "errors"


def test_post_request_makes_a_case_through_intake(client, o311):
    before = AuditRecord.objects.count()
    data = report(client, o311, **{"attribute[SMELL][]": ["a", "b"], "attribute[URGENT]": "1"})
    (answer,) = data
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert "token" not in answer  # realtime: the id, never both
    case = Case.objects.get(number=answer["service_request_id"])
    assert case.channel == Channel.OPEN311 and case.state == State.REPORTED and case.item.code == "011001"
    assert case.grid.code == "150621100200001"
    assert case.reporter_kind == ReporterKind.ANONYMOUS and case.reporter is None
    assert reporter_identity(case) == ("王 小明", "13800138000")
    assert case.description == "垃圾箱满溢，臭气熏天 “引号” & <尖括号>"
    record = ServiceRequest.objects.get(case=case)
    assert record.attributes == {"OBJID": "1506210100000001", "URGENT": "1", "SMELL": ["a", "b"]}
    assert decrypt_text(record.email_enc, EMAIL) == "wang@example.cn" and b"wang" not in bytes(
        record.email_enc
    )
    assert record.api_key == o311.api_key
    actions = list(AuditRecord.objects.filter(id__gt=0).order_by("id").values_list("action", flat=True))[
        before:
    ]
    assert actions == ["case.report", "open311.report"]
    key = ApiKey.objects.get(pk=o311.api_key.pk)
    assert key.reports == 1 and key.uses == 1 and key.last_used_at is not None
    # XML: the same wrapper, the same fields; the key in the query string this time, no phone: the client's
    # account reports (a resident it stands for), and the email is kept.
    from urllib.parse import urlencode

    response = client.post(
        f"{BASE}requests.xml?api_key={o311.key}",
        data=urlencode(
            {
                "service_code": "011001",
                "address_string": "树林召镇 幸福路 12号",
                "attribute[OBJID]": "X1",
                "email": "a@b.cn",
            }
        ),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/xml; charset=utf-8"
    root, xml_data = xml_document(response.content)
    assert root == "service_requests" and set(xml_data[0]) == {
        "service_request_id",
        "service_notice",
        "account_id",
    }
    second = Case.objects.get(number=xml_data[0]["service_request_id"])
    assert second.reporter_kind == ReporterKind.RESIDENT and second.reporter == o311.api_key.account
    assert second.address == "树林召镇 幸福路 12号" and second.lon is None
    assert second.description == "垃圾箱"  # no description: the item's name


def test_post_multipart_with_media(client, o311, png_bytes):
    response = client.post(
        f"{BASE}requests.json",
        {
            "api_key": o311.key,
            "service_code": "011001",
            **POINT,
            "description": "多媒体上报",
            "attribute[OBJID]": "M1",
            "phone": "13900139000",
            "media": SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
        },
    )
    assert response.status_code == 200, response.content
    number = json.loads(response.content)[0]["service_request_id"]
    (shown,) = fetch(client, f"requests/{number}", "json")
    assert shown["media_url"].startswith("http://testserver/open311/v2/media/")
    photo = client.get(shown["media_url"].removeprefix("http://testserver"))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"


def test_post_errors(client, o311):
    good = {"service_code": "011001", **POINT, "attribute[OBJID]": "1", "phone": "13800138000"}
    for fmt in FMTS:

        def error(status, fmt=fmt, **fields):
            doc = post_form(client, fmt, fields, status=status)
            items = doc[1] if fmt == "xml" else doc
            if fmt == "xml":
                assert doc[0] == "errors"
            assert len(items) == 1 and set(items[0]) == {"code", "description"} and items[0]["description"]
            return items[0]["description"]

        error(403, **good)  # no key
        error(403, api_key="wrong", **good)
        error(400, api_key=o311.key, **{**good, "service_code": ""})
        error(404, api_key=o311.key, **{**good, "service_code": "999999"})
        assert "OBJID" in error(400, api_key=o311.key, **{**good, "attribute[OBJID]": ""})
        assert "URGENT" in error(400, api_key=o311.key, **good, **{"attribute[URGENT]": "9"})
        assert "HOWMANY" in error(400, api_key=o311.key, **good, **{"attribute[HOWMANY]": "many"})
        assert "SEEN_AT" in error(400, api_key=o311.key, **good, **{"attribute[SEEN_AT]": "yesterday"})
        error(400, api_key=o311.key, **{**good, "lat": "", "long": ""})  # nowhere
        assert "long" in error(400, api_key=o311.key, **{**good, "long": ""})
        error(400, api_key=o311.key, **{**good, "lat": "91"})
        error(400, api_key=o311.key, **{**good, "lat": "30.0", "long": "100.0"})  # outside the county
        assert "phone" in error(400, api_key=o311.key, **{**good, "phone": "12345"})
        error(400, api_key=o311.key, **{**good, "description": "长" * 4001})
        error(400, api_key=o311.key, **{**good, "email": "not-an-email"})
    assert not Case.objects.exists()
    refused = AuditRecord.objects.filter(action="open311.key_refused")
    assert refused.count() == 4 and not refused.first().success
    # A revoked key is refused too.
    do_revoke_key(o311.api_key, actor=None)
    assert post_form(client, "json", {"api_key": o311.key, **good}, status=403)


def test_a_description_as_long_as_the_spec_allows_is_kept_whole(client, o311):
    text = "楼道堆放杂物，" * 571 + "请处理"  # 4,000 characters, the spec's most
    number = report(client, o311, description=text)[0]["service_request_id"]
    assert Case.objects.get(number=number).description == text


def test_get_requests_filters_paging_and_extensions(client, o311):
    w = o311.w
    numbers = [report(client, o311)[0]["service_request_id"] for _ in range(3)]
    other = post_form(
        client,
        "json",
        {
            "api_key": o311.key,
            "service_code": "011002",
            **POINT,
            "phone": "13800138000",
            "description": "另一个",
        },
    )[0]["service_request_id"]
    # One of them is accepted (立案) and then rejected: closed.
    closing = Case.objects.get(number=numbers[0])
    do_transition(
        closing, Action.REJECT, Step(reason="不属于受理范围", note="不属于受理范围"), actor=w.operator
    )
    data, root = both(client, "requests")
    assert root == "service_requests"
    check_schema(data, "requests.json")
    assert [r["service_request_id"] for r in data] == [other, *reversed(numbers)]  # newest first
    first = data[-1]
    assert first["status"] == "closed" and first["updated_datetime"].endswith("+08:00")
    assert all(r["status"] == "open" for r in data[:-1])
    assert data[0]["lat"] == 40.05 and data[0]["long"] == 109.01 and data[0]["agency_responsible"]
    # Filters.
    ids = lambda **q: [r["service_request_id"] for r in fetch(client, "requests", "json", data=q)]  # noqa: E731
    assert ids(status="closed") == [numbers[0]]
    assert ids(status="open,closed") == ids()
    assert ids(service_code="011002") == [other]
    assert ids(service_code="011002,011001") == ids()
    assert ids(service_request_id=f"{numbers[1]},{other}", status="closed") == [
        other,
        numbers[1],
    ]  # overrides
    now = timezone.now()
    assert ids(start_date=(now + timedelta(hours=1)).isoformat()) == []
    assert ids(end_date=(now - timedelta(hours=1)).isoformat()) == []
    assert (
        ids(start_date=(now - timedelta(days=1)).isoformat(), end_date=(now + timedelta(hours=1)).isoformat())
        == ids()
    )
    # A "+" left unencoded in a query string arrives as a space.
    hour_ago = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    response = client.get(f"{BASE}requests.json?start_date={hour_ago}")
    assert [r["service_request_id"] for r in json.loads(response.content)] == ids()
    assert ids(updated_after=(now - timedelta(minutes=5)).isoformat()) == ids()
    assert ids(updated_before=(now - timedelta(minutes=5)).isoformat()) == []
    assert ids(page_size="2") == ids()[:2] and ids(page_size="2", page="2") == ids()[2:4]
    assert ids(page="3", page_size="2") == []
    assert ids(jurisdiction_id="") == ids()  # empty is absent
    # Extensions: the answers, the steps as notes, the state.
    ext = fetch(client, "requests", "json", data={"extensions": "true"})
    check_schema(ext, "requests.json")
    closed = next(r for r in ext if r["service_request_id"] == numbers[0])
    assert [n["type"] for n in closed["notes"]] == ["for_triage", "no_further_action"]
    assert closed["status_notes"] == "不属于受理范围"
    assert {
        "label": "问题OBJID",
        "name": "问题OBJID",
        "value": "1506210100000001",
        "code": "OBJID",
    } in closed["attributes"]
    assert closed["extended_attributes"]["state"] == "rejected"
    root, xml_ext = fetch(client, "requests", "xml", data={"extensions": "true"})
    assert xml_ext[-1]["notes"][0]["type"] == "for_triage"
    # One request, both formats; unknown → 404.
    one, root = both(client, f"requests/{numbers[1]}")
    check_schema(one, "requests.json")
    assert len(one) == 1 and one[0]["service_request_id"] == numbers[1]
    for fmt in FMTS:
        fetch(client, "requests/20000101-9999", fmt, status=404)
    # Bad arguments: 400 in the error shape.
    for bad in (
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": (now - timedelta(days=100)).isoformat(), "end_date": now.isoformat()},
        {"start_date": now.isoformat(), "end_date": (now - timedelta(days=1)).isoformat()},
        {"page": "0"},
        {"page_size": "1001"},
        {"page_size": "many"},
    ):
        for fmt in FMTS:
            doc = fetch(client, "requests", fmt, status=400, data=bad)
            assert (doc[1] if fmt == "xml" else doc)[0]["code"] in (400, "400")


def test_default_window_and_cap(client, o311):
    number = report(client, o311)[0]["service_request_id"]
    Case.objects.filter(number=number).update(created_at=timezone.now() - timedelta(days=91))
    assert fetch(client, "requests", "json") == []
    # Asked by id, it is found whatever its age.
    assert (
        fetch(client, "requests", "json", data={"service_request_id": number})[0]["service_request_id"]
        == number
    )


def test_public_output_carries_no_personal_data_and_private_homes_are_coarse(client, o311):
    number = report(client, o311)[0]["service_request_id"]
    typed = report(client, o311, description="请回电 13912345678，身份证150621199001011234")[0][
        "service_request_id"
    ]
    (shown,) = fetch(client, f"requests/{typed}", "json")
    assert shown["description"] == "请回电 139****5678，身份证150621********1234"
    private = post_form(
        client,
        "json",
        {
            "api_key": o311.key,
            "service_code": o311.private_item.code,
            "lat": "40.05123",
            "long": "109.01789",
            "address_string": "幸福小区3号楼2单元501",
            "description": "邻居张三家漏水到我家",
            "phone": "13700137000",
            "email": "li@example.cn",
        },
    )[0]["service_request_id"]
    for fmt in FMTS:
        for path in ("requests", f"requests/{number}", f"requests/{private}"):
            body = client.get(f"{BASE}{path}.{fmt}", {"extensions": "true"}).content.decode()
            for secret in (
                "13800138000",
                "138****8000",
                "wang@example.cn",
                "小明",
                "13700137000",
                "li@example.cn",
            ):
                assert secret not in body
    (shown,) = fetch(client, f"requests/{private}", "json")
    assert shown["description"] is None and shown["address"] is None and shown["attributes"] == []
    assert shown["lat"] == 40.051 and shown["long"] == 109.017  # the centre of its 0.002° cell
    assert abs(shown["lat"] - 40.05123) < 0.002 and (shown["lat"], shown["long"]) != (40.05123, 109.01789)
    updates = client.get(f"{BASE}servicerequestupdates.json").content.decode()
    assert "张三" not in updates


def test_tokens(client, o311):
    number = report(client, o311)[0]["service_request_id"]
    token = ServiceRequest.objects.get(case__number=number).token
    data, root = both(client, f"tokens/{token}")
    assert root == "service_requests" and data == [{"service_request_id": number, "token": token}]
    for fmt in FMTS:
        fetch(client, "tokens/nope", fmt, status=404)


def test_service_request_updates_follow_the_workflow(client, o311):
    w = o311.w
    number = report(client, o311)[0]["service_request_id"]
    case = Case.objects.get(number=number)
    do_transition(case, Action.ACCEPT, actor=w.operator)
    do_transition(case, Action.DISPATCH, Step(unit="HW"), actor=w.operator)
    data, root = both(client, "servicerequestupdates")
    assert root == "service_request_updates"
    mine = [u for u in data if u["service_request_id"] == number]
    assert [u["status"] for u in mine] == ["for_triage", "open", "in_progress"]
    events = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("id", flat=True))
    assert [u["update_id"] for u in mine] == [str(e) for e in events]
    assert all(u["updated_datetime"].endswith("+08:00") and u["description"] for u in mine)
    root, xml_data = fetch(client, "servicerequestupdates", "xml")
    assert xml_data[0].keys() >= {"update_id", "status", "service_request_id"}
    assert b"<request_update>" in client.get(f"{BASE}servicerequestupdates.xml").content
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert fetch(client, "servicerequestupdates", "json", data={"start_date": later}) == []
    for fmt in FMTS:
        fetch(client, "servicerequestupdates", fmt, status=400, data={"end_date": "soon"})


def test_rate_limit_per_key(client, o311):
    ApiKey.objects.filter(pk=o311.api_key.pk).update(rate_per_minute=2)
    assert fetch(client, "services", "json", data={"api_key": o311.key})
    assert fetch(client, "services", "json", data={"api_key": o311.key})
    response = client.get(f"{BASE}services.xml", {"api_key": o311.key})
    if response.status_code == 200:  # the minute turned between two requests: the third of the new one
        response = client.get(f"{BASE}services.xml", {"api_key": o311.key})
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    root, errors = xml_document(response.content)
    assert root == "errors" and errors[0]["code"] == "429"
    # Without a key, reading is open; with a wrong one, refused.
    assert client.get(f"{BASE}services.json").status_code == 200
    assert client.get(f"{BASE}services.json", {"api_key": "nope"}).status_code == 403


def test_several_jurisdictions(client, o311, settings):
    settings.OPEN311_JURISDICTIONS = ["150621", "dalad.gov.cn"]
    for fmt in FMTS:
        fetch(client, "services", fmt, status=400)
        fetch(client, "services", fmt, status=404, data={"jurisdiction_id": "sfgov.org"})
    assert fetch(client, "services", "json", data={"jurisdiction_id": "dalad.gov.cn"})
    # From the body on POST.
    fields = {
        "api_key": o311.key,
        "service_code": "011001",
        **POINT,
        "attribute[OBJID]": "J",
        "phone": "13800138000",
    }
    post_form(client, "json", fields, status=400)
    assert post_form(client, "json", {**fields, "jurisdiction_id": "150621"})[0]["service_request_id"]


def test_chinese_round_trips_in_both_formats(client, o311):
    text = "井盖缺失😀，“危险”！<b>不是HTML</b> & 换行\n第二行"
    for fmt in FMTS:
        doc = report(client, o311, fmt, description=text)
        number = (doc[1] if fmt == "xml" else doc)[0]["service_request_id"]
        shown = fetch(client, f"requests/{number}", fmt)
        assert (shown[1] if fmt == "xml" else shown)[0]["description"] == text


def test_reading_requests_costs_the_same_queries_for_any_number(client, o311):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{BASE}{path}").status_code == 200
        return len(captured)

    report(client, o311)
    few = queries("requests.json"), queries("requests.xml?extensions=true")
    for _ in range(4):
        report(client, o311)
    assert (queries("requests.json"), queries("requests.xml?extensions=true")) == few
    assert few[0] <= 5  # the cases, items, departments, photos (no session: an anonymous client)
