"""Routing an item in a grid (rules per grid subtree) and the working-time limits of its stages."""

from __future__ import annotations

import pytest

from gridgov.catalog.models import Department, Item, Module, RoutingRule, TimeLimit
from gridgov.catalog.selectors import route, time_limit, time_limits


def dept(code: str) -> Department:
    return Department.objects.get(code=code)


@pytest.mark.django_db
def test_without_a_rule_the_item_s_departments_apply(catalog, small_tree, django_assert_num_queries):
    item = Item.objects.get(code="031001")  # 雨水井盖: 住建 leads, 综合执法 assists
    with django_assert_num_queries(2):
        r = route(item, small_tree["150621100200001"])
    assert (r.lead.code, [d.code for d in r.assisting], r.rule) == ("ZJ", ["ZF"], None)
    with django_assert_num_queries(1):
        assert route(item, None).lead.code == "ZJ"


@pytest.mark.django_db
def test_an_item_rule_beats_a_module_rule_and_the_deepest_subtree_wins(
    catalog, small_tree, django_assert_num_queries
):
    cover = Item.objects.get(code="031001")
    sewer = Item.objects.get(code="031002")
    module = Module.objects.get(code="03")
    county, town, village = small_tree["150621"], small_tree["150621100"], small_tree["150621100200"]
    RoutingRule.objects.create(grid=town, module=module, department=dept("HW"))
    RoutingRule.objects.create(grid=county, item=cover, department=dept("GD"))
    village_rule = RoutingRule.objects.create(grid=village, item=cover, department=dept("ZF"))

    with django_assert_num_queries(2):
        r = route(cover, small_tree["150621100200002"])
    # The village's item rule wins over the county's; the new lead no longer counts as assisting.
    assert (r.lead.code, [d.code for d in r.assisting], r.rule) == ("ZF", [], village_rule)
    # Next village, same town: the county's item rule beats the town's (deeper) module rule.
    assert route(cover, small_tree["150621100201001"]).lead.code == "GD"
    # Another item of the module follows the module rule in that town, its own lead elsewhere.
    assert route(sewer, small_tree["150621100201001"]).lead.code == "HW"
    assert route(sewer, small_tree["150621101200001"]).lead.code == "ZJ"
    # A rule on a grid applies to the grid itself too.
    assert route(cover, village).lead.code == "ZF"


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_the_rules(catalog, small_tree, django_assert_num_queries):
    item = Item.objects.get(code="012001")
    for code, grid in small_tree.items():
        RoutingRule.objects.create(grid=grid, item=item, department=dept("HW" if len(code) % 2 else "ZF"))
        RoutingRule.objects.create(grid=grid, module=item.module, department=dept("GA"))
    with django_assert_num_queries(2):
        r = route(item, small_tree["150621101201002"])
    assert r.rule.grid.code == "150621101201002" and r.lead.code == "HW"


@pytest.mark.django_db
def test_stage_limits_in_working_minutes(catalog, django_assert_num_queries):
    rubbish = Item.objects.get(code="012001")  # 暴露垃圾: handle in 4 working hours, 2 when urgent
    assert time_limit(rubbish, "handle", "normal") == 240
    assert time_limit(rubbish, "handle", "urgent") == 120
    assert time_limit(rubbish, "register", "urgent") + time_limit(rubbish, "dispatch", "urgent") == 10
    assert time_limit(rubbish, "verify", "normal") == 60
    straw = Item.objects.get(code="102005")  # rural: the verifier travels further
    assert time_limit(straw, "verify", "normal") == 120
    house = Item.objects.get(code="032009")  # 农村危房: 15 working days
    assert time_limit(house, "handle", "normal") == 15 * 420

    prefetched = Item.objects.prefetch_related("limits").get(code="012001")
    with django_assert_num_queries(0):
        assert time_limit(prefetched, "handle", "normal") == 240
    TimeLimit.objects.filter(item=rubbish, stage="handle").delete()
    assert time_limit(rubbish, "handle", "normal") == 5 * 420  # the packaged default
    assert time_limits(rubbish)[("handle", "urgent")] == 420
    with pytest.raises(ValueError, match="stage"):
        time_limit(rubbish, "close", "normal")


@pytest.mark.django_db
def test_intake_s_cached_routing_agrees_with_route_and_sees_a_new_rule_at_once(catalog, small_tree):
    from gridgov.catalog.selectors import lead_department_id

    cover, sewer = Item.objects.get(code="031001"), Item.objects.get(code="031002")
    module = Module.objects.get(code="03")
    leaf = small_tree["150621100200002"]
    assert lead_department_id(cover, leaf) == route(cover, leaf).lead.pk == dept("ZJ").pk
    RoutingRule.objects.create(grid=small_tree["150621100"], module=module, department=dept("HW"))
    RoutingRule.objects.create(grid=small_tree["150621"], item=cover, department=dept("GD"))
    RoutingRule.objects.create(grid=small_tree["150621100200"], item=cover, department=dept("ZF"))
    for item in (cover, sewer):
        for grid in small_tree.values():
            assert lead_department_id(item, grid) == route(item, grid).lead.pk, (item.code, grid.code)
