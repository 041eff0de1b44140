"""The community pages in a real browser (Debian's Chromium through Playwright): a grid specialist opens the
volunteer pages from the main navigation, adds a member to their patrol, and confirms who came to last night's
patrol and the hours each served; the village head reads every page on a 360 px phone, in Chinese and in
English, and none scrolls sideways. Screenshots go to test-artifacts/community-*.png for a person to look at."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.community import services
from gridgov.community.models import Member, SignUp
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from .conftest import later
from .helpers import shift

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def test_a_specialist_confirms_the_hours_and_a_head_reads_every_page_on_a_phone(live_server, teams):
    crew = teams.crew
    night = services.do_create_activity(
        actor=crew.specialist,
        title="夜间巡逻",
        team=teams.patrol.pk,
        kind="patrol",
        starts_at=later(24),
        ends_at=later(27),
        place="村委会门口集合",
        capacity=6,
    )
    for member in (teams.ann, teams.bob, teams.cat):
        services.do_sign_up(night, actor=crew.specialist, member=member.pk)
    night = shift(night, timezone.now() - dt.timedelta(hours=4), hours=3)
    town_day = services.do_create_activity(
        actor=crew.l1head,
        title="环境整治日",
        grid=crew.town.code,
        kind="cleanup",
        starts_at=later(48),
        ends_at=later(52),
        capacity=30,
    )
    services.do_sign_up(town_day, actor=crew.vol1)
    task = services.do_give_task(
        actor=crew.specialist,
        team=teams.car.pk,
        title="护送独居老人去卫生院体检",
        description="周三上午九点，村口接人",
        due_on=timezone.localdate() + dt.timedelta(days=2),
    )
    cat = SignUp.objects.get(member=teams.cat).pk
    bob = SignUp.objects.get(member=teams.bob).pk
    base = live_server.url

    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, crew.specialist.username, PASSWORD)
        with page.expect_navigation():
            page.locator('.topbar nav a[href="/community/"]').click()
        assert page.locator('[data-figure="members"] .n').inner_text() == "3"
        shoot(page, "community-home-desktop", full_page=True)

        page.goto(f"{base}/community/teams/{teams.patrol.pk}/")
        page.fill("#id_name", "孙七")
        page.fill("#id_phone", "139 1234 5678")
        page.fill("#id_skills", "蒙古语")
        with page.expect_navigation():
            page.locator(".cm-member-form button[type=submit]").click()
        assert page.locator("tr.member-row", has_text="孙七").locator(".masked").inner_text() == "139****5678"
        shoot(page, "community-team-desktop", full_page=True)

        page.goto(f"{base}/community/activities/{night.pk}/")
        rows = page.locator("tr.signup-row")
        assert rows.count() == 3
        page.locator(f'input[name="attended_{cat}"]').uncheck()
        page.locator(f'input[name="hours_{cat}"]').fill("")
        page.locator(f'input[name="hours_{bob}"]').fill("2.5")
        shoot(page, "community-activity-confirm-desktop", full_page=True)
        with page.expect_navigation():
            page.locator(".cm-confirm button[type=submit]").click()
        assert page.locator(".message.success").count() == 1
        shoot(page, "community-activity-confirmed-desktop", full_page=True)

        page.goto(f"{base}/community/tasks/{task.pk}/")
        shoot(page, "community-task-desktop", full_page=True)
        page.goto(f"{base}/community/activities/new/")
        shoot(page, "community-activity-new-desktop", full_page=True)
        assert not errors, errors

        for language in ("zh-hans", "en"):
            phone, phone_errors = new_page(browser, PHONE)
            sign_in(phone, base, crew.l2head.username, PASSWORD)
            phone.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            for path, name in (
                ("/community/", "home"),
                ("/community/teams/", "teams"),
                (f"/community/teams/{teams.patrol.pk}/", "team"),
                ("/community/activities/", "activities"),
                (f"/community/activities/{night.pk}/", "activity"),
                (f"/community/activities/{town_day.pk}/", "activity-open"),
                ("/community/tasks/", "tasks"),
                (f"/community/tasks/{task.pk}/", "task"),
                ("/community/tasks/new/", "task-new"),
                ("/community/teams/new/", "team-new"),
            ):
                phone.goto(f"{base}{path}")
                phone.wait_for_load_state("networkidle")
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} is {width}px wide on a phone ({language})"
                shoot(phone, f"community-{name}-phone-{language}", full_page=True)
            assert not phone_errors, phone_errors
            phone.context.close()

    hours = {s.member_id: (s.attended, s.hours) for s in SignUp.objects.filter(activity=night)}
    assert hours[teams.ann.pk][0] is True and str(hours[teams.ann.pk][1]) == "3.00"
    assert hours[teams.bob.pk] == (True, hours[teams.bob.pk][1]) and str(hours[teams.bob.pk][1]) == "2.50"
    assert hours[teams.cat.pk] == (False, None)
    assert Member.objects.filter(name="孙七", phone_masked="139****5678").exists()
