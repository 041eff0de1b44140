"""The registry's pages: the figures home, the persons list (search box, filters, htmx results and "more"
rows), a person's page, the register form (keepers only, every field's error next to it), households,
organisations and components — in Chinese by default and in English, and each within a fixed number of
queries however many rows it shows (no query per row)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from gridgov.registry import views
from gridgov.registry.models import Household, Person
from gridgov.registry.services import PersonInput, do_register_person

from . import test_access
from .test_access import PEOPLE, client_for, id_number, user_of

scene = test_access.scene  # the registry tests' shared fixture

pytestmark = pytest.mark.django_db

MAX_QUERIES = 20


def page(c: Client, url: str, data: dict | None = None, **extra) -> str:
    response = c.get(url, data or {}, **extra)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.content.decode()


def rows_of(html: str) -> list[str]:
    """The names in a persons table."""
    return re.findall(r'<tr class="person-row" data-id="\d+">\s*<td class="name"><a [^>]*>([^<]+)</a>', html)


# ------------------------------------------------------------------------------------------------- languages


def test_pages_speak_chinese_by_default(scene):
    c = Client()
    c.force_login(scene.world.l2head)
    home = page(c, "/registry/")
    assert '<html lang="zh-Hans">' in home
    for words in ("台账", "人口", "重点人群", "户"):
        assert words in home, words
    listed = page(c, "/registry/persons/")
    assert "姓名" in listed and "身份证号" in listed
    person = page(c, f"/registry/persons/{scene.persons['zhang'].pk}/")
    assert "居住" in person or "户籍" in person
    assert "重点人群" in person and 'data-group="elderly_alone"' in person
    assert "显示" in person  # the "show" button


def test_pages_are_complete_in_english(scene):
    c = client_for(scene.world.l2head, "en")
    home = page(c, "/registry/")
    assert '<html lang="en">' in home
    assert "Registry of 村1-1" in home and "Grids below" in home and "Key groups" in home
    person = page(c, f"/registry/persons/{scene.persons['zhang'].pk}/")
    for words in ("Identity and contact", "Moves between grids", "Household members", "elderly living alone"):
        assert words in person, words
    # No Chinese words of the interface are left (names, grids and addresses are data).
    data = {"张建国", "李秀英", "王德胜", "网格", "村", "镇", "树林召镇林原小区1栋1-101", "达拉特旗", "中文"}
    text = re.sub(r"<[^>]+>", " ", person)
    for word in re.findall(r"[\u4e00-\u9fff]+", text):
        assert any(word in d or d in word for d in data), word


# ------------------------------------------------------------------------------------------------- home


def test_home_shows_the_figures_of_the_users_grid_and_the_grids_below(scene):
    c = client_for(scene.world.l1head)
    home = page(c, "/registry/")
    assert "Registry of 镇1" in home
    # One row per village, linking deeper; the totals link to the lists.
    assert 'data-grid="150621100200"' in home and 'data-grid="150621100201"' in home
    assert 'href="/registry/?grid=150621100200"' in home
    assert 'href="/registry/persons/?grid=150621100"' in home
    village = page(c, "/registry/", {"grid": "150621100200"})
    # Grids of the village link to their persons; the crumbs lead back up to the town.
    assert 'href="/registry/persons/?grid=150621100200001"' in village
    assert 'href="/registry/?grid=150621100"' in village


def test_register_link_only_for_keepers(scene):
    assert 'href="/registry/persons/new/"' in page(client_for(scene.world.specialist), "/registry/")
    assert 'href="/registry/persons/new/"' not in page(client_for(scene.world.l1head), "/registry/")


# ------------------------------------------------------------------------------------------------- persons


def test_search_box_finds_by_name_start_phone_and_id_number(scene):
    c = client_for(scene.world.l2head)
    assert sorted(rows_of(page(c, "/registry/persons/"))) == ["张建国", "李秀英", "王德胜"]

    def search(q, **more):
        response = c.post("/registry/persons/", {"q": q, **more}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return sorted(rows_of(response.content.decode()))

    assert search("王") == ["王德胜"]
    assert search(PEOPLE["li"]["phone"]) == ["李秀英"]
    assert search(PEOPLE["zhang"]["id"]) == ["张建国"]
    assert search(PEOPLE["zhang"]["id"][:10]) == []
    assert search("", grid="150621100200002") == ["王德胜"]
    assert search("", key_group="elderly_alone") == ["张建国"]
    # A plain post (no script) answers the whole page with the results.
    full = c.post("/registry/persons/", {"q": "李"}).content.decode()
    assert "<html" in full and rows_of(full) == ["李秀英"]
    # A link's filters (GET) too.
    assert rows_of(page(c, "/registry/persons/", {"grid": "150621100200002"})) == ["王德胜"]


def test_more_rows_follow_with_the_same_filters(scene, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    c = client_for(scene.world.leader)
    first = page(c, "/registry/persons/")
    assert len(rows_of(first)) == 2
    fields = dict(
        re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', first.split('class="more"')[1])
    )
    assert fields["part"] == "rows" and "before" in fields
    more = c.post("/registry/persons/", fields, HTTP_HX_REQUEST="true").content.decode()
    assert more.lstrip().startswith('<tbody class="rows">')
    assert "<html" not in more
    names = rows_of(first) + rows_of(more)
    assert sorted(names) == sorted(p["name"] for p in PEOPLE.values())
    assert 'class="more"' not in more  # the last page


def test_person_page_shows_masked_numbers_moves_and_household(scene):
    zhang = scene.persons["zhang"]
    c = client_for(scene.world.specialist)
    html = page(c, f"/registry/persons/{zhang.pk}/")
    assert PEOPLE["zhang"]["id"][:6] + "********" + PEOPLE["zhang"]["id"][-4:] in html
    assert "138****5678" in html
    assert 'id="reason-phone"' in html and 'id="reason-document_number"' in html
    assert "李秀英" in html and f'href="/registry/persons/{scene.persons["li"].pk}/"' in html
    assert 'href="/registry/households/' in html
    assert "first registered" in html
    assert 'data-group="elderly_alone"' in html
    assert "aged 76" in html or "aged 75" in html or "aged 77" in html


def test_households_organisations_and_components_pages(scene):
    c = client_for(scene.world.specialist)
    listed = page(c, "/registry/households/")
    assert "H-0001" in listed and "H-0002" not in listed
    household = page(c, f"/registry/households/{scene.household.pk}/")
    assert "张建国" in household and "李秀英" in household and "138****5678" in household
    assert "林原便民超市" in page(c, "/registry/organisations/")
    assert "林原便民超市" not in page(c, "/registry/organisations/", {"kind": "enterprise"})
    components = page(c, "/registry/components/")
    assert "1506210101000001" in components
    assert "1506210101000001" not in page(c, "/registry/components/", {"state": "missing"})


# ------------------------------------------------------------------------------------------------- register


def test_register_form_for_keepers(scene):
    c = client_for(scene.world.specialist)
    html = page(c, "/registry/persons/new/")
    assert 'name="document_number"' in html and 'name="key_groups"' in html
    # The one grid of the specialist is chosen already.
    assert 'value="150621100200001" selected' in html
    response = c.post(
        "/registry/persons/new/",
        {
            "name": "刘晓燕",
            "document_kind": "id_card",
            "document_number": id_number("15062120010203002"),
            "phone": "13800001234",
            "grid": "150621100200001",
            "household": "H-0001",
            "relation": "daughter",
            "residence": "registered",
            "key_groups": ["key_youth"],
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(name="刘晓燕")
    assert response["Location"] == f"/registry/persons/{person.pk}/"
    assert person.household == scene.household and person.grid == scene.world.grid
    landing = page(c, response["Location"])
    assert "Registered." in landing


def test_every_bad_field_is_named_next_to_it_and_nothing_is_stored(scene):
    c = client_for(scene.world.specialist)
    count = Person.objects.count()
    response = c.post(
        "/registry/persons/new/",
        {
            "name": "刘晓燕#",
            "document_kind": "id_card",
            "document_number": "150621200102030021",
            "phone": "02345",
            "birth_date": "2001-02-04",
            "grid": "150621100200001",
            "household": "H-0002",
            "residence": "registered",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert Person.objects.count() == count
    for name in ("name", "document_number", "phone", "household"):
        errors = re.search(
            rf'<ul class="errorlist" id="id_{name}-errors" data-field="{name}"><li>([^<]+)</li>', html
        )
        assert errors, name
    assert "landline" in html  # the phone's own message, next to the phone
    assert "No household with this number in your grids." in html
    # Chinese: the messages of the form's own checks are translated too.
    zh = Client()
    zh.force_login(scene.world.specialist)
    chinese = zh.post("/registry/persons/new/", {"document_kind": "id_card", "residence": "registered"})
    assert chinese.status_code == 422
    assert 'id="id_name-errors"' in chinese.content.decode()


@pytest.mark.parametrize("who", ["l1head", "operator", "leader"])
def test_the_register_form_is_refused_to_readers_who_do_not_keep_records(scene, who):
    c = client_for(user_of(scene, who))
    assert c.get("/registry/persons/new/").status_code == 403
    count = Person.objects.count()
    response = c.post(
        "/registry/persons/new/",
        {"name": "刘晓燕", "document_kind": "id_card", "grid": "150621100200001", "residence": "registered"},
    )
    assert response.status_code == 403
    assert Person.objects.count() == count


# ------------------------------------------------------------------------------------------------- queries


GIVEN = "春夏秋冬梅兰竹菊松柏山水云风雨雪花月星辰"


def _more_people(scene, n: int) -> None:
    household = Household.objects.get(number="H-0001")
    for i in range(n):
        body = f"1506211990{(i % 12) + 1:02d}{(i % 27) + 1:02d}{300 + i:03d}"
        do_register_person(
            PersonInput(
                name="赵" + GIVEN[i],
                grid=scene.world.grid,
                document_number=id_number(body),
                phone=f"137{i:08d}",
                household=household,
                key_groups=["disabled"] if i % 3 == 0 else [],
            ),
            actor=scene.world.specialist,
        )


PAGES = [
    "/registry/",
    "/registry/persons/",
    "/registry/persons/{zhang}/",
    "/registry/households/",
    "/registry/households/{household}/",
    "/registry/organisations/",
    "/registry/components/",
    "/registry/persons/new/",
]


@pytest.mark.parametrize("who", ["specialist", "l2head", "l1head", "leader"])
def test_pages_run_a_fixed_number_of_queries_whatever_the_rows(scene, who, django_assert_max_num_queries):
    """Each page within MAX_QUERIES; and the same count with 2 or 22 people in the household and the list (an
    N+1 would grow)."""
    c = client_for(user_of(scene, who))
    ids = {"zhang": scene.persons["zhang"].pk, "household": scene.household.pk}

    def counts() -> dict[str, int]:
        out = {}
        for url in PAGES:
            url = url.format(**ids)
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as queries:
                response = c.get(url)
            assert response.status_code in (200, 403), (url, response.status_code)
            out[url] = len(queries)
        return out

    few = counts()
    _more_people(scene, 20)
    many = counts()
    assert many == few, {u: (few[u], many[u]) for u in few if few[u] != many[u]}
    assert max(many.values()) <= MAX_QUERIES, many
    with django_assert_max_num_queries(MAX_QUERIES):
        c.post("/registry/persons/", {"q": "赵"}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("who", ["specialist", "l2head", "l1head", "operator", "leader", "admin"])
def test_every_registry_link_a_user_sees_leads_somewhere(scene, who):
    """From the registry's home, every registry link (and every link on the pages it leads to) answers 200
    within the workbench's query budget: never a link to a page that refuses the same user."""
    from gridgov.tests.test_page_queries import Sweep, links_in

    sweep = Sweep(who, client_for(user_of(scene, who)))
    home = sweep.fetch("/registry/", None)
    level0 = sweep.follow([u for u in links_in(home) if u.startswith("/registry/")], "/registry/")
    for url, body in level0:
        sweep.follow([u for u in links_in(body) if u.startswith("/registry/")], url)
    assert not sweep.failures, "\n".join(sweep.failures)
    assert len(sweep.seen) >= 6, sorted(sweep.seen)
    if who in ("specialist", "l2head", "l1head"):
        assert any(re.match(r"^/registry/persons/\d+/$", u) for u in sweep.seen), sorted(sweep.seen)
