"""Scoped reads of mediation: dispute lists (keyset paged) and pages, committees, mediators, the mediators to
suggest for a dispute, the figures of a period, and the overview's columns per child grid.

Every read a user triggers starts from `visible_to(user, …)`; a dispute the user may not see does not exist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.scoping import grid_filter
from gridgov.core.paging import newest_first
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import OPEN_STATES, DisputeState, Level
from .errors import DisputeNotFound, FollowUpNotFound, PartyNotFound
from .models import Agreement, Committee, Dispute, DisputeEvent, FollowUp, Mediator, Party, Session

PAGE = 50
MAX_PAGE = 200
# What a list row shows besides the dispute itself.
LIST_RELATIONS = ("grid", "committee", "lead_mediator")


# ---------------------------------------------------------------------------------------------- time


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an interval of aware times."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def _start(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return day_bounds(value)[0]


def _end(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    """The end (excluded) of a period: a time as it is, a day at its end (the day included)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return day_bounds(value)[1]


def _between(column: str, start: dt.datetime | None, end: dt.datetime | None) -> Q:
    q = Q(**{f"{column}__isnull": False})
    if start is not None:
        q &= Q(**{f"{column}__gte": start})
    if end is not None:
        q &= Q(**{f"{column}__lt": end})
    return q


# ---------------------------------------------------------------------------------------------- disputes


def grid_subtree(user: Any, code: str | Grid, prefix: str = "") -> Q | None:
    """The filter of a grid's subtree (by code or Grid) for a grid the user sees; None when they see none such.
    `prefix` reaches the dispute from another row (e.g. "dispute__")."""
    if isinstance(code, Grid):
        found = visible_to(user, Grid.objects.filter(pk=code.pk)).only("path", "level").first()
    else:
        found = (
            visible_to(user, Grid.objects.current())
            .filter(code=str(code).strip())
            .only("path", "level")
            .first()
        )
    if found is None:
        return None
    return grid_filter(found.path, prefix)


def disputes(
    user: Any,
    *,
    state: str | Collection[str] | None = None,
    kind: str | None = None,
    risk: str | None = None,
    level: int | None = None,
    grid: str | Grid | None = None,
    committee: int | None = None,
    mediator: int | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    text: str | None = None,
) -> QuerySet[Dispute]:
    """The disputes the user sees, filtered: one state or several (or "open" for the open ones), kind, risk, the
    handling level, a grid's subtree (a grid they do not see holds none), the handling committee, a mediator
    (lead or assisting), received on the local days from `since` to `until` (both included; times are taken
    as they are), and text found in the number or the title."""
    qs = visible_to(user, Dispute).select_related(*LIST_RELATIONS).defer("grid__geometry", "description")
    if isinstance(state, str):
        qs = qs.filter(state__in=OPEN_STATES) if state == "open" else qs.filter(state=state)
    elif state is not None:
        qs = qs.filter(state__in=sorted(state))
    if kind:
        qs = qs.filter(kind=kind)
    if risk:
        qs = qs.filter(risk=risk)
    if level is not None:
        qs = qs.filter(level=level)
    if grid is not None:
        subtree = grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    if committee is not None:
        qs = qs.filter(committee_id=committee)
    if mediator is not None:
        assisting = Dispute.assistants.through.objects.filter(mediator_id=mediator).values("dispute_id")
        qs = qs.filter(Q(lead_mediator_id=mediator) | Q(pk__in=assisting))
    if since is not None:
        qs = qs.filter(received_at__gte=_start(since))
    if until is not None:
        qs = qs.filter(received_at__lt=_end(until))
    if text and text.strip():
        words = text.strip()
        qs = qs.filter(Q(number__icontains=words) | Q(title__icontains=words))
    return qs


def dispute_page(
    user: Any, *, before: int | None = None, limit: int = PAGE, **filters: Any
) -> tuple[list[Dispute], bool]:
    """A page of `disputes(user, **filters)`, newest first, after the row of id `before`, and whether more
    follow (core.paging keyset paging: no COUNT, no OFFSET)."""
    return newest_first(disputes(user, **filters), before, max(1, min(limit, MAX_PAGE)))


def dispute_for(user: Any, number: str | int) -> Dispute:
    """The dispute (by number, or by id) if the user sees it; anything else does not exist (404)."""
    qs = (
        visible_to(user, Dispute)
        .select_related("grid", "committee", "committee__grid", "lead_mediator", "case", "received_by")
        .defer("grid__geometry", "committee__grid__geometry")
    )
    if isinstance(number, int) or (isinstance(number, str) and number.isdigit()):
        found = qs.filter(pk=int(number)).first()
    else:
        found = qs.filter(number=str(number).strip().upper()).first()
    if found is None:
        raise DisputeNotFound
    return found


@dataclass
class DisputeRecord:
    """Everything recorded about one dispute, as its page and the hand-over show it (a few queries)."""

    dispute: Dispute
    parties: list[Party]
    assistants: list[Mediator]
    sessions: list[Session]
    agreement: Agreement | None
    follow_ups: list[FollowUp]
    events: list[DisputeEvent]


def record_of(dispute: Dispute) -> DisputeRecord:
    """The whole record of a dispute the caller has already found through `dispute_for`."""
    sessions = list(
        Session.objects.filter(dispute=dispute)
        .select_related("created_by")
        .prefetch_related("mediators", "parties_present")
        .order_by("held_at", "id")
    )
    return DisputeRecord(
        dispute=dispute,
        parties=list(Party.objects.filter(dispute=dispute).select_related("person").order_by("id")),
        assistants=list(dispute.assistants.order_by("name")),
        sessions=sessions,
        agreement=Agreement.objects.filter(dispute=dispute).select_related("created_by", "committee").first(),
        follow_ups=list(
            FollowUp.objects.filter(dispute=dispute).select_related("visitor").order_by("due_on", "id")
        ),
        events=list(
            DisputeEvent.objects.filter(dispute=dispute).select_related("actor").order_by("at", "id")
        ),
    )


def party_for(user: Any, party_id: int) -> Party:
    party = visible_to(user, Party).select_related("dispute").filter(pk=party_id).first()
    if party is None:
        raise PartyNotFound
    return party


def follow_up_for(user: Any, follow_up_id: int) -> FollowUp:
    found = visible_to(user, FollowUp).select_related("dispute").filter(pk=follow_up_id).first()
    if found is None:
        raise FollowUpNotFound
    return found


def follow_ups_due(
    user: Any, *, by: dt.date | None = None, grid: str | Grid | None = None
) -> QuerySet[FollowUp]:
    """The follow-up visits still to make (due by `by`, default any day) of the disputes the user sees, the
    earliest first."""
    qs = visible_to(user, FollowUp).filter(done_at__isnull=True).select_related("dispute", "dispute__grid")
    qs = qs.defer("dispute__grid__geometry", "dispute__description")
    if by is not None:
        qs = qs.filter(due_on__lte=by)
    if grid is not None:
        subtree = grid_subtree(user, grid, "dispute__")
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    return qs.order_by("due_on", "id")


# ---------------------------------------------------------------------------------------------- committees


def committees(user: Any, *, active: bool | None = True, level: int | None = None) -> QuerySet[Committee]:
    """The committees the user sees (of their subtree and above it), town first."""
    qs = visible_to(user, Committee).select_related("grid").defer("grid__geometry")
    if active is not None:
        qs = qs.filter(active=active)
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("level", "grid__code", "id")


def mediators(
    user: Any,
    *,
    committee: int | None = None,
    active: bool | None = True,
    kind: str | None = None,
    skill: str | None = None,
    language: str | None = None,
) -> list[Mediator]:
    """The mediators the user sees (of the committees they see), by committee and name. Skills and languages are
    JSON lists, filtered here (SQLite has no JSON containment), so this answers a list."""
    qs = visible_to(user, Mediator).select_related("committee").prefetch_related("areas")
    if committee is not None:
        qs = qs.filter(committee_id=committee)
    if active is not None:
        qs = qs.filter(active=active)
    if kind:
        qs = qs.filter(kind=kind)
    rows = list(qs.order_by("committee__level", "committee_id", "name", "id"))
    if skill:
        rows = [m for m in rows if skill in (m.skills or [])]
    if language:
        rows = [m for m in rows if language in (m.languages or [])]
    return rows


def ancestor_ids(grid: Grid) -> list[int]:
    """The grid and its ancestors (root first), from its materialised path."""
    return [int(x) for x in grid.path.strip("/").split("/") if x]


def nearest_committee(grid: Grid, *, at_most: int = 3, below: int | None = None) -> Committee | None:
    """The active committee closest above (or at) `grid` whose level is at most `at_most` (and, with `below`,
    under that level: strictly higher up the ladder). One query."""
    qs = Committee.objects.filter(active=True, grid_id__in=ancestor_ids(grid), level__lte=at_most)
    if below is not None:
        qs = qs.filter(level__lt=below)
    return qs.select_related("grid").defer("grid__geometry").order_by("-level", "id").first()


@dataclass(frozen=True)
class Suggestion:
    mediator: Mediator
    skilled: bool  # good at this kind of dispute
    speaks: bool  # speaks the parties' language
    open_disputes: int  # open disputes they lead or assist in


def suggest_mediators(dispute: Dispute, *, limit: int = 10) -> list[Suggestion]:
    """Assignment by area and skill: the active mediators of the dispute's committee (or, before one is
    assigned, the nearest committee above its grid at its level or higher) whose areas cover the dispute's grid
    or one of its ancestors (a mediator without areas mediates anywhere in their committee's subtree), ranked by
    skill for the dispute's kind, then the parties' language, then the fewest open disputes. Two queries (one
    when the dispute has its committee)."""
    grid = dispute.grid
    committee_id = dispute.committee_id
    if committee_id is None:
        found = nearest_committee(grid, at_most=dispute.level)
        if found is None:
            return []
        committee_id = found.pk
    covering = ancestor_ids(grid)
    areas = Mediator.areas.through
    in_area = areas.objects.filter(mediator_id=OuterRef("pk"), grid_id__in=covering)
    any_area = areas.objects.filter(mediator_id=OuterRef("pk"))
    open_lead = (
        Dispute.objects.filter(lead_mediator_id=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("lead_mediator_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # django-stubs cannot follow an annotation of the auto-created through model.
    assisting: Any = Dispute.assistants.through.objects
    open_assist = (
        assisting.filter(mediator_id=OuterRef("pk"), dispute__state__in=OPEN_STATES)
        .order_by()
        .values("mediator_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = list(
        Mediator.objects.filter(committee_id=committee_id, active=True)
        .filter(Exists(in_area) | ~Exists(any_area))
        .select_related("committee")
        .annotate(
            n_lead=Coalesce(Subquery(open_lead, output_field=IntegerField()), 0),
            n_assist=Coalesce(Subquery(open_assist, output_field=IntegerField()), 0),
        )
    )
    ranked = [
        Suggestion(
            mediator=m,
            skilled=dispute.kind in (m.skills or []),
            speaks=dispute.language in (m.languages or []),
            open_disputes=m.n_lead + m.n_assist,  # type: ignore[attr-defined]
        )
        for m in rows
    ]
    ranked.sort(key=lambda s: (not s.skilled, not s.speaks, s.open_disputes, s.mediator.name, s.mediator.pk))
    return ranked[:limit]


# ---------------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """What mediation did in a period, in the user's scope (a grid's subtree with `grid`).

    `received`: disputes received in the period, and of those `open`: still open now; `amount_at_stake` is the
    sum of their amounts. The outcomes are counted by the state each dispute is in now, at the time it reached
    it: `settled` (agreement) and `partial` by their signing, `failed` by the failure, `handed_over` by the
    hand-over, each in the period. `settled_grid`/`settled_village`/`settled_town` split `settled` by the level
    that settled it (they add up to it); `amount_agreed` sums the agreements (full or partial) signed in the
    period."""

    received: int
    settled: int
    partial: int
    failed: int
    handed_over: int
    open: int
    settled_grid: int
    settled_village: int
    settled_town: int
    amount_at_stake: Decimal
    amount_agreed: Decimal

    @property
    def settled_rate(self) -> int | None:
        """The share (%) of the outcomes that were full agreements; None with no outcome."""
        done = self.settled + self.partial + self.failed + self.handed_over
        return round(100 * self.settled / done) if done else None


ZERO = Decimal("0.00")


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def figures(
    user: Any,
    since: dt.date | dt.datetime | None,
    until: dt.date | dt.datetime | None,
    grid: str | Grid | None = None,
) -> Figures:
    """The figures of the disputes the user sees (in `grid`'s subtree, a grid they do not see holds none) for
    the local days from `since` to `until`, both included (times are taken as they are, `until` excluded).
    Two queries."""
    qs = visible_to(user, Dispute)
    if grid is not None:
        subtree = grid_subtree(user, grid)
        qs = qs.filter(subtree) if subtree is not None else qs.none()
    return figures_of(qs, _start(since), _end(until))


def figures_of(qs: QuerySet[Dispute], start: dt.datetime | None, end: dt.datetime | None) -> Figures:
    """The figures of the disputes of `qs` (already scoped) between `start` and `end` (excluded)."""
    received = (
        qs.filter(_between("received_at", start, end))
        .order_by()
        .aggregate(
            n=Count("pk"),
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            stake=Sum("amount"),
        )
    )
    signed = _between("settled_at", start, end) & Q(state__in=(DisputeState.SETTLED, DisputeState.PARTIAL))
    failed = _between("failed_at", start, end) & Q(state=DisputeState.FAILED)
    handed = _between("handed_at", start, end) & Q(state=DisputeState.HANDED_OVER)
    settled = signed & Q(state=DisputeState.SETTLED)
    outcomes = (
        qs.filter(signed | failed | handed)
        .order_by()
        .aggregate(
            settled=Count("pk", filter=settled),
            partial=Count("pk", filter=signed & Q(state=DisputeState.PARTIAL)),
            failed=Count("pk", filter=failed),
            handed=Count("pk", filter=handed),
            grid=Count("pk", filter=settled & Q(settled_level=Level.GRID)),
            village=Count("pk", filter=settled & Q(settled_level=Level.VILLAGE)),
            town=Count("pk", filter=settled & Q(settled_level=Level.TOWN)),
            agreed=Sum("agreement__amount", filter=signed),
        )
    )
    return Figures(
        received=received["n"],
        settled=outcomes["settled"],
        partial=outcomes["partial"],
        failed=outcomes["failed"],
        handed_over=outcomes["handed"],
        open=received["open"],
        settled_grid=outcomes["grid"],
        settled_village=outcomes["village"],
        settled_town=outcomes["town"],
        amount_at_stake=_money(received["stake"]),
        amount_agreed=_money(outcomes["agreed"]),
    )


# ---------------------------------------------------------------------------------------------- overview


def counts_per_grid(
    level: int,
    ids: list[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    what: str = "received",
) -> dict[int, int]:
    """Per grid of `level` (1 town, 2 village, 3 grid) among `ids` (None: every grid of that level): the
    disputes received (`what="received"`) or settled by agreement (`what="settled"`) between `start` and `end`
    (excluded). For the overview and the indicators, not scoped to a user: the caller chose the grids. Grids
    without any are left out. One query."""
    if level not in (1, 2, 3):
        raise ValueError(f"no grid level {level}")
    column = f"grid_l{level}_id"
    if what == "received":
        qs = Dispute.objects.filter(received_at__gte=start, received_at__lt=end)
    elif what == "settled":
        qs = Dispute.objects.filter(state=DisputeState.SETTLED, settled_at__gte=start, settled_at__lt=end)
    else:
        raise ValueError(f"no figure {what}")
    if ids is not None:
        qs = qs.filter(**{f"{column}__in": ids})
    rows = qs.order_by().values(column).annotate(n=Count("pk")).values_list(column, "n")
    return {grid_id: n for grid_id, n in rows if grid_id is not None}


def _list_link(code: str, **params: Any) -> str:
    try:
        base = reverse("mediation:disputes")
    except NoReverseMatch:  # the pages are not installed (an API-only deployment)
        return ""
    return f"{base}?{urlencode({'grid': code, **params})}"


class _PeriodColumn:
    """A column of the subtree overview (`cases.overview.provide_figures`): a figure per child grid in the
    overview's period."""

    key = ""
    label: Any = ""
    what = "received"
    alarming = False  # work done, not work overdue

    def counts(self, level: int, ids: list[int], period: Any) -> dict[int, int]:
        return counts_per_grid(level, ids, period.start, period.end, what=self.what)

    def link(self, code: str, period: Any) -> str:
        since = timezone.localtime(period.start).date().isoformat()
        until = timezone.localtime(period.end - dt.timedelta(microseconds=1)).date().isoformat()
        if self.what == "settled":
            return _list_link(code, state=DisputeState.SETTLED, since=since, until=until)
        return _list_link(code, since=since, until=until)


class DisputesReceived(_PeriodColumn):
    key = "disputes_received"
    label = _("disputes received")
    what = "received"


class DisputesSettled(_PeriodColumn):
    key = "disputes_settled"
    label = _("disputes settled")
    what = "settled"
