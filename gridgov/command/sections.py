"""The command centre's pages under one link of the navigation (the top bar holds no more), and the tabs between
them: emergencies, hotspots, the video wall, and the big-screen wall — each for those it is open to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from gridgov.accounts.scoping import is_county_wide
from gridgov.cases.overview import overseeing_roles
from gridgov.core.nav import Link

from .cameras import sees_cameras
from .incidents_scoping import reads_incidents

Section = tuple[str, str, str]  # (key, url, label)


def sees_wall(user: Any) -> bool:
    """The wall is for those who oversee a subtree (`overview.roots`), without reading the grids."""
    return is_county_wide(user) or bool(overseeing_roles(user))


def sections(user: Any) -> list[Section]:
    if not user.is_authenticated:
        return []
    found: list[Section] = []
    if reads_incidents(user):
        found.append(("incidents", reverse("command:incidents"), _("Emergencies")))
        found.append(("hotspots", reverse("command:hotspots"), _("Hotspots")))
    if sees_cameras(user):
        found.append(("video", reverse("command:video_wall"), _("Video")))
    if sees_wall(user):
        found.append(("wall", reverse("command:wall"), _("Command wall")))
    return found


def nav_link(request: HttpRequest) -> Link | None:
    found = sections(request.user)
    if not found:
        return None
    return (found[0][1], _("Command centre"), "/command/")
