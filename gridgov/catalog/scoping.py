"""Who sees the responsibility list. It is county-wide dictionary data: every staff member sees all of it;
a resident (own-records scope only) sees the active items and the modules, which is what reporting a
problem needs, but not the internals (time limits, routing rules). Departments' rule lives in accounts."""

from __future__ import annotations

from typing import Any

from django.db import models

from gridgov.accounts.scoping import scope_of
from gridgov.core.scoping import register

from .models import Item, ItemQuestion, Module, RoutingRule, TimeLimit


@register(Module)
def _modules(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs


@register(Item)
def _items(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(active=True) if scope_of(user).own_only else qs


@register(TimeLimit)
def _limits(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.none() if scope_of(user).own_only else qs


@register(RoutingRule)
def _rules(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.none() if scope_of(user).own_only else qs


@register(ItemQuestion)
def _questions(user: Any, qs: models.QuerySet) -> models.QuerySet:
    # As the items they belong to: what a resident reporting a problem is asked.
    return qs.filter(item__active=True) if scope_of(user).own_only else qs
