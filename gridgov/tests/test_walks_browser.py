"""Walks through the workbench in a real browser (Debian's Chromium through Playwright) on the demo county:
one case through its whole life across five roles, a return and a re-dispatch to another department, and an
escalation up the ladder grid → village → town. Each page visited is saved as test-artifacts/walk-*.png
(the role guides in docs/guides/ show some of them).

The pages are in Chinese (the browser asks for zh-CN, the default language): the assertions read structure
(ids, `data-state`, `data-queue`, event classes) and the engine's own labels, never hard-coded words.

The database work happens before `chromium()` starts, and the checks of the database after it ends: the
sync API of Playwright runs an event loop in the test's thread, and Django refuses ORM calls from it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
import shapely
from django.utils import translation

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.choices import Action, Rating, State
from gridgov.cases.models import Case, CaseEvent, Notification
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.catalog.models import Department, Item
from gridgov.catalog.selectors import route
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
from gridgov.grids.models import Grid
from gridgov.tests.browser import DESKTOP, chromium, needs_chromium, new_page, shoot, sign_in

pytestmark = needs_chromium

LEAF = "150621100200001"  # the demo grid of `specialist`, in the village of `l2head` and the town of
VILLAGE = "150621100200"  # `town_operator` / `l1head`
TOWN = "150621100"
ITEM = "012004"  # 乱堆杂物: routing names 综合行政执法局 (ZF, `handler`'s department) to lead, HW to assist
ITEM_RETURN = "012006"  # 沿街晾挂: ZF alone
ITEM_ESCALATE = "012005"  # 私搭乱建: a matter for the town
LEAD, OTHER = "ZF", "HW"


# ------------------------------------------------------------------------------------------------- setup


@dataclass
class County:
    point: tuple[float, float]  # inside LEAF
    labels: dict[str, str]  # state → its Chinese label
    other_handler: str  # username of a handler of OTHER
    lead_name: str
    other_name: str


def photo(colour: tuple[int, int, int], mark: str) -> bytes:
    """A real JPEG: a scene with shapes and a label, not a flat square."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (150, 170, 190))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 300, 640, 480), fill=(110, 105, 95))  # the pavement
    draw.rectangle((60, 120, 300, 300), fill=(190, 180, 160))  # a wall
    for i in range(6):
        draw.ellipse((330 + i * 40, 250 - i * 12, 400 + i * 40, 320), fill=colour)
    draw.text((20, 20), mark, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def prepare() -> County:
    seed_demo(DemoConfig.small())
    leaf = Grid.objects.current().get(code=LEAF)
    inside = shapely.geometry.shape(leaf.geometry).representative_point()
    # The demo's accounts are where this walk needs them (a change in the seed must fail here, clearly).
    held = {
        (a.user.username, a.role): a
        for a in RoleAssignment.objects.select_related("user", "grid", "department").filter(
            user__username__in=["specialist", "l2head", "town_operator", "operator", "handler"]
        )
    }
    assert held["specialist", Role.GRID_SPECIALIST].grid.code == LEAF
    assert held["l2head", Role.GRID_HEAD_L2].grid.code == VILLAGE
    assert held["town_operator", Role.OPERATOR].grid.code == TOWN
    assert held["operator", Role.OPERATOR].grid.level == 0
    assert held["handler", Role.DEPT_HANDLER].department.code == LEAD
    for code in (ITEM, ITEM_RETURN):
        assert route(Item.objects.get(code=code), leaf).lead.code == LEAD
    assert [d.code for d in route(Item.objects.get(code=ITEM), leaf).assisting] == [OTHER]
    other = (
        RoleAssignment.objects.filter(role=Role.DEPT_HANDLER, department__code=OTHER).order_by("id").first()
    )
    assert other is not None
    with translation.override("zh-hans"):
        labels = {s.value: str(s.label) for s in State}
    names = dict(Department.objects.filter(code__in=[LEAD, OTHER]).values_list("code", "name"))
    return County((inside.x, inside.y), labels, other.user.username, names[LEAD], names[OTHER])


def report(
    username: str, item: str, point: tuple[float, float], description: str, force: bool = False
) -> str:
    """A resident's report straight through the case engine (for the walks that start later in the story)."""
    result = do_report(
        Report(
            channel="resident_app",
            description=description,
            item=item,
            lon=point[0],
            lat=point[1],
            address="树林召镇新壕村一社",
            files=[_upload(photo((120, 90, 60), "before"), "before.jpg")],
            force=force,
        ),
        actor=User.objects.get(username=username),
    )
    return result.case.number


def _upload(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def step(number: str, action: str, username: str, **fields: Any) -> None:
    do_transition(number, action, Step(**fields), actor=User.objects.get(username=username))


# ------------------------------------------------------------------------------------------------- in the page


class Desk:
    """One person at their browser: a page of their own (own cookies), signed in."""

    def __init__(self, browser: Any, base: str, username: str) -> None:
        self.base = base
        self.username = username
        self.page, self.errors = new_page(browser, DESKTOP, locale="zh-CN")
        sign_in(self.page, base, username, DEMO_PASSWORD)
        assert "/accounts/login/" not in self.page.url, f"{username} could not sign in"

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state("networkidle")

    def count(self, queue: str) -> int:
        """The number on a queue tile of the home page."""
        return int(self.page.locator(f'a[data-queue="{queue}"] .n').inner_text())

    def case(self, number: str) -> None:
        self.go(f"/cases/{number}/")
        assert self.page.locator(".case-number").inner_text() == number

    def state(self) -> str:
        return self.page.locator("#case-state").get_attribute("data-state")

    def chip(self) -> str:
        return self.page.locator("#case-state").inner_text().strip()

    def actions(self) -> list[str]:
        return self.page.locator(".act-toggle").evaluate_all("els => els.map(e => e.dataset.action)")

    def open_form(self, action: str) -> Any:
        self.page.locator(f"#act-button-{action}").click()
        panel = self.page.locator(f"#act-{action}")
        assert panel.is_visible()
        return panel

    def submit(self, action: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(f"#act-{action} button[type=submit]").click()
        self.page.wait_for_load_state("networkidle")
        assert self.page.locator(".message.success").is_visible(), self.page.locator("main").inner_text()[
            :500
        ]

    def events(self) -> list[str]:
        """The timeline's events in order, by action."""
        return self.page.locator("#timeline li.ev").evaluate_all(
            "els => els.map(e => [...e.classList].find(c => c.startsWith('ev-')).slice(3))"
        )

    def csrf(self) -> str:
        return next(c["value"] for c in self.page.context.cookies() if c["name"] == "csrftoken")

    def post_api(self, path: str, fields: dict[str, Any]) -> Any:
        return self.page.request.post(
            f"{self.base}/api{path}", multipart=fields, headers={"X-CSRFToken": self.csrf()}
        )


def row_link(desk: Desk, number: str) -> Any:
    return desk.page.locator(f'a.code[href$="/cases/{number}/"]')


# ------------------------------------------------------------------------------------------------- the walks


@pytest.mark.django_db(transaction=True)
def test_one_case_through_its_whole_life(live_server, working_hours):
    county = prepare()
    before, after = photo((200, 140, 40), "before"), photo((90, 160, 90), "after")
    L = county.labels
    base = live_server.url

    with chromium() as browser:
        operator = Desk(browser, base, "operator")
        operator.go("/")
        to_accept, to_dispatch = operator.count("to_accept"), operator.count("to_dispatch")

        # a. The resident reports from the phone app: the API, with the session and its CSRF token, and a photo.
        resident = Desk(browser, base, "resident")
        answer = resident.post_api(
            "/cases/",
            {
                "channel": "resident_app",
                "item": ITEM,
                "description": "新壕村一社路口有人乱堆建筑垃圾和杂物，占了半条路，晚上骑车很危险。",
                "address": "树林召镇新壕村一社路口",
                "lon": str(county.point[0]),
                "lat": str(county.point[1]),
                "files": {"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": before},
            },
        )
        assert answer.status == 201, answer.text()
        body = answer.json()
        number = body["case"]["number"]
        assert body["summary"]["state"] == State.REPORTED
        resident.go("/")
        assert row_link(resident, number).count() == 1  # "your reports" on the resident's home
        shoot(resident.page, "walk-00-resident-home")

        # b. The operator: one more case to accept; open it from the queue, accept, dispatch.
        operator.go("/")
        assert operator.count("to_accept") == to_accept + 1
        shoot(operator.page, "walk-01-operator-home")
        operator.page.locator('a[data-queue="to_accept"]').click()
        operator.page.wait_for_load_state("networkidle")
        assert row_link(operator, number).count() == 1
        shoot(operator.page, "walk-02-operator-queue-to-accept")
        row_link(operator, number).click()
        operator.page.wait_for_load_state("networkidle")
        assert operator.state() == State.REPORTED and operator.chip() == L[State.REPORTED]
        assert operator.page.locator("#photos .photos-before img").count() == 1
        assert {"accept", "reject", "merge"} <= set(operator.actions())
        assert "dispatch" not in operator.actions()
        operator.open_form("accept")
        assert operator.page.locator("#act-accept-item").input_value() == ITEM  # the resident's choice
        shoot(operator.page, "walk-02-operator-accept")
        operator.submit("accept")
        assert operator.state() == State.REGISTERED and operator.chip() == L[State.REGISTERED]
        assert "accept" not in operator.actions() and "dispatch" in operator.actions()

        panel = operator.open_form("dispatch")
        # Routing's suggestion is pre-filled: the lead unit and the assisting unit.
        assert operator.page.locator("#act-dispatch-unit").input_value() == LEAD
        assert panel.locator(f"input[name=assisting][value={OTHER}]").is_checked()
        operator.page.fill("#act-dispatch-note", "请今日内清理，恢复通行。")
        shoot(operator.page, "walk-03-operator-dispatch")
        operator.submit("dispatch")
        assert operator.state() == State.DISPATCHED and operator.chip() == L[State.DISPATCHED]
        assert "reassign" in operator.actions() and "dispatch" not in operator.actions()
        assert county.lead_name in operator.page.locator("#units").inner_text()
        shoot(operator.page, "walk-04-operator-dispatched")
        operator.go("/")
        assert operator.count("to_accept") == to_accept
        assert operator.count("to_dispatch") == to_dispatch

        # c. The department's handler: the case waits in "to sign"; sign, then feed back with an after-photo.
        handler = Desk(browser, base, "handler")
        handler.go("/")
        signs = handler.count("to_sign")
        assert signs >= 1
        shoot(handler.page, "walk-05-handler-home")
        handler.page.locator('a[data-queue="to_sign"]').click()
        handler.page.wait_for_load_state("networkidle")
        row_link(handler, number).click()
        handler.page.wait_for_load_state("networkidle")
        assert handler.actions() == ["sign", "return", "request_extension", "comment"]
        assert handler.page.locator("#reporter").count() == 0  # departments never see who reported
        handler.open_form("sign")
        shoot(handler.page, "walk-06-handler-sign")
        handler.submit("sign")
        assert handler.state() == State.HANDLING and handler.chip() == L[State.HANDLING]
        assert "sign" not in handler.actions() and "feedback" in handler.actions()
        handler.open_form("feedback")
        handler.page.fill("#act-feedback-note", "已清运建筑垃圾和杂物约3车，路口恢复通行，已告知附近住户。")
        handler.page.set_input_files(
            "#act-feedback-files", files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": after}]
        )
        shoot(handler.page, "walk-07-handler-feedback")
        handler.submit("feedback")
        assert handler.state() == State.HANDLED and handler.chip() == L[State.HANDLED]
        assert handler.page.locator("#photos .photos-after img").count() == 1
        handler.go("/")
        assert handler.count("to_sign") == signs - 1

        # d. The grid specialist verifies on the spot and closes it.
        specialist = Desk(browser, base, "specialist")
        specialist.go("/")
        assert specialist.count("to_verify") >= 1
        assert row_link(specialist, number).count() == 1
        shoot(specialist.page, "walk-08-specialist-home")
        row_link(specialist, number).click()
        specialist.page.wait_for_load_state("networkidle")
        assert "verify_pass" in specialist.actions() and "verify_fail" in specialist.actions()
        specialist.open_form("verify_pass")
        specialist.page.fill("#act-verify_pass-note", "现场核实，垃圾已清理干净。")
        shoot(specialist.page, "walk-09-specialist-verify")
        specialist.submit("verify_pass")
        assert specialist.state() == State.CLOSED and specialist.chip() == L[State.CLOSED]
        assert "verify_pass" not in specialist.actions()

        # e. The resident rates it on the case page; the operator's page tells the whole story.
        resident.case(number)
        assert resident.state() == State.CLOSED
        assert "evaluate" in resident.actions()
        assert resident.page.locator("#deadlines, #notes").count() == 0  # staff only
        resident.open_form("evaluate")
        resident.page.locator(f"#act-evaluate input[name=rating][value={Rating.SATISFIED}]").check()
        resident.page.fill("#act-evaluate-note", "处理得很快，谢谢！")
        shoot(resident.page, "walk-10-resident-rate")
        resident.submit("evaluate")
        assert "evaluate" not in resident.actions()

        operator.case(number)
        assert operator.state() == State.CLOSED
        assert operator.events() == [
            "report",
            "accept",
            "dispatch",
            "sign",
            "feedback",
            "verify_pass",
            "evaluate",
        ]
        timeline = operator.page.locator("#timeline").inner_text()
        assert "现场核实，垃圾已清理干净。" in timeline and "处理得很快" in timeline
        for kind in ("before", "after"):
            img = operator.page.locator(f"#photos .photos-{kind} img")
            assert img.count() == 1
            img.first.scroll_into_view_if_needed()
            assert img.first.evaluate("i => i.complete && i.naturalWidth") > 0, kind
        operator.page.evaluate("window.scrollTo(0, 0)")
        shoot(operator.page, "walk-11-operator-story", full_page=True)

        for desk in (operator, resident, handler, specialist):
            assert desk.errors == [], (desk.username, desk.errors)

    case = Case.objects.get(number=number)
    assert (case.state, case.rating, case.lead_department.code) == (State.CLOSED, Rating.SATISFIED, LEAD)
    assert case.evidence.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_return_and_a_dispatch_to_another_department(live_server, working_hours):
    county = prepare()
    number = report(
        "resident", ITEM_RETURN, county.point, "一社主街两侧商户把衣物被褥晾挂在行道树和护栏上，影响市容。"
    )
    # The town's command centre accepted and dispatched it (a return is told to the town's centre).
    step(number, Action.ACCEPT, "town_operator")
    step(number, Action.DISPATCH, "town_operator", unit=LEAD)
    base = live_server.url
    reason = "该处晾挂点位于环卫保洁范围内，应由环境卫生服务中心处置。"

    with chromium() as browser:
        # The lead department's handler returns it with a reason: it leaves their hands.
        handler = Desk(browser, base, "handler")
        handler.case(number)
        assert "return" in handler.actions()
        handler.open_form("return")
        handler.page.fill("#act-return-reason", reason)
        shoot(handler.page, "walk-20-handler-return")
        handler.submit("return")
        assert handler.state() == State.REGISTERED
        assert handler.actions() == []  # no longer theirs: no buttons at all
        assert handler.page.locator("#actions").count() == 0

        # The operator is told, finds it to dispatch again and sends it to another department.
        operator = Desk(browser, base, "town_operator")
        operator.go("/cases/inbox/")
        note = operator.page.locator(f'.note-list a[href$="/cases/{number}/"]')
        assert note.count() >= 1
        shoot(operator.page, "walk-21-operator-inbox")
        note.first.click()
        operator.page.wait_for_load_state("networkidle")
        assert operator.state() == State.REGISTERED
        assert operator.events()[-1] == "return"
        assert reason in operator.page.locator("#timeline li.ev-return").inner_text()
        operator.open_form("dispatch")
        assert operator.page.locator("#act-dispatch-unit").input_value() == LEAD  # routing still says ZF
        operator.page.select_option("#act-dispatch-unit", OTHER)
        operator.page.fill("#act-dispatch-note", "原主办单位退单，改由环卫处置。")
        shoot(operator.page, "walk-22-operator-redispatch")
        operator.submit("dispatch")
        assert operator.state() == State.DISPATCHED
        units = operator.page.locator("#units li.unit")
        assert units.count() == 2
        assert "ended" in units.filter(has_text=county.lead_name).get_attribute("class")
        assert "ended" not in units.filter(has_text=county.other_name).get_attribute("class")

        # The other department signs it.
        other = Desk(browser, base, county.other_handler)
        other.go("/")
        assert other.count("to_sign") >= 1
        other.page.locator('a[data-queue="to_sign"]').click()
        other.page.wait_for_load_state("networkidle")
        assert row_link(other, number).count() == 1
        row_link(other, number).click()
        other.page.wait_for_load_state("networkidle")
        other.open_form("sign")
        other.submit("sign")
        assert other.state() == State.HANDLING and other.chip() == county.labels[State.HANDLING]
        shoot(other.page, "walk-23-other-department-signed")
        # The first department holds nothing any more.
        handler.go("/")
        assert row_link(handler, number).count() == 0

        for desk in (handler, operator, other):
            assert desk.errors == [], (desk.username, desk.errors)

    events = list(
        CaseEvent.objects.filter(case__number=number).order_by("seq").values_list("action", flat=True)
    )
    assert events == ["report", "accept", "dispatch", "return", "dispatch", "sign"]
    assert Case.objects.get(number=number).lead_department.code == OTHER


@pytest.mark.django_db(transaction=True)
def test_escalation_climbs_from_the_grid_to_the_town(live_server, working_hours):
    county = prepare()
    number = report(
        "resident", ITEM_ESCALATE, county.point, "一社北侧空地有人连夜搭建彩钢房，已经起了两间，村里劝不住。"
    )
    base = live_server.url

    with chromium() as browser:
        # The grid specialist finds the new report among the open cases of the grid, and escalates it.
        specialist = Desk(browser, base, "specialist")
        specialist.go("/")
        opened = specialist.count("open")
        assert opened >= 1
        specialist.page.locator('a[data-queue="open"]').click()
        specialist.page.wait_for_load_state("networkidle")
        assert row_link(specialist, number).count() == 1
        row_link(specialist, number).click()
        specialist.page.wait_for_load_state("networkidle")
        assert {"self_handle", "escalate"} <= set(specialist.actions())
        assert "accept" not in specialist.actions()
        specialist.open_form("escalate")
        specialist.page.fill("#act-escalate-reason", "违建规模较大，网格内无法劝阻，需村里协调。")
        shoot(specialist.page, "walk-30-specialist-escalate")
        specialist.submit("escalate")
        assert "escalate" not in specialist.actions() and "self_handle" not in specialist.actions()
        assert specialist.events()[-1] == "escalate"

        # The village's grid head is told, and escalates it again, to the town.
        l2head = Desk(browser, base, "l2head")
        l2head.go("/cases/inbox/")
        note = l2head.page.locator(f'.note-list a[href$="/cases/{number}/"]')
        assert note.count() == 1
        shoot(l2head.page, "walk-31-l2head-inbox")
        note.click()
        l2head.page.wait_for_load_state("networkidle")
        assert {"self_handle", "escalate"} <= set(l2head.actions())
        l2head.open_form("escalate")
        l2head.page.fill("#act-escalate-reason", "村里协调无效，当事人拒不拆除，请镇综合执法介入。")
        shoot(l2head.page, "walk-32-l2head-escalate")
        l2head.submit("escalate")
        assert "escalate" not in l2head.actions()

        # The town's command centre has it: told in the inbox, in its queue to accept; it accepts.
        town = Desk(browser, base, "town_operator")
        town.go("/")
        assert town.count("to_accept") >= 1
        assert town.page.locator(f'.notes a[href$="/cases/{number}/"]').count() >= 1
        shoot(town.page, "walk-33-town-operator-home")
        town.case(number)
        assert town.events() == ["report", "escalate", "escalate"]
        levels = town.page.locator("#timeline li.ev-escalate .ev-data").all_inner_texts()
        # From the grid to the village, then to the town: levels by name.
        assert ["网格级" in levels[0] and "村（社区）级" in levels[0], "镇（街道）级" in levels[1]] == [
            True,
            True,
        ]
        assert {"accept", "escalate"} <= set(town.actions())
        town.open_form("accept")
        town.submit("accept")
        assert town.state() == State.REGISTERED
        shoot(town.page, "walk-34-town-operator-accepted")

        # The banner's leader sees it too, and issues a yellow card (督办) the town must answer.
        leader = Desk(browser, base, "leader")
        leader.case(number)
        assert "supervise" in leader.actions()
        leader.open_form("supervise")
        leader.page.locator("#act-supervise input[name=card][value=yellow]").check()
        leader.page.fill("#act-supervise-reason", "违建须在萌芽状态制止，请镇里三日内拆除并反馈。")
        shoot(leader.page, "walk-35-leader-supervise")
        leader.submit("supervise")
        assert leader.page.locator("#supervision .thread.card-yellow").count() == 1
        leader.go("/cases/overview/")
        shoot(leader.page, "walk-36-leader-overview")

        # The town's centre answers the card in its thread; the leader reads the answer under the card.
        town.case(number)
        thread = town.page.locator("#supervision .thread.card-yellow")
        thread.locator("textarea[name=note]").fill("已责令当事人三日内自行拆除，镇综合执法队跟进。")
        with town.page.expect_navigation():
            thread.locator("button[type=submit]").click()
        assert "三日内自行拆除" in town.page.locator("#supervision .replies").inner_text()
        town.page.locator("#supervision").scroll_into_view_if_needed()
        shoot(town.page, "walk-37-town-operator-reply")
        leader.case(number)
        assert "三日内自行拆除" in leader.page.locator("#supervision .replies").inner_text()

        for desk in (specialist, l2head, town, leader):
            assert desk.errors == [], (desk.username, desk.errors)

    case = Case.objects.get(number=number)
    assert (case.state, case.level, case.card) == (State.REGISTERED, 1, "yellow")
    told = set(
        Notification.objects.filter(case=case, kind="escalated").values_list("user__username", flat=True)
    )
    assert {"l2head", "town_operator"} <= told


@pytest.mark.django_db(transaction=True)
def test_a_tour_of_the_desks_and_the_administration(live_server, working_hours):
    """The pages the guides show besides a case's life: the operator's intake, list, batch dispatch and merge
    tool; the administrators' grids, responsibility list, routing, calendar and people."""
    county = prepare()
    # Cases of the town's centre to dispatch together, and two reports of the same thing to merge.
    registered = []
    for code, text in (
        ("011001", "一社路口的垃圾箱满了，没人清运。"),
        ("011002", "村委会旁公共厕所的门坏了，关不上。"),
        ("011006", "一社主街的行道树倒了一棵，挡住人行道。"),
    ):
        number = report("resident", code, county.point, text)
        step(number, Action.ACCEPT, "town_operator")
        registered.append(number)
    first = report("resident", "012007", county.point, "一社路口的电线杆上贴满了小广告。")
    second = report("resident", "012007", county.point, "路口电线杆上全是办证小广告，很难看。", force=True)
    base = live_server.url

    with chromium() as browser:
        op = Desk(browser, base, "town_operator")
        op.go("/cases/new/")
        assert op.page.evaluate("document.activeElement.id") == "id_description"
        op.page.fill("#id_description", "二道街东口垃圾乱堆放，已经好几天了，气味很大")
        op.page.click("#item-q")
        op.page.keyboard.type("ljdf")  # pinyin initials of 垃圾堆放
        op.page.wait_for_selector("#item-hits li[data-code]")
        op.page.keyboard.press("Enter")
        assert op.page.input_value("#id_item")
        op.page.fill("#id_reporter_name", "李大妈")
        op.page.fill("#id_reporter_phone", "13912345678")
        shoot(op.page, "walk-40-operator-intake")

        op.go("/cases/?queue=to_dispatch")
        assert op.page.locator("tr.case-row").count() >= len(registered)
        assert op.page.locator("input[name=numbers]").count() >= len(registered)
        shoot(op.page, "walk-41-operator-list")
        op.go(f"/cases/dispatch/?numbers={','.join(registered)}")
        assert op.page.locator(".batch tbody tr").count() == len(registered)
        for number in registered:  # each with routing's unit chosen
            assert op.page.locator(f"#unit-{number}").input_value()
        shoot(op.page, "walk-42-operator-batch-dispatch")
        op.go(f"/cases/merge/?number={second}&into={first}")
        assert op.page.locator(".compare .card").count() == 2
        shoot(op.page, "walk-43-operator-merge")

        sysadmin = Desk(browser, base, "sysadmin")
        sysadmin.go("/")
        links = sysadmin.page.locator(".admin-links a")
        assert links.count() >= 4
        shoot(sysadmin.page, "walk-50-sysadmin-home")
        sysadmin.go("/grids/manage/")
        assert sysadmin.page.locator("#manage-map").is_visible()
        assert sysadmin.page.locator("#children-list").count() == 1
        shoot(sysadmin.page, "walk-51-sysadmin-grids")
        sysadmin.go("/catalog/items/")
        assert sysadmin.page.locator(".items-table tbody tr").count() >= 20  # the responsibility list
        shoot(sysadmin.page, "walk-52-sysadmin-items")
        sysadmin.go("/catalog/routing/")
        assert sysadmin.page.locator("form select, form input").count() >= 3  # the form to add a rule
        shoot(sysadmin.page, "walk-53-sysadmin-routing")
        sysadmin.go("/catalog/calendar/")
        assert sysadmin.page.locator("#periods-h").count() == 1  # working hours
        shoot(sysadmin.page, "walk-54-sysadmin-calendar")
        secadmin = Desk(browser, base, "secadmin")
        secadmin.go("/accounts/people/")
        assert secadmin.page.locator("h1").count() >= 1
        shoot(secadmin.page, "walk-55-secadmin-people")
        # The security administrator manages people, not grids: no link to it, and refused at its address.
        assert secadmin.page.locator('a[href="/grids/manage/"]').count() == 0
        refused = secadmin.page.goto(f"{base}/grids/manage/")
        assert refused.status in (403, 404) and secadmin.page.locator("#manage-map").count() == 0

        for desk in (op, sysadmin, secadmin):
            assert desk.errors == [], (desk.username, desk.errors)
