"""Refusals of the services, one shape for every app: an HTTP status for the API, a stable `code`, a translated
message, and `field` naming the input at fault. A refusal changes nothing. The API answers every `Refusal` as
`{code, message, field}` with its status (gridgov/api.py)."""

from __future__ import annotations

from typing import Any


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
