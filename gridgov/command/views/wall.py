"""The command-centre wall (指挥大屏): a big-screen page (1920×1080 and larger LED walls) of one grid's
subtree: the map of its children coloured by open and overdue load, the open cases as points and an H3
hexagon heat layer, live counters, 30-day trends, rankings and the live feed (server-sent events,
gridgov/command/sse.py). Clicking a child grid drills down (banner → town → village → grid); the URL carries
the grid's code. `?animation=0` turns every animation off (the browser tests' screenshots).

The page is a shell: `static/command/wall.js` reads the wall API (/api/command/wall/…) and the grid API's
polygons; every word it shows comes translated from here (#wall-config)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from gridgov.cases import overview as ov
from gridgov.cases.choices import Action, State
from gridgov.core.nav import provide_link

from .. import wall_selectors as sel
from ..sections import nav_link

LEVEL_NAMES = {0: "banner", 1: "town", 2: "village", 3: "grid"}


def _level_label(level: int) -> str:
    return {
        0: pgettext("wall", "county"),
        1: pgettext("wall", "town"),
        2: pgettext("wall", "village"),
        3: pgettext("wall", "grid"),
    }.get(level, "")


def _sse(request: HttpRequest, code: str) -> dict[str, Any]:
    """Where the page finds the live feed: the site's own /sse/ (nginx in production), or, under `gridgov
    serve`, the same host on the feed server's port (GRIDGOV_SSE_PORT, set by `serve`)."""
    return {"port": os.environ.get("GRIDGOV_SSE_PORT", ""), "path": "/sse/live/", "grid": code}


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("grid", "").strip()[:32]
    scope = sel.wall_scope(request.user, code)
    grid = scope.grid
    trail = ov.trail(grid, scope.tops)
    lang_en = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")
    config = {
        "api": reverse("command:wall").replace("/command/wall/", "/api/command/wall/"),
        "page": reverse("command:wall"),
        "grids": reverse("api:grid_start").removesuffix("start"),
        "grid": {
            "id": grid.pk,
            "code": grid.code,
            "name": grid.name,
            "level": grid.level,
            "parent": grid.parent_id if grid.level == 3 else None,
            "bbox": None
            if grid.min_lon is None
            else [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat],
        },
        # The grid itself is given by its code in the URL only when it is not the user's top one.
        "code": code,
        "animation": request.GET.get("animation", "1") != "0",
        "sse": _sse(request, code),
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "locale": "en" if lang_en else "zh-CN",
        "timeZone": settings.TIME_ZONE,
        # English labels carry the Chinese term in brackets ("report (上报)"): the wall shows the short form.
        "states": {s.value: str(s.label).split(" (")[0] for s in State},
        "actions": {a.value: str(a.label).split(" (")[0] for a in Action},
        "text": {
            "open": pgettext("wall", "Open"),
            "overdue": pgettext("wall", "Overdue"),
            "reported": pgettext("wall", "Reported"),
            "closed": pgettext("wall", "Closed"),
            "noEvents": _("Waiting for events…"),
            "live": pgettext("wall", "Live"),
            "offline": _("Reconnecting…"),
            "loadFailed": _("The wall's data could not be loaded: retrying."),
            "none": pgettext("wall", "None"),
        },
    }
    return render(
        request,
        "command/wall.html",
        {
            "config": config,
            "grid": grid,
            "trail": [(g, _level_label(g.level)) for g in trail],
            "level_label": _level_label(grid.level),
            "child_label": _level_label(min(grid.level + 1, 3)),
            "animation": config["animation"],
        },
    )


urlpatterns: list[URLPattern] = [path("wall/", wall, name="wall")]


def register() -> None:
    """Called from CommandConfig.ready(): the command centre's one link of the navigation."""
    provide_link(nav_link)
