"""Grid administration pages: draw, split, merge and redraw through the page, each with its preview of what
moves (grids below, people, open cases), refusals that change nothing, and who may use the pages at all."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from shapely.geometry import LineString, box, mapping

from gridgov.accounts.models import RoleAssignment
from gridgov.cases.tests.helpers import report_case
from gridgov.core.models import AuditRecord
from gridgov.grids.models import Grid, GridChange, GridVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def sysadmin(make_user):
    return make_user("sysadmin", is_staff=True, admin_duty="system", full_name="系统管理员", language="en")


@pytest.fixture
def admin_client(sysadmin):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(sysadmin)
    return client


def op_url(grid: Grid, op: str) -> str:
    return reverse("grids:manage_op", args=[grid.pk, op])


def today() -> str:
    return timezone.localdate().isoformat()


def tree_state() -> tuple:
    """Everything an adjustment changes: a refused one must leave all of it as it was."""
    return (
        list(Grid.objects.order_by("pk").values_list("pk", "code", "name", "valid_to", "area_m2")),
        GridVersion.objects.count(),
        GridChange.objects.count(),
        list(RoleAssignment.objects.order_by("pk").values_list("pk", "grid_id")),
        AuditRecord.objects.filter(action__startswith="grids.").count(),
    )


def page_text(response) -> str:
    return response.content.decode()


# -- the page ---------------------------------------------------------------------------------------------
def test_manage_page_shows_the_grid_its_facts_tree_and_map(
    world, admin_client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        response = admin_client.get(reverse("grids:manage"), {"grid": world.village.pk})
    assert response.status_code == 200
    html = page_text(response)
    assert world.village.code in html and world.village.name in html
    # Facts, the ancestors, the children, the operations.
    for fact in ("Area", "Population", "Version", "Level"):
        assert fact in html
    assert f"?grid={world.town.pk}" in html  # the crumb up to the town
    assert f"?grid={world.grid.pk}" in html and f"?grid={world.grid_b.pk}" in html
    for op in ("edit", "create", "split", "merge", "redraw"):
        assert op_url(world.village, op) in html
    # The people on it.
    assert world.l2head.username in html
    data = response.context["map_data"]
    assert {f["properties"]["code"] for f in data["children"]["features"]} == {
        world.grid.code,
        world.grid_b.code,
    }
    neighbours = [f for f in data["siblings"]["features"] if f["properties"]["neighbour"]]
    assert [f["properties"]["code"] for f in neighbours] == ["150621100201"]
    assert data["selected"]["geometry"]["type"] == "Polygon"


def test_search_finds_grids_by_name_and_code(world, admin_client):
    response = admin_client.get(reverse("grids:manage"), {"q": "网格1-1"})
    assert [g.code for g in response.context["hits"]] == [world.grid.code, world.grid_b.code]
    response = admin_client.get(reverse("grids:manage"), {"q": "150621101"})
    assert response.context["hits"][0].code == "150621101"


def test_root_has_no_split_merge_or_redraw(world, admin_client):
    response = admin_client.get(reverse("grids:manage"))
    assert response.context["grid"] == world.root
    assert [op for op, _label in response.context["operations"]] == ["create"]
    assert admin_client.get(op_url(world.root, "split")).status_code == 404


@pytest.mark.parametrize("who", ["operator", "leader", "secadmin", "l2head"])
def test_everyone_but_the_system_administrator_gets_404(world, make_user, who):
    user = (
        make_user("secadmin", is_staff=True, admin_duty="security")
        if who == "secadmin"
        else getattr(world, who)
    )
    client = Client()
    client.force_login(user)
    before = tree_state()
    assert client.get(reverse("grids:manage")).status_code == 404
    assert client.get(op_url(world.village, "split")).status_code == 404
    response = client.post(
        op_url(world.grid, "edit"), {"name": "改名", "households": 1, "population": 1, "save": "1"}
    )
    assert response.status_code == 404
    assert tree_state() == before


def test_posts_need_the_csrf_token(world, sysadmin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sysadmin)
    before = tree_state()
    response = client.post(op_url(world.grid, "edit"), {"name": "改名", "households": 1, "population": 1})
    assert response.status_code == 403
    response = client.post(
        op_url(world.grid, "merge"),
        {"grids": [world.grid_b.pk], "name": "合并", "effective": today(), "save": "1"},
    )
    assert response.status_code == 403
    assert tree_state() == before
    # The form carries the token.
    page = client.get(op_url(world.grid, "merge"))
    assert 'name="csrfmiddlewaretoken"' in page_text(page)


def test_edit_renames_the_grid_and_audits_it(world, admin_client):
    village_population = Grid.objects.get(pk=world.village.pk).population
    response = admin_client.post(
        op_url(world.grid, "edit"), {"name": "新名字", "households": 120, "population": 310}
    )
    assert response.status_code == 302
    grid = Grid.objects.get(pk=world.grid.pk)
    assert (grid.name, grid.households, grid.population) == ("新名字", 120, 310)
    assert AuditRecord.objects.filter(action="grids.update", object_id=str(grid.pk)).exists()
    # A grid with grids below: its figures are theirs, so only the name changes.
    admin_client.post(op_url(world.village, "edit"), {"name": "新村", "households": 1, "population": 1})
    village = Grid.objects.get(pk=world.village.pk)
    # The grid's correction (+10) was carried up; the figures typed for the village were not taken.
    assert village.name == "新村" and village.population == village_population + 10


def test_edit_refuses_an_empty_name_next_to_the_field(world, admin_client):
    before = tree_state()
    response = admin_client.post(op_url(world.grid, "edit"), {"name": "  ", "households": 1, "population": 1})
    assert response.status_code == 200
    assert "Name: This field is required." in page_text(response)
    assert tree_state() == before


# -- split ------------------------------------------------------------------------------------------------
def split_village(client, world, save: bool = False, **extra):
    line = LineString([(109.025, 39.99), (109.025, 40.11)])  # between the village's two grids
    data = {"geometry": json.dumps(mapping(line)), "effective": today(), "reason": "区划调整", **extra}
    if save:
        data["save"] = "1"
    return client.post(op_url(world.village, "split"), data)


def test_split_preview_shows_the_pieces_and_what_moves(world, admin_client, django_assert_max_num_queries):
    report_case(world)  # two open cases in the west grid, one in the east
    report_case(world, where=(109.04, 40.05))  # in the east grid
    report_case(world, where=(109.012, 40.02))
    before = tree_state()
    with django_assert_max_num_queries(30):
        response = split_village(admin_client, world)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.ok, preview.problems
    assert [(p.code, p.level) for p in preview.results] == [("150621100202", 2), ("150621100203", 2)]
    # The pieces' names are suggested and shown in the form, to be corrected before saving.
    assert [p.name for p in preview.results] == ["村1-1-1", "村1-1-2"]
    # The two grids below move, one under each piece, with new codes.
    assert [(m.grid.code, m.to_code) for m in preview.moves] == [
        (world.grid.code, "150621100202001"),
        (world.grid_b.code, "150621100203002"),
    ]
    # People on the village are copied to both pieces; people on the grids below follow their grid.
    people = {(a["user"].username, a["from"], tuple(a["to"])) for a in preview.assignments}
    assert ("l2", world.village.code, ("150621100202", "150621100203")) in people
    assert ("spec", world.grid.code, ("150621100202001",)) in people
    # Open cases: counted on the village by the piece that holds their point, and on the moving grids.
    cases = {row["grid"].code: row for row in response.context["cases"]}
    assert cases[world.village.code]["to"] == [("150621100202", 2), ("150621100203", 1)]
    assert cases[world.grid.code]["to"] == [("150621100202001", 2)]
    assert cases[world.grid_b.code]["to"] == [("150621100203002", 1)]
    html = page_text(response)
    assert 'name="save"' in html and "preview-moves" in html
    assert response.context["map_data"]["preview"]["features"][0]["properties"]["code"] == "150621100202"
    assert tree_state() == before  # a preview writes nothing


def test_split_saves_what_the_preview_showed(world, admin_client):
    preview = split_village(admin_client, world).context["preview"]
    response = split_village(admin_client, world, save=True, names="东村\n西村")
    assert response.status_code == 302
    village = Grid.objects.get(pk=world.village.pk)
    assert village.valid_to is not None
    pieces = list(
        Grid.objects.current().filter(parent=world.town, code__in=[p.code for p in preview.results])
    )
    assert sorted(g.name for g in pieces) == ["东村", "西村"]
    assert Grid.objects.current().filter(code="150621100202001").exists()
    assert RoleAssignment.objects.filter(user=world.l2head, grid__in=pieces).count() == 2
    change = GridChange.objects.get(kind="split")
    assert change.reason == "区划调整"
    assert AuditRecord.objects.filter(action="grids.split").exists()


def test_split_by_drawn_parts_from_an_uploaded_file(world, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    west = {
        "type": "Feature",
        "properties": {"name": "西片"},
        "geometry": mapping(box(109.0, 40.0, 109.0125, 40.1)),
    }
    upload = SimpleUploadedFile(
        "parts.geojson", json.dumps({"type": "FeatureCollection", "features": [west]}).encode()
    )
    response = admin_client.post(
        op_url(world.grid, "split"), {"file": upload, "effective": today(), "preview": "1"}
    )
    preview = response.context["preview"]
    assert preview.ok, preview.problems
    # The drawn part and what is left of the grid.
    assert [p.name for p in preview.results] == ["西片", "网格1-1-1-2"]
    assert [round(p.area_km2, 2) for p in preview.results] == [
        round(preview.results[0].area_km2, 2),
        round(preview.results[0].area_km2, 2),
    ]
    # The file's shapes go back into the form as text, so Save sends them again.
    assert "西片" in response.context["form"]["geometry"].value()


def test_a_line_that_does_not_cross_is_refused_by_the_field(world, admin_client):
    before = tree_state()
    line = LineString([(109.01, 40.05), (109.02, 40.05)])  # inside the grid
    response = admin_client.post(
        op_url(world.grid, "split"),
        {"geometry": json.dumps(mapping(line)), "effective": today(), "save": "1"},
    )
    assert response.status_code == 200
    assert "the line does not cut the grid in two" in page_text(response)
    assert tree_state() == before


# -- merge ------------------------------------------------------------------------------------------------
def test_merge_preview_and_save(world, admin_client, django_assert_max_num_queries):
    report_case(world)
    data = {"grids": [world.grid_b.pk], "name": "合并网格", "effective": today()}
    with django_assert_max_num_queries(30):
        response = admin_client.post(op_url(world.grid, "merge"), data)
    preview = response.context["preview"]
    assert preview.ok, preview.problems
    [merged] = preview.results
    assert merged.code == "150621100200003" and merged.population == 600
    assert {g.code for g in preview.closed} == {world.grid.code, world.grid_b.code}
    people = {(a["user"].username, tuple(a["to"])) for a in preview.assignments}
    assert ("spec", (merged.code,)) in people and ("officer", (merged.code,)) in people
    assert [(r["grid"].code, r["to"]) for r in response.context["cases"]] == [
        (world.grid.code, [(merged.code, 1)])
    ]

    response = admin_client.post(op_url(world.grid, "merge"), {**data, "save": "1"})
    assert response.status_code == 302
    new = Grid.objects.current().get(code=merged.code)
    assert new.name == "合并网格"
    assert response["Location"].endswith(f"?grid={new.pk}")
    assert RoleAssignment.objects.filter(user=world.specialist, grid=new).exists()
    assert AuditRecord.objects.filter(action="grids.merge").exists()


def test_a_name_taken_by_a_sibling_is_refused_with_the_reason(world, admin_client):
    before = tree_state()
    response = split_village(admin_client, world, save=True, names="村1-2\n新村")
    assert response.status_code == 200
    assert "the name 村1-2 is already used by 150621100201 under the same parent" in page_text(response)
    assert not response.context["preview"].ok
    assert tree_state() == before


# -- redraw -----------------------------------------------------------------------------------------------
def test_redraw_preview_counts_the_cases_that_change_sides_and_saves(
    world, admin_client, django_assert_max_num_queries
):
    report_case(world)  # stays in A
    report_case(world, where=(109.027, 40.05))  # in B, inside the strip A takes
    report_case(world, where=(109.04, 40.05))  # stays in B
    new_a = box(109.0, 40.0, 109.03, 40.1)
    data = {"neighbour": str(world.grid_b.pk), "geometry": json.dumps(mapping(new_a)), "effective": today()}
    with django_assert_max_num_queries(30):
        response = admin_client.post(op_url(world.grid, "redraw"), data)
    preview = response.context["preview"]
    assert preview.ok, preview.problems
    a, b = preview.results
    assert a.code == world.grid.code and b.code == world.grid_b.code
    assert round(a.area_m2 / b.area_m2, 2) == round(0.03 / 0.02, 2)
    assert preview.moves == [] and preview.assignments == []
    assert [(r["grid"].code, r["to"]) for r in response.context["cases"]] == [
        (world.grid_b.code, [(world.grid.code, 1)])
    ]
    response = admin_client.post(op_url(world.grid, "redraw"), {**data, "save": "1"})
    assert response.status_code == 302
    grid = Grid.objects.get(pk=world.grid.pk)
    assert round(grid.area_m2) == round(a.area_m2)
    assert GridVersion.objects.filter(grid=grid).count() == 2
    assert AuditRecord.objects.filter(action="grids.redraw").exists()


def test_redraw_beyond_the_two_grids_is_refused(world, admin_client):
    before = tree_state()
    new_a = box(108.99, 40.0, 109.03, 40.1)  # sticks out west of the village
    response = admin_client.post(
        op_url(world.grid, "redraw"),
        {
            "neighbour": str(world.grid_b.pk),
            "geometry": json.dumps(mapping(new_a)),
            "effective": today(),
            "save": "1",
        },
    )
    assert response.status_code == 200
    assert "the new boundary goes" in page_text(response) and "beyond" in page_text(response)
    assert 'name="save"' not in page_text(response)
    assert tree_state() == before


# -- draw a new grid --------------------------------------------------------------------------------------
def test_draw_a_sub_grid_inside_a_grid(world, admin_client):
    inside = box(109.005, 40.01, 109.02, 40.04)
    data = {
        "name": "学校网格",
        "kind": "school",
        "geometry": json.dumps(mapping(inside)),
        "effective": today(),
    }
    response = admin_client.post(op_url(world.grid, "create"), data)
    preview = response.context["preview"]
    assert preview.ok, preview.problems
    assert [(p.code, p.level) for p in preview.results] == [("150621100200001900", 4)]
    response = admin_client.post(op_url(world.grid, "create"), {**data, "save": "1"})
    assert response.status_code == 302
    new = Grid.objects.current().get(code="150621100200001900")
    assert (new.parent_id, new.kind, new.name) == (world.grid.pk, "school", "学校网格")
    assert GridChange.objects.filter(kind="create", opened=new).exists()
    assert AuditRecord.objects.filter(action="grids.create").exists()


def test_a_drawn_grid_overlapping_a_neighbour_is_refused_and_nothing_changes(world, admin_client):
    before = tree_state()
    # Inside the village, over its grid 001: a new grid would overlap it.
    overlapping = box(109.01, 40.02, 109.02, 40.03)
    response = admin_client.post(
        op_url(world.village, "create"),
        {
            "name": "新网格",
            "kind": "base",
            "geometry": json.dumps(mapping(overlapping)),
            "effective": today(),
            "save": "1",
        },
    )
    assert response.status_code == 200
    html = page_text(response)
    assert "overlap between" in html and world.grid.code in html
    assert 'name="save"' not in html
    assert tree_state() == before


def test_a_bad_shape_is_named_next_to_its_field(world, admin_client):
    before = tree_state()
    response = admin_client.post(
        op_url(world.grid, "create"),
        {"name": "x", "kind": "base", "geometry": "POLYGON((1 2, 3", "effective": today()},
    )
    assert "neither GeoJSON nor WKT" in page_text(response)
    response = admin_client.post(
        op_url(world.grid, "create"),
        {
            "name": "x",
            "kind": "base",
            "geometry": "POLYGON((109.01 40.01, 109.02 40.03, 109.02 40.01, 109.01 40.03, 109.01 40.01))",
            "effective": today(),
        },
    )
    assert "not valid" in page_text(response)
    assert tree_state() == before


# -- previews say what the services say -----------------------------------------------------------------------
def test_previews_refuse_what_the_services_refuse_with_the_same_reasons(small_tree):
    from gridgov.grids import services
    from gridgov.grids.validation import GridInputError

    g, b = small_tree["150621100200001"], small_tree["150621100200002"]
    far = small_tree["150621100201001"]
    village = small_tree["150621100200"]
    day = timezone.localdate()
    future = day.replace(year=day.year + 1)
    west, east = box(109.0, 40.0, 109.0125, 40.1), box(109.0125, 40.0, 109.025, 40.1)
    cases = [
        # overlapping pieces that also leave a gap
        ("split", (g, [("甲", west), ("乙", box(109.01, 40.0, 109.02, 40.1))]), {"effective": day}),
        # a name taken, a date in the future
        ("split", (g, [("网格1-1-2", west), ("乙", east)]), {"effective": future}),
        # a piece that cuts a grid below
        (
            "split",
            (village, [("甲", box(109.0, 40.0, 109.01, 40.1)), ("乙", box(109.01, 40.0, 109.05, 40.1))]),
            {"effective": day},
        ),
        # not siblings
        ("merge", ([g, far],), {"name": "合并", "effective": day}),
        # beyond both grids
        ("redraw", (g, b, box(108.99, 40.0, 109.03, 40.1)), {"effective": day}),
        # the same boundary
        ("redraw", (g, b, box(109.0, 40.0, 109.025, 40.1)), {"effective": day}),
    ]
    do = {
        "split": services.do_split_grid,
        "merge": services.do_merge_grids,
        "redraw": services.do_redraw_boundary,
    }
    preview = {
        "split": services.preview_split,
        "merge": services.preview_merge,
        "redraw": services.preview_redraw,
    }
    for kind, args, kwargs in cases:
        planned = preview[kind](*args, **kwargs)
        with pytest.raises(GridInputError) as refused:
            do[kind](*args, actor=None, **kwargs)
        assert planned.problems, kind
        assert [str(p) for p in planned.problems] == [str(p) for p in refused.value.problems], kind


def test_open_cases_follow_a_merge_saved_on_the_page(world, admin_client):
    from gridgov.cases.models import Case

    case = report_case(world)
    data = {"grids": [world.grid_b.pk], "name": "合并网格", "effective": today(), "save": "1"}
    assert admin_client.post(op_url(world.grid, "merge"), data).status_code == 302
    merged = Grid.objects.current().get(name="合并网格")
    assert Case.objects.get(pk=case.pk).grid_l3_id == merged.pk
