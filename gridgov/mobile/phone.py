"""Signing in with a phone number and a code sent by SMS: residents report without creating an account.

Behind the scenes the first successful code makes a resident user (no password, role `resident`) tied to the
phone through a `PhoneIdentity`; the same phone signs in to the same user ever after, so "my reports" follow
the person from one phone or browser to the next. Codes are six digits, valid for MOBILE_CODE_MINUTES, kept as an
HMAC only, used once, and refused after MOBILE_CODE_ATTEMPTS wrong tries; sending is throttled per phone and
per address so the SMS gateway cannot be used to flood somebody's phone."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.errors import CaseError, Invalid
from gridgov.cases.notify import sms_sender
from gridgov.cases.personal import PHONE, blind_index, decrypt_text, encrypt_text
from gridgov.cases.services import normalise_phone
from gridgov.core import audit
from gridgov.core.crypto import provider

from .models import PhoneCode, PhoneIdentity

# The version of the privacy notice the app shows; a new notice asks for consent again.
PRIVACY_NOTICE_VERSION = "2026-11"


class Throttled(CaseError):
    status = 429
    code = "throttled"


def _hash(phone_index: str, code: str) -> str:
    return provider().hmac_sm3("index", f"code:{phone_index}:{code}".encode()).hex()


def _one_send_at_a_time(phone_index: str, ip: str | None) -> None:
    """Sends for one number (or from one address) wait for each other, so that two at once cannot both pass
    the throttles: PostgreSQL takes a transaction lock per number and per address (in that order, so two
    sends never wait on each other crosswise); SQLite's write transactions already run one at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in (f"phone:{phone_index}", f"ip:{ip}" if ip else ""):
            if name:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


def request_code(raw_phone: str, *, ip: str | None) -> int:
    """Send a sign-in code to the phone; answers the seconds before another may be asked for."""
    phone = normalise_phone(raw_phone, "phone")
    if not phone.startswith("1"):
        raise Invalid(_("Give a mobile number: the code comes by SMS."), field="phone")
    index = blind_index(phone)
    now = timezone.now()
    resend = settings.MOBILE_CODE_RESEND_SECONDS
    with transaction.atomic():
        _one_send_at_a_time(index, ip)
        recent = PhoneCode.objects.filter(phone_index=index, created_at__gte=now - timedelta(hours=1))
        last = recent.order_by("-created_at").first()
        if last is not None and (now - last.created_at).total_seconds() < resend:
            raise Throttled(
                _("A code was sent a moment ago: wait a minute before asking again."), field="phone"
            )
        if recent.count() >= settings.MOBILE_CODES_PER_HOUR:
            raise Throttled(_("Too many codes for this number: try again in an hour."), field="phone")
        if (
            ip
            and PhoneCode.objects.filter(ip=ip, created_at__gte=now - timedelta(hours=1)).count()
            >= settings.MOBILE_CODES_PER_HOUR_PER_ADDRESS
        ):
            raise Throttled(_("Too many codes from this network: try again in an hour."), field="phone")
        # A new code replaces the ones before it.
        PhoneCode.objects.filter(phone_index=index, used_at__isnull=True).update(used_at=now)
        code = f"{secrets.randbelow(10**6):06d}"
        minutes = settings.MOBILE_CODE_MINUTES
        PhoneCode.objects.create(
            phone_index=index,
            code_hash=_hash(index, code),
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        audit.record("mobile.code_sent", data={"phone_index": index[:16]}, ip=ip)
    text = _("Your gridgov sign-in code is %(code)s, valid for %(minutes)d minutes. Tell it to nobody.") % {
        "code": code,
        "minutes": minutes,
    }
    sms_sender().send(phone, text)
    return resend


def verify_code(raw_phone: str, code: str, *, consent: bool, ip: str | None) -> User:
    """The resident user of this phone, made on the first sign-in. Refuses a wrong, expired or used code."""
    phone = normalise_phone(raw_phone, "phone")
    code = (code or "").strip()
    if not code:
        raise Invalid(_("Type the code we sent you by SMS."), field="code")
    index = blind_index(phone)
    now = timezone.now()
    pending = PhoneCode.objects.filter(phone_index=index, used_at__isnull=True, expires_at__gt=now)
    sent = pending.order_by("-created_at").first()
    if sent is None:
        raise Invalid(
            _("This code has expired or was not sent to this number: ask for a new one."), field="code"
        )
    identity = PhoneIdentity.objects.filter(phone_index=index).select_related("user").first()
    if not consent and (identity is None or identity.consent_version != PRIVACY_NOTICE_VERSION):
        raise Invalid(_("Read the privacy notice and agree to it to go on."), field="consent")
    # Each try is counted before the comparison, in one UPDATE: parallel guesses cannot share a count.
    with transaction.atomic():
        counted = PhoneCode.objects.filter(pk=sent.pk, attempts__lt=settings.MOBILE_CODE_ATTEMPTS).update(
            attempts=F("attempts") + 1
        )
    if not counted:
        raise Invalid(_("Too many wrong codes: ask for a new one."), field="code")
    if not hmac.compare_digest(sent.code_hash, _hash(index, code)):
        with transaction.atomic():
            audit.record("mobile.code_wrong", data={"phone_index": index[:16]}, success=False, ip=ip)
        raise Invalid(_("The code is wrong: check the SMS and type it again."), field="code")
    with transaction.atomic():
        # Used once: of two sign-ins racing with the same code, only one marks it; the number's other codes
        # (an earlier SMS seen on a lock screen) go with it.
        if not PhoneCode.objects.filter(pk=sent.pk, used_at__isnull=True).update(used_at=now):
            raise Invalid(_("This code was used already: ask for a new one."), field="code")
        pending.update(used_at=now)
        agreed = identity is None or identity.consent_version != PRIVACY_NOTICE_VERSION
        if identity is None:
            user = _new_resident(phone, index, now)
            identity = user.phone_identity
            audit.record("mobile.resident_created", actor=user, target=user, ip=ip)
        elif agreed:
            PhoneIdentity.objects.filter(pk=identity.pk).update(
                consent_version=PRIVACY_NOTICE_VERSION, consent_at=now
            )
        user = identity.user
        if not user.is_active:
            raise Invalid(_("This account is disabled: call the service centre."), field="phone")
        if agreed:
            audit.record("privacy.consent", actor=user, data={"notice": PRIVACY_NOTICE_VERSION}, ip=ip)
        audit.record("login.phone", actor=user, ip=ip)
    return user


def _new_resident(phone: str, index: str, now: Any) -> User:
    user = User(username=f"phone-{index[:16]}", full_name="")
    user.set_unusable_password()
    user.save()
    RoleAssignment.objects.create(user=user, role=Role.RESIDENT)
    PhoneIdentity.objects.create(
        user=user,
        phone_enc=encrypt_text(phone, PHONE),
        phone_index=index,
        consent_version=PRIVACY_NOTICE_VERSION,
        consent_at=now,
    )
    return user


def phone_of(user: Any) -> str:
    """The verified phone of a phone-signed-in resident, '' for others."""
    identity = PhoneIdentity.objects.filter(user_id=user.pk).first()
    return decrypt_text(identity.phone_enc, PHONE) if identity else ""


def purge_codes() -> int:
    """Forget sign-in codes a day after they were sent (they hold a phone's blind index and an address)."""
    deleted, _ = PhoneCode.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
