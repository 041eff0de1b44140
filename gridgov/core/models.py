from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    """One entry of the append-only audit log. Each entry's hash chains to the previous one (HMAC-SM3), so a
    changed or deleted row breaks the chain at that point (`gridgov verify-audit` names the first broken link)."""

    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    success = models.BooleanField(_("success"), default=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"


class AuditHead(models.Model):
    """The single row that writers lock to append to the chain one at a time (on PostgreSQL)."""

    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self) -> str:
        return self.last_hash


class CalendarDay(models.Model):
    """An exception to the weekly pattern (Monday to Friday work, Saturday and Sunday rest): a public holiday,
    or a make-up working day (调休上班) on a weekend. The days of a holiday that fall on a weekend may be
    listed too (they change nothing but show the whole holiday). `gridgov.core.calendar` counts working
    time on this data."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday (no work)")
        WORKDAY = "workday", _("make-up working day (调休)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(
        _("source"),
        max_length=300,
        blank=True,
        help_text=_("The notice that fixed this day, e.g. its title and URL."),
    )
    provisional = models.BooleanField(
        _("provisional"),
        default=False,
        help_text=_(
            "Derived from the statutory rules while the State Council notice for the year is awaited."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.date and self.kind == self.Kind.WORKDAY and self.date.weekday() < 5:
            raise ValidationError(
                {
                    "kind": _("%(date)s is a weekday: a make-up working day falls on a Saturday or a Sunday.")
                    % {"date": self.date.isoformat()}
                }
            )


class WorkingPeriod(models.Model):
    """A period of every working day, local time (Asia/Shanghai), e.g. 08:30–12:00 and 14:30–18:00."""

    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working hours")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="period_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.start is None or self.end is None:
            return
        if self.end <= self.start:
            raise ValidationError({"end": _("A working period ends after it starts.")})
        overlapping = WorkingPeriod.objects.filter(start__lt=self.end, end__gt=self.start).exclude(pk=self.pk)
        other = overlapping.first()
        if other is not None:
            raise ValidationError(
                {"start": _("This period overlaps the working period %(other)s.") % {"other": str(other)}}
            )


class OutboxEvent(models.Model):
    """A live event, written in the transaction of the change it announces (so none is lost) and handed to
    in-process subscribers after the commit. The command centre's live board and webhooks read from here."""

    topic = models.CharField(_("topic"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("live event")
        verbose_name_plural = _("live events")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_time"),
            # The live pages ask "anything newer than id N in my towns?" every second.
            models.Index(fields=["grid_l1_id", "id"], name="outbox_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.topic}"


class IdempotentResponse(models.Model):
    """The first successful answer to a POST that carried an `Idempotency-Key` (gridgov.core.idempotency):
    a phone that lost the answer sends the same request again and gets this answer, and nothing is done twice.
    Written in the transaction of the change it answers."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=80)
    path = models.CharField(_("path"), max_length=300)
    status = models.PositiveSmallIntegerField(_("status"), default=0)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    body = models.BinaryField(_("body"), default=b"")
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("kept answer")
        verbose_name_plural = _("kept answers")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_user_key")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key} {self.status}"
