"""Who sees the list, and the Chinese back-office pages (every change audited)."""

from __future__ import annotations

import datetime as dt

import pytest

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment
from gridgov.catalog.models import Item, Module, RoutingRule, TimeLimit
from gridgov.catalog.selectors import search_items
from gridgov.core.models import AuditRecord, CalendarDay, WorkingPeriod
from gridgov.core.scoping import visible_to


@pytest.fixture
def system_admin(make_user):
    return make_user("sysadmin", admin_duty=AdminDuty.SYSTEM, is_staff=True)


@pytest.mark.django_db
def test_residents_see_active_items_but_not_limits_or_rules(catalog, small_tree, make_user):
    resident = make_user("resident")
    RoleAssignment.objects.create(user=resident, role=Role.RESIDENT)
    specialist = make_user("specialist")
    RoleAssignment.objects.create(
        user=specialist, role=Role.GRID_SPECIALIST, grid=small_tree["150621100200001"]
    )
    item = Item.objects.get(code="012001")
    RoutingRule.objects.create(grid=small_tree["150621100"], item=item, department=item.lead_department)
    Item.objects.filter(code="012002").update(active=False)

    assert visible_to(resident, Item).count() == 144
    assert visible_to(resident, Module).count() == 10
    assert not visible_to(resident, TimeLimit).exists()
    assert not visible_to(resident, RoutingRule).exists()
    assert [i.code for i in search_items(resident, "bllj")] == ["012001"]

    assert visible_to(specialist, Item).count() == 145
    assert visible_to(specialist, TimeLimit).count() == 1450
    assert visible_to(specialist, RoutingRule).count() == 1


@pytest.mark.django_db
def test_the_admin_pages_speak_chinese(client, catalog, system_admin):
    client.force_login(system_admin)
    item = Item.objects.get(code="012001")
    pages = {
        "/admin/catalog/item/?q=bllj": ["暴露垃圾", "牵头部门", "模块"],
        f"/admin/catalog/item/{item.pk}/change/": [
            "立案条件",
            "结案条件",
            "协办部门",
            "工作分钟",
            "受理立案",
        ],
        "/admin/catalog/department/": ["公安局", "牵头事项数"],
        "/admin/catalog/module/": ["乡风文明"],
        "/admin/catalog/routingrule/add/": ["网格范围"],
        "/admin/core/calendarday/?q=国庆": ["国庆节", "法定节假日"],
        "/admin/core/workingperiod/": ["08:30"],
    }
    for url, words in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for word in words:
            assert word in text, (url, word)


@pytest.mark.django_db
def test_an_item_edited_in_the_admin_is_audited_and_its_pinyin_follows(client, catalog, system_admin):
    client.force_login(system_admin)
    item = Item.objects.get(code="012001")
    limits = list(item.limits.order_by("id"))
    data = {
        "code": item.code,
        "name": "暴露垃圾堆",
        "name_en": item.name_en,
        "module": item.module_id,
        "kind": item.kind,
        "standard_code": item.standard_code,
        "active": "on",
        "lead_department": item.lead_department_id,
        "assisting_departments": [d.pk for d in item.assisting_departments.all()],
        "resolving_level": item.resolving_level,
        "urgency": item.urgency,
        "filing_condition": item.filing_condition,
        "closing_condition": item.closing_condition,
        "keywords": item.keywords,
        "limits-TOTAL_FORMS": str(len(limits)),
        "limits-INITIAL_FORMS": str(len(limits)),
        "limits-MIN_NUM_FORMS": "0",
        "limits-MAX_NUM_FORMS": "1000",
    }
    for n, t in enumerate(limits):
        data.update(
            {
                f"limits-{n}-id": t.pk,
                f"limits-{n}-item": item.pk,
                f"limits-{n}-stage": t.stage,
                f"limits-{n}-urgency": t.urgency,
                f"limits-{n}-minutes": 180 if (t.stage, t.urgency) == ("handle", "normal") else t.minutes,
            }
        )
    response = client.post(f"/admin/catalog/item/{item.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.pinyin == "baolulajidui blljd"
    assert item.limits.get(stage="handle", urgency="normal").minutes == 180
    assert AuditRecord.objects.filter(action="admin.change", object_id=str(item.pk)).exists()
    # The time limit changed in the inline is audited as its own row, with the field that changed.
    limit = AuditRecord.objects.get(action="admin.change", object_type="catalog.timelimit")
    assert limit.data["fields"] == ["minutes"] and limit.data["of"] == str(item)


@pytest.mark.django_db
def test_a_make_up_day_on_a_weekday_is_refused_in_the_admin(client, system_admin):
    client.force_login(system_admin)
    response = client.post(
        "/admin/core/calendarday/add/",
        {"date": "2026-12-09", "kind": "workday", "name": "调休", "source": ""},
    )
    assert response.status_code == 200 and "周六或周日" in response.content.decode()
    assert not CalendarDay.objects.filter(date=dt.date(2026, 12, 9)).exists()
    overlapping = client.post("/admin/core/workingperiod/add/", {"start": "11:00", "end": "13:00"})
    assert overlapping.status_code == 200 and WorkingPeriod.objects.count() == 2
