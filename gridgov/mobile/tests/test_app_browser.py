"""The phone app (/m/) in a real browser (Debian's Chromium through Playwright) on a phone: 360×740, touch,
the location granted at a point inside a level-3 grid.

- a resident signs in with a phone number and the SMS code, and reports with a photo and the phone's location;
- a grid worker goes offline, makes three reports and one verification on the spot, closes the app and opens
  it again without a signal (the service worker serves it; the queue shows four waiting), comes back online,
  and exactly those four arrive, once each — also when the phone sends again what it already sent;
- a resident rates a closed case and disputes another closure;
- a grid worker's patrol: check-in, a GPS track while walking, check-out.

Screens are saved as test-artifacts/mobile-*.png. The database is read in a thread of its own while the browser
runs: Playwright's sync API keeps an event loop in the test's thread, where Django refuses ORM calls."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from gridgov.accounts.models import User
from gridgov.cases.choices import State
from gridgov.cases.models import Case, CaseEvent, Evidence, Supporter
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.fieldwork.models import Patrol
from gridgov.tests.browser import ARGS, CHROMIUM, PHONE, needs_chromium, shoot

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `world` fixture's password
# Inside level-3 grid 150621100200001 of the small tree (109.0–109.025 E, 40.0–40.1 N), the specialist's grid.
POINT = (109.0125, 40.05)
PHONE_NUMBER = "13912345678"
T = TypeVar("T")


def in_db(work: Callable[[], T]) -> T:
    """Run ORM work in a thread without an event loop (and close that thread's connection after)."""

    def run() -> T:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def jpeg(colour: tuple[int, int, int] = (150, 120, 90), size: tuple[int, int] = (1200, 900)) -> bytes:
    """A real photo-like JPEG: a scene with shapes, not a flat square."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (150, 170, 190))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((0, h * 2 // 3, w, h), fill=(110, 105, 95))
    draw.rectangle((w // 10, h // 4, w // 2, h * 2 // 3), fill=(190, 180, 160))
    for i in range(6):
        draw.ellipse((w // 2 + i * 60, h // 2 - i * 15, w // 2 + i * 60 + 90, h * 2 // 3 + 20), fill=colour)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def noise_jpeg(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo that does not compress: grain all over (a night shot, say)."""
    from PIL import Image

    img = Image.merge("RGB", [Image.effect_noise(size, 80) for _ in range(3)])
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def photo_file(name: str, colour: tuple[int, int, int] = (150, 120, 90)) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg(colour)}


def upload(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def report(user: User, description: str, point: tuple[float, float] = POINT, item: str = "011001") -> str:
    result = do_report(
        Report(
            channel="resident_app",
            description=description,
            item=item,
            lon=point[0],
            lat=point[1],
            files=[upload(jpeg((120, 90, 60)), "before.jpg")],
            force=True,
        ),
        actor=user,
    )
    return result.case.number


def to_handled(world: Any, number: str) -> None:
    """Accepted, dispatched to the lead department (HW), signed and handled: it waits for the grid's check."""
    do_transition(number, "accept", Step(), actor=world.operator)
    do_transition(number, "dispatch", Step(unit="HW"), actor=world.operator)
    do_transition(number, "sign", Step(), actor=world.handler)
    do_transition(
        number,
        "feedback",
        Step(note="已清理完毕", files=[upload(jpeg((60, 160, 60)), "after.jpg")]),
        actor=world.handler,
    )


class ServerHits:
    """Every request the live server answers (it runs in this process), to prove a phase sent nothing."""

    def __init__(self, monkeypatch: Any) -> None:
        self.paths: list[str] = []
        original = WSGIHandler.__call__

        def counting(handler: Any, environ: dict[str, Any], start_response: Any) -> Any:
            self.paths.append(environ.get("PATH_INFO", ""))
            return original(handler, environ, start_response)

        monkeypatch.setattr(WSGIHandler, "__call__", counting)


# ------------------------------------------------------------------------------------------------- in the page


def phone_context(browser: Any, point: tuple[float, float] = POINT) -> Any:
    return browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        has_touch=True,
        is_mobile=True,
        permissions=["geolocation"],
        geolocation={"longitude": point[0], "latitude": point[1], "accuracy": 12},
        service_workers="allow",
    )


def small_targets(page: Any) -> list[str]:
    """What a thumb would miss: visible controls less than 48 px high (or wide)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                'button, summary, .btn, .tabs a, .tile, .case-row, .shot, .rating span, .crumb a, .badge-link')]
            .filter(el => el.offsetParent !== null)
            .map(el => [el, el.getBoundingClientRect()])
            .filter(([el, r]) => r.height < 47.5 || r.width < 47.5)
            .map(([el, r]) => `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 20)}" ${r.width}x${r.height}`)"""
    )


def shoot_tall(page: Any, name: str) -> None:
    """A whole screen as a phone as tall as it would show it: the top bar at the top, the tabs at the bottom."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": PHONE["width"], "height": max(PHONE["height"], height)})
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, name)
    page.set_viewport_size(PHONE)


def open_app(context: Any, base: str, hash_: str = "") -> tuple[Any, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/m/{hash_}")
    return page, errors


def wait_controlled(page: Any) -> None:
    """The service worker is installed (everything kept) and controls the page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def sign_in_with_password(page: Any, username: str) -> None:
    page.wait_for_selector(".signin")
    page.click('[data-tab="account"]')
    page.fill('[data-form="account"] input[name="username"]', username)
    page.fill('[data-form="account"] input[name="password"]', PASSWORD)
    page.click('[data-form="account"] button.primary')
    page.wait_for_selector("#tabs:not([hidden])")


def queue_records(page: Any) -> list[dict[str, Any]]:
    """The queue as the phone keeps it (IndexedDB), without the photos."""
    return page.evaluate(
        """async () => {
            const q = await import("m/queue");
            return (await q.all()).map(r => ({key: r.key, kind: r.kind, state: r.state, url: r.url,
                                              result: r.result, error: r.error, attempts: r.attempts,
                                              seq: r.seq, owner: r.owner}));
        }"""
    )


def wait_queue_settled(page: Any, count: int, seconds: float = 30) -> list[dict[str, Any]]:
    """The queue once it holds `count` records and none waits or is being sent."""
    records: list[dict[str, Any]] = []
    for _ in range(int(seconds * 4)):
        records = queue_records(page)
        if len(records) >= count and all(r["state"] not in ("waiting", "sending") for r in records):
            return records
        page.wait_for_timeout(250)
    raise AssertionError(f"the queue did not settle: {records}")


def fill_report(
    page: Any, description: str, module: str = "01", item: str = "011001", photos: int = 1, shots: str = ""
) -> None:
    page.wait_for_selector(".report .where.ok")  # the phone's location is in
    page.set_input_files(
        '.report input[name="photo"]', [photo_file(f"p{i}.jpg", (40 * i, 120, 90)) for i in range(photos)]
    )
    page.wait_for_selector(f'.report [data-list="photos"] li:nth-child({photos})')
    if shots:
        page.locator(".report .modules").scroll_into_view_if_needed()
        shoot(page, f"{shots}-modules")
    page.click(f'.report [data-module="{module}"]')
    if shots:
        shoot(page, f"{shots}-items")
    page.click(f'.report [data-item="{item}"]')
    page.fill('.report textarea[name="description"]', description)


# ------------------------------------------------------------------------------------------------- the tests


def test_a_resident_signs_in_by_phone_and_reports_with_a_photo_and_the_location(live_server, world, caplog):
    caplog.set_level(logging.INFO, logger="gridgov.sms")
    base = live_server.url
    # A neighbour reported a litter bin a few metres away an hour ago: the app offers it before sending.
    neighbours = report(world.other_resident, "垃圾桶满了，周围都是垃圾", (POINT[0] + 0.0001, POINT[1]))
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            page.wait_for_selector(".signin")
            assert page.evaluate("document.documentElement.lang") == "zh-Hans"
            shoot(page, "mobile-signin")
            assert small_targets(page) == []

            # Without consent to the privacy notice, nothing happens and the checkbox says why.
            page.fill('input[name="phone"]', PHONE_NUMBER)
            page.click('[data-act="send-code"]')
            expect(page.locator('[data-out="code-sent"]')).not_to_be_empty()
            sms = [r.getMessage() for r in caplog.records if r.name == "gridgov.sms"]
            code = re.search(r"(?<!\d)(\d{6})(?!\d)", sms[-1].split(":", 1)[1]).group(1)
            page.fill('input[name="code"]', code)
            page.click('[data-form="phone"] button.primary')
            consent_error = page.locator('[data-form="phone"] [data-err="consent"]')
            expect(consent_error).not_to_be_empty()
            # Read out when it appears, and the checkbox says it is the one in error, and why.
            expect(consent_error).to_have_attribute("role", "alert")
            consent = page.locator('[data-form="phone"] input[name="consent"]')
            expect(consent).to_have_attribute("aria-invalid", "true")
            expect(consent).to_have_attribute("aria-describedby", consent_error.get_attribute("id"))
            page.check('[data-form="phone"] input[name="consent"]')
            page.click('[data-form="phone"] button.primary')

            # Signed in: the report screen, the location found by the phone.
            page.wait_for_selector(".report .where.ok")
            wait_controlled(page)
            assert page.locator("#tabs a:visible").count() == 3  # report, my reports, to send
            fill_report(page, "市场东口垃圾桶满了，三天没人清运", photos=1, shots="mobile-report")
            page.check('.report input[name="consent"]')
            shoot_tall(page, "mobile-report")
            assert small_targets(page) == []
            page.click(".report button.primary.big")
            # "Already reported nearby?": the neighbour's case, with "me too"; this one is another bin.
            page.wait_for_selector(".nearby .card")
            expect(page.locator(".nearby .card")).to_have_count(1)
            shoot(page, "mobile-nearby")
            page.click('.nearby [data-act="different"]')
            page.wait_for_selector('.sent[data-state="done"]')
            title = page.locator('.sent [data-out="title"]').inner_text()
            shoot(page, "mobile-sent")
            number = re.search(r"\d{8}-\d+", title).group(0)

            # My reports lists it.
            page.click('#tabs a[href="#/mine"]')
            page.wait_for_selector(f'.mine a[href="#/case/{number}"]')
            shoot(page, "mobile-mine")

            # The same bin again, a moment later: now "me too" on the neighbour's case instead.
            page.click('#tabs a[href="#/report"]')
            fill_report(page, "还是那个满了的垃圾桶")
            page.check('.report input[name="consent"]')
            page.click(".report button.primary.big")
            page.wait_for_selector(".nearby .card")
            page.locator(".nearby .card").filter(has_text="垃圾桶满了，周围都是垃圾").locator(
                '[data-act="me-too"]'
            ).click()
            page.wait_for_selector('.sent[data-state="done"]')
            expect(page.locator('.sent [data-out="title"]')).to_contain_text(neighbours)

            # English, complete: the language button switches the app and keeps the person signed in.
            page.click('#tabs a[href="#/mine"]')
            page.wait_for_selector(".mine")
            page.click("#lang-form button")
            page.wait_for_selector(".mine")
            assert page.evaluate("document.documentElement.lang") == "en"
            expect(page.locator("#tabs a[href='#/mine']")).to_have_text("My reports")
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        case = Case.objects.get(number=number)
        assert case.channel == "resident_app"
        assert case.item.code == "011001"
        assert case.grid.code == "150621100200001"
        assert abs(case.lon - POINT[0]) < 1e-5 and abs(case.lat - POINT[1]) < 1e-5
        photos = Evidence.objects.filter(case=case)
        assert photos.count() == 1
        assert case.reporter.phone_identity is not None
        # "Me too" made the resident a supporter of the neighbour's case, not the reporter of a third one.
        assert Case.objects.filter(reporter=case.reporter).count() == 1
        assert Supporter.objects.filter(case__number=neighbours, user=case.reporter).count() == 1

    in_db(check)


def test_a_grid_worker_works_offline_and_exactly_four_things_arrive_once(live_server, world, monkeypatch):
    base = live_server.url
    # A case in the worker's grid, handled by the department: it waits for the check on the spot.
    to_verify = report(world.resident, "路灯不亮，晚上很黑")
    to_handled(world, to_verify)
    specialist = world.specialist
    hits = ServerHits(monkeypatch)
    # Three things in three places of the list (the same item at the same spot would be "already reported").
    reports = [
        ("03", "031001", "巷口雨水井盖松动"),
        ("03", "032001", "路面塌了一个大坑"),
        ("01", "012001", "河边有人乱倒垃圾"),
    ]
    descriptions = [text for _, _, text in reports]

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            sign_in_with_password(page, specialist.username)
            # Home: my grid on the map, its open cases and the task to verify.
            page.wait_for_selector(".grid .leaflet-container")
            page.wait_for_selector(f'.grid a[href="#/case/{to_verify}"]')
            wait_controlled(page)
            page.wait_for_timeout(500)  # the case pages of the tasks are being kept for offline
            shoot(page, "mobile-grid")
            page.click('#tabs a[href="#/tasks"]')
            page.wait_for_selector(f'.tasks a[href="#/case/{to_verify}"]')
            shoot(page, "mobile-tasks")

            # No signal from here on.
            context.set_offline(True)
            hits.paths.clear()
            expect(page.locator("#net")).to_be_visible()
            for i, (module, item, text) in enumerate(reports):
                if i == 2:
                    # The phone's clock is put back two hours (corrected by the network): what is made from now
                    # on still goes after what was made before.
                    page.clock.set_fixed_time(datetime.now() - timedelta(hours=2))
                page.click('#tabs a[href="#/report"]')
                fill_report(page, text, module, item, photos=1 + i % 2)
                if i == 0:
                    shoot_tall(page, "mobile-report-worker")
                page.click(".report button.primary.big")
                page.wait_for_selector('.sent[data-state="waiting"]')
                if i == 0:
                    shoot(page, "mobile-sent-offline")

            # The verification on the spot: the case page from the phone's copy, a note and a photo after.
            page.goto(f"{base}/m/#/case/{to_verify}")
            page.wait_for_selector(f'.case[data-number="{to_verify}"]')
            page.wait_for_selector('.case form[data-action="verify_pass"]:not([hidden])')
            page.fill(
                'form[data-action="verify_pass"] textarea[name="note"]', "现场核查：路灯已修复，夜间正常照明"
            )
            page.set_input_files(
                'form[data-action="verify_pass"] input[data-files="files"]', [photo_file("after.jpg")]
            )
            page.wait_for_selector('form[data-action="verify_pass"] .thumbs li')
            shoot_tall(page, "mobile-verify")
            page.click('form[data-action="verify_pass"] button.primary')
            page.wait_for_selector('.case [data-out="pending"]:not([hidden])')

            page.click("#queue-link")
            page.wait_for_selector(".queue-list .record")
            expect(page.locator("#queue-badge")).to_have_text("4")
            records = queue_records(page)
            assert [r["kind"] for r in records] == ["report", "report", "report", "verify_pass"]
            assert {r["state"] for r in records} == {"waiting"}
            shoot_tall(page, "mobile-queue-offline")
            assert small_targets(page) == []

            # The app dies while sending the first one: it stays on the phone, marked "sending".
            page.evaluate(
                """async () => {
                    const db = await import("m/db");
                    const q = await import("m/queue");
                    const first = (await q.all())[0];
                    first.state = "sending";
                    await db.transact("queue", "readwrite", s => s.put(first));
                }"""
            )
            page.close()

            # Opened again, still without a signal: the service worker serves the app, nothing reaches the
            # server, and the queue shows the four waiting.
            page, errors2 = open_app(context, base, "#/queue")
            page.wait_for_selector(".queue-list .record")
            assert page.evaluate("navigator.serviceWorker.controller !== null")
            assert page.evaluate("navigator.onLine") is False
            expect(page.locator("#queue-badge")).to_have_text("4")
            assert [r["state"] for r in queue_records(page)] == ["waiting"] * 4
            assert hits.paths == [], hits.paths
            shoot_tall(page, "mobile-queue-reopened")

            # The signal returns: the four go up in order, each once.
            context.set_offline(False)
            records = wait_queue_settled(page, 4)
            assert [r["state"] for r in records] == ["done"] * 4, records
            expect(page.locator("#queue-badge")).to_be_hidden()
            numbers = [r["result"]["summary"]["number"] for r in records[:3]]
            page.wait_for_selector(f'.queue-list a[href="#/case/{numbers[0]}"]')
            shoot_tall(page, "mobile-queue-done")

            # The phone sends everything again (it never heard the answers): the server replays them.
            page.evaluate(
                """async () => {
                    const db = await import("m/db");
                    const q = await import("m/queue");
                    for (const r of await q.all()) {
                        r.state = "waiting";
                        await db.transact("queue", "readwrite", s => s.put(r));
                    }
                    await q.drain();
                }"""
            )
            again = wait_queue_settled(page, 4)
            assert [r["state"] for r in again] == ["done"] * 4
            assert [r["result"]["summary"]["number"] for r in again[:3]] == numbers
            page.reload()
            page.wait_for_selector(".queue-list .record")
            assert errors == [] and errors2 == []
        finally:
            browser.close()

    def check() -> None:
        made = Case.objects.filter(reporter=specialist, channel="worker_app")
        # Arrived in the order they were made, whatever the phone's clock said.
        assert list(made.order_by("pk").values_list("description", flat=True)) == descriptions
        assert sorted(made.values_list("number", flat=True)) == sorted(numbers)
        assert [made.get(description=d).evidence.count() for d in descriptions] == [1, 2, 1]
        verified = Case.objects.get(number=to_verify)
        assert verified.state == State.CLOSED
        events = CaseEvent.objects.filter(case=verified, action="verify_pass")
        assert events.count() == 1
        assert events.get().note == "现场核查：路灯已修复，夜间正常照明"

    in_db(check)


def test_a_resident_rates_one_closed_case_and_disputes_another(live_server, world):
    base = live_server.url
    resident = world.resident
    numbers = [
        report(resident, "楼道堆满杂物", (109.01, 40.04)),
        report(resident, "垃圾桶破损", (109.02, 40.06)),
    ]
    for number in numbers:
        to_handled(world, number)
        do_transition(number, "verify_pass", Step(note="已核实"), actor=world.specialist)
    rated, disputed = numbers

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            sign_in_with_password(page, resident.username)
            page.click('#tabs a[href="#/mine"]')
            page.click(f'.mine a[href="#/case/{rated}"]')
            page.wait_for_selector('.case form[data-action="evaluate"]:not([hidden])')
            shoot_tall(page, "mobile-case")
            assert small_targets(page) == []
            page.click('form[data-action="evaluate"] input[value="satisfied"] + span')
            page.fill('form[data-action="evaluate"] textarea[name="note"]', "处理很及时，谢谢")
            page.click('form[data-action="evaluate"] button.primary')
            # Sent through the queue; the page shows the case as it is now: rated, no rating form.
            page.wait_for_selector('.case .timeline li[data-action="evaluate"]')
            expect(page.locator('.case form[data-action="evaluate"]')).to_be_hidden()
            shoot_tall(page, "mobile-case-rated")

            page.goto(f"{base}/m/#/case/{disputed}")
            page.wait_for_selector(f'.case[data-number="{disputed}"]')
            page.click('details[data-action-wrap="dispute"] summary')
            page.click('form[data-action="dispute"] button.danger')
            expect(page.locator('form[data-action="dispute"] [data-err="reason"]')).not_to_be_empty()
            page.fill('form[data-action="dispute"] textarea[name="reason"]', "垃圾桶还是坏的，没有更换")
            shoot_tall(page, "mobile-dispute")
            page.click('form[data-action="dispute"] button.danger')
            page.wait_for_selector(f'.case[data-state="{State.HANDLED}"]')
            shoot_tall(page, "mobile-case-disputed")
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        one, two = (Case.objects.get(number=n) for n in numbers)
        assert one.rating == "satisfied" and one.state == State.CLOSED
        assert two.state == State.HANDLED
        assert CaseEvent.objects.filter(case=two, action="dispute").count() == 1
        assert CaseEvent.objects.filter(case=one, action="evaluate").count() == 1

    in_db(check)


def test_a_round_patrol_with_its_track_and_a_case_handled_on_the_spot(live_server, world):
    base = live_server.url
    walk = [(109.0100, 40.0400), (109.0110, 40.0410), (109.0120, 40.0420), (109.0130, 40.0430)]
    # Reported in the worker's grid, at the grid's level: the worker may settle it on the spot.
    small = report(world.resident, "小广告贴满了电线杆", walk[2], item="012007")

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser, walk[0])
            page, errors = open_app(context, base)
            sign_in_with_password(page, world.specialist.username)
            page.click('#tabs a[href="#/patrol"]')
            page.click('[data-act="start"]')
            page.wait_for_selector('[data-show="on"]:not([hidden])')
            for lon, lat in walk[1:]:
                page.wait_for_timeout(300)
                context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 8})
            expect(page.locator('[data-out="points"]')).not_to_have_text(re.compile(r"^0\D"))
            shoot(page, "mobile-patrol")

            # On the way: a case to settle on the spot, with photos before and after.
            page.goto(f"{base}/m/#/case/{small}")
            page.wait_for_selector('.case form[data-action="self_handle"]:not([hidden])')
            form = page.locator('form[data-action="self_handle"]')
            form.locator('input[data-files="before_files"]').set_input_files(
                [photo_file("before.jpg", (200, 60, 60))]
            )
            form.locator('input[data-files="files"]').set_input_files(
                [photo_file("after.jpg", (60, 200, 60))]
            )
            form.locator('textarea[name="note"]').fill("已清除电线杆上的小广告")
            page.wait_for_selector('form[data-action="self_handle"] [data-thumbs="files"] li')
            shoot_tall(page, "mobile-self-handle")
            assert small_targets(page) == []
            form.locator("button.primary").click()
            page.wait_for_selector(f'.case[data-state="{State.CLOSED}"]')

            page.click('#tabs a[href="#/patrol"]')
            page.wait_for_selector('[data-show="on"]:not([hidden])')
            page.click('[data-act="end"]')
            page.wait_for_selector('[data-show="off"]:not([hidden])')
            records = wait_queue_settled(page, 4)
            kinds = [r["kind"] for r in records]
            assert kinds[0] == "patrol_start" and kinds[-1] == "patrol_end", records
            assert "self_handle" in kinds and "patrol_track" in kinds, records
            assert {r["state"] for r in records} == {"done"}, records
            page.wait_for_selector('.patrol [data-list="patrols"] li')
            shoot(page, "mobile-patrol-done")
            walked = next(r for r in records if r["kind"] == "patrol_end")["url"].split("/")[-2]

            # A check-in the server refuses fails; the track recorded after it waits for it (it would only be
            # refused), while what does not depend on it goes on. Put right and retried, it goes, and then the
            # track.
            keys = page.evaluate(
                """async (walked) => {
                    const q = await import("m/queue");
                    const patrol = q.uuid();
                    const start = await q.add({kind: "patrol_start", url: "/api/fieldwork/patrols",
                                               fields: {key: patrol, at: "not-a-time"}, ref: patrol});
                    const points = JSON.stringify([[109.0125, 40.0425, Date.now(), 8]]);
                    const track = await q.add({kind: "patrol_track", url: `/api/fieldwork/patrols/${patrol}/track`,
                                               fields: {points}, ref: patrol, after: start.key});
                    const other = await q.add({kind: "patrol_end", url: `/api/fieldwork/patrols/${walked}/end`,
                                               fields: {at: new Date().toISOString()}, ref: walked});
                    return {patrol, start: start.key, track: track.key, other: other.key};
                }""",
                walked,
            )
            page.click("#queue-link")
            row = page.locator(f'.record[data-key="{keys["track"]}"]')
            page.wait_for_selector(f'.record[data-key="{keys["other"]}"][data-state="done"]')
            expect(page.locator(f'.record[data-key="{keys["start"]}"]')).to_have_attribute(
                "data-state", "failed"
            )
            expect(row).to_have_attribute("data-state", "waiting")
            expect(row.locator('[data-out="meta"]')).to_contain_text("巡查签到")  # waiting for the check-in
            expect(row.locator('[data-act="delete"]')).to_be_visible()
            shoot_tall(page, "mobile-queue-waiting-for")
            page.evaluate(
                """(key) => import("m/queue").then(q => q.retry(key, {at: new Date().toISOString()}))""",
                keys["start"],
            )
            page.wait_for_selector(f'.record[data-key="{keys["track"]}"][data-state="done"]')

            # Signing out during a patrol ends it: the phone stops recording, and the check-out goes up as the
            # worker's (here when they sign in again).
            page.click('#tabs a[href="#/patrol"]')
            page.click('[data-act="start"]')
            page.wait_for_selector('[data-show="on"]:not([hidden])')
            page.click("#queue-link")
            page.click('[data-act="signout"]')
            page.wait_for_selector(".signin")
            assert page.evaluate('import("m/db").then(db => db.kv.get("patrol"))') is None
            sign_in_with_password(page, world.specialist.username)
            page.click('#tabs a[href="#/patrol"]')
            page.wait_for_selector('[data-show="off"]:not([hidden])')
            records = wait_queue_settled(page, 9)
            assert records[-1]["kind"] == "patrol_end" and records[-1]["url"].split("/")[-2] != walked, (
                records
            )
            assert {r["state"] for r in records} == {"done"}, records
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        # The walked one, the one retried (still open: never checked out), the one ended by signing out.
        assert Patrol.objects.filter(user=world.specialist).count() == 3
        still_open = Patrol.objects.filter(user=world.specialist, ended_at__isnull=True)
        assert [str(k) for k in still_open.values_list("key", flat=True)] == [keys["patrol"]]
        assert Patrol.objects.get(key=keys["patrol"]).points == 1
        patrol = Patrol.objects.get(user=world.specialist, key=walked)
        assert patrol.ended_at is not None
        assert patrol.points >= 2
        assert patrol.distance_m > 100
        handled = Case.objects.get(number=small)
        assert handled.state == State.CLOSED
        phases = sorted(Evidence.objects.filter(case=handled).values_list("phase", flat=True))
        assert phases == ["after", "before", "report"]

    in_db(check)


def sign_in_elsewhere(page: Any, base: str, username: str) -> None:
    """Somebody signs in in another window of this browser (the workbench, say): the browser's session
    cookie becomes theirs, and the app's page hears nothing of it."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"{base}/api/mobile/login",
        form={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": token, "Referer": f"{base}/m/"},
    )
    assert answer.ok, answer.text()


def session_ends(page: Any, base: str) -> None:
    """The server ends the session (as when it has been idle too long)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"{base}/api/mobile/logout", headers={"X-CSRFToken": token, "Referer": f"{base}/m/"}
    )
    assert answer.status == 204, answer.text()


def test_a_shared_phone_sends_and_shows_each_persons_things_only_to_them(live_server, world, monkeypatch):
    base = live_server.url
    owner, other = world.resident, world.other_resident
    number = report(owner, "单元门禁坏了，关不上")
    hits = ServerHits(monkeypatch)
    first, second = "门禁今天还是坏的", "晚上十点以后门禁也没修"

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            page.wait_for_selector(".signin")
            wait_controlled(page)
            # Little room is left on the phone (said before anything is written: the browser counts the room
            # left once, at the first write).
            room = page.evaluate("navigator.storage.estimate().then(e => e.usage)") + 300_000
            cdp = context.new_cdp_session(page)
            cdp.send("Storage.overrideQuotaForOrigin", {"origin": base, "quotaSize": room})
            sign_in_with_password(page, owner.username)
            # A report with a photo too big for the room left: the form says so and keeps everything.
            page.wait_for_selector(".report .where.ok")
            big = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": noise_jpeg()}
            page.set_input_files('.report input[name="photo"]', [big])
            page.wait_for_selector('.report [data-list="photos"] li')
            page.click('.report [data-module="03"]')
            page.click('.report [data-item="031001"]')
            page.fill('.report textarea[name="description"]', "楼下路灯不亮")
            if page.locator('.report input[name="reporter_phone"]').is_visible():
                page.fill('.report input[name="reporter_phone"]', PHONE_NUMBER)
            page.check('.report input[name="consent"]')
            page.click(".report button.primary.big")
            expect(page.locator('.report [data-err=""]')).not_to_be_empty()
            expect(page.locator('.report textarea[name="description"]')).to_have_value("楼下路灯不亮")
            expect(page.locator('.report [data-list="photos"] li')).to_have_count(1)
            assert queue_records(page) == []
            cdp.send("Storage.overrideQuotaForOrigin", {"origin": base})

            page.click('#tabs a[href="#/mine"]')
            page.click(f'.mine a[href="#/case/{number}"]')
            comment = page.locator('form[data-action="comment"]')
            expect(comment).to_be_visible()

            # Somebody else signs in in this browser: the resident's comment is not sent in their session.
            sign_in_elsewhere(page, base, other.username)
            comment.locator("textarea").fill(first)
            comment.locator("button").click()
            page.wait_for_selector(".signin")
            expect(page.locator('.signin [data-show="other"]')).to_be_visible()
            assert [(r["kind"], r["state"]) for r in queue_records(page)] == [("comment", "waiting")]
            # Signed in here again: it goes, as theirs.
            sign_in_with_password(page, owner.username)
            assert [r["state"] for r in wait_queue_settled(page, 1)] == ["done"]

            # Without a signal the resident writes again; meanwhile the server ends their session. When the
            # signal returns the phone asks to sign in, keeps the comment, and sends it to nobody else.
            page.click('#tabs a[href="#/mine"]')
            page.click(f'.mine a[href="#/case/{number}"]')
            context.set_offline(True)
            comment.locator("textarea").fill(second)
            comment.locator("button").click()
            page.wait_for_selector('.case [data-out="pending"]:not([hidden])')
            session_ends(page, base)
            context.set_offline(False)
            page.wait_for_selector(".signin")
            expect(page.locator('.signin [data-show="expired"]')).to_be_visible()
            waiting = queue_records(page)[-1]
            assert waiting["state"] == "waiting" and waiting["owner"] == owner.pk

            # Whoever holds the phone now, without a signal, sees only the sign-in and the queue: not the
            # resident's reports, not the case (nor from the service worker's copy).
            context.set_offline(True)
            page.reload()
            page.wait_for_selector(".signin")
            page.evaluate(f"location.hash = '#/case/{number}'")
            page.wait_for_selector(".signin")
            assert page.locator(".case").count() == 0
            assert page.evaluate(f"fetch('/api/cases/{number}').then(r => r.status, () => 0)") == 0
            page.click("#queue-link")
            page.wait_for_selector(f'.record[data-key="{waiting["key"]}"]')
            shoot(page, "mobile-expired-queue")

            # Somebody else signs in, with a signal: the resident's copies are forgotten; their comment stays
            # theirs, waiting, and is not sent in the other person's session.
            context.set_offline(False)
            page.evaluate("location.hash = '#/signin'")
            sign_in_with_password(page, other.username)
            left = page.evaluate(
                f"""async () => {{
                    const {{ kv }} = await import("m/db");
                    return {{me: (await kv.get("me")).id, mine: (await kv.get("mine")) ?? null,
                             kept: Boolean(await caches.match("/api/cases/{number}"))}};
                }}"""
            )
            assert left == {"me": other.pk, "mine": None, "kept": False}
            page.click("#queue-link")
            page.wait_for_selector(".queue")
            expect(page.locator(".queue-list .record")).to_have_count(0)
            still = next(r for r in queue_records(page) if r["key"] == waiting["key"])
            assert still["state"] == "waiting" and still["owner"] == owner.pk

            # They sign out without a signal: the server does not hear of it now. The next time the app opens
            # with a signal it signs out there first, and does not take that session for anybody's.
            context.set_offline(True)
            page.click('[data-act="signout"]')
            page.wait_for_selector(".signin")
            page.close()
            context.set_offline(False)
            hits.paths.clear()
            page, errors2 = open_app(context, base)
            page.wait_for_selector(".signin")
            page.wait_for_load_state("networkidle")
            assert [p for p in hits.paths if p.startswith("/api/")][:1] == ["/api/mobile/logout"], hits.paths
            assert page.request.get(f"{base}/api/mobile/me").status == 401
            assert page.locator("#tabs").is_hidden()
            assert errors == [] and errors2 == []
        finally:
            browser.close()

    def check() -> None:
        from gridgov.cases.models import Comment

        texts = list(Comment.objects.filter(case__number=number).values_list("author_id", "text"))
        assert texts == [(owner.pk, first)]

    in_db(check)
