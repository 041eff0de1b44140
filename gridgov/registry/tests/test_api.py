"""Round trips through the registry API: register (new, found again, refused with every bad field named), read,
search, page, move; households, organisations, components and the figures of a grid. Every operation declares
the refusals it may answer."""

from __future__ import annotations

import pytest

from gridgov.registry.models import Person, PersonMove

from . import test_access
from .test_access import API, PEOPLE, client_for, id_number, user_of

scene = test_access.scene  # the registry tests' shared fixture

pytestmark = pytest.mark.django_db

NEW_ID = id_number("15062120010203002")  # a woman born 2001-02-03


def form(**fields):
    base = {
        "name": "刘晓燕",
        "grid": "150621100200001",
        "document_number": NEW_ID,
        "phone": "138 0000 1234",
        "ethnicity": "02",
        "residence": "registered",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_register_then_read_back_masked(scene):
    c = client_for(scene.world.specialist)
    answer = c.post(f"{API}/persons", form(household="H-0001", relation="daughter", key_groups=["key_youth"]))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["created"] is True and body["moved"] is False
    person = body["person"]
    assert person["name"] == "刘晓燕"
    assert person["gender"] == "2" and person["gender_label"] == "female"  # from the ID number
    assert person["ethnicity_label"] == "Mongol"
    assert person["document"] == NEW_ID[:6] + "********" + NEW_ID[-4:]
    assert person["phone"] == "138****1234"
    assert person["grid"] == {"code": "150621100200001", "name": "网格1-1-1"}
    assert person["household"] == "H-0001" and person["relation_label"] == "daughter"
    assert [g["code"] for g in person["key_groups"]] == ["key_youth"]
    assert person["may_unmask"] is True
    assert [m["to_grid"]["code"] for m in person["moves"]] == ["150621100200001"]
    assert {m["name"] for m in person["household_members"]} == {"张建国", "李秀英"}
    again = c.get(f"{API}/persons/{person['id']}").json()
    assert again == person


def test_registering_a_known_document_finds_the_same_record_and_moves_it(scene):
    """The master index: the village head registers 王德胜 (of grid g_b) in grid g; same record, moved."""
    wang = scene.persons["wang"]
    c = client_for(scene.world.l2head)
    answer = c.post(
        f"{API}/persons",
        form(
            name="王德胜", document_number=PEOPLE["wang"]["id"], phone="", ethnicity="", reason="搬到儿子家住"
        ),
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["created"] is False and body["moved"] is True
    assert body["person"]["id"] == wang.pk
    assert body["person"]["phone"] == "159****0000"  # an empty field keeps what was known
    newest = body["person"]["moves"][0]
    assert newest["from_grid"]["code"] == "150621100200002" and newest["to_grid"]["code"] == "150621100200001"
    assert newest["reason"] == "搬到儿子家住"
    assert Person.objects.filter(document_index=wang.document_index).count() == 1


def test_bad_input_names_every_bad_field_and_stores_nothing(scene):
    c = client_for(scene.world.specialist)
    count = Person.objects.count()
    answer = c.post(
        f"{API}/persons",
        form(
            name="刘晓燕123",
            document_number=NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1"),
            phone="12345",
            ethnicity="77",
            relation="cousin",
            key_groups=["nobody"],
        ),
    )
    assert answer.status_code == 422
    body = answer.json()
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "document_number", "phone", "ethnicity", "relation", "key_groups"} <= fields
    assert body["field"] == body["errors"][0]["field"] and body["message"] == body["errors"][0]["message"]
    assert all(e["message"] and e["loc"] == ["form", e["field"]] for e in body["errors"])
    assert Person.objects.count() == count


def test_a_keeper_registers_only_in_their_own_grids_and_households(scene):
    c = client_for(scene.world.specialist)  # grid g only
    elsewhere = c.post(f"{API}/persons", form(grid="150621100200002"))
    assert elsewhere.status_code == 422
    assert elsewhere.json()["field"] == "grid"
    unknown = c.post(f"{API}/persons", form(grid="999999"))
    assert unknown.json()["field"] == "grid"
    village = c.post(f"{API}/persons", form(grid="150621100200"))  # not a level-3 grid
    assert village.json()["field"] == "grid"
    household = c.post(f"{API}/persons", form(household="H-0002"))  # g_b's household
    assert household.status_code == 422 and household.json()["field"] == "household"
    # Both problems at once, with the registry's own.
    both = c.post(f"{API}/persons", form(grid="150621100200002", household="H-0002", phone="1"))
    assert {e["field"] for e in both.json()["errors"]} == {"grid", "household", "phone"}


@pytest.mark.parametrize("who", ["l1head", "operator", "leader", "admin", "resident"])
def test_only_keepers_register(scene, who):
    count = Person.objects.count()
    answer = client_for(user_of(scene, who)).post(f"{API}/persons", form())
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_allowed"
    assert Person.objects.count() == count


def test_move_inside_the_keepers_grids_with_a_reason(scene):
    zhang = scene.persons["zhang"]
    specialist = client_for(scene.world.specialist)
    refused = specialist.post(f"{API}/persons/{zhang.pk}/move", {"grid": "150621100200002", "reason": "搬家"})
    assert refused.status_code == 422 and refused.json()["field"] == "grid"
    head = client_for(scene.world.l2head)
    no_reason = head.post(f"{API}/persons/{zhang.pk}/move", {"grid": "150621100200002", "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    moved = head.post(f"{API}/persons/{zhang.pk}/move", {"grid": "150621100200002", "reason": "搬到女儿家"})
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["grid"]["code"] == "150621100200002"
    assert body["moves"][0]["reason"] == "搬到女儿家"
    assert PersonMove.objects.filter(person=zhang).count() == 2
    # The specialist of g no longer sees him.
    assert specialist.get(f"{API}/persons/{zhang.pk}").status_code == 404
    # A town head sees him but does not keep his record.
    town = client_for(scene.world.l1head)
    assert (
        town.post(f"{API}/persons/{zhang.pk}/move", {"grid": "150621100200001", "reason": "x"}).status_code
        == 403
    )


def test_search_and_filters(scene):
    c = client_for(scene.world.l2head)

    def names(**query):
        answer = c.get(f"{API}/persons", query)
        assert answer.status_code == 200, answer.content
        return sorted(i["name"] for i in answer.json()["items"])

    assert names() == ["张建国", "李秀英", "王德胜"]
    assert names(q="张") == ["张建国"]
    assert names(q="张建") == ["张建国"]
    assert names(q="建国") == []  # names match from their start
    assert names(q=PEOPLE["li"]["phone"]) == ["李秀英"]
    assert names(q="139-8765-4321") == ["李秀英"]
    assert names(q=PEOPLE["li"]["phone"][:7]) == []  # a number matches whole, never a part
    assert names(q=PEOPLE["wang"]["id"]) == ["王德胜"]
    assert names(q=PEOPLE["wang"]["id"].lower()) == ["王德胜"]
    assert names(grid="150621100200002") == ["王德胜"]
    assert names(grid="150621101200001") == []  # another town's grid: nothing, not an error
    assert names(grid="nope") == []
    assert names(residence="floating") == []
    assert names(state="here") == ["张建国", "李秀英", "王德胜"]
    assert names(key_group="elderly_alone") == ["张建国"]
    bad = c.get(f"{API}/persons", {"residence": "nowhere"})
    assert bad.status_code == 422 and bad.json()["field"] == "residence"


def test_keyset_paging_walks_every_person_once(scene):
    c = client_for(scene.world.leader)
    seen, before, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"before": before} if before else {})}
        page = c.get(f"{API}/persons", query).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_before"] is None
            break
        before = page["next_before"]
    assert pages == 2
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 4


def test_households_organisations_and_components(scene):
    c = client_for(scene.world.specialist)
    households = c.get(f"{API}/households").json()
    assert [h["number"] for h in households["items"]] == ["H-0001"]
    assert c.get(f"{API}/households", {"q": "林原"}).json()["items"][0]["number"] == "H-0001"
    detail = c.get(f"{API}/households/{scene.household.pk}").json()
    assert {p["name"]: p["relation"] for p in detail["people"]} == {"张建国": "head", "李秀英": "spouse"}
    assert detail["people"][0]["phone"].count("*") == 4

    orgs = c.get(f"{API}/organisations", {"q": "林原"}).json()["items"]
    assert [o["name"] for o in orgs] == ["林原便民超市"] and orgs[0][
        "kind_label"
    ] == "shop or individual business"
    assert c.get(f"{API}/organisations", {"kind": "enterprise"}).json()["items"] == []

    components = c.get(f"{API}/components", {"item": scene.world.item.code, "state": "good"}).json()["items"]
    assert [x["object_id"] for x in components] == ["1506210101000001"]
    assert components[0]["owner_department"]["code"] == "HW"
    assert c.get(f"{API}/components", {"state": "damaged"}).json()["items"] == []


def test_figures_roll_up_per_child_grid(scene):
    leader = client_for(scene.world.leader).get(f"{API}/figures").json()
    assert leader["grid"]["code"] == "150621" and leader["level"] == 0
    by_code = {f["grid"]["code"]: f for f in leader["children"]}
    assert by_code["150621100"]["persons"] == 3 and by_code["150621101"]["persons"] == 1
    assert by_code["150621101"]["key_groups"]["low_income"] == 1
    assert leader["totals"]["persons"] == 4 and leader["totals"]["organisations"] == 1
    assert [g["code"] for g in leader["key_group_labels"]][:2] == ["elderly_alone", "disabled"]

    grid = client_for(scene.world.specialist).get(f"{API}/figures").json()
    assert grid["grid"]["code"] == "150621100200001" and grid["children"] == []
    assert grid["totals"]["persons"] == 2 and grid["totals"]["households"] == 1
    assert grid["totals"]["components"] == 1
    assert (
        grid["totals"]["key_groups"]["elderly_alone"] == 1 and grid["totals"]["key_groups"]["disabled"] == 0
    )


def test_every_registry_operation_declares_its_refusals(client):
    document = client.get("/api/openapi.json").json()
    operations = [
        (path, method, op)
        for path, methods in document["paths"].items()
        if path.startswith("/api/registry/")
        for method, op in methods.items()
    ]
    assert len(operations) == 14
    for path, method, op in operations:
        assert op["tags"] == ["registry"], path
        declared = set(op["responses"])
        assert {"401", "403", "404", "422"} <= declared, (method, path, declared)
        if method == "post":
            assert "409" in declared, (method, path)
