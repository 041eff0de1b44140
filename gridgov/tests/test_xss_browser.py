"""About a hundred XSS payloads (gridgov/tests/xss_payloads.py) stored in every free-text field a user can
fill render inert on every page that shows them, in Debian's Chromium; and the Excel export neutralises
formula injection.

The payloads go in through the services, as in production: case descriptions, addresses and reporter names
(`do_report`), evidence file names (a real PNG uploaded under a hostile original name), public and internal
comments, supervision reasons and the replies to them, return reasons and feedback notes (`do_transition`);
and through the administration's data: the full names of the staff acting on the cases, grid, department and
item names. The long-text fields carry 14 payloads each, so that together they hold every payload; the
short ones (names) 10 each of those that fit them.

Then each role that can see them visits the pages that show them — home, the case list searched for the
payloads, each case page with every action form opened, the inbox, the overview, batch dispatch, merge, the
intake page's item search, the people, items and grids administration, the grid map — and on every page:
no payload ran (`window.__xss(n)` records n; any alert/confirm/prompt dialog counts too), no element or
attribute came from data (event handlers, javascript: URLs, frames, `img[src=x]` …), and the payloads show
as text where they belong. Pages still being built (answering "pending") are visited all the same and
checked for their text only once they exist."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from gridgov.accounts.models import User
from gridgov.cases.models import Supervision
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.catalog.models import Department, Item
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import seed_demo
from gridgov.grids.models import Grid
from gridgov.tests.browser import chromium, needs_chromium, new_page, shoot
from gridgov.tests.xss_payloads import PAYLOADS, Payload, fitting, spread

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

TOWN, VILLAGE, LEAF = "150621100", "150621100200", "150621100200001"
CASES = 14  # each long-text field holds one payload per case: 8 fields × 14 = every payload
LONG_FIELDS = (
    "description",
    "address",
    "comment_public",
    "comment_internal",
    "supervision_reason",
    "supervision_reply",
    "return_reason",
    "feedback_note",
)
# Short fields: (name, maximum length, no '/' allowed).
SHORT_FIELDS = (
    ("reporter_name", 50, False),
    ("full_name", 60, False),
    ("grid_name", 100, False),
    ("department_name", 100, False),
    ("item_name", 100, False),
    ("file_name", 116, True),  # + ".png"
)
# Staff whose full names are payloads: they act on the cases (their names show in every event and the top bar).
NAMED_STAFF = (
    "town_operator",
    "operator",
    "handler",
    "leader",
    "specialist",
    "l1head",
    "l2head",
    "dh-hw-1",
    "officer",
    "secadmin",
)

# Anything on the page that came from data as markup rather than text.
INJECTED = """() => {
  const hits = [];
  const say = (why, el) => hits.push(why + ': ' + el.outerHTML.slice(0, 160));
  const tags = 'iframe, frame, frameset, object, embed, base, marquee, isindex, meta[http-equiv="refresh"],'
    + ' img[src="x"], img[src="x:x"], svg[onload], animate, details[ontoggle], audio[src="x"],'
    + ' [data-xss], [x-init], [x-html]';
  for (const el of document.querySelectorAll(tags)) say('element', el);
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const n = a.name.toLowerCase(), v = a.value;
      if (!/xss/i.test(v)) continue;
      if (n.startsWith('on') || n.startsWith('hx-on') || n.startsWith('x-') || n.startsWith('@')
          || n.startsWith(':') || n === 'srcdoc' || n === 'style' || n === 'hx-vals' || n === 'formaction')
        say('attribute ' + n, el);
      else if (['href', 'src', 'action', 'data', 'xlink:href', 'hx-get', 'hx-post'].includes(n)
               && /^\\s*(javascript|data|vbscript)\\s*:/i.test(v.replace(/[\\t\\n\\r]/g, '')))
        say('url ' + n, el);
    }
  }
  for (const s of document.querySelectorAll('script')) {
    const inert = ['application/json', 'application/ld+json'].includes((s.type || '').toLowerCase());
    if (!inert && /xss/i.test(s.textContent)) say('script', s);
  }
  for (const s of document.querySelectorAll('style')) if (/xss/i.test(s.textContent)) say('style', s);
  return hits;
}"""
# The text a person reads: the page's text, form values, options, and the alt/title of images.
TEXT = """() => {
  const parts = [document.body ? document.body.innerText : ''];
  for (const el of document.querySelectorAll('input, textarea')) parts.push(el.value || '');
  for (const el of document.querySelectorAll('option')) parts.push(el.textContent || '');
  for (const el of document.querySelectorAll('img[alt], [title]')) parts.push(el.alt || '', el.title || '');
  return parts.join('\\n');
}"""
# Open every action form a person could open without sending anything: hidden panels, <details>, disclosures.
OPEN_FORMS = """() => {
  let opened = 0;
  for (const d of document.querySelectorAll('details:not([open])')) { d.open = true; opened++; }
  for (const el of document.querySelectorAll('[hidden]')) { el.hidden = false; opened++; }
  for (const el of document.querySelectorAll('button[type="button"][aria-expanded="false"]')) {
    if (!['hx-post', 'hx-put', 'hx-patch', 'hx-delete'].some(a => el.hasAttribute(a))) { el.click(); opened++; }
  }
  for (const d of document.querySelectorAll('dialog:not([open])')) { try { d.show(); opened++; } catch (e) {} }
  return opened;
}"""


@dataclass
class World:
    fields: dict[str, list[Payload]] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)  # case numbers, in order
    case_payloads: dict[str, dict[str, Payload]] = field(default_factory=dict)  # number: {field: payload}
    waiting: list[str] = field(default_factory=list)  # registered cases (batch dispatch), then a reported one
    sessions: dict[str, str] = field(default_factory=dict)  # username: session cookie
    person: int | None = None  # a hostile-named person's id (the person page)
    leaf: int | None = None  # the demo leaf grid's id (its page in the grids administration)


def build_world(png: bytes) -> World:
    """The demo county with every free-text field holding payloads."""
    seed_demo(DemoConfig.small())
    world = World()
    # The formulas first: they land in the descriptions, which the export holds.
    pool = [p for p in PAYLOADS if p.formula] + [p for p in PAYLOADS if not p.formula]
    for i, name in enumerate(LONG_FIELDS):
        world.fields[name] = spread(i, pool, CASES)
    for i, (name, limit, no_slash) in enumerate(SHORT_FIELDS):
        world.fields[name] = spread(i, fitting(limit, no_slash=no_slash))

    # Names of people, grids, departments and items (the administration's data).
    for username, p in zip(NAMED_STAFF, world.fields["full_name"], strict=True):
        User.objects.filter(username=username).update(full_name=p.text)
    world.person = User.objects.get(username="handler").pk
    world.leaf = Grid.objects.current().get(code=LEAF).pk
    town_grids = list(
        Grid.objects.current()
        .filter(code__startswith=TOWN)
        .order_by("level", "code")
        .values_list("code", flat=True)
    )
    for code, p in zip(town_grids, world.fields["grid_name"], strict=False):
        Grid.objects.filter(code=code).update(name=p.text)
    others = Department.objects.exclude(code__in=["ZF", "HW"]).order_by("code").values_list("code", flat=True)
    departments = ["ZF", "HW", *others[:8]]
    for code, p in zip(departments, world.fields["department_name"], strict=True):
        Department.objects.filter(code=code).update(name=p.text, name_en=p.text)
    more = (
        Item.objects.filter(active=True)
        .exclude(code="011001")
        .order_by("code")
        .values_list("code", flat=True)
    )
    items = ["011001", *more[:9]]
    for code, p in zip(items, world.fields["item_name"], strict=True):
        Item.objects.filter(code=code).update(name=p.text, name_en=p.text)
    from gridgov.catalog.selectors import invalidate_cache
    from gridgov.grids import locator

    invalidate_cache()
    locator.invalidate()

    users = {u.username: u for u in User.objects.filter(username__in=[*NAMED_STAFF, "resident"])}
    op, handler, hw, leader = users["town_operator"], users["handler"], users["dh-hw-1"], users["leader"]
    leaves = [c for c in town_grids if len(c) == 15]
    for i in range(CASES):
        mine = {name: world.fields[name][i] for name in LONG_FIELDS}
        by_phone = i < 7
        short = i % 10
        mine["file_name"] = world.fields["file_name"][short]
        if by_phone:
            mine["reporter_name"] = world.fields["reporter_name"][short]
        report = Report(
            channel="hotline" if by_phone else "resident_app",
            description=mine["description"].text,
            address=mine["address"].text,
            item=items[i % len(items)],
            grid=LEAF if i % 2 == 0 else leaves[i % len(leaves)],
            reporter_name=mine["reporter_name"].text if by_phone else "",
            reporter_phone="13912345678" if by_phone else "",
            files=[(mine["file_name"].text + ".png", png)],
            force=True,
        )
        n = do_report(report, actor=op if by_phone else users["resident"]).case.number
        do_transition(n, "accept", Step(), actor=op)
        do_transition(n, "dispatch", Step(unit="ZF", assisting=["HW"]), actor=op)
        do_transition(n, "return", Step(reason=mine["return_reason"].text), actor=handler)
        do_transition(n, "dispatch", Step(unit="ZF", assisting=["HW"]), actor=op)
        do_transition(n, "sign", Step(), actor=handler)
        do_transition(n, "assist_sign", Step(), actor=hw)
        do_transition(n, "comment", Step(note=mine["comment_public"].text, public=True), actor=handler)
        do_transition(n, "comment", Step(note=mine["comment_internal"].text, public=False), actor=op)
        do_transition(
            n, "supervise", Step(card="yellow", reason=mine["supervision_reason"].text), actor=leader
        )
        notice = Supervision.objects.filter(case__number=n).latest("id")
        do_transition(
            n, "comment", Step(note=mine["supervision_reply"].text, supervision=notice.pk), actor=handler
        )
        if i % 2 == 0:  # handled: verify forms for grid staff and operators
            files = [(world.fields["file_name"][(short + 5) % 10].text + ".png", png)]
            do_transition(n, "feedback", Step(note=mine["feedback_note"].text, files=files), actor=handler)
        else:  # handling: the handler's own forms (feedback, return, extension)
            do_transition(n, "assist_feedback", Step(note=mine["feedback_note"].text), actor=hw)
        world.cases.append(n)
        world.case_payloads[n] = mine

    # Cases waiting at the town's desk, for batch dispatch and the merge tool: three registered, one reported
    # (their texts are payloads of the other fields, so these pages meet them too).
    for k in range(4):
        n = do_report(
            Report(
                channel="hotline",
                description=world.fields[LONG_FIELDS[2 + k]][k].text,
                address=world.fields[LONG_FIELDS[3 + k]][k + 1].text,
                item=items[k],
                grid=LEAF,
                reporter_name=world.fields["reporter_name"][k].text,
                reporter_phone="13912345678",
                force=True,
            ),
            actor=op,
        ).case.number
        if k < 3:
            do_transition(n, "accept", Step(), actor=op)
        world.waiting.append(n)

    for username in (
        "operator",
        "town_operator",
        "handler",
        "specialist",
        "leader",
        "l1head",
        "resident",
        "sysadmin",
        "secadmin",
    ):
        client = Client()
        client.force_login(User.objects.get(username=username))
        world.sessions[username] = client.cookies["sessionid"].value
    return world


def url(name: str, *args: Any, query: str = "") -> str | None:
    try:
        return reverse(name, args=args) + query
    except NoReverseMatch:
        return None


@dataclass
class Visit:
    who: str
    url: str
    kind: str  # which page: home, list, case, inbox, …
    pending: bool = False
    injected: list[str] = field(default_factory=list)
    text: str = ""


def plan(world: World) -> list[tuple[str, str, str]]:
    """(username, url, kind) of every visit."""
    search = f"?q={quote('XSS')}"
    visits: list[tuple[str, str | None, str]] = []
    for who in ("operator", "town_operator", "handler", "specialist", "leader", "resident"):
        visits += [
            (who, url("home"), "home"),
            (who, url("cases:list", query=search), "list"),
            (who, url("cases:inbox"), "inbox"),
        ]
    by_phone = [n for i, n in enumerate(world.cases) if i < 7]
    mine = [n for i, n in enumerate(world.cases) if i >= 7]
    at_leaf = [n for i, n in enumerate(world.cases) if i % 2 == 0]
    visits += [("town_operator", url("cases:detail", n), "case") for n in world.cases]
    visits += [("handler", url("cases:detail", n), "case") for n in world.cases[1::2]]
    visits += [("specialist", url("cases:detail", n), "case") for n in at_leaf[:3]]
    visits += [("leader", url("cases:detail", n), "case") for n in by_phone[:3]]
    visits += [("resident", url("cases:detail", n), "case") for n in mine[:3]]
    visits += [
        ("leader", url("cases:overview"), "overview"),
        ("l1head", url("cases:overview"), "overview"),
        ("town_operator", url("cases:overview"), "overview"),
        (
            "town_operator",
            url("cases:batch_dispatch", query="?" + "&".join(f"numbers={n}" for n in world.waiting)),
            "batch_dispatch",
        ),
        (
            "town_operator",
            url("cases:merge", query=f"?number={world.waiting[3]}&into={world.waiting[0]}"),
            "merge",
        ),
        ("town_operator", url("cases:merge", query=f"?number={world.waiting[3]}"), "merge"),
        ("town_operator", url("cases:new"), "intake"),
        ("town_operator", url("grids:map"), "map"),
        ("specialist", url("grids:map"), "map"),
        ("sysadmin", url("grids:manage"), "grids"),
        ("sysadmin", url("grids:manage", query=search), "grids"),
        ("sysadmin", url("grids:manage", query=f"?grid={world.leaf}"), "grids"),
        ("sysadmin", url("catalog:item_edit", "011001"), "items"),
        ("secadmin", url("accounts:person", world.person), "people"),
        ("sysadmin", url("catalog:items"), "items"),
        ("sysadmin", url("catalog:items", query=search), "items"),
        ("secadmin", url("accounts:people"), "people"),
        ("secadmin", url("accounts:people", query=search), "people"),
    ]
    return [(who, u, kind) for who, u, kind in visits if u is not None]


# Where each field's payloads show (at least one of its tags on one of these kinds of page, once built).
SHOWN_ON = {
    "reporter_name": {"case"},  # in full once the operator asks (masked before)
    "description": {"list", "case", "home"},
    "address": {"case"},
    "comment_public": {"case"},
    "comment_internal": {"case"},
    "supervision_reason": {"case"},
    "supervision_reply": {"case"},
    "return_reason": {"case"},
    "feedback_note": {"case"},
    "full_name": {"home", "case", "people"},
    "grid_name": {"case", "list", "grids", "overview"},
    "department_name": {"case", "list"},
    "item_name": {"case", "list", "items", "intake"},
    "file_name": {"case"},
}


def test_payloads_render_inert_everywhere(live_server, working_hours, png_bytes, settings):
    world = build_world(png_bytes())
    visits_planned = plan(world)
    export_url = url("cases:export", query="?q=XSS")

    calls: list[tuple[str, int]] = []
    dialogs: list[str] = []
    visits: list[Visit] = []
    errors: list[str] = []
    export: bytes | None = None
    base = live_server.url
    with chromium() as browser:
        pages: dict[str, Any] = {}

        def page_of(who: str) -> Any:
            if who not in pages:
                page, _errors = new_page(browser, locale="en")
                context = page.context
                context.add_cookies(
                    [
                        {
                            "name": "sessionid",
                            "value": world.sessions.get(who) or session_of(who),
                            "url": base,
                        },
                        {"name": "django_language", "value": "en", "url": base},
                    ]
                )
                current = {"url": ""}
                context.expose_binding("__xssHit", lambda source, n: calls.append((current["url"], int(n))))
                context.add_init_script("window.__xss = n => { window.__xssHit(n); };")

                def on_dialog(dialog: Any, current: dict[str, str] = current) -> None:
                    dialogs.append(f"{current['url']}: {dialog.type} {dialog.message}")
                    dialog.dismiss()

                page.on("dialog", on_dialog)
                pages[who] = (page, current)
            return pages[who]

        # The harness can fail: a payload that runs, and markup that came from data, are both seen.
        page, current = page_of("town_operator")
        current["url"] = "control"
        page.goto(base + url("accounts:login"))
        page.set_content("<p>control</p><img src=x onerror=__xss(999)><a href='javascript:__xss(998)'>x</a>")
        page.wait_for_timeout(200)
        control = page.evaluate(INJECTED)
        assert ("control", 999) in calls and len(control) == 3, (calls, control)
        calls.clear()

        shot: set[str] = set()  # one screenshot of each kind of page, for a person to look at
        for who, target, kind in visits_planned:
            page, current = page_of(who)
            current["url"] = f"{who} {target}"
            response = page.goto(base + target)
            page.wait_for_load_state("networkidle")
            status = response.status if response else 0
            body = page.content()
            pending = status == 200 and re.search(r"<body>\s*pending\s*</body>", body) is not None
            if status != 200:
                errors.append(f"{who} {target}: answers {status}")
            if kind == "intake" and not pending and page.locator("#item-q").count():
                # The item search's results and the triage suggestions come in through htmx.
                with page.expect_response(lambda r: "/items/" in r.url):
                    page.fill("#item-q", "XSS")
                page.wait_for_timeout(300)
                description = page.locator("textarea[name=description]")
                if description.count():
                    description.fill(world.fields["description"][7].text)
                    with page.expect_response(lambda r: "/items/" in r.url):
                        description.dispatch_event("change")
                page.wait_for_load_state("networkidle")
                shoot(page, "xss-intake-items")
            unmask = page.locator("form.unmask button")
            if kind == "case" and not pending and unmask.count():
                # The operator reads the reporter in full (htmx swaps the reporter box): the name is data too.
                with page.expect_response(lambda r: "/reporter/" in r.url):
                    unmask.first.click()
                page.wait_for_selector("#reporter-box .reporter-name")
            if not pending:
                page.evaluate(OPEN_FORMS)
                page.wait_for_timeout(150)  # let an image error or an htmx load fire
            visit = Visit(who, target, kind, pending=pending)
            visit.injected = page.evaluate(INJECTED)
            visit.text = page.evaluate(TEXT)
            visits.append(visit)
            if not pending and kind not in shot and kind != "intake":
                shot.add(kind)
                shoot(page, f"xss-{kind}", full_page=kind == "case")
        if export_url:
            page, current = page_of("town_operator")
            response = page.request.get(base + export_url)
            if response.ok and response.headers.get("content-type", "").startswith("application/vnd"):
                export = response.body()

    problems = errors + [f"payload {n} ran on {where}" for where, n in calls]
    problems += [f"dialog on {d}" for d in dialogs]
    for v in visits:
        problems += [f"{v.who} {v.url}: injected {hit}" for hit in v.injected]
    # The payloads show as text. A case page shows its description, whole.
    normal = lambda s: " ".join(s.split())  # noqa: E731
    for v in visits:
        if v.kind == "case" and not v.pending:
            number = v.url.rstrip("/").rsplit("/", 1)[-1]
            description = world.case_payloads[number]["description"]
            if normal(description.text) not in normal(v.text):
                problems.append(f"{v.who} {v.url}: the description {description.tag} is not shown as text")
    built = {v.kind for v in visits if not v.pending}
    for name, kinds in SHOWN_ON.items():
        if not kinds & built:
            continue
        tags = {p.tag for p in world.fields[name]}
        seen = "\n".join(v.text for v in visits if v.kind in kinds and not v.pending)
        if not any(tag in seen for tag in tags):
            problems.append(f"no {name} payload shows as text on any {sorted(kinds & built)} page")
    assert not problems, "\n".join(problems)

    if export is not None:
        check_export(export, world)


def session_of(who: str) -> str:  # pragma: no cover - every visitor has a session made before the browser
    raise AssertionError(f"no session for {who}")


def check_export(data: bytes, world: World) -> None:
    """No cell of the export that holds data is a formula; one that starts like a formula (=, +, -, @, tab,
    CR) is a string with Excel's quote prefix (the leading apostrophe: shown as text, even once edited)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    found, prefixed, bad = 0, 0, []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f":
                    bad.append(f"{sheet.title}!{cell.coordinate} is a formula: {value!r}")
                    continue
                if isinstance(value, str) and "XSS" in value:
                    found += 1
                    if value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")):
                        if cell.data_type == "s" and cell.quotePrefix:
                            prefixed += 1
                        else:
                            bad.append(f"{sheet.title}!{cell.coordinate} starts like a formula: {value!r}")
    assert not bad, "\n".join(bad)
    assert found, "the export holds none of the payloads the search found"
    formulas = sum(1 for p in world.fields["description"] if p.formula)
    assert prefixed >= formulas, f"{prefixed} quote-prefixed cells, {formulas} descriptions that are formulas"
