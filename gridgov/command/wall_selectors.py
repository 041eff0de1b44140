"""The command-centre wall's figures for one grid's subtree: counters, per-child load, open case points, an H3
hexagon heat layer, 30-day trends and rankings.

Fast at a million cases (bench/command.py): every query filters on indexed columns (the subtree's
denormalised level id, the open states, `created_at`, the closing events' `event_action_time`), groups on the
children's level id (as cases/overview.py does) and returns a bounded number of rows. The heat layer groups the
recent reports on rounded coordinates in SQL (a few thousand groups at most) and turns each group into its H3
cell in Python: no column, index or extension for H3 in the case engine.

Every read starts from `visible_to(user, Case)` (through `overview.subtree_cases`); a grid the user may not
oversee does not exist for them (404)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import h3
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Floor, TruncDate
from django.http import Http404
from django.utils import timezone

from gridgov.accounts.scoping import grid_filter, held_roles
from gridgov.cases import overview as ov
from gridgov.cases.choices import OPEN_STATES, Rating, State
from gridgov.cases.models import CaseEvent
from gridgov.cases.scoping import GRID_READERS, case_q
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

TREND_DAYS = 30
POINTS_SHOWN = 500  # the newest open cases drawn as points
RANKED = 10
# The H3 resolution of the heat layer by the level of the grid shown (county, town, village, level-3 grid):
# hexagons of about 36 km², 5 km², 0.7 km² and 0.1 km² (a few hundred cells on the county's wall).
H3_RESOLUTION = {0: 6, 1: 7, 2: 8, 3: 9}
HEAT_DAYS = 7  # this week's hot spots; a month of a county's reports is 50,000 rows to group


@dataclass(frozen=True)
class Scope:
    grid: Grid
    tops: list[Grid]


def wall_scope(user: Any, code: str = "") -> Scope:
    """The grid the wall shows (`code`, or the top of what the user oversees). Not overseen: 404."""
    tops = ov.roots(user)
    if not tops:
        raise Http404
    if code:
        grid = Grid.objects.current().filter(code=code).defer("geometry").first()
        if grid is None or not ov.may_overview(user, grid, tops):
            raise Http404
    else:
        grid = tops[0]
    return Scope(grid, tops)


def midnight(now: dt.datetime) -> dt.datetime:
    """The start of the local (Asia/Shanghai) day of `now`."""
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def sees_whole_subtree(user: Any, grid: Grid) -> bool:
    """Whether every case of `grid`'s subtree is visible to `user`: a user who sees every case, or holds a
    grid role that reads every case of a subtree holding `grid` (the wall's users: `overview.roots`)."""
    if case_q(user) is None:
        return True
    return any(
        h.role in GRID_READERS and h.grid_path and grid.path.startswith(h.grid_path) for h in held_roles(user)
    )


def closings(user: Any, grid: Grid, start: dt.datetime) -> QuerySet[CaseEvent]:
    """The closing steps (核查结案, 自处置) of the subtree's cases since `start`, read from the events' index
    (`event_action_time`), joined once to the cases for the subtree's level id (none on the county's wall).
    Not through `visible_to(user, CaseEvent)` when the user sees the whole subtree anyway: its EXISTS on top of
    the join makes PostgreSQL walk every case of a town (0.3 s instead of 20 ms at a million cases)."""
    events = CaseEvent.objects.filter(action__in=ov.CLOSING_ACTIONS, created_at__gte=start).order_by()
    if not sees_whole_subtree(user, grid):
        events = visible_to(user, events)
    return events.filter(grid_filter(grid.path, prefix="case__"))


def counters(user: Any, grid: Grid, now: dt.datetime | None = None) -> dict[str, Any]:
    """Today's reports, the open, overdue and supervised cases now, the closings today; of the cases reported
    in the last 30 days, how many are closed and the satisfaction (satisfied or basically satisfied among the
    rated). Four queries."""
    now = now or timezone.now()
    today = midnight(now)
    month = today - dt.timedelta(days=TREND_DAYS - 1)
    cases = ov.subtree_cases(user, grid).order_by()
    reported_today = cases.filter(created_at__gte=today).count()
    snapshot = cases.filter(state__in=OPEN_STATES).aggregate(
        n_open=Count("pk"),
        n_overdue=Count("pk", filter=Q(due_at__lte=now)),
        n_supervised=Count("pk", filter=Q(supervised__gt=0)),
    )
    cohort = cases.filter(created_at__gte=month).aggregate(
        n=Count("pk"),
        n_closed=Count("pk", filter=Q(state=State.CLOSED)),
        n_rated=Count("pk", filter=Q(state=State.CLOSED) & ~Q(rating="")),
        n_pleased=Count("pk", filter=Q(state=State.CLOSED, rating__in=(Rating.SATISFIED, Rating.BASIC))),
    )
    rated = cohort["n_rated"]
    return {
        "reported_today": reported_today,
        "open": snapshot["n_open"],
        "overdue": snapshot["n_overdue"],
        "supervised": snapshot["n_supervised"],
        "closed_today": closings(user, grid, today).count(),
        "reported_30d": cohort["n"],
        "closed_30d": cohort["n_closed"],
        "closing_rate": round(100 * cohort["n_closed"] / cohort["n"], 1) if cohort["n"] else None,
        "rated_30d": rated,
        "satisfaction": round(100 * cohort["n_pleased"] / rated, 1) if rated else None,
    }


def _child_expr(level: int) -> ExpressionWrapper:
    # An expression, not the bare column: see cases/overview.py (SQLite would walk the whole index).
    return ExpressionWrapper(F(f"grid_l{level}_id") + Value(0), output_field=BigIntegerField())


def children(user: Any, grid: Grid, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per child grid (the grid itself at level 3): open, overdue and supervised cases now; reported in the
    last 30 days and how many of those are closed (the closing rate). Three queries."""
    now = now or timezone.now()
    month = midnight(now) - dt.timedelta(days=TREND_DAYS - 1)
    level = min(grid.level + 1, 3)
    if grid.level < 3:
        kids = list(
            Grid.objects.current()
            .filter(parent=grid)
            .order_by("code")
            .values("id", "code", "name", "level", "population")
        )
    else:
        kids = [
            {"id": grid.pk, "code": grid.code, "name": grid.name, "level": 3, "population": grid.population}
        ]
    rows = {
        k["id"]: {
            **k,
            "open": 0,
            "overdue": 0,
            "supervised": 0,
            "reported_30d": 0,
            "closed_30d": 0,
            "closing_rate": None,
        }
        for k in kids
    }
    cases = ov.subtree_cases(user, grid).order_by()
    child = _child_expr(level)
    for r in (
        cases.filter(state__in=OPEN_STATES)
        .annotate(child=child)
        .values("child")
        .annotate(
            n_open=Count("pk"),
            n_overdue=Count("pk", filter=Q(due_at__lte=now)),
            n_supervised=Count("pk", filter=Q(supervised__gt=0)),
        )
    ):
        if r["child"] in rows:
            row = rows[r["child"]]
            row["open"], row["overdue"], row["supervised"] = r["n_open"], r["n_overdue"], r["n_supervised"]
    for r in (
        cases.filter(created_at__gte=month)
        .annotate(child=child)
        .values("child")
        .annotate(n=Count("pk"), n_closed=Count("pk", filter=Q(state=State.CLOSED)))
    ):
        if r["child"] in rows:
            row = rows[r["child"]]
            row["reported_30d"], row["closed_30d"] = r["n"], r["n_closed"]
            row["closing_rate"] = round(100 * r["n_closed"] / r["n"], 1) if r["n"] else None
    return list(rows.values())


def rankings(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The children with the most overdue cases, and those with the best closing rate (of the cases reported
    in the last 30 days; children with none left out)."""
    by_overdue = sorted(
        (r for r in rows if r["overdue"]), key=lambda r: (-r["overdue"], -r["open"], r["code"])
    )
    by_rate = sorted(
        (r for r in rows if r["closing_rate"] is not None),
        key=lambda r: (-r["closing_rate"], -r["closed_30d"], r["code"]),
    )

    def brief(r: dict[str, Any]) -> dict[str, Any]:
        return {
            k: r[k] for k in ("code", "name", "open", "overdue", "reported_30d", "closed_30d", "closing_rate")
        }

    return {
        "overdue": [brief(r) for r in by_overdue[:RANKED]],
        "closing_rate": [brief(r) for r in by_rate[:RANKED]],
    }


def points(user: Any, grid: Grid, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The newest open cases with a location (at most `POINTS_SHOWN`), whether each is overdue. One query."""
    now = now or timezone.now()
    rows = (
        ov.subtree_cases(user, grid)
        .filter(state__in=OPEN_STATES, lon__isnull=False, lat__isnull=False)
        .order_by("-id")
        .values_list("number", "lon", "lat", "state", "urgency", "due_at", "supervised")[:POINTS_SHOWN]
    )
    return [
        {
            "number": number,
            "lon": round(lon or 0.0, 5),
            "lat": round(lat or 0.0, 5),
            "state": state,
            "urgency": urgency,
            "overdue": due_at is not None and due_at <= now,
            "supervised": supervised > 0,
        }
        for number, lon, lat, state, urgency, due_at, supervised in rows
    ]


def heat(user: Any, grid: Grid, now: dt.datetime | None = None) -> dict[str, Any]:
    """The cases reported in the last 7 days per H3 cell (resolution by the grid's level). The reports are
    grouped in SQL on coordinates rounded to a step half the hexagon's edge (a few thousand groups at most),
    then each group is counted in the H3 cell of its centre (a report near a cell's border may count in the
    neighbouring cell: a heat layer, not a register). One query."""
    now = now or timezone.now()
    since = midnight(now) - dt.timedelta(days=HEAT_DAYS - 1)
    resolution = H3_RESOLUTION.get(grid.level, 9)
    edge_m = h3.average_hexagon_edge_length(resolution, unit="m")
    lat_step = edge_m / 2 / 111_320  # degrees of latitude
    centre_lat = 40.0 if grid.min_lat is None or grid.max_lat is None else (grid.min_lat + grid.max_lat) / 2
    lon_step = lat_step / max(math.cos(math.radians(centre_lat)), 0.1)
    groups = (
        ov.subtree_cases(user, grid)
        .filter(created_at__gte=since, lon__isnull=False, lat__isnull=False)
        .order_by()
        .annotate(
            x=Floor(ExpressionWrapper(F("lon") / lon_step, output_field=FloatField())),
            y=Floor(ExpressionWrapper(F("lat") / lat_step, output_field=FloatField())),
        )
        .values("x", "y")
        .annotate(n=Count("pk"))
        .values_list("x", "y", "n")
    )
    cells: dict[str, int] = {}
    for x, y, n in groups:
        cell = h3.latlng_to_cell((float(y) + 0.5) * lat_step, (float(x) + 0.5) * lon_step, resolution)
        cells[cell] = cells.get(cell, 0) + n
    ordered = sorted(cells.items(), key=lambda c: (-c[1], c[0]))
    return {
        "resolution": resolution,
        "days": HEAT_DAYS,
        "cells": [
            {"h3": c, "n": n, "boundary": [[round(a, 5), round(b, 5)] for a, b in h3.cell_to_boundary(c)]}
            for c, n in ordered
        ],
        "max": ordered[0][1] if ordered else 0,
    }


def trends(user: Any, grid: Grid, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per local day of the last 30 days: the cases reported and the closings. Two queries."""
    now = now or timezone.now()
    today = midnight(now)
    start = today - dt.timedelta(days=TREND_DAYS - 1)
    tz = timezone.get_current_timezone()
    days = [(start + dt.timedelta(days=i)).date() for i in range(TREND_DAYS)]
    cases = ov.subtree_cases(user, grid).order_by()
    reported = dict(
        cases.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    closed = dict(
        closings(user, grid, start)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return {
        "days": [d.isoformat() for d in days],
        "reported": [reported.get(d, 0) for d in days],
        "closed": [closed.get(d, 0) for d in days],
    }
