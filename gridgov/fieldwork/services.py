"""The only code that changes a patrol: check-in, track batches, check-out.

Each call may come long after it was made on the phone (an offline queue), and may come twice: the same key
starts one patrol, a track batch adds only points of times not stored yet, a second check-out answers
the first. Times are the phone's; the server refuses only what cannot be true (in the future, before the
patrol). Check-in and check-out are audited; track batches are not (they are many, and carry nothing a person
decided). No live event is published: the outbox's readers (the workbench's live pages) take every event in a
town for a changed case."""

from __future__ import annotations

import itertools
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from gridgov.cases.duplicates import distance_m
from gridgov.cases.services import wgs84_point
from gridgov.core import audit
from gridgov.grids.coords import WGS84
from gridgov.grids.locator import locate
from gridgov.grids.models import Grid

from .errors import Conflict, Invalid, NotAllowed
from .models import Patrol
from .selectors import own_patrol, patrol_grids

# A phone's clock may run a little ahead of the server's.
CLOCK_SLACK = timedelta(minutes=5)
# A fix the phone took just before check-in (or a moment after check-out) still belongs to the patrol.
POINT_SLACK = timedelta(minutes=1)
# Older check-ins are a phone with a wrong clock, not a queue that waited.
MAX_AGE = timedelta(days=30)
MAX_BATCH = 2000
# A day's round at one fix every five seconds.
MAX_TRACK = 20_000


@dataclass(frozen=True)
class StartResult:
    patrol: Patrol
    created: bool


# ---------------------------------------------------------------------------------------------- input


def _key(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value or "").strip())
    except ValueError as exc:
        raise Invalid(_("The patrol's key must be a UUID made on the phone."), field="key") from exc


def _moment(value: Any, field: str) -> datetime:
    """The phone's time, ISO 8601; without an offset it is read as local (Asia/Shanghai) time."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    else:
        try:
            moment = parse_datetime(str(value or "").strip())
        except ValueError:
            moment = None
    if moment is None:
        raise Invalid(
            _("Give the time as ISO 8601, for example 2026-11-25T09:30:00+08:00."),
            field=field,
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + CLOCK_SLACK:
        raise Invalid(_("This time lies in the future: check the phone's clock."), field=field)


def _place(lon: Any, lat: Any) -> tuple[float, float] | None:
    """A WGS-84 point (GPS), or None when the phone had no fix."""
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise Invalid(_("Give both longitude and latitude."), field="lon" if lon is None else "lat")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("Longitude and latitude are numbers."), field="lon") from exc
    return wgs84_point(x, y, WGS84)  # the case engine's check of a point (NaN and infinity fail its range)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def parse_points(points: Any) -> list[list[float]]:
    """A batch of track points, as the phone sends it (a JSON text) or already decoded: each
    [lon, lat, epoch_ms, accuracy_m], every one later than the one before. Answers them normalised
    ([lon, lat, int epoch_ms, accuracy]); refuses the whole batch at the first bad point."""
    if isinstance(points, str | bytes):
        try:
            points = json.loads(points, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise Invalid(
                _(
                    "The track must be a JSON list of points [longitude, latitude, time in ms, accuracy in m]."
                ),
                field="points",
            ) from exc
    if not isinstance(points, list | tuple):
        raise Invalid(
            _("The track must be a JSON list of points [longitude, latitude, time in ms, accuracy in m]."),
            field="points",
        )
    if len(points) > MAX_BATCH:
        raise Invalid(
            _("Send at most %(limit)d points at a time.") % {"limit": MAX_BATCH},
            field="points",
        )
    out: list[list[float]] = []
    for number, point in enumerate(points, start=1):
        values = list(point) if isinstance(point, list | tuple) else []
        if len(values) != 4 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
        ):
            raise Invalid(
                _("Point %(number)d is not [longitude, latitude, time in ms, accuracy in m].")
                % {"number": number},
                field="points",
            )
        lon, lat, ms, accuracy = values
        if not -180 <= lon <= 180:
            raise Invalid(
                _("Point %(number)d: longitude must lie between -180 and 180.") % {"number": number},
                field="points",
            )
        if not -90 <= lat <= 90:
            raise Invalid(
                _("Point %(number)d: latitude must lie between -90 and 90.") % {"number": number},
                field="points",
            )
        if accuracy < 0:
            raise Invalid(
                _("Point %(number)d: the accuracy cannot be negative.") % {"number": number}, field="points"
            )
        if not 0 <= ms < 2**53:
            raise Invalid(
                _("Point %(number)d: the time is not a moment in milliseconds since 1970.")
                % {"number": number},
                field="points",
            )
        if out and int(ms) <= out[-1][2]:
            raise Invalid(
                _("Point %(number)d is not later than the point before it: send the points in time order.")
                % {"number": number},
                field="points",
            )
        out.append([float(lon), float(lat), int(ms), round(float(accuracy), 1)])
    return out


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _length(points: list[list[float]]) -> float:
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


# ---------------------------------------------------------------------------------------------- check-in


def _grid_for(grids: list[Grid], place: tuple[float, float] | None) -> Grid:
    """The worker's grid holding the point; else their first grid (a check-in just outside, or without a fix)."""
    if place is not None:
        where = locate(*place)
        for grid in grids:
            if grid.pk in (where.l3_id, where.grid_id):
                return grid
    return grids[0]


def _replay(patrol: Patrol, user: Any) -> StartResult:
    if patrol.user_id != user.pk:
        raise Conflict(_("This key belongs to another patrol: make a new one."), field="key")
    return StartResult(patrol=patrol, created=False)


def _existing(key: uuid.UUID) -> Patrol | None:
    return Patrol.objects.select_related("grid", "user").defer("grid__geometry").filter(key=key).first()


def do_start_patrol(
    user: Any,
    key: Any,
    at: Any,
    lon: Any = None,
    lat: Any = None,
    ip: str | None = None,
    *,
    now: datetime | None = None,
) -> StartResult:
    """Check in: a patrol of the worker's grid holding the point (else their first grid), started at `at` on
    the phone. The same key again answers the first patrol (`created` False) and changes nothing."""
    key = _key(key)
    existing = _existing(key)
    if existing is not None:
        return _replay(existing, user)
    grids = patrol_grids(user)
    if not grids:
        raise NotAllowed(
            _("Only grid specialists and information officers assigned to a current grid go on patrol.")
        )
    now = now or timezone.now()
    started = _moment(at, "at")
    _not_in_future(started, now, "at")
    if started < now - MAX_AGE:
        raise Invalid(
            _("This check-in is more than %(days)d days old: check the phone's clock.")
            % {"days": MAX_AGE.days},
            field="at",
        )
    place = _place(lon, lat)
    grid = _grid_for(grids, place)
    try:
        with transaction.atomic(durable=not connection.in_atomic_block):
            patrol = Patrol.objects.create(
                key=key,
                user=user,
                grid=grid,
                grid_l1_id=grid.l1_id,
                grid_l2_id=grid.l2_id,
                started_at=started,
                start_lon=place[0] if place else None,
                start_lat=place[1] if place else None,
                created_at=now,
            )
            audit.record(
                "patrol.start",
                actor=user,
                target=patrol,
                data={
                    "key": str(key),
                    "grid": grid.code,
                    "at": started.isoformat(),
                    "lon": patrol.start_lon,
                    "lat": patrol.start_lat,
                },
                ip=ip,
            )
    except IntegrityError:
        # The same check-in sent twice at the same moment: the first one committed; answer with it.
        existing = _existing(key)
        if existing is None:
            raise
        return _replay(existing, user)
    return StartResult(patrol=patrol, created=True)


# ---------------------------------------------------------------------------------------------- the track


def do_add_track(
    patrol_key: Any, user: Any, points: Any, ip: str | None = None, *, now: datetime | None = None
) -> Patrol:
    """Add a batch to the track, in time order: points of times not stored yet are kept (a batch sent again
    adds nothing, crossed batches both count); each must lie within the patrol, on the phone's clock. A bad point refuses the whole batch."""
    patrol = own_patrol(user, patrol_key)
    batch = parse_points(points)
    now = now or timezone.now()
    with transaction.atomic(durable=not connection.in_atomic_block):
        # Locked: two batches of one patrol must not both append after the same last point.
        current = Patrol.objects.select_for_update().get(pk=patrol.pk)
        first = _epoch_ms(current.started_at - POINT_SLACK)
        last = _epoch_ms(
            min(now + CLOCK_SLACK, current.ended_at + POINT_SLACK) if current.ended_at else now + CLOCK_SLACK
        )
        track: list[list[float]] = current.track or []
        stored = {p[2] for p in track}
        fresh = []
        for number, point in enumerate(batch, start=1):
            if point[2] in stored:
                continue  # stored already: a batch sent again, or two batches overlapping
            if point[2] < first:
                raise Invalid(
                    _("Point %(number)d was taken before the check-in.") % {"number": number}, field="points"
                )
            if point[2] > last:
                if current.ended_at is not None and point[2] <= _epoch_ms(now + CLOCK_SLACK):
                    message = _("Point %(number)d was taken after the check-out.")
                else:
                    message = _("Point %(number)d lies in the future: check the phone's clock.")
                raise Invalid(message % {"number": number}, field="points")
            fresh.append(point)
        if not fresh:
            return _with_relations(current, patrol)
        if len(track) + len(fresh) > MAX_TRACK:
            raise Invalid(
                _("A patrol's track holds at most %(limit)d points: check out and start a new patrol.")
                % {"limit": MAX_TRACK},
                field="points",
            )
        if track and fresh[0][2] < track[-1][2]:
            # A batch older than what is stored (batches crossed on the network): the track is kept in time
            # order, so its length is measured again.
            current.track = sorted(track + fresh, key=lambda p: p[2])
            current.distance_m = _length(current.track)
        else:
            current.distance_m += _length(track[-1:] + fresh)
            current.track = track + fresh
        current.points = len(current.track)
        current.save(update_fields=["track", "points", "distance_m"])
    return _with_relations(current, patrol)


def _with_relations(current: Patrol, read: Patrol) -> Patrol:
    """The locked row with the grid and worker already read (no second query for them)."""
    current.grid = read.grid
    current.user = read.user
    return current


# ---------------------------------------------------------------------------------------------- check-out


def do_end_patrol(
    patrol_key: Any,
    user: Any,
    at: Any,
    lon: Any = None,
    lat: Any = None,
    ip: str | None = None,
    *,
    now: datetime | None = None,
) -> Patrol:
    """Check out at `at` on the phone. A patrol already ended answers as it ended the first time."""
    patrol = own_patrol(user, patrol_key)
    if patrol.ended_at is not None:
        return patrol
    now = now or timezone.now()
    ended = _moment(at, "at")
    _not_in_future(ended, now, "at")
    if ended < patrol.started_at:
        raise Invalid(_("The check-out cannot come before the check-in."), field="at")
    place = _place(lon, lat)
    with transaction.atomic(durable=not connection.in_atomic_block):
        current = Patrol.objects.select_for_update().get(pk=patrol.pk)
        if current.ended_at is not None:  # the same check-out, sent twice at once
            return _with_relations(current, patrol)
        current.ended_at = ended
        current.end_lon, current.end_lat = place if place else (None, None)
        current.save(update_fields=["ended_at", "end_lon", "end_lat"])
        audit.record(
            "patrol.end",
            actor=user,
            target=current,
            data={
                "key": str(current.key),
                "at": ended.isoformat(),
                "lon": current.end_lon,
                "lat": current.end_lat,
                "points": current.points,
                "distance_m": round(current.distance_m, 1),
            },
            ip=ip,
        )
    return _with_relations(current, patrol)
