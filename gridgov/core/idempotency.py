"""Idempotent POSTs for clients on a bad network (the phone app's offline queue, integrations).

A POST under /api/ by a signed-in user that carries an `Idempotency-Key` header runs in one transaction with a
claim on (user, key); its answer, when successful, is kept with the claim. The same request sent again — the
phone never saw the answer, or sent it twice — gets the kept answer (header `Idempotent-Replayed: true`) and
changes nothing. A refusal is not kept: the change did not happen, so trying again (after signing in again,
say) must run again. The kept answer is encrypted at rest (it may carry a case's description or address);
answers that must be recomputed and audited every time (the reporter's unmasking) are never kept
(IDEMPOTENCY_NEVER_KEPT).

Two copies of one request at the same moment: on PostgreSQL the second claim waits on the unique index until the
first commits, then replays its answer; on SQLite the write transactions (BEGIN IMMEDIATE) run one after the
other."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
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
        ):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)  # the API answers 401; nothing to keep
        if len(key) > KEY_MAX:
            return _refusal(_("The idempotency key is longer than 80 characters."))
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = IdempotentResponse.objects.create(user=user, key=key, path=path[:300])
            except IntegrityError:
                kept = IdempotentResponse.objects.get(user=user, key=key)
                if kept.path != path[:300]:
                    return _refusal(_("This idempotency key was used for another request."))
                return _replay(kept)
            response = self.get_response(request)
            if 200 <= response.status_code < 300 and not response.streaming:
                claim.status = response.status_code
                claim.content_type = response.get("Content-Type", "")
                claim.body = provider().encrypt(response.content, PURPOSE)
                claim.save(update_fields=["status", "content_type", "body"])
            else:
                claim.delete()
        return response


@housekeeping.register
def purge() -> int:
    """Forget kept answers older than KEEP_DAYS (a queue waits days at most, not months)."""
    cutoff = timezone.now() - timedelta(days=KEEP_DAYS)
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted
