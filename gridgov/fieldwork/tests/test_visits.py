"""Visits (走访) as the phone's offline queue sends them: the key records one visit however often it is sent, with
the phone's time and position and its photos (checked like a case's evidence, kept without metadata for
showing); bad input refused naming the field; a visit is its worker's and their overseers' alone."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from gridgov.core.models import AuditRecord
from gridgov.fieldwork.models import Visit, VisitPhoto

from .helpers import IN_G, IN_G_B, as_user, assert_error, phone_time

pytestmark = pytest.mark.django_db

VISITS = "/api/fieldwork/visits"


def visit(client, key: str | None = None, where: tuple[float, float] | None = IN_G, **fields: Any):
    form: dict[str, Any] = {
        "key": key or str(uuid.uuid4()),
        "at": phone_time(fields.pop("at", timezone.now() - dt.timedelta(hours=1))),
        "purpose": "routine",
        **fields,
    }
    if where is not None:
        form.update(lon=str(where[0]), lat=str(where[1]))
    return client.post(VISITS, form)


def snapshot() -> dict[str, Any]:
    return {
        "visits": list(Visit.objects.order_by("pk").values()),
        "photos": VisitPhoto.objects.count(),
        "audit": AuditRecord.objects.count(),
    }


def jpeg_with_gps() -> bytes:
    """A phone photo: JPEG with an EXIF GPS block."""
    image = Image.new("RGB", (32, 24), (10, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (40.0, 3.0, 0.0), 3: "E", 4: (109.0, 0.0, 36.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_a_visit_sent_twice_is_one_visit(field):
    crew = field.crew
    client = as_user(crew.specialist)
    key = str(uuid.uuid4())
    photo = SimpleUploadedFile("door.jpg", jpeg_with_gps(), "image/jpeg")
    first = visit(
        client,
        key,
        purpose="care",
        household=str(field.household.pk),
        note="独居老人，身体良好",
        accuracy_m="8",
        photos=[photo],
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["grid"]["code"] == crew.grid.code and body["worker"]["id"] == crew.specialist.pk
    assert body["household"] == {"id": field.household.pk, "label": "H-0001"}
    assert body["purpose_label"] and body["photos"] == 1 and body["accuracy_m"] == 8
    again = visit(client, key, purpose="care", household=str(field.household.pk))
    assert again.status_code == 200 and again.json() == body
    assert Visit.objects.count() == 1 and VisitPhoto.objects.count() == 1
    assert AuditRecord.objects.filter(action="visit.record").count() == 1
    # The copy for showing has no metadata; the original keeps what the phone wrote.
    stored = VisitPhoto.objects.get()
    assert "exif" not in Image.open(stored.public.open("rb")).info
    assert Image.open(stored.original.open("rb")).getexif().get_ifd(0x8825)


def test_another_workers_key_is_a_conflict(field):
    key = str(uuid.uuid4())
    assert visit(as_user(field.crew.specialist), key).status_code == 201
    before = snapshot()
    assert_error(visit(as_user(field.crew.officer), key), 409, "conflict", "key")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("specialist", 200),
        ("l2head", 200),
        ("l1head", 200),
        ("leader", 200),
        ("officer", 404),  # a colleague of the same grid
        ("other_specialist", 404),  # a worker of another town's grid
        ("other_l2head", 404),
        ("resident", 404),
        ("nobody", 404),
    ],
)
def test_a_visit_is_seen_by_its_worker_and_their_overseers(field, who, status):
    key = visit(as_user(field.crew.specialist)).json()["key"]
    answer = as_user(getattr(field.crew, who)).get(f"{VISITS}/{key}")
    assert answer.status_code == status, answer.content
    if status == 404:
        assert_error(answer, 404, "not_found")


def test_the_grid_is_the_workers_grid_holding_the_point(field):
    crew = field.crew
    client = as_user(crew.two_grids)
    assert visit(client, where=IN_G_B).json()["grid"]["code"] == crew.grid_b.code
    assert visit(client, where=IN_G).json()["grid"]["code"] == crew.grid.code
    # Without a fix: the visited record's grid, when it is one of the worker's.
    assert visit(client, where=None, organisation=str(field.shop.pk)).json()["grid"]["code"] == crew.grid.code


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"key": "not-a-uuid"}, "key"),
        ({"at": timezone.now() + dt.timedelta(hours=2)}, "at"),
        ({"at": timezone.now() - dt.timedelta(days=40)}, "at"),
        ({"purpose": "gossip"}, "purpose"),
        ({"household": "other"}, "household"),  # a household of another town
        ({"household": "999999"}, "household"),
        ({"person": "999999"}, "person"),
        ({"organisation": "999999"}, "organisation"),
        ({"purpose": "care", "organisation": "shop"}, "person"),  # care is for a person or a household
        ({"where": None}, "household"),  # nobody, nowhere
        ({"lon": "200"}, "lon"),
        ({"accuracy_m": "-1"}, "accuracy_m"),
        ({"note": "x" * 2001}, "note"),
        ({"photos": "video"}, "photos"),
        ({"photos": "text"}, "photos"),
    ],
)
def test_a_bad_visit_is_refused_naming_the_field(field, fields, field_name):
    fields = dict(fields)
    if fields.get("household") == "other":
        fields["household"] = str(field.other_household.pk)
    if fields.get("organisation") == "shop":
        fields["organisation"] = str(field.shop.pk)
    if fields.get("photos") == "text":
        fields["photos"] = [SimpleUploadedFile("a.jpg", b"just some text", "image/jpeg")]
    if fields.get("photos") == "video":
        # A video the case engine would take: visits keep photos only.
        fields["photos"] = [SimpleUploadedFile("a.webm", _tiny_video(), "video/webm")]
    where = fields.pop("where", IN_G)
    if "lon" in fields:
        fields["lat"] = "40.05"
        where = None
    before = snapshot()
    assert_error(visit(as_user(field.crew.specialist), where=where, **fields), 422, "invalid", field_name)
    assert snapshot() == before


def _tiny_video() -> bytes:
    from gridgov.cases.tests.test_evidence import webm  # the engine's own test video

    return webm()


@pytest.mark.parametrize("who", ["l2head", "operator", "resident", "nobody"])
def test_only_grid_workers_record_visits(field, who):
    before = snapshot()
    assert_error(visit(as_user(getattr(field.crew, who))), 403, "not_allowed")
    assert snapshot() == before


def test_the_lists_show_own_visits_and_the_overseers_theirs(field):
    crew = field.crew
    # All on one local day, whenever the test runs (an hour before 00:30 in Asia/Shanghai is yesterday).
    midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    start = max(timezone.now() - dt.timedelta(hours=1), midnight)
    mine = [
        visit(as_user(crew.specialist), at=start + dt.timedelta(seconds=60 - m)).json()["key"]
        for m in (30, 10, 20)
    ]
    neighbour = visit(as_user(crew.two_grids), where=IN_G_B, at=start).json()["key"]

    def keys(user, **query) -> list[str]:
        response = as_user(user).get(VISITS, query)
        assert response.status_code == 200, response.content
        return [v["key"] for v in response.json()["items"]]

    # Newest first by the phone's time, paged.
    assert keys(crew.specialist) == [mine[1], mine[2], mine[0]]
    page = as_user(crew.specialist).get(VISITS, {"limit": 2}).json()
    rest = as_user(crew.specialist).get(VISITS, {"limit": 2, "before": page["next_before"]}).json()
    assert [v["key"] for v in page["items"] + rest["items"]] == [mine[1], mine[2], mine[0]]
    day = timezone.localdate(start).isoformat()
    assert set(keys(crew.l2head, day=day)) == {*mine, neighbour}
    assert keys(crew.l2head, grid=crew.grid_b.code) == [neighbour]
    assert keys(crew.other_l2head, day=day) == []
    assert keys(crew.officer, grid=crew.grid.code) == []
    assert_error(as_user(crew.resident).get(VISITS), 403, "not_allowed")
