"""Registry records follow the grids they lie in through splits, merges and redraws: each record of a changed
grid goes to the new grid covering its point (a person without one: their household's point), else to the first
new grid, to be checked. A person who changes grid gets the move in their history, naming the adjustment."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Model
from django.dispatch import receiver
from django.utils import timezone

from gridgov.core.audit import record
from gridgov.grids.models import Grid
from gridgov.grids.signals import grid_adjusted, relocate

from .choices import MoveKind
from .models import (
    Building,
    Component,
    Household,
    KeyGroupLabel,
    Organisation,
    PartyOrganisation,
    Person,
    PersonMove,
)

LOCATED: tuple[type[Model], ...] = (Household, Building, Organisation, Component, PartyOrganisation, Person)


def _placements(
    rows: list[tuple[int, int, float | None, float | None]],
    mapping: dict[int, list[int]],
    geometries: dict[int, Any],
) -> dict[int, list[int]]:
    """{new grid id: [record ids]} for the records that change grid."""
    by_grid: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for pk, grid_id, lon, lat in rows:
        by_grid[grid_id].append((pk, lon, lat))
    moves: dict[int, list[int]] = defaultdict(list)
    for old, records in by_grid.items():
        targets = mapping[old]
        located = [r for r in records if r[1] is not None and r[2] is not None]
        found = relocate(
            targets,
            geometries,
            np.array([r[1] for r in located], dtype=np.float64),
            np.array([r[2] for r in located], dtype=np.float64),
        )
        placed = {r[0]: int(g) for r, g in zip(located, found, strict=True) if g}
        for pk, _lon, _lat in records:
            new = placed.get(pk) or (old if old in targets else targets[0])
            if new != old:
                moves[new].append(pk)
    return moves


@receiver(grid_adjusted, dispatch_uid="registry.follow_grids")
def move_records(
    sender: Any, *, change: Any, mapping: dict[int, list[int]], geometries: dict[int, Any], **kwargs: Any
) -> None:
    moved: dict[str, int] = {}
    for model in LOCATED:
        qs = model._default_manager.filter(grid_id__in=mapping)
        if model is Person:
            # A person's point is their household's when they have none of their own.
            rows = [
                (pk, grid_id, lon if lon is not None else hlon, lat if lat is not None else hlat)
                for pk, grid_id, lon, lat, hlon, hlat in qs.values_list(
                    "pk", "grid_id", "lon", "lat", "household__lon", "household__lat"
                )
            ]
            before = dict(qs.values_list("pk", "grid_id"))
        else:
            rows = list(qs.values_list("pk", "grid_id", "lon", "lat"))
        if not rows:
            continue
        moves = _placements(rows, mapping, geometries)
        grids = Grid.objects.in_bulk(list(moves))
        for grid_id, pks in moves.items():
            grid = grids[grid_id]
            levels = {"grid_l1_id": grid.l1_id, "grid_l2_id": grid.l2_id, "grid_l3_id": grid.l3_id}
            model._default_manager.filter(pk__in=pks).update(grid_id=grid_id, **levels)
            if model is Person:
                KeyGroupLabel.objects.filter(person_id__in=pks).update(**levels)
                now = timezone.now()
                PersonMove.objects.bulk_create(
                    [
                        PersonMove(
                            person_id=pk,
                            from_grid_id=before[pk],
                            to_grid_id=grid_id,
                            moved_at=now,
                            kind=MoveKind.ADJUSTED,
                            change=change,
                            actor=getattr(change, "actor", None),
                        )
                        for pk in pks
                    ]
                )
        count = sum(len(p) for p in moves.values())
        if count:
            moved[model._meta.model_name or ""] = count
    if moved:
        record(
            "registry.follow_grids",
            actor=getattr(change, "actor", None),
            target=change,
            data={"kind": kwargs.get("kind"), "moved": moved},
        )
