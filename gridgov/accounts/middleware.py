from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    """Chinese unless the person chose otherwise: the language cookie, which sign-in sets to the user's own
    setting and the language button changes (for the user too).

    The browser's Accept-Language is ignored on purpose: office PCs in the county often run English-language
    browsers, and the product's default is zh-Hans.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supported = {code for code, _ in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in supported:
            chosen = settings.LANGUAGE_CODE
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", chosen)
        return response


RENEW_SECONDS = 60
# Sent by a page's own polling; such a request leaves the idle timeout running.
BACKGROUND_HEADER = "X-Gridgov-Background"


class IdleSessionMiddleware:
    """Sessions end after SESSION_COOKIE_AGE idle (等保: 30 minutes). Renewing the session on every request
    would write the session table on every request, so every API call would take the database's write lock;
    renewing when the last renewal is a minute old keeps the idle timeout (to the minute) at one write a
    minute per user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        # A page's own polling (live queues) is not the person at the screen: it must not keep an unattended
        # screen signed in.
        background = request.headers.get(BACKGROUND_HEADER) == "1"
        if session.session_key is not None and not background:
            now = int(time.time())
            if now - int(session.get(RENEWED, 0)) >= RENEW_SECONDS:
                session[RENEWED] = now
        return self.get_response(request)


RENEWED = "_gridgov_renewed"


def mark_renewed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A fresh sign-in is a renewal."""
    request.session[RENEWED] = int(time.time())
