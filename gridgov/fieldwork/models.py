"""Patrols (巡查): a grid worker's round of their grid, from check-in to check-out, with its GPS track.

A patrol is made on the phone, often without signal, and sent later: its times are the phone's (`started_at`,
`ended_at`, the points' own times), `created_at` is when the server received the check-in. The phone's `key`
makes every call idempotent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
