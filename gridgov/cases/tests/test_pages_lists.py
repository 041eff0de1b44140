"""The workbench's home per role, the case list (filters, phone search, scope, sorting, keyset paging, batch
checkboxes) and the inbox: what each page shows, and that none of them runs more than 30 queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.cases.choices import Action, State
from gridgov.cases.models import Case, Notification
from gridgov.cases.views import lists

from .helpers import act, case_in, report_case

PHONE = "13800001111"  # the caller of case_in(reporter="phone")


def client_for(user: Any, language: str = "en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = language
    return c


def page(c: Client, url: str, params: dict[str, Any] | None = None) -> str:
    response = c.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.fixture
def cases(world, png_bytes) -> dict[str, Case]:
    """Cases of world.grid in several states, one of them overdue and supervised, one reported by phone."""
    out = {
        "reported": case_in(world, State.REPORTED),
        "registered": case_in(world, State.REGISTERED),
        "registered2": case_in(world, State.REGISTERED),
        "dispatched": case_in(world, State.DISPATCHED),
        "handling": case_in(world, State.HANDLING),
        "handled": case_in(world, State.HANDLED, png=png_bytes),
        "phone": case_in(world, State.REGISTERED, reporter="phone"),
        "elsewhere": report_case(
            world, world.other_resident, where=(109.15, 40.05), description="别处的路灯坏了"
        ),
    }
    late = out["dispatched"]
    act(world, late.number, Action.SUPERVISE, "leader", card="red", reason="拖太久了")
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=5))
    return {k: Case.objects.get(pk=v.pk) for k, v in out.items()}


def numbers_in(html: str, cases: dict[str, Case]) -> set[str]:
    """The cases listed in the rows of a page's tables (not echoed in a filter's input)."""
    rows = "".join(part.split("</tr>")[0] for part in html.split('class="case-row')[1:])
    return {k for k, c in cases.items() if c.number in rows}


# ---------------------------------------------------------------------------------------------- home


@pytest.mark.parametrize("who", ["operator", "handler", "specialist", "l1head", "resident"])
def test_each_role_lands_on_its_work_within_30_queries(world, cases, who, django_assert_max_num_queries):
    c = client_for(getattr(world, who))
    with django_assert_max_num_queries(30):
        html = page(c, reverse("home"))
    queues = {
        "operator": ["to_accept", "to_dispatch", "due_soon", "overdue", "supervised"],
        "handler": ["to_sign", "handling", "due_soon", "overdue"],
        "specialist": ["to_verify", "open"],
        "l1head": ["overdue", "supervised"],
        "resident": [],
    }[who]
    for q in queues:
        assert f'data-queue="{q}"' in html, q
    for q in {"to_accept", "to_sign", "to_verify", "to_dispatch"} - set(queues):
        assert f'data-queue="{q}"' not in html, q
    if who == "l1head":
        assert reverse("cases:overview") in html
    if who == "resident":
        # Their own reports with their states, nobody else's.
        assert cases["registered"].number in html and cases["elsewhere"].number not in html
        assert "registered, to dispatch" in html


def test_operator_home_counts_link_to_the_filtered_list_and_shows_the_overdue_first(world, cases):
    html = page(client_for(world.operator), reverse("home"))
    # to_dispatch holds the three registered cases (one reported by phone).
    assert f'href="{reverse("cases:list")}?queue=to_dispatch"' in html
    tile = html.split('data-queue="to_dispatch"')[1][:80]
    assert '<span class="n">3</span>' in tile
    # "Next to do": the overdue queue first, with its case.
    next_section = html.split('id="next-title"')[1].split("</section>")[0]
    assert "overdue" in next_section and cases["dispatched"].number in next_section
    assert "overdue by" in next_section
    # The queue link opens the list filtered by that queue.
    listed = page(client_for(world.operator), reverse("cases:list"), {"queue": "to_dispatch"})
    assert numbers_in(listed, cases) == {"registered", "registered2", "phone"}


def test_administrators_get_their_administration_links_only(make_user):
    sysadmin = make_user("sys", admin_duty="system", is_staff=True)
    html = page(client_for(sysadmin), reverse("home"))
    assert reverse("grids:manage") in html and reverse("catalog:rules") in html
    assert reverse("accounts:people") not in html and "data-queue=" not in html
    auditor = make_user("aud", admin_duty="audit", is_staff=True)
    html = page(client_for(auditor), reverse("home"))
    assert reverse("admin:core_auditrecord_changelist") in html and reverse("grids:manage") not in html


def test_home_shows_recent_unread_notifications(world, cases):
    # The resident was told their reports were accepted.
    html = page(client_for(world.resident), reverse("home"))
    notes = html.split('id="notes-title"')[1]
    assert "was accepted and registered" in notes
    Notification.objects.filter(user=world.resident).update(read_at=timezone.now())
    html = page(client_for(world.resident), reverse("home"))
    assert "No unread notifications." in html


# ---------------------------------------------------------------------------------------------- list


def test_filters_narrow_the_list(world, cases):
    c = client_for(world.operator)
    url = reverse("cases:list")
    everything = numbers_in(page(c, url), cases)
    assert everything == set(cases) - {"elsewhere"}
    assert numbers_in(page(c, url, {"state": "registered"}), cases) == {"registered", "registered2", "phone"}
    assert numbers_in(page(c, url, {"state": "open"}), cases) == everything
    assert numbers_in(page(c, url, {"colour": "red"}), cases) == {"dispatched"}
    assert numbers_in(page(c, url, {"supervised": "on"}), cases) == {"dispatched"}
    assert numbers_in(page(c, url, {"number": cases["handled"].number}), cases) == {"handled"}
    assert numbers_in(page(c, url, {"department": "HW"}), cases) == {"dispatched", "handling", "handled"}
    assert numbers_in(page(c, url, {"queue": "to_accept"}), cases) == {"reported"}
    assert numbers_in(page(c, url, {"channel": "hotline"}), cases) == {"phone"}
    # Dates in Asia/Shanghai: nothing was reported before today.
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert numbers_in(page(c, url, {"until": yesterday}), cases) == set()
    # A bad value is named next to its field, the rest still applies.
    html = page(c, url, {"since": "not-a-date", "state": "reported"})
    assert 'class="field-error"' in html and numbers_in(html, cases) == {"reported"}


def test_text_search_in_chinese_over_description_and_address(world, cases):
    c = client_for(world.banner_operator)
    hit = report_case(world, description="路灯不亮了", address="树林召镇幸福路12号")
    html = page(c, reverse("cases:list"), {"q": "幸福路"})
    assert hit.number in html and numbers_in(html, cases) == set()
    html = page(c, reverse("cases:list"), {"q": "路灯"})
    assert hit.number in html and numbers_in(html, cases) == {"elsewhere"}


def test_phone_search_through_the_blind_index_is_for_operators_only(world, cases):
    url = reverse("cases:list")
    html = page(client_for(world.operator), url, {"phone": PHONE})
    assert numbers_in(html, cases) == {"phone"}
    html = page(client_for(world.operator), url, {"phone": "138 0000 1112"})
    assert numbers_in(html, cases) == set()
    html = page(client_for(world.operator), url, {"phone": "12ab"})
    assert 'id="id_phone-error"' in html
    # A handler has no phone search: no such field, and the parameter narrows nothing to a reporter.
    html = page(client_for(world.handler), url, {"phone": PHONE})
    assert 'name="phone"' not in html
    assert cases["phone"].number not in html  # never dispatched to HW: out of the handler's scope anyway


def test_a_case_out_of_scope_is_never_listed(world, cases):
    c = client_for(world.other_operator)
    html = page(c, reverse("cases:list"))
    assert numbers_in(html, cases) == {"elsewhere"}
    for params in ({"number": cases["registered"].number}, {"grid": world.grid.code}, {"phone": PHONE}):
        assert numbers_in(page(c, reverse("cases:list"), params), cases) == set()
    handler = page(client_for(world.handler), reverse("cases:list"))
    assert numbers_in(handler, cases) == {"dispatched", "handling", "handled"}


def test_sorting_and_keyset_paging(world, cases, monkeypatch):
    monkeypatch.setattr(lists, "PAGE_SIZE", 3)
    c = client_for(world.operator)
    url = reverse("cases:list")
    mine = sorted((v for k, v in cases.items() if k != "elsewhere"), key=lambda x: x.pk)
    seen: list[str] = []
    html = page(c, url, {"sort": "oldest", "state": "open"})
    assert 'rel="prev"' not in html
    while True:
        seen += [x.number for x in mine if x.number in html]
        if 'rel="next"' not in html:
            break
        next_url = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        assert "sort=oldest" in next_url and "state=open" in next_url
        html = page(c, url + next_url)
        assert 'rel="prev"' in html
    assert seen == [x.number for x in mine]
    # Back from the last page: the page before it.
    prev_url = html.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    back = page(c, url + prev_url)
    assert [x.number for x in mine if x.number in back] == [x.number for x in mine[3:6]]
    # Newest first by default; due soonest lists the running clocks, the overdue one first.
    html = page(c, url)
    newest = [x.number for x in sorted(mine, key=lambda x: -x.pk) if x.number in html]
    assert html.index(newest[0]) < html.index(newest[1]) < html.index(newest[2])
    html = page(c, url, {"sort": "due"})
    assert cases["dispatched"].number in html
    first_row = html.split('class="case-row')[1]
    assert cases["dispatched"].number in first_row


def test_only_operators_get_batch_dispatch_checkboxes(world, cases):
    html = page(client_for(world.operator), reverse("cases:list"))
    assert f'action="{reverse("cases:batch_dispatch")}"' in html
    boxes = {k for k, v in cases.items() if f'name="numbers" value="{v.number}"' in html}
    assert boxes == {"registered", "registered2", "phone"}  # only what waits for dispatch
    for who in ("handler", "l1head", "specialist", "resident"):
        html = page(client_for(getattr(world, who)), reverse("cases:list"))
        assert 'name="numbers"' not in html and reverse("cases:batch_dispatch") not in html


def test_the_list_with_every_filter_stays_within_30_queries(world, cases, django_assert_max_num_queries):
    c = client_for(world.operator)
    today = timezone.localdate().isoformat()
    params = {
        "q": "垃圾",
        "number": "",
        "phone": PHONE,
        "state": "registered",
        "queue": "to_dispatch",
        "module": "01",
        "item": "011001",
        "grid": world.village.code,
        "department": "",
        "channel": "hotline",
        "colour": "green",
        "since": today,
        "until": today,
        "supervised": "",
        "sort": "due",
    }
    with django_assert_max_num_queries(30):
        html = page(c, reverse("cases:list"), params)
    assert numbers_in(html, cases) == {"phone"}
    with django_assert_max_num_queries(30):
        html = page(c, reverse("cases:list"))
    assert len(numbers_in(html, cases)) == 7


def test_list_rows_show_deadline_state_and_supervision(world, cases):
    html = page(client_for(world.operator), reverse("cases:list"))
    row = next(r for r in html.split('class="case-row')[1:] if cases["dispatched"].number in r)
    assert "due-red" in row[:20] and 'class="dot red"' in row and "overdue by" in row
    assert "chip card-red" in row and "state-open" in row
    registered = next(r for r in html.split('class="case-row')[1:] if cases["registered"].number in r)
    assert "due in" in registered


def test_markup_in_a_description_is_shown_as_text(world):
    report_case(world, description="<script>alert(1)</script><img src=x onerror=alert(2)>")
    html = page(client_for(world.operator), reverse("cases:list"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


# ---------------------------------------------------------------------------------------------- inbox


def test_inbox_lists_newest_first_links_cases_and_marks_read(world, cases, django_assert_max_num_queries):
    c = client_for(world.resident)
    with django_assert_max_num_queries(30):
        html = page(c, reverse("cases:inbox"))
    unread = Notification.objects.filter(user=world.resident, read_at__isnull=True).count()
    assert unread >= 5
    assert html.count('class="note unread"') == unread
    newest = Notification.objects.filter(user=world.resident).order_by("-id").first()
    assert newest is not None and newest.case is not None
    assert reverse("cases:detail", args=[newest.case.number]) in html.split('<li class="note')[1]
    # Mark one read, then all.
    assert c.post(reverse("cases:inbox_read"), {"id": newest.pk}).status_code == 302
    newest.refresh_from_db()
    assert newest.read_at is not None
    assert Notification.objects.filter(user=world.resident, read_at__isnull=True).count() == unread - 1
    c.post(reverse("cases:inbox_read"))
    assert not Notification.objects.filter(user=world.resident, read_at__isnull=True).exists()
    html = page(c, reverse("cases:inbox"))
    assert 'class="note unread"' not in html and "Mark all read" not in html
    # Nobody marks somebody else's notifications.
    other = Notification.objects.filter(user=world.operator, read_at__isnull=True).count()
    c.post(reverse("cases:inbox_read"))
    assert Notification.objects.filter(user=world.operator, read_at__isnull=True).count() == other


def test_inbox_pages_by_id(world, cases, monkeypatch):
    monkeypatch.setattr(lists, "INBOX_PAGE_SIZE", 2)
    c = client_for(world.resident)
    ids = list(Notification.objects.filter(user=world.resident).order_by("-id").values_list("pk", flat=True))
    assert len(ids) > 4
    html = page(c, reverse("cases:inbox"))
    assert f"?before={ids[1]}" in html and 'rel="prev"' not in html
    html = page(c, reverse("cases:inbox"), {"before": ids[1]})
    assert f'name="id" value="{ids[2]}"' in html and f'name="id" value="{ids[0]}"' not in html
    assert f"?after={ids[2]}" in html


def test_posts_need_the_csrf_token(world, cases):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.resident)
    assert c.post(reverse("cases:inbox_read")).status_code == 403
    assert Notification.objects.filter(user=world.resident, read_at__isnull=True).exists()
    html = c.get(reverse("cases:inbox")).content.decode()
    assert "csrfmiddlewaretoken" in html
    # Reading is GET only; marking read is POST only.
    assert c.get(reverse("cases:inbox_read")).status_code == 405
    assert c.post(reverse("cases:list")).status_code in (403, 405)


def test_anonymous_visitors_are_sent_to_sign_in(db):
    for name in ("home", "cases:list", "cases:inbox", "cases:export"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("sort", ["newest", "oldest", "due"])
def test_keyset_pages_walk_the_whole_list_both_ways(world, cases, sort):
    from gridgov.cases import selectors

    # Two clocks due at the same time: the id breaks the tie.
    same = timezone.now() + dt.timedelta(hours=3)
    Case.objects.filter(pk__in=[cases["registered"].pk, cases["registered2"].pk]).update(due_at=same)
    qs = selectors.case_list(world.operator, selectors.CaseFilter(sort=sort))
    whole = [c.number for c in qs]
    assert len(whole) == 7  # every one of the operator's cases has a running clock
    forward: list[list[str]] = []
    p = selectors.keyset_page(qs, sort, limit=2)
    forward.append([c.number for c in p.rows])
    assert p.previous is None
    while p.next:
        p = selectors.keyset_page(qs, sort, after=p.next, limit=2)
        forward.append([c.number for c in p.rows])
    assert [n for chunk in forward for n in chunk] == whole
    backward = [[c.number for c in p.rows]]
    while p.previous:
        p = selectors.keyset_page(qs, sort, before=p.previous, limit=2)
        backward.append([c.number for c in p.rows])
    assert backward[::-1] == forward
    # A forged cursor is ignored, never an error.
    assert selectors.keyset_page(qs, sort, after="x~y", limit=2).rows


# ---------------------------------------------------------------------------------------------- in a browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_home_and_list_in_chromium(live_server, working_hours):
    import os

    from gridgov.demo.config import DemoConfig
    from gridgov.demo.seed import DEMO_PASSWORD, seed_demo
    from gridgov.tests.browser import CHROMIUM, DESKTOP, PHONE, chromium, new_page, shoot, sign_in

    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Chromium: apt-get install chromium")
    # The database work happens before Playwright starts (its event loop forbids the ORM in this thread).
    seed_demo(DemoConfig.small())
    base = live_server.url
    with chromium() as browser:
        page, errors = new_page(browser, DESKTOP, locale="en-US")
        sign_in(page, base, "operator", DEMO_PASSWORD)
        page.goto(f"{base}/")
        tiles = page.locator(".queue-tiles .tile")
        assert tiles.count() == 5
        shoot(page, "home-operator-desktop")
        # A queue count opens the list filtered by it.
        page.locator('[data-queue="to_dispatch"]').click()
        page.wait_for_load_state("networkidle")
        assert "queue=to_dispatch" in page.url
        assert page.locator("#id_queue").input_value() == "to_dispatch"
        rows = page.locator("tr.case-row")
        assert rows.count() > 0
        # The filters fit the screen; the list does not scroll sideways at 1366 px.
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        # Batch dispatch: ticking cases enables the button.
        button = page.locator("#batch button[type=submit]")
        assert button.is_disabled()
        page.locator('input[name="numbers"]').first.check()
        assert button.is_enabled()
        page.locator(".select-all").check()
        assert (
            page.locator('input[name="numbers"]:checked').count()
            == page.locator('input[name="numbers"]').count()
        )
        shoot(page, "list-operator-desktop")
        # Keyboard: the search field has the focus; Enter filters.
        page.goto(f"{base}/cases/")
        assert page.evaluate("document.activeElement.id") == "id_q"
        page.keyboard.type("垃圾")
        page.keyboard.press("Enter")
        page.wait_for_load_state("networkidle")
        assert "q=" in page.url
        assert errors == [], errors

        phone, errors = new_page(browser, PHONE, locale="en-US")
        sign_in(phone, base, "operator", DEMO_PASSWORD)
        phone.goto(f"{base}/cases/?state=open")
        first = phone.locator("tr.case-row").first
        assert first.evaluate("e => getComputedStyle(e).display") == "block"  # rows become cards
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360 + 1
        shoot(phone, "list-operator-phone", full_page=True)
        assert errors == [], errors

        handler, errors = new_page(browser, DESKTOP, locale="en-US")
        sign_in(handler, base, "handler", DEMO_PASSWORD)
        handler.goto(f"{base}/")
        assert handler.locator('[data-queue="to_sign"]').count() == 1
        assert handler.locator('[data-queue="to_accept"]').count() == 0
        shoot(handler, "home-handler-desktop")
        assert errors == [], errors
