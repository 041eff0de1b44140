"""The case (案件/工单) and everything recorded about it.

A case carries its grid's level-1/2/3 ids (denormalised, invariant 3) so that scoped lists filter on indexed
integers, and the current stage's deadline (`due_at`, `warn_at`) so that the deadline queues need no join.
The history of every stage's clock is in `Deadline`; every step is a `CaseEvent`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.catalog.models import Department, Item, Stage, Urgency

from .choices import (
    OPEN_STATES,
    Action,
    AssignmentKind,
    Capacity,
    Card,
    Channel,
    EvidenceKind,
    EvidencePhase,
    ExtensionState,
    Rating,
    ReporterKind,
    State,
)

USER = settings.AUTH_USER_MODEL


class Case(models.Model):
    number = models.CharField(_("case number"), max_length=20, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.REPORTED)
    # The state a suspended case returns to.
    suspended_from = models.CharField(_("suspended from"), max_length=12, choices=State.choices, blank=True)
    # Bumped by every change: the compare-and-set guard of `cases.services`.
    version = models.PositiveIntegerField(_("version"), default=1)

    # Foreign keys without their own index where a composite index below starts with them: every index costs
    # every update (the sweep touches thousands of cases at once).
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)

    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)
    # The level that answers for the case now (3 grid, 2 village, 1 town, 0 banner); escalation lowers it.
    level = models.SmallIntegerField(_("responsible level"), default=3)
    resolved_level = models.SmallIntegerField(_("resolved at level"), null=True, blank=True)

    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # What routing suggested at intake (the operator may dispatch elsewhere).
    routed_department = models.ForeignKey(
        Department,
        verbose_name=_("suggested department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    reporter_kind = models.CharField(_("reporter kind"), max_length=10, choices=ReporterKind.choices)
    reporter = models.ForeignKey(
        USER,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # Personal data: SM4-GCM at rest, a blind index (HMAC-SM3) for exact search by phone.
    reporter_name_enc = models.BinaryField(
        _("reporter name (encrypted)"), null=True, blank=True, editable=False
    )
    reporter_phone_enc = models.BinaryField(
        _("reporter phone (encrypted)"), null=True, blank=True, editable=False
    )
    reporter_phone_index = models.CharField(_("reporter phone index"), max_length=64, blank=True)
    # The reporter asked to stay confidential: only operators see who reported.
    confidential = models.BooleanField(_("confidential reporter"), default=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, null=True, blank=True)
    # The 16-digit ObjID of the component (部件) the case is about: a code, so that the engine needs no registry.
    # A database default too: bulk writers (the demo's history) insert rows without naming it.
    component_code = models.CharField(
        _("component"), max_length=16, blank=True, default="", db_default="", db_index=True
    )

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    supporters_count = models.PositiveIntegerField(_("supporters"), default=0)

    created_at = models.DateTimeField(_("reported at"))
    updated_at = models.DateTimeField(_("updated at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    # The running stage's clock (null when no clock runs: closed or suspended).
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, blank=True)
    warn_at = models.DateTimeField(_("due soon from"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    overdue = models.BooleanField(_("was overdue"), default=False)
    supervised = models.PositiveSmallIntegerField(_("supervision notices"), default=0)
    card = models.CharField(_("strongest card"), max_length=8, choices=Card.choices, blank=True)
    returns = models.PositiveSmallIntegerField(_("returns"), default=0)
    reworks = models.PositiveSmallIntegerField(_("reworks"), default=0)

    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    disputed = models.PositiveSmallIntegerField(_("disputes"), default=0)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="case_idempotency_key",
            ),
        ]
        indexes = [
            # Scoped queues: level-1/2/3 grid, state, newest first.
            models.Index(fields=["grid_l1_id", "state", "-id"], name="case_l1_state"),
            models.Index(fields=["grid_l2_id", "state", "-id"], name="case_l2_state"),
            models.Index(fields=["grid_l3_id", "state", "-id"], name="case_l3_state"),
            # Newest first in a subtree, whatever the state.
            models.Index(fields=["grid_l1_id", "-id"], name="case_l1"),
            models.Index(fields=["grid_l2_id", "-id"], name="case_l2"),
            models.Index(fields=["grid_l3_id", "-id"], name="case_l3"),
            models.Index(fields=["state", "-id"], name="case_state"),
            # The open cases (6 % of a county's record): county-wide queue counts and the overview by town
            # read these, and SQLite, with no statistics on the share of each state, would scan the table.
            models.Index(fields=["grid_l1_id"], condition=Q(state__in=OPEN_STATES), name="case_open_l1"),
            models.Index(fields=["lead_department", "state", "-id"], name="case_dept_state"),
            models.Index(fields=["reporter_phone_index"], name="case_phone"),
            # Duplicates: the same item, recently reported.
            models.Index(fields=["item", "created_at"], name="case_item_time"),
            models.Index(fields=["due_at"], condition=Q(due_at__isnull=False), name="case_due"),
            models.Index(fields=["reporter", "-id"], name="case_reporter"),
            models.Index(fields=["created_at"], name="case_created"),
        ]

    def __str__(self) -> str:
        return self.number


class CaseCounter(models.Model):
    """The last sequence number given on a day (Asia/Shanghai): case numbers read aloud as `20261126-0123`."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case counter")
        verbose_name_plural = _("case counters")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class CaseEvent(models.Model):
    """One step of a case: who, in which capacity, from which state to which, why, with what evidence."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField(_("sequence"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        USER, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    capacity = models.CharField(_("capacity"), max_length=14, choices=Capacity.choices, blank=True)
    from_state = models.CharField(_("from"), max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=State.choices)
    level = models.SmallIntegerField(_("level"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="case_event_seq")]
        indexes = [models.Index(fields=["action", "created_at"], name="event_action_time")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"


class Deadline(models.Model):
    """The clock of one stage of a case, in working time. The sweep marks each clock at most once as
    overdue (supervision notice) and once as escalated, whatever the number of sweeps running."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="deadlines")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    minutes = models.PositiveIntegerField(_("limit in working minutes"))
    started_at = models.DateTimeField(_("started at"))
    warn_at = models.DateTimeField(_("due soon from"))
    due_at = models.DateTimeField(_("due at"))
    escalate_at = models.DateTimeField(_("escalate at"))
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    met = models.BooleanField(_("met"), null=True, blank=True)
    noticed = models.BooleanField(_("overdue notice issued"), default=False)
    escalated = models.BooleanField(_("escalated"), default=False)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ["case", "id"]
        constraints = [
            # One running clock per case.
            models.UniqueConstraint(
                fields=["case"], condition=Q(done_at__isnull=True), name="one_running_clock"
            )
        ]
        indexes = [
            # What the sweep looks for: running, not paused, not yet noticed / escalated.
            models.Index(
                fields=["due_at"],
                condition=Q(done_at__isnull=True, paused_at__isnull=True, noticed=False),
                name="deadline_to_notice",
            ),
            models.Index(
                fields=["escalate_at"],
                condition=Q(done_at__isnull=True, paused_at__isnull=True, escalated=False),
                name="deadline_to_escalate",
            ),
            models.Index(fields=["stage", "done_at"], name="deadline_stage_done"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage} {self.due_at:%Y-%m-%d %H:%M}"


class Assignment(models.Model):
    """A unit dispatched to a case: the lead unit (主办) or an assisting one (协办), each signing and feeding back."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="assignments"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=AssignmentKind.choices)
    active = models.BooleanField(_("active"), default=True)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    fed_back_at = models.DateTimeField(_("fed back at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("ended by"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["case", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "department"], condition=Q(active=True), name="one_active_assignment_per_unit"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(active=True, kind="lead"), name="one_active_lead_unit"
            ),
        ]
        indexes = [models.Index(fields=["department", "active", "signed_at"], name="assignment_queue")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.department_id} {self.kind}"


class Supporter(models.Model):
    """Somebody else who reported the same thing ("me too"), or the reporter of a case merged into this one."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="supporters"
    )
    user = models.ForeignKey(
        USER, verbose_name=_("user"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True, editable=False)
    phone_index = models.CharField(_("phone index"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    from_case = models.ForeignKey(
        Case, verbose_name=_("merged case"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("supporter")
        verbose_name_plural = _("supporters")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "user"], condition=Q(user__isnull=False), name="one_me_too_per_user"
            ),
            models.UniqueConstraint(
                fields=["case", "phone_index"], condition=~Q(phone_index=""), name="one_me_too_per_phone"
            ),
        ]
        indexes = [models.Index(fields=["user"], name="supporter_user")]

    def __str__(self) -> str:
        return f"{self.case_id} + {self.user_id or '…'}"


class Evidence(models.Model):
    """A photo or a short video. `original` is kept internal (with its location metadata); `public` is the copy
    shown and sent to anyone, metadata stripped."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="evidence")
    event = models.ForeignKey(
        CaseEvent,
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evidence",
    )
    phase = models.CharField(_("phase"), max_length=8, choices=EvidencePhase.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=EvidenceKind.choices)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    name = models.CharField(_("file name"), max_length=120, blank=True)
    original = models.FileField(_("original"), upload_to="evidence/original/%Y/%m/", max_length=200)
    public = models.FileField(_("public copy"), upload_to="evidence/public/%Y/%m/", max_length=200)
    uploaded_by = models.ForeignKey(
        USER, verbose_name=_("uploaded by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.name or self.sha256[:12]


class Extension(models.Model):
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="extensions"
    )
    deadline = models.ForeignKey(
        Deadline, verbose_name=_("deadline"), on_delete=models.CASCADE, related_name="+"
    )
    minutes = models.PositiveIntegerField(_("working minutes asked"))
    reason = models.TextField(_("reason"))
    state = models.CharField(
        _("state"), max_length=10, choices=ExtensionState.choices, default=ExtensionState.PENDING
    )
    requested_by = models.ForeignKey(
        USER, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        USER, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["case", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="one_pending_extension"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.minutes}"


class Supervision(models.Model):
    """督办: a yellow or red card on a case, by a leader, an operator or the deadline sweep (by = null)."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="supervisions"
    )
    card = models.CharField(_("card"), max_length=8, choices=Card.choices)
    reason = models.TextField(_("reason"))
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, blank=True)
    by = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.card}"


class Comment(models.Model):
    """A message on a case. Public ones are the conversation with the reporter; the rest stay among staff.
    A reply to a supervision notice names it."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+")
    capacity = models.CharField(_("capacity"), max_length=14, choices=Capacity.choices)
    text = models.TextField(_("text"))
    public = models.BooleanField(_("visible to the reporter"), default=True)
    supervision = models.ForeignKey(
        Supervision,
        verbose_name=_("supervision"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.text[:30]}"


class Notification(models.Model):
    """An entry of a user's in-app inbox. The text is rendered in the reader's language from `kind` + `data`."""

    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at", "-id"], name="inbox")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class TriageFeedback(models.Model):
    """What triage suggested for a free-text report and what the operator chose: the next training learns it."""

    case = models.OneToOneField(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="+")
    suggested_item = models.ForeignKey(
        Item, verbose_name=_("suggested item"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confidence = models.FloatField(_("confidence"))
    chosen_item = models.ForeignKey(
        Item,
        verbose_name=_("chosen item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("triage suggestion")
        verbose_name_plural = _("triage suggestions")

    def __str__(self) -> str:
        return f"{self.case_id} {self.suggested_item_id}→{self.chosen_item_id}"
