"""Refusals of the case engine. Each carries an HTTP status for the API and a translated message; `field`
names the input at fault. A refusal changes nothing."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class CaseError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str = "", data: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.data = data or {}

    def __str__(self) -> str:
        return str(self.message)


class CaseNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such case."))


class NotAllowed(CaseError):
    """The user sees the case but may not take this action on it (403)."""

    status = 403
    code = "not_allowed"


class WrongState(CaseError):
    """The action does not apply to the case in its current state (409)."""

    status = 409
    code = "wrong_state"


class Conflict(CaseError):
    """Somebody changed the case meanwhile; read it again (409)."""

    status = 409
    code = "conflict"


class Duplicate(CaseError):
    """The same thing was already reported nearby: offered instead of a new case (409, with candidates)."""

    status = 409
    code = "already_reported"


class Invalid(CaseError):
    """Bad input, naming the field (422)."""

    status = 422
    code = "invalid"
