"""What the demo county is made of: the real level-1 units of Dalad Banner and the reference numbers.

The full configuration reproduces the reference deployment (domain.md). `DemoConfig.small()` keeps the same
shape at a few dozen grids, so a test can build a county in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# The real bounding box of the territory (WGS-84) and the real area and population (seed document).
BBOX = (108.99, 39.81, 110.72, 40.56)
TARGET_AREA_KM2 = 8188.0
TOTAL_POPULATION = 370_000
RURAL_POPULATION = 161_300  # rural and pastoral: the villages (村, 嘎查) of the towns and the sumu
# The banner seat (树林召), where the six sub-districts (街道) cluster.
SEAT = (110.03, 40.40)


@dataclass(frozen=True)
class Unit:
    """A level-1 unit: its 3-digit code after the county's, its real name, its kind and how many level-2
    grids it holds."""

    code: str
    name: str
    kind: str  # "street" (街道), "town" (镇) or "sumu" (苏木)
    villages: int

    @property
    def urban(self) -> bool:
        return self.kind == "street"


# The 15 real units (NBS codes). Village counts follow the 2021 statistics (26 社区 under the 街道 and the
# villages of each town), trimmed by three to the seed's 158 level-2 grids.
UNITS: tuple[Unit, ...] = (
    Unit("001", "工业街道", "street", 4),
    Unit("002", "昭君街道", "street", 4),
    Unit("003", "锡尼街道", "street", 6),
    Unit("004", "白塔街道", "street", 4),
    Unit("005", "西园街道", "street", 5),
    Unit("006", "平原街道", "street", 3),
    Unit("100", "树林召镇", "town", 23),
    Unit("101", "吉格斯太镇", "town", 7),
    Unit("102", "白泥井镇", "town", 9),
    Unit("103", "王爱召镇", "town", 20),
    Unit("104", "昭君镇", "town", 18),
    Unit("105", "恩格贝镇", "town", 14),
    Unit("106", "中和西镇", "town", 9),
    Unit("107", "风水梁镇", "town", 13),
    Unit("200", "展旦召苏木", "sumu", 19),
)

# Where each town's seed lies, as a fraction of the bounding box (west→east, south→north). The banner seat
# town 树林召 sits on the seat so that it surrounds the city; the others spread along the Yellow River
# (north) and into the Kubuqi desert (south), giving the north–south strips the real towns have.
TOWN_ANCHORS: dict[str, tuple[float, float]] = {
    "100": (0.60, 0.78),
    "101": (0.90, 0.55),
    "102": (0.76, 0.45),
    "103": (0.80, 0.78),
    "104": (0.36, 0.62),
    "105": (0.10, 0.55),
    "106": (0.22, 0.40),
    "107": (0.62, 0.30),
    "200": (0.44, 0.30),
}


@dataclass(frozen=True)
class Special:
    """A special-purpose grid (专属网格): its kind, its name pattern and its size in metres."""

    kind: str  # a GridKind value
    name: str  # may hold {unit} and {village}
    urban: bool  # in a 街道 community, or in a rural village
    width_m: float
    height_m: float


SPECIALS: tuple[Special, ...] = (
    Special("school", "达拉特旗第一中学", True, 420, 300),
    Special("school", "达拉特旗第二中学", True, 380, 280),
    Special("school", "达拉特旗实验小学", True, 300, 220),
    Special("school", "达拉特旗职业技术学校", True, 460, 340),
    Special("school", "{unit}中心学校", False, 360, 260),
    Special("market", "城区农贸市场", True, 260, 180),
    Special("market", "北方建材市场", True, 420, 260),
    Special("market", "{village}果蔬批发市场", False, 400, 300),
    Special("enterprise", "{village}发电厂", False, 1600, 1100),
    Special("enterprise", "{unit}光伏产业园", False, 3000, 2000),
    Special("enterprise", "{unit}化工园区", False, 2200, 1500),
    Special("scenic", "{unit}沙漠旅游区", False, 3500, 2400),
)


@dataclass(frozen=True)
class DemoConfig:
    """Everything that decides the demo county. The same config and seed always give the same county."""

    seed: int = 2026
    units: tuple[Unit, ...] = UNITS
    level3: int = 1675  # level-3 grids in all, special-purpose grids included
    urban_level3: int = 480  # base level-3 grids in the 街道 communities (compounds, bungalow areas)
    specials: tuple[Special, ...] = SPECIALS
    area_km2: float = TARGET_AREA_KM2
    population: int = TOTAL_POPULATION
    rural_population: int = RURAL_POPULATION
    # People (domain.md's reference numbers).
    specialists: int = 1761  # every level-3 grid has one; the largest grids get a second
    officers: int = 2904  # information officers, every level-3 grid at least one
    guides: int = 251  # grid guides: department staff over level-2 grids
    handlers_per_department: int = 3
    banner_operators: int = 4
    town_operators: int = 2
    banner_leaders: int = 3
    town_leaders: int = 1
    residents: int = 300
    mediators: int = 373  # volunteer mediators (乡贤) over level-2 grids
    volunteers: int = 200
    # History: cases reported over the last six months (gridgov.demo.history), in every state.
    cases: int = 30_000
    # The register (gridgov.demo.registry): persons imported as an office's file (0: no people, no party
    # members, volunteers or mediators), organisations, components (部件) and the grid workers' visits.
    persons: int = 40_000
    organisations: int = 3_000
    components: int = 5_000
    visits: int = 400
    # Mediation (gridgov.demo.mediation): disputes received over the last year in the towns' grids, and the town
    # of the reference report (白泥井镇 settled more than 960 in a year) with its share of them.
    disputes: int = 2400
    busy_town: str = "102"
    busy_town_disputes: int = 1230
    # Community (gridgov.demo.community): volunteer teams' activities over the last year and the next weeks, and
    # the tasks grids gave the teams.
    activities: int = 1000
    team_tasks: int = 800
    # Where the outline is centred; None: the middle of the bounding box.
    centre: tuple[float, float] | None = None

    @classmethod
    def small(cls, seed: int = 7) -> DemoConfig:
        """Four level-1 units (two 街道, two 镇), 10 level-2 and 44 level-3 grids: for fast tests."""
        units = (
            Unit("001", "工业街道", "street", 2),
            Unit("003", "锡尼街道", "street", 3),
            Unit("100", "树林召镇", "town", 3),
            Unit("104", "昭君镇", "town", 2),
        )
        return cls(
            seed=seed,
            units=units,
            level3=44,
            urban_level3=20,
            specials=(SPECIALS[0], SPECIALS[5], SPECIALS[8]),
            area_km2=2200.0,
            population=20_000,
            rural_population=8_000,
            specialists=48,
            officers=70,
            guides=14,
            handlers_per_department=1,
            banner_operators=1,
            town_operators=1,
            banner_leaders=1,
            town_leaders=1,
            residents=6,
            mediators=5,
            volunteers=4,
            cases=400,
            persons=300,
            organisations=40,
            components=150,
            visits=20,
            disputes=150,
            busy_town="",
            busy_town_disputes=0,
            activities=80,
            team_tasks=40,
            centre=(109.95, 40.28),
        )

    def with_seed(self, seed: int) -> DemoConfig:
        return replace(self, seed=seed)

    @property
    def level2(self) -> int:
        return sum(u.villages for u in self.units)
