"""Keyset paging for lists that grow to millions of rows: no COUNT of the whole list and no OFFSET; the next
page starts after the last row shown (`before` its id), and one row more than asked tells whether more follow.
Used by the pages (htmx "more" rows) and the APIs (`before` / `next_before`) alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict

from .schemas import MAX_ID


def newest_first(qs: QuerySet[Any], before: int | None, limit: int) -> tuple[list[Any], bool]:
    """A page of `qs` newest first by id, after the row of id `before`, and whether more follow."""
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    return rows[:limit], len(rows) > limit


def keyset(
    qs: QuerySet[Any], column: str, *, before: int | None, limit: int, descending: bool = True
) -> tuple[list[Any], bool]:
    """A page of `qs` ordered by `column` then id (newest first when `descending`), after the row of id `before`
    (the last one of the previous page). A `before` that is not in `qs` (gone, or out of scope) gives an empty
    page."""
    if before is not None:
        anchor = qs.filter(pk=before).values_list(column, flat=True).first()
        if anchor is None:
            return [], False
        beyond = "lt" if descending else "gt"
        qs = qs.filter(Q(**{f"{column}__{beyond}": anchor}) | Q(**{column: anchor, f"pk__{beyond}": before}))
    order = (f"-{column}", "-id") if descending else (column, "id")
    rows = list(qs.order_by(*order)[: limit + 1])
    return rows[:limit], len(rows) > limit


def before_of(data: QueryDict) -> int | None:
    """The `before` id of a page's query string; anything else is the first page."""
    raw = (data.get("before") or "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def more_query(data: QueryDict, rows: Sequence[Model], more: bool) -> str:
    """The query string of the next page (the same filters, `before` the last row), or ""."""
    if not more or not rows:
        return ""
    params = data.copy()
    for key in ("before", "part", "csrfmiddlewaretoken"):
        params.pop(key, None)
    params["before"] = str(rows[-1].pk)
    return params.urlencode()


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request (it wants a fragment, not the whole page)."""
    return request.headers.get("HX-Request") == "true"
