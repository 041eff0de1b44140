"""Sign-in with the 等保 level-3 failure policy: after LOGIN_FAILURE_LIMIT failures in a row the account is
locked for LOGIN_LOCK_MINUTES; every attempt is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gridgov.core import audit
from gridgov.core.audit import client_ip
from gridgov.core.rawsql import get_row

from .models import User


class LockoutBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user of a request, read with one precompiled statement (every request reads it)."""
        user = get_row(User, "id = %s", [int(user_id)])
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ):
        if username is None or password is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(
                password
            )  # same work as a real check: no timing hint that the name is unknown
            audit.atomic_record(
                "login.failed", data={"username": username[:150]}, success=False, ip=client_ip(request)
            )
            return None
        if user.is_locked:
            audit.atomic_record("login.locked", actor=user, success=False, ip=client_ip(request))
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            with transaction.atomic():
                User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
                audit.record("login", actor=user, ip=client_ip(request))
            return user
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
            user.refresh_from_db(fields=["failed_logins"])
            locked = user.failed_logins >= settings.LOGIN_FAILURE_LIMIT
            if locked:
                until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
                User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=until)
            audit.record(
                "login.locked_now" if locked else "login.failed",
                actor=user,
                success=False,
                ip=client_ip(request),
                data={"failures": user.failed_logins},
            )
        return None
