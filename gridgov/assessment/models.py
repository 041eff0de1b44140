"""The assessment's configuration (考核配置): the weights of the composite score per kind of object, the
thresholds of its red / yellow / green marks, the cases excluded from assessment, and the appeals of units
against a case's count. Every change goes through `services.py` and leaves an audit record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import AppealState, ExclusionReason, Kind

USER = settings.AUTH_USER_MODEL


class Weight(models.Model):
    """The weight of one indicator in the composite score (综合指标值) of one kind of object."""

    kind = models.CharField(_("kind of object"), max_length=12, choices=Kind.choices)
    indicator = models.CharField(_("indicator"), max_length=24)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    updated_by = models.ForeignKey(
        USER, verbose_name=_("updated by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("indicator weight")
        verbose_name_plural = _("indicator weights")
        constraints = [models.UniqueConstraint(fields=["kind", "indicator"], name="assessment_one_weight")]

    def __str__(self) -> str:
        return f"{self.kind} {self.indicator} {self.weight}"


class Threshold(models.Model):
    """Below `red_below` a composite score is red, below `yellow_below` yellow, else green."""

    kind = models.CharField(_("kind of object"), max_length=12, choices=Kind.choices, unique=True)
    red_below = models.DecimalField(_("red below"), max_digits=5, decimal_places=2)
    yellow_below = models.DecimalField(_("yellow below"), max_digits=5, decimal_places=2)
    updated_by = models.ForeignKey(
        USER, verbose_name=_("updated by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("warning threshold")
        verbose_name_plural = _("warning thresholds")

    def __str__(self) -> str:
        return f"{self.kind} <{self.red_below} <{self.yellow_below}"


class Appeal(models.Model):
    """A unit asks that a case not count against it (申诉): the approver accepts (the case is excluded) or
    rejects it."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    reason = models.TextField(_("reason"))
    state = models.CharField(
        _("state"), max_length=10, choices=AppealState.choices, default=AppealState.PENDING
    )
    filed_by = models.ForeignKey(USER, verbose_name=_("filed by"), on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(_("filed at"))
    decided_by = models.ForeignKey(
        USER, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="assessment_one_pending_appeal"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.state}"


class Exclusion(models.Model):
    """A case left out of every indicator (不纳入考核): an unreasonable or repeated complaint, or an accepted
    appeal. Revoking it (active = False) counts the case again; the row stays as history."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    reason_kind = models.CharField(_("kind of reason"), max_length=12, choices=ExclusionReason.choices)
    reason = models.TextField(_("reason"))
    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("in force"), default=True)
    by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("time"))
    revoked_by = models.ForeignKey(
        USER, verbose_name=_("revoked by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exclusion")
        verbose_name_plural = _("exclusions")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(active=True), name="assessment_one_active_exclusion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.reason_kind}"
