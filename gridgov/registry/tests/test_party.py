"""Party organisations and the roles of persons (one person record, many roles): the services refuse bad input
naming the field and change nothing; who sees and who changes which organisation and role (404 outside the view,
403 for readers who do not keep the record); a person with two roles; the party tree within a fixed number of
queries however large; the API; and the small mends around (the import tab's name, the export links, where a
record registered through the API comes from).

Over the registry tests' shared scene (test_access): a town committee (of town t, set up directly, as the
demo does: nobody below the town keeps it), the village branch under it, a group in grid g, and a branch of
another village of the same town (村1-2) and of the other town."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridgov.core.errors import Invalid, NotAllowed
from gridgov.core.models import AuditRecord
from gridgov.grids.models import Grid
from gridgov.registry.choices import PartyOrgKind, PersonRoleKind, Source
from gridgov.registry.models import PartyOrganisation, Person, PersonRole
from gridgov.registry.services import (
    PartyOrgInput,
    PersonInput,
    do_end_role,
    do_give_role,
    do_register_person,
    do_save_party_organisation,
)

from . import test_access
from .test_access import API, client_for, id_number

scene = test_access.scene  # the registry tests' shared fixture

pytestmark = pytest.mark.django_db

TREE_QUERIES = 14


def _org(name: str, kind: str, grid: Grid, parent: PartyOrganisation | None = None) -> PartyOrganisation:
    o = PartyOrganisation(name=name, kind=kind, parent=parent)
    o.place_in(grid)
    o.save()
    return o


@pytest.fixture
def party(scene) -> SimpleNamespace:
    w = scene.world
    committee = _org("中共镇1委员会", PartyOrgKind.COMMITTEE, w.town)
    branch = do_save_party_organisation(
        PartyOrgInput(name="中共村1-1支部委员会", kind=PartyOrgKind.BRANCH, grid=w.village, parent=committee),
        actor=w.l2head,
    )
    group = do_save_party_organisation(
        PartyOrgInput(name="网格1-1-1党小组", kind=PartyOrgKind.GROUP, grid=w.grid, parent=branch),
        actor=w.specialist,
    )
    neighbour = _org(
        "中共村1-2支部委员会", PartyOrgKind.BRANCH, Grid.objects.get(code="150621100201"), committee
    )
    other_town = _org("中共镇2委员会", PartyOrgKind.COMMITTEE, Grid.objects.get(code="150621101"))
    return SimpleNamespace(
        committee=committee, branch=branch, group=group, neighbour=neighbour, other_town=other_town
    )


def _problems(exc: pytest.ExceptionInfo) -> set[str]:
    return {p["field"] for p in exc.value.data.get("problems", [])} or {exc.value.field}


def _unchanged(before: tuple[int, int, int]) -> None:
    assert (
        PartyOrganisation.objects.count(),
        PersonRole.objects.count(),
        AuditRecord.objects.filter(action__startswith="registry.party").count()
        + AuditRecord.objects.filter(action__startswith="registry.role").count(),
    ) == before


def _counts() -> tuple[int, int, int]:
    return (
        PartyOrganisation.objects.count(),
        PersonRole.objects.count(),
        AuditRecord.objects.filter(action__startswith="registry.party").count()
        + AuditRecord.objects.filter(action__startswith="registry.role").count(),
    )


# ------------------------------------------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "支" * 101}, "name"),
        ({"name": "支部\x00"}, "name"),
        ({"kind": "cell"}, "kind"),
        ({"grid": None}, "grid"),
        ({"grid": "other_town_grid"}, "grid"),  # not one of the village head's grids
        ({"grid": "root"}, "grid"),  # the county: no keeper keeps it
        ({"parent": "neighbour"}, "parent"),  # another village's branch does not enclose this grid
        ({"parent": "group"}, "parent"),  # a group cannot hold a branch
        ({"kind": PartyOrgKind.COMMITTEE, "parent": "committee"}, "parent"),  # same kind
    ],
)
def test_a_bad_party_organisation_is_refused_naming_the_field_and_nothing_changes(
    scene, party, change, field
):
    w = scene.world
    values = {
        "name": "中共村1-1第二支部",
        "kind": PartyOrgKind.BRANCH,
        "grid": w.village,
        "parent": party.committee,
    }
    values.update(change)
    lookups = {"other_town_grid": w.other_grid, "root": w.root, **vars(party)}
    values = {
        k: lookups.get(v, v) if isinstance(v, str) and k in ("grid", "parent") else v
        for k, v in values.items()
    }
    before = _counts()
    with pytest.raises(Invalid) as exc:
        do_save_party_organisation(PartyOrgInput(**values), actor=w.l2head)
    assert field in _problems(exc)
    assert exc.value.message  # words, not a code
    _unchanged(before)


def test_an_edit_keeps_the_organisations_below_in_order(scene, party):
    w = scene.world
    before = _counts()
    # The branch holds a group: it cannot become a group itself, nor move to grid g_b (its group is in g).
    with pytest.raises(Invalid) as exc:
        do_save_party_organisation(
            PartyOrgInput(
                name=party.branch.name, kind=PartyOrgKind.GROUP, grid=w.village, parent=party.committee
            ),
            actor=w.l2head,
            organisation=party.branch,
        )
    assert _problems(exc) >= {"kind"}
    with pytest.raises(Invalid) as exc:
        do_save_party_organisation(
            PartyOrgInput(
                name=party.branch.name, kind=PartyOrgKind.BRANCH, grid=w.grid_b, parent=party.committee
            ),
            actor=w.l2head,
            organisation=party.branch,
        )
    assert "grid" in _problems(exc)
    with pytest.raises(Invalid) as exc:
        do_save_party_organisation(
            PartyOrgInput(
                name=party.branch.name, kind=PartyOrgKind.BRANCH, grid=w.village, parent=party.branch
            ),
            actor=w.l2head,
            organisation=party.branch,
        )
    assert "parent" in _problems(exc)
    # A reader who does not keep the grid changes nothing.
    with pytest.raises(NotAllowed):
        do_save_party_organisation(
            PartyOrgInput(name="改名", kind=PartyOrgKind.BRANCH, grid=w.village, parent=party.committee),
            actor=w.l1head,
            organisation=party.branch,
        )
    _unchanged(before)
    party.branch.refresh_from_db()
    assert party.branch.name == "中共村1-1支部委员会"


def test_a_person_holds_two_roles_and_ends_one(scene, party):
    w = scene.world
    zhang = Person.objects.select_related("grid").get(pk=scene.persons["zhang"].pk)
    # The village's branch is above the grid specialist's view, but encloses the person's grid.
    member = do_give_role(
        zhang,
        PersonRoleKind.PARTY_MEMBER,
        actor=w.specialist,
        party_organisation=party.branch,
        since=dt.date(1985, 7, 1),
    )
    volunteer = do_give_role(zhang, PersonRoleKind.VOLUNTEER, actor=w.specialist)
    assert member.created and volunteer.created
    assert sorted(zhang.roles.values_list("role", flat=True)) == ["party_member", "volunteer"]
    # Given again: the same role, brought up to date (moved to the grid's group).
    again = do_give_role(zhang, PersonRoleKind.PARTY_MEMBER, actor=w.l2head, party_organisation=party.group)
    assert not again.created and again.role.pk == member.role.pk
    assert PersonRole.objects.get(pk=member.role.pk).party_organisation_id == party.group.pk
    actions = list(
        AuditRecord.objects.filter(action__startswith="registry.role")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["registry.role.give", "registry.role.give", "registry.role.change"]
    do_end_role(PersonRole.objects.get(person=zhang, role="volunteer"), actor=w.specialist, reason="不再参加")
    assert list(zhang.roles.values_list("role", flat=True)) == ["party_member"]
    ended = AuditRecord.objects.get(action="registry.role.end")
    assert ended.data["role"] == "volunteer" and ended.data["reason"] == "不再参加"


@pytest.mark.parametrize(
    ("role", "organisation", "since", "field"),
    [
        ("chairman", None, None, "role"),
        (PersonRoleKind.PARTY_MEMBER, None, None, "party_organisation"),
        (PersonRoleKind.VOLUNTEER, "branch", None, "party_organisation"),
        (PersonRoleKind.PARTY_MEMBER, "other_town", None, "party_organisation"),  # not theirs, not enclosing
        (PersonRoleKind.PARTY_MEMBER, "neighbour", None, "party_organisation"),  # the next village's
        (PersonRoleKind.MEDIATOR, None, "tomorrow", "since"),
        (PersonRoleKind.MEDIATOR, None, dt.date(1940, 1, 1), "since"),  # before the person was born
    ],
)
def test_a_bad_role_is_refused_naming_the_field_and_nothing_changes(
    scene, party, role, organisation, since, field
):
    zhang = Person.objects.select_related("grid").get(pk=scene.persons["zhang"].pk)
    if since == "tomorrow":
        since = timezone.localdate() + dt.timedelta(days=1)
    before = _counts()
    with pytest.raises(Invalid) as exc:
        do_give_role(
            zhang,
            role,
            actor=scene.world.specialist,
            party_organisation=getattr(party, organisation) if organisation else None,
            since=since,
        )
    assert field in _problems(exc)
    _unchanged(before)


def test_only_the_keepers_of_the_record_give_and_end_roles(scene, party):
    w = scene.world
    wang = Person.objects.select_related("grid").get(pk=scene.persons["wang"].pk)  # grid g_b
    before = _counts()
    for reader in (w.specialist, w.l1head, w.leader, w.operator):  # another grid's keeper, readers above
        with pytest.raises(NotAllowed):
            do_give_role(wang, PersonRoleKind.VOLUNTEER, actor=reader)
    _unchanged(before)
    given = do_give_role(wang, PersonRoleKind.VOLUNTEER, actor=w.l2head).role
    with pytest.raises(NotAllowed):
        do_end_role(given, actor=w.l1head)
    assert PersonRole.objects.filter(pk=given.pk).exists()


# ------------------------------------------------------------------------------------------------- pages


def test_the_tree_shows_each_organisation_under_its_parent(scene, party):
    zhang = Person.objects.select_related("grid").get(pk=scene.persons["zhang"].pk)
    do_give_role(
        zhang, PersonRoleKind.PARTY_MEMBER, actor=scene.world.l2head, party_organisation=party.branch
    )
    party.branch.secretary = zhang
    party.branch.save()
    c = client_for(scene.world.l1head)  # the town: the committee, both villages' branches, the group
    html = c.get("/registry/party/").content.decode()
    ids = [
        int(x) for x in __import__("re").findall(r'class="party-row" data-id="(\d+)" data-depth="\d"', html)
    ]
    assert ids == [party.committee.pk, party.branch.pk, party.group.pk, party.neighbour.pk]
    assert f'data-id="{party.group.pk}" data-depth="2"' in html
    assert party.other_town.name not in html
    assert "张建国" in html  # the branch's secretary
    assert "/edit/" not in html  # the town reads, does not keep
    assert 'href="/registry/party/new/"' not in html
    # The village head: the branch starts the tree (the committee is above their view); they may edit it.
    html = client_for(scene.world.l2head).get("/registry/party/").content.decode()
    assert party.committee.name not in html.split("party-table")[1]
    assert f"/registry/party/{party.branch.pk}/edit/" in html and 'href="/registry/party/new/"' in html
    # Role counts lead to the holders' list.
    assert 'data-role="party_member"><a href="/registry/roles/party_member/"><span class="n">1</span>' in html


NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"


def _grow(scene, party, n: int) -> None:
    """`n` more party organisations in grid g, each with a secretary who is its member and a volunteer."""
    w = scene.world
    start = PartyOrganisation.objects.count()
    for i in range(start, start + n):
        person = do_register_person(
            PersonInput(
                name=f"党员{NAMES[i]}", grid=w.grid, document_number=id_number(f"15062119800101{i:03d}")
            ),
            actor=w.specialist,
        ).person
        org = do_save_party_organisation(
            PartyOrgInput(
                name=f"{NAMES[i]}党小组",
                kind=PartyOrgKind.GROUP,
                grid=w.grid,
                parent=party.branch,
                secretary=person,
            ),
            actor=w.l2head,
        )
        do_give_role(person, PersonRoleKind.PARTY_MEMBER, actor=w.l2head, party_organisation=org)
        do_give_role(person, PersonRoleKind.VOLUNTEER, actor=w.l2head)


@pytest.mark.parametrize("who", ["specialist", "l2head", "l1head", "leader"])
def test_the_party_pages_run_a_fixed_number_of_queries_whatever_the_rows(
    scene, party, who, django_assert_max_num_queries
):
    c = client_for(getattr(scene.world, who))
    urls = [
        "/registry/party/",
        f"/registry/party/{party.branch.pk}/",
        "/registry/roles/volunteer/",
        f"/registry/persons/{scene.persons['zhang'].pk}/",
    ]

    def counts() -> dict[str, int]:
        out = {}
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = c.get(url)
            assert response.status_code in (200, 404), (url, response.status_code)
            out[url] = len(queries)
        return out

    few = counts()
    _grow(scene, party, 2)
    zhang = Person.objects.select_related("grid").get(pk=scene.persons["zhang"].pk)
    do_give_role(
        zhang, PersonRoleKind.PARTY_MEMBER, actor=scene.world.l2head, party_organisation=party.branch
    )
    do_give_role(zhang, PersonRoleKind.MEDIATOR, actor=scene.world.l2head)
    mid = counts()
    _grow(scene, party, 12)
    many = counts()
    assert many == mid, {u: (mid[u], many[u]) for u in mid if mid[u] != many[u]}
    assert all(many[u] <= few[u] + 1 for u in many), (few, many)  # a role linked on the person's page: +1
    with django_assert_max_num_queries(TREE_QUERIES):
        c.get("/registry/party/")
    assert max(many.values()) <= TREE_QUERIES, many


def test_out_of_scope_is_404_and_readers_may_not_change_403(scene, party):
    w = scene.world
    zhang = scene.persons["zhang"]
    village_head = client_for(w.l2head)
    # Another village's branch: not in the village head's view.
    assert village_head.get(f"/registry/party/{party.neighbour.pk}/").status_code == 404
    assert village_head.get(f"/registry/party/{party.neighbour.pk}/edit/").status_code == 404
    assert village_head.post(f"/registry/party/{party.neighbour.pk}/edit/", {"name": "x"}).status_code == 404
    # The town head sees it, but may not change it, nor create one, nor give roles.
    town = client_for(w.l1head)
    assert town.get(f"/registry/party/{party.neighbour.pk}/").status_code == 200
    assert town.get(f"/registry/party/{party.neighbour.pk}/edit/").status_code == 403
    assert town.get("/registry/party/new/").status_code == 403
    assert town.post(f"/registry/persons/{zhang.pk}/roles/", {"role": "volunteer"}).status_code == 403
    page = town.get(f"/registry/persons/{zhang.pk}/").content.decode()
    assert 'id="roles-title"' in page and '/roles/"' not in page  # read-only: no form
    # A grid specialist: the next grid's person is nobody to them.
    wang = scene.persons["wang"]
    spec = client_for(w.specialist)
    assert spec.post(f"/registry/persons/{wang.pk}/roles/", {"role": "volunteer"}).status_code == 404
    assert spec.post(f"/registry/persons/{wang.pk}/roles/volunteer/end/").status_code == 404
    # Residents find no party page at all.
    assert client_for(w.resident).get("/registry/party/").status_code == 404
    assert not PersonRole.objects.exists()


def test_a_keeper_gives_and_ends_roles_on_the_persons_page(scene, party):
    zhang = scene.persons["zhang"]
    c = client_for(scene.world.specialist)
    page = c.get(f"/registry/persons/{zhang.pk}/").content.decode()
    assert f'action="/registry/persons/{zhang.pk}/roles/"' in page
    assert party.branch.name in page and party.group.name in page  # enclosing organisations are offered
    assert party.neighbour.name not in page
    # A party member without an organisation: the page again, the error next to the field.
    refused = c.post(f"/registry/persons/{zhang.pk}/roles/", {"role": "party_member"})
    assert refused.status_code == 422
    assert 'data-field="party_organisation"' in refused.content.decode()
    assert not PersonRole.objects.exists()
    ok = c.post(
        f"/registry/persons/{zhang.pk}/roles/",
        {"role": "party_member", "party_organisation": party.branch.pk, "since": "1990-07-01"},
    )
    assert ok.status_code == 302
    assert c.post(f"/registry/persons/{zhang.pk}/roles/", {"role": "volunteer"}).status_code == 302
    page = c.get(f"/registry/persons/{zhang.pk}/").content.decode()
    assert 'data-role="party_member"' in page and 'data-role="volunteer"' in page
    assert "1990-07-01" in page
    # The volunteers of the village: 张建国.
    village = client_for(scene.world.l2head)
    listed = village.get("/registry/roles/volunteer/", {"grid": scene.world.village.code}).content.decode()
    assert "张建国" in listed
    assert "张建国" not in village.get("/registry/roles/mediator/").content.decode()
    assert village.get("/registry/roles/chairman/").status_code == 404
    # The branch's page lists its member.
    assert "张建国" in village.get(f"/registry/party/{party.branch.pk}/").content.decode()
    assert c.post(f"/registry/persons/{zhang.pk}/roles/volunteer/end/", {"reason": "搬走"}).status_code == 302
    assert list(PersonRole.objects.values_list("role", flat=True)) == ["party_member"]
    assert c.post(f"/registry/persons/{zhang.pk}/roles/volunteer/end/").status_code == 404


def test_a_village_head_creates_and_edits_a_party_organisation(scene, party):
    w = scene.world
    c = client_for(w.l2head)
    form = c.get("/registry/party/new/").content.decode()
    assert party.committee.name in form  # the town's committee may be the parent
    assert party.other_town.name not in form
    refused = c.post(
        "/registry/party/new/", {"name": "", "kind": "group", "grid": w.grid.code, "parent": party.branch.pk}
    )
    assert refused.status_code == 422 and 'data-field="name"' in refused.content.decode()
    before = PartyOrganisation.objects.count()
    made = c.post(
        "/registry/party/new/",
        {"name": "网格1-1-2党小组", "kind": "group", "grid": w.grid_b.code, "parent": party.branch.pk},
    )
    assert made.status_code == 302 and PartyOrganisation.objects.count() == before + 1
    group = PartyOrganisation.objects.get(name="网格1-1-2党小组")
    assert (group.grid_id, group.grid_l2_id, group.parent_id) == (w.grid_b.pk, w.village.pk, party.branch.pk)
    edited = c.post(
        f"/registry/party/{group.pk}/edit/",
        {"name": "网格1-1-2第一党小组", "kind": "group", "grid": w.grid_b.code, "parent": party.branch.pk},
    )
    assert edited.status_code == 302
    group.refresh_from_db()
    assert group.name == "网格1-1-2第一党小组"
    assert list(
        AuditRecord.objects.filter(object_id=str(group.pk), action__startswith="registry.party")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["registry.party.create", "registry.party.update"]


def test_the_import_tab_and_the_export_links(scene):
    c = client_for(scene.world.l2head)
    html = c.get("/registry/organisations/", {"grid": scene.world.grid.code}).content.decode()
    assert "Import the register" in html and "Import persons" not in html
    assert f'href="/registry/export/organisations/?fmt=xlsx&amp;grid={scene.world.grid.code}"' in html
    for kind in ("components", "households"):
        html = c.get(f"/registry/{kind}/").content.decode()
        assert f'href="/registry/export/{kind}/?fmt=csv&amp;grid="' in html
    exported = c.get(f"/registry/export/organisations/?fmt=csv&grid={scene.world.grid.code}")
    assert exported.status_code == 200 and "林原便民超市" in exported.content.decode("utf-8-sig")


# ------------------------------------------------------------------------------------------------- API


def test_api_lists_party_organisations_paged_and_by_grid(scene, party):
    c = client_for(scene.world.l1head)
    first = c.get(f"{API}/party-organisations", {"limit": 2}).json()
    assert first["has_more"] is True and len(first["items"]) == 2
    rest = c.get(f"{API}/party-organisations", {"limit": 2, "before": first["next_before"]}).json()
    names = {i["name"] for i in first["items"] + rest["items"]}
    assert names == {party.committee.name, party.branch.name, party.group.name, party.neighbour.name}
    in_village = c.get(f"{API}/party-organisations", {"grid": scene.world.village.code}).json()["items"]
    assert {i["name"] for i in in_village} == {party.branch.name, party.group.name}
    group = next(i for i in in_village if i["name"] == party.group.name)
    assert group["parent"] == {"id": party.branch.pk, "name": party.branch.name}
    assert group["kind"] == "group" and group["kind_label"] == "party group" and group["members"] == 0
    assert (
        c.get(f"{API}/party-organisations", {"kind": "committee"}).json()["items"][0]["grid"]["code"]
        == "150621100"
    )
    # Another town's grid finds nothing; a village head does not see the town's committee.
    assert c.get(f"{API}/party-organisations", {"grid": "150621101"}).json()["items"] == []
    seen = client_for(scene.world.l2head).get(f"{API}/party-organisations").json()["items"]
    assert {i["name"] for i in seen} == {party.branch.name, party.group.name}


def test_api_gives_and_ends_roles(scene, party):
    w = scene.world
    zhang = scene.persons["zhang"]
    c = client_for(w.specialist)
    url = f"{API}/persons/{zhang.pk}/roles"
    bad = c.post(url, {"role": "party_member"})
    assert bad.status_code == 422 and bad.json()["field"] == "party_organisation"
    unknown = c.post(url, {"role": "party_member", "party_organisation": 999999})
    outside = c.post(url, {"role": "party_member", "party_organisation": party.other_town.pk})
    assert unknown.status_code == outside.status_code == 422
    assert unknown.json()["message"] == outside.json()["message"]  # an id outside tells nothing
    made = c.post(url, {"role": "party_member", "party_organisation": party.branch.pk, "since": "1990-07-01"})
    assert made.status_code == 201, made.content
    assert made.json() == {
        "created": True,
        "role": {
            "role": "party_member",
            "role_label": "party member",
            "party_organisation": {"id": party.branch.pk, "name": party.branch.name},
            "since": "1990-07-01",
        },
    }
    assert c.post(url, {"role": "volunteer"}).status_code == 201
    again = c.post(url, {"role": "volunteer", "since": "2020-01-01"})
    assert again.status_code == 200 and again.json()["created"] is False
    listed = c.get(url).json()
    assert [r["role"] for r in listed["items"]] == ["party_member", "volunteer"] and listed[
        "may_change"
    ] is True
    # The town reads them, may not change them; another town's keeper does not find the person.
    town = client_for(w.l1head)
    assert town.get(url).json()["may_change"] is False
    assert town.post(url, {"role": "mediator"}).status_code == 403
    assert town.delete(f"{url}/volunteer").status_code == 403
    assert client_for(w.other_specialist).post(url, {"role": "mediator"}).status_code == 404
    assert client_for(w.other_specialist).delete(f"{url}/volunteer").status_code == 404
    assert c.delete(f"{url}/volunteer?reason=不再参加").status_code == 204
    assert c.delete(f"{url}/volunteer").status_code == 404
    assert [r["role"] for r in c.get(url).json()["items"]] == ["party_member"]
    assert AuditRecord.objects.get(action="registry.role.end").data["reason"] == "不再参加"


def test_what_a_grid_worker_registers_through_the_api_is_collected_in_the_field(scene):
    w = scene.world
    form = {"name": "刘晓燕", "grid": w.grid.code, "document_number": id_number("15062120010203002")}
    assert client_for(w.specialist).post(f"{API}/persons", form).status_code == 201
    assert Person.objects.get(name="刘晓燕").source == Source.SURVEY
    form = {"name": "赵小红", "grid": w.grid_b.code, "document_number": id_number("15062120020304002")}
    assert client_for(w.l2head).post(f"{API}/persons", form).status_code == 201
    assert Person.objects.get(name="赵小红").source == Source.ADMIN  # the village head: at the office


def test_the_party_api_keeps_to_its_document(scene, party):
    """Schemathesis over the party and role operations, as the village head, aimed at real persons, roles and
    organisations besides its own requests: never a server error, always a declared answer."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    from gridgov.tests import fuzz

    persons = [{"person_id": p.pk} for p in scene.persons.values()]
    organisations = [o.pk for o in vars(party).values()] + [999999]

    def strategy_for(operation):
        fixed = persons if "{person_id}" in operation.path else []
        if "{role}" in operation.path:
            fixed = [{**p, "role": r} for p in persons for r in [*PersonRoleKind.values, "chairman"]]
        options = fuzz.generated(operation, fixed)
        positive = GenerationMode.POSITIVE
        if operation.label == "POST /api/registry/persons/{person_id}/roles":
            fields = {
                "role": st.sampled_from([*PersonRoleKind.values, "chairman", ""]),
                "party_organisation": st.sampled_from(organisations),
                "since": st.sampled_from(["1990-07-01", "2999-01-01", "1900-01-01"]),
            }
            options += [
                fuzz.with_body(operation.as_strategy(generation_mode=positive, path_parameters=p), fields)
                for p in persons
            ]
        if operation.label == "GET /api/registry/party-organisations":
            grids = ["150621100200001", "150621100200", "150621100", "150621101", "150621", "nope"]
            options.append(
                fuzz.with_query(
                    operation.as_strategy(generation_mode=positive), {"grid": st.sampled_from(grids)}
                )
            )
        return st.one_of(options)

    with fuzz.wsgi_schema() as schema:
        count, failures = fuzz.check_operations(
            schema.include(path_regex=r"^/api/registry/(party-organisations|persons/\{person_id\}/roles)"),
            strategy_for,
            fuzz.session_of(scene.world.l2head),
        )
    assert count == 4
    assert not failures, fuzz.report(failures)
