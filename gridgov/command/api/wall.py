"""The wall's data (/api/command/wall/…): counters, per-child load, open case points, the hexagon heat layer,
trends and rankings of one grid's subtree (`grid`: its code; without it, the top of what the caller
oversees). A grid the caller does not oversee answers 404 like one that does not exist."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from gridgov.core.schemas import READ_ERRORS

from .. import wall_selectors as sel

router = Router()

GridCode = Annotated[str, Field(max_length=32, pattern=r"^[0-9A-Za-z_-]*$")]


class WallQuery(Schema):
    grid: GridCode = ""


class WallGridRef(Schema):
    id: int
    code: str
    name: str
    level: int


class WallCounters(Schema):
    grid: WallGridRef
    reported_today: int
    open: int
    overdue: int
    supervised: int
    closed_today: int
    reported_30d: int
    closed_30d: int = Field(description="of the cases reported in the last 30 days, those closed")
    closing_rate: float | None
    rated_30d: int
    satisfaction: float | None = Field(description="% satisfied or basically satisfied among the rated")


class WallChildLoad(Schema):
    id: int
    code: str
    name: str
    level: int
    population: int
    open: int
    overdue: int
    supervised: int
    reported_30d: int
    closed_30d: int
    closing_rate: float | None


class WallChildren(Schema):
    grid: WallGridRef
    children: list[WallChildLoad]


class WallPoint(Schema):
    number: str
    lon: float
    lat: float
    state: str
    urgency: str
    overdue: bool
    supervised: bool


class WallPoints(Schema):
    grid: WallGridRef
    points: list[WallPoint]


class WallCell(Schema):
    h3: str
    n: int
    boundary: list[list[float]] = Field(description="the hexagon's corners, [lat, lon] each")


class WallHeat(Schema):
    grid: WallGridRef
    resolution: int
    days: int
    max: int
    cells: list[WallCell]


class WallTrends(Schema):
    grid: WallGridRef
    days: list[str]
    reported: list[int]
    closed: list[int]


class WallRanked(Schema):
    code: str
    name: str
    open: int
    overdue: int
    reported_30d: int
    closed_30d: int
    closing_rate: float | None


class WallRankings(Schema):
    grid: WallGridRef
    overdue: list[WallRanked]
    closing_rate: list[WallRanked]


def _scope(request: HttpRequest, q: WallQuery) -> tuple[sel.Scope, dict]:
    scope = sel.wall_scope(request.user, q.grid)
    g = scope.grid
    return scope, {"id": g.pk, "code": g.code, "name": g.name, "level": g.level}


@router.get(
    "/wall/counters",
    response={200: WallCounters, **READ_ERRORS},
    url_name="wall_counters",
    summary="Wall counters",
)
def counters(request: HttpRequest, q: Query[WallQuery]):
    """Today's reports, open, overdue, supervised, closed today; of the cases reported in 30 days: closed,
    closing rate and satisfaction."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, **sel.counters(request.user, scope.grid)}


@router.get(
    "/wall/children",
    response={200: WallChildren, **READ_ERRORS},
    url_name="wall_children",
    summary="Load per child",
)
def children(request: HttpRequest, q: Query[WallQuery]):
    """Per child grid: open, overdue, supervised now; reported in 30 days, closed of those, closing rate."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, "children": sel.children(request.user, scope.grid)}


@router.get(
    "/wall/points", response={200: WallPoints, **READ_ERRORS}, url_name="wall_points", summary="Open cases"
)
def points(request: HttpRequest, q: Query[WallQuery]):
    """The newest open cases with a location (at most 500)."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, "points": sel.points(request.user, scope.grid)}


@router.get(
    "/wall/heat", response={200: WallHeat, **READ_ERRORS}, url_name="wall_heat", summary="Hexagon heat"
)
def heat(request: HttpRequest, q: Query[WallQuery]):
    """The cases reported in the last 7 days per H3 cell."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, **sel.heat(request.user, scope.grid)}


@router.get(
    "/wall/trends", response={200: WallTrends, **READ_ERRORS}, url_name="wall_trends", summary="Trends"
)
def trends(request: HttpRequest, q: Query[WallQuery]):
    """Reported and closed per day over the last 30 days."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, **sel.trends(request.user, scope.grid)}


@router.get(
    "/wall/rankings",
    response={200: WallRankings, **READ_ERRORS},
    url_name="wall_rankings",
    summary="Rankings",
)
def rankings(request: HttpRequest, q: Query[WallQuery]):
    """The children with the most overdue cases and those with the best closing rate (top 10 each)."""
    scope, ref = _scope(request, q)
    return 200, {"grid": ref, **sel.rankings(sel.children(request.user, scope.grid))}
