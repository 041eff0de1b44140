"""The weight of the phone app: the JS and CSS a resident's phone downloads on the first visit to /m/, gzipped
(level 6), must stay under 300 KB — cheap phones on weak signal. Counted twice: what the first screen loads,
and everything the service worker keeps on that first visit (Leaflet included), which a phone downloads too.
A second load transfers no JS or CSS from the network: the service worker serves them.

Prints `mobile_first_load_js_css_gzip: N KB` (the first screen) and
`mobile_first_visit_with_precache_js_css_gzip: N KB` (with everything kept for offline)."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import pytest

from gridgov.tests.browser import ARGS, CHROMIUM, PHONE, needs_chromium

pytestmark = [*needs_chromium, pytest.mark.django_db(transaction=True)]

BUDGET_KB = 300


def gzipped(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6))


def is_js_or_css(response: Any) -> bool:
    kind = response.request.resource_type
    path = response.url.split("?", 1)[0]
    return kind in ("script", "stylesheet") or path.endswith((".js", ".mjs", ".css"))


def test_the_first_load_of_the_resident_app_is_under_300_kb_and_the_second_from_the_service_worker(
    live_server, small_tree
):
    base = live_server.url
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(
                viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True, service_workers="allow"
            )
            page = context.new_page()
            first: list[Any] = []
            page.on("response", lambda r: first.append(r) if is_js_or_css(r) else None)
            # The first screen a resident sees: sign-in (nobody is signed in on a new phone).
            page.goto(f"{base}/m/")
            page.wait_for_selector(".signin")
            page.wait_for_load_state("networkidle")
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.wait_for_function("navigator.serviceWorker.controller !== null")

            sizes = {r.url: gzipped(r.body()) for r in first if r.ok}
            first_load = sum(sizes.values())

            # What the service worker keeps on the same visit (and the worker's own script).
            sw = page.request.get(f"{base}/m/sw.js")
            precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", sw.text()).group(1))
            kept = dict(sizes)
            kept[f"{base}/m/sw.js"] = gzipped(sw.body())
            for path in precache:
                if path.endswith((".js", ".css")) and f"{base}{path}" not in kept:
                    kept[f"{base}{path}"] = gzipped(page.request.get(f"{base}{path}").body())
            with_precache = sum(kept.values())

            # The second load, in the same context: every JS and CSS from the service worker.
            second: list[Any] = []
            page.on("response", lambda r: second.append(r) if is_js_or_css(r) else None)
            page.reload()
            page.wait_for_selector(".signin")
            page.wait_for_load_state("networkidle")
            from_network = [r.url for r in second if not r.from_service_worker]
        finally:
            browser.close()

    print(f"mobile_first_load_js_css_gzip: {first_load / 1024:.1f} KB")
    print(f"mobile_first_visit_with_precache_js_css_gzip: {with_precache / 1024:.1f} KB")
    for url, size in sorted(kept.items(), key=lambda kv: -kv[1]):
        print(f"  {size / 1024:6.1f} KB  {url.removeprefix(base)}")
    assert first, "the first load fetched no JS or CSS"
    assert first_load < BUDGET_KB * 1024
    assert with_precache < BUDGET_KB * 1024
    assert second, "the second load used no JS or CSS"
    assert from_network == [], from_network
