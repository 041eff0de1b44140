from typing import Any

from django import template

from gridgov.command.sections import sections

register = template.Library()


@register.inclusion_tag("command/tabs.html", takes_context=True)
def command_tabs(context: dict[str, Any], current: str) -> dict[str, Any]:
    """The tabs between the command centre's pages open to the user; `current` is this page's key."""
    return {"tabs": sections(context["request"].user), "current": current}
