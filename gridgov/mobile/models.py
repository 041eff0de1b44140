from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PhoneIdentity(models.Model):
    """A resident who signs in with a phone number and a code: no username, no password. The phone is kept
    encrypted (SM4-GCM) with a blind index (HMAC-SM3) to find it again; the consent to the privacy notice is
    kept with the notice's version (PIPL art. 14)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="phone_identity",
    )
    phone_enc = models.BinaryField(_("phone (encrypted)"))
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, unique=True)
    consent_version = models.CharField(_("privacy notice version agreed"), max_length=20)
    consent_at = models.DateTimeField(_("agreed at"))
    created_at = models.DateTimeField(_("first signed in"), default=timezone.now)

    class Meta:
        verbose_name = _("phone identity")
        verbose_name_plural = _("phone identities")

    def __str__(self) -> str:
        return str(self.user)


class PhoneCode(models.Model):
    """A sign-in code sent by SMS. Only its HMAC is kept; it expires, allows a few attempts and is used once."""

    phone_index = models.CharField(_("phone (blind index)"), max_length=64)
    code_hash = models.CharField(_("code (HMAC)"), max_length=64)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [
            models.Index(fields=["phone_index", "created_at"], name="phonecode_phone_time"),
            models.Index(fields=["ip", "created_at"], name="phonecode_ip_time"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_index[:8]}… {self.created_at:%Y-%m-%d %H:%M}"
