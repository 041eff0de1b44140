"""Reads of the grid tree and its history. What a user triggers goes through `visible_to`; the unscoped
`tree_on` serves commands, services and tests.

(The map page's reads live in map_selectors.py.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Q

from gridgov.core.scoping import visible_to

from . import scoping  # noqa: F401  (registers the rules for versions and changes)
from .models import Grid, GridVersion


def _valid_on(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def tree_on(day: dt.date) -> models.QuerySet[GridVersion]:
    """The tree as it was on `day`: the version of every grid valid that day (boundary, area, parent), with
    its grid (code, name, level, kind) and parent grid joined, in code order. Unscoped."""
    return GridVersion.objects.filter(_valid_on(day)).select_related("grid", "parent").order_by("grid__code")


def visible_tree_on(user: Any, day: dt.date) -> models.QuerySet[GridVersion]:
    """`tree_on(day)` narrowed to the grids `user` may see."""
    return tree_on(day).filter(grid__in=visible_to(user, Grid).values("pk"))
