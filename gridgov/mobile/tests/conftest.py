"""What the phone's fieldwork needs around the `world` (the project's conftest): households, a shop and fire
extinguishers in the workers' grid 150621100200001, a household of the other town, and a yearly inspection plan
of the extinguishers with one task overdue and one due later, both the grid specialist's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

CHECKLIST = [{"code": "pressure", "text": "压力表指针在绿区"}, {"code": "seal", "text": "铅封完好"}]


def id_number(region_birth_serial: str) -> str:
    """A citizen ID number with its check character (GB 11643)."""
    from gridgov.registry.validators import id_check_char

    return region_birth_serial + id_check_char(region_birth_serial)


@pytest.fixture
def rounds(world: Any) -> SimpleNamespace:
    from gridgov.catalog.models import Item
    from gridgov.fieldwork.models import InspectionTask
    from gridgov.fieldwork.services import do_create_plan
    from gridgov.registry.choices import OrganisationKind
    from gridgov.registry.models import Component, Household, Organisation

    def located(record: Any, grid: Any, lon: float, lat: float) -> Any:
        record.place_in(grid)
        record.lon, record.lat = lon, lat
        record.save()
        return record

    fire = Item.objects.get(code="021001")
    households = [
        located(
            Household(number=f"H-{n:04d}", house_number=f"{n}号", address=f"幸福路{n}号", members=n % 4 + 1),
            world.grid,
            109.01,
            40.05,
        )
        for n in range(1, 6)
    ]
    far = located(Household(number="H-9001", address="远方路1号"), world.other_grid, 109.11, 40.05)
    shop = located(Organisation(name="便民超市", kind=OrganisationKind.SHOP), world.grid, 109.012, 40.05)
    late = located(
        Component(object_id="150621011300001", item=fire, name="灭火器", location="村委会一楼"),
        world.grid,
        109.01,
        40.05,
    )
    later = located(
        Component(object_id="150621011300002", item=fire, name="消火栓", location="幸福路口"),
        world.grid,
        109.015,
        40.06,
    )
    plan = do_create_plan(
        actor=world.l2head,
        name="消防设施年检",
        item="021001",
        grid=world.village.code,
        every_days=365,
        checklist=CHECKLIST,
    )
    today = timezone.localdate()
    tasks = {t.component_id: t for t in InspectionTask.objects.filter(plan=plan)}
    InspectionTask.objects.filter(pk=tasks[late.pk].pk).update(
        worker=world.specialist, due_on=today - dt.timedelta(days=3)
    )
    InspectionTask.objects.filter(pk=tasks[later.pk].pk).update(
        worker=world.specialist, due_on=today + dt.timedelta(days=20)
    )
    return SimpleNamespace(
        world=world,
        households=households,
        far=far,
        shop=shop,
        late=late,
        later=later,
        plan=plan,
        late_task=tasks[late.pk].pk,
        later_task=tasks[later.pk].pk,
    )
