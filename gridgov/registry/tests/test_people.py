"""The synthetic population register: what an importer and the demo rely on (valid, unique, consistent IDs;
households that hold together; realistic shares; files that read back as written; bad rows where we say)."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.registry import people
from gridgov.registry.people import (
    ADDRESS,
    BIRTH_DATE,
    DOCUMENT_NUMBER,
    DOCUMENT_TYPE,
    ETHNICITY,
    FOREIGNER_RESIDENCE_CARD,
    GRID_CODE,
    HEADERS,
    HOUSEHOLD_NUMBER,
    ID_CARD,
    KEY_GROUPS,
    MOBILE,
    MONGOLIAN_NAME,
    NAME,
    POPULATION_TYPE,
    RELATION,
    SEX,
    generate_columns,
    generate_people,
    with_bad_rows,
    write_csv,
    write_xlsx,
)
from gridgov.registry.validators import id_check_char

SAMPLE = 20_000
AS_OF = people.REFERENCE_DATE


def _fake_county() -> list[tuple]:
    """A small county: a 街道 with communities, farming towns, a sumu with gaqa, and one grid nobody lives in."""
    grids: list[tuple] = []
    towns = (
        ("150621001", "工业街道"),
        ("150621100", "树林召镇"),
        ("150621103", "王爱召镇"),
        ("150621102", "白泥井镇"),
        ("150621200", "展旦召苏木"),
    )
    for town_code, town in towns:
        for v in range(3):
            if town.endswith("街道"):
                village, code = ("锦绣", "滨河", "天骄")[v] + "社区", f"{town_code}{v + 1:03d}"
                names = ("金地小区", "东沟平房区", "御景花园", "阳光家园")
                weight = 400.0
            elif town.endswith("苏木"):
                village, code = ("巴音", "乌兰", "哈什拉")[v] + "嘎查", f"{town_code}{v + 200:03d}"
                names = ("敖包", "查干淖尔", "宝日", "塔拉")
                weight = 40.0
            else:
                village, code = ("新民", "永胜", "德胜")[v] + "村", f"{town_code}{v + 200:03d}"
                names = ("王家圪堵", "前滩", "三社", "李家营子")
                weight = 90.0
            for g, name in enumerate(names):
                grids.append((f"{code}{g + 1:03d}", name, town, village, weight))
    grids.append(("150621100200901", "第一中学", "树林召镇", "新民村", 0))
    return grids


GRIDS = _fake_county()
URBAN_CODES = {g[0] for g in GRIDS if "社区" in g[3]}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return list(generate_people(GRIDS, SAMPLE, seed=7))


def _households(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        result[row[HOUSEHOLD_NUMBER]].append(row)
    return result


def _age(row: dict[str, str]) -> float:
    return (AS_OF - date.fromisoformat(row[BIRTH_DATE])).days / 365.2425


# -- ID numbers ---------------------------------------------------------------------------------------------
def test_every_id_number_is_valid_and_matches_birth_date_and_sex(rows):
    numbered = [r for r in rows if r[DOCUMENT_TYPE] in (ID_CARD, FOREIGNER_RESIDENCE_CARD)]
    assert len(numbered) > 0.99 * len(rows)
    for row in numbered:
        number = row[DOCUMENT_NUMBER]
        assert re.fullmatch(r"[0-9]{17}[0-9X]", number), number
        assert id_check_char(number[:17]) == number[17], number
        assert number[6:14] == row[BIRTH_DATE].replace("-", ""), number
        assert int(number[16]) % 2 == (1 if row[SEX] == "1" else 0), number
        assert number[14:17] != "000"
        if row[DOCUMENT_TYPE] == FOREIGNER_RESIDENCE_CARD:
            assert number.startswith("915"), number  # 9, Inner Mongolia, nationality
    assert all(date.fromisoformat(r[BIRTH_DATE]) < AS_OF for r in rows)


def test_id_numbers_are_real_region_codes_mostly_dalad(rows):
    regions = Counter(r[DOCUMENT_NUMBER][:6] for r in rows if r[DOCUMENT_TYPE] == ID_CARD)
    dalad = regions["150621"] + regions["152722"]  # the banner's code today and before 2001
    assert dalad > 0.7 * sum(regions.values())
    assert regions["150621"] > regions["152722"]
    # Kangbashi's code exists since 2016: nobody older carries it.
    for row in rows:
        if row[DOCUMENT_NUMBER].startswith("150603"):
            assert row[BIRTH_DATE] >= "2016"
        if row[DOCUMENT_NUMBER].startswith("152722"):
            assert row[BIRTH_DATE] < "2001"
    floating = Counter(r[DOCUMENT_NUMBER][:2] for r in rows if r[POPULATION_TYPE] == "流动人口")
    assert floating["14"] and floating["61"] and floating["62"]


def test_document_numbers_are_unique(rows):
    numbers = [r[DOCUMENT_NUMBER] for r in rows]
    assert all(numbers)
    assert len(set(numbers)) == len(numbers)


def test_document_numbers_are_unique_in_a_county_sized_file():
    # A third of the county keeps the test quick yet crowds the birth days as the full file does (the
    # sequence codes of one day and region must not repeat).
    columns = generate_columns(GRIDS, 120_000, seed=3)
    numbers = columns[DOCUMENT_NUMBER]
    assert len(set(numbers)) == len(numbers) == 120_000


# -- households ---------------------------------------------------------------------------------------------
def test_each_household_has_one_head_listed_first_and_lives_at_one_address(rows):
    households = _households(rows)
    seen_order: list[str] = []
    for row in rows:
        if not seen_order or seen_order[-1] != row[HOUSEHOLD_NUMBER]:
            seen_order.append(row[HOUSEHOLD_NUMBER])
    assert len(seen_order) == len(households), "a household's members are listed together"
    addresses = Counter()
    for number, members in households.items():
        assert re.fullmatch(r"150621[0-9]{9}", number)
        assert [m[RELATION] for m in members].count("户主") == 1
        assert members[0][RELATION] == "户主"
        assert 1 <= len(members) <= 6
        assert len({m[GRID_CODE] for m in members}) == 1
        assert len({m[ADDRESS] for m in members}) == 1
        assert number.startswith(members[0][GRID_CODE][:9]), "the household number carries the town"
        addresses[members[0][ADDRESS]] += 1
    assert max(addresses.values()) == 1, "two households at one address"
    mean = len(rows) / len(households)
    assert 2.8 <= mean <= 3.2


def test_relations_fit_ages_and_sexes(rows):
    for members in _households(rows).values():
        head = members[0]
        spouse = next((m for m in members if m[RELATION] == "配偶"), None)
        if spouse:
            assert spouse[SEX] != head[SEX]
            assert _age(spouse) >= 19 and _age(head) >= 19
        for m in members[1:]:
            gap = _age(head) - _age(m)
            if m[RELATION] in ("子", "女"):
                assert m[SEX] == ("1" if m[RELATION] == "子" else "2")
                assert 18 <= gap <= 45, (head, m)
                if spouse:
                    assert 18 <= _age(spouse) - _age(m) <= 45, (spouse, m)
            elif m[RELATION] == "父母":
                assert 18 <= -gap <= 45, (head, m)
            elif m[RELATION] == "孙子女":
                assert gap >= 36, (head, m)
            elif m[RELATION] == "兄弟姐妹":
                assert abs(gap) <= 14
        parents = [m for m in members if m[RELATION] == "父母"]
        assert len(parents) <= 2
        if len(parents) == 2:
            assert {p[SEX] for p in parents} == {"1", "2"}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=0, max_value=60), seed=st.integers(min_value=0, max_value=10**6))
def test_exactly_the_asked_number_of_people_in_whole_households(n, seed):
    rows = list(generate_people(GRIDS, n, seed=seed))
    assert len(rows) == n
    for members in _households(rows).values():
        assert [m[RELATION] for m in members].count("户主") == 1


def test_same_seed_same_people_other_seed_other_people():
    first = list(generate_people(GRIDS, 500, seed=5))
    assert first == list(generate_people(GRIDS, 500, seed=5))
    assert first != list(generate_people(GRIDS, 500, seed=6))


# -- shares -------------------------------------------------------------------------------------------------
def test_ethnicity_shares_are_the_countys(rows):
    shares = {code: count / len(rows) for code, count in Counter(r[ETHNICITY] for r in rows).items()}
    assert 0.77 <= shares["01"] <= 0.83
    assert 0.145 <= shares["02"] <= 0.195
    assert 0.008 <= shares["03"] <= 0.025
    assert 0.004 <= shares["11"] <= 0.018
    gb3304 = {f"{n:02d}" for n in range(1, 57)} | {"97", "98"}
    for row in rows:
        # Only foreign nationals have no 民族.
        assert row[ETHNICITY] in gb3304 or (row[ETHNICITY] == "" and row[POPULATION_TYPE] == "境外人员")


def test_mongols_live_more_in_the_pastoral_sumu(rows):
    def mongol_share(rows):
        return sum(r[ETHNICITY] == "02" for r in rows) / len(rows)

    sumu = [r for r in rows if "苏木" in r[ADDRESS]]
    farming = [r for r in rows if "镇" in r[ADDRESS] and "村" in r[ADDRESS]]
    assert mongol_share(sumu) > 2 * mongol_share(farming)


def test_population_types_and_key_groups_have_realistic_shares(rows):
    types = Counter(r[POPULATION_TYPE] for r in rows)
    assert set(types) <= set(people.POPULATION_TYPES)
    assert 0.82 <= types["户籍人口"] / len(rows) <= 0.88
    assert 0.10 <= types["流动人口"] / len(rows) <= 0.16
    assert 0.01 <= types["留守人员"] / len(rows) <= 0.03
    assert 0 < types["境外人员"] / len(rows) <= 0.004
    labelled = [r for r in rows if r[KEY_GROUPS]]
    assert 0.025 <= len(labelled) / len(rows) <= 0.045
    for row in labelled:
        labels = row[KEY_GROUPS].split(";")
        assert set(labels) <= set(people.KEY_GROUP_LABELS)
        assert len(labels) == len(set(labels))
        if "独居老人" in labels:
            assert _age(row) >= 70
        if "留守儿童" in labels:
            assert _age(row) < 16 and row[POPULATION_TYPE] == "留守人员"
    by_household = _households(rows)
    for row in labelled:
        if "独居老人" in row[KEY_GROUPS]:
            assert len(by_household[row[HOUSEHOLD_NUMBER]]) == 1
    # 低保 is granted to a household of registered residents.
    for members in by_household.values():
        flags = {"低保对象" in m[KEY_GROUPS] for m in members}
        assert len(flags) == 1
        if True in flags:
            assert members[0][POPULATION_TYPE] in ("户籍人口", "留守人员")


def test_overseas_people_carry_their_own_documents(rows):
    overseas = [r for r in rows if r[POPULATION_TYPE] == "境外人员"]
    assert overseas
    for row in overseas:
        assert row[DOCUMENT_TYPE] != ID_CARD
    for row in rows:
        if row[DOCUMENT_TYPE] != ID_CARD:
            assert row[POPULATION_TYPE] == "境外人员"


# -- phones, names, addresses -------------------------------------------------------------------------------
def test_adults_mostly_have_distinct_mobiles_children_none(rows):
    adults = [r for r in rows if _age(r) >= 18]
    with_phone = [r for r in adults if r[MOBILE]]
    assert 0.80 <= len(with_phone) / len(adults) <= 0.90
    assert all(not r[MOBILE] for r in rows if _age(r) < 18)
    for row in with_phone:
        assert re.fullmatch(r"1[3-9][0-9]{9}", row[MOBILE])
    households_of: dict[str, set[str]] = defaultdict(set)
    for row in with_phone:
        households_of[row[MOBILE]].add(row[HOUSEHOLD_NUMBER])
    assert all(len(h) == 1 for h in households_of.values()), "a phone shared across households"
    shared = len(with_phone) - len(households_of)
    assert 0 < shared < 0.02 * len(with_phone)


def test_names_and_mongolian_script(rows):
    assert all(re.fullmatch(r"[\u4e00-\u9fff·]{2,12}", r[NAME]) for r in rows)
    scripted = [r for r in rows if r[MONGOLIAN_NAME]]
    mongols = [r for r in rows if r[ETHNICITY] == "02"]
    assert 0.1 * len(mongols) < len(scripted) < 0.6 * len(mongols)
    for row in scripted:
        assert row[ETHNICITY] == "02"
        assert re.fullmatch(r"[\u1820-\u1842]+", row[MONGOLIAN_NAME])
        assert row[NAME].endswith(tuple(people.MONGOL_MALE_NAMES) + tuple(people.MONGOL_FEMALE_NAMES))
    # Spellings everybody agrees on.
    assert people.mongolian_script(people.MONGOL_MALE_NAMES["巴图"]) == "ᠪᠠᠲᠤ"
    assert people.mongolian_script(people.MONGOL_FEMALE_NAMES["萨仁"]) == "ᠰᠠᠷᠠᠨ"
    # Children carry the father's surname as a rule.
    same = total = 0
    for members in _households(rows).values():
        head = members[0]
        if head[SEX] != "1" or head[ETHNICITY] != "01":
            continue
        for m in members:
            if m[RELATION] in ("子", "女") and m[ETHNICITY] == "01":
                total += 1
                same += m[NAME][0] == head[NAME][0]
    assert same > 0.9 * total


def test_registry_validators_accept_every_generated_value(rows):
    validators = pytest.importorskip("gridgov.registry.validators")
    kinds = {
        "身份证": "id_card",
        "护照": "passport",
        "港澳居民来往内地通行证": "hk_macao_permit",
        "台湾居民来往大陆通行证": "taiwan_permit",
        "外国人永久居留身份证": "foreigner_permanent",
    }
    for row in rows:
        validators.check_name(row[NAME])
        if row[MONGOLIAN_NAME]:
            validators.check_mongolian_name(row[MONGOLIAN_NAME])
        validators.check_document(kinds[row[DOCUMENT_TYPE]], row[DOCUMENT_NUMBER])
        if row[MOBILE]:
            validators.check_mobile(row[MOBILE])


def test_households_spread_over_grids_by_weight_with_addresses_of_their_kind(rows):
    weights = {g[0]: g[4] for g in GRIDS}
    households = _households(rows)
    per_grid = Counter(members[0][GRID_CODE] for members in households.values())
    assert set(per_grid) <= set(weights)
    assert per_grid["150621100200901"] == 0  # weight 0: the school grid
    total_weight = sum(weights.values())
    for code, weight in weights.items():
        expected = len(households) * weight / total_weight
        assert abs(per_grid[code] - expected) <= 1
    grid = {g[0]: g for g in GRIDS}
    for members in households.values():
        code, name, town, village, _w = grid[members[0][GRID_CODE]]
        address = members[0][ADDRESS]
        assert address.startswith(f"达拉特旗{town}{village}{name}")
        if code in URBAN_CODES and not name.endswith("平房区"):
            assert re.search(r"[0-9]+号楼[0-9]+单元[0-9]+室$", address), address
        else:
            assert re.search(r"[^楼][0-9]+号$", address), address


def test_grids_must_be_usable():
    with pytest.raises(ValueError, match="grid code"):
        list(generate_people([("1506", "金地小区", "工业街道", "锦绣社区", 1)], 10))
    with pytest.raises(ValueError, match="households_weight"):
        list(generate_people([("150621001001001", "金地小区", "工业街道", "锦绣社区", 0)], 10))
    # The urban flag overrides the guess from the names.
    rows = list(generate_people([("150621100200001", "幸福家园", "树林召镇", "新民村", 1, True)], 30))
    assert all("单元" in r[ADDRESS] for r in rows)


# -- files --------------------------------------------------------------------------------------------------
def test_csv_reads_back_the_same_rows(rows, tmp_path):
    path = tmp_path / "persons.csv"
    assert write_csv(path, rows) == len(rows)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    assert raw.count(b"\r\n") == len(rows) + 1
    with open(path, encoding="utf-8-sig", newline="") as f:
        read = list(csv.reader(f))
    assert read[0] == HEADERS
    assert [dict(zip(HEADERS, values, strict=True)) for values in read[1:]] == rows


def test_xlsx_reads_back_the_same_rows(rows, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    sample = rows[:2000]
    path = tmp_path / "persons.xlsx"
    assert write_xlsx(path, sample) == len(sample)
    workbook = openpyxl.load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["人员"]
    read = list(workbook["人员"].iter_rows(values_only=True))
    workbook.close()
    assert list(read[0]) == HEADERS
    # A row ends at its last non-empty cell: the empty ones after it are not stored.
    padded = [tuple(values) + (None,) * (len(HEADERS) - len(values)) for values in read[1:]]
    back = [{h: ("" if v is None else v) for h, v in zip(HEADERS, values, strict=True)} for values in padded]
    assert all(isinstance(v, str) for row in back for v in row.values()), "a number lost its text form"
    assert back == sample


# -- bad rows -----------------------------------------------------------------------------------------------
GB3304 = {f"{n:02d}" for n in range(1, 57)} | {"97", "98"}


def _problems(rows: list[dict[str, str]]) -> list[tuple[int, str, str]]:
    """What a strict importer finds, by spreadsheet row (header = row 1)."""
    found = []
    first_row_of: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row[NAME].strip():
            found.append((line, NAME, "missing_name"))
        if row[ETHNICITY] and row[ETHNICITY] not in GB3304:
            found.append((line, ETHNICITY, "unknown_ethnicity"))
        try:
            born: date | None = date.fromisoformat(row[BIRTH_DATE])
        except ValueError:
            born = None
            found.append((line, BIRTH_DATE, "impossible_date"))
        number = row[DOCUMENT_NUMBER]
        if row[DOCUMENT_TYPE] == ID_CARD:
            if id_check_char(number[:17]) != number[17]:
                found.append((line, DOCUMENT_NUMBER, "check_char"))
                continue
            if born is not None and number[6:14] != born.strftime("%Y%m%d"):
                found.append((line, BIRTH_DATE, "birth_date_differs_from_id"))
            if int(number[16]) % 2 != (row[SEX] == "1"):
                found.append((line, SEX, "sex_differs_from_id"))
        if number in first_row_of:
            found.append((line, DOCUMENT_NUMBER, "duplicate_id"))
        else:
            first_row_of[number] = line
    return found


def test_bad_rows_are_exactly_where_reported(rows):
    sample = rows[:6000]
    assert _problems(sample) == []
    spoiled, planted = with_bad_rows(sample, 12, seed=4)
    assert len(spoiled) == len(sample)
    assert sorted(_problems(spoiled)) == planted
    assert Counter(kind for _r, _c, kind in planted) == {
        str(p): (3 if p in list(people.Problem)[:2] else 2) for p in people.Problem
    }
    assert sample == rows[:6000], "the input rows are left alone"
    for row_number, column, _kind in planted:
        assert spoiled[row_number - 2][column] != sample[row_number - 2][column]
        assert column in HEADERS
    untouched = {r for r, _c, _k in planted}
    assert all(spoiled[i] == sample[i] for i in range(len(sample)) if i + 2 not in untouched)


def test_bad_rows_depend_on_the_seed(rows):
    sample = rows[:3000]
    assert with_bad_rows(sample, 5, seed=1) == with_bad_rows(sample, 5, seed=1)
    assert with_bad_rows(sample, 5, seed=1)[1] != with_bad_rows(sample, 5, seed=2)[1]
