"""Emergencies (突发事件) and their timeline; hotspots found for root-cause work.

A hotspot is a place where cases of one item keep coming back (a cluster in space and time, found by
`gridgov find-hotspots`): the department answering for the item works on its root cause and resolves it; one
that comes back after its resolution is reopened. An incident is declared by the command centre over the grids
it affects, departments are dispatched to it at once (each acknowledges, reports progress and finishes its
task), the grid workers of the affected grids are told, and it is closed with a report (总结报告)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

__all__ = [
    "DispatchState",
    "Hotspot",
    "HotspotAction",
    "HotspotCase",
    "HotspotEvent",
    "HotspotStatus",
    "Incident",
    "IncidentAction",
    "IncidentDispatch",
    "IncidentEvent",
    "IncidentGrid",
    "IncidentKind",
    "IncidentLevel",
    "IncidentState",
]

USER = settings.AUTH_USER_MODEL
# Until the app has its first migration its tables are made by syncdb, before the other apps' tables exist:
# references to them carry no database constraint (the services keep them right; see the lead's migration).


# ---------------------------------------------------------------------------------------------- hotspots


class HotspotStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("hotspot", "new")
    WORKING = "working", pgettext_lazy("hotspot", "being worked on")
    RESOLVED = "resolved", pgettext_lazy("hotspot", "resolved")


class HotspotAction(models.TextChoices):
    FOUND = "found", pgettext_lazy("hotspot", "found")
    GREW = "grew", pgettext_lazy("hotspot", "more cases")
    TAKEN = "taken", pgettext_lazy("hotspot", "taken up by the department")
    NOTED = "noted", pgettext_lazy("hotspot", "root cause noted")
    RESOLVED = "resolved", pgettext_lazy("hotspot", "resolved")
    REOPENED = "reopened", pgettext_lazy("hotspot", "came back: reopened")


class Hotspot(models.Model):
    """Cases of one item that keep coming back to one place."""

    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("item"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("responsible department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)
    lon = models.FloatField(_("centre longitude (WGS-84)"))
    lat = models.FloatField(_("centre latitude (WGS-84)"))
    radius_m = models.FloatField(_("radius (m)"))
    case_count = models.PositiveIntegerField(_("cases"))
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    status = models.CharField(
        _("status"), max_length=10, choices=HotspotStatus.choices, default=HotspotStatus.NEW
    )
    root_cause = models.TextField(_("root cause"), blank=True)
    measures = models.TextField(_("measures"), blank=True)
    reopened = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    found_at = models.DateTimeField(_("found at"))
    updated_at = models.DateTimeField(_("updated at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("hotspot")
        verbose_name_plural = _("hotspots")
        indexes = [
            models.Index(fields=["item", "status"], name="hotspot_item"),
            models.Index(fields=["grid_l1_id", "-last_seen"], name="hotspot_l1"),
            models.Index(fields=["grid_l2_id", "-last_seen"], name="hotspot_l2"),
            models.Index(fields=["grid_l3_id", "-last_seen"], name="hotspot_l3"),
            models.Index(fields=["department", "status"], name="hotspot_dept"),
        ]

    def __str__(self) -> str:
        return f"H{self.pk}"

    @property
    def number(self) -> str:
        return f"H{self.pk:05d}"


class HotspotCase(models.Model):
    """A case counted in a hotspot (kept when it leaves the window: the hotspot's history)."""

    hotspot = models.ForeignKey(
        Hotspot, verbose_name=_("hotspot"), on_delete=models.CASCADE, related_name="links"
    )
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("case of a hotspot")
        verbose_name_plural = _("cases of hotspots")
        constraints = [models.UniqueConstraint(fields=["hotspot", "case"], name="hotspot_case_unique")]
        indexes = [models.Index(fields=["case"], name="hotspot_case_case")]

    def __str__(self) -> str:
        return f"{self.hotspot_id}:{self.case_id}"


class HotspotEvent(models.Model):
    hotspot = models.ForeignKey(
        Hotspot, verbose_name=_("hotspot"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=HotspotAction.choices)
    actor = models.ForeignKey(
        USER,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("hotspot event")
        verbose_name_plural = _("hotspot events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.hotspot_id} {self.action}"


# -------------------------------------------------------------------------------------------------- incidents


class IncidentKind(models.TextChoices):
    """The four classes of emergencies (《突发事件应对法》)."""

    NATURAL = "natural", _("natural disaster")
    ACCIDENT = "accident", _("accident or disaster")
    HEALTH = "health", _("public-health event")
    SECURITY = "security", _("social-security event")


class IncidentLevel(models.IntegerChoices):
    I = 1, _("level I (especially serious)")  # noqa: E741 - the level's name
    II = 2, _("level II (serious)")
    III = 3, _("level III (relatively serious)")
    IV = 4, _("level IV (general)")


class IncidentState(models.TextChoices):
    OPEN = "open", pgettext_lazy("incident", "responding")
    CLOSED = "closed", pgettext_lazy("incident", "closed")


class DispatchState(models.TextChoices):
    SENT = "sent", pgettext_lazy("dispatch", "sent")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("dispatch", "acknowledged")
    DONE = "done", pgettext_lazy("dispatch", "done")


class IncidentAction(models.TextChoices):
    DECLARED = "declared", pgettext_lazy("incident", "declared")
    DISPATCHED = "dispatched", pgettext_lazy("incident", "department dispatched")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("incident", "acknowledged")
    PROGRESS = "progress", pgettext_lazy("incident", "progress")
    DONE = "done", pgettext_lazy("incident", "task done")
    BROADCAST = "broadcast", pgettext_lazy("incident", "broadcast to grid workers")
    CLOSED = "closed", pgettext_lazy("incident", "closed with a report")


class Incident(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=IncidentKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=IncidentLevel.choices)
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    place = models.CharField(_("place"), max_length=200)
    lon = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    # The grid that holds every affected grid (their nearest common ancestor), for the wall and the lists.
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=IncidentState.choices, default=IncidentState.OPEN
    )
    declared_by = models.ForeignKey(
        USER,
        verbose_name=_("declared by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    declared_at = models.DateTimeField(_("declared at"))
    closed_by = models.ForeignKey(
        USER,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # The closing report (总结报告), in the terms of the statistics of emergencies.
    summary = models.TextField(_("summary"), blank=True)
    cause = models.TextField(_("cause"), blank=True)
    measures = models.TextField(_("measures taken"), blank=True)
    deaths = models.PositiveIntegerField(_("deaths"), default=0)
    injuries = models.PositiveIntegerField(_("injuries"), default=0)
    missing = models.PositiveIntegerField(_("missing"), default=0)
    affected_people = models.PositiveIntegerField(_("people affected"), default=0)
    relocated_people = models.PositiveIntegerField(_("people relocated"), default=0)
    direct_loss = models.DecimalField(
        _("direct economic loss (10,000 yuan)"), max_digits=12, decimal_places=2, default=0
    )

    class Meta:
        verbose_name = _("emergency")
        verbose_name_plural = _("emergencies")
        indexes = [
            models.Index(fields=["state", "-declared_at"], name="incident_state"),
            models.Index(fields=["grid_l1_id", "-declared_at"], name="incident_l1"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class IncidentGrid(models.Model):
    """A grid the incident affects (its subtree is told and sees the incident)."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("emergency"), on_delete=models.CASCADE, related_name="affected"
    )
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("path"), max_length=255)

    class Meta:
        verbose_name = _("affected grid")
        verbose_name_plural = _("affected grids")
        constraints = [models.UniqueConstraint(fields=["incident", "grid"], name="incident_grid_unique")]
        indexes = [models.Index(fields=["path"], name="incident_grid_path")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.grid_id}"


class IncidentDispatch(models.Model):
    """A department sent to an incident with its task."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("emergency"), on_delete=models.CASCADE, related_name="dispatches"
    )
    department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    task = models.TextField(_("task"))
    state = models.CharField(
        _("state"), max_length=12, choices=DispatchState.choices, default=DispatchState.SENT
    )
    progress = models.TextField(_("latest progress"), blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "department"], name="incident_dispatch_unique")
        ]
        indexes = [models.Index(fields=["department", "state"], name="incident_dispatch_dept")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.department_id} {self.state}"


class IncidentEvent(models.Model):
    """A step of the incident's timeline."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("emergency"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=12, choices=IncidentAction.choices)
    actor = models.ForeignKey(
        USER,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("emergency event")
        verbose_name_plural = _("emergency events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.action}"
