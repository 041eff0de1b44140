"""Who reaches which registry record, through the API and the pages alike.

The scene (`scene`, shared with the registry's other page and API tests): four people registered through the
services in the small tree —

- 张建国 and his wife 李秀英 in grid g (150621100200001), household H-0001; he is an elderly person living alone;
- 王德胜 in grid g_b (150621100200002), the same village; a person with a disability;
- 陈美兰 in the other town's grid (150621101200001); a member of a minimum-living-allowance household;

and an organisation and a component in g. A record outside the caller's scope answers 404 like one that does
not exist; residents, mediators and volunteers find nothing; heads above the village see people but key groups
as counts only."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.test import Client, RequestFactory

from gridgov.accounts.models import RoleAssignment
from gridgov.registry.admin import PersonMoveInline, PersonRoleInline
from gridgov.registry.choices import KeyGroup
from gridgov.registry.models import Component, Household, Organisation, Person
from gridgov.registry.services import PersonInput, do_register_person
from gridgov.registry.validators import id_check_char

API = "/api/registry"


def id_number(body17: str) -> str:
    return body17 + id_check_char(body17)


# Written out, so that a test can look for them in whatever a page or an answer holds.
PEOPLE = {
    "zhang": {"name": "张建国", "id": id_number("15062119500101123"), "phone": "13812345678"},
    "li": {"name": "李秀英", "id": id_number("15062119520315124"), "phone": "13987654321"},
    "wang": {"name": "王德胜", "id": id_number("15062119600720135"), "phone": "15912340000"},
    "chen": {"name": "陈美兰", "id": id_number("15272219900909246"), "phone": "18611112222"},
}


@pytest.fixture
def scene(world, make_user) -> SimpleNamespace:
    g, g_b, other = world.grid, world.grid_b, world.other_grid
    household = Household(number="H-0001", address="树林召镇林原小区1栋", house_number="1-101")
    household.place_in(g)
    household.save()
    household_b = Household(number="H-0002", address="树林召镇新民村二社")
    household_b.place_in(g_b)
    household_b.save()

    def register(key: str, grid: Any, actor: Any, **fields: Any) -> Any:
        p = PEOPLE[key]
        data = PersonInput(
            name=p["name"], grid=grid, document_number=p["id"], phone=p["phone"], ethnicity="01", **fields
        )
        return do_register_person(data, actor=actor).person

    persons = {
        "zhang": register(
            "zhang",
            g,
            world.specialist,
            household=household,
            relation="head",
            key_groups=[KeyGroup.ELDERLY_ALONE],
            address="树林召镇林原小区1栋1-101",
        ),
        "li": register("li", g, world.specialist, household=household, relation="spouse"),
        "wang": register(
            "wang", g_b, world.l2head, household=household_b, relation="head", key_groups=[KeyGroup.DISABLED]
        ),
        "chen": register("chen", other, world.other_specialist, key_groups=[KeyGroup.LOW_INCOME]),
    }
    shop = Organisation(name="林原便民超市", kind="shop", representative="赵四", address="林原小区东门")
    shop.place_in(g)
    shop.save()
    lamp = Component(object_id="1506210101000001", item=world.item, name="垃圾箱", owner_department=world.hw)
    lamp.place_in(g)
    lamp.save()
    volunteer = make_user("vol", full_name="志愿者")
    RoleAssignment.objects.create(user=volunteer, role="volunteer", grid=world.village)
    admin = make_user("sysadmin", admin_duty="system", is_staff=True)
    return SimpleNamespace(
        world=world,
        persons=persons,
        household=household,
        household_b=household_b,
        organisation=shop,
        component=lamp,
        volunteer=volunteer,
        admin=admin,
    )


def client_for(user: Any, language: str = "en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = language
    return c


# Who sees whom, written from the rules (scoping.py), not computed from them: (persons seen, key groups named).
EVERYBODY = {"zhang", "li", "wang", "chen"}
TOWN = {"zhang", "li", "wang"}
SEES = {
    "specialist": ({"zhang", "li"}, True),  # grid g
    "officer": ({"zhang", "li"}, True),  # grid g
    "other_specialist": ({"chen"}, True),  # the other town's grid
    "l2head": (TOWN, True),  # village v: g and g_b
    "l1head": (TOWN, False),  # town t: people, but key groups as counts only
    "operator": (TOWN, False),  # the town's command centre
    "other_operator": ({"chen"}, False),  # the other town's centre
    "leader": (EVERYBODY, False),  # the county
    "resident": (set(), False),
    "mediator": (set(), False),
    "handler": (set(), False),  # a department's handler: components of their unit only
}


def user_of(scene: SimpleNamespace, who: str) -> Any:
    return getattr(scene, who, None) or getattr(scene.world, who)


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*SEES, "volunteer", "admin"])
def test_each_role_sees_the_persons_of_its_scope_and_no_other(scene, who):
    seen, names_groups = SEES.get(who, (set(), False))
    if who == "admin":
        seen = EVERYBODY  # county-wide, key groups as counts only
    c = client_for(user_of(scene, who))
    listed = c.get(f"{API}/persons", {"limit": 100})
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {i["name"] for i in items} == {PEOPLE[k]["name"] for k in seen}
    for key, person in scene.persons.items():
        answer = c.get(f"{API}/persons/{person.pk}")
        page = c.get(f"/registry/persons/{person.pk}/")
        if key in seen:
            assert answer.status_code == 200, (who, key)
            assert page.status_code == 200, (who, key)
            groups = answer.json()["key_groups"]
            assert (groups is not None) is names_groups, (who, key, groups)
            assert ('id="kg-title"' in page.content.decode()) is names_groups
        else:
            assert answer.status_code == 404, (who, key)
            assert answer.json()["code"] == "not_found"
            assert page.status_code == 404, (who, key)
    for item in items:
        assert (item["key_groups"] is not None) is names_groups


@pytest.mark.django_db
def test_a_grid_specialist_cannot_read_a_person_of_the_next_grid(scene):
    c = client_for(scene.world.specialist)
    wang = scene.persons["wang"]  # grid g_b, same village
    assert c.get(f"{API}/persons/{wang.pk}").status_code == 404
    assert c.get(f"/registry/persons/{wang.pk}/").status_code == 404
    assert c.get(f"{API}/households/{scene.household_b.pk}").status_code == 404
    assert c.get(f"/registry/households/{scene.household_b.pk}/").status_code == 404
    # Unmasking or moving someone unseen is "no such person", never "not allowed".
    unmask = c.post(f"{API}/persons/{wang.pk}/unmask", {"what": "phone", "reason": "核实身份信息"})
    assert unmask.status_code == 404
    assert c.post(f"/registry/persons/{wang.pk}/unmask/phone/", {"reason": "核实身份信息"}).status_code == 404
    move = c.post(f"{API}/persons/{wang.pk}/move", {"grid": scene.world.grid.code, "reason": "搬家"})
    assert move.status_code == 404
    # Searching for the neighbour's number finds nobody.
    found = c.get(f"{API}/persons", {"q": PEOPLE["wang"]["phone"]}).json()["items"]
    assert found == []


@pytest.mark.django_db
def test_a_town_head_sees_the_towns_people_and_key_groups_as_counts_only(scene):
    c = client_for(scene.world.l1head)
    items = c.get(f"{API}/persons").json()["items"]
    assert {i["name"] for i in items} == {PEOPLE[k]["name"] for k in TOWN}
    assert all(i["key_groups"] is None for i in items)
    # Filtering by a key group tells nothing either.
    assert c.get(f"{API}/persons", {"key_group": "elderly_alone"}).json()["items"] == []
    figures = c.get(f"{API}/figures").json()
    assert figures["grid"]["code"] == scene.world.town.code
    assert figures["totals"]["persons"] == 3
    assert figures["totals"]["key_groups"]["elderly_alone"] == 1
    assert figures["totals"]["key_groups"]["disabled"] == 1
    assert figures["totals"]["key_groups"]["low_income"] == 0  # the other town's
    village = next(f for f in figures["children"] if f["grid"]["code"] == scene.world.village.code)
    assert village["persons"] == 3 and village["households"] == 2 and village["key_groups"]["disabled"] == 1
    # The pages: counts on the home, no key-group column or section, no key-group filter.
    home = c.get("/registry/").content.decode()
    assert 'data-group="elderly_alone"><span class="n">1</span>' in home
    listed = c.get("/registry/persons/").content.decode()
    assert 'name="key_group"' not in listed
    assert "kg-chip" not in listed
    page = c.get(f"/registry/persons/{scene.persons['zhang'].pk}/").content.decode()
    assert "kg-chip" not in page and 'id="kg-title"' not in page


@pytest.mark.django_db
def test_a_village_head_sees_who_is_in_a_key_group_in_the_village(scene):
    c = client_for(scene.world.l2head)
    items = {i["name"]: i for i in c.get(f"{API}/persons").json()["items"]}
    assert [g["code"] for g in items["张建国"]["key_groups"]] == ["elderly_alone"]
    assert [g["code"] for g in items["王德胜"]["key_groups"]] == ["disabled"]
    assert items["李秀英"]["key_groups"] == []
    only = c.get(f"{API}/persons", {"key_group": "disabled"}).json()["items"]
    assert [i["name"] for i in only] == ["王德胜"]
    page = c.get(f"/registry/persons/{scene.persons['wang'].pk}/").content.decode()
    assert 'data-group="disabled"' in page
    listed = c.get("/registry/persons/").content.decode()
    assert 'name="key_group"' in listed


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["resident", "mediator", "volunteer", "handler"])
def test_people_outside_the_office_find_no_registry(scene, who):
    c = client_for(user_of(scene, who))
    for url in (
        f"{API}/persons",
        f"{API}/households",
        f"{API}/organisations",
    ):
        answer = c.get(url)
        assert answer.status_code == 200 and answer.json()["items"] == [], url
    assert c.get(f"{API}/figures").status_code == 404
    assert c.get(f"{API}/figures", {"grid": scene.world.town.code}).status_code == 404
    assert c.get(f"{API}/households/{scene.household.pk}").status_code == 404
    for url in (
        "/registry/",
        "/registry/persons/",
        "/registry/households/",
        "/registry/organisations/",
        "/registry/components/",
        f"/registry/persons/{scene.persons['zhang'].pk}/",
        "/registry/persons/new/",
    ):
        assert c.get(url).status_code == 404, url
    # No registry link in their navigation.
    assert 'href="/registry/"' not in c.get("/").content.decode()
    # Registering is refused.
    answer = c.post(f"{API}/persons", {"name": "张三", "grid": scene.world.grid.code})
    assert answer.status_code == 403


@pytest.mark.django_db
def test_a_departments_handler_sees_the_components_of_its_unit(scene):
    mine = client_for(scene.world.handler).get(f"{API}/components").json()["items"]  # HW owns the bin
    assert [c["object_id"] for c in mine] == ["1506210101000001"]
    other = client_for(scene.world.other_handler).get(f"{API}/components").json()["items"]
    assert other == []


@pytest.mark.django_db
def test_figures_of_a_grid_outside_the_callers_registry_are_not_found(scene):
    c = client_for(scene.world.l2head)
    assert c.get(f"{API}/figures", {"grid": scene.world.village.code}).status_code == 200
    # The town above and the other town: not the village head's registry.
    assert c.get(f"{API}/figures", {"grid": scene.world.town.code}).status_code == 404
    assert c.get(f"{API}/figures", {"grid": scene.world.other_grid.code}).status_code == 404
    assert c.get("/registry/", {"grid": scene.world.town.code}).status_code == 404
    assert c.get("/registry/", {"grid": scene.world.other_grid.code}).status_code == 404


@pytest.mark.django_db
def test_readers_get_the_registry_in_their_navigation(scene):
    for who in ("specialist", "l1head", "leader", "operator"):
        assert 'href="/registry/"' in client_for(user_of(scene, who)).get("/").content.decode(), who


@pytest.mark.django_db
def test_the_registry_admin_belongs_to_the_system_administrator(scene, make_user):
    url = "/admin/registry/person/"
    assert client_for(scene.admin).get(url).status_code == 200
    security = make_user("secadmin", admin_duty="security", is_staff=True)
    auditor = make_user("auditor", admin_duty="audit", is_staff=True)
    for user in (security, auditor):
        assert client_for(user).get(url).status_code in (302, 403), user
    # A person is read here, never added or changed (the services do that).
    assert client_for(scene.admin).get("/admin/registry/person/add/").status_code == 403
    # Nor are a person's moves and roles, listed on their page: those are history and services' work too.
    request = RequestFactory().get(url)
    request.user = scene.admin
    person = next(iter(scene.persons.values()))
    for inline in (PersonMoveInline, PersonRoleInline):
        shown = inline(Person, django_admin.site)
        assert shown.has_view_permission(request), inline
        assert not shown.has_add_permission(request, person), inline
        assert not shown.has_change_permission(request, person), inline
        assert not shown.has_delete_permission(request, person), inline
