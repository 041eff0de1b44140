"""What the Open311 GeoReport v2 server keeps beside the case engine: the client applications' API keys, the
request record of each report an Open311 client sent (its token, its attribute answers, the reporter's email),
and the outbound webhooks (subscribers and the log of every delivery)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class ApiKey(models.Model):
    """An API key of one client application. Only its SHA-256 is kept: the key is shown once, when made."""

    name = models.CharField(_("client application"), max_length=80)
    prefix = models.CharField(_("key prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash (SHA-256)"), max_length=64, unique=True)
    # The account the client's reports are made under when they give no phone number (never signs in).
    account = models.ForeignKey(
        USER, verbose_name=_("client account"), on_delete=models.PROTECT, related_name="+"
    )
    rate_per_minute = models.PositiveIntegerField(_("requests per minute"), default=60)
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, verbose_name=_("revoked by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    uses = models.PositiveIntegerField(_("requests"), default=0)
    reports = models.PositiveIntegerField(_("reports"), default=0)
    # The rate limit's bucket: the minute (since the epoch) and the requests counted in it.
    window = models.BigIntegerField(_("rate window"), default=0)
    window_count = models.PositiveIntegerField(_("requests in the window"), default=0)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ServiceRequest(models.Model):
    """An Open311 client's report: the case it became and what Open311 adds to it."""

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="open311_request"
    )
    api_key = models.ForeignKey(
        ApiKey, verbose_name=_("API key"), on_delete=models.PROTECT, related_name="requests"
    )
    token = models.CharField(_("token"), max_length=40, unique=True)
    jurisdiction_id = models.CharField(_("jurisdiction"), max_length=80, blank=True)
    # Answers to the item's questions, by question code (a list for the multi-choice ones).
    attributes = models.JSONField(_("answers"), default=dict, blank=True)
    email_enc = models.BinaryField(_("email (encrypted)"), null=True, blank=True, editable=False)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    account_id = models.CharField(_("client's account id"), max_length=100, blank=True)
    address_id = models.CharField(_("address id"), max_length=100, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.token


class Subscriber(models.Model):
    """A webhook subscriber: case events are POSTed to its URL, signed with its secret (HMAC-SHA256)."""

    name = models.CharField(_("name"), max_length=80)
    url = models.URLField(_("URL"), max_length=500)
    secret_enc = models.BinaryField(_("secret (encrypted)"), editable=False)
    # Topics of the outbox (case.report, case.dispatch…); empty: every case event.
    events = models.JSONField(_("events"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # The last outbox event looked at: deliveries are made for newer ones.
    cursor = models.BigIntegerField(_("last event read"), default=0)
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook subscriber")
        verbose_name_plural = _("webhook subscribers")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("waiting")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("given up")


class Delivery(models.Model):
    """One event to one subscriber: tried until it is accepted (2xx), with exponential backoff."""

    subscriber = models.ForeignKey(
        Subscriber, verbose_name=_("subscriber"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.BigIntegerField(_("event"))
    topic = models.CharField(_("topic"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "event_id"], name="one_delivery_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(state="pending"), name="delivery_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.topic} {self.event_id}"
