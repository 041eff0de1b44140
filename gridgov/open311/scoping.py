"""Who sees the Open311 app's records: the operators and the system administrator who manage keys and webhooks."""

from __future__ import annotations

from typing import Any

from django.db import models

from gridgov.core.scoping import register

from .models import ApiKey, Delivery, ServiceRequest, Subscriber


def _managers_only(user: Any, qs: models.QuerySet) -> models.QuerySet:
    from .views import may_manage

    return qs if may_manage(user) else qs.none()


for _model in (ApiKey, Subscriber, Delivery, ServiceRequest):
    register(_model)(_managers_only)
