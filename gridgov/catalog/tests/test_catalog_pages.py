"""The responsibility-list pages (system administrator): items, an item's departments and limits, routing rules."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.catalog import selectors
from gridgov.catalog.models import Item, RoutingRule, TimeLimit
from gridgov.core.models import AuditRecord


@pytest.fixture
def admins(make_user):
    return {
        "system": make_user("sysadmin", admin_duty="system", is_staff=True),
        "security": make_user("secadmin", admin_duty="security", is_staff=True),
    }


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = "en"
    return c


@pytest.fixture
def sysc(admins):
    return client_for(admins["system"])


def test_items_list_searches_by_name_pinyin_and_code(world, sysc, django_assert_max_num_queries):
    url = reverse("catalog:items")
    with django_assert_max_num_queries(30):
        page = sysc.get(url)  # 145 items: a full page of 50 with departments and limits
    html = page.content.decode()
    assert page.status_code == 200 and 'rel="next"' in html
    assert html.count('href="/catalog/items/') >= 50
    with django_assert_max_num_queries(30):
        assert sysc.get(url, {"page": 3}).status_code == 200
    item = world.item  # 011001
    by_code = sysc.get(url, {"q": "011001"}).content.decode()
    assert item.name in by_code and "011002" not in by_code
    by_pinyin = sysc.get(url, {"q": item.pinyin.split()[1]}).content.decode()  # the initials
    assert "011001" in by_pinyin
    by_name = sysc.get(url, {"q": item.name}).content.decode()
    assert "011001" in by_name
    by_module = sysc.get(url, {"module": "02"}).content.decode()
    assert "011001" not in by_module and "021001" in by_module


def test_edit_item_departments_and_limits(world, sysc):
    item = world.item
    url = reverse("catalog:item_edit", args=[item.code])
    page = sysc.get(url)
    assert page.status_code == 200
    form = {"lead": "ZF", "assisting": ["HW", "GA"]}
    limits = {
        f"limit_{s}_{u}": 100
        for s in ("register", "dispatch", "sign", "handle", "verify")
        for u in ("normal", "urgent")
    }
    limits["limit_handle_normal"] = 840
    # the lead cannot assist: named, nothing changed
    html = sysc.post(url, {**form, "assisting": ["ZF"], **limits}).content.decode()
    assert "assisting departments: The lead department" in html
    item.refresh_from_db()
    assert item.lead_department.code == "HW"
    # a zero limit is refused next to its field
    html = sysc.post(url, {**form, **limits, "limit_sign_urgent": 0}).content.decode()
    assert "sign · urgent: Ensure this value is greater than or equal to 1." in html
    response = sysc.post(url, {**form, **limits})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.lead_department.code == "ZF"
    assert sorted(item.assisting_departments.values_list("code", flat=True)) == ["GA", "HW"]
    assert TimeLimit.objects.get(item=item, stage="handle", urgency="normal").minutes == 840
    assert selectors.time_limit(item, "handle", "normal") == 840
    assert AuditRecord.objects.filter(action="catalog.update_item", object_id=str(item.pk)).exists()
    # new cases of the item now go to the new lead
    selectors.invalidate_cache()
    assert selectors.lead_department_id(item, world.grid) == item.lead_department_id


def test_routing_rule_changes_the_lead_department_of_new_cases(world, sysc, django_assert_max_num_queries):
    item = world.item
    assert selectors.lead_department_id(item, world.grid) == world.hw.pk  # warms the cache
    url = reverse("catalog:rules")
    # unknown grid, both item and module: errors name the fields, nothing created
    html = sysc.post(url, {"grid": "999", "item": item.code, "department": "GA"}).content.decode()
    assert "grid code: No current grid has the code 999." in html
    html = sysc.post(
        url, {"grid": world.village.code, "item": item.code, "module": "01", "department": "GA"}
    ).content.decode()
    assert "item code: Name either one item or one module" in html
    assert not RoutingRule.objects.exists()
    # a rule for the item in the village sends the grid's new cases to GA
    assert (
        sysc.post(
            url, {"grid": world.village.code, "item": item.code, "department": "GA", "note": "试点"}
        ).status_code
        == 302
    )
    rule = RoutingRule.objects.get()
    assert selectors.lead_department_id(item, world.grid) == world.ga.pk  # the cache was invalidated
    assert selectors.lead_department_id(item, world.other_grid) == world.hw.pk  # outside the subtree
    assert AuditRecord.objects.filter(action="catalog.add_rule").exists()
    # the same grid and item again is refused, naming the item
    html = sysc.post(
        url, {"grid": world.village.code, "item": item.code, "department": "ZF"}
    ).content.decode()
    assert "item code: The grid" in html and RoutingRule.objects.count() == 1
    # edit it to ZF
    edit = reverse("catalog:rule_edit", args=[rule.pk])
    assert sysc.get(edit).status_code == 200
    assert (
        sysc.post(edit, {"grid": world.village.code, "item": item.code, "department": "ZF"}).status_code
        == 302
    )
    assert selectors.lead_department_id(item, world.grid) == world.zf.pk
    # a module rule
    sysc.post(url, {"grid": world.town.code, "module": "02", "department": "GA"})
    assert RoutingRule.objects.filter(module__code="02").exists()
    with django_assert_max_num_queries(30):
        assert sysc.get(url).status_code == 200
    # delete: back to the item's lead
    assert sysc.post(reverse("catalog:rule_delete", args=[rule.pk])).status_code == 302
    assert selectors.lead_department_id(item, world.grid) == world.hw.pk
    assert AuditRecord.objects.filter(action="catalog.delete_rule").exists()


def test_rules_list_query_bound_with_many_rules(world, sysc, django_assert_max_num_queries):
    items = list(Item.objects.order_by("code")[:40])
    RoutingRule.objects.bulk_create(
        [RoutingRule(grid=world.village, item=i, department=world.ga) for i in items]
    )
    with django_assert_max_num_queries(30):
        html = sysc.get(reverse("catalog:rules")).content.decode()
    assert html.count("/catalog/routing/") >= 40


@pytest.mark.parametrize("who", ["security", "operator", "handler"])
def test_only_the_system_administrator_sees_the_catalog_pages(world, admins, who):
    user = admins["security"] if who == "security" else getattr(world, who)
    c = client_for(user)
    for url in (
        reverse("catalog:items"),
        reverse("catalog:item_edit", args=[world.item.code]),
        reverse("catalog:rules"),
        reverse("catalog:calendar"),
    ):
        assert c.get(url).status_code == 404, url
    r = c.post(
        reverse("catalog:rules"), {"grid": world.village.code, "item": world.item.code, "department": "GA"}
    )
    assert r.status_code == 404 and not RoutingRule.objects.exists()
    assert reverse("catalog:items") not in c.get("/").content.decode()


def test_csrf_is_required(world, admins):
    c = Client(enforce_csrf_checks=True)
    c.force_login(admins["system"])
    r = c.post(
        reverse("catalog:rules"), {"grid": world.village.code, "item": world.item.code, "department": "GA"}
    )
    assert r.status_code == 403 and not RoutingRule.objects.exists()


def test_pages_link_to_each_other(world, sysc):
    html = sysc.get(reverse("catalog:items")).content.decode()
    for name in ("catalog:items", "catalog:rules", "catalog:calendar"):
        assert f'href="{reverse(name)}"' in html
