"""Reads of the responsibility list: routing an item in a grid, its time limits, and scoped item search."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from gridgov.core.scoping import visible_to

from .models import Department, Item, RoutingRule, Stage, TimeLimit, Urgency, pinyin_of
from .packaged import load_catalog_data


@dataclass(frozen=True)
class Route:
    """Who handles an item in a grid: the lead department, the assisting ones, and the rule that decided
    (None when the item's default lead applies)."""

    lead: Department
    assisting: list[Department]
    rule: RoutingRule | None


def _grid_ids(grid: Any) -> list[int]:
    """The ids of the grid and its ancestors, root first, from the materialised path ("/1/5/23/")."""
    if grid is None:
        return []
    return [int(x) for x in grid.path.strip("/").split("/") if x]


def route(item: Item, grid: Any) -> Route:
    """The departments for `item` in `grid` (a `grids.Grid`, or None for no grid).

    A routing rule for the item beats a rule for its module; among rules of the same kind the one on the
    deepest grid containing `grid` wins. Two queries at most: the rules, then the departments."""
    path = _grid_ids(grid)
    rule = None
    if path:
        depth = {grid_id: n for n, grid_id in enumerate(path)}
        rules = RoutingRule.objects.filter(grid_id__in=path).filter(
            Q(item_id=item.pk) | Q(item__isnull=True, module_id=item.module_id)
        )
        candidates = list(rules.select_related("department"))
        if candidates:
            rule = max(candidates, key=lambda r: (r.item_id is not None, depth[r.grid_id]))
    lead_id = rule.department_id if rule else item.lead_department_id
    through = Item.assisting_departments.through
    departments = list(
        Department.objects.filter(
            Q(pk=lead_id) | Q(pk__in=through.objects.filter(item_id=item.pk).values("department_id"))
        )
        .annotate(is_assisting=Exists(through.objects.filter(item_id=item.pk, department_id=OuterRef("pk"))))
        .order_by("code")
    )
    lead = rule.department if rule else next(d for d in departments if d.pk == lead_id)
    assisting: list[Department] = [d for d in departments if d.is_assisting and d.pk != lead_id]
    return Route(lead=lead, assisting=assisting, rule=rule)


def time_limit(item: Item, stage: str, urgency: str) -> int:
    """The working minutes allowed for `stage` of a case of `item` at `urgency`.

    Uses prefetched `limits` when present (no query), else one query. An item without a row for the stage
    (e.g. deleted in the admin) falls back to the packaged default, so a case always gets a deadline."""
    if stage not in Stage.values:
        raise ValueError(f"unknown stage {stage!r}")
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    prefetched = getattr(item, "_prefetched_objects_cache", {}).get("limits")
    if prefetched is not None:
        minutes = next((t.minutes for t in prefetched if t.stage == stage and t.urgency == urgency), None)
    else:
        minutes = (
            TimeLimit.objects.filter(item_id=item.pk, stage=stage, urgency=urgency)
            .values_list("minutes", flat=True)
            .first()
        )
    if minutes is None:
        minutes = load_catalog_data()["default_limits"][(stage, urgency)]
    return minutes


def time_limits(item: Item) -> dict[tuple[str, str], int]:
    """Every (stage, urgency) → working minutes of `item`, defaults filled in. One query."""
    limits = dict(load_catalog_data()["default_limits"])
    limits.update({(t.stage, t.urgency): t.minutes for t in TimeLimit.objects.filter(item_id=item.pk)})
    return limits


def visible_items(user: Any) -> QuerySet[Item]:
    """The items `user` may see (residents: active items only), with module and lead department."""
    return visible_to(user, Item).select_related("module", "lead_department")


def search_items(user: Any, text: str, *, limit: int = 20) -> list[Item]:
    """Items matching `text` by code, standard code, Chinese or English name, keyword or pinyin (full
    "lajiduifang" or initials "ljdf"), active ones only, best matches first."""
    text = text.strip()
    if not text:
        return []
    q = (
        Q(code__startswith=text)
        | Q(standard_code__startswith=text)
        | Q(name__icontains=text)
        | Q(name_en__icontains=text)
        | Q(keywords__icontains=text)
    )
    if text.isascii():
        q |= Q(pinyin__icontains=text.lower().replace(" ", ""))
    matches = list(visible_items(user).filter(active=True).filter(q)[:200])
    # Exact code, then name starting with the text, then the rest in code order.
    matches.sort(key=lambda i: (i.code != text, not i.name.startswith(text), i.code))
    return matches[:limit]


@dataclass(frozen=True)
class ItemHit:
    """An item found by `find_items`, and the keyword that found it when it was not the name or code."""

    item: Item
    keyword: str = ""


def _keyword_pinyin() -> list[tuple[int, str, str]]:
    """(item id, keyword, "full initials" pinyin) of every keyword of every active item: a few hundred rows,
    kept for a short while like the routing rules."""

    def compute() -> list[tuple[int, str, str]]:
        rows = []
        for pk, keywords in Item.objects.filter(active=True).values_list("pk", "keywords"):
            for word in (w.strip() for w in keywords.replace("，", ",").split(",")):
                if word:
                    rows.append((pk, word, pinyin_of(word)))
        return rows

    return _cached(("keyword-pinyin",), compute)


def find_items(user: Any, text: str, *, limit: int = 10) -> list[ItemHit]:
    """The operators' item search: `search_items` (code, name, keywords in Chinese, the name's pinyin), and
    besides the pinyin of the items' keywords, so that "ljdf" or "lajiduifang" finds 暴露垃圾 through its
    keyword 垃圾堆放. Three queries at most."""
    text = text.strip()[:40]
    hits = [ItemHit(i) for i in search_items(user, text, limit=limit)]
    if not text.isascii() or len(hits) >= limit:
        return hits
    needle = text.lower().replace(" ", "")
    if not needle.isalpha():
        return hits
    found = {h.item.pk for h in hits}
    by_keyword: dict[int, str] = {}
    for pk, word, spelled in _keyword_pinyin():
        if pk not in found and pk not in by_keyword and any(needle in part for part in spelled.split()):
            by_keyword[pk] = word
    if by_keyword:
        extra = visible_items(user).filter(active=True, pk__in=list(by_keyword)).order_by("code")
        hits += [ItemHit(i, by_keyword[i.pk]) for i in extra[: limit - len(hits)]]
    return hits


# ----------------------------------------------------------------------------------- intake's fast path
# Intake reads the same items and routes again and again; each process keeps what it read for a short while.
# A change in this process clears it at once (receivers.py); other processes see it within CACHE_SECONDS.
CACHE_SECONDS = 30.0
_cache: dict[Any, tuple[float, Any]] = {}


def _cached(key: Any, compute: Any) -> Any:
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = compute()
    _cache[key] = (now, value)
    return value


def invalidate_cache() -> None:
    _cache.clear()


def active_item(code: str) -> Item | None:
    """The active item with this code, its time limits prefetched (shared read-only between requests)."""
    return _cached(
        ("item", code), lambda: Item.objects.filter(code=code, active=True).prefetch_related("limits").first()
    )


def lead_department_id(item: Item, grid: Any) -> int:
    """The id of `route(item, grid).lead` without a query: the county's routing rules (a few dozen rows) are
    kept for a short while and matched here by the same precedence as `route`."""
    rules = _cached(
        ("rules",),
        lambda: list(RoutingRule.objects.values_list("grid_id", "item_id", "module_id", "department_id")),
    )
    depth = {grid_id: n for n, grid_id in enumerate(_grid_ids(grid))}
    best: tuple[tuple[bool, int], int] | None = None
    for grid_id, item_id, module_id, department_id in rules:
        if grid_id not in depth:
            continue
        if item_id == item.pk or (item_id is None and module_id == item.module_id):
            rank = (item_id is not None, depth[grid_id])
            if best is None or rank > best[0]:
                best = (rank, department_id)
    return best[1] if best is not None else item.lead_department_id
