"""The workbench's navigation: each user sees links only to what their roles and duties open (never a link to
a page that would refuse them), and the count of unread notifications."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role
from gridgov.core.nav import provided_links
from gridgov.core.scoping import holds_duty
from gridgov.registry.scoping import reads_registry

from .models import Notification
from .scoping import held_roles, is_county_wide, staff_roles

OVERVIEW_ROLES = frozenset({Role.OPERATOR, Role.GRID_HEAD_L1, Role.GRID_HEAD_L2, Role.LEADER})


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    roles = {h.role for h in held_roles(user)}
    path = request.path
    # Each link: its URL, its label, and the path prefix of the pages it stands for.
    links: list[tuple[str, Any, str]] = [(reverse("home"), _("Workbench"), "")]
    if staff_roles(user) or Role.RESIDENT in roles:
        links.append((reverse("cases:list"), _("Cases"), ""))
    if Role.OPERATOR in roles:
        links.append((reverse("cases:new"), _("New report"), ""))
    if roles & OVERVIEW_ROLES or is_county_wide(user):
        links.append((reverse("cases:overview"), _("Overview"), ""))
    if staff_roles(user):
        links.append((reverse("grids:map"), _("Grid map"), ""))
    if reads_registry(user):
        links.append((reverse("registry:home"), _("Registry"), ""))
    links.extend(provided_links(request))
    if holds_duty(user, ("system",)):
        links.append((reverse("grids:manage"), _("Grids"), ""))
        links.append((reverse("catalog:items"), _("Responsibility list"), "/catalog/"))
    if holds_duty(user, ("security",)):
        links.append((reverse("accounts:people"), _("People and roles"), ""))
    # The current link is the one whose prefix matches the path the longest (/cases/new/ is not /cases/).
    matches = [len(prefix or url) for url, _label, prefix in links if path.startswith(prefix or url)]
    best = max(matches, default=0)
    nav = [
        {"url": url, "label": label, "current": len(prefix or url) == best and path.startswith(prefix or url)}
        for url, label, prefix in links
    ]
    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    return {"nav": nav, "unread": unread}
