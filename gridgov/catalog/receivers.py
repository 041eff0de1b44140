"""Routing rules follow the grids they name through splits and merges (动态调整)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from gridgov.grids.models import Grid
from gridgov.grids.signals import grid_adjusted

from .models import Department, Item, RoutingRule, TimeLimit
from .selectors import invalidate_cache


@receiver(grid_adjusted, dispatch_uid="catalog.routing_rules_follow_grids")
def move_routing_rules(sender: Any, *, mapping: dict[int, list[int]], **kwargs: Any) -> None:
    """A rule on a closed grid moves to what replaced it: to every piece of a split, to the grid a merge made.
    A redraw keeps both grids, so their rules stay. Two merged grids with rules for the same item or module
    keep the first (lowest code) one."""
    closed = set(Grid.objects.filter(pk__in=mapping, valid_to__isnull=False).values_list("pk", flat=True))
    rules = list(RoutingRule.objects.filter(grid_id__in=closed).order_by("grid__code", "pk"))
    if not rules:
        return
    taken: set[tuple[int, int | None, int | None]] = set(
        RoutingRule.objects.exclude(grid_id__in=closed).values_list("grid_id", "item_id", "module_id")
    )
    new_rules = []
    for rule in rules:
        for target in mapping[rule.grid_id]:
            key = (target, rule.item_id, rule.module_id)
            if key in taken:
                continue
            taken.add(key)
            new_rules.append(
                RoutingRule(
                    grid_id=target,
                    item_id=rule.item_id,
                    module_id=rule.module_id,
                    department_id=rule.department_id,
                    note=rule.note,
                )
            )
    RoutingRule.objects.bulk_create(new_rules)
    RoutingRule.objects.filter(pk__in=[r.pk for r in rules]).delete()


@receiver(post_save, dispatch_uid="catalog.cache_save")
@receiver(post_delete, dispatch_uid="catalog.cache_delete")
def forget_cached_catalog(sender: Any, **kwargs: Any) -> None:
    """A change of the responsibility list or of the routing clears this process's intake cache."""
    if sender in (Item, TimeLimit, RoutingRule, Department):
        invalidate_cache()
