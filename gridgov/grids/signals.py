"""`grid_adjusted`: sent when a split, merge or redraw changes the tree, so apps that hold located rows
(cases, registry, routing rules) can move them in the same transaction.

Keyword arguments a receiver gets:

- ``change``: the `GridChange` (kind, effective date, reason, actor; ``change.moved`` has the same mapping
  by code);
- ``kind``: ``"split"``, ``"merge"`` or ``"redraw"``;
- ``effective``: the date the new tree holds from;
- ``mapping``: ``{old grid id: [grid ids that may now hold what it held]}``, targets in code order. A split
  maps the closed grid to its pieces, a merge maps each closed grid to the merged one, a redraw maps each of
  its two grids to both (their identities stay; points near the new boundary may change sides). Grids
  re-coded because their parent changed map one to one;
- ``geometries``: ``{grid id: shapely geometry}`` of every target, WGS-84.

Receivers run inside the adjustment's transaction, before the locator is rebuilt: to place a point use
`relocate()` below with the geometries given, not `locator.locate`. An exception in a receiver rolls the
whole adjustment back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import shapely
from django.dispatch import Signal

grid_adjusted = Signal()


def relocate(
    targets: Sequence[int], geometries: dict[int, shapely.Geometry], lons: np.ndarray, lats: np.ndarray
) -> np.ndarray:
    """For each point, the first of `targets` whose geometry covers it (0 when none does).

    Targets come in code order, so a point on a shared edge goes to the lowest code, as the locator does."""
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    result = np.zeros(lons.shape, dtype=np.int64)
    if not len(targets) or not lons.size:
        return result
    ids = np.array(targets, dtype=np.int64)
    tree = shapely.STRtree([geometries[t] for t in targets])
    which, index = tree.query(shapely.points(lons, lats), predicate="intersects")
    best = np.full(lons.shape, len(targets), dtype=np.int64)
    np.minimum.at(best, which, index)
    found = best < len(targets)
    result[found] = ids[best[found]]
    return result


class OpenWork(Protocol):
    """What an app above the grids holds open in them (the case engine: its open cases), read by the preview
    of an adjustment. Grids know no app above them, so such an app registers itself with `provide_open_work`.
    `level` is the level of the grids named by `grid_ids`."""

    def counts(self, level: int, grid_ids: list[int]) -> dict[int, int]: ...

    def points(
        self, level: int, grid_ids: list[int], limit: int
    ) -> list[tuple[int, float | None, float | None]]: ...


class _Nothing:
    def counts(self, level: int, grid_ids: list[int]) -> dict[int, int]:
        return {}

    def points(
        self, level: int, grid_ids: list[int], limit: int
    ) -> list[tuple[int, float | None, float | None]]:
        return []


open_work: OpenWork = _Nothing()


def provide_open_work(provider: OpenWork) -> None:
    global open_work
    open_work = provider


class MapFigures(Protocol):
    """Figures an app above the grids counts in them (the registry: people, households, organisations…), shown
    on the grid map. Grids know no app above them, so such an app registers itself with `provide_map_figures`.

    `for_map(user)` is what the map page needs to fetch and show them for that user: ``{"url": the figures API
    (a grid's code is added as ``?grid=``), "text": {the words of its panel and legend}}``; None when the user
    may not read them (the map then shows no figures and asks for none)."""

    def for_map(self, user: Any) -> dict[str, Any] | None: ...


class _NoFigures:
    def for_map(self, user: Any) -> dict[str, Any] | None:
        return None


map_figures: MapFigures = _NoFigures()


def provide_map_figures(provider: MapFigures) -> None:
    global map_figures
    map_figures = provider
