"""Locating points in the demo county: one at a time, and a million at once.

Targets (issue 2): one point under 20 µs; 1,000,000 points batched under 1.5 s."""

from __future__ import annotations

import time

import numpy as np
from _setup import demo_database

demo_database()

from gridgov.grids import locator  # noqa: E402

started = time.perf_counter()
loc = locator.get_locator()
print(f"locator_build: {time.perf_counter() - started:.3f} s")
print(f"leaf_grids: {len(loc.ids)} grids")

rng = np.random.default_rng(2026)
n = 1_000_000
lons = rng.uniform(108.99, 110.72, n)
lats = rng.uniform(39.81, 40.56, n)

best = float("inf")
for _ in range(3):
    started = time.perf_counter()
    ids = locator.locate_many(lons, lats)
    best = min(best, time.perf_counter() - started)
inside = int((ids != 0).sum())
print(f"batch_1m: {best:.3f} s")
print(f"batch_inside_share: {inside / n * 100:.1f} %")

k = 200_000
started = time.perf_counter()
for x, y in zip(lons[:k].tolist(), lats[:k].tolist(), strict=True):
    locator.locate(x, y)
single_us = (time.perf_counter() - started) / k * 1e6
print(f"single_point: {single_us:.2f} us")

# The same points through a plain STRtree query: what the raster saves.
import shapely  # noqa: E402

started = time.perf_counter()
loc.tree.query(shapely.points(lons, lats), predicate="intersects")
strtree = time.perf_counter() - started
print(f"batch_1m_strtree_only: {strtree:.3f} s")
print(f"batch_speedup_vs_strtree: {strtree / best:.1f} x")
print(f"locate_1m_batched: {best:.3f} s (target < 1.5 s); single {single_us:.2f} us (target < 20 us)")
