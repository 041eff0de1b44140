"""Patrols in the back office: the system administrator reads them; nobody adds, changes or deletes one there."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from gridgov.fieldwork.models import Patrol
from gridgov.fieldwork.services import do_add_track, do_start_patrol

from .helpers import IN_G, as_user, ms

pytestmark = pytest.mark.django_db


def test_the_admin_lists_patrols_read_only(crew, make_user):
    t0 = timezone.now() - dt.timedelta(hours=1)
    key = uuid.uuid4()
    do_start_patrol(crew.specialist, key, t0, *IN_G)
    do_add_track(
        key,
        crew.specialist,
        [
            [109.01, 40.05, ms(t0 + dt.timedelta(minutes=1)), 5],
            [109.02, 40.05, ms(t0 + dt.timedelta(minutes=9)), 5],
        ],
    )
    patrol = Patrol.objects.get(key=key)
    admin = as_user(make_user("sysadmin", admin_duty="system", is_staff=True))

    listing = admin.get("/admin/fieldwork/patrol/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "spec-name" in page and crew.grid.code in page and "851" in page  # 0.01° east: 851 m

    assert admin.get(f"/admin/fieldwork/patrol/{patrol.pk}/change/").status_code == 200
    assert admin.get("/admin/fieldwork/patrol/add/").status_code == 403
    assert admin.post(f"/admin/fieldwork/patrol/{patrol.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Patrol.objects.filter(pk=patrol.pk).exists()
    # Other administrators and staff do not see the page.
    security = as_user(make_user("secadmin", admin_duty="security", is_staff=True))
    assert security.get("/admin/fieldwork/patrol/").status_code == 403


def test_the_admin_lists_inspections_read_only(field, make_user):
    from gridgov.fieldwork.models import InspectionPlan, InspectionTask
    from gridgov.fieldwork.services import do_create_plan, do_generate_tasks

    do_create_plan(
        actor=field.crew.l2head,
        name="消防设施年检",
        item="021001",
        grid="150621100200",
        every_days=365,
        checklist=[{"code": "seal", "text": "铅封完好"}],
    )
    do_generate_tasks()
    admin = as_user(make_user("sysadmin", admin_duty="system", is_staff=True))
    listing = admin.get("/admin/fieldwork/inspectiontask/")
    assert listing.status_code == 200 and field.ext.object_id in listing.content.decode()
    assert admin.get("/admin/fieldwork/inspectionplan/").status_code == 200
    task = InspectionTask.objects.first()
    assert admin.get(f"/admin/fieldwork/inspectiontask/{task.pk}/change/").status_code == 200
    assert admin.get("/admin/fieldwork/inspectionplan/add/").status_code == 403
    assert (
        admin.post(f"/admin/fieldwork/inspectiontask/{task.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert InspectionPlan.objects.count() == 1 and InspectionTask.objects.count() == 3
    # The visits are not a back-office list.
    assert admin.get("/admin/fieldwork/visit/").status_code == 404
