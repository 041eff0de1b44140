"""What changes state in the Open311 app: API keys (made, revoked, used under a rate limit), Open311 reports
(through the case engine's intake), and webhook subscribers. Key creation and revocation and every report are
audited; reads are counted on the key, not audited one by one."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case as When_
from django.db.models import F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.cases.choices import Channel
from gridgov.cases.errors import Invalid
from gridgov.cases.services import Report, do_report
from gridgov.catalog.models import LIST_TYPES, Item, ItemQuestion, QuestionType
from gridgov.core import audit
from gridgov.core.crypto import provider
from gridgov.core.personal import encrypt_text

from .formats import parse_datetime
from .models import ApiKey, ServiceRequest, Subscriber

KEY_PREFIX = "g311_"
EMAIL = b"email"
SECRET = b"webhook-secret"
MAX_DESCRIPTION = 4000


def key_hash(key: str) -> str:
    return provider().hmac_sm3("index", b"open311-key:" + key.encode()).hex()


@dataclass
class NewKey:
    key: str  # shown once
    api_key: ApiKey


def do_create_key(name: str, *, actor: Any, rate_per_minute: int = 60, ip: str | None = None) -> NewKey:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid(_("Name the client application (at most 80 characters)."), field="name")
    if not 1 <= rate_per_minute <= 100_000:
        raise Invalid(
            _("The rate limit lies between 1 and 100000 requests a minute."), field="rate_per_minute"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        user_model = get_user_model()
        account = user_model(
            username=f"open311-{key[len(KEY_PREFIX) : len(KEY_PREFIX) + 8]}", full_name=name[:60]
        )
        account.set_unusable_password()
        account.is_active = False  # the client never signs in: its reports are made under this account
        account.save()
        api_key = ApiKey.objects.create(
            name=name,
            prefix=key[:12],
            key_hash=key_hash(key),
            account=account,
            rate_per_minute=rate_per_minute,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        audit.record(
            "open311.key_create",
            actor=actor,
            target=api_key,
            data={"name": name, "prefix": api_key.prefix},
            ip=ip,
        )
    return NewKey(key=key, api_key=api_key)


def do_revoke_key(api_key: ApiKey, *, actor: Any, ip: str | None = None) -> bool:
    """Revoke a key (compare-and-set: False when it was revoked already)."""
    now = timezone.now()
    with transaction.atomic():
        done = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor if getattr(actor, "pk", None) else None
        )
        if done:
            audit.record(
                "open311.key_revoke",
                actor=actor,
                target=api_key,
                data={"name": api_key.name, "prefix": api_key.prefix},
                ip=ip,
            )
    return bool(done)


class KeyRefused(Exception):
    """403: no key, an unknown key or a revoked one."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def use_key(key: str) -> ApiKey:
    """The key's record, its use counted in this minute's bucket (one UPDATE): KeyRefused or RateLimited."""
    if not key:
        raise KeyRefused
    found = ApiKey.objects.filter(key_hash=key_hash(key), revoked_at__isnull=True).first()
    if found is None:
        raise KeyRefused
    now = timezone.now()
    minute = int(time.time() // 60)
    ApiKey.objects.filter(pk=found.pk).update(
        window_count=When_(When(window=minute, then=F("window_count") + 1), default=Value(1)),
        window=minute,
        uses=F("uses") + 1,
        last_used_at=now,
    )
    count = ApiKey.objects.filter(pk=found.pk).values_list("window_count", flat=True).first() or 0
    if count > found.rate_per_minute:
        raise RateLimited(retry_after=max(1, 60 - int(time.time()) % 60))
    return found


# ------------------------------------------------------------------------------------------------ reports


@dataclass
class Submission:
    """A POST requests as the view parsed it: Open311 names."""

    service_code: str
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    device_id: str = ""
    account_id: str = ""
    media_url: str = ""
    jurisdiction_id: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    files: list[Any] = field(default_factory=list)


# The engine's field names as Open311 calls them (a refusal names the field the client sent).
OPEN311_FIELD = {
    "reporter_phone": "phone",
    "reporter_name": "first_name",
    "lon": "long",
    "lat": "lat",
    "item": "service_code",
    "address": "address_string",
    "location": "lat",
    "files": "media",
    "description": "description",
}


def _answers(item: Item, given: dict[str, list[str]]) -> dict[str, Any]:
    """The answers to the item's questions, checked: required ones given, numbers numbers, datetimes W3C,
    list values among the keys. Answers to questions the item does not ask are ignored."""
    out: dict[str, Any] = {}
    for q in ItemQuestion.objects.filter(item=item, variable=True).order_by("order"):
        values = [v.strip() for v in given.get(q.code, []) if v.strip()]
        if not values:
            if q.required:
                raise Invalid(_("%(code)s required") % {"code": q.code}, field=f"attribute[{q.code}]")
            continue
        where = f"attribute[{q.code}]"
        if q.datatype in LIST_TYPES:
            keys = {str(v["key"]) for v in q.values or []}
            wrong = [v for v in values if v not in keys]
            if wrong:
                raise Invalid(
                    _("%(code)s: %(value)s is not one of its choices") % {"code": q.code, "value": wrong[0]},
                    field=where,
                )
            out[q.code] = values if q.datatype == QuestionType.MULTI else values[0]
            if q.datatype == QuestionType.SINGLE and len(values) > 1:
                raise Invalid(_("%(code)s takes one choice") % {"code": q.code}, field=where)
            continue
        value = values[0]
        if q.datatype == QuestionType.NUMBER:
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if number != number or number in (float("inf"), float("-inf")):
                raise Invalid(_("%(code)s is a number") % {"code": q.code}, field=where)
        elif q.datatype == QuestionType.DATETIME and parse_datetime(value) is None:
            raise Invalid(_("%(code)s is a date and time (ISO 8601)") % {"code": q.code}, field=where)
        limit = 4000 if q.datatype == QuestionType.TEXT else 200
        if len(value) > limit or "\x00" in value:
            raise Invalid(_("%(code)s is too long") % {"code": q.code}, field=where)
        out[q.code] = value
    return out


def _float(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise Invalid(_("%(field)s is a number") % {"field": name}, field=name) from exc
    if number != number:
        raise Invalid(_("%(field)s is a number") % {"field": name}, field=name)
    return number


def do_submit(
    sub: Submission, *, api_key: ApiKey, ip: str | None = None, now: datetime | None = None
) -> ServiceRequest:
    """An Open311 client's report, through the engine's intake (channel open311). The reporter is a resident
    known by phone when a phone is given (name and phone encrypted by the engine), else the client's account;
    the email is kept encrypted beside the case."""
    item = Item.objects.filter(code=sub.service_code, active=True).first()
    if item is None:  # the view answers 404 first; here for callers other than the view
        raise Invalid(
            _("No service has the code %(code)s.") % {"code": sub.service_code}, field="service_code"
        )
    lat, lon = _float(sub.lat, "lat"), _float(sub.long, "long")
    if (lat is None) != (lon is None):
        raise Invalid(_("Give both lat and long, or neither."), field="long" if lon is None else "lat")
    if lat is None and not sub.address_string.strip() and not sub.address_id.strip():
        raise Invalid(_("Say where: lat and long, address_string or address_id."), field="lat")
    description = sub.description.strip() or item.label
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(_("description is longer than 4000 characters"), field="description")
    answers = _answers(item, sub.attributes)
    email = sub.email.strip()
    if email and ("@" not in email or len(email) > 200):
        raise Invalid(_("email is not an email address"), field="email")
    if sub.media_url and not sub.media_url.lower().startswith(("http://", "https://")):
        raise Invalid(_("media_url is not a web address"), field="media_url")
    name = " ".join(p for p in (sub.last_name.strip(), sub.first_name.strip()) if p)
    address = sub.address_string.strip() or sub.address_id.strip()
    report = Report(
        channel=Channel.OPEN311,
        description=description,
        item=item.code,
        lon=lon,
        lat=lat,
        address=address[:300],
        reporter_name=name[:50],
        reporter_phone=sub.phone.strip(),
        files=sub.files,
        force=True,  # an Open311 client cannot answer "already reported nearby?": operators merge
    )
    actor = None if report.reporter_phone else api_key.account
    now = now or timezone.now()
    try:
        with transaction.atomic():
            result = do_report(report, actor=actor, ip=ip, now=now)
            record = ServiceRequest.objects.create(
                case=result.case,
                api_key=api_key,
                token=uuid.uuid4().hex,
                jurisdiction_id=sub.jurisdiction_id[:80],
                attributes=answers,
                email_enc=encrypt_text(email, EMAIL),
                device_id=sub.device_id[:100],
                account_id=sub.account_id[:100],
                address_id=sub.address_id[:100],
                media_url=sub.media_url[:500],
                created_at=now,
            )
            ApiKey.objects.filter(pk=api_key.pk).update(reports=F("reports") + 1)
            audit.record(
                "open311.report",
                actor=actor,
                target=result.case,
                data={"key": api_key.prefix, "client": api_key.name, "number": result.case.number},
                ip=ip,
            )
    except Invalid as exc:
        exc.field = OPEN311_FIELD.get(exc.field, exc.field)
        raise
    return record


# ------------------------------------------------------------------------------------------------ webhooks


@dataclass
class NewSubscriber:
    secret: str  # shown once
    subscriber: Subscriber


def topics() -> list[str]:
    from gridgov.cases.choices import Action

    return [f"case.{a}" for a in Action.values]


def do_create_subscriber(
    name: str, url: str, events: list[str], *, actor: Any, secret: str = "", ip: str | None = None
) -> NewSubscriber:
    name, url = (name or "").strip(), (url or "").strip()
    if not name or len(name) > 80:
        raise Invalid(_("Name the subscriber (at most 80 characters)."), field="name")
    if not url.lower().startswith(("http://", "https://")) or len(url) > 500:
        raise Invalid(_("The URL starts with http:// or https://."), field="url")
    known = set(topics())
    unknown = [e for e in events if e not in known]
    if unknown:
        raise Invalid(_("Unknown event %(event)s.") % {"event": unknown[0]}, field="events")
    secret = secret.strip() or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise Invalid(_("A secret has at least 16 characters."), field="secret")
    from gridgov.core.models import OutboxEvent

    with transaction.atomic():
        subscriber = Subscriber.objects.create(
            name=name,
            url=url,
            secret_enc=provider().encrypt(secret.encode(), SECRET),
            events=sorted(set(events)),
            # From now on: the events of the past are not sent.
            cursor=OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=timezone.now(),
        )
        audit.record(
            "open311.webhook_create", actor=actor, target=subscriber, data={"name": name, "url": url}, ip=ip
        )
    return NewSubscriber(secret=secret, subscriber=subscriber)


def do_set_subscriber_active(
    subscriber: Subscriber, active: bool, *, actor: Any, ip: str | None = None
) -> None:
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(active=active)
        audit.record(
            "open311.webhook_" + ("resume" if active else "pause"),
            actor=actor,
            target=subscriber,
            data={},
            ip=ip,
        )


def subscriber_secret(subscriber: Subscriber) -> bytes:
    return provider().decrypt(bytes(subscriber.secret_enc), SECRET)
