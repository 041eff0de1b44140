"""The video wall in a real browser (Debian's Chromium through Playwright): a tile plays a real HLS stream
(MPEG-TS segments made once with ffmpeg, tests/fixtures/hls/, 30 KB, served as the site's video gateway would)
and its <video> advances; a tile whose stream fails says "no signal"; the case page lists the camera nearby.
Screenshots go to test-artifacts/command-video-wall*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from gridgov.cases.choices import Channel
from gridgov.cases.services import Report, do_report
from gridgov.command.cameras import CameraInput, do_save_camera
from gridgov.tests.browser import ARGS, CHROMIUM, PHONE, needs_chromium, shoot, sign_in

pytestmark = needs_chromium
FIXTURE = Path(__file__).parent / "fixtures" / "hls"
GATEWAY = "http://video.example.local/live/"
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


def gateway(route) -> None:
    """The site's video gateway: LIVE's stream from the fixture, every other stream gone (404)."""
    url = route.request.url
    name = url.rsplit("/", 1)[-1]
    cors = {"Access-Control-Allow-Origin": "*"}
    if "/LIVE/" in url and (FIXTURE / name).is_file():
        path = FIXTURE / name
        route.fulfill(
            status=200, body=path.read_bytes(), headers={**cors, "Content-Type": TYPES[path.suffix]}
        )
    else:
        route.fulfill(status=404, body="", headers=cors)


@pytest.mark.django_db(transaction=True)
def test_the_wall_plays_a_stream_and_says_no_signal_for_a_dead_one(live_server, world):
    for code, lon, url in (
        ("LIVE", 109.0102, f"{GATEWAY}LIVE/index.m3u8"),
        ("DEAD", 109.0105, f"{GATEWAY}DEAD/index.m3u8"),
    ):
        do_save_camera(
            CameraInput(name=f"镇1{code}路口", code=code, kind="hls", hls_url=url, lon=lon, lat=40.05),
            actor=world.banner_operator,
        )
    case = do_report(
        Report(
            channel=Channel.WORKER_APP, description="垃圾箱满了", item=world.item.code, lon=109.01, lat=40.05
        ),
        actor=world.specialist,
    ).case
    with translation.override("zh-hans"):  # the words the pages show in Chinese, the default
        no_signal, play = gettext("No signal"), gettext("Play")

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            context.route("http://video.example.local/**", gateway)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, live_server.url, "op", "Correct-Horse-9")

            page.goto(f"{live_server.url}/command/video/?layout=2&c=LIVE&c=DEAD")
            live = page.locator('video[data-code="LIVE"]')
            page.wait_for_function(
                "() => document.querySelector('video[data-code=LIVE]').currentTime > 0.5", timeout=20000
            )
            assert live.evaluate("v => !v.paused && v.videoWidth") == 160
            dead = page.locator('.video-tile:has(video[data-code="DEAD"])')
            expect(dead).to_have_attribute("data-state", "nosignal", timeout=20000)
            expect(dead.locator(".video-state")).to_have_text(no_signal)
            expect(page.locator('.video-tile:has(video[data-code="LIVE"])')).to_have_attribute(
                "data-state", "playing"
            )
            # The two empty tiles say so.
            expect(page.locator('.video-tile[data-state="empty"]')).to_have_count(2)
            shoot(page, "command-video-wall")

            # Choosing a camera in an empty tile plays it and keeps the choice in the address.
            page.select_option("#tile-2", "LIVE")
            page.wait_for_function(
                "() => document.querySelectorAll('video[data-code=LIVE]')[1].currentTime > 0.2", timeout=20000
            )
            assert "c=LIVE&c=DEAD&c=LIVE" in page.url

            # The case page: the cameras near the case, nearest first, with a link that plays it.
            page.goto(f"{live_server.url}/cases/{case.number}/")
            panel = page.locator("#cameras-near")
            expect(panel.locator("li")).to_have_count(2)
            expect(panel.locator("li").first).to_contain_text("镇1LIVE路口")
            panel.scroll_into_view_if_needed()
            shoot(page, "command-case-cameras")
            panel.locator("li").first.get_by_role("link", name=play).click()
            page.wait_for_function(
                "() => document.querySelector('video[data-code=LIVE]').currentTime > 0.2", timeout=20000
            )

            # The operator's form refuses a malformed GB/T 28181 ID next to the field.
            page.goto(f"{live_server.url}/command/cameras/new/")
            page.fill("#id_name", "二号路口")
            page.fill("#id_code", "CAM-2")
            page.select_option("#id_kind", "gb28181")
            page.fill("#id_channel_id", "1506210000")
            page.fill("#id_hls_url", f"{GATEWAY}CAM-2/index.m3u8")
            page.fill("#id_lon", "109.012")
            page.fill("#id_lat", "40.05")
            page.click("form.register-form button[type=submit]")
            expect(page.locator('.errorlist[data-field="channel_id"]')).to_be_visible()
            shoot(page, "command-camera-form")

            page.goto(f"{live_server.url}/command/cameras/")
            expect(page.locator(".camera-map path.leaflet-interactive")).to_have_count(2)
            shoot(page, "command-cameras")

            phone = browser.new_context(viewport=PHONE, locale="zh-CN")
            phone.route("http://video.example.local/**", gateway)
            small = phone.new_page()
            sign_in(small, live_server.url, "op", "Correct-Horse-9")
            small.goto(f"{live_server.url}/command/video/?layout=3&c=LIVE&c=DEAD")
            small.wait_for_function(
                "() => document.querySelector('video[data-code=LIVE]').currentTime > 0.2", timeout=20000
            )
            shoot(small, "command-video-wall-phone")
            assert not errors, errors
        finally:
            browser.close()
