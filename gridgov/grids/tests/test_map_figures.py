"""The grid map and the figures of the apps above the grids: the page carries a figures provider (the
registry's figures API and its words) for a user who reads the registry, and nothing for one who does not,
whose map stays as it was. The grids reach the registry only through `signals.map_figures`: no module of the
grids app imports it (architecture.md: the registry sits on the grids, never the reverse)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from gridgov.grids import signals

pytestmark = pytest.mark.django_db
GRIDS_APP = Path(signals.__file__).parent
WORDS = {
    "persons",
    "households",
    "buildings",
    "organisations",
    "components",
    "keyGroups",
    "colourBy",
    "legend",
}


def map_config(user: Any, language: str = "en") -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get("/grids/map/")
    assert response.status_code == 200
    html = response.content.decode()
    return json.loads(html.split('<script id="map-config" type="application/json">')[1].split("</script>")[0])


@pytest.mark.parametrize("who", ["specialist", "l2head", "l1head", "operator", "leader"])
def test_a_registry_reader_gets_the_figures_provider(world, who):
    config = map_config(getattr(world, who))
    figures = config["figures"]
    assert figures["url"] == "/api/registry/figures"
    assert set(figures["text"]) >= WORDS
    assert figures["text"]["persons"] == "Registered population"
    assert config["text"]["byGrid"] == "By grid"


def test_the_provider_speaks_the_users_language(world):
    figures = map_config(world.leader, "zh-hans")["figures"]
    assert figures["text"]["households"] == "户数"
    assert figures["text"]["keyGroups"] == "重点人群"


def test_a_county_wide_administrator_reads_the_registry_and_gets_figures(world, make_user):
    admin = make_user("sysadmin", admin_duty="system", is_staff=True)
    assert map_config(admin)["figures"]["url"] == "/api/registry/figures"


@pytest.mark.parametrize("who", ["handler", "guide", "mediator", "resident"])
def test_without_the_registry_the_map_has_no_figures(world, who):
    config = map_config(getattr(world, who))
    assert "figures" not in config
    # The rest of the page is the map as it was.
    assert config["api"] == "/api/grids/" and config["text"]["population"] == "Population"


def test_the_grids_app_imports_no_app_above_it():
    above = ("registry", "cases", "fieldwork", "mediation", "community", "command", "assessment", "mobile")
    for path in GRIDS_APP.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not any(name.startswith(f"gridgov.{app}") for app in above), f"{path.name}: {name}"
