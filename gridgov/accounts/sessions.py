"""Django's database sessions, read with one precompiled statement: every request of a signed-in user reads
its session (core.rawsql says why)."""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from gridgov.core.rawsql import db_datetime, get_row


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        session = get_row(
            Session, "session_key = %s AND expire_date > %s", [self.session_key, db_datetime(timezone.now())]
        )
        if session is None:
            self._session_key = None
        return session
