"""Cases follow the grids they lie in through splits, merges and redraws (动态调整): each case of a changed
grid goes to the new grid that covers its point (the first target when it has no point or none covers it),
with its denormalised level ids, so the new grid's people see it and scoping by level ids stays right.

Closed cases move too: the record of an area belongs to whoever answers for the area now; the grid a case
was handled in stays on record in its events and in the closed grid's version."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Count
from django.dispatch import receiver

from gridgov.core.audit import record
from gridgov.grids.models import Grid
from gridgov.grids.signals import grid_adjusted, provide_open_work, relocate

from .choices import OPEN_STATES
from .models import Case


@receiver(grid_adjusted, dispatch_uid="cases.follow_grids")
def move_cases(
    sender: Any, *, change: Any, mapping: dict[int, list[int]], geometries: dict[int, Any], **kwargs: Any
) -> None:
    rows = list(Case.objects.filter(grid_id__in=mapping).values_list("pk", "grid_id", "lon", "lat"))
    if not rows:
        return
    moves: dict[int, list[int]] = defaultdict(list)  # new grid id -> case ids
    by_grid: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for pk, grid_id, lon, lat in rows:
        by_grid[grid_id].append((pk, lon, lat))
    for old, cases in by_grid.items():
        targets = mapping[old]
        located = [c for c in cases if c[1] is not None and c[2] is not None]
        found = relocate(
            targets,
            geometries,
            np.array([c[1] for c in located], dtype=np.float64),
            np.array([c[2] for c in located], dtype=np.float64),
        )
        placed = {c[0]: int(g) for c, g in zip(located, found, strict=True) if g}
        for pk, _lon, _lat in cases:
            new = placed.get(pk) or (old if old in targets else targets[0])
            if new != old:
                moves[new].append(pk)
    # A redraw keeps both grids' identities; only the cases that changed sides move.
    grids = Grid.objects.in_bulk(list(moves))
    for grid_id, pks in moves.items():
        grid = grids[grid_id]
        Case.objects.filter(pk__in=pks).update(
            grid_id=grid_id, grid_l1_id=grid.l1_id, grid_l2_id=grid.l2_id, grid_l3_id=grid.l3_id
        )
    moved = sum(len(p) for p in moves.values())
    if moved:
        record(
            "case.follow_grids",
            actor=getattr(change, "actor", None),
            target=change,
            data={"kind": kwargs.get("kind"), "moved": moved},
        )


class OpenCases:
    """The case engine's open cases, as the preview of a grid adjustment reads them (`grids.signals.OpenWork`):
    through the denormalised level ids, never through paths."""

    @staticmethod
    def _column(level: int) -> str | None:
        return f"grid_l{level}_id" if 1 <= level <= 3 else None

    def counts(self, level: int, grid_ids: list[int]) -> dict[int, int]:
        column = self._column(level)
        if column is None:
            return {}
        rows = (
            Case.objects.filter(state__in=OPEN_STATES, **{f"{column}__in": grid_ids})
            .values_list(column)
            .annotate(n=Count("id"))
            .order_by()
        )
        return dict(rows)

    def points(
        self, level: int, grid_ids: list[int], limit: int
    ) -> list[tuple[int, float | None, float | None]]:
        column = self._column(level)
        if column is None:
            return []
        qs = Case.objects.filter(state__in=OPEN_STATES, **{f"{column}__in": grid_ids})
        return list(qs.values_list(column, "lon", "lat")[:limit])


provide_open_work(OpenCases())
