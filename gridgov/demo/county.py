"""The synthetic county: a root, the 15 real level-1 units, 158 villages and communities, 1,675 level-3 grids.

`build_county(config)` is pure (no database): the same config and seed give the same grids, codes, names,
shapes and figures, down to the last coordinate. `gridgov.demo.seed` writes the plan to the database.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import nearest_points

from gridgov.grids.geometry import area_m2
from gridgov.grids.models import SPECIAL_SEQUENCE_START
from gridgov.grids.services import GridSpec

from . import tiling
from .config import BBOX, SEAT, TOWN_ANCHORS, DemoConfig, Special, Unit
from .names import Namer, chinese_number

COUNTY_CODE = "150621"
COUNTY_NAME = "达拉特旗"


@dataclass
class PlannedGrid(GridSpec):
    """A grid of the demo county: what `do_create_grids` writes (geometry WGS-84, on the 1e-7° storage grid),
    plus what it is on the ground."""

    geometry: Polygon  # always drawn: never a code-only grid
    # county, street, town, sumu, community, village, gaqa, compound, bungalow, natural_village, or the
    # special kind. People and names depend on it.
    category: str = ""

    @property
    def pastoral(self) -> bool:
        return self.category in ("sumu", "gaqa")


@dataclass
class CountyPlan:
    config: DemoConfig
    grids: list[PlannedGrid] = field(default_factory=list)  # parents before children, codes in order

    def level(self, level: int) -> list[PlannedGrid]:
        return [g for g in self.grids if g.level == level]

    def children(self) -> dict[str | None, list[PlannedGrid]]:
        result: dict[str | None, list[PlannedGrid]] = defaultdict(list)
        for g in self.grids:
            result[g.parent_code].append(g)
        return result

    def by_code(self) -> dict[str, PlannedGrid]:
        return {g.code: g for g in self.grids}


# -- helpers ----------------------------------------------------------------------------------------------------
def largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> list[int]:
    """Split `total` into integers proportional to `weights`, each at least `minimum`, summing exactly."""
    n = len(weights)
    if total < minimum * n:
        raise ValueError(f"cannot give {n} shares of at least {minimum} out of {total}")
    spare = total - minimum * n
    w = np.asarray(weights, dtype=float)
    exact = spare * w / w.sum()
    shares = np.floor(exact).astype(int)
    left = spare - int(shares.sum())
    # Ties broken by index so the result never depends on float noise in the sort.
    order = sorted(range(n), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return [int(s) + minimum for s in shares]


def _anchor(region: Polygon, fx: float, fy: float, rng: np.random.Generator) -> tuple[float, float]:
    """A point at fractions (fx, fy) of the region's bounds, jittered, moved inside if it fell out."""
    x0, y0, x1, y1 = region.bounds
    pt = Point(
        x0 + (fx + rng.uniform(-0.03, 0.03)) * (x1 - x0), y0 + (fy + rng.uniform(-0.03, 0.03)) * (y1 - y0)
    )
    if not region.contains(pt):
        inner = region.buffer(-0.05 * min(x1 - x0, y1 - y0))
        pt = nearest_points(inner if not inner.is_empty else region, pt)[0]
    return pt.x, pt.y


def _place_special(village: Polygon, special: Special, rng: np.random.Generator) -> Polygon | None:
    """A rotated rectangle of the special grid's size, wholly inside the village, away from its edge."""
    w, h = special.width_m / 1000, special.height_m / 1000
    for scale in (1.0, 0.7, 0.5, 0.35):
        room = village.buffer(-0.6 * max(w, h) * scale - 0.05)
        if room.is_empty or room.area <= 0:
            continue
        (cx, cy) = tiling.points_inside(room, 1, rng)[0]
        rect = tiling.rectangle((cx, cy), w * scale, h * scale, rng.uniform(-25, 25))
        if village.contains(rect):
            return rect
    return None


# -- the county ---------------------------------------------------------------------------------------------------
def build_county(config: DemoConfig | None = None) -> CountyPlan:
    """The whole grid tree of the demo county, parents first; pure and deterministic for `config`."""
    config = config or DemoConfig()
    rng = np.random.default_rng(config.seed)
    namer = Namer(random.Random(config.seed))
    lon0, lat0 = config.centre or ((BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2)
    frame = tiling.Frame(lon0, lat0)
    bbox_km = frame.box_km(BBOX)
    warp = tiling.make_warp(rng)
    seat = frame.to_km(*SEAT)

    # The city: an irregular blob around the banner seat, about 100 km², for the six sub-districts.
    streets = [u for u in config.units if u.urban]
    towns = [u for u in config.units if not u.urban]
    city = tiling.blob(seat, 7.0, 4.5, rng, roughness=0.18) if streets else Polygon()

    # The outline: a wobbly superellipse in the bounding box, holding the city, scaled until the warped
    # result has the target area.
    bx0, by0, bx1, by1 = bbox_km.bounds
    half_w, half_h = (bx1 - bx0) / 2, (by1 - by0) / 2
    centre = (0.0, 0.0)
    shape_rng = np.random.default_rng(config.seed + 1)
    state = shape_rng.bit_generator.state
    scale = 0.9
    outline = Polygon()
    for _ in range(8):
        shape_rng.bit_generator.state = state  # the same wobble at every scale
        raw = tiling.blob(centre, half_w * scale, half_h * scale, shape_rng, roughness=0.2)
        if streets:
            raw = Polygon(raw.union(city.buffer(3.0)).exterior)
        # Keep a margin so the warp cannot push the border out of the bounding box.
        outline = raw.intersection(bbox_km.buffer(-1.8))
        area = area_m2(tiling.warped_lonlat([outline], warp, frame, 1.0)[0]) / 1e6
        if abs(area - config.area_km2) < 0.5:
            break
        scale *= (config.area_km2 / area) ** 0.5

    # Level 1: the sub-districts tile the city; the towns tile the rest (the seat town rings the city).
    street_cells = tiling.tile(city, len(streets), rng, iterations=4) if streets else []
    rural = outline.difference(city) if streets else outline
    seeds = []
    fixed = []
    for i, unit in enumerate(towns):
        if unit.code == "100" and streets:
            seeds.append(seat)
            fixed.append(i)
        else:
            fx, fy = TOWN_ANCHORS.get(unit.code, (rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)))
            seeds.append(_anchor(rural, fx, fy, rng))
    town_seeds = tiling.relax(rural, np.array(seeds), 1, fixed=fixed)
    town_cells = tiling.voronoi_cells(rural, town_seeds)
    level1 = tiling.fix_fragments(list(street_cells) + list(town_cells))
    units: list[Unit] = streets + towns

    # Level 2: villages and communities tile their unit.
    level2: list[tuple[int, Polygon]] = []  # (unit index, shape)
    for ui, (unit, shape) in enumerate(zip(units, level1, strict=True)):
        for cell in tiling.tile(shape, unit.villages, rng, iterations=3):
            level2.append((ui, cell))

    # How many level-3 grids each level-2 grid holds: the city's compounds are many and small.
    urban_idx = [i for i, (ui, _) in enumerate(level2) if units[ui].urban]
    rural_idx = [i for i, (ui, _) in enumerate(level2) if not units[ui].urban]
    specials_at: dict[int, list[Special]] = defaultdict(list)
    urban_pool = list(urban_idx) or list(rural_idx)
    rural_pool = list(rural_idx) or list(urban_idx)
    for sp in config.specials:
        pool = urban_pool if sp.urban else rural_pool
        specials_at[pool[int(rng.integers(len(pool)))]].append(sp)
    base_total = config.level3 - len(config.specials)
    urban_total = config.urban_level3 if urban_idx else 0
    counts = [0] * len(level2)
    if urban_idx:
        weights = rng.lognormal(0, 0.25, len(urban_idx))
        for i, n in zip(urban_idx, largest_remainder(urban_total, weights, minimum=4), strict=True):
            counts[i] = n
    if rural_idx:
        areas = np.array([level2[i][1].area for i in rural_idx])
        weights = areas**0.3 * rng.lognormal(0, 0.3, len(rural_idx))
        rural_total = base_total - urban_total
        for i, n in zip(rural_idx, largest_remainder(rural_total, weights, minimum=3), strict=True):
            counts[i] = n

    # Level 3: special-purpose grids are rectangles cut out first; the rest is tiled by Voronoi cells.
    leaves_km: list[Polygon] = []
    leaf_parent: list[int] = []
    leaf_special: list[Special | None] = []
    for vi, (_ui, village) in enumerate(level2):
        region = village
        for sp in specials_at.get(vi, []):
            rect = _place_special(region, sp, rng)
            if rect is None:
                raise ValueError(f"no room for {sp.name}")
            region = region.difference(rect)
            leaves_km.append(rect)
            leaf_parent.append(vi)
            leaf_special.append(sp)
        for cell in tiling.tile(region, counts[vi], rng, iterations=1):
            leaves_km.append(cell)
            leaf_parent.append(vi)
            leaf_special.append(None)

    # Node in the plane first, so every T-junction (a corner of one grid in the middle of its neighbour's
    # edge) becomes a shared vertex and both sides bend alike; then bend, project, clip to the bounding
    # box, and node again on the storage grid.
    leaves_km = tiling.node(leaves_km, grid=1e-6)
    lonlat = tiling.warped_lonlat(leaves_km, warp, frame, 0.2)
    if not shapely.is_valid(lonlat).all():
        raise ValueError("the warp folded a grid; try another seed")
    lonlat = shapely.intersection(lonlat, box(*BBOX))
    leaves = tiling.node(list(lonlat))

    # Parents are the unions of their children, bottom up.
    by_village: dict[int, list[int]] = defaultdict(list)
    for li, vi in enumerate(leaf_parent):
        by_village[vi].append(li)
    villages = [tiling.union([leaves[li] for li in by_village[vi]]) for vi in range(len(level2))]
    by_unit: dict[int, list[int]] = defaultdict(list)
    for vi, (ui, _) in enumerate(level2):
        by_unit[ui].append(vi)
    unit_shapes = [tiling.union([villages[vi] for vi in by_unit[ui]]) for ui in range(len(units))]
    county = tiling.union(unit_shapes)

    plan = CountyPlan(config)
    plan.grids.append(PlannedGrid(COUNTY_CODE, COUNTY_NAME, 0, county, None, category="county"))
    level3_plans: list[PlannedGrid] = []
    for ui in sorted(range(len(units)), key=lambda i: units[i].code):
        unit = units[ui]
        unit_code = COUNTY_CODE + unit.code
        plan.grids.append(
            PlannedGrid(unit_code, unit.name, 1, unit_shapes[ui], COUNTY_CODE, category=unit.kind)
        )
        # Level-2 codes: 社区 from 001, 村 and 嘎查 from 200, numbered west→east, north→south.
        vis = by_unit[ui]
        points = np.array([_label_point(villages[vi]) for vi in vis])
        north, band = unit_shapes[ui].bounds[3], tiling.row_height(unit_shapes[ui], len(vis))
        first = 1 if unit.urban else 200
        for seq, k in enumerate(tiling.reading_order(points, north, band), start=first):
            vi = vis[k]
            v_code = f"{unit_code}{seq:03d}"
            if unit.urban:
                name, category = namer.community(), "community"
            else:
                pastoral = unit.kind == "sumu" or rng.random() < 0.12
                name, category = namer.village(pastoral), ("gaqa" if pastoral else "village")
            village_plan = PlannedGrid(v_code, name, 2, villages[vi], unit_code, category=category)
            plan.grids.append(village_plan)
            level3_plans.extend(_level3(village_plan, unit, by_village[vi], leaves, leaf_special, namer, rng))
    plan.grids.extend(level3_plans)
    _figures(plan, rng)
    return plan


def _label_point(geom: Polygon) -> tuple[float, float]:
    c = geom.centroid
    if not geom.contains(c):
        c = geom.point_on_surface()
    return c.x, c.y


def _level3(
    village: PlannedGrid,
    unit: Unit,
    leaf_ids: list[int],
    leaves: list[Polygon],
    leaf_special: list[Special | None],
    namer: Namer,
    rng: np.random.Generator,
) -> list[PlannedGrid]:
    """The level-3 grids of a village: base grids 001… in reading order, special-purpose grids 901…."""
    base = [li for li in leaf_ids if leaf_special[li] is None]
    special = [li for li in leaf_ids if leaf_special[li] is not None]
    points = np.array([_label_point(leaves[li]) for li in base])
    north, band = village.geometry.bounds[3], tiling.row_height(village.geometry, len(base))
    ordered = [base[k] for k in tiling.reading_order(points, north, band)]
    used: set[str] = set()
    result = []
    ordinal_style = village.category == "gaqa" or rng.random() < 0.55
    for seq, li in enumerate(ordered, start=1):
        if unit.urban:
            bungalow = rng.random() < 0.15
            category = "bungalow" if bungalow else "compound"
            name = namer.bungalow_area(used) if bungalow else namer.compound(used)
        else:
            category = "natural_village"
            name = (
                f"{chinese_number(seq)}社" if ordinal_style else namer.natural_village(used, village.pastoral)
            )
        result.append(
            PlannedGrid(f"{village.code}{seq:03d}", name, 3, leaves[li], village.code, category=category)
        )
    for seq, li in enumerate(special, start=SPECIAL_SEQUENCE_START + 1):
        sp = leaf_special[li]
        if sp is None:  # `special` holds only special leaves; this tells the type checker so
            continue
        name = sp.name.format(unit=unit.name.removesuffix("苏木"), village=village.name)
        result.append(
            PlannedGrid(
                f"{village.code}{seq:03d}", name, 3, leaves[li], village.code, kind=sp.kind, category=sp.kind
            )
        )
    return result


def _figures(plan: CountyPlan, rng: np.random.Generator) -> None:
    """Households and population: exact totals for the city and the countryside, summed up the tree."""
    config = plan.config
    leaves = [g for g in plan.level(3) if g.category in ("compound", "bungalow", "natural_village")]
    urban = [g for g in leaves if g.category != "natural_village"]
    rural = [g for g in leaves if g.category == "natural_village"]
    urban_total = config.population - config.rural_population if urban else 0
    rural_total = config.population - urban_total
    if urban:
        weights = rng.lognormal(0, 0.45, len(urban)) * np.array(
            [0.6 if g.category == "bungalow" else 1.0 for g in urban]
        )
        for g, pop in zip(urban, largest_remainder(urban_total, weights, minimum=30), strict=True):
            g.population = pop
            g.households = max(1, round(pop / rng.uniform(2.4, 2.9)))
    if rural:
        areas = np.array([area_m2(g.geometry) for g in rural])
        weights = areas**0.35 * rng.lognormal(0, 0.5, len(rural))
        for g, pop in zip(rural, largest_remainder(rural_total, weights, minimum=20), strict=True):
            g.population = pop
            g.households = max(1, round(pop / rng.uniform(2.1, 2.7)))
    by_code = plan.by_code()
    for g in sorted(plan.grids, key=lambda g: -g.level):
        if g.parent_code:
            parent = by_code[g.parent_code]
            parent.population += g.population
            parent.households += g.households
