"""Teams and their members: made, changed and left by the keepers of their grid; every refusal names its field
and changes nothing; a member who leaves keeps their record and their hours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.community import services
from gridgov.community.errors import Conflict, Invalid, NotAllowed
from gridgov.community.models import Member, Team
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord
from gridgov.core.personal import PHONE, blind_index, decrypt_text
from gridgov.registry.models import Person

from .helpers import fresh, snapshot

pytestmark = pytest.mark.django_db


def test_a_keeper_makes_a_team_in_their_grid_with_its_ancestors(crew):
    team = services.do_create_team(
        actor=crew.l2head, name=" 党建联盟 ", kind="party", grid=crew.village.code, description="村党支部牵头"
    )
    assert (team.name, team.kind, team.grid_id) == ("党建联盟", "party", crew.village.pk)
    assert (team.grid_l1_id, team.grid_l2_id, team.grid_l3_id) == (crew.town.pk, crew.village.pk, None)
    assert team.created_by == crew.l2head and team.active and team.version == 1
    record = AuditRecord.objects.get(action="community.team.create")
    assert record.data == {"name": "党建联盟", "kind": "party", "grid": crew.village.code}
    assert verify_chain().broken_at is None


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": "  "}, "name", Invalid),
        ({"name": "x" * 101}, "name", Invalid),
        ({"name": "a\x00b"}, "name", Invalid),
        ({"kind": "choir"}, "kind", Invalid),
        ({"grid": "nowhere"}, "grid", Invalid),
        ({"grid": "150621"}, "grid", Invalid),  # the whole county: not a team's grid
        ({"phone": "call me"}, "phone", Invalid),
        ({"phone": "123"}, "phone", Invalid),
        ({"description": "x" * 2001}, "description", Invalid),
        ({"grid": "150621100200002"}, "grid", NotAllowed),  # a specialist keeps their own grid only
        ({"grid": "150621100"}, "grid", NotAllowed),  # nor the town above it
    ],
)
def test_a_bad_team_is_refused_naming_the_field_and_nothing_changes(crew, changes, field, error):
    before = snapshot()
    data = {"name": "巡逻队", "kind": "patrol", "grid": crew.grid.code, "phone": "", "description": ""}
    with pytest.raises(error) as refused:
        services.do_create_team(actor=crew.specialist, **{**data, **changes})
    assert refused.value.field == field and str(refused.value.message)
    assert snapshot() == before


def test_a_second_team_of_one_name_in_one_grid_is_refused(teams):
    crew = teams.crew
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_create_team(actor=crew.l2head, name="红袖章巡逻队", kind="patrol", grid=crew.grid.code)
    assert refused.value.field == "name"
    assert snapshot() == before
    # The same name in another grid is another team.
    services.do_create_team(
        actor=crew.specialist_b, name="红袖章巡逻队", kind="patrol", grid=crew.grid_b.code
    )


def test_people_who_keep_no_grid_make_no_team(crew):
    before = snapshot()
    for user in (crew.leader, crew.officer, crew.vol1, crew.resident, crew.nobody):
        with pytest.raises(NotAllowed):
            services.do_create_team(actor=user, name="队", kind="other", grid=crew.grid.code)
    assert snapshot() == before


def test_a_team_is_changed_with_the_version_read_and_a_stale_one_is_a_conflict(teams):
    crew, patrol = teams.crew, teams.patrol
    services.do_edit_team(
        patrol,
        actor=crew.l2head,
        version=1,
        name="红袖章",
        kind="patrol",
        description="每晚巡逻",
        phone="13800001111",
        leader=teams.ann.pk,
        active=True,
    )
    patrol.refresh_from_db()
    assert (patrol.name, patrol.leader_id, patrol.version, patrol.phone) == (
        "红袖章",
        teams.ann.pk,
        2,
        "13800001111",
    )
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        services.do_edit_team(patrol, actor=crew.specialist, version=1, name="别名", kind="patrol")
    assert refused.value.field == "version"
    # A leader must be an active member of the team.
    for leader in (teams.driver.pk, teams.far_member.pk, 10**12):
        with pytest.raises(Invalid) as refused:
            services.do_edit_team(
                patrol, actor=crew.specialist, version=2, name="红袖章", kind="patrol", leader=leader
            )
        assert refused.value.field == "leader"
    with pytest.raises(NotAllowed):
        services.do_edit_team(patrol, actor=crew.other_specialist, version=2, name="红袖章", kind="patrol")
    assert snapshot() == before


def test_a_member_phone_is_encrypted_indexed_and_masked(teams):
    ann = Member.objects.get(pk=teams.ann.pk)
    assert ann.phone_masked == "138****1234"
    assert ann.phone_index == blind_index("13812341234")
    assert decrypt_text(ann.phone_enc, PHONE) == "13812341234"
    record = AuditRecord.objects.filter(action="community.member.add", object_id=str(ann.pk)).get()
    assert "13812341234" not in str(record.data) and record.data["phone"] == "138****1234"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"phone": "0477-5123456"}, "phone"),  # a landline is no member's mobile
        ({"phone": "1381234"}, "phone"),
        ({"user": "nobody"}, "user"),  # no volunteer role
        ({"user": "vol3"}, "user"),  # a volunteer of the other town: not the specialist's to see
        ({"user": "ghost"}, "user"),
        ({"user": "vol1"}, "user"),  # a member already
        ({"person": 10**12}, "person"),
        ({"person": "x"}, "person"),
        ({"skills": "x" * 201}, "skills"),
        ({"joined_on": "2026-13-01"}, "joined_on"),
        ({"joined_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}, "joined_on"),
    ],
)
def test_a_bad_member_is_refused_naming_the_field_and_nothing_changes(teams, changes, field):
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_add_member(teams.patrol, actor=teams.crew.specialist, **{"name": "新人", **changes})
    assert refused.value.field == field, refused.value.message
    assert snapshot() == before


def test_a_registry_person_gives_the_member_their_name_once_per_team(teams):
    crew = teams.crew
    person = Person(name="钱七")
    person.place_in(crew.grid)
    person.save()
    joined = services.do_add_member(teams.patrol, actor=crew.specialist, person=person.pk)
    assert joined.created and joined.member.name == "钱七" and joined.member.person_id == person.pk
    before = snapshot()
    with pytest.raises(Invalid) as refused:
        services.do_add_member(teams.patrol, actor=crew.specialist, person=person.pk, name="钱七")
    assert refused.value.field == "person"
    # A person of another town's grid is not the specialist's to link.
    far = Person(name="孙八")
    far.place_in(crew.other_town_grid)
    far.save()
    with pytest.raises(Invalid):
        services.do_add_member(teams.patrol, actor=crew.specialist, person=far.pk)
    assert snapshot() == before


def test_a_member_leaves_keeps_the_record_and_comes_back_on_it(teams):
    crew, patrol = teams.crew, teams.patrol
    services.do_edit_team(
        patrol, actor=crew.specialist, version=1, name=patrol.name, kind="patrol", leader=teams.ann.pk
    )
    left = services.do_remove_member(teams.ann, actor=crew.specialist, reason="搬走了")
    assert not left.active and left.left_on == timezone.localdate()
    patrol.refresh_from_db()
    assert patrol.leader_id is None  # a leader who leaves leaves the team without one
    assert Member.objects.filter(pk=teams.ann.pk).exists()
    # The volunteer no longer sees the patrol (their car team still).
    assert services.my_member(fresh(crew.vol1), patrol.pk) is None
    assert services.my_member(fresh(crew.vol1), teams.car.pk) is not None
    # Leaving again changes nothing.
    before = snapshot()
    services.do_remove_member(left, actor=crew.specialist)
    assert snapshot() == before
    # Back, on the same record.
    joined = services.do_add_member(
        patrol, actor=crew.specialist, name="张三", user="vol1", phone="13812341234"
    )
    assert not joined.created and joined.member.pk == teams.ann.pk and joined.member.active
    assert joined.member.left_on is None
    assert AuditRecord.objects.filter(action="community.member.rejoin").count() == 1


def test_only_the_keepers_of_the_team_grid_add_and_remove_members(teams):
    crew = teams.crew
    before = snapshot()
    for user in (crew.officer, crew.other_specialist, crew.leader, crew.vol1):
        with pytest.raises(NotAllowed):
            services.do_add_member(teams.patrol, actor=user, name="新人")
        with pytest.raises(NotAllowed):
            services.do_remove_member(teams.bob, actor=user)
    # The town's car team is the town's: the grid's specialist does not keep it.
    with pytest.raises(NotAllowed):
        services.do_add_member(teams.car, actor=crew.specialist, name="新人")
    assert snapshot() == before


def test_an_inactive_team_takes_no_member(teams):
    crew, patrol = teams.crew, teams.patrol
    services.do_edit_team(
        patrol, actor=crew.specialist, version=1, name=patrol.name, kind="patrol", active=False
    )
    patrol.refresh_from_db()
    before = snapshot()
    with pytest.raises(Conflict):
        services.do_add_member(patrol, actor=crew.specialist, name="新人")
    assert snapshot() == before
    assert not Team.objects.get(pk=patrol.pk).active
