"""The only code that changes grids. Each `do_*` runs in one transaction, records a `GridChange` and an
audit entry, and bumps the tree generation so every process's locator rebuilds.

Dynamic adjustment (动态调整): `do_split_grid`, `do_merge_grids` and `do_redraw_boundary` validate everything
first (a clear, translated error changes nothing), then close the old grids or versions on the effective
date, open the new ones, move the grids below them and the role assignments scoped to them, record what
moved, and send `signals.grid_adjusted` so other apps move their located rows in the same transaction.

A grid's code spells its path (county + town + village + sequence), so a grid whose parent changes gets a new
code, which means a new `Grid` row: the old one is closed and maps one to one to the new one.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core import audit

from . import locator
from .checks import tile_defects
from .geometry import area_m2, bbox, from_geojson, metres_per_degree, to_geojson
from .models import LEVEL_CODE_DIGITS, SPECIAL_KINDS, Grid, GridChange, GridKind, GridVersion, TreeGeneration
from .signals import grid_adjusted
from .validation import GridInputError, Problem, as_shape, name_problems, sequence_range

# Grids whose boundaries come within this distance (degrees, about 5 cm) count as touching: stored
# coordinates are rounded to 1e-7°, so edges that were shared in the source may differ by that much.
TOUCH_DEGREES = 5e-7
# Two grids are neighbours when they share at least this much boundary; touching at a corner is not enough.
MIN_SHARED_EDGE_M = 1.0


@dataclass
class GridSpec:
    """A grid to create. `parent_code` names a current grid or another spec earlier in the same batch.

    `geometry` may be None for a grid known only by code and name (a CSV of divisions); a later GeoJSON
    import with the same code supplies it."""

    code: str
    name: str
    level: int
    geometry: shapely.Geometry | None
    parent_code: str | None = None
    kind: str = GridKind.BASE
    households: int = 0
    population: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def bump_generation() -> None:
    """Tell every process the tree changed (after this transaction commits)."""
    TreeGeneration.objects.bulk_create([TreeGeneration(pk=1, value=0)], ignore_conflicts=True)
    TreeGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    transaction.on_commit(locator.invalidate)


def fill_tree_fields(grids: list[Grid]) -> None:
    """Set path and l1/l2/l3 of saved grids, parents before children (parents may be in the list)."""
    for g in grids:
        parent = g.parent
        g.path = f"{parent.path if parent else '/'}{g.pk}/"
        g.l1_id = g.pk if g.level == 1 else (parent.l1_id if parent else None)
        g.l2_id = g.pk if g.level == 2 else (parent.l2_id if parent and g.level > 2 else None)
        g.l3_id = g.pk if g.level == 3 else (parent.l3_id if parent and g.level > 3 else None)


def _shape_fields(geom: shapely.Geometry | None, precision: int = 7) -> dict[str, Any]:
    """The stored columns of a boundary: GeoJSON, bounding box and area (all None when unknown).

    Imports round to 1e-7° (1 cm): shared vertices round alike, so shared edges stay shared. Adjustments
    keep full precision (`precision=0`): their new vertices lie on existing edges, and rounding would move
    them off by up to a centimetre, which along a kilometre of edge is a sliver above the tolerance."""
    if geom is None:
        return {
            "geometry": None,
            "min_lon": None,
            "min_lat": None,
            "max_lon": None,
            "max_lat": None,
            "area_m2": None,
        }
    # Measure what is stored: the area of the rounded shape, so figures add up when shapes are recombined.
    geom = shapely.set_precision(geom, 10**-precision) if precision else geom
    min_lon, min_lat, max_lon, max_lat = bbox(geom)
    return {
        "geometry": to_geojson(geom, 0),
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "area_m2": area_m2(geom),
    }


def _insert_grids(specs: list[GridSpec], effective: dt.date) -> list[Grid]:
    """Insert new grids level by level, so every parent has its id before its children are written."""
    by_code = {g.code: g for g in Grid.objects.current().filter(code__in={s.parent_code for s in specs})}
    created: list[Grid] = []
    for level in sorted({s.level for s in specs}):
        batch = [
            Grid(
                code=s.code,
                name=s.name,
                level=s.level,
                kind=s.kind,
                parent=by_code.get(s.parent_code) if s.parent_code else None,
                path="",
                households=s.households,
                population=s.population,
                valid_from=effective,
                **_shape_fields(s.geometry),
            )
            for s in specs
            if s.level == level
        ]
        batch = Grid.objects.bulk_create(batch, batch_size=500)
        fill_tree_fields(batch)
        Grid.objects.bulk_update(batch, ["path", "l1", "l2", "l3"], batch_size=500)
        by_code.update({g.code: g for g in batch})
        created.extend(batch)
    return created


def _open_versions(grids: Iterable[Grid], effective: dt.date, change: GridChange) -> None:
    GridVersion.objects.bulk_create(
        [
            GridVersion(
                grid=g,
                parent_id=g.parent_id,
                geometry=g.geometry,
                area_m2=g.area_m2,
                valid_from=effective,
                change=change,
            )
            for g in grids
        ],
        batch_size=500,
    )


def do_create_grids(
    specs: list[GridSpec],
    *,
    actor: Any,
    effective: dt.date,
    kind: str = GridChange.Kind.IMPORT,
    reason: str = "",
) -> list[Grid]:
    """Create many grids at once (parents first), with their first versions, one change and one audit entry.

    The caller validates (codes, geometry, tiling); this only writes."""
    with transaction.atomic():
        created = _insert_grids(specs, effective)
        change = GridChange.objects.create(kind=kind, effective=effective, reason=reason, actor=actor)
        change.opened.add(*created)
        _open_versions(created, effective, change)
        audit.record(
            f"grids.{kind}",
            actor=actor,
            target=change,
            data={"count": len(created), "levels": sorted({g.level for g in created}), "reason": reason},
        )
        bump_generation()
    return created


def do_import_grids(
    specs: list[GridSpec],
    fills: dict[str, shapely.Geometry],
    *,
    actor: Any,
    effective: dt.date,
    reason: str = "",
    source: str = "",
) -> GridChange:
    """Write a validated import in one transaction: create the new grids and give boundaries to current
    grids that had none (`fills`: code → geometry). `importers.import_grids` validates and calls this."""
    with transaction.atomic():
        created = _insert_grids(specs, effective)
        filled = _fill_geometries(fills)
        change = GridChange.objects.create(
            kind=GridChange.Kind.IMPORT,
            effective=effective,
            reason=reason,
            actor=actor,
            moved={"filled": sorted(fills), "source": source} if fills or source else {},
        )
        change.opened.add(*created)
        _open_versions(created, effective, change)
        audit.record(
            "grids.import",
            actor=actor,
            target=change,
            data={
                "source": source,
                "created": len(created),
                "filled": len(filled),
                "levels": sorted({g.level for g in created}),
                "reason": reason,
            },
        )
        bump_generation()
    return change


def _fill_geometries(fills: dict[str, shapely.Geometry]) -> list[Grid]:
    """Give current grids without a boundary their boundary. The boundary was only unknown, not changed, so
    the grid's open version is completed in place rather than closed and replaced."""
    filled = []
    for code, geom in sorted(fills.items()):
        values = _shape_fields(geom)
        # Compare-and-set: only a grid that still has no boundary is filled (a concurrent import loses).
        updated = Grid.objects.current().filter(code=code, geometry__isnull=True).update(**values)
        if updated != 1:
            raise GridInputError(
                [Problem(code, _("the grid was changed by someone else meanwhile; import again"))]
            )
        grid = Grid.objects.current().get(code=code)
        GridVersion.objects.filter(grid=grid, valid_to__isnull=True).update(
            geometry=values["geometry"], area_m2=values["area_m2"]
        )
        filled.append(grid)
    return filled


def do_update_grid(
    grid: Grid,
    *,
    actor: Any,
    name: str | None = None,
    households: int | None = None,
    population: int | None = None,
) -> Grid:
    """Rename a grid or correct its figures (the admin's edit). Boundaries change only by adjustments."""
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    if name is not None and name != grid.name:
        problems += [Problem(grid.code, m, _("name")) for m in name_problems(name)]
        changes["name"] = name.strip()
    for label, key, value in (
        (_("households"), "households", households),
        (_("population"), "population", population),
    ):
        if value is not None and value != getattr(grid, key):
            if value < 0:
                problems.append(Problem(grid.code, _("must not be negative"), label))
            changes[key] = value
    figures = {k: v for k, v in changes.items() if k in ("households", "population")}
    if figures and Grid.objects.current().filter(parent=grid).exists():
        problems.append(
            Problem(
                grid.code, _("the figures of a grid with grids below it are the sum of theirs: correct those")
            )
        )
    if problems:
        raise GridInputError(problems)
    if not changes:
        return grid
    with transaction.atomic():
        before = {k: getattr(grid, k) for k in changes}
        if Grid.objects.current().filter(pk=grid.pk).update(**changes) != 1:
            raise GridInputError([Problem(grid.code, _("the grid is no longer current"))])
        # Every grid above holds the sum of its children's figures: carry the difference up the path.
        ancestors = [int(x) for x in grid.path.strip("/").split("/")[:-1]]
        if figures and ancestors:
            Grid.objects.filter(pk__in=ancestors).update(
                **{k: F(k) + (v - before[k]) for k, v in figures.items()}
            )
        for k, v in changes.items():
            setattr(grid, k, v)
        audit.record("grids.update", actor=actor, target=grid, data={"before": before, "after": changes})
        if "name" in changes:
            bump_generation()  # the locator answers names too
    return grid


# -- dynamic adjustment: shared checks -----------------------------------------------------------------------
def _tolerance() -> float:
    return float(settings.GRID_TOLERANCE_M2)


def _shape_of(grid: Grid) -> shapely.Geometry | None:
    return from_geojson(grid.geometry) if grid.geometry is not None else None


def _lock_current(grids: Sequence[Grid]) -> list[Grid]:
    """Re-read the grids inside the transaction, locked, and refuse any that is no longer current."""
    ids = list(dict.fromkeys(g.pk for g in grids))
    fresh = {g.pk: g for g in Grid.objects.select_for_update().filter(pk__in=ids)}
    problems = [
        Problem(g.code, _("the grid is no longer current"))
        for g in grids
        if g.pk not in fresh or fresh[g.pk].valid_to is not None
    ]
    _raise(problems)
    return [fresh[i] for i in ids]


def _subtree(grids: Sequence[Grid]) -> list[Grid]:
    """Current grids below `grids` (not the grids themselves), parents before children."""
    if not grids:
        return []
    q = Q(pk__in=[])
    for g in grids:
        q |= Q(path__startswith=g.path)
    return list(
        Grid.objects.current().filter(q).exclude(pk__in=[g.pk for g in grids]).order_by("level", "code")
    )


def _children(grids: Sequence[Grid]) -> list[Grid]:
    return list(Grid.objects.current().filter(parent__in=[g.pk for g in grids]).order_by("code"))


def _effective_problems(effective: dt.date, grids: Sequence[Grid]) -> list[Problem]:
    """The effective date must be today or earlier, and after every affected grid's current version began
    (a version that closed on the day it opened would vanish from history)."""
    problems: list[Problem] = []
    if not isinstance(effective, dt.date):
        return [Problem(_("effective date"), _("%(value)s is not a date") % {"value": effective})]
    if effective > timezone.localdate():
        problems.append(
            Problem(
                _("effective date"),
                _("%(date)s is in the future: record an adjustment on or after the day it takes effect")
                % {"date": effective},
            )
        )
    starts = dict(
        GridVersion.objects.filter(grid__in=[g.pk for g in grids], valid_to__isnull=True).values_list(
            "grid_id", "valid_from"
        )
    )
    for g in grids:
        start = starts.get(g.pk, g.valid_from)
        if effective <= start:
            problems.append(
                Problem(
                    g.code,
                    _(
                        "the effective date %(date)s must be after %(start)s, when its current boundary took effect"
                    )
                    % {"date": effective, "start": start},
                )
            )
    return problems


def _name_problems(where: str, name: str, taken: dict[str, str]) -> list[Problem]:
    problems = [Problem(where, m, _("name")) for m in name_problems(name)]
    if not problems and name.strip() in taken:
        problems.append(
            Problem(
                where,
                _("the name %(name)s is already used by %(code)s under the same parent")
                % {"name": name.strip(), "code": taken[name.strip()]},
                _("name"),
            )
        )
    return problems


def _sibling_names(parent_id: int | None, excluding: Iterable[int]) -> dict[str, str]:
    """Names of the current children of a parent (name → code), leaving out the grids being replaced."""
    return dict(
        Grid.objects.current()
        .filter(parent_id=parent_id)
        .exclude(pk__in=list(excluding))
        .values_list("name", "code")
    )


def _used_sequences(parent_code: str, level: int) -> set[int]:
    """Every number ever used under a parent code, closed grids included: codes are never reused, so a code
    in an old case or report always means one place."""
    codes = Grid.objects.filter(level=level, code__startswith=parent_code).values_list("code", flat=True)
    return {int(c[-LEVEL_CODE_DIGITS:]) for c in codes if len(c) == len(parent_code) + LEVEL_CODE_DIGITS}


def _next_codes(
    parent_code: str, level: int, kind: str, count: int, like: int | None, taken: set[int]
) -> list[str]:
    """`count` new codes under a parent: the numbers after the highest used in the kind's range, then any
    never-used number of the range; a clear error when the range is full. `taken` collects numbers given out
    in this adjustment."""
    allowed = sequence_range(level, kind, like)
    used = _used_sequences(parent_code, level) | taken
    in_range = [n for n in used if n in allowed]
    start = max(in_range) + 1 if in_range else allowed.start
    free = [n for n in range(start, allowed.stop) if n not in used]
    free += [n for n in range(allowed.start, start) if n not in used]
    if len(free) < count:
        raise GridInputError(
            [
                Problem(
                    parent_code,
                    _("no free code left under %(parent)s in %(start)03d–%(end)03d")
                    % {"parent": parent_code, "start": allowed.start, "end": allowed.stop - 1},
                )
            ]
        )
    chosen = free[:count]
    taken.update(chosen)
    return [f"{parent_code}{n:03d}" for n in chosen]


def _polygons(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """The polygons of any geometry (an intersection may also give lines and points: those have no area)."""
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            out.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            out += _polygons(part)
    return out


def _without_slivers(geom: shapely.Geometry, tolerance_m2: float) -> shapely.Geometry:
    """A (Multi)Polygon of the parts of `geom` larger than the tolerance; an empty Polygon when none is."""
    parts = [p for p in _polygons(geom) if area_m2(p) > tolerance_m2]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _shared_edge_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Length in metres of the boundary of `a` that runs along `b` (within the touching tolerance)."""
    along = shapely.intersection(shapely.boundary(a), shapely.buffer(b, TOUCH_DEGREES))
    if along.is_empty:
        return 0.0
    per_lon, per_lat = metres_per_degree((a.bounds[1] + a.bounds[3]) / 2)
    total = 0.0
    for part in shapely.get_parts(along):
        for line in shapely.get_parts(part) if part.geom_type == "MultiLineString" else [part]:
            xy = shapely.get_coordinates(line)
            if len(xy) >= 2:
                d = np.diff(xy, axis=0)
                total += float(np.hypot(d[:, 0] * per_lon, d[:, 1] * per_lat).sum())
    return total


def _connected(geoms: Sequence[shapely.Geometry]) -> list[int]:
    """Indexes of the geometries not reachable from the first through shared edges (empty: contiguous)."""
    adjacent: list[set[int]] = [set() for _ in geoms]
    tree = shapely.STRtree([shapely.buffer(g, TOUCH_DEGREES) for g in geoms])
    left, right = tree.query(np.array(geoms, dtype=object), predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j and _shared_edge_m(geoms[i], geoms[j]) >= MIN_SHARED_EDGE_M:
            adjacent[i].add(j)
            adjacent[j].add(i)
    seen = {0}
    queue = deque([0])
    while queue:
        for j in adjacent[queue.popleft()] - seen:
            seen.add(j)
            queue.append(j)
    return [i for i in range(len(geoms)) if i not in seen]


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise GridInputError(problems)


def _side_of(
    children: Sequence[Grid], sides: Sequence[shapely.Geometry], labels: Sequence[str]
) -> tuple[list[int], list[Problem]]:
    """Which side (piece, or new shape) holds each child, by its representative point; a child that the
    new boundaries cut (more than the tolerance of it outside its side) is a problem, as is one without a
    boundary. Children must lie on one side so every level still tiles after the adjustment."""
    tol = _tolerance()
    where: list[int] = []
    problems: list[Problem] = []
    tree = shapely.STRtree(list(sides))
    for child in children:
        geom = _shape_of(child)
        if geom is None:
            problems.append(Problem(child.code, _("has no boundary, so it cannot be placed on either side")))
            where.append(-1)
            continue
        point = shapely.point_on_surface(geom)
        hits = sorted(int(i) for i in tree.query(point, predicate="intersects"))
        if not hits:
            problems.append(Problem(child.code, _("lies outside every new boundary")))
            where.append(-1)
            continue
        side = hits[0]
        outside = area_m2(shapely.difference(geom, sides[side]))
        if outside > tol:
            problems.append(
                Problem(
                    child.code,
                    _(
                        "the new boundaries cut this grid: %(area).1f m² of it would lie outside %(side)s; "
                        "draw the new boundaries along its edges, or adjust it first"
                    )
                    % {"area": outside, "side": labels[side]},
                )
            )
        where.append(side)
    return where, problems


@dataclass
class _Moves:
    """What an adjustment does to the tree."""

    closed: list[Grid] = field(default_factory=list)
    opened: list[Grid] = field(default_factory=list)
    # old grid id → the grids that now hold what it held (code order)
    mapping: dict[int, list[Grid]] = field(default_factory=dict)


def _new_grid_like(old: Grid, *, code: str, parent: Grid, effective: dt.date) -> Grid:
    """A copy of `old` under a new parent: a re-coded grid keeps its shape, kind, name and figures."""
    return Grid(
        code=code,
        name=old.name,
        level=old.level,
        kind=old.kind,
        parent=parent,
        path="",
        geometry=old.geometry,
        min_lon=old.min_lon,
        min_lat=old.min_lat,
        max_lon=old.max_lon,
        max_lat=old.max_lat,
        area_m2=old.area_m2,
        households=old.households,
        population=old.population,
        valid_from=effective,
    )


def _save_new(grids: list[Grid]) -> None:
    """Insert grids whose parents are saved already (or earlier in the list), with their tree fields."""
    for g in grids:
        g.save(force_insert=True)
        fill_tree_fields([g])
        Grid.objects.filter(pk=g.pk).update(path=g.path, l1=g.l1_id, l2=g.l2_id, l3=g.l3_id)


def _rehome(plan: AdjustmentPreview, parents: Sequence[Grid], effective: dt.date, result: _Moves) -> None:
    """Make the new rows the plan gives the grids that change parent (see `_planned_moves`): each such grid, and
    everything below it, becomes a new row with its planned code, under one of `parents` (the saved grids of
    the adjustment) or under the new row of its old parent. The old rows go to `result.closed`, mapped one to
    one."""
    old = {g.pk: g for g in plan.closed}
    by_code = {g.code: g for g in parents}
    for pk, code in plan.recoded.items():
        new = _new_grid_like(
            old[pk], code=code, parent=by_code[code[:-LEVEL_CODE_DIGITS]], effective=effective
        )
        _save_new([new])
        by_code[code] = new
        result.closed.append(old[pk])
        result.mapping[pk] = [new]
        result.opened.append(new)


def _move_assignments(closed: list[Grid], mapping: dict[int, list[Grid]]) -> list[dict[str, Any]]:
    """Role assignments scoped to a closed grid follow it: to the one grid that replaces it (merge, re-coded
    grids), or to every piece (split). Someone who already holds the same role there keeps one assignment."""
    # Grids' services may update accounts' rows (the brief of the grids app); imported here because
    # accounts depends on grids, not the other way round.
    from gridgov.accounts.models import RoleAssignment

    code_of = {g.pk: g.code for g in closed}
    moved: list[dict[str, Any]] = []
    for a in RoleAssignment.objects.filter(grid_id__in=list(code_of)).select_related("user").order_by("pk"):
        assert a.grid_id is not None  # selected by grid
        targets = mapping[a.grid_id]
        old_code = code_of[a.grid_id]
        kept = []
        for i, target in enumerate(targets):
            same = RoleAssignment.objects.filter(
                user_id=a.user_id, role=a.role, grid=target, department=a.department_id
            ).exists()
            if i == 0:
                if same:
                    a.delete()
                else:
                    RoleAssignment.objects.filter(pk=a.pk).update(grid=target)
                    kept.append(target.code)
            elif not same:
                RoleAssignment.objects.create(
                    user_id=a.user_id, role=a.role, grid=target, department_id=a.department_id
                )
                kept.append(target.code)
        moved.append({"user": a.user.username, "role": a.role, "from": old_code, "to": kept})
    return moved


def _finish(
    kind: str,
    moves: _Moves,
    *,
    actor: Any,
    effective: dt.date,
    reason: str,
    redrawn: Sequence[Grid] = (),
    details: dict[str, Any] | None = None,
) -> GridChange:
    """Close, open, move, record, tell and bump: the common end of every adjustment."""
    closed_ids = [g.pk for g in moves.closed]
    # Compare-and-set: every grid to close must still be current, or someone else changed the tree meanwhile.
    if Grid.objects.filter(pk__in=closed_ids, valid_to__isnull=True).update(valid_to=effective) != len(
        closed_ids
    ):
        raise GridInputError(
            [Problem(_("grid tree"), _("the grids were changed by someone else meanwhile; try again"))]
        )
    GridVersion.objects.filter(grid_id__in=closed_ids, valid_to__isnull=True).update(valid_to=effective)
    change = GridChange.objects.create(kind=kind, effective=effective, reason=reason, actor=actor)
    _open_versions([*moves.opened, *redrawn], effective, change)
    change.closed.add(*moves.closed)
    change.opened.add(*moves.opened)
    assignments = _move_assignments(moves.closed, moves.mapping)
    code_of = {g.pk: g.code for g in [*moves.closed, *redrawn]}
    change.moved = {
        "grids": {code_of[old]: [g.code for g in new] for old, new in moves.mapping.items()},
        "assignments": assignments,
        **(details or {}),
    }
    change.save(update_fields=["moved"])
    audit.record(
        f"grids.{kind}",
        actor=actor,
        target=change,
        data={
            "effective": effective.isoformat(),
            "reason": reason,
            "closed": [g.code for g in moves.closed],
            "opened": [g.code for g in moves.opened],
            "redrawn": [g.code for g in redrawn],
            "assignments": len(assignments),
        },
    )
    targets = {g.pk: g for new in moves.mapping.values() for g in new}
    grid_adjusted.send(
        sender=GridChange,
        change=change,
        kind=kind,
        effective=effective,
        mapping={old: [g.pk for g in new] for old, new in moves.mapping.items()},
        geometries={pk: from_geojson(g.geometry) for pk, g in targets.items() if g.geometry is not None},
    )
    bump_generation()
    return change


def _split_figures(total: int, weights: Sequence[float]) -> list[int]:
    """Share a count among pieces in proportion to `weights`, in whole numbers that add up (largest remainder)."""
    weight_sum = float(sum(weights)) or 1.0
    exact = [total * w / weight_sum for w in weights]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - shares[i], reverse=True)[
        : total - sum(shares)
    ]:
        shares[i] += 1
    return shares


def _label(index: int, name: str) -> str:
    return _("piece %(number)d (%(name)s)") % {"number": index, "name": name}


# -- dynamic adjustment ----------------------------------------------------------------------------------------
# Each service locks its grids, plans on them as its preview does (`_plan_*`: the checks, the resulting shapes,
# codes and moves, nothing written), refuses with the plan's problems, and otherwise writes the plan.
def _save_planned(
    planned: Sequence[PlannedGrid], *, kind: str, parent: Grid | None, effective: dt.date
) -> list[Grid]:
    """Insert the new grids of a plan under `parent`, with the shapes as planned (full precision)."""
    grids = [
        Grid(
            code=p.code,
            name=p.name,
            level=p.level,
            kind=kind,
            parent=parent,
            path="",
            households=p.households,
            population=p.population,
            valid_from=effective,
            **_shape_fields(p.geometry, precision=0),
        )
        for p in planned
    ]
    _save_new(grids)
    return grids


def do_split_grid(
    grid: Grid,
    pieces: Sequence[tuple[str, Any]],
    *,
    actor: Any,
    effective: dt.date,
    reason: str = "",
) -> list[Grid]:
    """Split a grid into pieces (name, geometry as shapely or GeoJSON) that tile it. The grid closes on
    `effective`; each piece is a new grid with the next free code under the same parent; the grids below it
    move to the piece holding their representative point; role assignments on it are copied to every piece.

    Refused, with every reason and nothing changed: fewer than two pieces, a bad name or shape, pieces that
    leave a gap, overlap or stick out (above the tolerance), pieces that cut a child grid, a bad date."""
    with transaction.atomic():
        [grid] = _lock_current([grid])
        plan = _plan_split(grid, pieces, effective=effective)
        _raise(plan.problems)
        new = _save_planned(plan.results, kind=grid.kind, parent=grid.parent, effective=effective)
        moves = _Moves(closed=[grid], opened=list(new), mapping={grid.pk: list(new)})
        _rehome(plan, new, effective, moves)
        _finish(GridChange.Kind.SPLIT, moves, actor=actor, effective=effective, reason=reason)
    return new


def do_merge_grids(
    grids: Sequence[Grid],
    *,
    name: str,
    actor: Any,
    effective: dt.date,
    reason: str = "",
) -> Grid:
    """Merge sibling grids that form one contiguous area into a new grid (next free code under their parent,
    figures added up). The grids close on `effective`; the grids below them move under the merged grid; role
    assignments on them move to it.

    Refused, with every reason and nothing changed: fewer than two grids, different parents, levels or
    kinds, a missing boundary, grids that do not form one area, a bad name or date."""
    with transaction.atomic():
        grids = _lock_current(grids)
        plan = _plan_merge(grids, name=name, effective=effective)
        _raise(plan.problems)
        first = grids[0]
        [merged] = _save_planned(plan.results, kind=first.kind, parent=first.parent, effective=effective)
        moves = _Moves(closed=list(grids), opened=[merged], mapping={g.pk: [merged] for g in grids})
        _rehome(plan, [merged], effective, moves)
        _finish(GridChange.Kind.MERGE, moves, actor=actor, effective=effective, reason=reason)
    return merged


def do_redraw_boundary(
    grid_a: Grid,
    grid_b: Grid,
    new_geometry_a: Any,
    *,
    actor: Any,
    effective: dt.date,
    reason: str = "",
) -> tuple[Grid, Grid]:
    """Move the boundary between two neighbouring siblings: A takes `new_geometry_a` (within A∪B) and B the
    rest of A∪B. Both keep their identity and codes and get new versions from `effective`; child grids that
    end up on the other side move under the other grid (with a new code).

    Refused, with every reason and nothing changed: grids that are not neighbouring siblings, a new shape
    that is invalid, goes outside A∪B, leaves A or B empty or changes nothing, a boundary that cuts a child
    grid, a bad date."""
    with transaction.atomic():
        a, b = _lock_current([grid_a, grid_b]) if grid_a.pk != grid_b.pk else (grid_a, grid_a)
        plan = _plan_redraw(a, b, new_geometry_a, effective=effective)
        _raise(plan.problems)

        moves = _Moves(
            mapping={a.pk: sorted([a, b], key=lambda g: g.code), b.pk: sorted([a, b], key=lambda g: g.code)}
        )
        before = {a.code: a.area_m2, b.code: b.area_m2}
        GridVersion.objects.filter(grid__in=[a.pk, b.pk], valid_to__isnull=True).update(valid_to=effective)
        for g, planned in zip((a, b), plan.results, strict=True):
            for key, value in _shape_fields(planned.geometry, precision=0).items():
                setattr(g, key, value)
            # grids with children: their figures are their children's (the plan adds them up)
            g.households, g.population = planned.households, planned.population
            g.save(update_fields=[*_shape_fields(None), "households", "population", "updated_at"])
        _rehome(plan, [a, b], effective, moves)
        _finish(
            GridChange.Kind.REDRAW,
            moves,
            actor=actor,
            effective=effective,
            reason=reason,
            redrawn=[a, b],
            details={"area_m2": {"before": before, "after": {a.code: a.area_m2, b.code: b.area_m2}}},
        )
    return a, b


# -- previews (dry runs): what an adjustment would do, computed without writing anything ---------------------
@dataclass
class PlannedGrid:
    """A grid as it would be after the adjustment: a new one (`grid` None) or a redrawn one."""

    code: str
    name: str
    level: int
    geometry: shapely.Geometry
    households: int = 0
    population: int = 0
    grid: Grid | None = None

    @property
    def area_m2(self) -> float:
        return area_m2(self.geometry)

    @property
    def area_km2(self) -> float:
        return self.area_m2 / 1e6


@dataclass
class PlannedMove:
    """A grid that would move under another parent, and so get a new code (with `below` grids under it)."""

    grid: Grid
    to_code: str
    to_parent: str
    below: int = 0


@dataclass
class AdjustmentPreview:
    """What `do_create_grid`, `do_split_grid`, `do_merge_grids` or `do_redraw_boundary` would do with the same
    input: the problems that would refuse it (the same checks, the same messages), and otherwise the grids
    closed and made or redrawn, the grids below that move, and the role assignments that follow.

    `mapping` (old grid id → the planned grids that would hold what it held) lets a screen count what else
    follows (open cases, routing rules) without this app knowing about it."""

    kind: str
    problems: list[Problem] = field(default_factory=list)
    closed: list[Grid] = field(default_factory=list)
    results: list[PlannedGrid] = field(default_factory=list)
    moves: list[PlannedMove] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    mapping: dict[int, list[PlannedGrid]] = field(default_factory=dict)
    # old grid id → new code, of every grid that would change parent and every grid below it (parents first)
    recoded: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _planned_moves(
    movers: Sequence[tuple[Grid, PlannedGrid]], fresh: bool, preview: AdjustmentPreview
) -> dict[int, str]:
    """The new codes of grids that change parent (a number already used under the new parent is replaced by the
    next free one), and of everything below them, as `_rehome` then makes them. Returns old id → code."""
    taken: dict[str, set[int]] = {}
    history: dict[str, set[int]] = {}
    new_code: dict[int, str] = {}
    for child, target in movers:
        mine = taken.setdefault(target.code, set())
        if not fresh and target.code not in history:
            history[target.code] = _used_sequences(target.code, child.level)
        used = mine | history.get(target.code, set())
        suffix = int(child.code[-LEVEL_CODE_DIGITS:])
        if suffix in used:
            code = _next_codes(target.code, child.level, child.kind, 1, suffix, mine | used)[0]
            mine.add(int(code[-LEVEL_CODE_DIGITS:]))
        else:
            mine.add(suffix)
            code = f"{target.code}{suffix:03d}"
        new_code[child.pk] = code
    below = _subtree([child for child, _target in movers])
    for grid in below:
        assert grid.parent_id is not None
        new_code[grid.pk] = new_code[grid.parent_id] + grid.code[-LEVEL_CODE_DIGITS:]
    for child, target in movers:
        count = sum(1 for g in below if g.path.startswith(child.path))
        preview.moves.append(PlannedMove(child, new_code[child.pk], target.code, count))
    preview.closed += [child for child, _target in movers] + below
    preview.recoded.update(new_code)
    return new_code


def _planned_assignments(targets: dict[int, list[str]]) -> list[dict[str, Any]]:
    """Role assignments on grids that would close, and the codes they would follow to (as `_move_assignments`)."""
    from gridgov.accounts.models import RoleAssignment

    rows = (
        RoleAssignment.objects.filter(grid_id__in=list(targets))
        .select_related("user", "grid", "department")
        .order_by("grid__code", "role", "user__username")
    )
    return [
        {
            "assignment": a,
            "user": a.user,
            "role": a.get_role_display(),
            "from": a.grid.code,
            "to": targets[a.grid_id],
        }
        for a in rows
        if a.grid is not None and a.grid_id is not None
    ]


def _with_assignments(preview: AdjustmentPreview) -> AdjustmentPreview:
    """The plan, with the role assignments that would follow the grids it closes (when it is not refused)."""
    if preview.ok:
        targets = {
            g.pk: [preview.recoded[g.pk]]
            if g.pk in preview.recoded
            else [p.code for p in preview.mapping[g.pk]]
            for g in preview.closed
        }
        preview.assignments = _planned_assignments(targets)
    return preview


def _no_codes(
    parent_code: str, level: int, kind: str, count: int, like: int | None
) -> tuple[list[str], list[Problem]]:
    try:
        return _next_codes(parent_code, level, kind, count, like, set()), []
    except GridInputError as exc:
        return [], exc.problems


def preview_create(
    parent: Grid, name: str, geometry: Any, *, effective: dt.date, kind: str = GridKind.BASE
) -> AdjustmentPreview:
    """A new grid drawn inside `parent`: its next free code, and every reason it would be refused (a bad name
    or shape, a name taken by a sibling, a shape outside the parent or overlapping a sibling, a bad date)."""
    preview = AdjustmentPreview(GridChange.Kind.CREATE)
    problems = preview.problems
    where = _("new grid")
    problems += _name_problems(where, name, _sibling_names(parent.pk, []))
    geom, shape_problems = as_shape(geometry)
    problems += [Problem(where, m, _("geometry")) for m in shape_problems]
    if kind not in GridKind.values or (kind in SPECIAL_KINDS and parent.level + 1 < 3):
        problems.append(Problem(where, _("a special-purpose grid is a grid of level 3 or below"), _("kind")))
    problems += _effective_problems(effective, [])
    if effective < parent.valid_from:
        problems.append(
            Problem(
                _("effective date"),
                _("the effective date %(date)s is before %(parent)s existed (%(start)s)")
                % {"date": effective, "parent": parent.code, "start": parent.valid_from},
            )
        )
    if geom is None or problems:
        return preview
    siblings = [g for g in _children([parent]) if g.geometry is not None]
    label = _("the new grid")
    for defect in tile_defects(
        parent.code,
        _shape_of(parent),
        [*[s.code for s in siblings], label],
        [*[_shape_of(s) for s in siblings], geom],
        gaps=False,
    ):
        if label in defect.codes:
            problems.append(Problem(where, defect.message(), _("geometry")))
    codes, code_problems = _no_codes(parent.code, parent.level + 1, kind, 1, None)
    problems += code_problems
    if problems:
        return preview
    outer = _shape_of(parent)
    if outer is not None:  # within the tolerance a new grid may overhang: keep it inside its parent
        geom = _without_slivers(shapely.intersection(geom, outer), _tolerance())
    preview.results.append(PlannedGrid(codes[0], name.strip(), parent.level + 1, geom))
    return preview


def do_create_grid(
    parent: Grid,
    name: str,
    geometry: Any,
    *,
    actor: Any,
    effective: dt.date,
    kind: str = GridKind.BASE,
    reason: str = "",
) -> Grid:
    """Create one grid drawn inside `parent` (checked as `preview_create` checks), audited as a creation."""
    with transaction.atomic():
        [parent] = _lock_current([parent])
        preview = preview_create(parent, name, geometry, effective=effective, kind=kind)
        _raise(preview.problems)
        planned = preview.results[0]
        spec = GridSpec(planned.code, planned.name, planned.level, planned.geometry, parent.code, kind=kind)
        [grid] = do_create_grids(
            [spec], actor=actor, effective=effective, kind=GridChange.Kind.CREATE, reason=reason
        )
    return grid


def preview_split(grid: Grid, pieces: Sequence[tuple[str, Any]], *, effective: dt.date) -> AdjustmentPreview:
    """What `do_split_grid(grid, pieces, effective=…)` would do, or why it would refuse."""
    return _with_assignments(_plan_split(grid, pieces, effective=effective))


def _plan_split(grid: Grid, pieces: Sequence[tuple[str, Any]], *, effective: dt.date) -> AdjustmentPreview:
    """The checks and the plan of a split, for `preview_split` and `do_split_grid` (nothing written)."""
    preview = AdjustmentPreview(GridChange.Kind.SPLIT)
    problems = preview.problems
    whole = _shape_of(grid)
    if grid.parent_id is None:
        problems.append(Problem(grid.code, _("the county root cannot be split")))
    if whole is None:
        problems.append(Problem(grid.code, _("has no boundary yet, so it cannot be split")))
    if len(pieces) < 2:
        problems.append(Problem(grid.code, _("a split needs at least two pieces")))
    taken = _sibling_names(grid.parent_id, [grid.pk])
    names: list[str] = []
    geoms: list[shapely.Geometry] = []
    for i, (name, geometry) in enumerate(pieces, start=1):
        where = _("piece %(number)d") % {"number": i}
        problems += _name_problems(where, name, taken)
        taken[str(name).strip()] = where
        geom, geometry_problems = as_shape(geometry)
        problems += [Problem(where, m, _("geometry")) for m in geometry_problems]
        names.append(str(name).strip())
        geoms.append(geom)
    if problems:
        return preview
    labels = [_label(i, n) for i, n in enumerate(names, start=1)]
    for defect in tile_defects(grid.code, whole, labels, geoms):
        problems.append(Problem(_("pieces"), defect.message()))
    children = _children([grid])
    sides, child_problems = _side_of(children, geoms, labels)
    problems += child_problems
    problems += _effective_problems(effective, [grid, *_subtree([grid])])
    if problems:
        return preview
    parent = grid.parent
    assert parent is not None
    codes, code_problems = _no_codes(parent.code, grid.level, grid.kind, len(geoms), grid.sequence)
    problems += code_problems
    if problems:
        return preview
    tol = _tolerance()
    clipped = [_without_slivers(shapely.intersection(g, whole), tol) for g in geoms]
    if children:
        households = [
            sum(c.households for c, s in zip(children, sides, strict=True) if s == i)
            for i in range(len(geoms))
        ]
        population = [
            sum(c.population for c, s in zip(children, sides, strict=True) if s == i)
            for i in range(len(geoms))
        ]
    else:
        areas = [area_m2(g) for g in geoms]
        households = _split_figures(grid.households, areas)
        population = _split_figures(grid.population, areas)
    preview.results = [
        PlannedGrid(code, name, grid.level, clipped[i], households[i], population[i])
        for i, (code, name) in enumerate(zip(codes, names, strict=True))
    ]
    preview.closed.append(grid)
    preview.mapping[grid.pk] = list(preview.results)
    _planned_moves([(c, preview.results[s]) for c, s in zip(children, sides, strict=True)], True, preview)
    return preview


def preview_merge(grids: Sequence[Grid], *, name: str, effective: dt.date) -> AdjustmentPreview:
    """What `do_merge_grids(grids, name=…, effective=…)` would do, or why it would refuse."""
    return _with_assignments(_plan_merge(grids, name=name, effective=effective))


def _plan_merge(grids: Sequence[Grid], *, name: str, effective: dt.date) -> AdjustmentPreview:
    """The checks and the plan of a merge, for `preview_merge` and `do_merge_grids` (nothing written)."""
    preview = AdjustmentPreview(GridChange.Kind.MERGE)
    problems = preview.problems
    grids = list({g.pk: g for g in grids}.values())
    if len(grids) < 2:
        problems.append(Problem(_("grids to merge"), _("a merge needs at least two different grids")))
    if not grids:
        return preview
    first = grids[0]
    for g in grids:
        if g.parent_id is None:
            problems.append(Problem(g.code, _("the county root cannot be merged")))
        elif g.parent_id != first.parent_id:
            problems.append(
                Problem(
                    g.code,
                    _("has another parent than %(code)s: only siblings can be merged") % {"code": first.code},
                )
            )
        if g.kind != first.kind:
            problems.append(
                Problem(
                    g.code,
                    _("is of another kind than %(code)s: merge grids of one kind") % {"code": first.code},
                )
            )
        if g.geometry is None:
            problems.append(Problem(g.code, _("has no boundary yet, so it cannot be merged")))
    problems += _name_problems(_("merged grid"), name, _sibling_names(first.parent_id, [g.pk for g in grids]))
    if problems:
        return preview
    geoms = [_shape_of(g) for g in grids]
    apart = _connected(geoms)
    if apart:
        problems.append(
            Problem(
                ", ".join(grids[i].code for i in apart),
                _(
                    "does not share a boundary with %(code)s and the grids joined to it: the merged grid must be one area"
                )
                % {"code": first.code},
            )
        )
    children = _children(grids)
    problems += _effective_problems(effective, [*grids, *_subtree(grids)])
    if problems:
        return preview
    parent = first.parent
    assert parent is not None
    like = min(g.sequence or 0 for g in grids)
    codes, code_problems = _no_codes(parent.code, first.level, first.kind, 1, like)
    problems += code_problems
    if problems:
        return preview
    merged = PlannedGrid(
        codes[0],
        name.strip(),
        first.level,
        shapely.union_all(geoms),
        sum(g.households for g in (children or grids)),
        sum(g.population for g in (children or grids)),
    )
    preview.results = [merged]
    preview.closed += grids
    preview.mapping = {g.pk: [merged] for g in grids}
    _planned_moves([(c, merged) for c in children], True, preview)
    return preview


def preview_redraw(
    grid_a: Grid, grid_b: Grid, new_geometry_a: Any, *, effective: dt.date
) -> AdjustmentPreview:
    """What `do_redraw_boundary(grid_a, grid_b, new_geometry_a, effective=…)` would do, or why it would refuse."""
    return _with_assignments(_plan_redraw(grid_a, grid_b, new_geometry_a, effective=effective))


def _plan_redraw(grid_a: Grid, grid_b: Grid, new_geometry_a: Any, *, effective: dt.date) -> AdjustmentPreview:
    """The checks and the plan of a redraw, for `preview_redraw` and `do_redraw_boundary` (nothing written)."""
    preview = AdjustmentPreview(GridChange.Kind.REDRAW)
    problems = preview.problems
    a, b = grid_a, grid_b
    tol = _tolerance()
    if a.pk == b.pk:
        problems.append(Problem(a.code, _("a boundary is redrawn between two different grids")))
    if a.parent_id is None or b.parent_id is None:
        problems.append(
            Problem(
                a.code if a.parent_id is None else b.code, _("the county root's boundary cannot be redrawn")
            )
        )
    elif a.parent_id != b.parent_id:
        problems.append(
            Problem(
                b.code,
                _("has another parent than %(code)s: only siblings share a boundary to redraw")
                % {"code": a.code},
            )
        )
    for g in (a, b):
        if g.geometry is None:
            problems.append(Problem(g.code, _("has no boundary yet, so it cannot be redrawn")))
    new_a, shape_problems = as_shape(new_geometry_a)
    problems += [Problem(a.code, m, _("new boundary")) for m in shape_problems]
    if problems:
        return preview
    old_a, old_b = _shape_of(a), _shape_of(b)
    if _shared_edge_m(old_a, old_b) < MIN_SHARED_EDGE_M:
        problems.append(Problem(b.code, _("does not share a boundary with %(code)s") % {"code": a.code}))
    union = shapely.union_all([old_a, old_b])
    beyond = shapely.difference(new_a, union)
    beyond_area = area_m2(beyond)
    if beyond_area > tol:
        point = shapely.point_on_surface(beyond)
        problems.append(
            Problem(
                a.code,
                _("the new boundary goes %(area).1f m² beyond %(a)s and %(b)s, at %(lon).6f, %(lat).6f")
                % {"area": beyond_area, "a": a.code, "b": b.code, "lon": point.x, "lat": point.y},
                _("new boundary"),
            )
        )
    shape_a = _without_slivers(shapely.intersection(new_a, union), tol)
    shape_b = _without_slivers(shapely.difference(union, shape_a), tol)
    if shape_a.is_empty:
        problems.append(Problem(a.code, _("the new boundary would leave this grid empty"), _("new boundary")))
    if shape_b.is_empty:
        problems.append(Problem(b.code, _("the new boundary would leave this grid empty"), _("new boundary")))
    elif not shape_a.is_empty and area_m2(shapely.symmetric_difference(shape_a, old_a)) <= tol:
        problems.append(
            Problem(a.code, _("the new boundary is the same as the current one"), _("new boundary"))
        )
    if problems:
        return preview
    children = _children([a, b])
    sides, child_problems = _side_of(children, [shape_a, shape_b], [a.code, b.code])
    problems += child_problems
    movers = [
        (c, (a, b)[s]) for c, s in zip(children, sides, strict=True) if s >= 0 and c.parent_id != (a, b)[s].pk
    ]
    problems += _effective_problems(
        effective, [a, b, *[c for c, _p in movers], *_subtree([c for c, _p in movers])]
    )
    if problems:
        return preview
    planned = {}
    for g, geom in ((a, shape_a), (b, shape_b)):
        mine = [c for c, s in zip(children, sides, strict=True) if (a, b)[s].pk == g.pk]
        planned[g.pk] = PlannedGrid(
            g.code,
            g.name,
            g.level,
            geom,
            sum(c.households for c in mine) if children else g.households,
            sum(c.population for c in mine) if children else g.population,
            grid=g,
        )
    preview.results = [planned[a.pk], planned[b.pk]]
    both = sorted(preview.results, key=lambda p: p.code)
    preview.mapping = {a.pk: both, b.pk: both}
    _planned_moves([(c, planned[t.pk]) for c, t in movers], False, preview)
    return preview
