"""The mediation world: the `world` of the case tests (grid …100200001 "g" in village …100200 "v" in town …100
"t"; "g2" in the other town) with a committee at each level above "g" and mediators on them, and one more
committee in the other town."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from gridgov.accounts.models import RoleAssignment

from .helpers import make_committee, make_mediator

# A working Wednesday morning (Asia/Shanghai), as in the case tests.
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def med(world, make_user):
    w = world
    grid_committee = make_committee(w.grid, "网格1-1-1调解小组")
    village_committee = make_committee(w.village, "村1-1人民调解委员会")
    town_committee = make_committee(w.town, "镇1人民调解委员会")
    other_committee = make_committee(w.other_grid.parent, "村2-1人民调解委员会")
    # The grid specialist mediates in their grid; world.mediator (mediator role over the village) sits on the
    # village's committee; a town mediator has a login with the mediator role over the town.
    town_user = make_user("townmed", full_name="镇调解员")
    RoleAssignment.objects.create(user=town_user, role="mediator", grid=w.town)
    outsider = make_user("med2", full_name="外镇调解员")
    RoleAssignment.objects.create(user=outsider, role="mediator", grid=w.other_grid.parent)
    return SimpleNamespace(
        w=w,
        grid_committee=grid_committee,
        village_committee=village_committee,
        town_committee=town_committee,
        other_committee=other_committee,
        grid_mediator=make_mediator(
            grid_committee,
            "网格员张",
            user=w.specialist,
            kind="grid_worker",
            skills=["neighbours"],
            areas=[w.grid],
        ),
        elder=make_mediator(
            village_committee,
            "乡贤巴特尔",
            user=w.mediator,
            kind="elder",
            skills=["land", "neighbours"],
            languages=["zh", "mn"],
            areas=[w.village],
        ),
        teacher=make_mediator(
            village_committee,
            "退休教师李",
            kind="teacher",
            skills=["family"],
            languages=["zh"],
            areas=[w.grid],
        ),
        retired=make_mediator(
            village_committee, "老干部王", kind="retired_cadre", skills=[], languages=["zh"]
        ),
        gone=make_mediator(village_committee, "已离任赵", kind="other", skills=["land"], active=False),
        town_mediator=make_mediator(
            town_committee,
            "司法助理刘",
            user=town_user,
            kind="lawyer",
            skills=["land", "wages"],
            areas=[w.town],
        ),
        outsider=make_mediator(
            other_committee, "外村调解员", user=outsider, kind="elder", areas=[w.other_grid]
        ),
        town_user=town_user,
        outsider_user=outsider,
    )
