"""The demo county's register (人、事、物): the people in their households, the buildings of the city, the shops,
enterprises and associations, the components (部件) of the streets, the party organisations with their members,
volunteers and mediators, the inspection plans with their past and open tasks, and the grid workers' visits.

`seed_registry` runs inside `seed_demo`'s transaction, after the grid tree and the staff. The people go in the
way an office's register does: the generator (`gridgov.registry.people`) writes the persons template as a CSV in
memory, with each household's point (its building's in the city, a point of its own in the countryside and the
bungalow areas) on the head's row, and `import_persons` checks, encrypts and writes it. Organisations and
components are written in bulk through the same helpers as the services (`core.personal`, `core.masking`,
`registry.validators`); the plans are made by the banner's operator and a town head through
`fieldwork.services`, their past inspections written as the services would have left them, and the visits
recorded one by one through `do_record_visit` on the phones' clocks of the last months.

Deterministic for the config's seed and the moment of seeding (what lies in the past is counted back from
now), except the random nonces of the encryption. `planned_numbers` gives every document number and phone the
seed writes, so that a test can look for them in plain text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.catalog.models import Department, Item, ItemKind
from gridgov.core import audit
from gridgov.core.calendar import TZ
from gridgov.core.masking import mask_phone
from gridgov.core.personal import PHONE, blind_index, encrypt_text
from gridgov.fieldwork.choices import Answer, TaskState, VisitPurpose
from gridgov.fieldwork.models import InspectionPlan, InspectionTask
from gridgov.fieldwork.services import do_create_plan, do_generate_tasks, do_record_visit, lead_days
from gridgov.grids.models import Grid
from gridgov.registry import people
from gridgov.registry.choices import (
    CARE_GROUPS,
    ComponentState,
    OrganisationKind,
    OrganisationState,
    PartyOrgKind,
    PersonRoleKind,
    PersonState,
    Source,
)
from gridgov.registry.imports import import_persons
from gridgov.registry.models import (
    Building,
    Component,
    Household,
    KeyGroupLabel,
    Organisation,
    PartyOrganisation,
    Person,
    PersonRole,
)
from gridgov.registry.services import key_group_index
from gridgov.registry.validators import CREDIT_CODE_CHARSET, credit_check_char, make_component_id

from .config import DemoConfig
from .county import COUNTY_CODE, COUNTY_NAME, CountyPlan, PlannedGrid, largest_remainder
from .names import person_name

IMPORT_FILE = "达拉特旗实有人口台账.csv"
URBAN_CATEGORIES = frozenset({"compound", "bungalow"})
# Share of adults in each role (the county's party members are about 6 % of its adults).
PARTY_SHARE = 0.06
VOLUNTEER_SHARE = 0.03
MEDIATORS_PER_VILLAGE = (2, 4)
VISIT_DAYS = 120  # the visits of the last four months
DEMO_GRID_COMPONENTS = 3  # of each inspected kind in the demo grid workers' grid
DEMO_WORKER_VISITS = 0.08  # the share of the visits made by the demo `specialist` and `officer`


# -- the report ---------------------------------------------------------------------------------------------------
@dataclass
class RegistryReport:
    persons: int = 0
    households: int = 0
    buildings: int = 0
    organisations: int = 0
    components: int = 0
    party_organisations: int = 0
    party_members: int = 0
    volunteers: int = 0
    mediators: int = 0
    plans: int = 0
    tasks: int = 0
    tasks_done: int = 0
    tasks_open: int = 0
    tasks_overdue: int = 0
    visits: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the seed's output."""
        return _(
            "Register: %(persons)s persons in %(households)s households, %(buildings)s buildings, "
            "%(organisations)s organisations, %(components)s components, %(party)s party organisations "
            "(%(members)s party members, %(volunteers)s volunteers, %(mediators)s mediators), %(plans)s "
            "inspection plans with %(tasks)s tasks (%(done)s done, %(open)s open, %(overdue)s overdue), "
            "%(visits)s visits, in %(seconds).1f s."
        ) % {
            "persons": f"{self.persons:,}",
            "households": f"{self.households:,}",
            "buildings": f"{self.buildings:,}",
            "organisations": f"{self.organisations:,}",
            "components": f"{self.components:,}",
            "party": f"{self.party_organisations:,}",
            "members": f"{self.party_members:,}",
            "volunteers": f"{self.volunteers:,}",
            "mediators": f"{self.mediators:,}",
            "plans": self.plans,
            "tasks": f"{self.tasks:,}",
            "done": f"{self.tasks_done:,}",
            "open": f"{self.tasks_open:,}",
            "overdue": f"{self.tasks_overdue:,}",
            "visits": f"{self.visits:,}",
            "seconds": self.seconds,
        }


# -- pure planning (no database) ----------------------------------------------------------------------------------
def _leaves(plan: CountyPlan) -> list[PlannedGrid]:
    return plan.level(3)


def leaf_rows(plan: CountyPlan) -> list[tuple[str, str, str, str, float, bool]]:
    """The generator's grid list: (code, name, town, village, households, urban) of every level-3 grid."""
    by_code = plan.by_code()
    rows = []
    for g in _leaves(plan):
        village = by_code[g.parent_code or ""]
        town = by_code[village.parent_code or ""]
        rows.append(
            (g.code, g.name, town.name, village.name, float(g.households), g.category in URBAN_CATEGORIES)
        )
    return rows


def person_columns(config: DemoConfig, plan: CountyPlan) -> dict[str, list[str]]:
    """The persons of the demo register, column by column (the import template's headers)."""
    return people.generate_columns(leaf_rows(plan), config.persons, seed=config.seed, county=COUNTY_NAME)


@dataclass
class PlannedBuilding:
    code: str
    grid: str
    number: int
    name: str
    floors: int
    address: str
    lon: float
    lat: float


@dataclass
class PlannedHousehold:
    number: str
    grid: str
    lon: float
    lat: float
    building: str = ""  # the building's code, in the city's compounds
    house_number: str = ""  # 3单元502室


# "…3号楼2单元1201室": building, unit, floor and room (two digits) of a flat.
FLAT = re.compile(r"(\d+)号楼(\d+)单元(\d+?)(\d\d)室$")


class _Inside:
    """Random points inside grids, kept off their boundaries (about five metres) so that each locates in its
    grid unambiguously; each grid's inner shape is computed once."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.inner: dict[str, Any] = {}

    def points(self, grid: PlannedGrid, n: int) -> np.ndarray:
        if n <= 0:
            return np.empty((0, 2))
        from .tiling import points_inside

        inner = self.inner.get(grid.code)
        if inner is None:
            inner = grid.geometry.buffer(-0.00005)
            if inner.is_empty or inner.area <= 0:
                inner = grid.geometry
            self.inner[grid.code] = inner
        return points_inside(inner, n, self.rng)

    def point(self, grid: PlannedGrid) -> tuple[float, float]:
        lon, lat = self.points(grid, 1)[0]
        return round(float(lon), 7), round(float(lat), 7)


def plan_households(
    columns: dict[str, list[str]], plan: CountyPlan, seed: int
) -> tuple[list[PlannedHousehold], list[PlannedBuilding]]:
    """Where each household of `columns` lives: the flats of a city compound share their building's point; a
    courtyard in a village or a bungalow area has a point of its own."""
    inside = _Inside(np.random.default_rng(seed + 21))
    by_code = plan.by_code()
    numbers = columns[people.HOUSEHOLD_NUMBER]
    relations = columns[people.RELATION]
    grids = columns[people.GRID_CODE]
    addresses = columns[people.ADDRESS]
    heads: dict[str, list[tuple[str, str]]] = defaultdict(list)  # grid → [(household, address)]
    for number, relation, grid_code, address in zip(numbers, relations, grids, addresses, strict=True):
        if relation == people.HEAD:
            heads[grid_code].append((number, address))
    households: list[PlannedHousehold] = []
    buildings: list[PlannedBuilding] = []
    for code in sorted(heads):
        grid = by_code[code]
        rows = heads[code]
        flats = [FLAT.search(address) for _n, address in rows]
        if grid.category == "compound" and all(flats):
            floors: dict[int, int] = defaultdict(int)
            for m in flats:
                assert m is not None
                floors[int(m[1])] = max(floors[int(m[1])], int(m[3]))
            points = inside.points(grid, len(floors))
            placed = {}
            for (number_in_grid, top), (lon, lat) in zip(sorted(floors.items()), points, strict=True):
                building = PlannedBuilding(
                    code=f"{code}{number_in_grid:03d}",
                    grid=code,
                    number=number_in_grid,
                    name=f"{grid.name}{number_in_grid}号楼",
                    floors=top,
                    address=f"{_prefix(by_code, grid)}{number_in_grid}号楼",
                    lon=round(float(lon), 7),
                    lat=round(float(lat), 7),
                )
                buildings.append(building)
                placed[number_in_grid] = building
            for (number, _address), m in zip(rows, flats, strict=True):
                assert m is not None
                b = placed[int(m[1])]
                households.append(
                    PlannedHousehold(number, code, b.lon, b.lat, b.code, f"{m[2]}单元{m[3]}{m[4]}室")
                )
        else:
            points = inside.points(grid, len(rows))
            for (number, _address), (lon, lat) in zip(rows, points, strict=True):
                households.append(PlannedHousehold(number, code, round(float(lon), 7), round(float(lat), 7)))
    return households, buildings


def _prefix(by_code: dict[str, PlannedGrid], grid: PlannedGrid) -> str:
    """The standard address down to the grid: county, town, village, grid."""
    village = by_code[grid.parent_code or ""]
    town = by_code[village.parent_code or ""]
    return f"{COUNTY_NAME}{town.name}{village.name}{grid.name}"


def persons_file(columns: dict[str, list[str]], households: list[PlannedHousehold]) -> bytes:
    """The persons template as a CSV (UTF-8 with a BOM, as an office's spreadsheet saves it), with the
    household's point on its head's row."""
    where = {h.number: h for h in households}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*people.HEADERS, "经度", "纬度"])
    relation_at = people.HEADERS.index(people.RELATION)
    number_at = people.HEADERS.index(people.HOUSEHOLD_NUMBER)
    for values in zip(*(columns[h] for h in people.HEADERS), strict=True):
        if values[relation_at] == people.HEAD:
            h = where[values[number_at]]
            writer.writerow([*values, f"{h.lon:.7f}", f"{h.lat:.7f}"])
        else:
            writer.writerow([*values, "", ""])
    return out.getvalue().encode("utf-8-sig")


# -- organisations ------------------------------------------------------------------------------------------------
SHOP_KINDS = (
    "便利店", "超市", "面馆", "饭店", "羊肉馆", "烧烤店", "早餐店", "理发店", "五金店", "药店", "服装店", "手机店",
    "农资店", "蔬菜店", "小卖部", "修车铺", "洗车店", "快递驿站", "烟酒店", "粮油店", "母婴店", "干洗店", "茶叶店",
    "家电维修部", "打印店", "水果店",
)  # fmt: skip
SHOP_BRANDS = (
    "鑫源", "宏达", "聚丰", "恒基", "兴旺", "蒙泰", "金鼎", "汇能", "东达", "瑞丰", "泰和", "永盛", "福满家", "老王",
    "小李", "张记", "刘记", "惠民", "好邻居", "乐购", "一品", "草原", "金驼", "河套", "老街坊", "百姓", "万家",
    "顺心", "放心", "德顺", "天天", "快乐", "阿拉腾", "塔拉", "乌兰",
)  # fmt: skip
ENTERPRISE_TRADES = (
    "煤炭运销", "建材", "物流", "农牧业", "新能源", "化工", "机械设备", "房地产开发", "建筑工程", "商贸", "羊绒制品",
    "农业科技", "光伏发电", "餐饮管理", "物业服务", "沙产业", "汽车服务", "电力工程", "环保科技", "食品",
)  # fmt: skip
ENTERPRISE_PREFIXES = ("达拉特旗", "达拉特旗", "鄂尔多斯市", "内蒙古")
SOCIAL_NAMES = (
    "{grid}老年人协会", "达拉特旗{brand}志愿者协会", "达拉特旗{brand}商会", "达拉特旗{brand}社会工作服务中心",
    "达拉特旗{brand}幼儿园", "{village}红白理事会", "{village}文艺队", "达拉特旗{brand}慈善基金会",
    "达拉特旗{brand}养老服务中心",
)  # fmt: skip
INSTITUTION_NAMES = (
    "{town}卫生院", "{town}中心小学", "{town}文化站", "{town}农牧业综合服务中心", "{village}幼儿园",
    "{town}社会事务服务中心", "{town}退役军人服务站",
)  # fmt: skip
# (share of organisations, credit-code registration authority and type by name pattern)
KIND_SHARES = {
    OrganisationKind.SHOP: 0.60,
    OrganisationKind.ENTERPRISE: 0.24,
    OrganisationKind.SOCIAL: 0.10,
    OrganisationKind.INSTITUTION: 0.06,
}
# GB 11714 (组织机构代码): the weights of the first eight characters of the nine.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code(body8: str) -> str:
    """A 9-character organisation code (GB 11714): eight characters and their check character."""
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body8]
    check = 11 - sum(v * w for v, w in zip(values, ORG_CODE_WEIGHTS, strict=True)) % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(authority_type: str, rng: random.Random) -> str:
    """A unified social credit code (GB 32100) registered in the county: authority and type (91 enterprise,
    92 individual business, 93 farmers' cooperative, 12 public institution, 51 association, 52 private
    non-enterprise unit, 53 foundation), 150621, the organisation code and the check character."""
    if authority_type.startswith("9"):
        body = "MA" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = f"{authority_type}{COUNTY_CODE}{org_code(body)}"
    return first17 + credit_check_char(first17)


def mobile(rng: random.Random) -> str:
    prefixes = [p for p, w in people.MOBILE_PREFIXES for _ in range(w)]
    return rng.choice(prefixes) + f"{rng.randrange(10**8):08d}"


@dataclass
class PlannedOrganisation:
    name: str
    kind: str
    credit_code: str
    grid: str
    representative: str
    phone: str
    address: str
    employees: int | None
    state: str
    lon: float
    lat: float


def plan_organisations(config: DemoConfig, plan: CountyPlan) -> list[PlannedOrganisation]:
    """Shops, enterprises, associations and public bodies, in the grids where they are found: shops in the
    city and the markets, enterprises in the industrial parks, associations in the communities."""
    if config.organisations <= 0:
        return []
    r = random.Random(config.seed + 23)
    rng = np.random.default_rng(config.seed + 24)
    inside = _Inside(rng)
    by_code = plan.by_code()
    leaves = _leaves(plan)
    hh = np.array([g.households + 1.0 for g in leaves])
    cat = [g.category for g in leaves]
    urban = np.array([c in URBAN_CATEGORIES for c in cat])
    special = {c: np.array([x == c for x in cat]) for c in ("market", "enterprise", "school", "scenic")}
    weights = {
        OrganisationKind.SHOP: hh * np.where(urban, 1.0, 0.12)
        + special["market"] * 400
        + special["scenic"] * 40,
        OrganisationKind.ENTERPRISE: hh * np.where(urban, 0.15, 0.05) + special["enterprise"] * 600,
        OrganisationKind.SOCIAL: hh * np.where(urban, 0.3, 0.08) + special["school"] * 20,
        OrganisationKind.INSTITUTION: hh * 0.05 + special["school"] * 60,
    }
    counts = dict(
        zip(
            KIND_SHARES,
            largest_remainder(config.organisations, np.array(list(KIND_SHARES.values()))),
            strict=True,
        )
    )
    taken_codes: set[str] = set()
    taken_names: set[str] = set()
    out: list[PlannedOrganisation] = []
    for kind, count in counts.items():
        w = weights[kind]
        picks = rng.choice(len(leaves), size=count, p=w / w.sum())
        for i in picks.tolist():
            grid = leaves[i]
            village = by_code[grid.parent_code or ""]
            town = by_code[village.parent_code or ""]
            name, code_type, employees = _organisation_name(kind, grid, village.name, town.name, r)
            if name in taken_names:
                name = (
                    f"{name}（{grid.name}店）" if kind == OrganisationKind.SHOP else f"{name}{grid.name}分部"
                )
            if name in taken_names:
                continue
            taken_names.add(name)
            code = credit_code(code_type, r)
            while code in taken_codes:
                code = credit_code(code_type, r)
            taken_codes.add(code)
            lon, lat = inside.point(grid)
            out.append(
                PlannedOrganisation(
                    name=name[:200],
                    kind=kind,
                    credit_code=code,
                    grid=grid.code,
                    representative=person_name(r, 0.3 if grid.pastoral else 0.08),
                    phone=mobile(r) if r.random() < 0.85 else "",
                    address=f"{_prefix(by_code, grid)}{r.randint(1, 120)}号"[:200],
                    employees=employees,
                    state=OrganisationState.CLOSED if r.random() < 0.04 else OrganisationState.OPEN,
                    lon=lon,
                    lat=lat,
                )
            )
    return out


def _organisation_name(
    kind: str, grid: PlannedGrid, village: str, town: str, r: random.Random
) -> tuple[str, str, int | None]:
    """(name, credit-code authority and type, employees)."""
    if kind == OrganisationKind.SHOP:
        prefix = "达拉特旗" if r.random() < 0.5 else ""
        return f"{prefix}{r.choice(SHOP_BRANDS)}{r.choice(SHOP_KINDS)}", "92", r.randint(1, 8)
    if kind == OrganisationKind.ENTERPRISE:
        if grid.category == "natural_village" and r.random() < 0.4:
            trade = r.choice(("种养殖", "肉羊养殖", "农机", "蔬菜种植", "奶牛养殖", "沙棘种植"))
            return f"达拉特旗{village}{trade}专业合作社", "93", r.randint(5, 40)
        suffix = "股份有限公司" if r.random() < 0.05 else r.choice(("有限公司", "有限责任公司"))
        name = f"{r.choice(ENTERPRISE_PREFIXES)}{r.choice(SHOP_BRANDS)}{r.choice(ENTERPRISE_TRADES)}{suffix}"
        return name, "91", int(min(2000, r.lognormvariate(3.0, 1.1)) + 3)
    if kind == OrganisationKind.SOCIAL:
        pattern = r.choice(SOCIAL_NAMES)
        code_type = "53" if "基金会" in pattern else "52" if pattern.endswith(("中心", "幼儿园")) else "51"
        name = pattern.format(grid=grid.name, village=village, brand=r.choice(SHOP_BRANDS))
        return name, code_type, r.randint(0, 25)
    pattern = r.choice(INSTITUTION_NAMES)
    return pattern.format(town=town, village=village), "12", r.randint(8, 120)


def planned_numbers(config: DemoConfig, plan: CountyPlan) -> set[str]:
    """Every document number and phone the demo register holds (encrypted), as they were generated."""
    columns = person_columns(config, plan)
    numbers = {n for n in columns[people.DOCUMENT_NUMBER] if n}
    numbers |= {p for p in columns[people.MOBILE] if p}
    numbers |= {o.phone for o in plan_organisations(config, plan) if o.phone}
    return numbers


# -- components ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComponentKind:
    item: str  # the responsibility list's item code (kind component)
    weight: float
    urban: float  # share placed in the city's grids
    names: tuple[str, ...]
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    owner: str = ""  # the owning unit when it is not the lead department itself


COMPONENT_KINDS = (
    ComponentKind("031005", 0.20, 0.70, ("路灯", "太阳能路灯", "庭院灯"),
                  (("灯杆高度", ("6m", "8m", "10m", "12m")), ("光源", ("LED", "高压钠灯"))), "达拉特旗路灯管理所"),
    ComponentKind("031001", 0.12, 0.95, ("雨水井盖",), (("材质", ("球墨铸铁", "复合材料", "混凝土")), ("形状", ("圆形", "方形")))),
    ComponentKind("031002", 0.10, 0.92, ("污水井盖",), (("材质", ("球墨铸铁", "复合材料")), ("形状", ("圆形",)))),
    ComponentKind("031003", 0.05, 0.85, ("供水井盖", "阀门井盖"), (("材质", ("球墨铸铁",)),), "达拉特旗供水公司"),
    ComponentKind("021002", 0.03, 0.95, ("燃气井盖", "燃气阀门井盖"), (("材质", ("球墨铸铁",)),), "达拉特旗燃气公司"),
    ComponentKind("021001", 0.12, 0.65, ("灭火器箱", "灭火器箱", "室外消火栓", "消防器材箱", "微型消防站"),
                  (("规格", ("MFZ/ABC4×2", "MFZ/ABC5×2", "SS100/65", "SS150/80")),)),
    ComponentKind("011001", 0.08, 0.70, ("垃圾箱", "分类垃圾箱", "果皮箱"), (("容量", ("120L", "240L", "660L")),)),
    ComponentKind("011006", 0.06, 0.85, ("行道树",), (("树种", ("国槐", "新疆杨", "旱柳", "樟子松", "白蜡")),)),
    ComponentKind("021006", 0.04, 0.40, ("箱式变压器", "杆上变压器"), (("容量", ("200kVA", "400kVA", "630kVA")),),
                  "国网达拉特旗供电公司"),
    ComponentKind("021004", 0.04, 0.70, ("治安监控", "电子眼", "高清卡口")),
    ComponentKind("091001", 0.02, 1.00, ("交通信号灯",)),
    ComponentKind("091002", 0.03, 0.80, ("交通标志牌", "指路标志")),
    ComponentKind("091004", 0.02, 0.85, ("公交站亭", "公交站牌")),
    ComponentKind("011002", 0.02, 0.60, ("公共厕所", "水冲式公厕")),
    ComponentKind("031007", 0.02, 0.70, ("健身路径", "健身器材")),
)  # fmt: skip
SIDES = ("东侧", "西侧", "南侧", "北侧", "门口", "路口", "拐角")
RURAL_SPOTS = ("村道边", "村委会门口", "文化广场", "村口", "路边", "活动室旁", "渠边")


@dataclass
class PlannedComponent:
    item: str
    serial: int
    name: str
    grid: str
    location: str
    lon: float
    lat: float
    state: str
    installed_on: dt.date
    attributes: dict[str, str]
    owner: str


def plan_components(
    config: DemoConfig, plan: CountyPlan, buildings: Sequence[PlannedBuilding], *, demo_grid: str = ""
) -> list[PlannedComponent]:
    """Lamps, manhole covers, hydrants and extinguishers… mostly in the city, some along the village roads.
    `demo_grid` (the demo grid workers' grid) gets a few of each kind that has an inspection plan, so that their
    fieldwork screens have tasks to show."""
    if config.components <= 0:
        return []
    r = random.Random(config.seed + 25)
    rng = np.random.default_rng(config.seed + 26)
    inside = _Inside(rng)
    leaves = _leaves(plan)
    hh = np.array([g.households + 1.0 for g in leaves])
    urban = np.array([g.category in URBAN_CATEGORIES or g.category in ("school", "market") for g in leaves])
    urban_w = hh * urban + 0.1
    rural_w = hh * ~urban + 0.1
    in_grid: dict[str, list[PlannedBuilding]] = defaultdict(list)
    for b in buildings:
        in_grid[b.grid].append(b)
    total = sum(k.weight for k in COMPONENT_KINDS)
    counts = largest_remainder(config.components, np.array([k.weight / total for k in COMPONENT_KINDS]))
    today = timezone.localdate()
    out: list[PlannedComponent] = []
    for kind, count in zip(COMPONENT_KINDS, counts, strict=True):
        city = int(rng.binomial(count, kind.urban))
        picks = np.concatenate(
            [
                rng.choice(len(leaves), size=city, p=urban_w / urban_w.sum()),
                rng.choice(len(leaves), size=count - city, p=rural_w / rural_w.sum()),
            ]
        )
        if demo_grid and count >= DEMO_GRID_COMPONENTS and kind.item in {p.item for p in PLANS}:
            picks[:DEMO_GRID_COMPONENTS] = next(i for i, g in enumerate(leaves) if g.code == demo_grid)
        for serial, i in enumerate(sorted(picks.tolist()), start=1):
            grid = leaves[i]
            near = in_grid.get(grid.code)
            if near:
                location = f"{grid.name}{r.choice(near).number}号楼{r.choice(SIDES)}"
            elif grid.category in URBAN_CATEGORIES or grid.kind != "base":
                location = f"{grid.name}{r.choice(SIDES)}"
            else:
                location = f"{grid.name}{r.choice(RURAL_SPOTS)}"
            lon, lat = inside.point(grid)
            state = r.choices(
                (
                    ComponentState.GOOD,
                    ComponentState.DAMAGED,
                    ComponentState.MISSING,
                    ComponentState.OCCUPIED,
                ),
                (0.93, 0.04, 0.01, 0.02),
            )[0]
            out.append(
                PlannedComponent(
                    item=kind.item,
                    serial=serial,
                    name=r.choice(kind.names),
                    grid=grid.code,
                    location=location[:200],
                    lon=lon,
                    lat=lat,
                    state=state,
                    installed_on=today - dt.timedelta(days=r.randint(200, 20 * 365)),
                    attributes={name: r.choice(values) for name, values in kind.attributes},
                    owner=kind.owner,
                )
            )
    return out


# -- writing ------------------------------------------------------------------------------------------------------
def seed_registry(
    config: DemoConfig,
    plan: CountyPlan,
    *,
    actor: Any = None,
    now: dt.datetime | None = None,
    say: Callable[[str], None] | None = None,
) -> RegistryReport:
    """Write the demo register into the current transaction (the grid tree and the staff are there)."""
    started = time.perf_counter()
    now = now or timezone.now()
    say = say or (lambda _message: None)
    report = RegistryReport()
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        t2 = time.perf_counter()
        report.timings[name] = t2 - t
        t = t2

    grids = {g.code: g for g in Grid.objects.current().only("id", "code", "level", "l1_id", "l2_id", "l3_id")}
    buildings: list[PlannedBuilding] = []
    say(
        _("Writing the register: %(count)s persons, their places and components…")
        % {"count": f"{config.persons:,}"}
    )
    if config.persons > 0:
        columns = person_columns(config, plan)
        households, buildings = plan_households(columns, plan, config.seed)
        data = persons_file(columns, households)
        lap("generate")
        imported = import_persons(data, IMPORT_FILE, actor=actor)
        if not imported.ok:
            raise RuntimeError("the demo register did not import: " + "; ".join(imported.messages[:5]))
        report.persons, report.households = imported.created, imported.households_created
        lap("import")
        report.buildings = _write_buildings(buildings, households, grids, now)
        lap("buildings")
    organisations = plan_organisations(config, plan)
    report.organisations = _write_organisations(organisations, buildings, grids, now)
    demo_grid = (
        RoleAssignment.objects.filter(user__username="specialist", grid__level=3)
        .values_list("grid__code", flat=True)
        .first()
    )
    components = plan_components(config, plan, buildings, demo_grid=demo_grid or "")
    report.components = _write_components(components, grids, now)
    lap("places")
    if config.persons > 0:
        _write_party(config, plan, grids, report, now)
        lap("party")
    _inspections(config, plan, report, now)
    lap("inspections")
    if config.visits > 0:
        report.visits = _visits(config, now)
        lap("visits")
    report.seconds = time.perf_counter() - started
    return report


def _insert(model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Plain executemany of the rows (bulk_create's per-field work costs more than the rows themselves);
    columns not named get their field's default."""
    if not rows:
        return
    given = [model._meta.get_field(n) for n in names]
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f not in given]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in (*given, *rest))
    marks = ", ".join(["%s"] * (len(given) + len(rest)))
    prepared = [
        [*(f.get_db_prep_save(v, connection) for f, v in zip(given, row, strict=True)), *defaults]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", prepared)  # noqa: S608


def _located(grid: Grid) -> tuple[int, int | None, int | None, int | None]:
    return grid.pk, grid.l1_id, grid.l2_id, grid.l3_id


LOCATED = ("grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "lon", "lat", "created_at", "updated_at")


def _write_buildings(
    buildings: list[PlannedBuilding],
    households: list[PlannedHousehold],
    grids: dict[str, Grid],
    now: dt.datetime,
) -> int:
    from gridgov.registry.choices import BuildingKind

    _insert(
        Building,
        [*LOCATED, "code", "name", "kind", "floors", "address"],
        [
            (*_located(grids[b.grid]), b.lon, b.lat, now, now, b.code, b.name, BuildingKind.RESIDENTIAL, b.floors,
             b.address)
            for b in buildings
        ],
    )  # fmt: skip
    ids = dict(Building.objects.values_list("code", "id"))
    flats = [h for h in households if h.building]
    numbers = dict(Household.objects.filter(number__in=[h.number for h in flats]).values_list("number", "id"))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {connection.ops.quote_name(Household._meta.db_table)} "  # noqa: S608 - fixed names
            "SET building_id = %s, house_number = %s WHERE id = %s",
            [(ids[h.building], h.house_number, numbers[h.number]) for h in flats],
        )
    return len(buildings)


def _write_organisations(
    organisations: list[PlannedOrganisation],
    buildings: list[PlannedBuilding],
    grids: dict[str, Grid],
    now: dt.datetime,
) -> int:
    r = random.Random(len(organisations))
    building_ids = dict(Building.objects.values_list("code", "id")) if buildings else {}
    in_grid: dict[str, list[str]] = defaultdict(list)
    for b in buildings:
        in_grid[b.grid].append(b.code)
    rows = []
    for o in organisations:
        # Shops in a compound keep the ground floor of one of its buildings (底商).
        near = in_grid.get(o.grid)
        building = building_ids[r.choice(near)] if near and o.kind == OrganisationKind.SHOP else None
        rows.append(
            (
                *_located(grids[o.grid]), o.lon, o.lat, now, now, o.name, o.kind, o.credit_code, o.representative,
                encrypt_text(o.phone, PHONE), blind_index(o.phone) if o.phone else "",
                mask_phone(o.phone) if o.phone else "", building, o.address, o.employees, o.state, Source.ADMIN,
            )
        )  # fmt: skip
    _insert(
        Organisation,
        [*LOCATED, "name", "kind", "credit_code", "representative", "phone_enc", "phone_index", "phone_masked",
         "building", "address", "employees", "state", "source"],
        rows,
    )  # fmt: skip
    return len(rows)


def _write_components(components: list[PlannedComponent], grids: dict[str, Grid], now: dt.datetime) -> int:
    items = {
        i.code: i for i in Item.objects.filter(kind=ItemKind.COMPONENT).select_related("lead_department")
    }
    rows = []
    for c in components:
        item = items.get(c.item)
        if item is None or len(item.standard_code) != 5:
            continue  # a catalogue without this class: nothing to register it under
        object_id = make_component_id(
            COUNTY_CODE, int(item.standard_code[:2]), int(item.standard_code[2:]), c.serial
        )
        lead: Department = item.lead_department
        rows.append(
            (
                *_located(grids[c.grid]), c.lon, c.lat, now, now, object_id, item.pk, c.name, c.location, lead.pk,
                c.owner or lead.name, lead.pk, c.state, c.installed_on, c.attributes, Source.SURVEY,
            )
        )  # fmt: skip
    _insert(
        Component,
        [*LOCATED, "object_id", "item", "name", "location", "owner_department", "owner_unit",
         "maintainer_department", "state", "installed_on", "attributes", "source"],
        rows,
    )  # fmt: skip
    return len(rows)


def _party_names(plan: CountyPlan) -> tuple[dict[str, str], dict[str, str]]:
    """The committee of each town and the branch of each village, as the party names them."""
    by_code = plan.by_code()
    committees = {}
    for town in plan.level(1):
        body = "工作委员会" if town.category == "street" else "委员会"
        committees[town.code] = f"中共{COUNTY_NAME}{town.name}{body}"
    branches = {}
    for village in plan.level(2):
        town = by_code[village.parent_code or ""]
        branches[village.code] = f"中共{COUNTY_NAME}{town.name}{village.name}支部委员会"
    return committees, branches


def _write_party(
    config: DemoConfig, plan: CountyPlan, grids: dict[str, Grid], report: RegistryReport, now: dt.datetime
) -> None:
    """A committee per town, a branch per village; party members, volunteers and mediators among the adults."""
    rng = np.random.default_rng(config.seed + 27)
    today = timezone.localdate()
    committees, branches = _party_names(plan)
    by_code = plan.by_code()

    def point(g: PlannedGrid) -> tuple[float, float]:
        p = g.geometry.point_on_surface()
        return round(p.x, 7), round(p.y, 7)

    _insert(
        PartyOrganisation,
        [*LOCATED, "name", "kind"],
        [(*_located(grids[code]), *point(by_code[code]), now, now, name, PartyOrgKind.COMMITTEE)
         for code, name in committees.items()],
    )  # fmt: skip
    committee_ids = dict(
        PartyOrganisation.objects.filter(kind=PartyOrgKind.COMMITTEE).values_list("grid__code", "id")
    )
    _insert(
        PartyOrganisation,
        [*LOCATED, "name", "kind", "parent"],
        [
            (*_located(grids[code]), *point(by_code[code]), now, now, name, PartyOrgKind.BRANCH,
             committee_ids[by_code[code].parent_code or ""])
            for code, name in branches.items()
        ],
    )  # fmt: skip
    branch_of = dict(PartyOrganisation.objects.filter(kind=PartyOrgKind.BRANCH).values_list("grid_id", "id"))
    report.party_organisations = len(committees) + len(branches)

    rows = list(
        Person.objects.filter(state=PersonState.LIVING_HERE, birth_date__isnull=False)
        .order_by("id")
        .values_list("id", "grid_l1_id", "grid_l2_id", "birth_date")
    )
    if not rows:
        return
    ids = np.array([r[0] for r in rows])
    towns = np.array([r[1] or 0 for r in rows])
    villages = np.array([r[2] or 0 for r in rows])
    ages = np.array([(today - r[3]).days / 365.25 if r[3] else 0.0 for r in rows])
    adult = ages >= 18
    u = rng.random((3, len(rows)))
    # Members join at 18 and later; the older generations hold more of them.
    member_p = np.where(adult, np.select([ages < 30, ages < 60], [0.6, 1.2], 1.1), 0) * PARTY_SHARE
    members = u[0] < member_p
    volunteers = adult & (ages <= 70) & (u[1] < VOLUNTEER_SHARE * 1.15)
    mediators = np.zeros(len(rows), dtype=bool)
    for village_id in np.unique(villages):
        candidates = np.flatnonzero((villages == village_id) & (ages >= 40) & (ages <= 70))
        if len(candidates):
            k = min(
                len(candidates), int(rng.integers(MEDIATORS_PER_VILLAGE[0], MEDIATORS_PER_VILLAGE[1] + 1))
            )
            mediators[rng.choice(candidates, size=k, replace=False)] = True

    def since(i: int, earliest_age: float) -> dt.date:
        years = max(0.0, ages[i] - earliest_age)
        return today - dt.timedelta(days=int(rng.uniform(0, years) * 365.25))

    role_rows = []
    for i in np.flatnonzero(members).tolist():
        role_rows.append(
            (int(ids[i]), PersonRoleKind.PARTY_MEMBER, branch_of.get(int(villages[i])), since(i, 20))
        )
    for i in np.flatnonzero(volunteers).tolist():
        role_rows.append((int(ids[i]), PersonRoleKind.VOLUNTEER, None, since(i, 18)))
    for i in np.flatnonzero(mediators).tolist():
        role_rows.append((int(ids[i]), PersonRoleKind.MEDIATOR, None, since(i, 35)))
    _insert(PersonRole, ["person", "role", "party_organisation", "since"], role_rows)
    report.party_members = int(members.sum())
    report.volunteers = int(volunteers.sum())
    report.mediators = int(mediators.sum())

    # Secretaries: a member of the branch (the committee: of the town) aged 35 to 60.
    secretary_age = (ages >= 35) & (ages <= 60) & members
    updates = []
    for grid_id, org_id in branch_of.items():
        found = np.flatnonzero(secretary_age & (villages == grid_id))
        if len(found):
            updates.append((int(ids[found[0]]), org_id))
    town_ids = {grids[code].pk: org for code, org in committee_ids.items()}
    for town_id, org_id in town_ids.items():
        found = np.flatnonzero(secretary_age & (towns == town_id))
        if len(found):
            updates.append((int(ids[found[-1]]), org_id))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {connection.ops.quote_name(PartyOrganisation._meta.db_table)} "  # noqa: S608 - fixed names
            "SET secretary_id = %s WHERE id = %s",
            updates,
        )


# -- inspections --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoPlan:
    maker: str  # the demo account that makes it
    name: str
    item: str
    every_days: int
    age_days: int  # how long ago it was made
    checklist: tuple[tuple[str, str], ...]
    town: bool = False  # for the maker's town only (else the whole county)


PLANS = (
    DemoPlan("operator", "消防设施（灭火器、消火栓）年度检查", "021001", 365, 420,
             (("pressure", "灭火器压力表指针在绿区"), ("expiry", "灭火器在有效期内，瓶体无锈蚀"),
              ("access", "消防设施周边无遮挡、无圈占"), ("sign", "标识清晰完整"))),
    DemoPlan("operator", "雨水井盖月度巡检", "031001", 30, 200,
             (("present", "井盖无缺失、无移位"), ("intact", "井盖无破损、无下沉"), ("level", "井盖与路面平齐"))),
    DemoPlan("operator", "污水井盖月度巡检", "031002", 30, 200,
             (("present", "井盖无缺失、无移位"), ("intact", "井盖无破损、无下沉"), ("overflow", "井口无污水冒溢"))),
    DemoPlan("l1head", "路灯季度巡检", "031005", 90, 300,
             (("light", "夜间正常亮灯"), ("pole", "灯杆无倾斜、无锈蚀"), ("door", "检修门完好，无裸露电线")), town=True),
)  # fmt: skip


def _at_work(day: dt.date, rng: random.Random) -> dt.datetime:
    """A moment of a working day (8:30 to 17:30, Asia/Shanghai) on `day`."""
    minutes = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=TZ)


def _key(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _inspections(config: DemoConfig, plan: CountyPlan, report: RegistryReport, now: dt.datetime) -> None:
    """The demo plans, made in the past: each component's inspections since, period after period, a few
    skipped (their task overdue now), a few never made; then the day's generation of the open tasks."""
    from gridgov.catalog.selectors import invalidate_cache

    invalidate_cache()  # the catalogue was written in this transaction: no item read before it may linger
    users = {u.username: u for u in User.objects.filter(username__in={p.maker for p in PLANS})}
    root = plan.level(0)[0].code
    town_of = {
        a.user.username: a.grid.code if a.grid else ""
        for a in RoleAssignment.objects.filter(
            user__in=users.values(), role=Role.GRID_HEAD_L1
        ).select_related("user", "grid")
    }
    r = random.Random(config.seed + 28)
    today = timezone.localdate(now)
    made: list[tuple[InspectionPlan, DemoPlan]] = []
    for p in PLANS:
        maker = users.get(p.maker)
        where = town_of.get(p.maker) if p.town else root
        if maker is None or where is None:
            continue
        if not Component.objects.filter(item__code=p.item).exists():
            continue
        created = now - dt.timedelta(days=p.age_days)
        made.append(
            (
                do_create_plan(
                    actor=maker,
                    name=p.name,
                    item=p.item,
                    grid=where,
                    every_days=p.every_days,
                    checklist=[{"code": c, "text": text} for c, text in p.checklist],
                    now=created,
                ),
                p,
            )
        )
    report.plans = len(made)
    if not made:
        return
    history: list[tuple] = []
    first_updates: list[tuple] = []
    completions: list[tuple[uuid.UUID, User, dt.datetime, dict[str, Any]]] = []
    columns = (
        "plan", "component", "grid", "grid_l1_id", "grid_l2_id", "due_on", "worker", "state", "done_at", "done_by",
        "result", "lon", "lat", "key", "created_at", "received_at",
    )  # fmt: skip
    firsts = {
        made_plan.pk: list(
            InspectionTask.objects.filter(plan=made_plan, state=TaskState.OPEN)
            .select_related("component")
            .order_by("id")
        )
        for made_plan, _demo in made
    }
    worker_ids = {t.worker_id for tasks in firsts.values() for t in tasks if t.worker_id}
    workers = {u.pk: u for u in User.objects.filter(pk__in=worker_ids)}
    for made_plan, _demo in made:
        period = dt.timedelta(days=made_plan.every_days)
        lead = dt.timedelta(days=lead_days(made_plan.every_days))
        created_day = timezone.localdate(made_plan.created_at)
        ok = {c["code"]: {"answer": Answer.OK, "note": "", "text": c["text"]} for c in made_plan.checklist}
        for task in firsts[made_plan.pk]:
            component = task.component
            worker = workers.get(task.worker_id) if task.worker_id else None
            # The first round was spread over the first period: not every component on one day.
            due = created_day + dt.timedelta(
                days=r.randint(max(1, made_plan.every_days // 10), made_plan.every_days)
            )
            roll = r.random()
            if worker is None or roll > 0.98:
                # Never inspected since the plan was made: the first task still waits, long overdue.
                first_updates.append((due, made_plan.created_at, None, task.pk))
                continue
            dones: list[tuple[dt.date, dt.datetime]] = []
            while True:
                # Most are inspected in the week before the day; some a few days late (and those whose late
                # day has not come yet are overdue now).
                offset = -r.randint(0, lead.days or 1) if r.random() < 0.85 else r.randint(1, 9)
                done_at = _at_work(due + dt.timedelta(days=offset), r)
                if done_at > now - dt.timedelta(hours=2):
                    break
                dones.append((due, done_at))
                due = timezone.localdate(done_at) + period
            if roll < 0.05 and len(dones) > 1:
                dones.pop()  # the last period's inspection was not made: its task is overdue now
            if not dones:
                first_updates.append((due, made_plan.created_at, None, task.pk))
                continue
            for n, (due_on, done_at) in enumerate(dones):
                key = _key(r)
                lon = component.lon + r.uniform(-0.00008, 0.00008) if component.lon is not None else None
                lat = component.lat + r.uniform(-0.00006, 0.00006) if component.lat is not None else None
                appeared = dt.datetime.combine(due_on - lead, dt.time(1, 0), tzinfo=TZ)
                received = done_at + dt.timedelta(minutes=r.randint(0, 90))
                values = (
                    made_plan.pk, component.pk, task.grid_id, task.grid_l1_id, task.grid_l2_id, due_on, worker.pk,
                    TaskState.DONE, done_at, worker.pk, ok, lon, lat, key, min(appeared, done_at), received,
                )  # fmt: skip
                if n == 0:
                    first_updates.append((due_on, made_plan.created_at, values, task.pk))
                else:
                    history.append(values)
                data = {
                    "key": str(key), "plan": made_plan.pk, "component": component.object_id,
                    "state": TaskState.DONE, "at": done_at.isoformat(), "case": "", "photos": 0,
                }  # fmt: skip
                completions.append((key, worker, received, data))
    _rewrite_first_tasks(first_updates, columns)
    _insert(InspectionTask, columns, history)
    # One audit record per inspection, as `do_complete_task` writes it, in the order they were received.
    ids: dict[str, int] = {}
    keys = [str(k) for k, _w, _r, _d in completions]
    for start in range(0, len(keys), 5000):
        found = InspectionTask.objects.filter(key__in=keys[start : start + 5000]).values_list("key", "id")
        ids.update((str(k), pk) for k, pk in found)
    audit.record_many(
        [
            audit.Entry(
                "inspection_task.complete", target=InspectionTask(pk=ids[str(k)]), actor=w, at=at, data=data
            )
            for k, w, at, data in sorted(completions, key=lambda c: c[2])
        ]
    )
    # Today's generation, as the sweep makes it every morning: the next tasks, some of them overdue.
    do_generate_tasks(today)
    tasks = InspectionTask.objects.filter(plan__in=[p for p, _d in made])
    report.tasks = tasks.count()
    report.tasks_done = tasks.exclude(state=TaskState.OPEN).count()
    report.tasks_open = tasks.filter(state=TaskState.OPEN).count()
    report.tasks_overdue = tasks.filter(state=TaskState.OPEN, due_on__lt=today).count()


def _rewrite_first_tasks(updates: list[tuple], columns: Sequence[str]) -> None:
    """The tasks the plans made at once, put back where their plan's history has them: still open since the
    plan was made, or done as its first inspection."""
    table = connection.ops.quote_name(InspectionTask._meta.db_table)
    open_rows = [(due, created, pk) for due, created, values, pk in updates if values is None]
    done_rows = [(values, pk) for _due, _created, values, pk in updates if values is not None]
    field_of: dict[str, Any] = {n: InspectionTask._meta.get_field(n) for n in columns}
    with connection.cursor() as cursor:
        due_f, created_f = field_of["due_on"], field_of["created_at"]
        cursor.executemany(
            f"UPDATE {table} SET due_on = %s, created_at = %s WHERE id = %s",  # noqa: S608 - fixed names
            [
                (due_f.get_db_prep_save(d, connection), created_f.get_db_prep_save(c, connection), pk)
                for d, c, pk in open_rows
            ],
        )
        names = ["due_on", "worker", "state", "done_at", "done_by", "result", "lon", "lat", "key", "created_at",
                 "received_at"]  # fmt: skip
        sets = ", ".join(f"{connection.ops.quote_name(field_of[n].column)} = %s" for n in names)
        at = {n: columns.index(n) for n in names}
        cursor.executemany(
            f"UPDATE {table} SET {sets} WHERE id = %s",  # noqa: S608 - fixed names
            [
                [*(field_of[n].get_db_prep_save(values[at[n]], connection) for n in names), pk]
                for values, pk in done_rows
            ],
        )


# -- visits -------------------------------------------------------------------------------------------------------
VISIT_NOTES = {
    VisitPurpose.ROUTINE: (
        "入户走访，核实家庭人员信息，无变化", "了解家庭基本情况，住户反映生活正常", "入户核对人口信息，更新联系电话",
        "走访住户，登记新迁入人员", "住户外出务工，与其家属沟通了解近况",
    ),
    VisitPurpose.CARE: (
        "看望独居老人，身体状况良好，生活物资充足", "探望残疾人家庭，了解康复需求，已反映至社区",
        "走访低保户，核实家庭收入变化情况", "关爱留守儿童，与监护人沟通学习生活情况", "冬季取暖情况良好，提醒注意用火安全",
    ),
    VisitPurpose.CHECK: (
        "检查燃气使用安全，软管无老化", "检查店内消防器材，灭火器在有效期内", "排查电动车楼道充电，已劝离",
        "检查经营场所安全出口，通道畅通", "提醒商户规范用电，不得私拉乱接",
    ),
    VisitPurpose.DISPUTE: (
        "排查矛盾纠纷，邻里关系和睦", "了解宅基地边界争议，已约双方到村委会调解", "化解楼上漏水引发的邻里纠纷，双方已协商",
        "劳务费纠纷，已引导当事人申请人民调解",
    ),
    VisitPurpose.POLICY: (
        "宣传防范电信网络诈骗知识，发放宣传单", "宣传城乡居民医保缴费政策", "宣传秸秆禁烧和森林草原防火",
        "讲解惠农补贴申领办法", "宣传垃圾分类知识",
    ),
    VisitPurpose.OTHER: ("协助住户办理居住证材料收集", "配合开展人口普查入户登记"),
}  # fmt: skip
VISIT_MIX = (
    (VisitPurpose.ROUTINE, 0.42),
    (VisitPurpose.CARE, 0.20),
    (VisitPurpose.CHECK, 0.15),
    (VisitPurpose.DISPUTE, 0.08),
    (VisitPurpose.POLICY, 0.12),
    (VisitPurpose.OTHER, 0.03),
)


def _visits(config: DemoConfig, now: dt.datetime) -> int:
    """Visits of the last months by the grid workers, each through `do_record_visit` at its own time: to
    households, to the cared-for key groups, and safety checks of shops and enterprises."""
    r = random.Random(config.seed + 29)
    workers: dict[int, list[int]] = defaultdict(list)  # grid id → worker ids
    for user_id, grid_id in (
        RoleAssignment.objects.filter(
            role__in=(Role.GRID_SPECIALIST, Role.INFO_OFFICER), grid__level=3, user__is_active=True
        )
        .order_by("id")
        .values_list("user_id", "grid_id")
    ):
        workers[grid_id].append(user_id)
    households: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for pk, grid_id, lon, lat in Household.objects.order_by("id").values_list("id", "grid_id", "lon", "lat"):
        households[grid_id].append((pk, lon, lat))
    cared: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    care_indexes = [key_group_index(g) for g in sorted(CARE_GROUPS)]
    for labelled, grid_id, home in (
        KeyGroupLabel.objects.filter(group_index__in=care_indexes)
        .order_by("person_id")
        .values_list("person_id", "person__grid_id", "person__household_id")
        .distinct()
    ):
        cared[grid_id].append((labelled, home))
    places: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for pk, grid_id, lon, lat in (
        Organisation.objects.filter(state=OrganisationState.OPEN)
        .order_by("id")
        .values_list("id", "grid_id", "lon", "lat")
    ):
        places[grid_id].append((pk, lon, lat))
    point_of = {pk: (lon, lat) for rows in households.values() for pk, lon, lat in rows}
    grid_ids = sorted(g for g in workers if households.get(g) or places.get(g))
    if not grid_ids:
        return 0
    demo = {u.username: u for u in User.objects.filter(username__in=("specialist", "officer"))}
    demo_grids = {
        a.user_id: a.grid_id
        for a in RoleAssignment.objects.filter(user__in=demo.values(), grid__level=3).order_by("id")
    }
    users = {u.pk: u for u in User.objects.filter(pk__in={w for g in grid_ids for w in workers[g]})}
    weights = [len(households.get(g, ())) + 3 * len(places.get(g, ())) + 1 for g in grid_ids]
    purposes, shares = zip(*VISIT_MIX, strict=True)
    count = 0
    plans: list[tuple[dt.datetime, Any, int, VisitPurpose]] = []
    for _n in range(config.visits):
        demo_user = None
        if demo and r.random() < DEMO_WORKER_VISITS:
            demo_user = demo[r.choice(sorted(demo))]
        if demo_user is not None and demo_grids.get(demo_user.pk):
            grid_id, user = demo_grids[demo_user.pk] or 0, demo_user
        else:
            grid_id = r.choices(grid_ids, weights)[0]
            user = users[r.choice(workers[grid_id])]
        day = timezone.localdate(now) - dt.timedelta(days=r.randint(0, VISIT_DAYS))
        while day.weekday() >= 5 and r.random() < 0.8:
            day -= dt.timedelta(days=1)
        at = _at_work(day, r)
        if at > now - dt.timedelta(minutes=10):
            at = now - dt.timedelta(minutes=r.randint(10, 600))
        plans.append((at, user, grid_id, r.choices(purposes, shares)[0]))
    for at, user, grid_id, purpose in sorted(plans, key=lambda p: p[0]):
        fields: dict[str, Any] = {}
        target: tuple[float | None, float | None] = (None, None)
        if purpose == VisitPurpose.CARE and cared.get(grid_id):
            person_id, household_id = r.choice(cared[grid_id])
            fields = {"person": person_id, "household": household_id}
            target = point_of.get(household_id or 0, (None, None))
        elif purpose == VisitPurpose.CHECK and places.get(grid_id):
            pk, lon, lat = r.choice(places[grid_id])
            fields, target = {"organisation": pk}, (lon, lat)
        elif households.get(grid_id):
            if purpose == VisitPurpose.CARE:
                purpose = VisitPurpose.ROUTINE
            pk, lon, lat = r.choice(households[grid_id])
            fields, target = {"household": pk}, (lon, lat)
        elif places.get(grid_id):
            pk, lon, lat = r.choice(places[grid_id])
            purpose = VisitPurpose.CHECK
            fields, target = {"organisation": pk}, (lon, lat)
        else:
            continue
        lon, lat = target
        gps = lon is not None and lat is not None and r.random() < 0.95
        do_record_visit(
            actor=user,
            key=_key(r),
            at=at,
            purpose=purpose,
            lon=lon + r.uniform(-0.0001, 0.0001) if gps and lon is not None else None,
            lat=lat + r.uniform(-0.00008, 0.00008) if gps and lat is not None else None,
            accuracy_m=round(r.uniform(4, 35), 1) if gps else None,
            note=r.choice(VISIT_NOTES[purpose]),
            # The phone sent it when it next had signal: minutes to hours later.
            now=min(now, at + dt.timedelta(minutes=r.randint(1, 240))),
            **fields,
        )
        count += 1
    return count
