"""Codes by level, the special-purpose range, and boundaries: each refusal names what is wrong."""

import pytest
from django.utils import translation
from shapely.geometry import Polygon, box, mapping

from gridgov.grids.models import GridKind
from gridgov.grids.validation import (
    code_problems,
    level_of,
    normalise_code,
    parent_problems,
    parse_geometry,
    sequence_range,
    shape_problems,
)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids); test_translations checks the Chinese ones."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("150621", 0),
        ("150621100", 1),
        ("150621100201", 2),
        ("150621100201003", 3),
        ("1506211", None),
        ("15062", None),
    ],
)
def test_level_comes_from_the_code_length(code, level):
    assert level_of(code) == level


def test_good_codes_pass():
    for code in ("150621", "150621100", "150621100201", "150621100201001", "150621100201899"):
        assert code_problems(code) == []
    assert code_problems("150621100201901", kind=GridKind.SCHOOL) == []


def test_wrong_length_is_named_with_the_count():
    [problem] = code_problems("15062110020")
    assert "15062110020" in problem and "11" in problem


def test_letters_another_county_and_000_are_refused():
    assert "digits" in code_problems("15062110020A")[0]
    assert "150622" in code_problems("150622100")[0]  # another county
    assert "000" in code_problems("150621100000")[0]


def test_the_special_range_belongs_to_special_grids_only():
    [problem] = code_problems("150621100201950")  # a base grid in 900–999
    assert "900" in problem and "150621100201950" in problem
    [problem] = code_problems("150621100201010", kind=GridKind.MARKET)  # a market outside 900–999
    assert "900" in problem
    [problem] = code_problems("150621100201", kind=GridKind.SCHOOL)  # a village cannot be special
    assert "level 3" in problem
    assert "unknown kind" in code_problems("150621100201001", kind="castle")[0]


def test_a_child_code_extends_its_parent_code():
    assert parent_problems("150621100201001", "150621100201") == []
    assert parent_problems("150621101201001", "150621100201")
    assert parent_problems("150621100201001", "150621100")  # skips a level


def test_statistical_codes_padded_with_zeros_are_shortened():
    assert normalise_code("150621100000") == "150621100"
    assert normalise_code("150621000000") == "150621"
    assert normalise_code(" 150621100201 ") == "150621100201"
    assert normalise_code(150621) == "150621"  # DataV's adcode is a number
    assert normalise_code("150621100201.0") == "150621100201"


def test_sequence_ranges():
    assert sequence_range(3, GridKind.BASE) == range(1, 900)
    assert sequence_range(3, GridKind.SCHOOL) == range(900, 1000)
    assert sequence_range(1, GridKind.BASE, 104) == range(100, 200)  # a 镇 stays a 镇
    assert sequence_range(2, GridKind.BASE, 5) == range(1, 100)


def test_a_self_intersecting_polygon_is_refused_naming_the_place():
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[109.0, 40.0], [109.1, 40.1], [109.1, 40.0], [109.0, 40.1], [109.0, 40.0]]],
    }
    geom, problems = parse_geometry(bowtie)
    assert geom is None
    [problem] = problems
    assert "crosses itself" in problem
    assert "109.050000, 40.050000" in problem  # where the edges cross
    with translation.override("zh-hans"):
        _geom, [problem] = parse_geometry(bowtie)
    assert "109.050000, 40.050000" in problem


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (None, "missing"),
        ({"type": "Point", "coordinates": [109, 40]}, "Point"),
        ({"type": "LineString", "coordinates": [[109, 40], [110, 41]]}, "LineString"),
        ({"type": "Polygon", "coordinates": []}, "no rings"),
        ({"type": "Polygon", "coordinates": [[[109, 40], [109.1, 40], [109, 40]]]}, "fewer than 3"),
        ({"type": "Polygon", "coordinates": [[[109, 40], ["x", 40], [109.1, 40.1], [109, 40]]]}, "point 2"),
        ({"type": "Polygon", "coordinates": [[[40, 109], [40.1, 109], [40.1, 109.1], [40, 109]]]}, "swapped"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[500000, 4400000], [500100, 4400000], [500100, 4400100], [500000, 4400000]]],
            },
            "projected",
        ),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [[[[109, 40], [109.1, 40], [109.1, 40.1], [109, 40]]], []],
            },
            "polygon 2",
        ),
        (
            {"type": "Polygon", "coordinates": [[[109, 40], [109.1, 40], [109.2, 40], [109, 40]]]},
            "not valid",
        ),  # all on one line
    ],
)
def test_bad_geometries_are_named(geometry, expected):
    geom, problems = parse_geometry(geometry)
    assert geom is None
    assert expected in " ".join(problems)


def test_good_geometries_pass():
    square = box(109.0, 40.0, 109.1, 40.1)
    geom, problems = parse_geometry(mapping(square))
    assert problems == [] and geom.equals(square)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [mapping(square)["coordinates"], mapping(box(110, 40, 110.1, 40.1))["coordinates"]],
    }
    assert parse_geometry(multi)[1] == []
    assert shape_problems(Polygon()) == ["the geometry is empty"]
