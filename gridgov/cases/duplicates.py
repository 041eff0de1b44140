"""Finding what was already reported: an open case of the same item, near, recent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from gridgov.core.rawsql import db_datetime

from .choices import OPEN_STATES
from .models import Case

EARTH_RADIUS_M = 6_371_008.8
# Open cases of an item reported since a time, in a box (the bounding box of the circle), by the
# (item, created_at) index.
_STATE_MARKS = ", ".join(["%s"] * len(OPEN_STATES))
NEAR_SQL = (
    "SELECT id, lon, lat FROM cases_case WHERE item_id = %s AND created_at >= %s"  # noqa: S608 - marks only
    f" AND state IN ({_STATE_MARKS}) AND lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s ORDER BY id LIMIT 50"
)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine): exact enough at tens of metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Candidate:
    case: Case
    distance_m: float


def find_duplicates(
    item_id: int,
    lon: float,
    lat: float,
    now: datetime,
    *,
    radius_m: float | None = None,
    hours: float | None = None,
) -> list[Candidate]:
    """Open cases of `item_id` within `radius_m` of the point, reported in the last `hours`, nearest first.

    A bounding box on the indexed (item, created_at) rows narrows the search; the exact distance decides.
    Only the points are read first: most reports have no duplicate, and a whole case row costs more to
    read than the search itself."""
    radius_m = settings.CASE_DUPLICATE_RADIUS_M if radius_m is None else radius_m
    hours = settings.CASE_DUPLICATE_WINDOW_HOURS if hours is None else hours
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    box = (lon - dlon, lon + dlon, lat - dlat, lat + dlat)
    # One precompiled statement (core.rawsql says why): every report asks it.
    with connection.cursor() as cursor:
        cursor.execute(
            NEAR_SQL,
            [item_id, db_datetime(now - timedelta(hours=hours)), *OPEN_STATES, *box],
        )
        points = cursor.fetchall()
    near = {
        pk: d
        for pk, case_lon, case_lat in points
        if case_lon is not None
        and case_lat is not None
        and (d := distance_m(lon, lat, case_lon, case_lat)) <= radius_m
    }
    if not near:
        return []
    found = [Candidate(case, near[case.pk]) for case in Case.objects.filter(pk__in=near).order_by("id")]
    return sorted(found, key=lambda c: c.distance_m)
