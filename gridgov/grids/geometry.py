"""Grid geometry: GeoJSON in and out, validity, area in square metres, bounding boxes. WGS-84 throughout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

# Authalic radius of the WGS-84 ellipsoid: a sphere of the same area.
EARTH_RADIUS_M = 6371007.2


def to_equal_area(geom: shapely.Geometry) -> shapely.Geometry:
    """Lambert cylindrical equal-area projection (x = Rλ, y = R sin φ): areas come out in m²."""

    def project(coords: np.ndarray) -> np.ndarray:
        lon = np.radians(coords[:, 0])
        lat = np.radians(coords[:, 1])
        return np.column_stack([EARTH_RADIUS_M * lon, EARTH_RADIUS_M * np.sin(lat)])

    return shapely.transform(geom, project)


def area_m2(geom: shapely.Geometry) -> float:
    return float(to_equal_area(geom).area)


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
