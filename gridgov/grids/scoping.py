"""Scoping rules for the grid history models. The rule for `Grid` itself lives in accounts/scoping.py (it
reads role assignments); these follow it, so a user sees the versions and adjustments of the grids they see."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from gridgov.core.scoping import register, visible_to

from .models import Grid, GridChange, GridVersion


@register(GridVersion)
def _versions(user: Any, qs: models.QuerySet) -> models.QuerySet:
    return qs.filter(grid__in=visible_to(user, Grid).values("pk"))


@register(GridChange)
def _changes(user: Any, qs: models.QuerySet) -> models.QuerySet:
    seen = visible_to(user, Grid).values("pk")
    return qs.filter(Q(opened__in=seen) | Q(closed__in=seen) | Q(versions__grid__in=seen)).distinct()
