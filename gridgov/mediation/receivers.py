"""Mediation follows the grids through splits, merges and redraws (动态调整), in the adjustment's transaction:

- a dispute of a changed grid goes to the new grid holding its case's point (a dispute taken from a case), else
  to the first new grid, with its level ids, so the new grid's people see it and scoping stays right. Settled
  ones move too: the record of an area belongs to whoever answers for the area now (as cases do);
- a committee of a closed grid goes to the grid that took its place, unless that grid has an active committee
  already (two villages merged): it then stays with its closed grid, for the office to merge by hand, and
  disputes it holds stay with it.
Mediators' areas are left as they are: the office redraws them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.dispatch import receiver

from gridgov.core.audit import record
from gridgov.grids.models import Grid
from gridgov.grids.signals import grid_adjusted, relocate

from .models import Committee, Dispute


def _levels(grid: Grid) -> dict[str, int | None]:
    return {"grid_l1_id": grid.l1_id, "grid_l2_id": grid.l2_id, "grid_l3_id": grid.l3_id}


def _dispute_moves(mapping: dict[int, list[int]], geometries: dict[int, Any]) -> dict[int, list[int]]:
    rows = list(
        Dispute.objects.filter(grid_id__in=mapping).values_list("pk", "grid_id", "case__lon", "case__lat")
    )
    by_grid: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for pk, grid_id, lon, lat in rows:
        by_grid[grid_id].append((pk, lon, lat))
    moves: dict[int, list[int]] = defaultdict(list)
    for old, disputes in by_grid.items():
        targets = mapping[old]
        located = [d for d in disputes if d[1] is not None and d[2] is not None]
        found = relocate(
            targets,
            geometries,
            np.array([d[1] for d in located], dtype=np.float64),
            np.array([d[2] for d in located], dtype=np.float64),
        )
        placed = {d[0]: int(g) for d, g in zip(located, found, strict=True) if g}
        for pk, _lon, _lat in disputes:
            new = placed.get(pk) or (old if old in targets else targets[0])
            if new != old:
                moves[new].append(pk)
    return moves


@receiver(grid_adjusted, dispatch_uid="mediation.follow_grids")
def follow_grids(
    sender: Any, *, change: Any, mapping: dict[int, list[int]], geometries: dict[int, Any], **kwargs: Any
) -> None:
    moves = _dispute_moves(mapping, geometries)
    committees = list(Committee.objects.filter(grid_id__in=mapping, active=True).values_list("pk", "grid_id"))
    targets = {old: mapping[old][0] for _pk, old in committees if old not in mapping[old]}
    taken = set(
        Committee.objects.filter(grid_id__in=set(targets.values()), active=True).values_list(
            "grid_id", flat=True
        )
    )
    committee_moves: dict[int, int] = {}
    stayed = 0
    for pk, old in committees:
        new = targets.get(old)
        if new is None:
            continue  # a redraw: the grid keeps its identity
        if new in taken:
            stayed += 1
            continue
        taken.add(new)
        committee_moves[pk] = new
    grids = Grid.objects.in_bulk({*moves, *committee_moves.values()})
    for grid_id, pks in moves.items():
        Dispute.objects.filter(pk__in=pks).update(grid_id=grid_id, **_levels(grids[grid_id]))
    for pk, grid_id in committee_moves.items():
        Committee.objects.filter(pk=pk).update(
            grid_id=grid_id, level=grids[grid_id].level, **_levels(grids[grid_id])
        )
    moved = sum(len(p) for p in moves.values())
    if moved or committee_moves or stayed:
        record(
            "mediation.follow_grids",
            actor=getattr(change, "actor", None),
            target=change,
            data={
                "kind": kwargs.get("kind"),
                "disputes": moved,
                "committees": len(committee_moves),
                "committees_left": stayed,
            },
        )
