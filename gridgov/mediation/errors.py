"""Refusals of the mediation services: the project's error classes (one answer shape for the whole API), and the
mediation records that do not exist for the caller (404: out of scope answers as not found)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gridgov.cases.errors import CaseError, Conflict, Invalid, NotAllowed

__all__ = [
    "CommitteeNotFound",
    "Conflict",
    "DisputeNotFound",
    "FollowUpNotFound",
    "Invalid",
    "MediatorNotFound",
    "NotAllowed",
    "PartyNotFound",
    "WrongState",
]


class DisputeNotFound(CaseError):
    """No such dispute, or one the caller may not see: the same answer (404)."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such dispute."))


class PartyNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such party."))


class FollowUpNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such follow-up visit."))


class CommitteeNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such mediation committee."))


class MediatorNotFound(CaseError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such mediator."))


class WrongState(Conflict):
    """The step does not apply to the dispute in its current state (409): a Conflict, with its own code."""

    code = "wrong_state"
