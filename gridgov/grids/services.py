"""The only code that changes grids. Each `do_*` runs in one transaction, records a `GridChange` and an
audit entry, and bumps the tree generation so every process's locator rebuilds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db import transaction
from django.db.models import F

from gridgov.core import audit

from . import locator
from .geometry import area_m2, bbox, to_geojson
from .models import Grid, GridChange, GridKind, GridVersion, TreeGeneration


@dataclass
class GridSpec:
    """A grid to create. `parent_code` names a current grid or another spec earlier in the same batch."""

    code: str
    name: str
    level: int
    geometry: shapely.Geometry
    parent_code: str | None = None
    kind: str = GridKind.BASE
    households: int = 0
    population: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def bump_generation() -> None:
    """Tell every process the tree changed (after this transaction commits)."""
    updated = TreeGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        TreeGeneration.objects.create(pk=1, value=1)
    transaction.on_commit(locator.invalidate)


def fill_tree_fields(grids: list[Grid]) -> None:
    """Set path and l1/l2/l3 of saved grids, parents before children (parents may be in the list)."""
    for g in grids:
        parent = g.parent
        g.path = f"{parent.path if parent else '/'}{g.pk}/"
        g.l1_id = g.pk if g.level == 1 else (parent.l1_id if parent else None)
        g.l2_id = g.pk if g.level == 2 else (parent.l2_id if parent and g.level > 2 else None)
        g.l3_id = g.pk if g.level == 3 else (parent.l3_id if parent and g.level > 3 else None)


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
        by_code = {g.code: g for g in Grid.objects.current().filter(code__in={s.parent_code for s in specs})}
        created: list[Grid] = []
        # Insert level by level so every parent has its id before its children are written.
        for level in sorted({s.level for s in specs}):
            batch = []
            for s in (s for s in specs if s.level == level):
                min_lon, min_lat, max_lon, max_lat = bbox(s.geometry)
                batch.append(
                    Grid(
                        code=s.code,
                        name=s.name,
                        level=s.level,
                        kind=s.kind,
                        parent=by_code.get(s.parent_code) if s.parent_code else None,
                        path="",
                        geometry=to_geojson(s.geometry),
                        min_lon=min_lon,
                        min_lat=min_lat,
                        max_lon=max_lon,
                        max_lat=max_lat,
                        area_m2=area_m2(s.geometry),
                        households=s.households,
                        population=s.population,
                        valid_from=effective,
                    )
                )
            batch = Grid.objects.bulk_create(batch, batch_size=500)
            fill_tree_fields(batch)
            Grid.objects.bulk_update(batch, ["path", "l1", "l2", "l3"], batch_size=500)
            by_code.update({g.code: g for g in batch})
            created.extend(batch)
        change = GridChange.objects.create(kind=kind, effective=effective, reason=reason, actor=actor)
        change.opened.add(*created)
        GridVersion.objects.bulk_create(
            [
                GridVersion(
                    grid=g,
                    parent=g.parent,
                    geometry=g.geometry,
                    area_m2=g.area_m2,
                    valid_from=effective,
                    change=change,
                )
                for g in created
            ],
            batch_size=500,
        )
        audit.record(
            f"grids.{kind}",
            actor=actor,
            target=change,
            data={"count": len(created), "levels": sorted({g.level for g in created}), "reason": reason},
        )
        bump_generation()
    return created
