"""Cameras, their streams, and the sources of video-analytics and IoT alarms."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

__all__ = ["AlarmKind", "AlarmReceipt", "AlarmSource", "Camera", "CameraKind", "CameraStatus"]


class CameraKind(models.TextChoices):
    GB28181 = "gb28181", _("GB/T 28181 channel")
    RTSP = "rtsp", _("RTSP stream")
    HLS = "hls", _("HLS stream")


class CameraStatus(models.TextChoices):
    ONLINE = "online", pgettext_lazy("camera", "online")
    OFFLINE = "offline", pgettext_lazy("camera", "offline")
    MAINTENANCE = "maintenance", pgettext_lazy("camera", "under maintenance")


class Camera(models.Model):
    """A camera of the site's video network. Browsers cannot play RTSP or GB/T 28181: the site's video gateway
    turns the source into HLS, and `hls_url` is what the wall plays."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=CameraKind.choices)
    # GB/T 28181: the 20-digit device/channel ID (centre code 8 + industry 2 + type 3 + serial 7).
    channel_id = models.CharField(_("GB/T 28181 channel ID"), max_length=20, blank=True, db_index=True)
    source_url = models.CharField(_("source address"), max_length=300, blank=True)
    hls_url = models.CharField(_("HLS URL (from the video gateway)"), max_length=300)
    lon = models.FloatField(_("longitude (WGS-84)"))
    lat = models.FloatField(_("latitude (WGS-84)"))
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True, db_index=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True, db_index=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CameraStatus.choices, default=CameraStatus.ONLINE
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")
        ordering = ["code"]
        # The cameras near a case: a box of latitude first, then longitude.
        indexes = [models.Index(fields=["lat", "lon"], name="command_camera_latlon")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AlarmKind(models.TextChoices):
    VIDEO = "video", _("video analytics")
    IOT = "iot", _("IoT sensors")


class AlarmSource(models.Model):
    """A system that sends alarms to the webhook: a video-analytics platform or an IoT platform. It signs each
    call with its own secret (kept encrypted, SM4-GCM); its cases are reported by its gateway account."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=AlarmKind.choices)
    secret_enc = models.BinaryField(_("secret (encrypted)"), editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("gateway account"),
    )
    # The alarm types it sends → the item codes of the responsibility list.
    mapping = models.JSONField(_("alarm types and their items"), default=dict, blank=True)
    default_lon = models.FloatField(_("default longitude"), null=True, blank=True)
    default_lat = models.FloatField(_("default latitude"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("alarm source")
        verbose_name_plural = _("alarm sources")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class AlarmReceipt(models.Model):
    """One alarm received: (source, event id) once only, so a replayed call is refused."""

    source = models.ForeignKey(
        AlarmSource, on_delete=models.CASCADE, related_name="receipts", verbose_name=_("source")
    )
    event_id = models.CharField(_("event ID"), max_length=80)
    alarm_type = models.CharField(_("alarm type"), max_length=40)
    camera = models.ForeignKey(
        Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("camera")
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("case"),
    )
    joined = models.BooleanField(_("joined an open case"), default=False)
    received_at = models.DateTimeField(_("received"), db_index=True)

    class Meta:
        verbose_name = _("alarm received")
        verbose_name_plural = _("alarms received")
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="command_alarm_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.event_id}"
