"""Refusals of the fieldwork services: the case engine's error classes (one answer shape for the whole API)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gridgov.cases.errors import CaseError, Conflict, Invalid, NotAllowed

__all__ = ["Conflict", "Invalid", "NotAllowed", "PatrolNotFound", "TaskNotFound", "VisitNotFound"]


class PatrolNotFound(CaseError):
    """No such patrol, or not the caller's: the same answer (404)."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such patrol."))


class VisitNotFound(CaseError):
    """No such visit, or one the caller may not see: the same answer (404)."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such visit."))


class TaskNotFound(CaseError):
    """No such inspection task, or one the caller may not see: the same answer (404)."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such inspection task."))
