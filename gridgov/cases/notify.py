"""Telling people: the in-app inbox, and text messages for residents known by phone only.

Inbox rows are written in the transaction of the change; text messages leave after the commit through the
configured sender (settings.SMS_SENDER; the default writes to the log, where phone numbers are masked)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache, partial
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.catalog.models import Stage

from .choices import Card
from .models import Case, Notification, Supporter
from .personal import PHONE, decrypt_text

log = logging.getLogger("gridgov.sms")

# What each kind of notification says; `number` is the case number.
MESSAGES: dict[str, Any] = {
    "accepted": _("Your report %(number)s was accepted and registered."),
    "rejected": _("Your report %(number)s was not accepted: %(reason)s"),
    "dispatched": _("Your report %(number)s was sent to %(unit)s to handle."),
    "closed": _("Your report %(number)s was handled and closed. Please rate the result."),
    "reopened": _("Your dispute of case %(number)s reopened it for review."),
    "merged": _("Your report %(number)s is the same as case %(into)s: you will be told of its progress."),
    "comment": _("New message on case %(number)s."),
    "task": _("New case %(number)s for your unit to sign."),
    "returned": _("Case %(number)s was returned: %(reason)s"),
    "extension": _("Case %(number)s: extension request to decide."),
    "extension_decided": _("Case %(number)s: your extension request was %(decision)s."),
    "supervision": _("Supervision (%(card)s) on case %(number)s: %(reason)s"),
    "overdue": _("Case %(number)s is overdue at stage %(stage)s."),
    "escalated": _("Case %(number)s was escalated to your level: %(reason)s"),
    "rework": _("Case %(number)s failed verification and comes back to you: %(reason)s"),
    "to_verify": _("Case %(number)s was handled: please verify it on the spot."),
}


# Kinds of other apps (mediation, community…), which the engine knows nothing of: where each entry leads.
_links: dict[str, Callable[[dict[str, Any]], str]] = {}


def provide_kind(kind: str, message: Any, link: Callable[[dict[str, Any]], str]) -> None:
    """A kind of notification of another app: its text (`%(…)s` from the entry's data) and where it leads (the
    page there answers 404 to whoever may no longer see it)."""
    MESSAGES[kind] = message
    _links[kind] = link


def link_of(kind: str, data: dict[str, Any]) -> str:
    """Where an entry of another app's kind leads; "" for the engine's own (they lead to their case)."""
    link = _links.get(kind)
    return link(data) if link is not None else ""


def render(kind: str, data: dict[str, Any]) -> str:
    """The text of a notification in the active language."""
    template = MESSAGES.get(kind)
    if template is None:
        return kind
    values = {k: (str(v) if v is not None else "") for k, v in data.items()}
    # Stored as values, shown as labels in the reader's language.
    if data.get("card") in Card.values:
        values["card"] = str(Card(data["card"]).label)
    if data.get("stage") in Stage.values:
        values["stage"] = str(Stage(data["stage"]).label)
    if data.get("reason"):
        # The sweep stores its reason as a message id; people's reasons pass through gettext unchanged.
        reason = gettext(str(data["reason"]))
        try:
            values["reason"] = reason % values if "%(" in reason else reason
        except (KeyError, ValueError, TypeError):
            values["reason"] = reason
    try:
        return str(template) % values
    except (KeyError, ValueError, TypeError):
        return str(template)


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogSmsSender:
    """Writes the message to the log (phone masked by the log filter): the demo's and the tests' sender."""

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)


@cache
def sms_sender() -> SmsSender:
    return import_string(settings.SMS_SENDER)()


def _send_sms(phones: list[str], text: str) -> None:
    sender = sms_sender()
    for phone in phones:
        try:
            sender.send(phone, text)
        except Exception:  # a gateway failure must not undo what was committed; it is logged
            log.exception("SMS sender failed")


def to_users(
    user_ids: Iterable[int | None], case: Case | None, kind: str, data: dict[str, Any], now: datetime
) -> None:
    ids = sorted({u for u in user_ids if u is not None})
    if ids:
        Notification.objects.bulk_create(
            [Notification(user_id=u, case=case, kind=kind, data=data, created_at=now) for u in ids]
        )


def tell_reporter(case: Case, kind: str, data: dict[str, Any], now: datetime) -> None:
    """The reporter and everybody who said "me too": in the inbox when they have an account, else by SMS."""
    data = {"number": case.number, **data}
    users: set[int] = set()
    phones: list[str] = []
    if case.reporter_id:
        users.add(case.reporter_id)
    elif case.reporter_phone_enc:
        phones.append(decrypt_text(case.reporter_phone_enc, PHONE))
    for user_id, phone_enc in Supporter.objects.filter(case=case).values_list("user_id", "phone_enc"):
        if user_id:
            users.add(user_id)
        elif phone_enc:
            phones.append(decrypt_text(phone_enc, PHONE))
    to_users(users, case, kind, data, now)
    if phones:
        with translation.override("zh-hans"):  # residents are written to in Chinese
            text = f"【{settings.COUNTY_NAME}】" + render(kind, data)
        transaction.on_commit(partial(_send_sms, sorted(set(phones)), text))


def unit_users(department_id: int, grid_path: str) -> list[int]:
    """The handlers of a department, and its grid guides whose grids hold the case."""
    rows = RoleAssignment.objects.filter(
        department_id=department_id, role__in=[Role.DEPT_HANDLER, Role.GRID_GUIDE]
    ).values_list("user_id", "role", "grid__path")
    return [u for u, role, path in rows if role == Role.DEPT_HANDLER or (path and grid_path.startswith(path))]


def grid_users(grid_ids: Iterable[int | None], roles: Iterable[str]) -> list[int]:
    """Users holding one of `roles` on exactly one of the grids (e.g. the grid staff of a level-3 grid)."""
    ids = [g for g in grid_ids if g]
    if not ids:
        return []
    return list(
        RoleAssignment.objects.filter(grid_id__in=ids, role__in=list(roles)).values_list("user_id", flat=True)
    )
