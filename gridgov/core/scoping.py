"""The one scoping entry point: every read a user can trigger starts from `visible_to(user, Model)`.

Apps register a rule per model (`register(Model)(rule)`); core knows no domain app. Views, the API and the
admin all call `visible_to`; what it leaves out does not exist for that user (404, never 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q
from django.http import Http404

M = TypeVar("M", bound=models.Model)
Rule = Callable[[Any, models.QuerySet], models.QuerySet]
_rules: dict[type[models.Model], Rule] = {}


def register(model: type[models.Model]) -> Callable[[Rule], Rule]:
    def decorator(rule: Rule) -> Rule:
        _rules[model] = rule
        return rule

    return decorator


def register_filter(model: type[models.Model], filter_of: Callable[[Any], Q | None]) -> None:
    """The rule of `model`: the rows `filter_of(user)` finds (None: every row)."""

    def rule(user: Any, qs: models.QuerySet) -> models.QuerySet:
        q = filter_of(user)
        return qs if q is None else qs.filter(q)

    _rules[model] = rule


def visible_to(user: Any, model_or_queryset: type[M] | models.QuerySet[M]) -> models.QuerySet[M]:
    """The rows of a model (or the given queryset narrowed) that `user` may see. Unknown models show nothing."""
    if isinstance(model_or_queryset, models.QuerySet):
        qs, model = model_or_queryset, model_or_queryset.model
    else:
        model = model_or_queryset
        qs = model._default_manager.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    rule = _rules.get(model)
    if rule is None:
        return qs.none()
    return rule(user, qs)


def get_visible_or_404(user: Any, model_or_queryset: type[M] | models.QuerySet[M], **lookup: Any) -> M:
    try:
        return visible_to(user, model_or_queryset).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError) as exc:
        raise Http404 from exc


def holds_duty(user: Any, duties: tuple[str, ...]) -> bool:
    """三员分立: each admin page belongs to one administrator duty. A superuser (`gridgov createsuperuser`) is
    a bootstrap account: it holds every duty only until the first administrator duty has been given, so no
    account holds all three once the county runs."""
    if not (user.is_active and user.is_staff):
        return False
    if user.admin_duty in duties:
        return True
    return bool(user.is_superuser and not _duties_given(user))


def _duties_given(user: Any) -> bool:
    cached = getattr(user, "_gridgov_duties_given", None)
    if cached is None:
        cached = type(user).objects.exclude(admin_duty="").exists()
        user._gridgov_duties_given = cached
    return cached
