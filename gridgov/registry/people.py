"""A synthetic but realistic population register for a county: the rows of the "persons" import template.

`generate_people(grids, n_people, seed)` makes households over the given level-3 grids and yields one row per
person, keyed by `HEADERS` (the template's Chinese column headers, in order). The same grids, count, seed and
reference date give the same rows. `generate_columns` gives the same data column by column, which is what the
writers and the benchmarks want; `write_csv` / `write_xlsx` write the import file; `with_bad_rows` plants a
few known defects so that an importer's error report can be checked cell by cell.

What makes the rows look real (and what an importer must therefore accept):
- Households of 1–6 people (mean ≈ 3.0) with one 户主 each; spouses, children, parents, grandchildren and
  in-laws (其他) whose ages fit the relation (a child is 20–43 years younger than each parent).
- ID numbers valid by GB 11643-1999, unique, matching the birth date and the sex. People born before 2001 may
  carry 152722: Dalad was "伊克昭盟达拉特旗" until 2001 and an ID number never changes with the region code.
  Floating people carry codes of their home counties (Shanxi, Shaanxi, Gansu, other Inner Mongolia).
- People from outside the mainland (境外人员) carry a passport, a Hong Kong/Macao or Taiwan permit, or a
  foreigner's permanent residence card (2023 form: 18 digits starting with 9, the same check as an ID
  number). Foreign nationals have no 民族: the column is empty for them (GB/T 3304 codes Chinese citizens).
- Family names follow the father's line; Mongol people mostly have Mongolian names, often without a surname,
  and some of them also a name in traditional Mongolian script.
"""

from __future__ import annotations

import csv
import math
import operator
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

import numpy as np

from .validators import ID_CHECK_CHARS, ID_WEIGHTS

# -- the template --------------------------------------------------------------------------------------------
HOUSEHOLD_NUMBER = "户号"
RELATION = "与户主关系"
NAME = "姓名"
MONGOLIAN_NAME = "蒙古文姓名"
DOCUMENT_TYPE = "证件类型"
DOCUMENT_NUMBER = "证件号码"
SEX = "性别"
ETHNICITY = "民族"
BIRTH_DATE = "出生日期"
MOBILE = "手机号"
POPULATION_TYPE = "人口类型"
GRID_CODE = "网格编码"
ADDRESS = "地址"
KEY_GROUPS = "重点人群"
NOTE = "备注"

HEADERS: list[str] = [
    HOUSEHOLD_NUMBER,
    RELATION,
    NAME,
    MONGOLIAN_NAME,
    DOCUMENT_TYPE,
    DOCUMENT_NUMBER,
    SEX,
    ETHNICITY,
    BIRTH_DATE,
    MOBILE,
    POPULATION_TYPE,
    GRID_CODE,
    ADDRESS,
    KEY_GROUPS,
    NOTE,
]
SHEET_NAME = "人员"

HEAD, SPOUSE, SON, DAUGHTER, PARENT, GRANDCHILD, SIBLING, OTHER = (
    "户主", "配偶", "子", "女", "父母", "孙子女", "兄弟姐妹", "其他",
)  # fmt: skip
RELATIONS = (HEAD, SPOUSE, SON, DAUGHTER, PARENT, GRANDCHILD, SIBLING, OTHER)

ID_CARD = "身份证"
PASSPORT = "护照"
HK_MACAO_PERMIT = "港澳居民来往内地通行证"
TAIWAN_PERMIT = "台湾居民来往大陆通行证"
FOREIGNER_RESIDENCE_CARD = "外国人永久居留身份证"
DOCUMENT_TYPES = (ID_CARD, PASSPORT, HK_MACAO_PERMIT, TAIWAN_PERMIT, FOREIGNER_RESIDENCE_CARD)

MALE, FEMALE = "1", "2"  # GB/T 2261.1

REGISTERED, FLOATING, OVERSEAS, LEFT_BEHIND = "户籍人口", "流动人口", "境外人员", "留守人员"
POPULATION_TYPES = (REGISTERED, FLOATING, OVERSEAS, LEFT_BEHIND)

ELDERLY_ALONE = "独居老人"
DISABLED = "残疾人"
LEFT_BEHIND_CHILD = "留守儿童"
COMMUNITY_CORRECTION = "社区矫正人员"
RELEASED_PRISONER = "刑满释放人员"
SEVERE_MENTAL = "严重精神障碍患者"
DRUG_USER = "吸毒人员"
KEY_YOUTH = "重点青少年"
LOW_INCOME = "低保对象"
KEY_GROUP_LABELS = (
    ELDERLY_ALONE,
    DISABLED,
    LEFT_BEHIND_CHILD,
    COMMUNITY_CORRECTION,
    RELEASED_PRISONER,
    SEVERE_MENTAL,
    DRUG_USER,
    KEY_YOUTH,
    LOW_INCOME,
)

# GB/T 3304 codes that occur here. Shares of people, summing to 1; the county is ~80 % Han and ~17 % Mongol.
HAN, MONGOL, HUI, MANCHU = "01", "02", "03", "11"
ETHNIC_SHARES: dict[str, float] = {
    HAN: 0.800,
    MONGOL: 0.170,
    HUI: 0.015,
    MANCHU: 0.010,
    "31": 0.0015,  # 达斡尔族
    "10": 0.0010,  # 朝鲜族
    "45": 0.0008,  # 鄂温克族
    "04": 0.0006,  # 藏族
    "08": 0.0005,  # 壮族
    "15": 0.0006,  # 土家族
}

# Birth dates and ages are counted back from this day, not from today, so that a seed always gives the same file.
REFERENCE_DATE = date(2026, 1, 1)


class Problem(StrEnum):
    """What `with_bad_rows` plants; each kind spoils exactly one cell."""

    CHECK_CHAR = "check_char"  # 证件号码: the last character is not the check character
    IMPOSSIBLE_DATE = "impossible_date"  # 出生日期: YYYY-MM-DD shaped, but no such day
    UNKNOWN_ETHNICITY = "unknown_ethnicity"  # 民族: a two-digit code GB/T 3304 does not define
    MISSING_NAME = "missing_name"  # 姓名: empty
    DUPLICATE_ID = "duplicate_id"  # 证件号码: the same person's number as an earlier row


PROBLEM_COLUMNS: dict[Problem, str] = {
    Problem.CHECK_CHAR: DOCUMENT_NUMBER,
    Problem.IMPOSSIBLE_DATE: BIRTH_DATE,
    Problem.UNKNOWN_ETHNICITY: ETHNICITY,
    Problem.MISSING_NAME: NAME,
    Problem.DUPLICATE_ID: DOCUMENT_NUMBER,
}


# -- grids ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    code: str
    name: str
    town: str
    village: str
    weight: float
    urban: bool
    pastoral: bool

    @property
    def bungalows(self) -> bool:
        """An urban grid of single-storey houses: its addresses are numbers, not flats."""
        return self.name.endswith(("平房区", "巷", "街", "路"))


GridInput = tuple[str, str, str, str, float] | tuple[str, str, str, str, float, bool]


def _grids(grids: Iterable[Sequence]) -> list[Grid]:
    """Accepts (code, name, town, village, households_weight[, urban]). Without the flag a grid is urban when
    its village is a 社区 or its town a 街道; pastoral when its village is a 嘎查 or its town a 苏木."""
    result = []
    for item in grids:
        code, name, town, village, weight = (str(item[0]), str(item[1]), str(item[2]), str(item[3]), item[4])
        if len(code) < 9 or not code[:9].isdigit():
            raise ValueError(f"grid code {code!r} must start with the 6-digit county and 3-digit town codes")
        if not weight >= 0:
            raise ValueError(f"grid {code}: households_weight must be a number ≥ 0, not {weight!r}")
        urban = bool(item[5]) if len(item) > 5 else ("社区" in village or town.endswith("街道"))
        pastoral = not urban and (village.endswith("嘎查") or town.endswith("苏木"))
        result.append(Grid(code, name, town, village, float(weight), urban, pastoral))
    if not result or sum(g.weight for g in result) <= 0:
        raise ValueError("at least one grid needs a households_weight above 0")
    return result


# -- names ---------------------------------------------------------------------------------------------------
def _weighted(pairs: str) -> str:
    """`"王8李7"` → `"王王王王王王王王李李李李李李李"`: a pool to draw from with `random.choice`."""
    pool, i = [], 0
    while i < len(pairs):
        char, i = pairs[i], i + 1
        j = i
        while j < len(pairs) and pairs[j].isdigit():
            j += 1
        pool.append(char * int(pairs[i:j] or 1))
        i = j
    return "".join(pool)


# Han surnames by frequency, the national top list bent towards Ordos (郝 贺 白 高 乔 邬 come with the
# settlers from northern Shaanxi and Shanxi).
HAN_SURNAMES = _weighted(
    "王16李15张14刘13杨9赵7高7郝5贺5郭5白5马5陈5吴3周3黄2徐3孙3胡3苏3乔3田3武3杜3韩3冯3邬2朱2林1何2罗1梁2宋2"
    "温2侯2贾2秦2牛2崔2姚2雷2曹2袁2樊2尚1康2霍2任2石2薛2闫2云1奇1訾1边1呼1折1兰1路1申1范1谢1董2吕2程1许1"
    "邓1于2孟2魏2郑1常2丁1卢1岳1段2"
)
MONGOL_SURNAMES = _weighted("包6白4奇4韩2云2鲍2吴1宝2那1金1乌1敖1")
HUI_SURNAMES = _weighted("马9杨2白2丁2李1张1海1金1")
MANCHU_SURNAMES = _weighted("关3赵2佟2那1富1金1王1李1")
HK_TW_SURNAMES = _weighted("陈6林5黄4李4张4王3吴3刘3蔡2杨2郑2许2何2梁2谢2")

# Han given names by generation: (first characters, second characters, share of one-character names).
_GIVEN = {
    ("old", MALE): (
        "建国志德福文明保振永玉金长贵俊满树万有宝",
        "国华军民强林山生平才忠祥成贵明荣海福全喜",
        0.12,
    ),
    ("mid", MALE): ("志建海晓伟俊永小立春军利东红宏鹏", "伟强军平勇峰涛磊斌刚飞杰鹏亮辉东明波龙", 0.35),
    ("new", MALE): ("子浩宇梓俊一博思皓天嘉睿奕泽铭", "轩然豪宇杰辰涵睿泽航阳文博铭晨凯旭瑞霖皓", 0.08),
    ("old", FEMALE): ("秀桂玉淑凤翠春美兰金素月", "英兰珍芳梅花荣琴莲芝娥霞云香", 0.10),
    ("mid", FEMALE): ("丽晓红海艳春小雪美静", "丽娟霞燕芳敏静红梅玲娜艳丹莉萍华", 0.35),
    ("new", FEMALE): ("子欣梓雨思佳诗可语一紫嘉梦若", "涵怡萱琪妍彤琳雪瑶悦然馨婷菲茜宁月", 0.08),
}

# Common Mongolian names: the Chinese spelling and, where we are sure of it, the classical (Uyghur-script)
# transliteration from which the Mongolian script is written letter by letter (`mongolian_script`).
MONGOL_MALE_NAMES: dict[str, str] = {
    "巴图": "batu",
    "巴特尔": "baγatur",
    "苏和": "süke",
    "阿拉坦": "altan",
    "宝音": "buyan",
    "朝鲁": "čilaγu",
    "孟和": "möngke",
    "特木尔": "temür",
    "布和": "böke",
    "乌力吉": "ölǰei",
    "达来": "dalai",
    "毕力格": "bilig",
    "胡日查": "qurča",
    "阿古拉": "aγula",
    "道尔吉": "dorǰi",
    "那顺": "nasun",
    "图门": "tümen",
    "巴雅尔": "bayar",
    "那日苏": "narasu",
    "额尔德尼": "erdeni",
    "吉日嘎拉": "ǰirγal",
    "额尔敦": "",
    "宝力道": "",
    "巴音孟和": "",
    "哈斯巴根": "",
    "斯琴巴图": "",
    "格日勒图": "",
    "满都拉": "",
    "呼和巴特尔": "",
    "朝克图": "",
}
MONGOL_FEMALE_NAMES: dict[str, str] = {
    "萨仁": "saran",
    "乌云": "oyun",
    "其其格": "čečeg",
    "斯琴": "sečen",
    "格日勒": "gerel",
    "乌兰": "ulaγan",
    "那仁": "naran",
    "塔娜": "tana",
    "哈斯": "qas",
    "格根": "gegen",
    "苏布达": "subud",
    "敖登": "odun",
    "图雅": "",
    "吉雅": "",
    "高娃": "",
    "斯琴高娃": "",
    "娜仁花": "",
    "乌日娜": "",
    "萨日娜": "",
    "阿茹娜": "",
    "苏日娜": "",
    "其木格": "",
}
# One code point per letter of the transliteration (Unicode block Mongolian, U+1800–U+18AF). Front-vowel k and
# g share the letters of back-vowel q and γ; the font shapes them.
_MONGOLIAN_LETTERS = {
    "a": "\u1820",
    "e": "\u1821",
    "i": "\u1822",
    "o": "\u1823",
    "u": "\u1824",
    "ö": "\u1825",
    "ü": "\u1826",
    "n": "\u1828",
    "b": "\u182a",
    "p": "\u182b",
    "q": "\u182c",
    "k": "\u182c",
    "γ": "\u182d",
    "g": "\u182d",
    "m": "\u182e",
    "l": "\u182f",
    "s": "\u1830",
    "š": "\u1831",
    "t": "\u1832",
    "d": "\u1833",
    "č": "\u1834",
    "ǰ": "\u1835",
    "y": "\u1836",
    "r": "\u1837",
    "w": "\u1838",
}


def mongolian_script(transliteration: str) -> str:
    """`batu` → `ᠪᠠᠲᠤ`; `ng` is the single letter NGA (U+1829)."""
    text = transliteration.replace("ng", "\u1829")
    return "".join(_MONGOLIAN_LETTERS.get(c, c) for c in text)


_MONGOL_MALE = tuple(MONGOL_MALE_NAMES)
_MONGOL_FEMALE = tuple(MONGOL_FEMALE_NAMES)
_SCRIPT = {name: mongolian_script(t) for name, t in (MONGOL_MALE_NAMES | MONGOL_FEMALE_NAMES).items() if t}

KOREAN_GIVEN = {
    MALE: ("敏俊", "贤宇", "东勋", "俊浩", "成民", "在元"),
    FEMALE: ("智贤", "秀珍", "英姬", "惠英", "敏智", "恩静"),
}
RUSSIAN_NAMES = {
    MALE: (
        ("安德烈", "谢尔盖", "亚历山大", "伊万", "德米特里"),
        ("伊万诺夫", "彼得罗夫", "斯米尔诺夫", "波波夫"),
    ),
    FEMALE: (
        ("娜塔莉娅", "安娜", "奥尔加", "叶莲娜", "玛丽亚"),
        ("伊万诺娃", "彼得罗娃", "斯米尔诺娃", "波波娃"),
    ),
}


def _era(birth_year: int) -> str:
    return "old" if birth_year < 1970 else "mid" if birth_year < 1995 else "new"


def _han_given(r: random.Random, sex: str, birth_year: int) -> str:
    first, second, single = _GIVEN[(_era(birth_year), sex)]
    if r.random() < single:
        return r.choice(second)
    return r.choice(first) + r.choice(second)


def _han_name(r: random.Random, surname: str, sex: str, birth_year: int) -> str:
    """Surname and given name; a given name never starts with the surname (王王华)."""
    while True:
        given = _han_given(r, sex, birth_year)
        if given[0] != surname[-1:]:
            return surname + given


def _surname(r: random.Random, ethnicity: str) -> str:
    pool = {MONGOL: MONGOL_SURNAMES, HUI: HUI_SURNAMES, MANCHU: MANCHU_SURNAMES}.get(ethnicity, HAN_SURNAMES)
    return r.choice(pool)


def _name(r: random.Random, surname: str, ethnicity: str, sex: str, birth_year: int) -> tuple[str, str]:
    """(name in Chinese characters, name in Mongolian script or "")."""
    if ethnicity == MONGOL:
        # Younger Mongols more often get Chinese-style names; the share is still above half.
        mongolian_style = {"old": 0.72, "mid": 0.66, "new": 0.58}[_era(birth_year)]
        if r.random() < mongolian_style:
            given = r.choice(_MONGOL_MALE if sex == MALE else _MONGOL_FEMALE)
            prefix = surname if surname in MONGOL_SURNAMES and r.random() < 0.3 else ""
            script = _SCRIPT.get(given, "") if r.random() < 0.6 else ""
            return prefix + given, script
    return _han_name(r, surname, sex, birth_year), ""


# -- households ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Kind:
    """Who lives together: the head, and how many of each other relation."""

    name: str
    spouse: bool = False
    children: int = 0
    parents: int = 0
    child_spouse: bool = False  # the married child's spouse (儿媳/女婿, written 其他)
    grandchildren: int = 0
    sibling: bool = False
    other: bool = False

    @property
    def size(self) -> int:
        return (
            1
            + self.spouse
            + self.children
            + self.parents
            + self.child_spouse
            + self.grandchildren
            + self.sibling
            + self.other
        )

    @property
    def elderly_only(self) -> bool:
        """Grandparents alone or with grandchildren: the middle generation works elsewhere (留守)."""
        return self.name == "alone_old" or (self.grandchildren > 0 and self.children == 0)


# Mean household size ≈ 3.0 (Inner Mongolia's 2020 census: 2.4 in towns, more in villages; a register counts
# registered households, which are larger than the ones people actually live in).
SIZE_SHARES = (0.15, 0.26, 0.26, 0.17, 0.10, 0.06)
KINDS: dict[int, tuple[tuple[_Kind, float], ...]] = {
    1: ((_Kind("alone_young"), 0.30), (_Kind("alone_middle"), 0.32), (_Kind("alone_old"), 0.38)),
    2: (
        (_Kind("couple", spouse=True), 0.66),
        (_Kind("parent_child", children=1), 0.15),
        (_Kind("with_parent", parents=1), 0.10),
        (_Kind("grandparent_grandchild", grandchildren=1), 0.04),
        (_Kind("siblings", sibling=True), 0.03),
        (_Kind("with_other", other=True), 0.02),
    ),
    3: (
        (_Kind("couple_child", spouse=True, children=1), 0.75),
        (_Kind("couple_parent", spouse=True, parents=1), 0.08),
        (_Kind("parent_children", children=2), 0.06),
        (_Kind("grandparents_grandchild", spouse=True, grandchildren=1), 0.05),
        (_Kind("parent_child_grandchild", children=1, grandchildren=1), 0.06),
    ),
    4: (
        (_Kind("couple_2children", spouse=True, children=2), 0.58),
        (_Kind("couple_child_parent", spouse=True, children=1, parents=1), 0.25),
        (_Kind("grandparents_2grandchildren", spouse=True, grandchildren=2), 0.04),
        (_Kind("couple_married_child", spouse=True, children=1, child_spouse=True), 0.08),
        (_Kind("parent_married_child_grandchild", children=1, child_spouse=True, grandchildren=1), 0.05),
    ),
    5: (
        (_Kind("couple_3children", spouse=True, children=3), 0.18),
        (_Kind("couple_2children_parent", spouse=True, children=2, parents=1), 0.34),
        (_Kind("couple_child_2parents", spouse=True, children=1, parents=2), 0.20),
        (
            _Kind("three_generations", spouse=True, children=1, child_spouse=True, grandchildren=1),
            0.28,
        ),
    ),
    6: (
        (_Kind("couple_2children_2parents", spouse=True, children=2, parents=2), 0.40),
        (
            _Kind("three_generations_2", spouse=True, children=1, child_spouse=True, grandchildren=2),
            0.45,
        ),
        (_Kind("couple_3children_parent", spouse=True, children=3, parents=1), 0.15),
    ),
}
for _size, _kinds in KINDS.items():
    assert all(k.size == _size for k, _ in _kinds), _size
ALL_KINDS: list[_Kind] = [k for size in sorted(KINDS) for k, _ in KINDS[size]]


@dataclass
class _Member:
    relation: str
    sex: str
    age: int
    ethnicity: str = HAN
    surname: str = ""


def _other_sex(sex: str) -> str:
    return FEMALE if sex == MALE else MALE


def _spouse_age(r: random.Random, age: int, sex: str) -> int:
    """Husbands are a little older than wives, rarely by more than six years; nobody marries before 20."""
    gap = r.choice((-2, -1, 0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6))
    spouse = age - gap if sex == MALE else age + gap
    return max(20, min(99, spouse))


def _children_ages(r: random.Random, count: int, youngest: int) -> list[int]:
    ages = [youngest]
    for _ in range(count - 1):
        ages.append(ages[-1] + r.randint(1, 5))
    return ages[::-1]


def _parent_ages(r: random.Random, eldest: int, youngest: int) -> tuple[int, int]:
    """(mother, father) for children of these ages: each parent 20–43 years older than each child."""
    spread = eldest - youngest
    mother = eldest + r.randint(20, max(20, 38 - spread))
    father = mother + r.choice((-2, -1, 0, 1, 1, 2, 2, 3, 3, 4, 5))
    father = max(eldest + 20, min(youngest + 43, father))
    return mother, father


def _household(r: random.Random, kind: _Kind, rural: bool) -> list[_Member]:
    """The members of one household, head first, with relations, sexes and ages that fit together."""
    members: list[_Member] = []
    name = kind.name
    couple_head_male = r.random() < 0.82

    if kind.grandchildren:
        # Three generations: the grandchildren fix the middle generation, which fixes the head's.
        eldest_gc = r.randint(0, 15 if kind.elderly_only else 18)
        gc_ages = [eldest_gc]
        if kind.grandchildren == 2:
            gc_ages.append(max(0, eldest_gc - r.randint(1, 4)))
        gc_mother, gc_father = _parent_ages(r, max(gc_ages), min(gc_ages))
        middle_sex = MALE if (not kind.children or r.random() < 0.8) else FEMALE
        middle = gc_father if middle_sex == MALE else gc_mother
        middle_spouse = gc_mother if middle_sex == MALE else gc_father
        mother, father = _parent_ages(r, middle, middle)
        head_sex = (
            (MALE if couple_head_male else FEMALE) if kind.spouse else (FEMALE if r.random() < 0.6 else MALE)
        )
        mother, father = min(mother, 99), min(father, 99)
        members.append(_Member(HEAD, head_sex, father if head_sex == MALE else mother))
        if kind.spouse:
            members.append(_Member(SPOUSE, _other_sex(head_sex), mother if head_sex == MALE else father))
        if kind.children:
            members.append(_Member(SON if middle_sex == MALE else DAUGHTER, middle_sex, middle))
        if kind.child_spouse:
            members.append(_Member(OTHER, _other_sex(middle_sex), middle_spouse))
        for age in gc_ages:
            sex = MALE if r.random() < 0.515 else FEMALE
            members.append(_Member(GRANDCHILD, sex, age))
        return members

    if kind.children:
        if kind.child_spouse:
            youngest = r.randint(23, 36)
        elif kind.parents:
            youngest = r.randint(0, 14)
        else:
            # Most children at home are minors; some grown-up children still live with their parents.
            youngest = r.randint(0, 17) if r.random() < 0.62 else r.randint(18, 32)
        ages = _children_ages(r, kind.children, youngest)
        mother, father = _parent_ages(r, ages[0], ages[-1])
        if kind.spouse:
            head_sex = MALE if couple_head_male else FEMALE
        else:
            head_sex = FEMALE if r.random() < 0.7 else MALE
        members.append(_Member(HEAD, head_sex, father if head_sex == MALE else mother))
        if kind.spouse:
            members.append(_Member(SPOUSE, _other_sex(head_sex), mother if head_sex == MALE else father))
        for age in ages:
            sex = MALE if r.random() < 0.515 else FEMALE
            members.append(_Member(SON if sex == MALE else DAUGHTER, sex, age))
        if kind.child_spouse:
            child = members[-1]
            members.append(_Member(OTHER, _other_sex(child.sex), _spouse_age(r, child.age, child.sex)))
    else:
        if name == "alone_young":
            head_age, head_sex = r.randint(18, 39), MALE if r.random() < 0.62 else FEMALE
        elif name == "alone_middle":
            head_age, head_sex = r.randint(40, 64), MALE if r.random() < 0.55 else FEMALE
        elif name == "alone_old":
            head_age = min(99, 65 + int(r.expovariate(1 / (11 if rural else 9))))
            head_sex = FEMALE if r.random() < 0.62 else MALE
        elif name in ("couple", "couple_parent"):
            if kind.parents:
                head_age = r.randint(25, 58)
            elif r.random() < 0.22:
                head_age = r.randint(22, 35)
            else:
                head_age = min(92, 45 + int(r.expovariate(1 / 14)))
            head_sex = MALE if couple_head_male else FEMALE
        elif name == "with_parent":
            head_age, head_sex = r.randint(22, 58), MALE if r.random() < 0.6 else FEMALE
        else:  # siblings, with_other
            head_age, head_sex = r.randint(20, 75), MALE if r.random() < 0.6 else FEMALE
        members.append(_Member(HEAD, head_sex, head_age))
        if kind.spouse:
            members.append(_Member(SPOUSE, _other_sex(head_sex), _spouse_age(r, head_age, head_sex)))

    head = members[0]
    if kind.parents:
        mother, father = _parent_ages(r, head.age, head.age)
        mother, father = min(mother, 99), min(father, 99)
        if kind.parents == 2:
            members.append(_Member(PARENT, MALE, father))
            members.append(_Member(PARENT, FEMALE, mother))
        else:
            # Widows outnumber widowers: women live longer and marry older men.
            alone = FEMALE if r.random() < 0.68 else MALE
            members.append(_Member(PARENT, alone, father if alone == MALE else mother))
    if kind.sibling:
        age = max(16, min(95, head.age + r.choice((-1, 1)) * r.randint(1, 12)))
        members.append(_Member(SIBLING, MALE if r.random() < 0.5 else FEMALE, age))
    if kind.other:
        members.append(_Member(OTHER, MALE if r.random() < 0.5 else FEMALE, r.randint(18, 80)))
    return members


def _ethnicities(r: random.Random, members: list[_Member], ethnicity: str) -> None:
    """The household's ethnicity for its own line; spouses marry across it now and then, and a child of a
    Mongol parent is registered Mongol (the usual choice in Inner Mongolia)."""
    for m in members:
        m.ethnicity = ethnicity
        if m.relation in (SPOUSE, OTHER):
            if ethnicity == HAN and r.random() < 0.04:
                m.ethnicity = MONGOL
            elif ethnicity != HAN and r.random() < 0.3:
                m.ethnicity = HAN
    spouse = next((m for m in members if m.relation == SPOUSE), None)
    child_spouse = next((m for m in members if m.relation == OTHER), None)
    lines = [members[0].ethnicity, spouse.ethnicity if spouse else members[0].ethnicity]
    for m in members:
        if m.relation in (SON, DAUGHTER):
            m.ethnicity = MONGOL if MONGOL in lines else lines[0]
    middle = next((m for m in members if m.relation in (SON, DAUGHTER)), None)
    for m in members:
        if m.relation == GRANDCHILD:
            parents = [p.ethnicity for p in (middle, child_spouse) if p is not None] or lines
            m.ethnicity = MONGOL if MONGOL in parents else parents[0]


def _surnames(r: random.Random, members: list[_Member]) -> None:
    """Children take the father's surname (now and then the mother's); wives keep their own."""
    head = members[0]
    head.surname = _surname(r, head.ethnicity)
    spouse = next((m for m in members if m.relation == SPOUSE), None)
    if spouse:
        spouse.surname = _surname(r, spouse.ethnicity)
    if head.sex == MALE:
        father_line, mother_line = head.surname, spouse.surname if spouse else ""
    else:
        father_line = spouse.surname if spouse else _surname(r, head.ethnicity)
        mother_line = head.surname
    middle: _Member | None = None
    for m in members[1:]:
        if m.relation in (SON, DAUGHTER):
            m.surname = mother_line if (mother_line and r.random() < 0.05) else father_line
            middle = m
        elif m.relation in (PARENT, SIBLING):
            is_father = m.relation == SIBLING or m.sex == MALE
            m.surname = head.surname if is_father else _surname(r, m.ethnicity)
        elif m.relation in (OTHER,):
            m.surname = _surname(r, m.ethnicity)
    other = next((m for m in members if m.relation == OTHER), None)
    for m in members:
        if m.relation == GRANDCHILD:
            if middle is None:
                m.surname = father_line if r.random() < 0.8 else _surname(r, m.ethnicity)
            elif middle.sex == MALE or other is None:
                m.surname = middle.surname
            else:
                m.surname = other.surname


# -- where people come from ----------------------------------------------------------------------------------
# Registered residents: the banner's code; the old 伊克昭盟 code for a share of those born before 2001; a few
# born elsewhere in Ordos (东胜 150602, 康巴什 150603 — only since 2016 —, 准格尔 150622, 杭锦 150625, 伊金霍洛 150627).
HISTORICAL_DALAD = "152722"
HISTORICAL_SHARE = 0.35
LOCAL_CODES = (("150621", 0.92), ("150602", 0.035), ("150622", 0.015), ("150625", 0.01), ("150627", 0.02))
KANGBASHI, KANGBASHI_SINCE = "150603", 2016
# Floating population: other Inner Mongolia counties, and the provinces that send most workers to Ordos.
FLOATING_CODES = (
    ("150602", 0.10), ("150622", 0.05), ("150627", 0.05), ("150625", 0.04), ("150626", 0.02),  # Ordos
    ("150203", 0.05), ("150221", 0.03), ("150105", 0.03), ("152801", 0.02),  # Baotou, Hohhot, Bayannur
    ("140105", 0.03), ("140602", 0.04), ("140802", 0.03), ("141102", 0.05), ("140902", 0.05),  # Shanxi
    ("610802", 0.08), ("610822", 0.05), ("610113", 0.02), ("610602", 0.03),  # Shaanxi
    ("620102", 0.03), ("620502", 0.03), ("621102", 0.04), ("620402", 0.02),  # Gansu
    ("640104", 0.02), ("640202", 0.02), ("130102", 0.02), ("410102", 0.02),  # Ningxia, Hebei, Henan
)  # fmt: skip

# People from outside the mainland: (document origin, share). Foreigners are mostly from Mongolia.
OVERSEAS_ORIGINS = (("HK", 0.17), ("MO", 0.05), ("TW", 0.18), ("MN", 0.42), ("KR", 0.10), ("RU", 0.08))
# ISO 3166 numeric country codes, as in the 2023 permanent residence card number.
COUNTRY_NUMBERS = {"MN": "496", "KR": "410", "RU": "643"}
INNER_MONGOLIA = "15"

# China's mobile prefixes (China Mobile, Unicom, Telecom and the newer ranges), the common ones more often.
MOBILE_PREFIXES = (
    ("139", 4), ("138", 4), ("137", 4), ("136", 5), ("135", 4), ("134", 5), ("150", 3), ("151", 3), ("152", 3),
    ("157", 4), ("158", 3), ("159", 3), ("182", 3), ("183", 3), ("187", 2), ("188", 2), ("130", 2), ("131", 3),
    ("132", 3), ("155", 2), ("156", 2), ("185", 2), ("186", 2), ("133", 2), ("153", 2), ("180", 1), ("181", 1),
    ("189", 1), ("199", 2), ("198", 2), ("191", 1), ("177", 1), ("173", 1), ("175", 1), ("176", 2), ("166", 1),
    ("147", 1), ("192", 1),
)  # fmt: skip


# -- the generator -------------------------------------------------------------------------------------------
def _shares(rng: np.random.Generator, propensity: np.ndarray, sizes: np.ndarray, target: float) -> np.ndarray:
    """Pick households with probability ∝ propensity (capped at 1) so that they hold `target` people on
    average; those with propensity 0 never."""
    if target <= 0 or not propensity.any():
        return np.zeros(len(sizes), dtype=bool)
    lo, hi = 0.0, 1.0
    while (np.minimum(1, hi * propensity) * sizes).sum() < target and hi < 1e9:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if (np.minimum(1, mid * propensity) * sizes).sum() < target:
            lo = mid
        else:
            hi = mid
    return rng.random(len(sizes)) < np.minimum(1, hi * propensity)


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """`total` split in proportion to `weights`, largest remainders first (ties by index), summing exactly."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    left = total - int(counts.sum())
    order = np.lexsort((np.arange(len(weights)), -(exact - counts)))
    counts[order[:left]] += 1
    return counts


def _choice(rng: np.random.Generator, pairs: Sequence[tuple[str, float]], n: int) -> np.ndarray:
    values = np.array([v for v, _ in pairs])
    p = np.array([w for _, w in pairs], dtype=float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _addresses(r: random.Random, grid: Grid, count: int, county: str) -> list[str]:
    """`count` distinct addresses in the grid, in the order a register lists them."""
    prefix = f"{county}{grid.town}{grid.village}{grid.name}"
    if grid.urban and not grid.bungalows:
        floors, units = r.choice(((6, 3), (6, 4), (11, 2), (18, 2), (26, 2)))
        per_building = floors * units * 2
        buildings = max(1, math.ceil(count / (per_building * 0.85)))
        slots = sorted(r.sample(range(buildings * per_building), count))
        result = []
        for slot in slots:
            building, rest = divmod(slot, per_building)
            unit, rest = divmod(rest, floors * 2)
            floor, room = divmod(rest, 2)
            result.append(f"{prefix}{building + 1}号楼{unit + 1}单元{floor + 1}{room + 1:02d}室")
        return result
    numbers = sorted(r.sample(range(1, count + count // 4 + 2), count))
    return [f"{prefix}{n}号" for n in numbers]


def _id_check_chars(first17: np.ndarray) -> np.ndarray:
    """Vectorised `validators.id_check_char` over an (n, 17) array of digits."""
    return np.frombuffer(ID_CHECK_CHARS.encode(), dtype="S1")[(first17 @ np.array(ID_WEIGHTS)) % 11]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _documents(
    rng: np.random.Generator,
    r: random.Random,
    population: np.ndarray,
    origin: np.ndarray,
    males: np.ndarray,
    ymd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(document type, document number) of each person: unique numbers, ID numbers (and the 2023 foreigner's
    card, built the same way) matching the birth date (`ymd` as YYYYMMDD integers) and the sex."""
    n = len(population)
    birth_year = ymd // 10000
    doc_type = np.full(n, ID_CARD, dtype=object)
    region = np.full(n, "", dtype=object)
    registered = (population == REGISTERED) | (population == LEFT_BEHIND)
    local = _choice(rng, LOCAL_CODES, n)
    local = np.where((birth_year >= KANGBASHI_SINCE) & (rng.random(n) < 0.01), KANGBASHI, local)
    local = np.where((birth_year < 2001) & (rng.random(n) < HISTORICAL_SHARE), HISTORICAL_DALAD, local)
    region[registered] = local[registered]
    floating = population == FLOATING
    # A floating family mostly shares its home county; a relative may come from elsewhere.
    elsewhere = _choice(rng, FLOATING_CODES, n)
    region[floating] = np.where(rng.random(n) < 0.9, origin, elsewhere)[floating]
    overseas = population == OVERSEAS
    doc_type[overseas & np.isin(origin, ["HK", "MO"])] = HK_MACAO_PERMIT
    doc_type[overseas & (origin == "TW")] = TAIWAN_PERMIT
    foreign = overseas & np.isin(origin, list(COUNTRY_NUMBERS))
    card = foreign & (rng.random(n) < 0.2)
    doc_type[foreign & ~card] = PASSPORT
    doc_type[card] = FOREIGNER_RESIDENCE_CARD
    for i in np.flatnonzero(card):
        region[i] = "9" + INNER_MONGOLIA + COUNTRY_NUMBERS[origin[i]]
    numbered = (doc_type == ID_CARD) | card
    region_int = np.array([int(x) if x else 0 for x in region], dtype=np.int64)

    # Sequence codes: odd for men, even for women (never 000); redrawn until every number is unique.
    def draw(who: np.ndarray) -> np.ndarray:
        return np.where(
            males[who], 2 * rng.integers(0, 500, size=len(who)) + 1, 2 * rng.integers(1, 500, size=len(who))
        )

    idx = np.flatnonzero(numbered)
    sequence = np.zeros(n, dtype=np.int64)
    sequence[idx] = draw(idx)
    again = idx
    while len(again):
        again = _repeated(idx, region_int[idx] * 10**11 + ymd[idx] * 1000 + sequence[idx])
        sequence[again] = draw(again)
    first17 = np.hstack([_digits(region_int, 6), _digits(ymd, 8), _digits(sequence, 3)])
    checks = _id_check_chars(first17).astype(str).tolist()
    region_list, ymd_list, sequence_list = region.tolist(), ymd.tolist(), sequence.tolist()
    numbers = np.full(n, "", dtype=object)
    numbers[idx] = [f"{region_list[i]}{ymd_list[i]}{sequence_list[i]:03d}{checks[i]}" for i in idx.tolist()]
    taken: set[str] = set()
    for i in np.flatnonzero(~numbered):
        number = _overseas_document(r, doc_type[i], origin[i])
        while number in taken:
            number = _overseas_document(r, doc_type[i], origin[i])
        taken.add(number)
        numbers[i] = number
    return doc_type, numbers


def _repeated(positions: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The positions whose key an earlier position already has."""
    _, first = np.unique(keys, return_index=True)
    repeat = np.ones(len(positions), dtype=bool)
    repeat[first] = False
    return positions[repeat]


def _mobiles(
    rng: np.random.Generator, ages: np.ndarray, relation: np.ndarray, sizes: np.ndarray, household: np.ndarray
) -> np.ndarray:
    """Most adults have a mobile, fewer of the very old; nobody under 18. Numbers are unique, except that now
    and then a spouse, or an old parent without a phone of their own, is listed with the head's."""
    n = len(ages)
    adult = ages >= 18
    has_phone = adult & (rng.random(n) < np.select([ages < 60, ages < 70, ages < 80], [0.93, 0.8, 0.6], 0.35))
    prefix = _choice(rng, [(p, float(w)) for p, w in MOBILE_PREFIXES], n).astype(np.int64)
    numbers = prefix * 10**8 + rng.integers(0, 10**8, size=n)
    again = owners = np.flatnonzero(has_phone)
    while len(again):
        again = _repeated(owners, numbers[owners])
        numbers[again] = prefix[again] * 10**8 + rng.integers(0, 10**8, size=len(again))
    phones = np.where(has_phone, numbers.astype(str), "").astype(object)
    head = np.concatenate([[0], np.cumsum(sizes)[:-1]])[household]
    share = (
        adult
        & (relation != HEAD)
        & (phones[head] != "")
        & (rng.random(n) < np.where(ages >= 75, 0.06, np.where(relation == SPOUSE, 0.02, 0.0)))
    )
    phones[share] = phones[head[share]]
    return phones


def generate_columns(
    grids: Iterable[Sequence],
    n_people: int,
    seed: int = 2026,
    as_of: date = REFERENCE_DATE,
    county: str = "达拉特旗",
) -> dict[str, list[str]]:
    """Exactly `n_people` rows over `grids` ([(code, name, town, village, households_weight[, urban])]), as
    columns keyed by `HEADERS`; households are whole and listed grid by grid, head first."""
    if n_people < 0:
        raise ValueError("n_people must be ≥ 0")
    grid_list = _grids(grids)
    rng = np.random.default_rng(seed)
    r = random.Random(int(rng.integers(2**62)))
    if n_people == 0:
        return {h: [] for h in HEADERS}

    # Household sizes, the last one cut to reach exactly n_people.
    sizes = rng.choice(np.arange(1, 7), size=int(n_people / 2.9) + 50, p=np.array(SIZE_SHARES))
    while sizes.sum() < n_people:
        sizes = np.concatenate([sizes, rng.choice(np.arange(1, 7), size=50, p=np.array(SIZE_SHARES))])
    cut = int(np.searchsorted(np.cumsum(sizes), n_people))
    sizes = sizes[: cut + 1].copy()
    sizes[-1] -= int(sizes.sum()) - n_people
    n_households = len(sizes)
    kind_index = np.empty(n_households, dtype=np.int64)
    for size, kinds in KINDS.items():
        at = np.flatnonzero(sizes == size)
        first = ALL_KINDS.index(kinds[0][0])
        p = np.array([w for _, w in kinds])
        kind_index[at] = first + rng.choice(len(kinds), size=len(at), p=p / p.sum())

    # Households are spread over the grids by weight, in grid order.
    per_grid = _split(n_households, np.array([g.weight for g in grid_list]))
    grid_of = np.repeat(np.arange(len(grid_list)), per_grid)
    order = rng.permutation(n_households)  # sizes and kinds were drawn in order; mix them over the grids
    sizes, kind_index = sizes[order], kind_index[order]
    urban = np.array([g.urban for g in grid_list])[grid_of]
    pastoral = np.array([g.pastoral for g in grid_list])[grid_of]
    kinds_of = [ALL_KINDS[k] for k in kind_index]
    small = sizes <= 2
    elderly_only = np.array([k.elderly_only for k in kinds_of])
    young_kind = np.array([k.name not in ("alone_old",) and not k.grandchildren for k in kinds_of])

    # Who lives here on what footing (shares of people). 留守 only in villages, in households of
    # grandparents (and grandchildren); floating people mostly rent in town.
    overseas = _shares(rng, (small & young_kind) * np.where(urban, 3.0, 1.0), sizes, 0.001 * n_people)
    left = _shares(rng, (~overseas & ~urban & elderly_only).astype(float), sizes, 0.02 * n_people)
    floating = _shares(
        rng,
        (~overseas & ~left) * np.where(urban, 1.6, 0.7) * np.where(young_kind, 1.0, 0.25),
        sizes,
        0.13 * n_people,
    )
    population = np.where(
        overseas, OVERSEAS, np.where(left, LEFT_BEHIND, np.where(floating, FLOATING, REGISTERED))
    )
    origin = np.full(n_households, "", dtype=object)
    origin[floating] = _choice(rng, FLOATING_CODES, int(floating.sum()))
    origin[overseas] = _choice(rng, OVERSEAS_ORIGINS, int(overseas.sum()))
    from_outside_region = floating & np.array([not str(o).startswith(INNER_MONGOLIA) for o in origin])

    # The household's ethnicity: Mongols live more in the pastoral sumu and gaqa, and in town, than in the
    # farming villages. Propensities are scaled so the county as a whole gets ETHNIC_SHARES.
    mongol_propensity = np.where(pastoral, 3.0, np.where(urban, 1.1, 0.75)) * ~from_outside_region
    # Mixed marriages and children of mixed couples add about a twentieth to the Mongol share of people.
    mongol_target = ETHNIC_SHARES[MONGOL] * n_people / 1.05
    p_mongol = np.minimum(
        1, mongol_propensity * mongol_target / max(1e-9, float((mongol_propensity * sizes).sum()))
    )
    others = {k: v for k, v in ETHNIC_SHARES.items() if k not in (HAN, MONGOL)}
    roll = rng.random(n_households)
    ethnicity = np.full(n_households, HAN, dtype=object)
    ethnicity[roll < p_mongol] = MONGOL
    roll2 = rng.random(n_households)
    edge = 0.0
    for code, share in others.items():
        # Drawn among the households not already Mongol, hence the share scaled up.
        scaled = share / (1 - ETHNIC_SHARES[MONGOL])
        hit = (ethnicity == HAN) & (roll2 >= edge) & (roll2 < edge + scaled) & ~overseas
        ethnicity[hit] = code
        edge += scaled
    ethnicity[from_outside_region & (rng.random(n_households) < 0.03)] = HUI

    # The households themselves.
    as_of_year = as_of.year
    person_household: list[int] = []
    relation: list[str] = []
    sex: list[str] = []
    age: list[int] = []
    ethnic: list[str] = []
    name: list[str] = []
    mongolian_name: list[str] = []
    for h in range(n_households):
        kind = kinds_of[h]
        members = _household(r, kind, rural=not urban[h])
        _ethnicities(r, members, ethnicity[h])
        _surnames(r, members)
        place = origin[h]
        for m in members:
            year = as_of_year - m.age - 1
            if population[h] == OVERSEAS:
                m.ethnicity = HAN if place in ("HK", "MO", "TW") else ""
                full, script = _overseas_name(r, place, m.sex, year), ""
            else:
                full, script = _name(r, m.surname, m.ethnicity, m.sex, year)
            person_household.append(h)
            relation.append(m.relation)
            sex.append(m.sex)
            age.append(m.age)
            ethnic.append(m.ethnicity)
            name.append(full)
            mongolian_name.append(script)

    hh = np.array(person_household)
    ages = np.array(age)
    n = len(hh)
    assert n == n_people
    males = np.array(sex) == MALE
    pop = population[hh]
    person_origin = origin[hh]

    # Birth dates: somewhere in the year before the age's birthday.
    days = np.floor(ages * 365.2425).astype(np.int64) + rng.integers(1, 365, size=n)
    born = np.datetime64(as_of.isoformat(), "D") - days
    birth_text = np.datetime_as_string(born, unit="D").tolist()
    ymd = np.array([int(t.replace("-", "")) for t in birth_text], dtype=np.int64)

    doc_type, numbers = _documents(rng, r, pop, person_origin, males, ymd)
    phones = _mobiles(rng, ages, np.array(relation, dtype=object), sizes, hh)
    is_overseas = pop == OVERSEAS
    is_floating = pop == FLOATING
    registered = (pop == REGISTERED) | (pop == LEFT_BEHIND)
    adult = ages >= 18

    # Key groups: small shares, each where it occurs in life (≈3–4 % of people carry one).
    u = rng.random((9, n))
    sizes_of = sizes[hh]
    locals_only = ~is_overseas
    rural = ~urban[hh]
    low_income_household = _shares(
        rng,
        ((population == REGISTERED) | (population == LEFT_BEHIND)) * np.where(urban, 0.6, 1.4),
        sizes,
        0.012 * n_people,
    )
    groups = [
        (ELDERLY_ALONE, (ages >= 70) & (sizes_of == 1) & locals_only & (u[0] < 0.18)),
        (DISABLED, locals_only & (u[1] < np.select([ages < 18, ages < 60], [0.003, 0.007], 0.02))),
        (LEFT_BEHIND_CHILD, (pop == LEFT_BEHIND) & (ages < 16)),
        (
            COMMUNITY_CORRECTION,
            locals_only & (ages >= 18) & (ages <= 65) & (u[2] < np.where(males, 5e-4, 1e-4)),
        ),
        (
            RELEASED_PRISONER,
            locals_only & (ages >= 20) & (ages <= 70) & (u[3] < np.where(males, 1.5e-3, 2e-4)),
        ),
        (SEVERE_MENTAL, locals_only & adult & (u[4] < 0.004)),
        (DRUG_USER, locals_only & (ages >= 18) & (ages <= 55) & (u[5] < np.where(males, 8e-4, 2e-4))),
        (KEY_YOUTH, locals_only & (ages >= 12) & (ages <= 25) & (u[6] < 0.006)),
        (LOW_INCOME, low_income_household[hh]),
    ]
    labels = [""] * n
    for label, mask in groups:
        for i in np.flatnonzero(mask):
            labels[i] = f"{labels[i]};{label}" if labels[i] else label

    # Notes: now and then what a grid worker writes down.
    notes = np.full(n, "", dtype=object)
    notes[registered & rural & (ages >= 20) & (ages <= 50) & (u[7] < 0.05)] = "长期外出务工"
    notes[(ages >= 18) & (ages <= 22) & locals_only & (u[7] < 0.08)] = "在外地上学"
    notes[is_floating & adult & (u[8] < 0.06)] = "租住"
    notes[is_floating & adult & (u[8] >= 0.06) & (u[8] < 0.10)] = "居住证已办理"

    # Household numbers (the county and town of the grid, then a sequence per town) and addresses.
    household_numbers: list[str] = []
    addresses: list[str] = []
    next_in_town: dict[str, int] = {}
    for g, grid in enumerate(grid_list):
        count = int(per_grid[g])
        if not count:
            continue
        town = grid.code[:9]
        start = next_in_town.get(town, 0)
        household_numbers.extend(f"{town}{start + k + 1:06d}" for k in range(count))
        next_in_town[town] = start + count
        addresses.extend(_addresses(r, grid, count, county))
    grid_codes = [grid_list[g].code for g in grid_of]

    return {
        HOUSEHOLD_NUMBER: [household_numbers[h] for h in person_household],
        RELATION: relation,
        NAME: name,
        MONGOLIAN_NAME: mongolian_name,
        DOCUMENT_TYPE: doc_type.tolist(),
        DOCUMENT_NUMBER: numbers.tolist(),
        SEX: sex,
        ETHNICITY: ethnic,
        BIRTH_DATE: birth_text,
        MOBILE: phones.tolist(),
        POPULATION_TYPE: pop.tolist(),
        GRID_CODE: [grid_codes[h] for h in person_household],
        ADDRESS: [addresses[h] for h in person_household],
        KEY_GROUPS: labels,
        NOTE: notes.tolist(),
    }


def _overseas_name(r: random.Random, origin: str, sex: str, birth_year: int) -> str:
    if origin in ("HK", "MO", "TW"):
        return _han_name(r, r.choice(HK_TW_SURNAMES), sex, birth_year)
    if origin == "MN":
        # A Mongolian citizen's name as Chinese papers write it: given name · father's name.
        given = r.choice(_MONGOL_MALE if sex == MALE else _MONGOL_FEMALE)
        return f"{given}·{r.choice(_MONGOL_MALE)}"
    if origin == "KR":
        return r.choice("金李朴崔郑姜赵尹张林") + r.choice(KOREAN_GIVEN[sex])
    given_names, family_names = RUSSIAN_NAMES[sex]
    return f"{r.choice(given_names)}·{r.choice(family_names)}"


def _overseas_document(r: random.Random, doc_type: str, origin: str) -> str:
    """A number of the document's usual shape (HK H+8 digits, Macao M+8, Taiwan 8 digits, passports per
    country)."""
    if doc_type == HK_MACAO_PERMIT:
        return ("H" if origin == "HK" else "M") + f"{r.randrange(10**8):08d}"
    if doc_type == TAIWAN_PERMIT:
        return f"{r.randrange(10**8):08d}"
    if origin == "MN":
        return "E" + f"{r.randrange(10**7):07d}"
    if origin == "KR":
        return "M" + f"{r.randrange(10**8):08d}"
    return f"{r.choice((72, 75, 76))}{r.randrange(10**7):07d}"


def generate_people(
    grids: Iterable[Sequence],
    n_people: int,
    seed: int = 2026,
    as_of: date = REFERENCE_DATE,
    county: str = "达拉特旗",
) -> Iterator[dict[str, str]]:
    """The rows of `generate_columns`, one dict per person keyed by `HEADERS`."""
    columns = generate_columns(grids, n_people, seed=seed, as_of=as_of, county=county)
    for values in zip(*(columns[h] for h in HEADERS), strict=True):
        yield dict(zip(HEADERS, values, strict=True))


# -- files ---------------------------------------------------------------------------------------------------
_row_values = operator.itemgetter(*HEADERS)


def write_csv(path: str | Path, rows: Iterable[Mapping[str, str]]) -> int:
    """The import file as CSV: UTF-8 with a BOM (so Excel reads it as UTF-8), CRLF line ends (RFC 4180), the
    header row first. Returns the number of person rows."""
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow(_row_values(row))
            count += 1
    return count


def write_xlsx(path: str | Path, rows: Iterable[Mapping[str, str]]) -> int:
    """The import file as XLSX: one sheet 人员, a bold header row, every value as text (an ID number stored as a
    number would lose its last digits). Empty values are empty cells. Returns the number of person rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAME)
    widths = {
        DOCUMENT_NUMBER: 21,
        ADDRESS: 48,
        HOUSEHOLD_NUMBER: 17,
        GRID_CODE: 17,
        MOBILE: 13,
        KEY_GROUPS: 16,
    }
    for column, header in enumerate(HEADERS, start=1):
        letter = chr(ord("A") + column - 1)
        sheet.column_dimensions[letter].width = widths.get(header, 11)
    bold = Font(bold=True)
    header_cells = []
    for header in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append([value or None for value in _row_values(row)])
        count += 1
    workbook.save(path)
    return count


# -- deliberately bad rows -----------------------------------------------------------------------------------
# Two-digit codes that GB/T 3304 does not define (it has 01–56, 97 and 98).
UNDEFINED_ETHNICITY_CODES = ("57", "60", "66", "73", "85", "90")


def with_bad_rows(
    rows: Iterable[Mapping[str, str]], n: int, seed: int = 0
) -> tuple[list[dict[str, str]], list[tuple[int, str, str]]]:
    """A copy of `rows` with `n` rows spoiled, one defect each, the kinds of `Problem` in turn; and the list
    of (row_number, column_header, problem_kind) planted, by row number. The row number is the spreadsheet's:
    the header is row 1, the first person row 2.

    Each spoiled row has exactly one bad cell, so an importer should report exactly these: an impossible birth
    date leaves the ID number as it was (an importer cannot compare the two and should not report that as a
    second error); a duplicated ID number comes with the birth date and sex of its first row, which stays
    unspoiled and comes earlier in the file."""
    out = [dict(row) for row in rows]
    rng = np.random.default_rng(seed)
    # Only plain rows: an ID card, no Mongolian-script name, so no other rule is touched.
    plain = [i for i, row in enumerate(out) if row[DOCUMENT_TYPE] == ID_CARD and not row[MONGOLIAN_NAME]]
    if n > len(plain) // 2:
        raise ValueError(f"cannot spoil {n} rows out of {len(plain)} plain ones")
    order = [plain[int(k)] for k in rng.permutation(len(plain))]
    kinds = [list(Problem)[k % len(Problem)] for k in range(n)]
    reserved: set[int] = set()  # spoiled rows and the first rows of duplicates
    planted: list[tuple[int, str, str]] = []
    candidates = iter(order)
    for kind in kinds:
        source = -1
        for i in candidates:
            if i in reserved:
                continue
            if kind is Problem.DUPLICATE_ID:
                found = _duplicate_source(out, i, order, reserved, rng)
                if found is None:
                    continue
                source = found
                reserved.add(source)
            break
        else:
            raise ValueError(f"cannot spoil {n} rows: too few rows to choose from")
        reserved.add(i)
        row = out[i]
        if kind is Problem.CHECK_CHAR:
            number = row[DOCUMENT_NUMBER]
            wrong = [c for c in ID_CHECK_CHARS if c != number[-1]]
            row[DOCUMENT_NUMBER] = number[:-1] + wrong[int(rng.integers(len(wrong)))]
        elif kind is Problem.IMPOSSIBLE_DATE:
            year = row[BIRTH_DATE][:4]
            row[BIRTH_DATE] = (
                f"{year}-{('02-30', '02-31', '04-31', '06-31', '13-01', '00-15')[int(rng.integers(6))]}"
            )
        elif kind is Problem.UNKNOWN_ETHNICITY:
            row[ETHNICITY] = UNDEFINED_ETHNICITY_CODES[int(rng.integers(len(UNDEFINED_ETHNICITY_CODES)))]
        elif kind is Problem.MISSING_NAME:
            row[NAME] = ""
        else:
            original = out[source]
            for column in (DOCUMENT_NUMBER, BIRTH_DATE, SEX):
                row[column] = original[column]
        planted.append((i + 2, PROBLEM_COLUMNS[kind], str(kind)))
    planted.sort()
    return out, planted


def _duplicate_source(
    rows: list[dict[str, str]], target: int, order: list[int], reserved: set[int], rng: np.random.Generator
) -> int | None:
    """An earlier plain row whose person could be the target's: same sex, born within two years."""
    row = rows[target]
    year = int(row[BIRTH_DATE][:4])
    start = int(rng.integers(len(order)))
    for k in range(len(order)):
        i = order[(start + k) % len(order)]
        if i >= target or i in reserved:
            continue
        other = rows[i]
        if other[SEX] == row[SEX] and abs(int(other[BIRTH_DATE][:4]) - year) <= 2:
            return i
    return None
