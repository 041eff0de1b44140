"""Volunteers and mediators in the phone app (/m/), in a real browser on a phone (360×740):

- a volunteer of the village's car team signs in: their hub shows the hours served (confirmed on an activity
  held last week), their team's tasks, the activities open for sign-up and their team; they accept a task and
  report it done with what was done, decline another one saying why, and sign up for an activity — each sent
  once, the hub's figures and lists saying so; in English the screens speak it too;
- a mediator of the village's committee signs in: their hub lists their open disputes (number, kind, risk,
  parties masked, the next follow-up visit), a dispute's page its parties and timeline; without a signal they
  record a session (when, where, who was present, notes): it waits on the phone, and when the signal returns it
  is sent, once — one session stored.

Screens are saved as test-artifacts/mobile-community-*.png and mobile-mediation-*.png."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from gridgov.accounts.models import RoleAssignment
from gridgov.tests.browser import ARGS, CHROMIUM, needs_chromium, shoot

from .test_app_browser import (
    in_db,
    open_app,
    phone_context,
    queue_records,
    shoot_tall,
    sign_in_with_password,
    small_targets,
    wait_controlled,
    wait_queue_settled,
)

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]


def shoot_checked(page: Any, name: str, *, tall: bool = False) -> None:
    """A screenshot in test-artifacts/, once the screen is checked not to scroll sideways on the phone."""
    assert no_sideways_scroll(page), name
    if tall:
        shoot_tall(page, name)
    else:
        shoot(page, name)


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def wait_kept(page: Any, name: str, seconds: float = 20) -> None:
    for _ in range(int(seconds * 4)):
        if page.evaluate(
            """async (name) => Boolean(await (await import("m/db")).kv.get(name))""",
            name,
        ):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"not kept on the phone: {name}")


# ------------------------------------------------------------------------------------------------- volunteers


@pytest.fixture
def crew(world: Any, make_user: Any) -> SimpleNamespace:
    """The village's car team with a volunteer who uses the phone (张志愿) and one who does not; two tasks the
    village gave the team (one due tomorrow, one overdue), an activity next week with places, and one held last
    week for which the volunteer's 3.5 hours were confirmed."""
    from gridgov.community.services import (
        Attendance,
        do_add_member,
        do_close_activity,
        do_confirm_attendance,
        do_create_activity,
        do_create_team,
        do_give_task,
        do_sign_up,
    )

    w = world
    volunteer = make_user("vol", full_name="张志愿")
    RoleAssignment.objects.create(user=volunteer, role="volunteer", grid=w.village)
    team = do_create_team(
        actor=w.l2head, name="爱心车队", kind="car", grid=w.village.code, phone="0477-1234567"
    )
    member = do_add_member(
        team, actor=w.l2head, name="张志愿", phone="13900001111", user=volunteer.username
    ).member
    do_add_member(team, actor=w.l2head, name="李师傅", phone="13900002222")
    today = timezone.localdate()
    ride = do_give_task(
        actor=w.l2head,
        team=team.pk,
        title="接送独居老人复诊",
        description="幸福路3号王大爷，周四上午9点到旗医院复诊，需要接送。",
        due_on=today + dt.timedelta(days=1),
    )
    snow = do_give_task(
        actor=w.l2head, team=team.pk, title="清扫村委会门前积雪", due_on=today + dt.timedelta(days=2)
    )
    now = timezone.now()
    week_ago = now - dt.timedelta(days=7)
    held = do_create_activity(
        actor=w.l2head,
        title="重阳节敬老服务",
        team=team.pk,
        kind="care",
        starts_at=week_ago.isoformat(),
        ends_at=(week_ago + dt.timedelta(hours=4)).isoformat(),
        place="村委会",
        now=week_ago - dt.timedelta(days=2),
    )
    do_sign_up(held, actor=volunteer, now=week_ago - dt.timedelta(days=1))
    do_close_activity(held, actor=w.l2head, now=week_ago + dt.timedelta(hours=4))
    signup = held.signups.get()
    do_confirm_attendance(
        held, {signup.pk: Attendance(True, "3.5")}, actor=w.l2head, now=week_ago + dt.timedelta(hours=5)
    )
    next_week = (now + dt.timedelta(days=6)).replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00 local
    drive = do_create_activity(
        actor=w.l2head,
        title="冬季送医爱心车",
        team=team.pk,
        kind="transport",
        starts_at=next_week.isoformat(),
        ends_at=(next_week + dt.timedelta(hours=3)).isoformat(),
        place="村委会门口集合",
        notes="带好防滑链，注意行车安全。",
        capacity=6,
    )
    return SimpleNamespace(
        w=w, volunteer=volunteer, team=team, member=member, ride=ride, snow=snow, held=held, drive=drive
    )


def test_a_volunteer_accepts_and_completes_a_task_and_signs_up_for_an_activity(live_server, crew):
    from playwright.sync_api import expect, sync_playwright

    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            sign_in_with_password(page, crew.volunteer.username)
            # A volunteer holding no grid role: their hub is the home, with no grid map or grid tasks.
            page.wait_for_selector(".volunteer [data-task]")
            expect(page.locator('#tabs a[href="#/volunteer"]')).to_be_visible()
            expect(page.locator('#tabs a[href="#/grid"]')).to_be_hidden()
            expect(page.locator('#tabs a[href="#/mediation"]')).to_be_hidden()
            wait_controlled(page)
            wait_kept(page, "community")
            expect(page.locator('.volunteer [data-out="hours-total"]')).to_contain_text("3.5")
            expect(page.locator('.volunteer [data-out="open-tasks"]')).to_have_text("2")
            expect(page.locator(".volunteer [data-task]")).to_have_count(2)
            shoot_checked(page, "mobile-community-hub")
            assert small_targets(page) == []

            # A task: accepted, then reported done with what was done.
            page.click(f'.volunteer a[data-task="{crew.ride.pk}"]')
            page.wait_for_selector('.vtask [data-form="accept"]:not([hidden])')
            expect(page.locator(".vtask .desc")).to_contain_text("王大爷")
            shoot_checked(page, "mobile-community-task", tall=True)
            assert small_targets(page) == []
            page.click('.vtask [data-form="accept"] button')
            page.wait_for_selector('.vtask [data-form="done"]:not([hidden])')
            page.click('.vtask [data-form="done"] button')
            expect(page.locator('.vtask [data-err="result"]')).not_to_be_empty()  # what was done, first
            page.fill('.vtask textarea[name="result"]', "已按时接送王大爷往返旗医院，复诊顺利。")
            page.click('.vtask [data-form="done"] button')
            page.wait_for_selector('.vtask[data-state="done"]')
            records = wait_queue_settled(page, 2)
            assert [(r["kind"], r["state"]) for r in records] == [
                ("task_accept", "done"),
                ("task_done", "done"),
            ]
            expect(page.locator('.vtask [data-out="result"]')).to_contain_text("复诊顺利")
            shoot_checked(page, "mobile-community-task-done", tall=True)

            # Another task, without a signal: declined, saying why — shown as declined, waiting to be sent.
            context.set_offline(True)
            page.evaluate(f"location.hash = '#/vtask/{crew.snow.pk}'")
            page.wait_for_selector('.vtask [data-form="accept"]:not([hidden])')
            page.click('.vtask [data-wrap="decline"] summary')
            page.click('.vtask [data-form="decline"] button')
            expect(page.locator('.vtask [data-err="reason"]')).not_to_be_empty()
            page.fill('.vtask textarea[name="reason"]', "这几天在外地，回不来")
            page.click('.vtask [data-form="decline"] button')
            page.wait_for_selector('.vtask[data-state="declined"]')
            expect(page.locator('.vtask [data-out="pending"]')).to_be_visible()
            assert [(r["kind"], r["state"]) for r in queue_records(page)][-1] == ("task_decline", "waiting")
            shoot_checked(page, "mobile-community-task-offline", tall=True)
            page.evaluate("location.hash = '#/volunteer/tasks'")
            page.wait_for_selector(f'.volunteer a[data-task="{crew.snow.pk}"][data-state="declined"]')
            expect(page.locator('.volunteer [data-out="open-tasks"]')).to_have_text("0")
            context.set_offline(False)
            records = wait_queue_settled(page, 3)
            assert [r["state"] for r in records] == ["done"] * 3, records

            # An activity next week: signed up for.
            page.evaluate("location.hash = '#/volunteer/activities'")
            page.wait_for_selector(f'.volunteer a[data-activity="{crew.drive.pk}"]')
            expect(page.locator(f'.volunteer a[data-activity="{crew.held.pk}"]')).to_contain_text("3.5")
            shoot_checked(page, "mobile-community-activities")
            page.click(f'.volunteer a[data-activity="{crew.drive.pk}"]')
            page.wait_for_selector('.vactivity [data-form="sign-up"]:not([hidden])')
            shoot_checked(page, "mobile-community-activity", tall=True)
            assert small_targets(page) == []
            page.click('.vactivity [data-form="sign-up"] button')
            page.wait_for_selector('.vactivity [data-form="cancel"]:not([hidden])')
            records = wait_queue_settled(page, 4)
            assert [r["state"] for r in records] == ["done"] * 4, records
            page.wait_for_selector('.vactivity[data-signed="yes"]')
            shoot_checked(page, "mobile-community-signed-up", tall=True)

            # The hub says so: one task left open (none), the activity among those signed up for.
            page.evaluate("location.hash = '#/volunteer/tasks'")
            page.wait_for_selector(f'.volunteer a[data-task="{crew.ride.pk}"][data-state="done"]')
            expect(page.locator('.volunteer [data-out="open-tasks"]')).to_have_text("0")
            page.click('.volunteer [data-tab="teams"]')
            expect(page.locator(".volunteer .team-card")).to_have_count(1)
            expect(page.locator('.volunteer .team-card [data-act="call"]')).to_have_attribute(
                "href", "tel:04771234567"
            )
            shoot_checked(page, "mobile-community-teams")
            page.click("#queue-link")
            page.wait_for_selector(".queue-list .record")
            kinds = page.locator('.queue-list [data-out="kind"]').all_inner_texts()
            assert len(set(kinds)) == 4 and all(kinds), kinds
            shoot_checked(page, "mobile-community-queue", tall=True)

            # In English.
            page.evaluate("location.hash = '#/volunteer/activities'")
            page.wait_for_selector(".volunteer [data-activity]")
            page.click("#lang-form button")
            page.wait_for_selector(".volunteer [data-activity]")
            assert page.evaluate("document.documentElement.lang") == "en"
            expect(page.locator('#tabs a[href="#/volunteer"]')).to_have_text("Volunteer")
            shoot_checked(page, "mobile-community-activities-en")
            page.click(f'.volunteer a[data-activity="{crew.drive.pk}"]')
            page.wait_for_selector('.vactivity[data-signed="yes"]')
            shoot_checked(page, "mobile-community-signed-up-en", tall=True)
            page.evaluate(f"location.hash = '#/vtask/{crew.ride.pk}'")
            page.wait_for_selector('.vtask[data-state="done"]')
            shoot_checked(page, "mobile-community-task-done-en", tall=True)
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        from gridgov.community.models import SignUp, Task

        ride = Task.objects.get(pk=crew.ride.pk)
        assert (ride.state, ride.accepted_by_id, ride.done_by_id) == (
            "done",
            crew.member.pk,
            crew.volunteer.pk,
        )
        assert ride.result == "已按时接送王大爷往返旗医院，复诊顺利。"
        snow = Task.objects.get(pk=crew.snow.pk)
        assert (snow.state, snow.declined_by_id, snow.reason) == (
            "declined",
            crew.member.pk,
            "这几天在外地，回不来",
        )
        signups = SignUp.objects.filter(activity=crew.drive, cancelled_at__isnull=True)
        assert [s.member_id for s in signups] == [crew.member.pk]

    in_db(check)


# ------------------------------------------------------------------------------------------------- mediators


@pytest.fixture
def disputes(world: Any) -> SimpleNamespace:
    """The village's committee with 乡贤巴特尔 (world.mediator's login) and a retired teacher; a high-risk
    grassland boundary dispute assigned to them (no session yet), a neighbours' dispute with one session held,
    and a debt settled by agreement three days ago whose first follow-up visit falls due in four days."""
    from gridgov.mediation import services
    from gridgov.mediation.tests.helpers import make_committee, make_mediator, two_parties

    w = world
    committee = make_committee(w.village, "村1-1人民调解委员会")
    elder = make_mediator(committee, "乡贤巴特尔", user=w.mediator, kind="elder", areas=[w.village])
    teacher = make_mediator(committee, "退休教师李", kind="teacher", areas=[w.village])
    now = timezone.now()

    def received(days_ago: int, **fields: Any) -> Any:
        dispute = services.do_receive_dispute(
            actor=w.specialist,
            grid=w.grid,
            parties=two_parties(),
            now=now - dt.timedelta(days=days_ago),
            received_at=(now - dt.timedelta(days=days_ago)).isoformat(),
            **fields,
        )
        services.do_assign(
            dispute,
            actor=w.l2head,
            committee=committee,
            lead=elder,
            assistants=[teacher],
            now=now - dt.timedelta(days=days_ago) + dt.timedelta(hours=2),
        )
        return dispute

    grass = received(
        2,
        kind="land",
        title="草场边界纠纷",
        description="两户牧民因草场围栏位置发生争执，一方拆除了另一方的围栏。",
        amount="20000",
        risk="high",
        address="新村嘎查北草场",
    )
    leak = received(
        6, kind="neighbours", title="邻居漏水纠纷", description="楼上漏水致楼下墙面受损。", risk="medium"
    )
    services.do_record_session(
        leak,
        actor=w.mediator,
        held_at=(now - dt.timedelta(days=5)).isoformat(),
        mediators=[elder],
        notes="双方到场，初步同意先请物业查明漏水原因。",
        now=now - dt.timedelta(days=5),
    )
    debt = received(12, kind="debt", title="借款纠纷", description="借款一万元到期未还。", amount="10000")
    services.do_record_session(
        debt, actor=w.mediator, held_at=(now - dt.timedelta(days=4)).isoformat(), mediators=[elder], now=now
    )
    services.do_record_outcome(
        debt,
        actor=w.mediator,
        outcome="agreement",
        terms="分两期还清借款。",
        signed_on=(timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        now=now,
    )
    from gridgov.mediation.models import FollowUp

    visit = FollowUp.objects.filter(dispute=debt).order_by("due_on").first()
    return SimpleNamespace(w=w, elder=elder, grass=grass, leak=leak, debt=debt, visit=visit)


def test_a_mediator_records_a_session_offline_and_it_is_stored_once(live_server, disputes):
    from playwright.sync_api import expect, sync_playwright

    base = live_server.url
    grass = disputes.grass
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = phone_context(browser)
            page, errors = open_app(context, base)
            sign_in_with_password(page, disputes.w.mediator.username)
            # A mediator holding no grid role: their disputes are the home, high risk first.
            page.wait_for_selector(".mediation [data-dispute]")
            expect(page.locator('#tabs a[href="#/mediation"]')).to_be_visible()
            expect(page.locator('#tabs a[href="#/grid"]')).to_be_hidden()
            rows = page.locator(".mediation a[data-dispute]")
            expect(rows).to_have_count(2)
            assert rows.nth(0).get_attribute("data-dispute") == grass.number
            assert rows.nth(0).get_attribute("data-risk") == "high"
            expect(rows.nth(0).locator(".dot")).to_have_class(re.compile(r"\bred\b"))
            expect(rows.nth(0)).to_contain_text("张三")
            expect(page.locator(f'.mediation a[data-follow-up="{disputes.visit.pk}"]')).to_have_count(1)
            wait_controlled(page)
            wait_kept(page, "mediation")
            wait_kept(page, "mediation_details")
            shoot_checked(page, "mobile-mediation-hub")
            assert small_targets(page) == []

            # The dispute's page: its parties (ID numbers and phones masked) and its timeline.
            rows.nth(0).click()
            page.wait_for_selector(f'.dispute[data-number="{grass.number}"]')
            parties = page.locator(".dispute .party")
            expect(parties).to_have_count(2)
            expect(parties.nth(0)).to_contain_text("138****1111")
            expect(page.locator(".dispute .timeline li")).not_to_have_count(0)
            shoot_checked(page, "mobile-mediation-dispute", tall=True)
            assert small_targets(page) == []

            # ------------------------------------------------------------------------- no signal from here on
            context.set_offline(True)
            page.click('.dispute [data-act="session"]')
            page.wait_for_selector(".session form")
            expect(page.locator('.session input[name="mediators"]:checked')).to_have_count(2)
            expect(page.locator('.session input[name="parties_present"]:checked')).to_have_count(2)
            expect(page.locator('.session input[name="place"]')).to_have_value("新村嘎查北草场")
            page.click(".session button.primary")
            expect(page.locator('.session [data-err="notes"]')).not_to_be_empty()  # what was said, first
            page.fill(
                '.session textarea[name="notes"]',
                "双方到场。经实地查看围栏原址，双方同意以旧界桩为准重新立围栏，费用各担一半。",
            )
            page.fill('.session textarea[name="next_steps"]', "三日后到现场确认新围栏位置。")
            shoot_checked(page, "mobile-mediation-session", tall=True)
            assert small_targets(page) == []
            page.click(".session button.primary")
            page.wait_for_selector(f'.dispute[data-number="{grass.number}"] .timeline li.waiting')
            expect(page.locator('.dispute [data-out="pending"]')).to_be_visible()
            records = queue_records(page)
            assert [(r["kind"], r["state"]) for r in records] == [("session", "waiting")]
            shoot_checked(page, "mobile-mediation-session-offline", tall=True)
            page.click("#queue-link")
            page.wait_for_selector(".queue-list .record")
            expect(page.locator("#queue-badge")).to_have_text("1")

            # --------------------------------------------------------------------------- the signal returns
            context.set_offline(False)
            records = wait_queue_settled(page, 1)
            assert [(r["kind"], r["state"]) for r in records] == [("session", "done")], records
            page.wait_for_selector(f'.queue-list a[href="#/dispute/{grass.number}"]')
            # Sent again (the phone never heard the answer): the key answers the first session, nothing more.
            again = page.evaluate(
                """async (key) => {
                    const r = await (await import("m/queue")).get(key);
                    const res = await fetch(r.url, {method: "POST", credentials: "same-origin",
                        headers: {"Idempotency-Key": r.key, "X-CSRFToken": (await import("m/core")).csrf(),
                                  "Content-Type": "application/json"},
                        body: JSON.stringify(r.fields)});
                    return [res.status, (await res.json()).id, r.result.id];
                }""",
                records[0]["key"],
            )
            assert again[0] in (200, 201) and again[1] == again[2], again
            shoot_checked(page, "mobile-mediation-queue", tall=True)

            # A follow-up visit due: the agreement performed.
            page.evaluate(f"location.hash = '#/follow-up/{disputes.visit.pk}'")
            page.wait_for_selector(".follow-up form")
            page.wait_for_selector(".follow-up .where.ok")
            page.click(".follow-up button.primary")
            expect(page.locator('.follow-up [data-err="result"]')).not_to_be_empty()
            page.click('.follow-up .results input[value="performed"] + span')
            page.fill('.follow-up textarea[name="note"]', "第一期借款已还清，双方满意。")
            shoot_checked(page, "mobile-mediation-follow-up", tall=True)
            assert small_targets(page) == []
            page.click(".follow-up button.primary")
            page.wait_for_selector(".mediation [data-dispute]")
            records = wait_queue_settled(page, 2)
            assert [(r["kind"], r["state"]) for r in records][-1] == ("follow_up", "done"), records

            # The dispute's page, read again: the session on its timeline; in English too.
            page.evaluate(f"location.hash = '#/dispute/{grass.number}'")
            page.wait_for_selector('.dispute .timeline li[data-action="session"]:not(.waiting)')
            shoot_checked(page, "mobile-mediation-dispute-after", tall=True)
            page.click("#lang-form button")
            page.wait_for_selector(f'.dispute[data-number="{grass.number}"]')
            assert page.evaluate("document.documentElement.lang") == "en"
            expect(page.locator('#tabs a[href="#/mediation"]')).to_have_text("Mediation")
            shoot_checked(page, "mobile-mediation-dispute-en", tall=True)
            page.evaluate("location.hash = '#/mediation'")
            page.wait_for_selector(".mediation [data-dispute]")
            shoot_checked(page, "mobile-mediation-hub-en")
            page.evaluate(f"location.hash = '#/session/{grass.number}'")
            page.wait_for_selector(".session form")
            shoot_checked(page, "mobile-mediation-session-en", tall=True)
            assert errors == []
        finally:
            browser.close()

    def check() -> None:
        from gridgov.mediation.models import FollowUp, Session

        sessions = Session.objects.filter(dispute=grass)
        assert sessions.count() == 1
        held = sessions.get()
        assert held.notes.startswith("双方到场。经实地查看围栏原址")
        assert held.next_steps == "三日后到现场确认新围栏位置。"
        assert held.place == "新村嘎查北草场"
        assert held.created_by_id == disputes.w.mediator.pk
        assert held.mediators.count() == 2 and held.parties_present.count() == 2
        grass.refresh_from_db()
        assert grass.state == "mediating"
        visit = FollowUp.objects.get(pk=disputes.visit.pk)
        assert (visit.result, visit.note, visit.visitor_id) == (
            "performed",
            "第一期借款已还清，双方满意。",
            disputes.w.mediator.pk,
        )

    in_db(check)
