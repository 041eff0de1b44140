"""Refusals of the community services: the project's error classes (one answer shape for the whole API), and
"not found" for each record — what lies outside the caller's scope answers the same (404)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gridgov.cases.errors import CaseError, Conflict, Invalid, NotAllowed

__all__ = [
    "ActivityNotFound",
    "Conflict",
    "Invalid",
    "MemberNotFound",
    "NotAllowed",
    "SignUpNotFound",
    "TaskNotFound",
    "TeamNotFound",
]


class _NotFound(CaseError):
    status = 404
    code = "not_found"


class TeamNotFound(_NotFound):
    def __init__(self) -> None:
        super().__init__(_("No such volunteer team."))


class MemberNotFound(_NotFound):
    def __init__(self) -> None:
        super().__init__(_("No such team member."))


class ActivityNotFound(_NotFound):
    def __init__(self) -> None:
        super().__init__(_("No such activity."))


class SignUpNotFound(_NotFound):
    def __init__(self) -> None:
        super().__init__(_("No such sign-up."))


class TaskNotFound(_NotFound):
    def __init__(self) -> None:
        super().__init__(_("No such team task."))
