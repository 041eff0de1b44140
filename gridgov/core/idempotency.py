"""Idempotent POSTs for clients on a bad network (the phone app's offline queue, integrations).

A POST under /api/ by a signed-in user that carries an `Idempotency-Key` header runs in one transaction with a
claim on (user, key); its answer, when successful, is kept with the claim. The same request sent again — the
phone never saw the answer, or sent it twice — gets the kept answer (header `Idempotent-Replayed: true`) and
changes nothing. A refusal is not kept: the change did not happen, so trying again (after signing in again,
say) must run again. The kept answer is encrypted at rest (it may carry a case's description or address);
answers that must be recomputed and audited every time (the reporter's unmasking) are never kept
(IDEMPOTENCY_NEVER_KEPT).

A path of IDEMPOTENCY_OWN_KEY is left to its view, which takes the header as its own key and keeps it with the
change it makes (intake: the case's `idempotency_key`, whose unique index answers a repeated report with the
first case). A claim beside it would double the writes, and on SQLite (BEGIN IMMEDIATE) it would hold the
database's write lock through the whole view instead of through the view's own short transaction.

Two copies of one request at the same moment: on PostgreSQL the second claim waits on the unique index until the
first commits, then replays its answer; on SQLite the write transactions (BEGIN IMMEDIATE) run one after the
other."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import housekeeping
from .crypto import provider
from .errors import Invalid
from .models import IdempotentResponse
from .schemas import error_body

HEADER = "Idempotency-Key"
KEY_MAX = 80
KEEP_DAYS = 30
PURPOSE = b"idempotent-answer"
NEVER_KEPT = [re.compile(p) for p in settings.IDEMPOTENCY_NEVER_KEPT]
OWN_KEY = [re.compile(p) for p in settings.IDEMPOTENCY_OWN_KEY]


def _refusal(message: str) -> HttpResponse:
    refusal = Invalid(message, field="idempotency_key")
    return HttpResponse(
        json.dumps(error_body(refusal)), status=refusal.status, content_type="application/json"
    )


def _replay(kept: IdempotentResponse) -> HttpResponse:
    body = provider().decrypt(bytes(kept.body), PURPOSE)
    response = HttpResponse(body, status=kept.status, content_type=kept.content_type or None)
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER, "").strip()
        path = request.path_info  # without the prefix the site may be served under
        if (
            not key
            or request.method != "POST"
            or not path.startswith("/api/")
            or any(p.search(path) for p in NEVER_KEPT)
            or any(p.search(path) for p in OWN_KEY)
        ):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)  # the API answers 401; nothing to keep
        if len(key) > KEY_MAX:
            return _refusal(_("The idempotency key is longer than 80 characters."))
        with transaction.atomic():
            claim = _claim(user.pk, key, path[:300])
            if claim is None:
                kept = IdempotentResponse.objects.get(user=user, key=key)
                if kept.path != path[:300]:
                    return _refusal(_("This idempotency key was used for another request."))
                return _replay(kept)
            response = self.get_response(request)
            if 200 <= response.status_code < 300 and not response.streaming:
                _keep(claim, response)
            else:
                _release(claim)
        return response


# Plain SQL: every POST of the phone's queue claims its key, and the ORM's model, savepoint and save cost more
# than the two statements themselves.
def _table() -> str:
    return connection.ops.quote_name(IdempotentResponse._meta.db_table)


def _claim(user_id: int, key: str, path: str) -> int | None:
    """Claim (user, key) in the current transaction: the claim's id, or None when the key was claimed before.

    ON CONFLICT DO NOTHING instead of a savepoint around a failing INSERT: one statement. On PostgreSQL a claim
    of the same key by a transaction still running makes this one wait for it; once it commits, there is
    nothing to claim and the caller reads its answer."""
    at = IdempotentResponse._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    key_column = connection.ops.quote_name("key")  # a keyword of SQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table()} (user_id, {key_column}, path, status, content_type, body, created_at) "  # noqa: S608
            f"VALUES (%s, %s, %s, 0, '', %s, %s) ON CONFLICT (user_id, {key_column}) DO NOTHING RETURNING id",
            [user_id, key, path, _binary(b""), at],
        )
        row = cursor.fetchone()
    return row[0] if row is not None else None


def _binary(data: bytes) -> Any:
    return IdempotentResponse._meta.get_field("body").get_db_prep_save(data, connection)


def _keep(claim: int, response: HttpResponse) -> None:
    body = _binary(provider().encrypt(response.content, PURPOSE))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET status = %s, content_type = %s, body = %s WHERE id = %s",  # noqa: S608
            [response.status_code, response.get("Content-Type", ""), body, claim],
        )


def _release(claim: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE id = %s", [claim])  # noqa: S608


@housekeeping.register
def purge() -> int:
    """Forget kept answers older than KEEP_DAYS (a queue waits days at most, not months)."""
    cutoff = timezone.now() - timedelta(days=KEEP_DAYS)
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
