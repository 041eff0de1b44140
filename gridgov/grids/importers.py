"""Import grids from GeoJSON (boundaries) and from CSV files of division codes and names.

A file is read and checked as a whole; any bad row or feature rejects the whole file with a report naming
each one and why, and nothing is written. A good file is written in one transaction (`services.do_import_grids`).

- GeoJSON: a FeatureCollection, a bare array of features (as DataV writes county files) or one Feature;
  Polygon and MultiPolygon only. Properties give the code (``code``, or ``adcode`` as DataV has) and the
  name (``name``), optionally ``kind``, ``households`` and ``population``. `crs` converts GCJ-02 / BD-09 input.
- CSV: a header with a code column and a name column: ``code,name`` and its variants (``adcode``, ``id``,
  ``区划代码``/``名称``…), or a hierarchy such as ``village_code,village_name,town_code,town_name,county_code,
  county_name``, whose ancestor columns create missing towns and counties. UTF-8 with or without BOM,
  UTF-16 with BOM, or GB18030/GBK (what Chinese Excel saves) are detected.

Level comes from the code length (6 county, 9 town, 12 village, 15 grid); the parent from the code prefix,
found in the file or among the current grids. A CSV gives no boundary: such grids are held without one until
a GeoJSON with the same code supplies it (the same code in a GeoJSON then fills, rather than duplicates).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core.textfiles import decode_text

from .coords import check_crs, geometry_to_wgs84
from .models import Grid, GridKind
from .services import GridSpec, do_import_grids
from .validation import (
    GridInputError,
    Problem,
    code_problems,
    level_of,
    name_problems,
    normalise_code,
    parent_code_of,
    shape_problems,
)
from .validation import parse_geometry as parse_geojson_geometry

GEOJSON = "geojson"
CSV = "csv"


@dataclass
class Record:
    """One grid as the file gives it, before checking."""

    where: str  # "row 5" / "feature 3", in the user's language
    code: str
    name: str
    geometry: shapely.Geometry | None = None
    kind: str = GridKind.BASE
    households: int = 0
    population: int = 0
    # (code, name) of ancestors named in the same CSV row (town and county columns)
    ancestors: list[tuple[str, str]] = field(default_factory=list)
    # False when reading found a problem in it: its code is still checked for duplicates in the file, but
    # it is not compared with the current grids (a broken boundary is not "no boundary").
    readable: bool = True


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    created: list[GridSpec] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    change_id: int | None = None

    def summary(self) -> str:
        by_level: dict[int, int] = {}
        for s in self.created:
            by_level[s.level] = by_level.get(s.level, 0) + 1
        levels = ", ".join(
            _("level %(level)d: %(count)d") % {"level": k, "count": v} for k, v in sorted(by_level.items())
        )
        values = {
            "created": len(self.created),
            "levels": _(" (%(levels)s)") % {"levels": levels} if levels else "",
            "filled": len(self.filled),
        }
        if self.dry_run:
            return (
                _(
                    "Would create %(created)d grid(s)%(levels)s and supply boundaries for %(filled)d existing "
                    "grid(s); nothing was written (dry run)."
                )
                % values
            )
        return (
            _("Created %(created)d grid(s)%(levels)s; supplied boundaries for %(filled)d existing grid(s).")
            % values
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "created": [
                {"code": s.code, "name": s.name, "level": s.level, "boundary": s.geometry is not None}
                for s in self.created
            ],
            "filled": self.filled,
            "warnings": [w.as_dict() for w in self.warnings],
            "change": self.change_id,
        }


# -- reading bytes ---------------------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise GridInputError(
            [
                Problem(
                    _("file"),
                    _("the file is neither UTF-8 nor GB18030/GBK text (byte %(pos)d)") % {"pos": exc.start},
                )
            ]
        ) from exc


def sniff_format(name: str, text: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".json", ".geojson"):
        return GEOJSON
    if suffix in (".csv", ".txt", ".tsv"):
        return CSV
    return GEOJSON if text.lstrip()[:1] in ("{", "[") else CSV


# -- GeoJSON ---------------------------------------------------------------------------------------------------
def _int_property(props: dict[str, Any], key: str, where: str, problems: list[Problem]) -> int:
    value = props.get(key)
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < 0:
        problems.append(
            Problem(where, _("%(value)s is not a whole number of zero or more") % {"value": value}, key)
        )
        return 0
    return number


def geojson_features(text: str, *, bare_geometry: bool = False) -> tuple[list[Any], list[Problem]]:
    """The features of a GeoJSON text (a FeatureCollection, an array of features or one Feature; with
    `bare_geometry`, a lone geometry too), or the problems that make it unreadable."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [
            Problem(
                _("file"),
                _("not valid JSON: %(error)s at line %(line)d, column %(column)d")
                % {"error": exc.msg, "line": exc.lineno, "column": exc.colno},
            )
        ]
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            return [], [Problem(_("file"), _("the FeatureCollection has no list of features"))]
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, list):
        features = doc
    elif bare_geometry and isinstance(doc, dict):
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        return [], [
            Problem(
                _("file"),
                _("expected a FeatureCollection or an array of features (a bare geometry has no code)"),
            )
        ]
    if not features:
        return [], [Problem(_("file"), _("the file has no features"))]
    return features, []


def read_geojson(text: str, crs: str = "wgs84") -> tuple[list[Record], list[Problem]]:
    """Records of a GeoJSON text, and every problem found in it."""
    crs = check_crs(crs)
    features, problems = geojson_features(text)
    if problems:
        return [], problems
    records: list[Record] = []
    for index, feature in enumerate(features, start=1):
        where = _("feature %(index)d") % {"index": index}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem(where, _("not a GeoJSON Feature")))
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(Problem(where, _("its properties are not an object")))
            continue
        raw_code = props.get("code", props.get("adcode"))
        code = normalise_code(raw_code)
        where = _("feature %(index)d (code %(code)s)") % {"index": index, "code": code} if code else where
        if not code:
            problems.append(Problem(where, _("no code: give the property code (or adcode)"), "code"))
        name = str(props.get("name") or "").strip()
        kind = str(props.get("kind") or GridKind.BASE).strip()
        households = _int_property(props, "households", where, problems)
        population = _int_property(props, "population", where, problems)
        before = len(problems)
        geom, geometry_problems = parse_geojson_geometry(feature.get("geometry"))
        problems += [Problem(where, m, "geometry") for m in geometry_problems]
        if geom is not None and crs != "wgs84":
            geom = geometry_to_wgs84(geom, crs)
            # Converting moves every vertex by a slightly different offset; re-check what we will store.
            problems += [Problem(where, m, "geometry") for m in shape_problems(geom)]
        records.append(
            Record(where, code, name, geom, kind, households, population, readable=len(problems) == before)
        )
    return records, problems


# -- CSV -------------------------------------------------------------------------------------------------------
# Header names (lower case, without blanks) for a column of codes and its column of names.
_PAIRS: list[tuple[str, str]] = [
    ("code", "name"),
    ("adcode", "name"),
    ("id", "name"),
    ("grid_code", "grid_name"),
    ("区划代码", "名称"),
    ("统计用区划代码", "名称"),
    ("区划代码", "区划名称"),
    ("代码", "名称"),
    ("编码", "名称"),
    ("网格编码", "网格名称"),
    ("网格代码", "网格名称"),
]
# Prefixed pairs: village_code/village_name, town_code/town_name, county_code/county_name...
_PREFIXES = ["grid", "village", "community", "town", "street", "township", "county", "district"]
_KIND = ("kind", "类型", "网格类型")
_HOUSEHOLDS = ("households", "户数")
_POPULATION = ("population", "人口", "人口数")


def _column_pairs(header: list[str]) -> list[tuple[int, int | None]]:
    """(code column, name column) pairs found in a header, in the order of the header."""
    norm = [h.strip().lstrip("\ufeff").strip('"').lower().replace(" ", "") for h in header]
    index = {h: i for i, h in enumerate(norm)}
    pairs: list[tuple[int, int | None]] = []
    for code_col, name_col in _PAIRS:
        if code_col in index and index[code_col] not in [p[0] for p in pairs]:
            pairs.append((index[code_col], index.get(name_col)))
    for prefix in _PREFIXES:
        for sep in ("_", ""):
            code_col = f"{prefix}{sep}code"
            if code_col in index and index[code_col] not in [p[0] for p in pairs]:
                pairs.append((index[code_col], index.get(f"{prefix}{sep}name")))
    return sorted(pairs)


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    norm = [h.strip().lstrip("\ufeff").lower() for h in header]
    for n in names:
        if n in norm:
            return norm.index(n)
    return None


def read_csv(text: str) -> tuple[list[Record], list[Problem]]:
    """Records of a CSV text (row numbers as a spreadsheet shows them: the header is row 1)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], [Problem(_("file"), _("the file is empty"))]
    try:
        dialect: Any = csv.Sniffer().sniff(lines[0], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    header = rows[0]
    pairs = _column_pairs(header)
    if not pairs:
        return [], [
            Problem(
                _("row 1"),
                _(
                    "no column of codes: expected a header such as code,name or village_code,village_name "
                    "(found: %(header)s)"
                )
                % {"header": ",".join(header)},
            )
        ]
    kind_col, households_col, population_col = (
        _find(header, _KIND),
        _find(header, _HOUSEHOLDS),
        _find(header, _POPULATION),
    )
    records: list[Record] = []
    problems: list[Problem] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = _("row %(number)d") % {"number": number}
        if len(row) != len(header):
            problems.append(
                Problem(
                    where,
                    _("%(count)d fields where the header has %(expected)d")
                    % {"count": len(row), "expected": len(header)},
                )
            )
            continue
        # The most specific code of the row is the grid; the other pairs name its ancestors.
        named = [
            (normalise_code(row[c]), row[n].strip() if n is not None else "", c)
            for c, n in pairs
            if row[c].strip()
        ]
        if not named:
            problems.append(Problem(where, _("no code in this row"), header[pairs[0][0]]))
            continue
        named.sort(key=lambda t: len(t[0]), reverse=True)
        code, name, column = named[0]
        where = _("row %(number)d (code %(code)s)") % {"number": number, "code": code}
        if any(pair[1] is None for pair in pairs if pair[0] == column):
            problems.append(Problem(where, _("no column of names beside the codes"), header[column]))
            continue
        props = {
            "kind": row[kind_col].strip() if kind_col is not None else "",
            "households": row[households_col] if households_col is not None else "",
            "population": row[population_col] if population_col is not None else "",
        }
        records.append(
            Record(
                where,
                code,
                name,
                None,
                props["kind"] or GridKind.BASE,
                _int_property(props, "households", where, problems),
                _int_property(props, "population", where, problems),
                ancestors=[(c, n) for c, n, _col in named[1:] if n],
            )
        )
    if not records and not problems:
        problems.append(Problem(_("file"), _("the file has a header but no rows")))
    return records, problems


# -- checking a whole file against the tree ------------------------------------------------------------------------
@dataclass
class Plan:
    specs: list[GridSpec]
    fills: dict[str, shapely.Geometry]
    warnings: list[Problem]


def plan_import(records: list[Record]) -> tuple[Plan, list[Problem]]:
    """What the records would create and fill, and every problem: bad codes, names, kinds, duplicates (in the
    file and against current grids), parents found nowhere, a name already used by a sibling."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    first_seen: dict[str, Record] = {}
    for r in records:
        bad = [Problem(r.where, m, "code") for m in code_problems(r.code, kind=r.kind)]
        bad += [Problem(r.where, m, "name") for m in name_problems(r.name)]
        if r.code in first_seen:
            bad.append(
                Problem(
                    r.where,
                    _("code %(code)s appears again (first in %(first)s)")
                    % {"code": r.code, "first": first_seen[r.code].where},
                    "code",
                )
            )
        problems += bad
        if r.code and r.code not in first_seen:
            first_seen[r.code] = r
    # Ancestors named in CSV columns (town, county): created when missing, so they must agree row to row.
    ancestor_names: dict[str, tuple[str, str]] = {}
    for r in records:
        for code, name in r.ancestors:
            if r.code and not r.code.startswith(code):
                problems.append(
                    Problem(
                        r.where,
                        _("code %(code)s does not start with its parent's code %(parent)s")
                        % {"code": r.code, "parent": code},
                        "code",
                    )
                )
            if code not in ancestor_names:
                ancestor_names[code] = (name, r.where)
                problems += [Problem(r.where, m, "code") for m in code_problems(code)]
            elif ancestor_names[code][0] != name:
                problems.append(
                    Problem(
                        r.where,
                        _("%(code)s is named %(name)s here but %(other)s in %(where)s")
                        % {
                            "code": code,
                            "name": name,
                            "other": ancestor_names[code][0],
                            "where": ancestor_names[code][1],
                        },
                    )
                )
    if problems or not all(r.readable for r in records):
        # Duplicates against the tree and parents are only worth checking once every record is well formed.
        return Plan([], {}, warnings), problems

    codes = set(first_seen) | set(ancestor_names)
    existing = {
        g.code: g
        for g in Grid.objects.current().filter(code__in=codes | {c for c in map(parent_code_of, codes) if c})
    }
    specs: dict[str, GridSpec] = {}
    fills: dict[str, shapely.Geometry] = {}
    where_of: dict[str, str] = {}
    for code, r in first_seen.items():
        old = existing.get(code)
        if old is None:
            level = level_of(code)
            specs[code] = GridSpec(
                code,
                r.name,
                level if level is not None else -1,
                r.geometry,
                parent_code_of(code),
                r.kind,
                r.households,
                r.population,
            )
            where_of[code] = r.where
        elif r.geometry is not None and old.geometry is None:
            fills[code] = r.geometry
            if r.name and r.name != old.name:
                warnings.append(
                    Problem(
                        r.where,
                        _("%(code)s keeps its name %(name)s; the file calls it %(other)s")
                        % {"code": code, "name": old.name, "other": r.name},
                    )
                )
        else:
            problems.append(
                Problem(
                    r.where,
                    _("code %(code)s already exists (%(name)s)%(hint)s")
                    % {
                        "code": code,
                        "name": old.name
                        if old.name == r.name
                        else _("%(name)s; the file calls it %(other)s") % {"name": old.name, "other": r.name},
                        "hint": _(": to change its boundary, split, merge or redraw it")
                        if r.geometry is not None
                        else "",
                    },
                    "code",
                )
            )
    for code, (name, where) in ancestor_names.items():
        if code in specs or code in existing:
            if code in existing and existing[code].name != name:
                warnings.append(
                    Problem(
                        where,
                        _("%(code)s keeps its name %(name)s; the file calls it %(other)s")
                        % {"code": code, "name": existing[code].name, "other": name},
                    )
                )
            continue
        level = level_of(code)
        specs[code] = GridSpec(code, name, level if level is not None else -1, None, parent_code_of(code))
        where_of[code] = where
    # The deployment's county is the root of every import: create it, without a boundary, when missing.
    county = settings.COUNTY_CODE
    needs_root = any(s.parent_code == county for s in specs.values())
    if (
        needs_root
        and county not in specs
        and county not in existing
        and not Grid.objects.current().filter(code=county).exists()
    ):
        specs[county] = GridSpec(county, str(settings.COUNTY_NAME), 0, None, None)
        where_of[county] = _("county")
        warnings.append(
            Problem(
                county,
                _("the county root %(code)s %(name)s was created without a boundary")
                % {"code": county, "name": settings.COUNTY_NAME},
            )
        )
    # Parents: in the file, or current grids.
    parent_codes = {s.parent_code for s in specs.values() if s.parent_code}
    parents = {g.code: g for g in Grid.objects.current().filter(code__in=parent_codes)}
    for code, s in specs.items():
        if s.parent_code and s.parent_code not in specs and s.parent_code not in parents and s.level > 0:
            problems.append(
                Problem(
                    where_of[code],
                    _("its parent %(parent)s is neither in the file nor among the current grids")
                    % {"parent": s.parent_code},
                    "code",
                )
            )
    # Names are unique among siblings: the same name under another code usually means another code system.
    sibling_names: dict[str | None, dict[str, str]] = {}
    for parent_code in {s.parent_code for s in specs.values()}:
        if parent_code in parents:
            sibling_names[parent_code] = dict(
                Grid.objects.current().filter(parent=parents[parent_code]).values_list("name", "code")
            )
        else:
            sibling_names[parent_code] = {}
    for code in sorted(specs):
        s = specs[code]
        names = sibling_names[s.parent_code]
        if s.name in names and names[s.name] != code:
            problems.append(
                Problem(
                    where_of[code],
                    _(
                        "the name %(name)s is already used by %(other)s under the same parent (do the codes follow another code system?)"
                    )
                    % {"name": s.name, "other": names[s.name]},
                    "name",
                )
            )
        names.setdefault(s.name, code)
    ordered = sorted(specs.values(), key=lambda s: (s.level, s.code))
    return Plan(ordered, fills, warnings), problems


def import_grids(
    source: str | Path | bytes,
    *,
    actor: Any = None,
    crs: str = "wgs84",
    effective: dt.date | None = None,
    dry_run: bool = False,
    fmt: str | None = None,
    name: str = "",
    reason: str = "",
) -> ImportReport:
    """Read, check and (unless `dry_run`) write a GeoJSON or CSV file of grids. Raises `GridInputError`
    listing every problem; then nothing was written."""
    if isinstance(source, bytes):
        data, name = source, name or "upload"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GridInputError(
                [Problem(str(path), _("cannot read the file: %(error)s") % {"error": exc.strerror})]
            ) from exc
        name = name or path.name
    text = decode(data)
    fmt = fmt or sniff_format(name, text)
    try:
        crs = check_crs(crs)
    except ValidationError as exc:
        raise GridInputError([Problem("--crs", m) for m in exc.messages]) from exc
    if fmt == GEOJSON:
        records, problems = read_geojson(text, crs)
    elif fmt == CSV:
        records, problems = read_csv(text)
    else:
        raise GridInputError(
            [Problem(_("file"), _("unknown format %(format)s: use geojson or csv") % {"format": fmt})]
        )
    effective = effective or timezone.localdate()
    if effective > timezone.localdate():
        # The current tree is what holds today; a grid that starts later would be current too early.
        raise GridInputError(
            [Problem(_("effective date"), _("%(date)s is in the future") % {"date": effective})]
        )
    report = ImportReport(source=name, dry_run=dry_run)
    try:
        # Checked and written in one transaction, so what was checked is what is written.
        with transaction.atomic():
            plan, plan_problems = plan_import(records)
            problems += plan_problems
            if problems:
                raise GridInputError(problems)
            report.created, report.filled, report.warnings = plan.specs, sorted(plan.fills), plan.warnings
            if not dry_run:
                if not plan.specs and not plan.fills:
                    raise GridInputError([Problem(name, _("nothing to import"))])
                change = do_import_grids(
                    plan.specs, plan.fills, actor=actor, effective=effective, reason=reason, source=name
                )
                report.change_id = change.pk
    except IntegrityError as exc:  # another import wrote the same codes between our check and our write
        raise GridInputError(
            [Problem(name, _("another change wrote the same codes meanwhile; import again"))]
        ) from exc
    return report


# -- shapes for adjustments ------------------------------------------------------------------------------------
def read_shapes(data: bytes, crs: str = "wgs84") -> list[tuple[str, shapely.Geometry]]:
    """(name, WGS-84 geometry) of each feature of a GeoJSON file (a FeatureCollection, an array of features,
    one Feature or a bare geometry): the pieces of a split, the new boundary of a redraw."""
    crs = check_crs(crs)
    features, problems = geojson_features(decode(data), bare_geometry=True)
    shapes: list[tuple[str, shapely.Geometry]] = []
    for index, feature in enumerate(features, start=1):
        where = _("feature %(index)d") % {"index": index}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem(where, _("not a GeoJSON Feature")))
            continue
        geom, geometry_problems = parse_geojson_geometry(feature.get("geometry"))
        problems += [Problem(where, m, "geometry") for m in geometry_problems]
        if geom is not None:
            name = str((feature.get("properties") or {}).get("name") or "").strip()
            shapes.append((name, geometry_to_wgs84(geom, crs)))
    if problems:
        raise GridInputError(problems)
    return shapes
