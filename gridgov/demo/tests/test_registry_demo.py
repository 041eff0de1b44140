"""The demo county's register: people in every town in whole households, organisations with valid credit
codes, components with valid IDs where they are, party organisations with their members, inspection plans
with past, open and overdue tasks, and visits by the grid workers of the grids visited."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
import shapely
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.core.personal import PHONE, decrypt_text
from gridgov.demo.config import DemoConfig
from gridgov.demo.county import build_county
from gridgov.demo.registry import person_columns, plan_components, plan_households, plan_organisations
from gridgov.demo.seed import seed_demo
from gridgov.fieldwork.choices import TaskState
from gridgov.fieldwork.models import InspectionPlan, InspectionTask, Visit
from gridgov.grids.locator import locate
from gridgov.grids.models import Grid
from gridgov.registry.choices import PartyOrgKind, PersonRoleKind, Relation
from gridgov.registry.models import (
    Component,
    Household,
    Organisation,
    PartyOrganisation,
    Person,
    PersonRole,
)
from gridgov.registry.validators import component_id_parts, is_valid_credit_code, is_valid_mobile

# The small county without its case history: the register does not need it.
CONFIG = replace(DemoConfig.small(), cases=0)


@pytest.fixture(scope="module")
def demo_once(module_db):
    """Seeded once for the module (each test's changes are rolled back after it)."""
    with module_db():
        return seed_demo(CONFIG)


@pytest.fixture
def demo(db, demo_once):
    return demo_once


def shapes(level: int) -> dict[int, shapely.Geometry]:
    return {
        pk: shapely.from_geojson(json.dumps(geometry))
        for pk, geometry in Grid.objects.current().filter(level=level).values_list("id", "geometry")
    }


def test_people_live_in_every_town_in_households_with_one_head_each(demo):
    report = demo.registry
    assert report.persons == Person.objects.count() == CONFIG.persons
    towns = set(Grid.objects.current().filter(level=1).values_list("id", flat=True))
    assert set(Person.objects.values_list("grid_l1_id", flat=True)) == towns

    heads = Counter(Person.objects.filter(relation=Relation.HEAD).values_list("household_id", flat=True))
    members = Counter(Person.objects.values_list("household_id", flat=True))
    households = dict(Household.objects.values_list("id", "members"))
    assert report.households == len(households) > CONFIG.persons / 6
    assert set(heads) == set(households) and set(heads.values()) == {1}
    assert all(households[h] == n for h, n in members.items())

    # Every household has a point in its own grid, so that a grid adjustment takes its people along.
    leaves = shapes(3)
    for grid_id, lon, lat in Household.objects.values_list("grid_id", "lon", "lat"):
        assert leaves[grid_id].contains(shapely.Point(lon, lat)), grid_id
        assert locate(lon, lat).grid_id == grid_id
    # Flats share their building's point; people of one household share its grid.
    for household in Household.objects.exclude(building=None).select_related("building")[:50]:
        assert (household.lon, household.lat) == (household.building.lon, household.building.lat)
        assert household.building.grid_id == household.grid_id
    assert not Person.objects.exclude(grid_id__in=Household.objects.values("grid_id")).exists()

    # The numbers are stored encrypted and masked, never as they were typed.
    person = Person.objects.exclude(phone_index="").first()
    assert person is not None and "*" in person.phone_masked and "*" in person.document_masked
    assert is_valid_mobile(decrypt_text(person.phone_enc, PHONE))


def test_organisations_have_valid_unique_credit_codes_and_masked_phones(demo):
    organisations = list(Organisation.objects.all())
    assert len(organisations) == demo.registry.organisations >= CONFIG.organisations * 0.9
    codes = [o.credit_code for o in organisations]
    assert all(is_valid_credit_code(c) and c[2:8] == "150621" for c in codes), codes[:5]
    assert len(set(codes)) == len(codes)
    # Individual businesses are registered as such (92), enterprises as 91, associations 51 to 53.
    for o in organisations:
        expected = {
            "shop": ("92",),
            "enterprise": ("91", "93"),
            "social": ("51", "52", "53"),
            "institution": ("12",),
        }
        assert o.credit_code[:2] in expected[o.kind], (o.kind, o.credit_code)
    phoned = [o for o in organisations if o.phone_index]
    assert phoned and all(
        "*" in o.phone_masked and is_valid_mobile(decrypt_text(o.phone_enc, PHONE)) for o in phoned
    )
    leaves = shapes(3)
    assert all(leaves[o.grid_id].contains(shapely.Point(o.lon, o.lat)) for o in organisations)


def test_components_have_valid_ids_of_their_class_inside_their_grid(demo):
    components = list(Component.objects.select_related("item", "item__lead_department"))
    assert len(components) == demo.registry.components == CONFIG.components
    leaves = shapes(3)
    ids = set()
    for c in components:
        parts = component_id_parts(c.object_id)  # raises for an invalid ID
        assert parts.county == "150621"
        assert (parts.major, parts.minor) == (c.item.standard_code[:2], c.item.standard_code[3:]), c.object_id
        assert c.item.kind == "component"
        assert c.owner_department_id == c.item.lead_department_id
        assert leaves[c.grid_id].contains(shapely.Point(c.lon, c.lat)), c.object_id
        ids.add(c.object_id)
    assert len(ids) == len(components)
    assert {"031005", "031001", "031002", "021001"} <= {c.item.code for c in components}


def test_party_organisations_and_roles(demo):
    towns = Grid.objects.current().filter(level=1)
    villages = Grid.objects.current().filter(level=2)
    committees = PartyOrganisation.objects.filter(kind=PartyOrgKind.COMMITTEE)
    branches = PartyOrganisation.objects.filter(kind=PartyOrgKind.BRANCH)
    assert set(committees.values_list("grid_id", flat=True)) == set(towns.values_list("id", flat=True))
    assert set(branches.values_list("grid_id", flat=True)) == set(villages.values_list("id", flat=True))
    for branch in branches.select_related("parent", "secretary"):
        assert branch.parent.grid_id == branch.grid_l1_id
        if branch.secretary is not None:
            assert branch.secretary.grid_l2_id == branch.grid_id

    adults = Person.objects.filter(
        birth_date__lte=timezone.localdate().replace(year=timezone.localdate().year - 18)
    )
    members = PersonRole.objects.filter(role=PersonRoleKind.PARTY_MEMBER).select_related("person")
    assert 0.02 < members.count() / adults.count() < 0.12
    assert all(
        m.party_organisation.grid_id == m.person.grid_l2_id
        for m in members.select_related("party_organisation")
    )
    assert PersonRole.objects.filter(role=PersonRoleKind.VOLUNTEER).exists()
    mediators = Counter(
        PersonRole.objects.filter(role=PersonRoleKind.MEDIATOR).values_list("person__grid_l2_id", flat=True)
    )
    assert set(mediators) == set(villages.values_list("id", flat=True))


def test_inspection_plans_have_past_open_and_overdue_tasks(demo):
    today = timezone.localdate()
    plans = list(InspectionPlan.objects.select_related("item"))
    assert {p.item.code for p in plans} >= {"021001", "031001", "031002"}
    assert {p.every_days for p in plans} >= {30, 365}
    for plan in plans:
        tasks = InspectionTask.objects.filter(plan=plan)
        assert tasks.exists(), plan.name
        # Every component of the plan's class in its subtree is under it.
        covered = set(tasks.values_list("component_id", flat=True))
        components = Component.objects.filter(item=plan.item)
        if plan.grid.level:
            components = components.filter(**{f"grid_l{plan.grid.level}_id": plan.grid_id})
        assert covered == set(components.values_list("id", flat=True)), plan.name
        # At most one open task per component, each for a worker of the component's grid.
        open_ = tasks.filter(state=TaskState.OPEN)
        assert open_.values("component").distinct().count() == open_.count()
        workers = set(
            RoleAssignment.objects.filter(role__in=(Role.GRID_SPECIALIST, Role.INFO_OFFICER)).values_list(
                "grid_id", "user_id"
            )
        )
        assert all((t.grid_id, t.worker_id) in workers for t in open_)
        for task in tasks.exclude(state=TaskState.OPEN):
            assert task.done_at <= timezone.now() and task.done_by_id == task.worker_id and task.key
    tasks = InspectionTask.objects.all()
    assert tasks.filter(
        state=TaskState.DONE, done_at__lt=timezone.now() - timezone.timedelta(days=25)
    ).exists()
    overdue = tasks.filter(state=TaskState.OPEN, due_on__lt=today).count()
    assert 0 < overdue < tasks.filter(state=TaskState.OPEN).count() + 1
    assert overdue == demo.registry.tasks_overdue
    assert overdue < Component.objects.count() / 4  # a few, not most
    # The demo grid workers sign in to inspections waiting for them (a yearly one waits only near its day).
    specialist = RoleAssignment.objects.get(user__username="specialist", role=Role.GRID_SPECIALIST)
    theirs = tasks.filter(state=TaskState.OPEN, grid_id=specialist.grid_id, worker__isnull=False)
    assert set(theirs.values_list("plan__item__code", flat=True)) >= {"031001", "031002"}


def test_visits_were_made_by_the_workers_of_the_grid_visited(demo):
    visits = list(Visit.objects.all())
    assert len(visits) == CONFIG.visits == demo.registry.visits
    workers = set(
        RoleAssignment.objects.filter(role__in=(Role.GRID_SPECIALIST, Role.INFO_OFFICER)).values_list(
            "grid_id", "user_id"
        )
    )
    now = timezone.now()
    for v in visits:
        assert (v.grid_id, v.worker_id) in workers
        assert now - timezone.timedelta(days=130) < v.visited_at <= now
        assert v.household_id or v.person_id or v.organisation_id
    assert len({v.visited_at.date() for v in visits}) > len(visits) / 3


def test_the_same_seed_plans_the_same_register_and_another_seed_another():
    def register(config: DemoConfig) -> tuple:
        plan = build_county(config)
        columns = person_columns(config, plan)
        households, buildings = plan_households(columns, plan, config.seed)
        organisations = plan_organisations(config, plan)
        components = plan_components(config, plan, buildings)
        return (
            columns,
            [h.__dict__ for h in households],
            [o.__dict__ for o in organisations],
            [(c.item, c.serial, c.grid, c.lon, c.lat, c.name) for c in components],
        )

    config = DemoConfig.small(seed=3)
    first = register(config)
    assert first == register(config)
    assert first != register(config.with_seed(4))
