"""Fieldwork: patrols (巡查), visits (走访), and the inspections (巡检) of components by plan.

A patrol is a grid worker's round of their grid, from check-in to check-out, with its GPS track. A visit is one
call on a household, a person or a place. An inspection plan makes, for every component of one class in a grid
subtree, a task per period for the grid's worker, who answers the plan's checklist on the spot.

Fieldwork is done on the phone, often without signal, and sent later: its times are the phone's (`started_at`,
`visited_at`, `done_at`…), `created_at` is when the server received it. The phone's `key` (a UUID) makes every
call idempotent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import TaskState, VisitPurpose


class Patrol(models.Model):
    key = models.UUIDField(_("key"), unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.PROTECT,
        related_name="patrols",
    )
    # Always a level-3 grid: the one of the worker's grids holding the check-in point.
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="patrols"
    )
    # The grid's ancestors, copied for scoped reads by the heads of the village and the town.
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    started_at = models.DateTimeField(_("checked in"))
    ended_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    start_lon = models.FloatField(_("check-in longitude"), null=True, blank=True)
    start_lat = models.FloatField(_("check-in latitude"), null=True, blank=True)
    end_lon = models.FloatField(_("check-out longitude"), null=True, blank=True)
    end_lat = models.FloatField(_("check-out latitude"), null=True, blank=True)
    # [[lon, lat, epoch_ms, accuracy_m], …] in WGS-84, in time order.
    track = models.JSONField(_("track"), default=list, blank=True)
    points = models.PositiveIntegerField(_("points"), default=0)
    distance_m = models.FloatField(_("distance (m)"), default=0.0)
    created_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="patrol_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(distance_m__gte=0), name="patrol_distance_not_negative"),
        ]
        indexes = [
            # A worker's own patrols, newest first (keyset paging on started_at, id).
            models.Index(fields=["user", "-started_at", "-id"], name="patrol_user_newest"),
            # A grid's patrols by day, and those of a village's or a town's grids.
            models.Index(fields=["grid", "started_at"], name="patrol_grid_day"),
            models.Index(fields=["grid_l2_id", "started_at"], name="patrol_l2_day"),
            models.Index(fields=["grid_l1_id", "started_at"], name="patrol_l1_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.grid.code} · {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def duration_s(self) -> int | None:
        """Seconds from check-in to check-out; None while the patrol goes on."""
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class Visit(models.Model):
    """A worker's visit (走访) to a household, a person or a place (an organisation), with where the phone was."""

    key = models.UUIDField(_("key"), unique=True, editable=False)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.PROTECT,
        related_name="visits",
        db_index=False,  # the worker's index below starts with it
    )
    # Always a level-3 grid: the one of the worker's grids holding the point (else the visited record's).
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    # The visit stays on record when a registry record goes: its grid and time still count.
    household = models.ForeignKey(
        "registry.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    organisation = models.ForeignKey(
        "registry.Organisation",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=VisitPurpose.choices)
    note = models.TextField(_("note"), blank=True)
    # WGS-84, from the phone's GPS; null without a fix.
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    visited_at = models.DateTimeField(_("visited"))
    created_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [
            models.CheckConstraint(
                condition=Q(accuracy_m__isnull=True) | Q(accuracy_m__gte=0),
                name="visit_accuracy_not_negative",
            ),
        ]
        indexes = [
            # A worker's own visits, newest first (keyset paging on visited_at, id).
            models.Index(fields=["worker", "-visited_at", "-id"], name="visit_worker_newest"),
            models.Index(fields=["grid", "visited_at"], name="visit_grid_day"),
            models.Index(fields=["grid_l2_id", "visited_at"], name="visit_l2_day"),
            models.Index(fields=["grid_l1_id", "visited_at"], name="visit_l1_day"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.worker} · {self.get_purpose_display()} · {timezone.localtime(self.visited_at):%Y-%m-%d}"
        )


class Photo(models.Model):
    """A photo taken in the field. `original` is kept internal (it may carry where and with which phone it was
    taken); `public` is the copy anybody may be shown, re-encoded from its pixels with no metadata (the case
    engine's `check_files` makes it)."""

    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    name = models.CharField(_("file name"), max_length=120, blank=True)
    original = models.FileField(_("original"), upload_to="fieldwork/original/%Y/%m/", max_length=200)
    public = models.FileField(_("public copy"), upload_to="fieldwork/public/%Y/%m/", max_length=200)
    created_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name or self.sha256[:12]


class VisitPhoto(Photo):
    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="photos")

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")
        ordering = ["visit", "id"]


class InspectionPlan(models.Model):
    """Inspect every component of one class in a grid subtree every `every_days` days (every fire extinguisher
    yearly, every manhole cover monthly), answering the same checklist each time."""

    name = models.CharField(_("name"), max_length=100)
    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("class of components"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "component"},
    )
    # The plan covers the components of this grid's subtree; its ancestors are copied for scoped reads.
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)
    every_days = models.PositiveIntegerField(_("every (days)"))
    # [{"code": "pressure", "text": "压力表指针在绿区"}, …]: the answers of a task are keyed by these codes.
    checklist = models.JSONField(_("checklist"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")
        constraints = [
            models.CheckConstraint(condition=Q(every_days__gte=1), name="plan_period_positive"),
        ]
        indexes = [
            models.Index(fields=["grid_l1_id", "-id"], name="plan_l1"),
            models.Index(fields=["grid_l2_id", "-id"], name="plan_l2"),
            models.Index(fields=["grid_l3_id", "-id"], name="plan_l3"),
        ]

    def __str__(self) -> str:
        return self.name


class InspectionTask(models.Model):
    """One inspection of one component under a plan, due on `due_on`, for the worker of the component's grid."""

    # Foreign keys without their own index where a composite index below starts with them.
    plan = models.ForeignKey(
        InspectionPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
    component = models.ForeignKey(
        "registry.Component",
        verbose_name=_("component"),
        on_delete=models.PROTECT,
        related_name="inspection_tasks",
    )
    # The component's level-3 grid, with its ancestors: the worker's queue and the overdue counts per grid.
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    due_on = models.DateField(_("due on"))
    # Null while the grid has no worker: the grid's workers all see it, and whoever inspects takes it.
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspection_tasks",
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=8, choices=TaskState.choices, default=TaskState.OPEN)
    # The phone's time of the inspection, and who made it.
    done_at = models.DateTimeField(_("inspected"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # {"pressure": {"answer": "ok", "note": "", "text": "压力表指针在绿区"}, …}: the checklist as answered.
    result = models.JSONField(_("result"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    # The case opened for the faults found; blank otherwise.
    case_number = models.CharField(_("case"), max_length=20, blank=True)
    # The phone's key of the completion: the same completion sent again answers the first.
    key = models.UUIDField(_("key"), null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection task")
        verbose_name_plural = _("inspection tasks")
        constraints = [
            # Two sweeps at once cannot give a component two open tasks of one plan.
            models.UniqueConstraint(
                fields=["plan", "component"],
                condition=Q(state=TaskState.OPEN),
                name="inspection_one_open_task",
            ),
            models.CheckConstraint(
                condition=Q(state=TaskState.OPEN, done_at__isnull=True, key__isnull=True)
                | (~Q(state=TaskState.OPEN) & Q(done_at__isnull=False, key__isnull=False)),
                name="inspection_done_has_time_and_key",
            ),
        ]
        indexes = [
            # The worker's queue: their open tasks by due date (the overdue ones come first).
            models.Index(fields=["worker", "state", "due_on"], name="task_queue"),
            # Overdue counts per grid, and the lists of a grid's, a village's or a town's tasks.
            models.Index(fields=["grid", "state", "due_on"], name="task_grid_due"),
            models.Index(fields=["grid_l2_id", "state", "due_on"], name="task_l2_due"),
            models.Index(fields=["grid_l1_id", "state", "due_on"], name="task_l1_due"),
            # The last inspection of each component of a plan (what the next task's date follows).
            models.Index(fields=["plan", "component", "done_at"], name="task_history"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.component_id} · {self.due_on}"


class TaskPhoto(Photo):
    task = models.ForeignKey(
        InspectionTask, verbose_name=_("inspection task"), on_delete=models.CASCADE, related_name="photos"
    )

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["task", "id"]
