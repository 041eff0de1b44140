"""Which grid is this point in? In process, without a spatial database.

The leaf grids (level 3 in the default tree) are loaded once per process into a shapely STRtree and a
raster of cells over the territory. A cell that no grid boundary touches lies wholly inside one grid (or
outside all of them), so most points are answered by one array lookup; points in cells that a boundary
crosses go to the exact STRtree test. A point on an edge shared by two grids belongs to the grid with the
lowest code, whatever path answered it. A point outside every grid is "outside the territory", never an error.

The tree is rebuilt when the grids change: a change bumps `TreeGeneration`, the changing process drops
its locator at once, and other processes notice within `RECHECK_SECONDS`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry import Point

from .coords import WGS84, to_wgs84, to_wgs84_many

if TYPE_CHECKING:
    from .models import Grid

OUTSIDE = -1
BOUNDARY = -2
RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Location:
    """A located point: the leaf grid and its ancestors by level (ids and codes), or outside the territory."""

    grid_id: int | None
    code: str = ""
    name: str = ""
    ancestor_ids: tuple[int, ...] = ()  # from level 1 down to the grid's parent
    l1_id: int | None = None
    l2_id: int | None = None
    l3_id: int | None = None

    @property
    def outside(self) -> bool:
        return self.grid_id is None


OUTSIDE_TERRITORY = Location(grid_id=None)


class Locator:
    def __init__(
        self,
        ids: list[int],
        codes: list[str],
        names: list[str],
        geometries: list[shapely.Geometry],
        ancestors: list[tuple[int, ...]],
        levels: list[tuple[int | None, int | None, int | None]],
        cell_deg: float = 0.0008,
        grids: Iterable[Grid] = (),
    ) -> None:
        order = sorted(range(len(ids)), key=lambda i: codes[i])  # index order = code order: lowest code wins
        self.ids = np.array([ids[i] for i in order], dtype=np.int64)
        self.locations = [Location(ids[i], codes[i], names[i], ancestors[i], *levels[i]) for i in order]
        self.geometries = [geometries[i] for i in order]
        for g in self.geometries:
            shapely.prepare(g)
        self.tree = shapely.STRtree(self.geometries)
        self._build_raster(cell_deg)
        self._grids = {g.pk: g for g in grids}

    def grid(self, grid_id: int) -> Grid:
        """A located grid's row without its boundary, read with the locator: intake asks for the same few
        thousand rows again and again, and a change of the grids (a rename too) brings a new locator. Shared
        between requests: read it, never change it."""
        found = self._grids.get(grid_id)
        if found is None:
            from .models import Grid

            found = self._grids[grid_id] = Grid.objects.defer("geometry").get(pk=grid_id)
        return found

    # -- the raster -------------------------------------------------------------------------------------
    def _build_raster(self, cell_deg: float) -> None:
        if not self.geometries:
            self.x0 = self.y0 = 0.0
            self.cell = cell_deg
            self.raster = np.full((1, 1), OUTSIDE, dtype=np.int32)
            return
        x0, y0, x1, y1 = shapely.total_bounds(self.geometries)
        self.x0, self.y0, self.cell = float(x0), float(y0), cell_deg
        nx = int(np.ceil((x1 - x0) / cell_deg)) + 1
        ny = int(np.ceil((y1 - y0) / cell_deg)) + 1
        raster = np.full((ny, nx), OUTSIDE, dtype=np.int32)
        # Label each cell by the grid that holds its centre.
        for index, geom in enumerate(self.geometries):
            gx0, gy0, gx1, gy1 = geom.bounds
            ix0, iy0 = int((gx0 - x0) / cell_deg), int((gy0 - y0) / cell_deg)
            ix1, iy1 = int((gx1 - x0) / cell_deg) + 1, int((gy1 - y0) / cell_deg) + 1
            cx = x0 + (np.arange(ix0, ix1) + 0.5) * cell_deg
            cy = y0 + (np.arange(iy0, iy1) + 0.5) * cell_deg
            gx, gy = np.meshgrid(cx, cy)
            inside = shapely.contains_xy(geom, gx, gy)
            block = raster[iy0:iy1, ix0:ix1]
            block[inside & (block == OUTSIDE)] = index
        # Mark every cell a boundary may cross: vertices at most half a cell apart, then one cell around each.
        boundaries = shapely.segmentize(shapely.boundary(self.geometries), cell_deg / 2)
        coords = shapely.get_coordinates(boundaries)
        bx = ((coords[:, 0] - x0) / cell_deg).astype(np.int64)
        by = ((coords[:, 1] - y0) / cell_deg).astype(np.int64)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                raster[np.clip(by + dy, 0, ny - 1), np.clip(bx + dx, 0, nx - 1)] = BOUNDARY
        self.raster = raster

    def _cells(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        ny, nx = self.raster.shape
        finite = np.isfinite(lons) & np.isfinite(lats)
        ix = np.floor((np.where(finite, lons, self.x0 - 1) - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((np.where(finite, lats, self.y0 - 1) - self.y0) / self.cell).astype(np.int64)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        result = np.full(lons.shape, OUTSIDE, dtype=np.int64)
        result[inside] = self.raster[iy[inside], ix[inside]]
        return result

    # -- lookups ----------------------------------------------------------------------------------------
    def index_of(self, lon: float, lat: float) -> int:
        """Index of the grid holding the point (lowest code on a shared edge), or OUTSIDE."""
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return OUTSIDE
        ix = int((lon - self.x0) // self.cell)
        iy = int((lat - self.y0) // self.cell)
        ny, nx = self.raster.shape
        if not (0 <= ix < nx and 0 <= iy < ny):
            return OUTSIDE
        hit = int(self.raster[iy, ix])
        if hit != BOUNDARY:
            return hit
        found = self.tree.query(Point(lon, lat), predicate="intersects")
        return int(found.min()) if found.size else OUTSIDE

    def indexes_of(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        lons = np.asarray(lons, dtype=np.float64)
        lats = np.asarray(lats, dtype=np.float64)
        result = self._cells(lons, lats)
        exact = np.flatnonzero(result == BOUNDARY)
        if exact.size:
            result[exact] = OUTSIDE
            points = shapely.points(lons[exact], lats[exact])
            which, grid = self.tree.query(points, predicate="intersects")
            best = np.full(exact.size, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(best, which, grid)
            found = best != np.iinfo(np.int64).max
            result[exact[found]] = best[found]
        return result

    def locate(self, lon: float, lat: float) -> Location:
        index = self.index_of(lon, lat)
        return OUTSIDE_TERRITORY if index == OUTSIDE else self.locations[index]

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid ids of many points at once; 0 where a point is outside the territory."""
        indexes = self.indexes_of(lons, lats)
        ids = np.zeros(indexes.shape, dtype=np.int64)
        found = indexes != OUTSIDE
        ids[found] = self.ids[indexes[found]]
        return ids


# -- the process-wide locator ----------------------------------------------------------------------------
_lock = threading.Lock()
_current: Locator | None = None
_generation: int | None = None
_checked_at = 0.0


def _db_generation() -> int:
    from .models import TreeGeneration

    row = TreeGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return int(row or 0)


def build_from_database() -> Locator:
    from .geometry import from_geojson
    from .models import Grid

    # Grids imported from a code table have no boundary until a GeoJSON supplies one: nothing to locate in.
    current = Grid.objects.current().filter(geometry__isnull=False)
    leaves = current.exclude(pk__in=current.exclude(parent=None).values("parent_id")).exclude(parent=None)
    rows = list(leaves.values_list("id", "code", "name", "geometry", "path", "l1_id", "l2_id", "l3_id"))
    return Locator(
        ids=[r[0] for r in rows],
        codes=[r[1] for r in rows],
        names=[r[2] for r in rows],
        geometries=[from_geojson(r[3] or {}) for r in rows],
        ancestors=[tuple(int(x) for x in r[4].strip("/").split("/")[1:-1]) for r in rows],
        levels=[(r[5], r[6], r[7]) for r in rows],
        grids=leaves.defer("geometry"),
    )


def get_locator() -> Locator:
    global _current, _generation, _checked_at
    now = time.monotonic()
    if _current is not None and now - _checked_at < RECHECK_SECONDS:
        return _current
    with _lock:
        generation = _db_generation()
        if _current is None or generation != _generation:
            _current, _generation = build_from_database(), generation
        _checked_at = now
        return _current


def invalidate() -> None:
    """Drop this process's locator now (call after a committed change of the grids)."""
    global _current, _checked_at
    with _lock:
        _current, _checked_at = None, 0.0


def locate(lon: float, lat: float, crs: str = WGS84) -> Location:
    """The leaf grid holding a point, with its ancestors; OUTSIDE_TERRITORY when none does.

    `crs` says what the coordinates are: WGS-84 (GPS), or GCJ-02 / BD-09 as Chinese map SDKs give them."""
    if crs != WGS84:
        lon, lat = to_wgs84(lon, lat, crs)
    return get_locator().locate(lon, lat)


def locate_many(lons: np.ndarray, lats: np.ndarray, crs: str = WGS84) -> np.ndarray:
    """Vectorised `locate`: the leaf grid id of each point, 0 where outside the territory."""
    if crs != WGS84:
        lons, lats = to_wgs84_many(lons, lats, crs)
    return get_locator().locate_many(lons, lats)
