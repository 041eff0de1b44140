"""Grid geometry: GeoJSON in and out, validity, area in square metres, bounding boxes. WGS-84 throughout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

# Authalic radius of the WGS-84 ellipsoid: a sphere of the same area.
EARTH_RADIUS_M = 6371007.2


# Grid edges are straight lines in lon/lat. Projecting only the vertices to an equal-area plane would
# measure the chords of the projected edges (which are curves): a vertex added mid-edge changes an area by
# parts per million (hundreds of m² on a village), and a zero-width sliver along a long edge, with a vertex
# on one side only, measures hundreds of m² out of nothing, which the coverage check would report as a gap.
# Densifying first does not help: GEOS's densify "repairs" a thin spike with buffer(0) and loses whole
# parts. So the area is integrated exactly instead, edge by edge, on the same authalic sphere:
#     A = R² ∮ λ cos φ dφ   (Green's theorem for x = Rλ, y = R sin φ, the Lambert equal-area plane)
# with λ linear in φ along each edge, which has a closed form. Exactly additive: pieces add up to the whole.
def _ring_integrals(lon: np.ndarray, lat: np.ndarray, ring: np.ndarray, rings: int) -> np.ndarray:
    """∮ λ cos φ dφ of each ring (radians), summed edge by edge."""
    same = ring[1:] == ring[:-1]
    l1, l2 = lon[:-1][same], lon[1:][same]
    p1, p2 = lat[:-1][same], lat[1:][same]
    h = (p2 - p1) / 2
    m = (p1 + p2) / 2
    small = np.abs(h) < 1e-3
    hs = np.where(small, 1.0, h)  # avoid 0/0 where the series is used
    # (sin h − h cos h) / h, by its series where h is small (the direct form cancels catastrophically)
    g = np.where(small, h**2 / 3 - h**4 / 30 + h**6 / 840, (np.sin(hs) - hs * np.cos(hs)) / hs)
    edge = (l1 + l2) / 2 * 2 * np.sin(h) * np.cos(m) - (l2 - l1) * np.sin(m) * g
    return np.bincount(ring[1:][same], weights=edge, minlength=rings)


def areas_m2(geoms) -> np.ndarray:
    """Areas in m² of an array of geometries (their polygonal parts), exact for lon/lat-straight edges."""
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    result = np.zeros(len(geoms))
    parts, owner = geoms, np.arange(len(geoms))
    polygons, polygon_owner = [], []
    while len(parts):
        types = shapely.get_type_id(parts)
        keep = types == 3  # Polygon
        polygons.append(parts[keep])
        polygon_owner.append(owner[keep])
        multi = np.isin(types, (6, 7))  # MultiPolygon, GeometryCollection: look inside
        parts, index = shapely.get_parts(parts[multi], return_index=True)
        owner = owner[multi][index]
    polys = np.concatenate(polygons) if polygons else np.zeros(0, dtype=object)
    owners = np.concatenate(polygon_owner) if polygon_owner else np.zeros(0, dtype=np.int64)
    if not len(polys):
        return result
    rings, ring_polygon = shapely.get_rings(polys, return_index=True)
    if not len(rings):
        return result
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    radians = np.radians(coords)
    ring_area = (
        np.abs(_ring_integrals(radians[:, 0], radians[:, 1], coord_ring, len(rings))) * EARTH_RADIUS_M**2
    )
    # get_rings lists each polygon's exterior first, then its holes.
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_polygon[1:] != ring_polygon[:-1]
    polygon_area = np.bincount(
        ring_polygon, weights=np.where(exterior, ring_area, -ring_area), minlength=len(polys)
    )
    result += np.bincount(owners, weights=polygon_area, minlength=len(geoms))
    return result


def area_m2(geom: shapely.Geometry) -> float:
    """Area of one geometry in m², measured as `areas_m2` does."""
    return float(areas_m2(np.array([geom], dtype=object))[0])


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Length of one degree of longitude and of latitude at `lat`, in metres (spherical)."""
    one = math.pi / 180 * EARTH_RADIUS_M
    return one * math.cos(math.radians(lat)), one


def from_geojson(geometry: dict[str, Any]) -> Polygon | MultiPolygon:
    """A shapely (Multi)Polygon from a GeoJSON geometry; raises ValueError on anything else."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("not a Polygon or MultiPolygon")
    geom = shape(geometry)
    if not isinstance(geom, Polygon | MultiPolygon):
        raise ValueError("not a Polygon or MultiPolygon")
    return geom


def to_geojson(geom: shapely.Geometry, precision: int = 7) -> dict[str, Any]:
    """GeoJSON of a geometry with coordinates rounded to `precision` decimals (1e-7° ≈ 1 cm)."""
    return mapping(shapely.set_precision(geom, 10**-precision) if precision else geom)


def bbox(geom: shapely.Geometry) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return float(min_lon), float(min_lat), float(max_lon), float(max_lat)
