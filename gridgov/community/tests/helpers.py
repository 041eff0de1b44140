"""Helpers of the community tests: the calls through Django's test client, a snapshot of what a refused call
must leave unchanged, and moving an activity's times (what the clock does between a sign-up and attendance)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from gridgov.community.models import Activity, Member, SignUp, Task, Team
from gridgov.core.models import AuditHead, AuditRecord


def as_user(user: Any, language: str = "en") -> Client:
    """A signed-in client, reading pages in `language` (English: the tests read the source strings)."""
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def fresh(user: Any) -> Any:
    """The same user without what one request kept (roles, reach), as the next request reads them."""
    for name in ("_community_reach", "_gridgov_held", "_gridgov_scope"):
        user.__dict__.pop(name, None)
    return user


def snapshot() -> dict[str, Any]:
    """Every community row as stored, how many audit records there are, and the head of the audit chain."""

    def rows(model: Any) -> list[Any]:
        names = [f.attname for f in model._meta.concrete_fields]
        return list(model.objects.order_by("pk").values_list(*names))

    return {
        "teams": rows(Team),
        "members": rows(Member),
        "activities": rows(Activity),
        "signups": rows(SignUp),
        "tasks": rows(Task),
        "audit": AuditRecord.objects.count(),
        "head": AuditHead.objects.filter(pk=1).values_list("last_hash", flat=True).first(),
    }


def shift(activity: Activity, start: dt.datetime, hours: float = 3) -> Activity:
    """Put the activity at `start` for `hours` (the tests' clock: a sign-up made, the activity then begun)."""
    Activity.objects.filter(pk=activity.pk).update(starts_at=start, ends_at=start + dt.timedelta(hours=hours))
    activity.refresh_from_db()
    return activity


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and body["detail"] == body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body
