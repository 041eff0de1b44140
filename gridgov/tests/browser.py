"""What the browser tests share: Debian's Chromium through Playwright, signing in as a demo user, and
screenshots saved to test-artifacts/ (kept by CI, looked at by people, copied into the guides in docs/).

Do the database work before `chromium()` starts: Playwright's sync API runs an event loop in the test's
thread, and Django refuses ORM calls from a thread with a running loop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(settings.PROJECT_DIR) / "test-artifacts"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 740}

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Chromium: apt-get install chromium"),
]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(
    browser: Any, viewport: dict[str, int] = DESKTOP, locale: str = "zh-CN"
) -> tuple[Any, list[str]]:
    """A page in its own context (own cookies), and the list its script errors are collected into."""
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path
