"""The people around the volunteer teams of the small tree: the staff of grid 150621100200001 ("g", village
…100200 "v", town …100 "t"), the heads and operators above it, a specialist of the other town, volunteers
(logins holding the volunteer role) and people who see nothing; a town's car team, a grid's patrol and a team
of the other town, with members linked to the volunteers."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from gridgov.accounts.models import RoleAssignment
from gridgov.community import services


@pytest.fixture
def crew(small_tree, make_user):
    grids = small_tree

    def person(username: str, *roles: tuple[str, str | None]):
        user = make_user(username, full_name=f"{username}-name")
        for role, code in roles:
            RoleAssignment.objects.create(user=user, role=role, grid=grids[code] if code else None)
        return user

    return SimpleNamespace(
        grids=grids,
        root=grids["150621"],
        town=grids["150621100"],
        village=grids["150621100200"],
        other_village=grids["150621100201"],
        grid=grids["150621100200001"],
        grid_b=grids["150621100200002"],
        other_town=grids["150621101"],
        other_town_grid=grids["150621101200001"],
        specialist=person("spec", ("grid_specialist", "150621100200001")),
        officer=person("officer", ("info_officer", "150621100200001")),
        specialist_b=person("spec_b", ("grid_specialist", "150621100200002")),
        other_specialist=person("spec2", ("grid_specialist", "150621101200001")),
        l2head=person("l2", ("grid_head_l2", "150621100200")),
        other_l2head=person("l2b", ("grid_head_l2", "150621100201")),
        l1head=person("l1", ("grid_head_l1", "150621100")),
        operator=person("op", ("operator", "150621100")),
        leader=person("leader", ("leader", "150621")),
        vol1=person("vol1", ("volunteer", "150621100200001")),
        vol2=person("vol2", ("volunteer", "150621100200001")),
        vol3=person("vol3", ("volunteer", "150621101200001")),
        idle_volunteer=person("vol9", ("volunteer", "150621100200001")),
        resident=person("res", ("resident", None)),
        nobody=person("nobody"),
    )


@pytest.fixture
def teams(crew):
    """A grid's patrol (vol1, vol2 and one without a login), the town's car team (vol1 too) and a team of the
    other town (vol3)."""
    patrol = services.do_create_team(
        actor=crew.specialist, name="红袖章巡逻队", kind="patrol", grid=crew.grid.code, phone="0477-5123456"
    )
    car = services.do_create_team(actor=crew.l1head, name="爱心车队", kind="car", grid=crew.town.code)
    far = services.do_create_team(
        actor=crew.other_specialist, name="志愿服务队", kind="service", grid=crew.other_town_grid.code
    )
    ann = services.do_add_member(
        patrol, actor=crew.specialist, name="张三", phone="13812341234", user="vol1", skills="急救"
    ).member
    bob = services.do_add_member(patrol, actor=crew.specialist, name="李四", user="vol2").member
    cat = services.do_add_member(patrol, actor=crew.specialist, name="王五").member
    driver = services.do_add_member(car, actor=crew.l1head, name="张三", user="vol1", skills="驾驶").member
    far_member = services.do_add_member(far, actor=crew.other_specialist, name="赵六", user="vol3").member
    for user in (crew.vol1, crew.vol2, crew.vol3, crew.specialist, crew.l1head, crew.other_specialist):
        user.__dict__.pop("_community_reach", None)
    return SimpleNamespace(
        crew=crew,
        patrol=patrol,
        car=car,
        far=far,
        ann=ann,
        bob=bob,
        cat=cat,
        driver=driver,
        far_member=far_member,
    )


def later(hours: float = 24) -> dt.datetime:
    """A moment `hours` from now, on the minute."""
    return (timezone.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)
