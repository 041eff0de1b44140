"""Enumerations of the assessment: the kinds of object ranked, reasons for an exclusion, appeal states, marks."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    TOWN = "town", pgettext_lazy("assessment", "towns")
    VILLAGE = "village", pgettext_lazy("assessment", "villages")
    GRID = "grid", pgettext_lazy("assessment", "grids")
    DEPARTMENT = "department", pgettext_lazy("assessment", "departments")
    WORKER = "worker", pgettext_lazy("assessment", "workers")


class ExclusionReason(models.TextChoices):
    UNREASONABLE = "unreasonable", _("unreasonable complaint (无理诉求)")
    REPEATED = "repeated", _("repeated complaint (重复投诉)")
    APPEAL = "appeal", _("appeal accepted (申诉成立)")


class AppealState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("appeal", "pending")
    ACCEPTED = "accepted", pgettext_lazy("appeal", "accepted")
    REJECTED = "rejected", pgettext_lazy("appeal", "rejected")


class Mark(models.TextChoices):
    RED = "red", pgettext_lazy("assessment mark", "red")
    YELLOW = "yellow", pgettext_lazy("assessment mark", "yellow")
    GREEN = "green", pgettext_lazy("assessment mark", "green")
