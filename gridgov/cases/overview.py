"""The subtree at a glance (for level-1/level-2 grid heads, leaders and operators): per child grid, the open
cases, the overdue and supervised ones, what was reported in a period, and where what closed in it was
resolved — in the grid, in the village, or beyond (小事不出网格，大事不出村).

Fast at a million cases: three aggregate queries whatever the number of children, each filtered on indexed
columns and grouped on the denormalised level id of the children (`grid_l1_id`/`grid_l2_id`/`grid_l3_id`):

- the open snapshot: the subtree's open states (index `case_l<n>_state`);
- reported in the period: `created_at` in range (`case_created`, or the subtree's index);
- resolved in the period: the cases closed in it, found through their closing events (`event_action_time`:
  `Case.closed_at` has no index of its own).

No query per child grid. Every read starts from `visible_to(user, Case)`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import OPEN_STATES, Action, Queue, State
from .context_processors import OVERVIEW_ROLES
from .models import Case, CaseEvent
from .scoping import grid_filter, held_roles, is_county_wide

# The steps that close a case (each sets `closed_at` and `resolved_level`).
CLOSING_ACTIONS = (Action.VERIFY_PASS, Action.SELF_HANDLE)
SUPERVISED_SHOWN = 30

PERIODS: dict[str, Any] = {
    "this_month": _("this month"),
    "last_month": _("last month"),
    "last_30_days": _("the last 30 days"),
    # Not a whole year: counting a year's closings of a county (300,000 at a million cases) takes SQLite half a
    # second; a quarter stays near 0.1 s.
    "this_quarter": _("this quarter"),
}
DEFAULT_PERIOD = "this_month"


class ChildFigures(Protocol):
    """A figure an app beside the case engine counts per grid for the overview (fieldwork: its overdue
    inspections). The engine knows no such app: the app registers itself with `provide_figures`."""

    key: str
    label: Any  # the column's heading
    # Whether a figure above zero calls for action (overdue inspections), shown in red; else it is work done
    # (disputes settled, volunteer hours), shown plainly.
    alarming: bool

    def counts(self, level: int, ids: list[int], period: Period) -> dict[int, int]:
        """Per grid of `level` among `ids`: the figure in `period` (or now, for a figure of a state, like
        the overdue inspections); grids left out count 0."""
        ...

    def link(self, code: str, period: Period) -> str:
        """Where the figure of grid `code` is listed."""
        ...


_figures: list[ChildFigures] = []


def provide_figures(figures: ChildFigures) -> None:
    if all(f.key != figures.key for f in _figures):
        _figures.append(figures)


@dataclass(frozen=True)
class Period:
    key: str
    label: Any
    start: dt.datetime
    end: dt.datetime


def period_of(key: str, now: dt.datetime | None = None) -> Period:
    """A named period in local time (Asia/Shanghai), ending now at the latest. Unknown keys: this month."""
    now = now or timezone.now()
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = midnight.replace(day=1)
    if key == "last_month":
        start = (month - dt.timedelta(days=1)).replace(day=1)
        end = month
    elif key == "last_30_days":
        start, end = midnight - dt.timedelta(days=29), now
    elif key == "this_quarter":
        start, end = month.replace(month=(month.month - 1) // 3 * 3 + 1), now
    else:
        start, end = month, now
    return Period(key, PERIODS[key], start, end)


def overseeing_roles(user: Any) -> list[Any]:
    """The roles by which the user oversees a grid's subtree (operators, grid heads, leaders of a grid)."""
    return [h for h in held_roles(user) if h.role in OVERVIEW_ROLES and h.grid_id]


def roots(user: Any) -> list[Grid]:
    """The grids whose subtrees the user oversees (a grid inside another one left out), top first."""
    if is_county_wide(user):
        return list(Grid.objects.current().filter(level=0).defer("geometry").order_by("code"))
    held = overseeing_roles(user)
    paths = sorted({h.grid_path for h in held})
    tops = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    ids = [int(p.strip("/").split("/")[-1]) for p in tops]
    return list(Grid.objects.current().filter(pk__in=ids).defer("geometry").order_by("level", "code"))


def may_overview(user: Any, grid: Grid, tops: list[Grid]) -> bool:
    return any(grid.path.startswith(top.path) for top in tops)


@dataclass
class Row:
    grid: Grid | None  # None: cases placed at the shown grid itself, not in one of its children
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    supervised: int = 0
    red: int = 0
    reported: int = 0
    in_grid: int = 0
    in_village: int = 0
    beyond: int = 0
    links: dict[str, str] = field(default_factory=dict)
    # The provided figures (`ChildFigures`), in the order of `Overview.columns`: (heading, value, link,
    # alarming).
    more: list[tuple[Any, int, str, bool]] = field(default_factory=list)

    @property
    def resolved(self) -> int:
        return self.in_grid + self.in_village + self.beyond

    @property
    def contained(self) -> int | None:
        """The share (%) of the resolved cases settled in the grid or the village; None with none resolved."""
        return round(100 * (self.in_grid + self.in_village) / self.resolved) if self.resolved else None

    def add(self, other: Row) -> None:
        for name in ("open", "overdue", "due_soon", "supervised", "red", "reported", "in_grid", "in_village"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.beyond += other.beyond
        self.more = [
            (label, mine + theirs, link, alarming)
            for (label, mine, link, alarming), (_, theirs, _, _) in zip(self.more, other.more, strict=True)
        ]


@dataclass
class Overview:
    grid: Grid
    period: Period
    rows: list[Row]
    total: Row
    supervised: list[Case]
    child_level: int
    columns: list[Any] = field(default_factory=list)  # the headings of the provided figures

    @property
    def width(self) -> int:
        """The table's columns: the grid, eight of cases, the provided ones."""
        return 9 + len(self.columns)


def _list_links(code: str) -> dict[str, str]:
    base = reverse("cases:list")

    def url(**params: Any) -> str:
        return f"{base}?{urlencode({'grid': code, **params}, doseq=True)}"

    return {
        "open": url(state=sorted(OPEN_STATES)),
        "overdue": url(queue=Queue.OVERDUE),
        "due_soon": url(queue=Queue.DUE_SOON),
        "supervised": url(queue=Queue.SUPERVISED),
    }


def subtree_cases(user: Any, grid: Grid) -> QuerySet[Case]:
    return visible_to(user, Case).filter(grid_filter(grid.path))


def build(user: Any, grid: Grid, period: Period, now: dt.datetime | None = None) -> Overview:
    """The overview of `grid` (which the caller has checked the user may oversee). Five queries, and one per
    provided figure."""
    now = now or timezone.now()
    child_level = min(grid.level + 1, 3)
    column = f"grid_l{child_level}_id"
    if grid.level < 3:
        children = list(Grid.objects.current().filter(parent=grid).defer("geometry").order_by("code"))
    else:
        children = [grid]
    cases = subtree_cases(user, grid)
    # Grouped on an expression, not the bare column: SQLite would otherwise walk the whole `case_l1` index in
    # group order (a second at a million cases) instead of taking the few open / recent rows by their own
    # index and grouping them in a temporary b-tree (60 ms).
    child = ExpressionWrapper(F(column) + Value(0), output_field=BigIntegerField())
    rows: dict[int | None, Row] = {c.pk: Row(c, links=_list_links(c.code)) for c in children}

    def row(key: int | None) -> Row:
        if key not in rows:
            # Placed at the shown grid itself (no child holds it), or in a grid closed since.
            key = None
            rows.setdefault(None, Row(None))
        return rows[key]

    open_rows = (
        cases.filter(state__in=OPEN_STATES)
        .order_by()
        .annotate(child=child)
        .values("child")
        .annotate(
            # Annotation names apart from the fields' (`overdue`, `supervised` are columns of the case).
            n_open=Count("pk"),
            n_overdue=Count("pk", filter=Q(due_at__lte=now)),
            n_due_soon=Count("pk", filter=Q(warn_at__lte=now, due_at__gt=now)),
            n_supervised=Count("pk", filter=Q(supervised__gt=0)),
            n_red=Count("pk", filter=Q(supervised__gt=0, card="red")),
        )
    )
    for r in open_rows:
        x = row(r["child"])
        x.open, x.overdue, x.due_soon = r["n_open"], r["n_overdue"], r["n_due_soon"]
        x.supervised, x.red = r["n_supervised"], r["n_red"]
    reported = (
        cases.filter(created_at__gte=period.start, created_at__lt=period.end)
        .order_by()
        .annotate(child=child)
        .values("child")
        .annotate(n_reported=Count("pk"))
    )
    for r in reported:
        row(r["child"]).reported = r["n_reported"]
    closing = CaseEvent.objects.filter(
        action__in=CLOSING_ACTIONS, created_at__gte=period.start, created_at__lt=period.end
    ).values("case_id")
    resolved = (
        cases.filter(
            pk__in=closing,
            state=State.CLOSED,
            closed_at__gte=period.start,
            closed_at__lt=period.end,
        )
        .order_by()
        .annotate(child=child)
        .values("child")
        .annotate(
            n_grid=Count("pk", filter=Q(resolved_level__gte=3)),
            n_village=Count("pk", filter=Q(resolved_level=2)),
            n_beyond=Count("pk", filter=Q(resolved_level__lte=1)),
        )
    )
    for r in resolved:
        x = row(r["child"])
        x.in_grid, x.in_village, x.beyond = r["n_grid"], r["n_village"], r["n_beyond"]

    ids = [c.pk for c in children]
    for figures in _figures:
        counted = figures.counts(child_level, ids, period)
        for c in children:
            rows[c.pk].more.append(
                (figures.label, counted.get(c.pk, 0), figures.link(c.code, period), figures.alarming)
            )
        if None in rows:
            rows[None].more.append((figures.label, 0, "", figures.alarming))

    ordered = [rows[c.pk] for c in children]
    # Cases of a grid closed meanwhile (split, merged) or placed at the shown grid itself come last.
    if None in rows:
        ordered.append(rows[None])
    total = Row(
        grid,
        links=_list_links(grid.code),
        more=[(f.label, 0, f.link(grid.code, period), f.alarming) for f in _figures],
    )
    for each in ordered:
        total.add(each)
    supervised: list[Case] = list(
        cases.filter(state__in=OPEN_STATES, supervised__gt=0)
        .select_related("item", "grid")
        .defer("grid__geometry")
        .annotate(
            card_rank=CaseWhen(
                When(card="red", then=Value(2)),
                When(card="yellow", then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-card_rank", "due_at", "-id")[:SUPERVISED_SHOWN]
    )
    return Overview(grid, period, ordered, total, supervised, child_level, [f.label for f in _figures])


def trail(grid: Grid, tops: list[Grid]) -> list[Grid]:
    """The grid's ancestors the user oversees, top first, and the grid itself (one query)."""
    ids = [int(x) for x in grid.path.strip("/").split("/")[:-1] if x]
    above = list(Grid.objects.filter(pk__in=ids).defer("geometry").order_by("level")) if ids else []
    return [g for g in above if may_overview_path(g.path, tops)] + [grid]


def may_overview_path(path: str, tops: list[Grid]) -> bool:
    return any(path.startswith(top.path) for top in tops)
