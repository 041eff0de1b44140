"""The grid API behind the map: scope (404 outside it), GeoJSON children, detail with people, search, and
query counts that do not grow with the number of grids or people shown."""

from __future__ import annotations

import json

import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import seed_demo
from gridgov.grids.models import Grid

pytestmark = pytest.mark.django_db
API = "/api/grids/"


@pytest.fixture(scope="module")
def county_once(module_db):
    """Seeded once for the module (each test's changes are rolled back after it)."""
    with module_db():
        seed_demo(DemoConfig.small())


@pytest.fixture
def county(db, county_once):
    return {g.code: g for g in Grid.objects.current()}


def as_user(client, username: str):
    client.force_login(User.objects.get(username=username))
    return client


def get(client, path: str, **params):
    return client.get(API + path, params)


def test_anonymous_calls_answer_401_and_the_page_asks_to_sign_in(client, county):
    root = county["150621"]
    for path in ("start", f"{root.pk}", f"{root.pk}/children.geojson", "search"):
        assert get(client, path).status_code == 401, path
    response = client.get("/grids/map/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_leader_sees_the_county_as_geojson(client, county):
    as_user(client, "leader")
    start = get(client, "start").json()
    assert start["code"] == "150621" and start["level"] == 0 and start["ancestors"] == []
    data = get(client, f"{start['id']}/children.geojson", zoom=9).json()
    assert data["type"] == "FeatureCollection" and data["parent"]["code"] == "150621"
    codes = [f["properties"]["code"] for f in data["features"]]
    assert codes == sorted(g.code for g in county.values() if g.level == 1)
    for feature in data["features"]:
        props = feature["properties"]
        town = county[props["code"]]
        assert feature["id"] == props["id"] == town.pk
        assert props["child_count"] == Grid.objects.current().filter(parent=town).count()
        assert props["population"] == town.population and props["households"] == town.households
        assert props["area_km2"] == pytest.approx(town.area_m2 / 1e6, rel=1e-3)
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.geom_type == "Polygon" and shape.is_valid
        assert shape.contains(shapely.Point(props["label"])) or shape.touches(shapely.Point(props["label"]))


def test_outside_the_scope_a_grid_answers_404(client, county):
    as_user(client, "l2head")  # head of village 150621100200
    start = get(client, "start").json()
    # Only one way leads down (county → own town → own village), so the map opens on the village.
    assert start["code"] == "150621100200"
    assert [a["code"] for a in start["ancestors"]] == ["150621", "150621100"]
    root_children = get(client, f"{county['150621'].pk}/children.geojson").json()
    assert [f["properties"]["code"] for f in root_children["features"]] == ["150621100"]
    # The own town shows only the own village, and counts only what the head may see.
    town = get(client, f"{county['150621100'].pk}").json()
    assert town["child_count"] == 1 and town["people"] == []
    for code in ("150621104", "150621100201", "150621100201001"):
        assert get(client, f"{county[code].pk}").status_code == 404, code
        assert get(client, f"{county[code].pk}/children.geojson").status_code == 404, code
    assert get(client, "999999999").status_code == 404
    assert get(client, "search", q="150621104").json() == []
    assert [h["code"] for h in get(client, "search", q="150621100200001").json()] == ["150621100200001"]


def test_a_resident_has_no_grid_in_scope(client, county):
    as_user(client, "resident")
    assert get(client, "start").status_code == 404
    assert get(client, f"{county['150621'].pk}").status_code == 404


def test_the_detail_names_the_responsible_people(client, county):
    as_user(client, "leader")
    leaf = county["150621100200001"]
    detail = get(client, f"{leaf.pk}").json()
    assert detail["level"] == 3 and detail["child_count"] == 0
    assert [a["code"] for a in detail["ancestors"]] == ["150621", "150621100", "150621100200"]
    people = {(p["role"], p["name"]) for p in detail["people"]}
    for a in RoleAssignment.objects.filter(grid=leaf).select_related("user"):
        assert (a.role, a.user.full_name) in people
    roles = [p["role"] for p in detail["people"]]
    assert roles.index(Role.GRID_SPECIALIST) < roles.index(Role.INFO_OFFICER)  # who answers first, first
    village = get(client, f"{county['150621100200'].pk}").json()
    guides = [p for p in village["people"] if p["role"] == Role.GRID_GUIDE]
    assert guides and all(p["department"] for p in guides)
    assert village["people"][0]["role"] == Role.GRID_HEAD_L2


def test_the_labels_follow_the_language(client, county):
    as_user(client, "leader")
    leaf = county["150621100200001"]
    client.cookies["django_language"] = "en"
    detail = get(client, f"{leaf.pk}").json()
    assert detail["level_label"] == "level-3 grid"
    assert {p["role_label"] for p in detail["people"]} >= {"grid specialist", "information officer"}
    client.cookies["django_language"] = "zh-hans"
    detail = get(client, f"{leaf.pk}").json()
    assert "网格专员" in {p["role_label"] for p in detail["people"]}


def test_no_query_per_grid_or_per_person(client, county, django_assert_num_queries):
    as_user(client, "leader")
    root = county["150621"]
    village = max((g for g in county.values() if g.level == 2), key=lambda g: g.children.count())
    assert village.children.count() > root.children.count()  # more rows, the same number of queries
    # session, user, the user's role assignments (scope), the grid, its children with their counts (the
    # session was renewed at sign-in, so it is not written again within the minute)
    for grid in (root, village):
        with django_assert_num_queries(5):
            assert get(client, f"{grid.pk}/children.geojson").status_code == 200
    # session, user, scope, the grid with its child count, its ancestors, its people (users, departments
    # joined)
    leaf_people = RoleAssignment.objects.filter(grid=county["150621100200001"]).count()
    village_people = RoleAssignment.objects.filter(grid=county["150621100200"]).count()
    assert leaf_people != village_people
    for code in ("150621100200001", "150621100200"):
        with django_assert_num_queries(6):
            assert get(client, f"{county[code].pk}").status_code == 200
    with CaptureQueriesContext(connection) as few:
        get(client, "search", q="1506211")
    with CaptureQueriesContext(connection) as many:
        get(client, "search", q="社")
    assert len(few) == len(many)


def test_geometry_is_simplified_for_the_zoom_and_stays_seamless(client, county):
    as_user(client, "leader")
    town = county["150621100"]

    def coordinates(zoom):
        data = get(client, f"{town.pk}/children.geojson", zoom=zoom).json()
        shapes = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
        return shapes, sum(len(shapely.get_coordinates(s)) for s in shapes), data["tolerance"]

    coarse, coarse_n, coarse_tol = coordinates(7)
    fine, fine_n, fine_tol = coordinates(15)
    assert coarse_n < fine_n and coarse_tol > fine_tol
    # Siblings are simplified together: neighbours still share their edges (no overlap to speak of).
    for shapes in (coarse, fine):
        assert all(s.is_valid for s in shapes)
        union_area = shapely.union_all(shapes).area
        assert sum(s.area for s in shapes) == pytest.approx(union_area, rel=1e-6)


def test_search_by_name_or_code_prefix(client, county):
    as_user(client, "leader")
    village = county["150621100200"]
    hits = get(client, "search", q=village.name).json()
    assert hits[0]["code"] == village.code and hits[0]["context"] == county["150621100"].name
    by_code = get(client, "search", q="150621100200").json()
    assert by_code[0]["code"] == "150621100200" and all(h["code"].startswith("150621100200") for h in by_code)
    assert len(get(client, "search", q="1506").json()) == 20  # at most 20 hits
    assert get(client, "search", q=" ").json() == []


def test_the_map_page_carries_its_configuration(client, county):
    as_user(client, "l1head")
    response = client.get("/grids/map/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="map"' in html and "vendor/leaflet/leaflet.js" in html and "grids/map.js" in html
    assert "cdn" not in html.lower()
    config = json.loads(
        html.split('<script id="map-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["api"] == API and config["tileUrl"] == ""


@pytest.mark.parametrize("zoom", ["nan", "inf", "-1", "99", "abc"])
def test_a_zoom_that_is_not_a_map_zoom_is_refused_not_crashed_on(client, county, zoom):
    as_user(client, "leader")
    root = county["150621"]
    response = get(client, f"{root.pk}/children.geojson", zoom=zoom)
    assert response.status_code == 422
    assert "zoom" in response.content.decode()
