"""Refusals of the case engine. Each carries an HTTP status for the API and a translated message; `field`
names the input at fault. A refusal changes nothing."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gridgov.core.errors import Conflict, Invalid, NotAllowed, Refusal

# The case engine's refusals are the project's (core.errors), with the engine's own kinds below.
CaseError = Refusal

__all__ = ["CaseError", "CaseNotFound", "Conflict", "Duplicate", "Invalid", "NotAllowed", "WrongState"]


class CaseNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such case."))


class WrongState(CaseError):
    """The action does not apply to the case in its current state (409)."""

    status = 409
    code = "wrong_state"


class Duplicate(CaseError):
    """The same thing was already reported nearby: offered instead of a new case (409, with candidates)."""

    status = 409
    code = "already_reported"
