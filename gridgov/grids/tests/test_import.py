"""Import from GeoJSON and CSV: real files of Dalad Banner, encodings, and bad files rejected whole."""

import datetime as dt
import json
from pathlib import Path

import pytest
import shapely
from django.core.management import call_command
from django.utils import translation
from shapely.geometry import box, mapping

from gridgov.core.models import AuditRecord
from gridgov.grids.checks import DefectKind, check_tree
from gridgov.grids.coords import to_wgs84
from gridgov.grids.geometry import from_geojson
from gridgov.grids.importers import decode, import_grids
from gridgov.grids.models import Grid, GridChange, GridKind, GridVersion
from gridgov.grids.validation import GridInputError

from .test_coords import distance_m

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dalad_admin"
real_data = pytest.mark.skipif(
    not DATA.is_dir(), reason="the shared reference data is not beside the repository"
)
DAY = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids); test_translations checks the Chinese ones."""
    with translation.override("en"):
        yield


def feature(code, name, geom, **props):
    return {"type": "Feature", "properties": {"code": code, "name": name, **props}, "geometry": mapping(geom)}


def geojson(*features, bare=False) -> bytes:
    doc = list(features) if bare else {"type": "FeatureCollection", "features": list(features)}
    return json.dumps(doc, ensure_ascii=False).encode()


def nothing_written(before_grids: int, before_changes: int, before_audit: int) -> bool:
    return (Grid.objects.count(), GridChange.objects.count(), AuditRecord.objects.count()) == (
        before_grids,
        before_changes,
        before_audit,
    )


def counts():
    return Grid.objects.count(), GridChange.objects.count(), AuditRecord.objects.count()


# -- the real files ----------------------------------------------------------------------------------------------
@real_data
@pytest.mark.django_db
def test_real_towns_villages_and_county_boundary():
    report = import_grids(DATA / "stats2023_modood_streets_150621.csv", effective=DAY)
    assert [s.level for s in report.created].count(1) == 17  # 6 街道, 8 镇, 1 苏木, 2 special zones
    root = Grid.objects.current().get(code="150621")
    assert root.name == "达拉特旗" and root.geometry is None  # created from the settings, boundary unknown
    assert Grid.objects.get(code="150621200").name == "展旦召苏木"

    report = import_grids(DATA / "dalad_villages_2021_derived.csv", effective=DAY)
    assert len(report.created) == 161 and {s.level for s in report.created} == {2}
    village = Grid.objects.current().get(code="150621104209")
    assert village.name == "柴磴嘎查村" and village.parent.code == "150621104"
    assert (
        village.path == f"{root.path}{village.parent_id}/{village.pk}/" and village.l1_id == village.parent_id
    )
    # The villages file calls zone 401 by its 2021 name; the existing name stays and the report says so.
    assert any("150621401" in w.message for w in report.warnings)

    # The county boundary: a bare array with one MultiPolygon, in GCJ-02; it fills the root.
    report = import_grids(DATA / "datav_150621_dalad_boundary.json", crs="gcj02", effective=DAY)
    assert report.created == [] and report.filled == ["150621"]
    root.refresh_from_db()
    assert root.geometry["type"] == "MultiPolygon"
    assert 8.0e9 < root.area_m2 < 8.4e9  # about 8,243 km² (8,188 in the news report)
    assert 108.9 < root.min_lon < 109.0 and 40.5 < root.max_lat < 40.6
    version = GridVersion.objects.get(grid=root)
    assert version.geometry == root.geometry and version.valid_to is None
    # Converted: each vertex moved from GCJ-02 to WGS-84 by the local offset (a few hundred metres).
    raw = json.loads((DATA / "datav_150621_dalad_boundary.json").read_text())[0]["geometry"]["coordinates"][
        0
    ][0][0]
    converted = to_wgs84(*raw, "gcj02")
    assert 100 < distance_m(converted, tuple(raw)) < 1000
    stored = shapely.get_coordinates(from_geojson(root.geometry))
    assert min(distance_m(converted, tuple(p)) for p in stored) < 0.02  # stored to 1e-7°, about 1 cm
    # Nothing is tiled yet: the towns have no boundaries, and the check says so.
    report = check_tree()
    assert not report.clean and {d.kind for d in report.defects} == {DefectKind.MISSING}
    assert len(report.defects) == 17 + 161


@real_data
@pytest.mark.django_db
def test_villages_alone_create_their_towns_and_county_from_the_columns():
    report = import_grids(DATA / "dalad_villages_2021_derived.csv", effective=DAY)
    levels = [s.level for s in report.created]
    assert (levels.count(0), levels.count(1), levels.count(2)) == (1, 17, 161)
    assert Grid.objects.get(code="150621001").name == "工业街道"


@real_data
@pytest.mark.django_db
def test_a_source_with_another_code_system_is_rejected_whole():
    import_grids(DATA / "stats2023_modood_streets_150621.csv", effective=DAY)
    before = counts()
    with pytest.raises(GridInputError) as exc:
        import_grids(DATA / "areacity_level4_150621.csv", effective=DAY)
    text = "\n".join(exc.value.messages)
    # 锡尼 is 001 at Tencent but 003 at the statistics bureau: the clash is named by row and code.
    assert "row 3 (code 150621001)" in text and "工业街道" in text and "锡尼" in text
    # A new code whose name an existing sibling already has: another code system.
    assert "昭君镇" in text and "150621104" in text
    assert counts() == before


@real_data
@pytest.mark.django_db
def test_repeated_codes_and_other_counties_are_rejected():
    with pytest.raises(GridInputError) as exc:
        import_grids(DATA / "stats2017-2023_towns_150621_series_derived.csv", effective=DAY)
    assert "row 19 (code 150621001)" in exc.value.messages[0] and "row 2" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        import_grids(DATA / "datav_150600_ordos_full.json", crs="gcj02", effective=DAY)
    assert any("150602" in m and "county" in m for m in exc.value.messages)
    assert Grid.objects.count() == 0


# -- encodings ---------------------------------------------------------------------------------------------------
TOWNS_CSV = "code,name,areaCode\n150621100,树林召镇,150621\n150621200,展旦召苏木,150621\n"


@pytest.mark.parametrize(
    "encoded",
    [
        TOWNS_CSV.encode("utf-8"),
        b"\xef\xbb\xbf" + TOWNS_CSV.encode("utf-8"),
        TOWNS_CSV.encode("gb18030"),
        TOWNS_CSV.encode("gbk"),
        TOWNS_CSV.replace("\n", "\r\n").encode("gbk"),  # Excel on Windows
        TOWNS_CSV.encode("utf-16"),  # Excel's "Unicode text", with BOM
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "gbk-crlf", "utf16"],
)
@pytest.mark.django_db
def test_csv_encodings_are_detected(encoded):
    import_grids(encoded, name="towns.csv", effective=DAY)
    assert dict(Grid.objects.filter(level=1).values_list("code", "name")) == {
        "150621100": "树林召镇",
        "150621200": "展旦召苏木",
    }


def test_undecodable_bytes_are_refused():
    with pytest.raises(GridInputError) as exc:
        decode(b"code,name\n150621100,\x81\x20\xff\xfe\xfd\n")
    assert "GB18030" in exc.value.messages[0]


@pytest.mark.django_db
def test_chinese_headers_tabs_and_figures():
    text = "区划代码\t名称\t户数\t人口\n150621100\t树林召镇\t1200\t3400\n"
    import_grids(text.encode("gbk"), name="towns.txt", effective=DAY)
    town = Grid.objects.get(code="150621100")
    assert (town.name, town.households, town.population) == ("树林召镇", 1200, 3400)


# -- bad files are rejected whole --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_bad_geojson_is_rejected_whole_naming_each_feature(small_tree):
    before = counts()
    x0 = 109.0
    good = feature("150621100202", "新村", box(x0, 40.1, x0 + 0.05, 40.15))
    bowtie = {
        "type": "Feature",
        "properties": {"code": "150621100203", "name": "八字村"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, 40.1], [x0 + 0.1, 40.2], [x0 + 0.1, 40.1], [x0, 40.2], [x0, 40.1]]],
        },
    }
    short = feature("15062110020", "短码", box(x0, 40.2, x0 + 0.05, 40.25))
    duplicate = feature("150621100200", "重复", box(x0, 40.3, x0 + 0.05, 40.35))  # exists, with a boundary
    again = feature("150621100202", "新村二", box(x0, 40.4, x0 + 0.05, 40.45))
    with pytest.raises(GridInputError) as exc:
        import_grids(geojson(good, bowtie, short, duplicate, again), name="bad.geojson", effective=DAY)
    messages = exc.value.messages
    assert any(m.startswith("feature 2 (code 150621100203)") and "crosses itself" in m for m in messages)
    assert any(m.startswith("feature 3 (code 15062110020)") and "11 digits" in m for m in messages)
    assert any(m.startswith("feature 5 (code 150621100202)") and "feature 1" in m for m in messages)
    assert nothing_written(*before)
    # With the bad ones out, the duplicate of a grid that has a boundary is still named.
    with pytest.raises(GridInputError) as exc:
        import_grids(geojson(good, duplicate), name="bad.geojson", effective=DAY)
    assert any("feature 2 (code 150621100200)" in m and "already exists" in m for m in exc.value.messages)
    assert nothing_written(*before)


@pytest.mark.django_db
def test_broken_json_names_the_line_and_column():
    with pytest.raises(GridInputError) as exc:
        import_grids(b'{"type": "FeatureCollection",\n "features": [}', name="broken.json")
    assert "line 2" in exc.value.messages[0] and "column" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        import_grids(json.dumps(mapping(box(109, 40, 110, 41))).encode(), name="bare.json")
    assert "FeatureCollection" in exc.value.messages[0]


@pytest.mark.django_db
def test_a_csv_with_one_bad_row_at_the_end_imports_nothing():
    rows = [f"150621{100 + i:03d},镇{i}" for i in range(10)] + ["15062110,坏"]
    with pytest.raises(GridInputError) as exc:
        import_grids(("code,name\n" + "\n".join(rows)).encode(), name="towns.csv", effective=DAY)
    assert exc.value.messages == [
        "row 12 (code 15062110), code: code 15062110 has 8 digits: a grid code has 6 (county), 9 (town), 12 "
        "(village) or 15 (grid) digits"
    ]
    assert Grid.objects.count() == 0 and GridChange.objects.count() == 0


@pytest.mark.django_db
def test_csv_problems_are_named():
    with pytest.raises(GridInputError) as exc:
        import_grids("名字,人数\n树林召镇,3\n".encode(), name="x.csv")
    assert "no column of codes" in exc.value.messages[0] and "名字" in exc.value.messages[0]
    with pytest.raises(GridInputError) as exc:
        import_grids(b"code,name\n150621100,\n150621101,a,b\n", name="x.csv")
    assert exc.value.messages[0].startswith("row 3") and "3 fields" in exc.value.messages[0]
    assert exc.value.messages[1].startswith("row 2 (code 150621100), name:")


@pytest.mark.django_db
def test_a_parent_found_nowhere_is_named(small_tree):
    with pytest.raises(GridInputError) as exc:
        import_grids(b"code,name\n150621105201,\xe6\x9d\x91\n", name="v.csv", effective=DAY)
    assert "150621105" in exc.value.messages[0] and "parent" in exc.value.messages[0]


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(small_tree):
    before = counts()
    report = import_grids(
        b"code,name\n150621102,\xe6\x96\xb0\xe9\x95\x87\n", name="t.csv", effective=DAY, dry_run=True
    )
    assert [s.code for s in report.created] == ["150621102"]
    assert counts() == before


# -- a CSV names grids, a GeoJSON gives their boundaries --------------------------------------------------------------
@pytest.mark.django_db
def test_geojson_fills_boundaries_of_grids_a_csv_created(small_tree):
    import_grids("code,name\n150621100202,新村\n150621100202001,一组\n".encode(), name="v.csv", effective=DAY)
    village = Grid.objects.current().get(code="150621100202")
    assert village.geometry is None and village.area_m2 is None
    assert {d.codes[0] for d in check_tree().defects if d.kind == DefectKind.MISSING} == {
        "150621100202",
        "150621100202001",
    }
    square = box(109.0, 40.1, 109.05, 40.15)
    report = import_grids(
        geojson(feature("150621100202", "新村", square), feature("150621100202001", "第一组", square)),
        name="v.geojson",
        effective=DAY,
    )
    assert report.created == [] and report.filled == ["150621100202", "150621100202001"]
    assert any("第一组" in w.message for w in report.warnings)  # the name stays 一组
    village.refresh_from_db()
    assert shapely.equals(from_geojson(village.geometry), square)
    assert village.area_m2 == pytest.approx(2.36e7, rel=0.01)  # 4.26 km × 5.55 km
    assert GridVersion.objects.get(grid=village).geometry == village.geometry
    assert Grid.objects.get(code="150621100202001").name == "一组"
    change = GridChange.objects.latest("pk")
    assert change.moved["filled"] == ["150621100202", "150621100202001"]
    # A boundary once known is changed by adjustments, not by importing again.
    with pytest.raises(GridInputError) as exc:
        import_grids(geojson(feature("150621100202", "新村", square)), name="v.geojson", effective=DAY)
    assert "already exists" in exc.value.messages[0] and "redraw" in exc.value.messages[0]


@pytest.mark.django_db
def test_special_grids_from_geojson_properties(small_tree):
    school = box(109.0, 40.0, 109.01, 40.01)
    import_grids(
        geojson(feature("150621100200901", "第一中学", school, kind="school")), name="s.json", effective=DAY
    )
    assert Grid.objects.get(code="150621100200901").kind == GridKind.SCHOOL
    with pytest.raises(GridInputError) as exc:
        import_grids(geojson(feature("150621100200902", "集贸市场", school)), name="s.json", effective=DAY)
    assert "reserved for special-purpose grids" in exc.value.messages[0]


# -- the command -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_command_imports_and_reports(tmp_path, capsys):
    path = tmp_path / "towns.csv"
    path.write_bytes(TOWNS_CSV.encode("gbk"))
    call_command("import_grids", str(path), "--effective", "2025-01-01")
    out = capsys.readouterr().out
    assert "3" in out and Grid.objects.count() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n150621100,重名\n")
    with pytest.raises(SystemExit) as exit_:
        call_command("import_grids", str(bad), "--json")
    assert exit_.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["problems"][0]["where"] == "row 2 (code 150621100)"
    with pytest.raises(SystemExit):
        call_command("import_grids", str(path), "--crs", "mars")
    assert "mars" in capsys.readouterr().err
