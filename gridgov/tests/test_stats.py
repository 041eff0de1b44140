"""`gridgov stats`: the counts operators read and checks parse."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation

from gridgov.accounts.choices import Role
from gridgov.demo.config import DemoConfig


def stats_json() -> dict:
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_empty_database_counts_zero_and_names_every_role():
    stats = stats_json()
    assert stats["grids"]["total"] == 0 and stats["grids"]["by_level"] == {}
    assert set(stats["users"]["by_role"]) == set(Role.values)
    assert all(n == 0 for n in stats["users"]["by_role"].values())
    assert stats["users"]["by_admin_duty"] == {"system": 0, "security": 0, "audit": 0}
    assert stats["items"] == {"total": 0, "by_kind": {"component": 0, "event": 0}}


@pytest.mark.django_db
def test_stats_count_the_small_county(small_county):
    config = DemoConfig.small()
    stats = stats_json()
    assert stats["grids"]["by_level"] == {"0": 1, "1": 4, "2": config.level2, "3": config.level3}
    assert stats["grids"]["special"] == len(config.specials)
    roles = stats["users"]["by_role"]
    assert roles[Role.GRID_SPECIALIST] == config.specialists
    assert roles[Role.INFO_OFFICER] == config.officers
    assert roles[Role.GRID_GUIDE] == config.guides
    assert roles[Role.GRID_HEAD_L1] == 4 and roles[Role.GRID_HEAD_L2] == config.level2
    # Users per role count people; a role's assignments are counted apart.
    assert stats["role_assignments"]["by_role"][Role.GRID_SPECIALIST] == config.specialists
    # The people, and the account each alarm source reports through.
    assert stats["users"]["total"] == small_county.users + small_county.cameras.sources
    assert stats["territory"]["population"] == config.population
    assert stats["departments"] == 32 and stats["modules"] == 10 and stats["items"]["total"] == 145


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"), [("en", ["Grids", "grid specialist"]), ("zh-hans", ["网格专员"])]
)
def test_the_table_speaks_the_language(small_county, language, words):
    out = io.StringIO()
    with translation.override(language):
        call_command("stats", stdout=out)
    text = out.getvalue()
    for word in words:
        assert word in text
    assert f"{DemoConfig.small().officers:,}" in text
