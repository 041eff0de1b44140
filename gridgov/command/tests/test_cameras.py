"""The camera registry: operators add and change the cameras of their grids (bad input refused naming the field,
nothing changed), everyone else of a grid sees its cameras only, and a case's page lists the cameras near it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.cases.choices import Channel
from gridgov.cases.services import Report, do_report
from gridgov.command.cameras import CameraInput, check_channel_id, distance_m, do_save_camera, nearest
from gridgov.command.models import AlarmSource, Camera, CameraKind
from gridgov.command.sections import sections
from gridgov.core.errors import Invalid
from gridgov.core.models import AuditRecord
from gridgov.core.scoping import visible_to
from gridgov.demo.cameras import seed_cameras
from gridgov.demo.config import DemoConfig

GOOD = {
    "name": "一号路口",
    "code": "CAM-1",
    "kind": "gb28181",
    "channel_id": "15062100001310000001",
    "source_url": "",
    "hls_url": "http://video.example.local/live/CAM-1.m3u8",
    "lon": "109.01",
    "lat": "40.05",
    "status": "online",
}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def camera(world, code: str, lon: float, lat: float) -> Camera:
    return do_save_camera(
        CameraInput(
            name=code,
            code=code,
            kind="hls",
            hls_url=f"http://video.example.local/{code}.m3u8",
            lon=lon,
            lat=lat,
        ),
        actor=world.banner_operator,
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("15062100001310000001", True),
        ("15062100001320000001", True),
        ("1506210000131000001", False),  # 19 digits
        ("1506210000131000000A", False),
        ("99062100001310000001", False),  # no province 99
        ("15062100002000000001", False),  # type 200: a platform, not a camera
    ],
)
def test_gb28181_channel_ids_are_checked_for_their_form(value, ok):
    if ok:
        assert check_channel_id(value) == value
    else:
        with pytest.raises(Invalid) as refused:
            check_channel_id(value)
        assert refused.value.field == "channel_id"


def test_an_operator_adds_a_camera_placed_in_its_grid(world):
    response = client_of(world.operator).post("/command/cameras/new/", GOOD)
    assert response.status_code == 302
    saved = Camera.objects.get(code="CAM-1")
    assert saved.grid_id == world.grid.pk and saved.grid_l1_id == world.town.pk
    assert AuditRecord.objects.filter(action="command.camera_added", object_id=str(saved.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel_id": "123"}, "channel_id"),
        ({"kind": "rtsp", "source_url": "http://x/y"}, "source_url"),
        ({"hls_url": "javascript:alert(1)"}, "hls_url"),
        ({"lon": "120.0"}, "lon"),  # outside the county
        ({"lat": "abc"}, "lat"),
        ({"code": "has space"}, "code"),
        ({"name": ""}, "name"),
        ({"kind": "onvif"}, "kind"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(world, change, field):
    before = AuditRecord.objects.count()
    response = client_of(world.operator).post("/command/cameras/new/", {**GOOD, **change})
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert f'data-field="{field}"' in response.content.decode()
    assert not Camera.objects.exists() and AuditRecord.objects.count() == before


def test_a_code_is_used_once(world):
    camera(world, "CAM-1", 109.01, 40.05)
    response = client_of(world.operator).post("/command/cameras/new/", GOOD)
    assert response.status_code == 422 and "code" in response.context["form"].errors


def test_cameras_are_seen_within_the_grids_of_their_viewers(world):
    mine = camera(world, "MINE", 109.01, 40.05)
    camera(world, "FAR", 109.15, 40.05)  # the other town
    assert list(visible_to(world.specialist, Camera)) == [mine]
    assert visible_to(world.leader, Camera).count() == 2
    assert client_of(world.specialist).get("/command/cameras/FAR/").status_code == 404
    assert client_of(world.specialist).get("/command/cameras/MINE/").status_code == 200
    assert client_of(world.resident).get("/command/cameras/MINE/").status_code == 404
    # Seeing is not keeping: the grid's staff do not change cameras, nor an operator of another town.
    assert client_of(world.specialist).get("/command/cameras/MINE/edit/").status_code == 403
    assert client_of(world.other_operator).get("/command/cameras/MINE/edit/").status_code == 404
    codes = [c["code"] for c in client_of(world.specialist).get("/api/command/cameras").json()]
    assert codes == ["MINE"]
    assert client_of(world.leader).get("/api/command/cameras").json()[1]["code"] == "MINE"


def test_an_edit_moves_the_camera_and_a_stale_form_is_refused(world):
    saved = camera(world, "CAM-1", 109.01, 40.05)
    client = client_of(world.operator)
    data = {**GOOD, "lon": "109.03", "version": "1"}  # the other level-3 grid of the village
    assert client.post("/command/cameras/CAM-1/edit/", data).status_code == 302
    saved.refresh_from_db()
    assert saved.grid_id == world.grid_b.pk and saved.version == 2
    again = client.post("/command/cameras/CAM-1/edit/", {**data, "name": "改名"})
    assert again.status_code == 422
    saved.refresh_from_db()
    assert saved.name == GOOD["name"]


def test_the_nearest_cameras_come_first_with_their_distance(world):
    camera(world, "NEAR", 109.0102, 40.05)
    camera(world, "MID", 109.013, 40.05)
    camera(world, "OUT", 109.02, 40.05)  # ~850 m: outside 500 m
    found = nearest(world.operator, 109.01, 40.05)
    assert [n.camera.code for n in found] == ["NEAR", "MID"]
    assert found[0].metres == pytest.approx(distance_m(109.01, 40.05, 109.0102, 40.05))
    assert 15 < found[0].metres < 20 and 250 < found[1].metres < 260
    near = client_of(world.operator).get("/api/command/cameras/near", {"lon": 109.01, "lat": 40.05}).json()
    assert [c["code"] for c in near] == ["NEAR", "MID"] and near[0]["metres"] == pytest.approx(17.0, abs=1)


def test_a_case_page_shows_the_cameras_near_it(world):
    camera(world, "NEAR", 109.0102, 40.05)
    camera(world, "OUT", 109.02, 40.05)
    case = do_report(
        Report(
            channel=Channel.WORKER_APP, description="垃圾箱满了", item=world.item.code, lon=109.01, lat=40.05
        ),
        actor=world.specialist,
    ).case
    client = client_of(world.operator)
    client.get(f"/cases/{case.number}/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/cases/{case.number}/").content.decode()
    panel = page[page.index('id="cameras-near"') :]
    assert "/command/cameras/NEAR/" in panel and "/command/video/?c=NEAR" in panel and "OUT" not in panel
    assert "17" in panel
    camera_queries = [q for q in queries.captured_queries if "command_camera" in q["sql"]]
    assert len(camera_queries) == 1


def test_the_video_wall_plays_the_chosen_cameras(world):
    camera(world, "A", 109.01, 40.05)
    camera(world, "B", 109.011, 40.05)
    page = (
        client_of(world.operator).get("/command/video/", {"layout": 3, "c": ["B", "nope"]}).content.decode()
    )
    assert page.count('class="video-tile"') == 9
    assert 'data-src="http://video.example.local/B.m3u8"' in page
    assert 'data-src="http://video.example.local/A.m3u8"' not in page


def test_the_demo_places_cameras_in_every_town_and_two_alarm_sources(world):
    report = seed_cameras(DemoConfig(seed=3))
    assert report.cameras == 2 * 4 and report.sources == 2
    assert set(Camera.objects.values_list("grid_l1_id", flat=True)) == {world.town.pk, world.other_grid.l1_id}
    assert Camera.objects.filter(kind=CameraKind.GB28181).count() >= 2
    for c in Camera.objects.filter(kind=CameraKind.GB28181):
        assert check_channel_id(c.channel_id) == c.channel_id
    assert set(AlarmSource.objects.values_list("kind", flat=True)) == {"video", "iot"}
    first = sorted(Camera.objects.values_list("code", "lon", "lat"))
    Camera.objects.all().delete()
    seed_cameras(DemoConfig(seed=3))
    assert sorted(Camera.objects.values_list("code", "lon", "lat")) == first


def test_only_the_staff_of_grids_get_the_video_link_and_the_panel(world):
    camera(world, "NEAR", 109.0102, 40.05)
    case = do_report(
        Report(
            channel=Channel.RESIDENT_APP,
            description="垃圾箱满了",
            item=world.item.code,
            lon=109.01,
            lat=40.05,
        ),
        actor=world.resident,
    ).case
    own = client_of(world.resident).get(f"/cases/{case.number}/").content.decode()
    assert 'id="cameras-near"' not in own and "/command/video/" not in own
    # The video wall is one of the command centre's tabs for the staff of grids, not for a department's handler.
    assert "video" not in [key for key, _url, _label in sections(world.handler)]
    assert "video" in [key for key, _url, _label in sections(world.specialist)]
    assert client_of(world.handler).get("/command/cameras/NEAR/").status_code == 404


@pytest.mark.parametrize("url", ["/command/cameras/", "/command/video/?layout=3"])
def test_the_camera_pages_read_the_same_queries_for_few_and_many_cameras(world, url):
    client = client_of(world.operator)

    def queries() -> int:
        client.get(url)  # warm the per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    camera(world, "A0", 109.01, 40.05)
    few = queries()
    for n in range(1, 8):
        camera(world, f"A{n}", 109.01 + n * 0.001, 40.05)
    assert queries() == few
