"""Refusals of the services, one shape for every app: an HTTP status for the API, a stable `code`, a translated
message, and `field` naming the input at fault. A refusal changes nothing. The API answers every `Refusal` as
`{code, message, field}` with its status (gridgov/api.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class Refusal(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str = "", data: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.data = data or {}

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(Refusal):
    """The user sees the record but may not take this action on it (403)."""

    status = 403
    code = "not_allowed"


class Conflict(Refusal):
    """Somebody changed the record meanwhile; read it again (409)."""

    status = 409
    code = "conflict"


class Invalid(Refusal):
    """Bad input, naming the field (422)."""

    status = 422
    code = "invalid"


def clean_text(value: Any, field: str, limit: int, *, label: Any, required: bool = False) -> str:
    """Free text from a client, trimmed, or `Invalid` naming the field by its translated `label`: missing when
    required, longer than `limit`, or holding a NUL (PostgreSQL text cannot store one)."""
    text = str(value or "").strip()
    if required and not text:
        raise Invalid(_("%(field)s is required.") % {"field": label}, field=field)
    if "\x00" in text:
        raise Invalid(_("%(field)s holds a character that cannot be stored.") % {"field": label}, field=field)
    if len(text) > limit:
        raise Invalid(
            _("%(field)s is too long: at most %(limit)d characters.") % {"field": label, "limit": limit},
            field=field,
        )
    return text
