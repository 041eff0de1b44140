"""Fieldwork API: patrols (check-in, GPS track, check-out), made on the phone, often offline, and sent later.

Every write is idempotent: the check-in's key starts one patrol however often it is sent (201 the first time,
200 after), a track batch sent again adds nothing, a second check-out answers the first. A worker touches
only their own patrols (anybody else's answers 404); lists read through `visible_to`. Forms are
`multipart/form-data` or urlencoded, like the case API's."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Form, Query, Router, Status

from gridgov.cases.api import READ_ERRORS, WRITE_ERRORS
from gridgov.cases.schemas import PageQuery
from gridgov.cases.story import local

from . import selectors, services
from .errors import NotAllowed
from .models import Patrol
from .schemas import (
    EndIn,
    PatrolGrid,
    PatrolKey,
    PatrolListQuery,
    PatrolOut,
    PatrolPage,
    StartIn,
    TrackIn,
    Worker,
)
from .scoping import reads_patrols

router = Router(tags=["fieldwork"])


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _out(patrol: Patrol) -> PatrolOut:
    grid, worker = patrol.grid, patrol.user
    return PatrolOut(
        key=patrol.key,
        grid=PatrolGrid(id=grid.pk, code=grid.code, name=grid.name),
        worker=Worker(id=worker.pk, name=str(worker)),
        started_at=local(patrol.started_at),
        ended_at=local(patrol.ended_at),
        points=patrol.points,
        distance_m=round(patrol.distance_m, 1),
        duration_s=patrol.duration_s,
    )


def _page(qs: QuerySet[Patrol], page: PageQuery) -> PatrolPage:
    """Keyset paging, newest check-in first (ties by id): `before` is the id of the last patrol of the previous
    page. No COUNT of the whole list; one row more tells `has_more`."""
    if page.before is not None:
        anchor = qs.filter(pk=page.before).values_list("started_at", flat=True).first()
        if anchor is None:
            return PatrolPage(items=[], has_more=False, next_before=None)
        qs = qs.filter(Q(started_at__lt=anchor) | Q(started_at=anchor, pk__lt=page.before))
    rows = list(qs.order_by("-started_at", "-id")[: page.limit + 1])
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return PatrolPage(items=[_out(p) for p in rows], has_more=more, next_before=rows[-1].pk if more else None)


@router.post(
    "/patrols",
    response={200: PatrolOut, 201: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_start",
    summary="Check in (start a patrol)",
)
def start(request: HttpRequest, payload: Form[StartIn]):
    """Start a patrol at `at` (the phone's time) of the caller's grid holding the point, else of their first
    grid. 201 with the new patrol; 200 with the same patrol when its key was seen before. 403: only grid
    specialists and information officers of a current grid patrol; 409: the key is another worker's."""
    result = services.do_start_patrol(
        request.user, payload.key, payload.at, payload.lon, payload.lat, _ip(request)
    )
    return Status(201 if result.created else 200, _out(result.patrol))


@router.post(
    "/patrols/{key}/track",
    response={200: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_track",
    summary="Add a batch of the GPS track",
)
def track(request: HttpRequest, key: PatrolKey, payload: Form[TrackIn]):
    """Add points to the caller's patrol, kept in time order. Points of a time already stored are skipped (a
    batch sent again adds nothing); a point out of time order, outside the patrol or malformed refuses the whole
    batch (422, field `points`, the message names the point)."""
    return _out(services.do_add_track(key, request.user, payload.points, _ip(request)))


@router.post(
    "/patrols/{key}/end",
    response={200: PatrolOut, **WRITE_ERRORS},
    url_name="patrol_end",
    summary="Check out (end a patrol)",
)
def end(request: HttpRequest, key: PatrolKey, payload: Form[EndIn]):
    """End the caller's patrol at `at` (the phone's time). Ending it again answers the patrol as it ended the
    first time."""
    return _out(services.do_end_patrol(key, request.user, payload.at, payload.lon, payload.lat, _ip(request)))


@router.get("/patrols", response={200: PatrolPage, **READ_ERRORS}, url_name="patrol_list", summary="Patrols")
def patrol_list(request: HttpRequest, filters: Query[PatrolListQuery], page: Query[PageQuery]):
    """The caller's own patrols, newest first. With `grid` (a grid code: its subtree) and/or `day`
    (YYYY-MM-DD, the local day of the check-in): the patrols of the grids the caller oversees — a village's
    head their village, operators and leaders their subtree; a grid they do not oversee shows none. Paged by
    `before` (the `next_before` of the previous page)."""
    user: Any = request.user
    if not reads_patrols(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators and leaders see patrols."))
    return _page(selectors.patrols(user, grid=filters.grid, day=filters.day), page)
