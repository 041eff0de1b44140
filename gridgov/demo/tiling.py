"""Geometry of the synthetic county: seamless tilings made of Voronoi cells, bent so they look drawn by hand.

The county is designed in a local kilometre frame (an equirectangular projection around its centre), where
Voronoi cells come out round rather than stretched east–west. Every level is tiled by the Voronoi cells of
seeds inside its parent, cut to the parent; a cell cut into pieces keeps its largest piece and gives the
others to the neighbour sharing the longest edge, so every grid is one Polygon.

Straight Voronoi edges look machine-made, so the finished leaves go through one smooth, invertible warp
(a sum of a few sine waves; the same function for every vertex keeps neighbours together). Finally all
leaf boundaries are noded together on the 1e-7° grid that GeoJSON storage rounds to, the faces are
rebuilt with `polygonize`, and the parents are the unions of their children: every edge is shared vertex
for vertex, so rounding can open no gap and make no overlap (a vertex of one grid in the middle of its
neighbour's edge would otherwise move by up to a centimetre and leave slivers of several m²).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

KM_PER_DEGREE = 111.195  # one degree of latitude (and of longitude at the equator) on the authalic sphere
GRID_DEG = 1e-7  # storage precision of GeoJSON coordinates (gridgov.grids.geometry.to_geojson)
EDGE_EPS_KM = 1e-6  # 1 mm: two cells whose boundaries come this close share an edge


class Frame:
    """Local kilometre coordinates around (lon0, lat0): x east, y north."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = KM_PER_DEGREE * math.cos(math.radians(lat0))
        self.ky = KM_PER_DEGREE

    def to_km(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def box_km(self, bounds: Sequence[float]) -> Polygon:
        x0, y0 = self.to_km(bounds[0], bounds[1])
        x1, y1 = self.to_km(bounds[2], bounds[3])
        return box(x0, y0, x1, y1)

    def to_lonlat(self, coords: np.ndarray) -> np.ndarray:
        return np.column_stack([self.lon0 + coords[:, 0] / self.kx, self.lat0 + coords[:, 1] / self.ky])


# -- seeds and Voronoi tilings -------------------------------------------------------------------------------
def points_inside(region: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` uniformly random points inside `region` (rejection sampling over its bounding box)."""
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    found: list[np.ndarray] = []
    have = 0
    while have < n:
        batch = max(64, 4 * (n - have))
        xs, ys = rng.uniform(x0, x1, batch), rng.uniform(y0, y1, batch)
        inside = shapely.contains_xy(region, xs, ys)
        pts = np.column_stack([xs[inside], ys[inside]])
        found.append(pts)
        have += len(pts)
    return np.concatenate(found)[:n]


def voronoi_cells(region: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """The Voronoi cells of `seeds` (in seed order) cut to `region`; some may be MultiPolygons or empty."""
    if len(seeds) == 1:
        return [region]
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
    cells = shapely.get_parts(diagram)
    return list(shapely.intersection(cells, region))


def relax(
    region: shapely.Geometry, seeds: np.ndarray, iterations: int, fixed: Sequence[int] = ()
) -> np.ndarray:
    """Lloyd relaxation: move each seed to its cell's centre, which evens out the cell sizes."""
    seeds = seeds.copy()
    for _ in range(iterations):
        cells = voronoi_cells(region, seeds)
        for i, cell in enumerate(cells):
            if i in fixed or cell.is_empty:
                continue
            centre = cell.centroid
            if not region.contains(centre):
                centre = cell.point_on_surface()
            seeds[i] = (centre.x, centre.y)
    return seeds


def polygons_of(geom: shapely.Geometry) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]


def fix_fragments(cells: Sequence[shapely.Geometry]) -> list[Polygon]:
    """Make every cell one Polygon: a cell's stray pieces go to the neighbour sharing the longest edge."""
    result: list[Polygon] = []
    pending: list[tuple[int, Polygon]] = []
    for i, cell in enumerate(cells):
        parts = sorted(polygons_of(cell), key=lambda p: p.area, reverse=True)
        if not parts:
            raise ValueError(f"cell {i} is empty")
        result.append(parts[0])
        pending.extend((i, p) for p in parts[1:])
    rounds = 0
    while pending:
        rounds += 1
        if rounds > 20:
            raise ValueError("stray pieces with no neighbour")
        left: list[tuple[int, Polygon]] = []
        for origin, piece in pending:
            halo = piece.buffer(EDGE_EPS_KM)
            shared = [
                (halo.intersection(cell.boundary).length, j) for j, cell in enumerate(result) if j != origin
            ]
            length, best = max(shared, default=(0.0, -1))
            if length <= 0:
                left.append((origin, piece))
                continue
            merged = sorted(polygons_of(result[best].union(piece)), key=lambda p: p.area, reverse=True)
            result[best] = merged[0]
            # Float noise can leave a speck beside the seam; anything real goes round again.
            left.extend((best, p) for p in merged[1:] if p.area > 1e-9)
        pending = left
    return result


def tile(
    region: Polygon, n: int, rng: np.random.Generator, iterations: int = 2, seeds: np.ndarray | None = None
) -> list[Polygon]:
    """`n` Polygons that tile `region`: Voronoi cells of random (or given) seeds, relaxed `iterations` times."""
    if seeds is None:
        seeds = points_inside(region, n, rng)
    seeds = relax(region, seeds, iterations)
    return fix_fragments(voronoi_cells(region, seeds))


# -- shapes ---------------------------------------------------------------------------------------------------
def blob(
    centre: tuple[float, float],
    rx: float,
    ry: float,
    rng: np.random.Generator,
    roughness: float = 0.12,
    n: int = 360,
) -> Polygon:
    """An irregular closed outline: a superellipse whose radius wanders with a few random harmonics."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ks = np.arange(2, 40)
    amplitude = roughness / ks**1.2 * rng.uniform(0.3, 1.5, len(ks))
    phase = rng.uniform(0, 2 * np.pi, len(ks))
    wobble = 1 + (amplitude[:, None] * np.cos(ks[:, None] * theta[None, :] + phase[:, None])).sum(axis=0)
    p = 2.6  # a little squarer than an ellipse: fills the bounding box like a real county
    base = 1 / (np.abs(np.cos(theta)) ** p + np.abs(np.sin(theta)) ** p) ** (1 / p)
    xs = centre[0] + rx * wobble * base * np.cos(theta)
    ys = centre[1] + ry * wobble * base * np.sin(theta)
    return shapely.make_valid(Polygon(np.column_stack([xs, ys])))


def rectangle(centre: tuple[float, float], width: float, height: float, angle_deg: float) -> Polygon:
    rect = box(-width / 2, -height / 2, width / 2, height / 2)
    a = math.radians(angle_deg)
    cos_a, sin_a = math.cos(a), math.sin(a)
    rot = np.array([[cos_a, sin_a], [-sin_a, cos_a]])
    return shapely.transform(rect, lambda c: c @ rot + np.asarray(centre))


# -- the warp ------------------------------------------------------------------------------------------------
def make_warp(rng: np.random.Generator, strength: float = 0.13) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth map of the plane (km → km): x + Σ A sin(k·x + φ) with A·|k| = `strength` per wave.

    Five waves per axis of slope 0.13 keep the displacement's derivative small enough that the map does not
    fold (the builder checks every warped grid is still valid); wavelengths of 3–40 km bend edges the way
    roads and rivers would."""
    wavelengths = np.array([40.0, 21.0, 11.0, 6.0, 3.0])
    waves = []
    for _axis in range(2):
        angles = rng.uniform(0, 2 * np.pi, len(wavelengths))
        k = 2 * np.pi / wavelengths
        directions = np.column_stack([np.cos(angles), np.sin(angles)]) * k[:, None]
        amplitudes = strength * wavelengths / (2 * np.pi)
        phases = rng.uniform(0, 2 * np.pi, len(wavelengths))
        waves.append((directions, amplitudes, phases))

    def warp(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        for axis, (directions, amplitudes, phases) in enumerate(waves):
            out[:, axis] += (amplitudes * np.sin(coords @ directions.T + phases)).sum(axis=1)
        return out

    return warp


def warped_lonlat(
    geoms: Sequence[shapely.Geometry], warp: Callable[[np.ndarray], np.ndarray], frame: Frame, step_km: float
) -> np.ndarray:
    """Geometries from the km frame to WGS-84 through the warp, densified first so straight edges bend."""
    dense = shapely.segmentize(np.asarray(geoms, dtype=object), step_km)
    return shapely.transform(dense, lambda c: frame.to_lonlat(warp(c)))


# -- noding -----------------------------------------------------------------------------------------------------
def node(leaves: Sequence[shapely.Geometry], grid: float = GRID_DEG) -> list[Polygon]:
    """Rebuild `leaves` (which tile a region up to float noise) as a true coverage on `grid`: every shared
    edge has the same vertices on both sides. Returns one Polygon per leaf, in order."""
    leaves_arr = np.asarray(leaves, dtype=object)
    linework = shapely.union_all(shapely.boundary(leaves_arr), grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    faces = faces[shapely.area(faces) > 0]
    # Each face belongs to the leaf it overlaps most; a face overlapping none (a float gap) to the owner of
    # the neighbouring face it shares the longest edge with.
    tree = shapely.STRtree(leaves_arr)
    face_idx, leaf_idx = tree.query(faces)
    overlap = shapely.area(shapely.intersection(faces[face_idx], leaves_arr[leaf_idx]))
    owner = np.full(len(faces), -1, dtype=np.int64)
    best = np.zeros(len(faces))
    for f, leaf, a in zip(face_idx.tolist(), leaf_idx.tolist(), overlap.tolist(), strict=True):
        if a > best[f]:
            best[f], owner[f] = a, leaf
    # A face is real when the leaf covers most of it; slivers of float noise are handed on by edge below.
    sliver = best < 0.5 * shapely.area(faces)
    owner[sliver] = -1
    face_tree = shapely.STRtree(faces)
    for _ in range(10):
        orphans = np.flatnonzero(owner < 0)
        if not orphans.size:
            break
        for f in orphans.tolist():
            near = [g for g in face_tree.query(faces[f], predicate="intersects").tolist() if owner[g] >= 0]
            if near:
                lengths = shapely.length(
                    shapely.intersection(faces[f].boundary, shapely.boundary(faces[near]))
                )
                owner[f] = owner[near[int(np.argmax(lengths))]]
    if (owner < 0).any():
        raise ValueError("noding left faces with no grid")
    result: list[Polygon] = []
    for i in range(len(leaves)):
        mine = faces[owner == i]
        if not len(mine):
            raise ValueError(f"grid {i} vanished when noded")
        merged = mine[0] if len(mine) == 1 else shapely.union_all(mine, grid_size=grid)
        parts = polygons_of(merged)
        if len(parts) != 1:
            raise ValueError(f"grid {i} fell apart into {len(parts)} pieces when noded")
        result.append(parts[0])
    return result


def union(children: Sequence[Polygon], grid: float = GRID_DEG) -> Polygon:
    """The parent of noded children: their union, which must be one Polygon."""
    merged = shapely.union_all(np.asarray(children, dtype=object), grid_size=grid)
    parts = polygons_of(merged)
    if len(parts) != 1:
        raise ValueError(f"children make {len(parts)} pieces, not one parent")
    return parts[0]


# -- numbering ------------------------------------------------------------------------------------------------
def reading_order(points: np.ndarray, north: float, band: float) -> list[int]:
    """Indices of `points` (lon, lat) numbered west→east, north→south, as a page is read: rows of height
    `band` counted from the parent's northern edge `north`, west to east within a row (the coding rule of
    DB11 and DB6101/T 3185). A band of about one grid's height makes each row one line of grids."""
    if not len(points):
        return []
    rows = np.floor((north - points[:, 1]) / band + 1e-9).astype(int)
    return sorted(range(len(points)), key=lambda i: (rows[i], points[i, 0]))


def row_height(parent: Polygon, count: int) -> float:
    """The height of a typical child of `parent` (degrees of latitude): one row of the reading order."""
    lat = parent.centroid.y
    squash = math.cos(
        math.radians(lat)
    )  # a degree of longitude is shorter: make the cell square on the ground
    return math.sqrt(parent.area / squash / max(count, 1))


def is_polygon(geom: shapely.Geometry) -> bool:
    return (
        isinstance(geom, Polygon)
        and not isinstance(geom, MultiPolygon)
        and geom.is_valid
        and not geom.is_empty
    )
