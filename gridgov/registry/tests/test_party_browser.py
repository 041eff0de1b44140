"""Party organisations and roles in a real browser (Debian's Chromium through Playwright), in Chinese: a village
head opens the party tab (the branch, the groups under it, secretaries and member counts), then a person's page
with two roles, gives a third through the page's form and ends one; the same pages on a 360 px phone, which must
not scroll sideways. Screenshots go to test-artifacts/registry-party-*.png for a person to look at."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import pgettext

from gridgov.registry.choices import PersonRoleKind
from gridgov.registry.models import Person, PersonRole
from gridgov.registry.services import do_give_role
from gridgov.tests.browser import DESKTOP, PHONE, chromium, needs_chromium, new_page, shoot, sign_in

from . import test_access, test_party

scene = test_access.scene  # the registry tests' shared fixture
party = test_party.party

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-9"  # the `make_user` fixture's


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a phone"


def test_a_village_head_reads_the_party_tree_and_keeps_a_persons_roles(live_server, scene, party):
    # The database work first: Playwright's loop then runs in this thread.
    w = scene.world
    test_party._grow(scene, party, 3)
    zhang = Person.objects.select_related("grid").get(pk=scene.persons["zhang"].pk)
    do_give_role(zhang, PersonRoleKind.PARTY_MEMBER, actor=w.l2head, party_organisation=party.branch)
    do_give_role(zhang, PersonRoleKind.VOLUNTEER, actor=w.l2head)
    party.branch.secretary = zhang
    party.branch.save()
    base = live_server.url
    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP)
        sign_in(page, base, w.l2head.username, PASSWORD)
        page.goto(f"{base}/registry/party/")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        with translation.override("zh-hans"):  # 党组织 (the page's language, whatever the catalogue holds)
            tab = pgettext("registry tab: party organisations and the roles of persons", "Party")
        assert page.locator(".reg-tabs a[aria-current=page]").inner_text() == tab
        rows = page.locator("tr.party-row")
        assert rows.count() == 5  # the branch, its group and the three new groups
        assert rows.first.locator("td.name a").first.inner_text() == party.branch.name
        assert "张建国" in rows.first.inner_text()
        shoot(page, "registry-party-tree-desktop", full_page=True)

        page.goto(f"{base}/registry/persons/{zhang.pk}/")
        roles = page.locator(".role-list tr")
        assert [roles.nth(i).get_attribute("data-role") for i in range(roles.count())] == [
            "party_member",
            "volunteer",
        ]
        page.locator("details.give-role summary").click()
        page.select_option("#id_role", "mediator")
        page.fill("#id_since", "2015-03-01")
        with page.expect_navigation():
            page.locator(".role-form button[type=submit]").click()
        assert page.locator('.role-list tr[data-role="mediator"]').is_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "registry-party-person-roles-desktop", full_page=True)
        volunteer = page.locator('.role-list tr[data-role="volunteer"]')
        volunteer.locator("summary").click()
        volunteer.locator("input[name=reason]").fill("不再参加活动")
        with page.expect_navigation():
            volunteer.locator("button[type=submit]").click()
        assert page.locator('.role-list tr[data-role="volunteer"]').count() == 0
        assert not errors, errors

        phone, phone_errors = new_page(browser, PHONE)
        sign_in(phone, base, w.l2head.username, PASSWORD)
        phone.goto(f"{base}/registry/party/")
        phone.wait_for_load_state("networkidle")
        _fits(phone)
        shoot(phone, "registry-party-tree-phone", full_page=True)
        phone.goto(f"{base}/registry/persons/{zhang.pk}/")
        phone.locator("details.give-role summary").click()
        _fits(phone)
        phone.evaluate("window.scrollTo(0, 0)")
        shoot(phone, "registry-party-person-roles-phone", full_page=True)
        assert not phone_errors, phone_errors

    assert sorted(PersonRole.objects.filter(person=zhang).values_list("role", flat=True)) == [
        "mediator",
        "party_member",
    ]
