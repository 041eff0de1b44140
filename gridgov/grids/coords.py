"""Chinese map coordinates to WGS-84 (invariant 6: coordinates are stored in WGS-84).

Phones and web maps in China rarely give WGS-84: AMap (高德), Tencent and most SDKs give GCJ-02 (国测局, the
"Mars" offset of a few hundred metres), Baidu gives BD-09 (GCJ-02 offset once more). The forward transforms
are public formulas; their inverses are not closed-form, so we invert by fixed-point iteration on the forward
transform until the error is far below a centimetre (1e-9° ≈ 0.1 mm), instead of the one-step approximation
many libraries use (which is off by up to a metre or two).

GCJ-02 applies inside China only: outside a rough bounding box of China the offset is zero, as in the SDKs.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WGS84: Final = "wgs84"
GCJ02: Final = "gcj02"
BD09: Final = "bd09"
CRS_CHOICES: Final = (WGS84, GCJ02, BD09)

# Krasovsky 1940 ellipsoid, as the GCJ-02 formula uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# Convergence threshold of the inverse iterations, in degrees (1e-9° is about 0.1 mm).
_EPS = 1e-9
_MAX_ITERATIONS = 30


def check_crs(crs: str) -> str:
    """The normalised name of a supported coordinate system; a clear error for any other."""
    name = (crs or "").strip().lower().replace("-", "").replace("_", "")
    aliases = {"wgs84": WGS84, "epsg4326": WGS84, "gcj02": GCJ02, "gcj": GCJ02, "bd09": BD09, "bd09ll": BD09}
    if name not in aliases:
        raise ValidationError(
            _("Unknown coordinate system %(crs)s: use one of %(known)s.")
            % {"crs": crs, "known": ", ".join(CRS_CHOICES)},
            code="crs",
        )
    return aliases[name]


# -- the forward transforms (vectorised; scalars go through 0-d arrays) -------------------------------------
def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS-84 point inside China."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02_many(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09_many(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon: np.ndarray, lat: np.ndarray, start: tuple[np.ndarray, np.ndarray]):
    """Solve forward(p) = (lon, lat) for p by fixed-point iteration from `start`.

    The offsets vary slowly (their derivatives are ~1e-5), so each step shrinks the error by that factor:
    two or three steps reach the threshold; the cap only guards against non-finite input. Each point stops
    on its own, so a point converts the same alone or in a batch."""
    x, y = (np.array(a, dtype=np.float64, copy=True) for a in start)
    active = np.ones(x.shape, dtype=bool)
    for _step in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x = np.where(active, x - ex, x)
        y = np.where(active, y - ey, y)
        active &= (np.abs(ex) > _EPS) | (np.abs(ey) > _EPS)
        if not active.any():
            break
    return x, y


def gcj02_to_wgs84_many(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return _invert(wgs84_to_gcj02_many, lon, lat, (lon, lat))


def bd09_to_gcj02_many(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return _invert(gcj02_to_bd09_many, lon, lat, _bd09_to_gcj02_approx(lon, lat))


# -- the public entry points -------------------------------------------------------------------------------
def to_wgs84_many(lons, lats, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `to_wgs84`: arrays of longitudes and latitudes in `crs`, converted to WGS-84."""
    crs = check_crs(crs)
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if crs == WGS84:
        return lons.copy(), lats.copy()
    if crs == BD09:
        lons, lats = bd09_to_gcj02_many(lons, lats)
    return gcj02_to_wgs84_many(lons, lats)


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point given in `crs` ("wgs84", "gcj02" or "bd09") as WGS-84 (lon, lat)."""
    x, y = to_wgs84_many(np.array([lon]), np.array([lat]), crs)
    return float(x[0]), float(y[0])


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """The forward direction, for showing a stored point on a Chinese base map (and for tests)."""
    crs = check_crs(crs)
    if crs == WGS84:
        return float(lon), float(lat)
    x, y = wgs84_to_gcj02_many(np.array([lon]), np.array([lat]))
    if crs == BD09:
        x, y = gcj02_to_bd09_many(x, y)
    return float(x[0]), float(y[0])


def geometry_to_wgs84(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """Every vertex of a geometry converted to WGS-84 (the shape stays the same type)."""
    crs = check_crs(crs)
    if crs == WGS84:
        return geom

    def convert(coords: np.ndarray) -> np.ndarray:
        x, y = to_wgs84_many(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([x, y])

    return shapely.transform(geom, convert)
