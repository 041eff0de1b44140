"""The API document names each schema once: django-ninja files every schema under its class name in the
OpenAPI components, so two classes of one name (a `Ref` of cases and another of the registry) leave one
definition for both, and every client — and the fuzz tests — read one of them against the other's answers."""

from __future__ import annotations

from collections import defaultdict

import pydantic

import gridgov.api  # noqa: F401  (every router and its schemas)


def _models(base: type) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        if sub.__module__.startswith("gridgov."):
            found.append(sub)
        found.extend(_models(sub))
    return found


def shared(models: list[type]) -> dict[str, list[str]]:
    """The class names that stand in more than one module, with those modules."""
    modules: dict[str, set[str]] = defaultdict(set)
    for model in models:
        modules[model.__name__].add(model.__module__)
    return {name: sorted(where) for name, where in modules.items() if len(where) > 1}


def test_no_two_schemas_share_a_name():
    assert not shared(_models(pydantic.BaseModel)), "schemas named alike in several modules"


def test_the_check_can_fail():
    from gridgov.cases.schemas import Ref

    other = type("Ref", (), {"__module__": "gridgov.registry.schemas"})
    assert shared([Ref, other]) == {"Ref": ["gridgov.cases.schemas", "gridgov.registry.schemas"]}
