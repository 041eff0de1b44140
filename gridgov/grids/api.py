"""The grid API: the visible tree for the map (children as GeoJSON, a grid's detail with its people, search).

Parse, call a selector, shape the answer; every read goes through `visible_to` in `map_selectors`, so a grid
outside the caller's scope answers 404 exactly like a grid that does not exist.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import shapely
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from pydantic import Field
from shapely.errors import GEOSException
from shapely.geometry import mapping

from gridgov.accounts.choices import Role

from . import map_selectors as sel
from .geometry import from_geojson
from .models import Grid, GridKind
from .schemas import GridBrief, GridDetail, GridFeatureCollection, Message, Person, SearchHit

router = Router(tags=["grids"])

ERRORS: dict[int, Any] = {401: Message, 404: Message}
# A finite map zoom: NaN or infinity would reach the geometry code and fail there.
ZoomLevel = Annotated[float, Field(ge=0, le=30, allow_inf_nan=False)]
# Coordinates sent to the map: 1e-6° is about 10 cm, far below a screen pixel at any useful zoom.
OUT_DECIMALS = 6
MAX_ZOOM = 19


def level_label(level: int) -> str:
    labels = {0: _("county"), 1: _("level-1 grid"), 2: _("level-2 grid"), 3: _("level-3 grid")}
    return labels.get(level, _("level-%(level)d grid") % {"level": level})


def kind_label(kind: str) -> str:
    try:
        return str(GridKind(kind).label)
    except ValueError:
        return kind


def _area_km2(grid: Grid) -> float | None:
    return None if grid.area_km2 is None else round(grid.area_km2, 3)


def _bbox(grid: Grid) -> list[float] | None:
    if grid.min_lon is None or grid.min_lat is None or grid.max_lon is None or grid.max_lat is None:
        return None
    return [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat]


def _ref(grid: Grid) -> GridBrief:
    return GridBrief(id=grid.pk, code=grid.code, name=grid.name, level=grid.level)


def tolerance_for(zoom: float | None, bbox: list[float] | None) -> float:
    """Degrees of simplification that stay under half a screen pixel at `zoom` (256-pixel Web Mercator
    tiles). Without a zoom, assume the parent fills a map about 1,000 pixels across."""
    if zoom is None:
        if bbox is None:
            return 0.0
        return max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 2000
    zoom = min(max(zoom, 0.0), MAX_ZOOM)
    return 0.5 * 360 / (256 * 2**zoom)


def simplify(geoms: list[shapely.Geometry], tolerance: float) -> list[shapely.Geometry]:
    """Simplify siblings together so shared edges stay shared (no slivers between neighbours on screen)."""
    if tolerance <= 0 or not geoms:
        return geoms
    arr = np.asarray(geoms, dtype=object)
    try:
        out = shapely.coverage_simplify(arr, tolerance, simplify_boundary=True)
    except GEOSException:
        out = shapely.simplify(arr, tolerance, preserve_topology=True)
    return list(out)


def _round(geom: shapely.Geometry) -> dict[str, Any]:
    rounded = shapely.transform(geom, lambda c: np.round(c, OUT_DECIMALS))
    return mapping(rounded)


@router.get(
    "/start",
    response={200: GridDetail, **ERRORS},
    url_name="grid_start",
    summary="The grid the map opens on",
)
def start(request: HttpRequest):
    """The top of the caller's visible tree, gone down while only one child is visible (a village head
    starts on their village). 404 when no grid is visible."""
    top = sel.start_grid(request.user)
    if top is None:
        raise Http404
    return 200, _detail(request, top.pk)


@router.get(
    "/search", response={200: list[SearchHit], **ERRORS}, url_name="grid_search", summary="Find grids"
)
def search(request: HttpRequest, q: Query[str] = ""):  # type: ignore[assignment]
    """Visible grids whose code starts with `q` (digits) or whose name contains it, at most 20."""
    hits = []
    for g in sel.search(request.user, q):
        context = [
            p.name for p in (g.parent.parent if g.parent else None, g.parent) if p is not None and p.level > 0
        ]
        hits.append(SearchHit(id=g.pk, code=g.code, name=g.name, level=g.level, context=" · ".join(context)))
    return hits


@router.get("/{int:grid_id}", response={200: GridDetail, **ERRORS}, url_name="grid_detail", summary="A grid")
def detail(request: HttpRequest, grid_id: int):
    """A grid's figures, its place in the tree and its responsible people (定人定格定责)."""
    return 200, _detail(request, grid_id)


def _detail(request: HttpRequest, grid_id: int) -> GridDetail:
    view = sel.grid_view(request.user, grid_id)
    g = view.grid
    people = [
        Person(
            name=a.user.full_name or a.user.username,
            role=a.role,
            role_label=str(Role(a.role).label) if a.role in Role.values else a.role,
            department=a.department.label if a.department else None,
        )
        for a in view.people
    ]
    return GridDetail(
        id=g.pk,
        code=g.code,
        name=g.name,
        level=g.level,
        level_label=level_label(g.level),
        kind=g.kind,
        kind_label=kind_label(g.kind),
        parent_id=g.parent_id,
        ancestors=[_ref(a) for a in view.ancestors],
        area_km2=_area_km2(g),
        households=g.households,
        population=g.population,
        child_count=g.child_count,  # type: ignore[attr-defined]
        bbox=_bbox(g),
        valid_from=g.valid_from,
        people=people,
    )


@router.get(
    "/{int:grid_id}/children.geojson",
    response={200: GridFeatureCollection, **ERRORS},
    url_name="grid_children",
    summary="A grid's children as GeoJSON",
)
def children(request: HttpRequest, grid_id: int, zoom: Query[ZoomLevel | None] = None):  # type: ignore[assignment]
    """The visible current children of a grid as a FeatureCollection, simplified for `zoom` (the Web
    Mercator zoom the map will show them at; without it, for a map about 1,000 pixels across)."""
    parent = sel.grid_or_404(request.user, grid_id)
    kids = sel.children_of(request.user, parent)
    bbox = _bbox(parent)
    tolerance = tolerance_for(zoom, bbox)
    shapes = {k.pk: from_geojson(k.geometry) for k in kids if k.geometry}
    simplified = dict(zip(shapes, simplify(list(shapes.values()), tolerance), strict=True))
    features = []
    for k in kids:
        label = None
        if k.pk in shapes:
            # A point inside (a centroid may fall outside a bent grid or in a ring's hole).
            p = shapes[k.pk].point_on_surface()
            label = [round(p.x, OUT_DECIMALS), round(p.y, OUT_DECIMALS)]
        geometry = simplified.get(k.pk)
        features.append(
            {
                "type": "Feature",
                "id": k.pk,
                "geometry": _round(geometry) if geometry is not None else None,
                "properties": {
                    "id": k.pk,
                    "code": k.code,
                    "name": k.name,
                    "level": k.level,
                    "kind": k.kind,
                    "kind_label": kind_label(k.kind),
                    "area_km2": _area_km2(k),
                    "households": k.households,
                    "population": k.population,
                    "child_count": k.child_count,  # type: ignore[attr-defined]
                    "label": label,
                },
            }
        )
    return 200, {
        "type": "FeatureCollection",
        "parent": _ref(parent),
        "bbox": bbox,
        "tolerance": tolerance if math.isfinite(tolerance) else 0.0,
        "features": features,
    }
