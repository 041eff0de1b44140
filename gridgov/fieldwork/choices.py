"""Fieldwork's enumerations: why a worker visited, and where an inspection stands."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitPurpose(models.TextChoices):
    """Why the worker went (走访): the reasons a county's visit register (走访台账) counts separately."""

    ROUTINE = "routine", _("routine visit")
    # 关爱帮扶: help for the cared-for key groups (the elderly living alone, people with a disability…).
    CARE = "care", _("care and support")
    CHECK = "check", _("safety check")
    DISPUTE = "dispute", _("dispute screening")
    POLICY = "policy", _("policy outreach")
    OTHER = "other", _("other")


class TaskState(models.TextChoices):
    """An inspection task: open until the worker checks the component; failed when a check was not ok (a case
    was opened for it)."""

    OPEN = "open", _("to inspect")
    DONE = "done", _("inspected, in order")
    FAILED = "failed", _("inspected, found faults")


# An inspection was made either way: the next one is due a period after it.
INSPECTED_STATES = frozenset({TaskState.DONE, TaskState.FAILED})


class Answer(models.TextChoices):
    """The answer to one check of a checklist."""

    OK = "ok", _("ok")
    NOT_OK = "not_ok", _("not ok")
