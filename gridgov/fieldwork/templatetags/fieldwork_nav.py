"""The main navigation's link to fieldwork. The navigation is built by the case engine's context processor,
which knows no fieldwork (cases is the engine; fieldwork calls into it, never the reverse): the base template
asks this tag for the link instead. No query: the user's roles are read once per request already."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from gridgov.fieldwork.scoping import reads_fieldwork

register = template.Library()


@register.simple_tag(takes_context=True)
def fieldwork_link(context: dict[str, Any]) -> dict[str, Any] | None:
    """The link (url, label, whether it is the current page) for a user who works with fieldwork; else None."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated or not reads_fieldwork(user):
        return None
    url = reverse("fieldwork:home")
    return {"url": url, "label": _("Fieldwork"), "current": request.path.startswith(url)}
