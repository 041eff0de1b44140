"""Is this grid input acceptable? Codes, kinds, names and boundaries, checked before anything is written.

Every check returns translated messages that name what is wrong (the code, the field, the place), so an
import can list every bad row or feature at once and a service can refuse an adjustment with a clear reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

from .models import (
    LEVEL_CODE_DIGITS,
    ROOT_CODE_LENGTH,
    SEQUENCE_END,
    SPECIAL_KINDS,
    SPECIAL_SEQUENCE_START,
    GridKind,
)

NAME_MAX_LENGTH = 100


# Importers name fields by their key in the file; people read them in their language.
FIELD_LABELS = {
    "code": gettext_lazy("code"),
    "name": gettext_lazy("name"),
    "geometry": gettext_lazy("geometry"),
    "households": gettext_lazy("households"),
    "population": gettext_lazy("population"),
    "level": gettext_lazy("level"),
    "parent": gettext_lazy("parent"),
    "kind": gettext_lazy("kind"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is (row, feature, grid), which field, and why."""

    where: str
    message: str
    field: str = ""

    def __str__(self) -> str:
        if not self.where:
            return self.message
        if self.field:
            return _("%(where)s, %(field)s: %(message)s") % {
                "where": self.where,
                "field": FIELD_LABELS.get(self.field, self.field),
                "message": self.message,
            }
        return _("%(where)s: %(message)s") % {"where": self.where, "message": self.message}

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "message": self.message}


class GridInputError(ValidationError):
    """Input refused as a whole; `problems` lists every reason. Nothing was written."""

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        self.problems = [p if isinstance(p, Problem) else Problem("", str(p)) for p in problems]
        super().__init__([str(p) for p in self.problems], code="invalid")


# -- codes -------------------------------------------------------------------------------------------------
def level_of(code: str) -> int | None:
    """The level a code of this length stands for (0 = county root), or None for a length no level has."""
    extra = len(code) - ROOT_CODE_LENGTH
    if extra < 0 or extra % LEVEL_CODE_DIGITS:
        return None
    return extra // LEVEL_CODE_DIGITS


def parent_code_of(code: str) -> str | None:
    return code[:-LEVEL_CODE_DIGITS] if len(code) > ROOT_CODE_LENGTH else None


def normalise_code(raw: Any) -> str:
    """A code as text without blanks; a 12-digit statistical code padded with zeros (150621100000, as the
    statistics bureau writes towns) is shortened to the code it stands for (150621100)."""
    code = str(raw).strip().replace(" ", "") if raw is not None else ""
    if code.endswith(".0") and code[:-2].isdigit():  # a number that went through a spreadsheet as a float
        code = code[:-2]
    if len(code) == 12 and code.isdigit():
        while len(code) > ROOT_CODE_LENGTH and code.endswith("000"):
            code = code[:-3]
    return code


def sequence_range(level: int, kind: str, like_sequence: int | None = None) -> range:
    """The numbers a new grid's last three digits may take.

    Level 3 and below: base grids 001–899, special-purpose grids 900–999. Towns and villages follow the
    statistical code classes by hundreds (街道 0xx, 镇 1xx, 乡/苏木 2xx; 社区 0xx–1xx, 村 2xx–3xx), so a new
    town or village takes a number in the hundred of the one it replaces."""
    if level >= 3:
        if kind in SPECIAL_KINDS:
            return range(SPECIAL_SEQUENCE_START, SEQUENCE_END + 1)
        return range(1, SPECIAL_SEQUENCE_START)
    hundred = (like_sequence or 0) // 100 * 100
    return range(max(1, hundred), hundred + 100)


def code_problems(code: str, *, kind: str = GridKind.BASE, county: str | None = None) -> list[str]:
    """What is wrong with a grid code for a grid of `kind` (empty when nothing is)."""
    county = settings.COUNTY_CODE if county is None else county
    if not code:
        return [_("the code is empty")]
    if not code.isdigit():
        return [_("code %(code)s must be digits only") % {"code": code}]
    level = level_of(code)
    if level is None:
        return [
            _(
                "code %(code)s has %(count)d digits: a grid code has 6 (county), 9 (town), 12 (village) "
                "or 15 (grid) digits"
            )
            % {"code": code, "count": len(code)}
        ]
    problems = []
    if county and not code.startswith(county):
        problems.append(
            _("code %(code)s does not belong to this county (%(county)s)") % {"code": code, "county": county}
        )
    if kind not in GridKind.values:
        problems.append(
            _("unknown kind %(kind)s: use one of %(known)s")
            % {"kind": kind, "known": ", ".join(GridKind.values)}
        )
        return problems
    if level == 0:
        if kind in SPECIAL_KINDS:
            problems.append(_("the county root %(code)s cannot be a special-purpose grid") % {"code": code})
        return problems
    sequence = int(code[-LEVEL_CODE_DIGITS:])
    if sequence == 0:
        problems.append(_("the last three digits of %(code)s are 000: numbers start at 001") % {"code": code})
    elif kind in SPECIAL_KINDS:
        if level < 3:
            problems.append(
                _("special-purpose grid %(code)s must be a grid of level 3 or below (15 digits or more)")
                % {"code": code}
            )
        elif sequence < SPECIAL_SEQUENCE_START:
            problems.append(
                _("special-purpose grid %(code)s must be numbered %(start)d–%(end)d in its last three digits")
                % {"code": code, "start": SPECIAL_SEQUENCE_START, "end": SEQUENCE_END}
            )
    elif level >= 3 and sequence >= SPECIAL_SEQUENCE_START:
        problems.append(
            _("numbers %(start)d–%(end)d are reserved for special-purpose grids; %(code)s is a base grid")
            % {"code": code, "start": SPECIAL_SEQUENCE_START, "end": SEQUENCE_END}
        )
    return problems


def parent_problems(code: str, parent_code: str | None, parent_level: int | None = None) -> list[str]:
    """A child's code is its parent's code plus three digits."""
    if parent_code is None:
        return []
    if not code.startswith(parent_code) or len(code) != len(parent_code) + LEVEL_CODE_DIGITS:
        return [
            _("code %(code)s must be the parent's code %(parent)s followed by three digits")
            % {"code": code, "parent": parent_code}
        ]
    level = level_of(code)
    if parent_level is not None and level is not None and level != parent_level + 1:
        return [
            _("grid %(code)s is at level %(level)d but its parent %(parent)s is at level %(parent_level)d")
            % {"code": code, "level": level, "parent": parent_code, "parent_level": parent_level}
        ]
    return []


def name_problems(name: str) -> list[str]:
    if not name or not name.strip():
        return [_("the name is empty")]
    if len(name) > NAME_MAX_LENGTH:
        return [_("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH}]
    return []


# -- geometry ----------------------------------------------------------------------------------------------
# What GEOS says about an invalid geometry, in the user's language.
_GEOS_REASONS = {
    "Self-intersection": gettext_lazy("the boundary crosses itself"),
    "Ring Self-intersection": gettext_lazy("a ring touches itself"),
    "Too few points": gettext_lazy("a ring has too few distinct points"),
    "Hole lies outside shell": gettext_lazy("a hole lies outside its polygon"),
    "Nested holes": gettext_lazy("a hole lies inside another hole"),
    "Interior is disconnected": gettext_lazy("holes cut the polygon into pieces"),
    "Nested shells": gettext_lazy("one polygon lies inside another of the same MultiPolygon"),
    "Duplicate Rings": gettext_lazy("a ring is repeated"),
    "Invalid Coordinate": gettext_lazy("a coordinate is not a number"),
    "Invalid Number of Points": gettext_lazy("a ring has too few points"),
    "Ring is not closed": gettext_lazy("a ring is not closed"),
}
_EXPLAIN = re.compile(r"^(?P<reason>[^\[]+?)\s*\[(?P<x>[-+0-9.eE]+)\s+(?P<y>[-+0-9.eE]+)\]")


def explain_invalid(geom: shapely.Geometry) -> str:
    """Why a geometry is not valid, and where (lon, lat), in the user's language."""
    raw = explain_validity(geom)
    m = _EXPLAIN.match(raw)
    if not m:
        return _("the geometry is not valid (%(detail)s)") % {"detail": raw}
    reason = m.group("reason").strip()
    return _("%(reason)s at %(lon).6f, %(lat).6f") % {
        "reason": _GEOS_REASONS.get(reason, reason),
        "lon": float(m.group("x")),
        "lat": float(m.group("y")),
    }


def _position_problem(pos: Any, where: str) -> str | None:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        return _("%(where)s is not a [longitude, latitude] pair") % {"where": where}
    lon, lat = pos[0], pos[1]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
        return _("%(where)s has a coordinate that is not a number") % {"where": where}
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return _("%(where)s has a coordinate that is not a finite number") % {"where": where}
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return _(
            "%(where)s (%(lon)s, %(lat)s) is outside the longitude/latitude range: are the coordinates "
            "projected or swapped?"
        ) % {"where": where, "lon": lon, "lat": lat}
    return None


def _polygon_structure_problems(rings: Any, label: str) -> list[str]:
    if not isinstance(rings, list | tuple) or not rings:
        return [_("%(polygon)s has no rings") % {"polygon": label}]
    problems: list[str] = []
    for r, ring in enumerate(rings, start=1):
        ring_label = _("%(polygon)s, ring %(ring)d") % {"polygon": label, "ring": r}
        if not isinstance(ring, list | tuple):
            problems.append(_("%(ring)s is not a list of points") % {"ring": ring_label})
            continue
        for p, pos in enumerate(ring, start=1):
            problem = _position_problem(
                pos, _("%(ring)s, point %(point)d") % {"ring": ring_label, "point": p}
            )
            if problem:
                problems.append(problem)
                break  # one bad point per ring is enough to name it
        else:
            distinct = {(pos[0], pos[1]) for pos in ring}
            if len(distinct) < 3:
                problems.append(_("%(ring)s has fewer than 3 distinct points") % {"ring": ring_label})
    return problems


def parse_geometry(obj: Any) -> tuple[Polygon | MultiPolygon | None, list[str]]:
    """A shapely (Multi)Polygon from a GeoJSON geometry, or None with every reason it cannot be one.

    Checks the structure first (so a malformed coordinate is named by polygon, ring and point instead of a
    library traceback), then the shape: non-empty and valid (a self-intersection is named with its place)."""
    if obj is None:
        return None, [_("the geometry is missing")]
    if not isinstance(obj, dict) or "type" not in obj:
        return None, [_("the geometry is not a GeoJSON object")]
    kind = obj.get("type")
    coords = obj.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        return None, [
            _("geometry type %(type)s: only Polygon and MultiPolygon are accepted") % {"type": kind}
        ]
    if kind == "Polygon":
        problems = _polygon_structure_problems(coords, _("the polygon"))
    elif not isinstance(coords, list | tuple) or not coords:
        problems = [_("the MultiPolygon has no polygons")]
    else:
        problems = []
        for i, rings in enumerate(coords, start=1):
            problems += _polygon_structure_problems(rings, _("polygon %(index)d") % {"index": i})
    if problems:
        return None, problems
    try:
        geom = shape(obj)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:  # structure checked; belt and braces
        return None, [_("the coordinates are malformed: %(error)s") % {"error": exc}]
    problems = shape_problems(geom)
    return (None if problems else geom), problems


def shape_problems(geom: Any) -> list[str]:
    """What is wrong with a shapely geometry as a grid boundary: type, emptiness, range, validity."""
    if not isinstance(geom, Polygon | MultiPolygon):
        return [
            _("geometry type %(type)s: only Polygon and MultiPolygon are accepted")
            % {"type": getattr(geom, "geom_type", type(geom).__name__)}
        ]
    if geom.is_empty:
        return [_("the geometry is empty")]
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return [_("a coordinate is not a finite number")]
    x0, y0, x1, y1 = geom.bounds
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        return [
            _(
                "the boundary (%(bounds)s) is outside the longitude/latitude range: are the coordinates projected or swapped?"
            )
            % {"bounds": f"{x0:.6f}, {y0:.6f} – {x1:.6f}, {y1:.6f}"}
        ]
    if not geom.is_valid:
        return [_("the boundary is not valid: %(reason)s") % {"reason": explain_invalid(geom)}]
    if geom.area == 0:
        return [_("the boundary encloses no area")]
    return []


def as_shape(geometry: Any) -> tuple[Polygon | MultiPolygon | None, list[str]]:
    """Accept a shapely geometry or a GeoJSON dict (what services receive from forms, the API and tests)."""
    if isinstance(geometry, dict):
        return parse_geometry(geometry)
    problems = shape_problems(geometry)
    return (None if problems else geometry), problems
