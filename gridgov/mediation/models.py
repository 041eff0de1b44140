"""People's mediation (人民调解): committees tied to grids, their mediators, and the disputes they settle.

A dispute is mediated first in its grid, then by the village's committee, then by the town's (小事不出网格,
大事不出村, 矛盾不上交); what mediation cannot settle is handed over to the judicial office or a court with its
whole record. Every dispute carries its level-3 grid's ancestors (`grid_l1_id`…) for scoped reads, and the level
that handles it now (`level`) and the one that settled it (`settled_level`), which the figures count.

Personal data of parties and mediators (ID numbers, phones) is encrypted (`core.personal`), found by its blind
index and shown masked, like the registry's."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.registry.codes import Gender

from .choices import (
    OPEN_STATES,
    DisputeKind,
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Language,
    Level,
    MediatorKind,
    Outcome,
    PartyRole,
    RiskLevel,
)

USER = settings.AUTH_USER_MODEL


class Placed(models.Model):
    """A row in a grid of any level, with the grid's ancestors copied (a grid is its own ancestor at its level)."""

    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)

    class Meta:
        abstract = True

    def place_in(self, grid: object) -> None:
        """Put the row in `grid`, with its ancestors."""
        self.grid = grid  # type: ignore[attr-defined]
        self.grid_l1_id = getattr(grid, "l1_id", None)
        self.grid_l2_id = getattr(grid, "l2_id", None)
        self.grid_l3_id = getattr(grid, "l3_id", None)


class Committee(Placed):
    """A mediation committee (调解委员会) of a town, a village or a grid: the one of its grid's level."""

    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="mediation_committees"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    # The committee's office phone: not personal data.
    phone = models.CharField(_("office phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mediation committee")
        verbose_name_plural = _("mediation committees")
        ordering = ["level", "name"]
        constraints = [
            # A grid has one committee at work: the one a dispute referred up from below goes to.
            models.UniqueConstraint(fields=["grid"], condition=Q(active=True), name="committee_one_per_grid"),
        ]
        indexes = [
            models.Index(fields=["grid_l1_id", "level"], name="committee_l1"),
            models.Index(fields=["grid_l2_id", "level"], name="committee_l2"),
            models.Index(fields=["grid_l3_id", "level"], name="committee_l3"),
        ]

    def __str__(self) -> str:
        return self.name

    def place_in(self, grid: object) -> None:
        """The committee of `grid` (a town's, a village's or a grid's): its ancestors and its level."""
        super().place_in(grid)
        self.level = getattr(grid, "level", 0)

    def clean(self) -> None:
        grid = self.grid if self.grid_id else None
        if grid is not None and grid.level not in (1, 2, 3):
            raise ValidationError(
                {"grid": _("A mediation committee is a town's, a village's or a grid's (levels 1 to 3).")}
            )


class Mediator(models.Model):
    """A people's mediator (人民调解员) of a committee: who, what they know, where they mediate."""

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="mediators"
    )
    # The registry's record of the person, where known.
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A login (with the mediator role) for the phone and the workbench, where they have one.
    user = models.ForeignKey(
        USER,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediator_records",
    )
    name = models.CharField(_("full name"), max_length=50)
    kind = models.CharField(
        _("kind"), max_length=14, choices=MediatorKind.choices, default=MediatorKind.OTHER
    )
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True, editable=False)
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("contact phone"), max_length=20, blank=True, editable=False)
    # DisputeKind values they are good at, and Language values they mediate in.
    skills = models.JSONField(_("skills"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    # Where they mediate: grids of any level (a grid covers its subtree).
    areas = models.ManyToManyField(
        "grids.Grid", verbose_name=_("areas"), blank=True, related_name="mediators"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")
        ordering = ["committee", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "user"], condition=Q(user__isnull=False), name="mediator_one_per_user"
            ),
        ]
        indexes = [
            models.Index(fields=["committee", "active"], name="mediator_committee"),
            models.Index(fields=["phone_index"], name="mediator_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class DisputeCounter(models.Model):
    """The last sequence number given on a day (Asia/Shanghai): dispute numbers read aloud as `T20261126-0012`."""

    day = models.DateField(_("day"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("dispute counter")
        verbose_name_plural = _("dispute counters")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Dispute(Placed):
    number = models.CharField(_("dispute number"), max_length=20, unique=True)
    kind = models.CharField(_("kind of dispute"), max_length=12, choices=DisputeKind.choices)
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    amount = models.DecimalField(
        _("amount at stake (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    risk = models.CharField(_("risk"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW)
    # The language the parties speak: mediators who speak it are suggested first.
    language = models.CharField(
        _("language of the parties"), max_length=2, choices=Language.choices, default=Language.ZH
    )
    state = models.CharField(
        _("state"), max_length=12, choices=DisputeState.choices, default=DisputeState.RECEIVED
    )
    # Bumped by every change: the compare-and-set guard of the services.
    version = models.PositiveIntegerField(_("version"), default=1)
    # Always a level-3 grid: where the dispute arose.
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    address = models.CharField(_("where it happened"), max_length=200, blank=True)
    # The committee handling it (null until assigned) and its level: 3 grid, 2 village, 1 town.
    committee = models.ForeignKey(
        Committee,
        verbose_name=_("committee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        db_index=False,
    )
    level = models.PositiveSmallIntegerField(_("handling level"), choices=Level.choices, default=Level.GRID)
    lead_mediator = models.ForeignKey(
        Mediator,
        verbose_name=_("lead mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_disputes",
        db_index=False,
    )
    assistants = models.ManyToManyField(
        Mediator, verbose_name=_("assisting mediators"), blank=True, related_name="assisted_disputes"
    )
    # The case of the disputes module (矛盾纠纷) it came from, if any: one dispute per case.
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    received_at = models.DateTimeField(_("received on"))
    received_by = models.ForeignKey(
        USER, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Agreement or partial agreement: when, and at which level (what the figures count).
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    settled_level = models.PositiveSmallIntegerField(
        _("settled at level"), choices=Level.choices, null=True, blank=True
    )
    failed_at = models.DateTimeField(_("mediation failed"), null=True, blank=True)
    handed_to = models.CharField(_("handed over to"), max_length=20, choices=HandOverTo.choices, blank=True)
    handed_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    handover_note = models.TextField(_("hand-over note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("dispute")
        # A context keeps this apart from the case engine's "disputes" (申诉: a reporter disputing a closure).
        verbose_name_plural = pgettext_lazy("model", "disputes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(case__isnull=False), name="dispute_one_per_case"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="dispute_amount_gte_0"
            ),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=3), name="dispute_level_1_3"),
        ]
        indexes = [
            # Scoped lists: a town's, a village's, a grid's disputes, newest first, by state.
            models.Index(fields=["grid_l1_id", "state", "-id"], name="dispute_l1_state"),
            models.Index(fields=["grid_l2_id", "state", "-id"], name="dispute_l2_state"),
            models.Index(fields=["grid_l3_id", "state", "-id"], name="dispute_l3_state"),
            models.Index(fields=["grid_l1_id", "-id"], name="dispute_l1"),
            models.Index(fields=["grid_l2_id", "-id"], name="dispute_l2"),
            models.Index(fields=["grid_l3_id", "-id"], name="dispute_l3"),
            models.Index(fields=["state", "-id"], name="dispute_state"),
            # The figures of a period: received, settled, failed and handed over in it.
            models.Index(fields=["grid_l1_id", "received_at"], name="dispute_l1_received"),
            models.Index(fields=["grid_l2_id", "received_at"], name="dispute_l2_received"),
            models.Index(fields=["received_at"], name="dispute_received"),
            models.Index(
                fields=["settled_at"], condition=Q(settled_at__isnull=False), name="dispute_settled"
            ),
            models.Index(fields=["failed_at"], condition=Q(failed_at__isnull=False), name="dispute_failed"),
            models.Index(fields=["handed_at"], condition=Q(handed_at__isnull=False), name="dispute_handed"),
            # A committee's and a mediator's queues; the open load of each mediator.
            models.Index(fields=["committee", "state", "-id"], name="dispute_committee"),
            models.Index(fields=["lead_mediator", "state"], name="dispute_lead"),
            models.Index(fields=["grid_l1_id"], condition=Q(state__in=OPEN_STATES), name="dispute_open_l1"),
        ]

    def __str__(self) -> str:
        return self.number


class Party(models.Model):
    """A party to a dispute (当事人), linked to the registry's record where known."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="parties"
    )
    role = models.CharField(_("role in the dispute"), max_length=12, choices=PartyRole.choices)
    name = models.CharField(_("full name"), max_length=50)
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    id_number_enc = models.BinaryField(_("ID number (encrypted)"), null=True, blank=True, editable=False)
    id_number_index = models.CharField(
        _("ID number (blind index)"), max_length=64, blank=True, editable=False
    )
    id_number_masked = models.CharField(_("ID number"), max_length=40, blank=True, editable=False)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True, editable=False)
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("contact phone"), max_length=20, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    # Free remarks: may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["dispute", "id"]
        indexes = [
            models.Index(fields=["id_number_index"], name="party_id_number"),
            models.Index(fields=["phone_index"], name="party_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    """One mediation session (调解): when, where, who mediated, who came, what was said and what comes next."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="sessions"
    )
    held_at = models.DateTimeField(_("held"))
    place = models.CharField(_("place of the session"), max_length=200, blank=True)
    mediators = models.ManyToManyField(Mediator, verbose_name=_("mediators"), related_name="sessions")
    parties_present = models.ManyToManyField(
        Party, verbose_name=_("parties present"), blank=True, related_name="sessions"
    )
    others_present = models.CharField(_("others present"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["dispute", "held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {timezone.localtime(self.held_at):%Y-%m-%d %H:%M}"


class Agreement(models.Model):
    """The outcome of the mediation: the agreement (调解协议书) in full or in part, or the record that none was
    reached. A failed outcome is overwritten when a higher committee, taking the dispute over, reaches one."""

    dispute = models.OneToOneField(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="agreement"
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    number = models.CharField(_("agreement number"), max_length=30)
    terms = models.TextField(_("terms"), blank=True)
    amount = models.DecimalField(
        _("amount agreed (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    performance_method = models.TextField(_("how it is performed"), blank=True)
    performance_due = models.DateField(_("to be performed by"), null=True, blank=True)
    signed_on = models.DateField(_("signed on"))
    # The committee and level that reached the outcome (the dispute's at the time).
    committee = models.ForeignKey(
        Committee,
        verbose_name=_("committee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    created_by = models.ForeignKey(
        USER, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="agreement_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class FollowUp(models.Model):
    """A follow-up visit (回访) after an agreement: due on a day, then done with its result."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    due_on = models.DateField(_("visit due on"))
    done_at = models.DateTimeField(_("visit made"), null=True, blank=True)
    visitor = models.ForeignKey(
        USER, verbose_name=_("visited by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(_("result"), max_length=14, choices=FollowUpResult.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Where the visitor's phone was (WGS-84), when it had a fix: the visit was made on the spot.
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    created_at = models.DateTimeField(_("scheduled"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["dispute", "due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, result="") | Q(done_at__isnull=False) & ~Q(result=""),
                name="follow_up_done_has_result",
            ),
        ]
        indexes = [
            # The visits still to make, by the day they are due.
            models.Index(fields=["due_on"], condition=Q(done_at__isnull=True), name="follow_up_open_due"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.due_on}"


class DisputeEvent(models.Model):
    """One step of a dispute's timeline: received, assigned, a session, the outcome, a follow-up, referred up…"""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=14, choices=EventAction.choices)
    actor = models.ForeignKey(
        USER, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_state = models.CharField(_("from"), max_length=12, choices=DisputeState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=DisputeState.choices, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")
        ordering = ["dispute", "at", "id"]
        indexes = [models.Index(fields=["action", "at"], name="dispute_event_action_at")]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.action}"
