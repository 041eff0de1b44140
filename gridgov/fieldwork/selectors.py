"""Scoped reads of patrols: the grids a worker patrols, a worker's own patrol, and the lists."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .errors import PatrolNotFound
from .models import Patrol
from .scoping import in_subtree

# The roles held over a level-3 grid whose holders patrol it.
PATROL_ROLES = (Role.GRID_SPECIALIST, Role.INFO_OFFICER)


def patrol_grids(user: Any) -> list[Grid]:
    """The current level-3 grids the user patrols (as a grid specialist or an information officer), by code."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Grid.objects.current()
        .filter(level=3, assignments__user=user, assignments__role__in=PATROL_ROLES)
        .defer("geometry")
        .distinct()
        .order_by("code")
    )


def may_patrol(user: Any) -> bool:
    return bool(patrol_grids(user))


def own_patrol(user: Any, key: Any) -> Patrol:
    """The user's own patrol with this key; anybody else's, or a key that is no UUID, does not exist."""
    try:
        key = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError as exc:
        raise PatrolNotFound from exc
    patrol = Patrol.objects.select_related("grid", "user").defer("grid__geometry").filter(key=key).first()
    if patrol is None or patrol.user_id != user.pk:
        raise PatrolNotFound
    return patrol


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an interval of aware times."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def patrols(user: Any, *, grid: str | None = None, day: dt.date | None = None) -> QuerySet[Patrol]:
    """Without a grid or a day: the user's own patrols. With them: the patrols the user sees in that grid's
    subtree (a grid they do not see holds none) and/or started on that local day."""
    qs = visible_to(user, Patrol).select_related("grid", "user").defer("track", "grid__geometry")
    if grid is None and day is None:
        return qs.filter(user=user)
    if grid is not None:
        found = visible_to(user, Grid.objects.current()).filter(code=grid.strip()).only("path").first()
        qs = qs.filter(in_subtree(found.path)) if found is not None else qs.none()
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    return qs
