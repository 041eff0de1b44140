"""The indicators of the assessment (考核评定), computed from the case engine's record, and how each is counted.

Which period a case belongs to
    A case belongs to the period in which it was reported (`Case.created_at`, in Asia/Shanghai months): every
    figure below counts the cases reported in the period, in their state at the time of computing (the table
    is live: a past month's figures settle as its last cases close). A case excluded from assessment (an
    `Exclusion` in force: unreasonable or repeated complaint, or an accepted appeal) counts nowhere.

Which object a case counts for
    town / village / grid: the level-1 / level-2 / level-3 grid of the case (`grid_l1_id` / `grid_l2_id` /
    `grid_l3_id`, denormalised on the case); department: the case's lead department (`Case.lead_department`,
    the unit that holds or last closed it), except the 退单 figures, which count each lead assignment
    (`Assignment`, kind lead) for the department it was given to; worker: the staff member who reported the
    case (`Case.reporter`, reporter kind staff), and the one who acted in the 自处置 / 核查 events.

Counts (numerator and denominator of the rates)
    受理数 received        the cases reported in the period.
    立案数 registered      of those, the cases filed: neither waiting to be accepted (reported), nor rejected
                           (不予受理), nor merged into another case (并案: a duplicate is not a case of its own).
                           A case closed on the spot (自处置) is filed and closed.
    应结案数 due            of the filed cases, those that should be closed by now: closed ones, and open ones
                           whose running clock is past its deadline (`due_at` ≤ now). Cases still within their
                           time limit and suspended ones (挂账, clock stopped) are not yet due.
    结案数 closed           of the filed cases, those closed (已结案).
    按期结案数 on time      of the closed cases, those none of whose stage clocks (`Deadline`) ended late
                           (`met` false); a clock stopped while suspended counts as met.
    处置数 handled          the cases a unit handled: fed back by their lead department (state handled or
                           closed, with a lead department; a case closed on the spot was handled by no unit).
    按期处置数              of those, the cases none of whose handling clocks (stage handle) ended late.
    返工数 reworked         of the handled cases, those sent back at least once by a failed verification
                           (`Case.reworks` > 0).
    签收 (clocks)           the ended signing clocks (stage sign: one per dispatch, ended by 签收, 退单 or 改派);
                           in time: those ended within the limit.
    派遣数 dispatched       grids: the cases a unit was dispatched to (a lead department now, or returned at
                           least once); departments: the lead assignments given to the department.
    退单数 returned         grids: the dispatched cases returned at least once (`Case.returns` > 0);
                           departments: the department's lead assignments it ended by 退单.
    延期数 extended         the cases with an approved extension (`Extension`, state approved).
    评价数 rated / 满意数   the cases rated by their reporter; satisfied = 满意 + 基本满意.
    上报数 / 有效上报数     the cases reported by staff (reporter kind staff); valid = of those, the filed ones.
    网格内解决 / 村内解决   of the closed cases, those resolved at the grid (resolved level 3) / at the grid or
                           the village (resolved level ≥ 2): 小事不出网格，大事不出村.
    12345                  the same counts restricted to the hotline channel; responded = the cases whose
                           acceptance clock (stage register) ended within its limit.
    自处置数 / 核查数        (workers) the 自处置 events / the 核查 events (pass or fail) the worker took on the
                           period's cases.

Patrol coverage (巡查覆盖率), from the fieldwork app's patrols, not from cases
    The working days of the period: the days of its months that `core.calendar` makes working days (weekends
    less the make-up days, less the public holidays), up to today for the current month (today included).
    A patrol counts on the local (Asia/Shanghai) date of its check-in (`Patrol.started_at`, the phone's time),
    for its level-3 grid (`Patrol.grid`, always level 3) and for its worker (`Patrol.user`); a patrol on a
    day off counts nowhere (the denominator is working days: coverage stays ≤ 100 %). A patrol is a check-in
    with its track, whether or not checked out yet: the record of a patrol having been made that day.
    Why days, not area: a patrol row holds its worker, its level-3 grid and its check-in time for certain; its
    track is a phone's GPS, sent late, sparse or empty without a fix, and the data holds no planned route or
    list of places a patrol must pass to compare it with. So coverage is "on how many working days was the grid
    patrolled", which every patrol answers; the length and the track are not judged.
    巡查天数 patrol days     grid: the working days on which at least one patrol of the grid was recorded;
                           village / town: the sum over its level-3 grids of theirs; worker: the working days
                           with at least one patrol by the worker (in any of their grids).
    网格工作日 grid-days     grid: the number of working days; village / town: that number × its current
                           level-3 grids (every one, patrolled or not: a grid never patrolled counts 0 days);
                           worker: the number of working days.
    巡查覆盖率 = 巡查天数 / 网格工作日. Every grid having the same working days, the days summed over the
    grid-days are exactly the average of the grids' shares: one formula for both readings, and the total row
    (the county or the subtree shown) is the same average over all its grids. Computed only for the readers
    who see the patrols of their subtree (the county, the heads of a town or a village, the centre's
    operators, the leaders); for the others, and without working days (a future month), no value (“—”).
    Rows (for those readers): every current level-3 grid of their scope has a row in the grid, village, town tables
    (with 0 days when unpatrolled), as well as the objects with cases; workers: those with patrols or reports.
    Departments have no patrol coverage. Default weight 10 (against 100 for the other rates) for towns, villages
    and grids, 20 for workers; the county may set its own like any rate's.

Rates (percent, rounded half up to the hundredth; no denominator → no value, shown “—”)
    结案率 = 结案数 / 应结案数                    按期结案率 = 按期结案数 / 应结案数
    按期处置率 = 按期处置数 / 处置数              及时签收率 = 按时结束的签收时钟 / 结束的签收时钟
    返工率 = 返工数 / 处置数                      退单率 (误派率) = 退单数 / 派遣数
    满意率 = 满意数 / 评价数                      有效上报率 = 有效上报数 / 上报数
    网格内解决率 = 网格内解决 / 结案数            村内解决率 = (网格内 + 村内解决) / 结案数
    12345 响应率 = 响应数 / 受理数 (12345)        12345 解决率 = 结案数 / 应结案数 (12345)
    12345 满意率 = 满意数 / 评价数 (12345)        巡查覆盖率 = 巡查天数 / 网格工作日

The composite score (综合指标值) of a row = Σ wᵢ·vᵢ / Σ wᵢ over the weighted rates that have a value, where vᵢ
is the rate, or 100 − the rate for the rates where less is better (返工率, 退单率): a score from 0 to 100.
Below the kind's red threshold the row is red, below its yellow threshold yellow, else green.

Speed: per table a handful of aggregate queries grouped on the object's key (never a query per row): the cases
of the period (index `case_created`, or the subtree's `case_l<n>`), their ended clocks (`Deadline` by case),
their approved extensions, and for departments their lead assignments, for workers their events; and for patrol
coverage two more: the distinct (grid or worker, working day) pairs of the period's patrols counted per object in
one grouped statement (for a subtree by the patrols' index on the copied level id and `started_at`; county-wide a
scan of the patrols, as `fieldwork` has no index on `started_at` alone), and the level-3 grids per object (one
grouped count). The working days come from the cached calendar, not from a query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.accounts.models import User
from gridgov.cases.choices import Action, Channel, Rating, ReporterKind, State
from gridgov.cases.models import Assignment, Case, CaseEvent, Deadline, Extension
from gridgov.catalog.models import Department, Stage
from gridgov.core.calendar import get_calendar
from gridgov.core.errors import Invalid
from gridgov.fieldwork.models import Patrol
from gridgov.grids.models import Grid

from .choices import Kind, Mark

HUNDREDTH = Decimal("0.01")
NOT_FILED = (State.REPORTED, State.REJECTED, State.MERGED)
# The open states in which a clock runs (suspended cases are not yet due; reported ones are not filed).
RUNNING = (State.REGISTERED, State.DISPATCHED, State.HANDLING, State.HANDLED)
SATISFIED = (Rating.SATISFIED, Rating.BASIC)
MAX_MONTHS = 12


# ------------------------------------------------------------------------------------------------ formulas


def percent(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator in percent, rounded half up to the hundredth; None without a denominator."""
    if not denominator:
        return None
    return (Decimal(100) * numerator / Decimal(denominator)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def percent_text(value: Decimal | None) -> str:
    """As displayed: `93.72 %`, or `—` without a value."""
    return "—" if value is None else f"{value:.2f} %"


@dataclass(frozen=True)
class Indicator:
    code: str
    label: Any
    # A rate (percent) computed from the counts, or None for a plain count (`count` names it).
    rate: Callable[[dict[str, int]], Decimal | None] | None = None
    count: str = ""
    less_is_better: bool = False

    def value(self, counts: dict[str, int]) -> Decimal | int | None:
        if self.rate is not None:
            return self.rate(counts)
        return counts.get(self.count, 0)

    @property
    def is_rate(self) -> bool:
        return self.rate is not None


def _rate(num: str, den: str) -> Callable[[dict[str, int]], Decimal | None]:
    return lambda c: percent(c.get(num, 0), c.get(den, 0))


def _on_time(c: dict[str, int]) -> int:
    return c.get("closed", 0) - c.get("late_closed", 0)


def derived(counts: dict[str, int]) -> dict[str, int]:
    """The counts that are differences of others."""
    return {
        **counts,
        "on_time": max(_on_time(counts), 0),
        "handled_on_time": max(counts.get("handled", 0) - counts.get("handled_late", 0), 0),
        "contained": counts.get("in_grid", 0) + counts.get("in_village", 0),
    }


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in (
        Indicator("received", _("received (受理数)"), count="received"),
        Indicator("registered", _("registered (立案数)"), count="registered"),
        Indicator("due", _("due to close (应结案数)"), count="due"),
        Indicator("closed", _("closed (结案数)"), count="closed"),
        Indicator("on_time", _("closed on time (按期结案数)"), count="on_time"),
        Indicator("dispatched", _("dispatched (派遣数)"), count="dispatched"),
        Indicator("closing_rate", _("closing rate (结案率)"), _rate("closed", "due")),
        Indicator("on_time_rate", _("closed on time (按期结案率)"), _rate("on_time", "due")),
        Indicator("handling_rate", _("handled on time (按期处置率)"), _rate("handled_on_time", "handled")),
        Indicator("signing_rate", _("signed in time (及时签收率)"), _rate("sign_met", "sign_done")),
        Indicator(
            "rework_rate", _("rework rate (返工率)"), _rate("reworked", "handled"), less_is_better=True
        ),
        Indicator(
            "return_rate",
            _("return rate (退单率/误派率)"),
            _rate("returned", "dispatched"),
            less_is_better=True,
        ),
        Indicator("extended", _("extended (延期数)"), count="extended"),
        Indicator("satisfaction_rate", _("satisfaction (满意率)"), _rate("satisfied", "rated")),
        Indicator("hotline_response_rate", _("12345 response (响应率)"), _rate("h_responded", "h_received")),
        Indicator("hotline_solving_rate", _("12345 solved (解决率)"), _rate("h_closed", "h_due")),
        Indicator(
            "hotline_satisfaction_rate", _("12345 satisfaction (满意率)"), _rate("h_satisfied", "h_rated")
        ),
        Indicator("staff_reports", _("reports by staff (上报数)"), count="staff_reports"),
        Indicator(
            "valid_report_rate", _("valid reports (有效上报率)"), _rate("staff_valid", "staff_reports")
        ),
        Indicator("grid_containment", _("resolved in the grid (网格内解决率)"), _rate("in_grid", "closed")),
        Indicator(
            "village_containment", _("resolved in the village (村内解决率)"), _rate("contained", "closed")
        ),
        Indicator("self_handled", _("handled on the spot (自处置数)"), count="self_handled"),
        Indicator("verified", _("verifications (核查数)"), count="verified"),
        Indicator("patrol_days", _("patrol days (巡查天数)"), count="patrol_days"),
        Indicator("patrol_coverage", _("patrol coverage (巡查覆盖率)"), _rate("patrol_days", "patrol_base")),
    )
}

AREA_COLUMNS = [
    "received",
    "registered",
    "due",
    "closed",
    "on_time",
    "closing_rate",
    "on_time_rate",
    "handling_rate",
    "signing_rate",
    "rework_rate",
    "return_rate",
    "extended",
    "satisfaction_rate",
    "hotline_response_rate",
    "hotline_solving_rate",
    "hotline_satisfaction_rate",
    "valid_report_rate",
    "grid_containment",
    "village_containment",
    "patrol_coverage",
]
COLUMNS: dict[str, list[str]] = {
    Kind.TOWN: AREA_COLUMNS,
    Kind.VILLAGE: AREA_COLUMNS,
    Kind.GRID: AREA_COLUMNS,
    Kind.DEPARTMENT: [
        "dispatched",
        "closed",
        "closing_rate",
        "on_time_rate",
        "handling_rate",
        "signing_rate",
        "rework_rate",
        "return_rate",
        "extended",
        "satisfaction_rate",
    ],
    Kind.WORKER: [
        "staff_reports",
        "valid_report_rate",
        "self_handled",
        "verified",
        "closing_rate",
        "patrol_days",
        "patrol_coverage",
    ],
}
# The weights of a kind until the county sets its own (percent points; only the relative sizes matter).
DEFAULT_WEIGHTS: dict[str, dict[str, Decimal]] = {
    Kind.TOWN: {
        "closing_rate": Decimal(25),
        "on_time_rate": Decimal(25),
        "satisfaction_rate": Decimal(20),
        "village_containment": Decimal(15),
        "valid_report_rate": Decimal(15),
        "patrol_coverage": Decimal(10),
    },
    Kind.DEPARTMENT: {
        "handling_rate": Decimal(35),
        "signing_rate": Decimal(20),
        "rework_rate": Decimal(15),
        "return_rate": Decimal(10),
        "satisfaction_rate": Decimal(20),
    },
    Kind.WORKER: {
        "valid_report_rate": Decimal(60),
        "closing_rate": Decimal(40),
        "patrol_coverage": Decimal(20),
    },
}
DEFAULT_WEIGHTS[Kind.VILLAGE] = dict(DEFAULT_WEIGHTS[Kind.TOWN])
DEFAULT_WEIGHTS[Kind.GRID] = {
    **{k: v for k, v in DEFAULT_WEIGHTS[Kind.TOWN].items() if k != "village_containment"},
    "grid_containment": Decimal(15),
}
DEFAULT_THRESHOLDS = (Decimal(60), Decimal(80))  # red below, yellow below


def weightable(kind: str) -> list[str]:
    """The indicators of a kind that may carry a weight: its rates."""
    return [c for c in COLUMNS[kind] if INDICATORS[c].is_rate]


def composite(counts: dict[str, int], weights: dict[str, Decimal]) -> Decimal | None:
    """Σ wᵢ·vᵢ / Σ wᵢ over the weighted rates with a value (100 − v where less is better), to the hundredth."""
    total = Decimal(0)
    weight_sum = Decimal(0)
    for code, w in weights.items():
        if not w:
            continue
        value = INDICATORS[code].value(counts)
        if value is None:
            continue
        v = Decimal(value)
        if INDICATORS[code].less_is_better:
            v = Decimal(100) - v
        total += w * v
        weight_sum += w
    if not weight_sum:
        return None
    return (total / weight_sum).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def mark(score: Decimal | None, thresholds: tuple[Decimal, Decimal]) -> str:
    if score is None:
        return ""
    red, yellow = thresholds
    if score < red:
        return Mark.RED
    if score < yellow:
        return Mark.YELLOW
    return Mark.GREEN


# ------------------------------------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    first: dt.date  # the first day of the first month
    last: dt.date  # the first day of the last month

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first, dt.time()))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(_next_month(self.last), dt.time()))

    @property
    def key(self) -> str:
        a, b = f"{self.first:%Y-%m}", f"{self.last:%Y-%m}"
        return a if a == b else f"{a}..{b}"

    @property
    def single(self) -> bool:
        return self.first == self.last

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month(text: str, field_name: str) -> dt.date:
    try:
        parsed = dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise Invalid(_("Give the month as YYYY-MM (for example 2026-11)."), field=field_name) from None
    if not (2000 <= parsed.year <= 2100):
        raise Invalid(_("Give a month between 2000 and 2100."), field=field_name)
    return parsed


def period_of(month: str | None = None, since: str | None = None, until: str | None = None) -> Period:
    """A month (`month`), or a range of months (`since` … `until`, both included); default: this month."""
    this = timezone.localdate().replace(day=1)
    if since or until:
        first = _month(since, "since") if since else this
        last = _month(until, "until") if until else first
        if last < first:
            raise Invalid(_("The last month is before the first."), field="until")
        p = Period(first, last)
        if p.months > MAX_MONTHS:
            raise Invalid(_("Choose at most %(n)d months.") % {"n": MAX_MONTHS}, field="until")
        return p
    first = _month(month, "month") if month else this
    return Period(first, first)


# ------------------------------------------------------------------------------------------------ the table


@dataclass
class Row:
    key: int | None
    name: str
    counts: dict[str, int]
    values: dict[str, Decimal | int | None] = field(default_factory=dict)
    score: Decimal | None = None
    mark: str = ""
    rank: int | None = None
    code: str = ""  # a grid's or department's code (links, exports)


@dataclass
class Table:
    kind: str
    period: Period
    columns: list[Indicator]
    rows: list[Row]
    total: Row
    weights: dict[str, Decimal]
    thresholds: tuple[Decimal, Decimal]

    @property
    def warnings(self) -> list[Row]:
        return [r for r in self.rows if r.mark in (Mark.RED, Mark.YELLOW)]


KEYS: dict[str, str] = {
    Kind.TOWN: "grid_l1_id",
    Kind.VILLAGE: "grid_l2_id",
    Kind.GRID: "grid_l3_id",
    Kind.DEPARTMENT: "lead_department_id",
    Kind.WORKER: "reporter_id",
}


def _key(column: str, prefix: str = "") -> ExpressionWrapper:
    # Grouped on an expression, not the bare column: SQLite would walk a whole index in group order instead of
    # taking the period's rows by their own index (see cases/overview.py).
    return ExpressionWrapper(F(prefix + column) + Value(0), output_field=BigIntegerField())


def excluded_ids() -> QuerySet:
    from .models import Exclusion

    return Exclusion.objects.filter(active=True).values("case_id")


def period_cases(cases: QuerySet[Case], period: Period) -> QuerySet[Case]:
    """The cases of `cases` reported in the period, less those excluded from assessment."""
    return (
        cases.filter(created_at__gte=period.start, created_at__lt=period.end)
        .exclude(pk__in=excluded_ids())
        .order_by()
    )


def _case_counts(now: dt.datetime) -> dict[str, Any]:
    filed = ~Q(state__in=NOT_FILED)
    closed = Q(state=State.CLOSED)
    due = closed | Q(state__in=RUNNING, due_at__lte=now)
    rated = ~Q(rating="")
    satisfied = Q(rating__in=SATISFIED)
    staff = Q(reporter_kind=ReporterKind.STAFF)
    hotline = Q(channel=Channel.HOTLINE)
    handled = Q(state__in=(State.HANDLED, State.CLOSED), lead_department__isnull=False)
    return {
        "received": Count("pk"),
        "registered": Count("pk", filter=filed),
        "due": Count("pk", filter=due),
        "closed": Count("pk", filter=closed),
        "in_grid": Count("pk", filter=closed & Q(resolved_level__gte=3)),
        "in_village": Count("pk", filter=closed & Q(resolved_level=2)),
        "rated": Count("pk", filter=rated),
        "satisfied": Count("pk", filter=satisfied),
        "dispatched": Count("pk", filter=Q(lead_department__isnull=False) | Q(returns__gt=0)),
        "returned": Count("pk", filter=Q(returns__gt=0)),
        "handled": Count("pk", filter=handled),
        "reworked": Count("pk", filter=handled & Q(reworks__gt=0)),
        "staff_reports": Count("pk", filter=staff),
        "staff_valid": Count("pk", filter=staff & filed),
        "h_received": Count("pk", filter=hotline),
        "h_due": Count("pk", filter=hotline & due),
        "h_closed": Count("pk", filter=hotline & closed),
        "h_rated": Count("pk", filter=hotline & rated),
        "h_satisfied": Count("pk", filter=hotline & satisfied),
    }


def _merge(into: dict[int | None, dict[str, int]], rows: Any, key: str = "k") -> None:
    for r in rows:
        k = r.pop(key)
        bucket = into.setdefault(k, {})
        for name, value in r.items():
            bucket[name] = bucket.get(name, 0) + (value or 0)


def counts_by(
    kind: str, cases: QuerySet[Case], period: Period, now: dt.datetime | None = None
) -> dict[int | None, dict[str, int]]:
    """The counts of the period's cases of `cases`, per object of `kind` (None: cases of no such object)."""
    now = now or timezone.now()
    column = KEYS[kind]
    mine = period_cases(cases, period)
    if kind == Kind.WORKER:
        mine_for_rows = mine.filter(reporter_kind=ReporterKind.STAFF, reporter__isnull=False)
    else:
        mine_for_rows = mine
    out: dict[int | None, dict[str, int]] = {}
    _merge(out, mine_for_rows.annotate(k=_key(column)).values("k").annotate(**_case_counts(now)))
    ids = mine.values("pk")
    _merge(out, _clock_counts(kind, column, mine))
    extended = (
        Extension.objects.filter(case_id__in=ids, state="approved")
        .order_by()
        .annotate(k=_key(column, "case__"))
        .values("k")
        .annotate(extended=Count("case_id", distinct=True))
    )
    if kind == Kind.WORKER:
        extended = extended.filter(case__reporter_kind=ReporterKind.STAFF)
    _merge(out, extended)
    if kind == Kind.DEPARTMENT:
        # 退单: each lead assignment counts for the department it was given to.
        for bucket in out.values():
            bucket["dispatched"] = bucket["returned"] = 0
        _merge(out, _lead_assignments(mine))
    if kind == Kind.WORKER:
        _merge(out, _worker_events(mine))
    return {k: derived(v) for k, v in out.items()}


def _clock_counts(kind: str, column: str, cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """The ended clocks of the period's cases (`cases`), per object, in one statement driven by the period's
    cases (their clocks found by the index on `case_id`): first folded per case (did any clock end late, how many
    signing clocks…) in a hash table, then summed per object. No distinct count, so no sort of every clock."""
    picked = cases.values(
        cid=F("pk"),
        k=F(column),
        st=F("state"),
        ch=F("channel"),
        rk=F("reporter_kind"),
        dept=F("lead_department_id"),
    )
    cases_sql, cases_params = picked.query.sql_with_params()
    deadline = Deadline._meta.db_table
    worker = " WHERE x.rk = %s" if kind == Kind.WORKER else ""
    # The table is ours (model metadata), the case subquery the ORM's; every value is a parameter.
    sql = (
        "SELECT x.k AS k, "  # noqa: S608
        "SUM(CASE WHEN x.late > 0 AND x.st = %s THEN 1 ELSE 0 END) AS late_closed, "
        "SUM(x.sign_done) AS sign_done, SUM(x.sign_met) AS sign_met, "
        "SUM(CASE WHEN x.handle_late > 0 AND x.st IN (%s, %s) AND x.dept IS NOT NULL THEN 1 ELSE 0 END) "
        "AS handled_late, "
        "SUM(CASE WHEN x.register_met > 0 AND x.ch = %s THEN 1 ELSE 0 END) AS h_responded "
        "FROM (SELECT c.cid, c.k, c.st, c.ch, c.rk, c.dept, "
        "SUM(CASE WHEN d.met = %s THEN 1 ELSE 0 END) AS late, "
        "SUM(CASE WHEN d.stage = %s THEN 1 ELSE 0 END) AS sign_done, "
        "SUM(CASE WHEN d.stage = %s AND d.met = %s THEN 1 ELSE 0 END) AS sign_met, "
        "SUM(CASE WHEN d.stage = %s AND d.met = %s THEN 1 ELSE 0 END) AS handle_late, "
        "SUM(CASE WHEN d.stage = %s AND d.met = %s THEN 1 ELSE 0 END) AS register_met "
        f"FROM ({cases_sql}) c JOIN {deadline} d ON d.case_id = c.cid WHERE d.done_at IS NOT NULL "
        f"GROUP BY c.cid, c.k, c.st, c.ch, c.rk, c.dept) x{worker} GROUP BY x.k"
    )
    params: list[Any] = [State.CLOSED, State.HANDLED, State.CLOSED, Channel.HOTLINE]
    params += [False, Stage.SIGN, Stage.SIGN, True, Stage.HANDLE, False, Stage.REGISTER, True]
    params += cases_params
    if kind == Kind.WORKER:
        params.append(ReporterKind.STAFF)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # For this statement only: the per-case hash table of a county's month (60,000 cases) in memory, not
            # on disk; and no JIT compilation, which costs more (0.1 s) than it saves on a few hundred thousand
            # rows.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _lead_assignments(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """Per department: the lead assignments given to it on the period's cases, and those it ended by 退单.
    Driven by the period's cases (their assignments found by `case_id`), like the clocks."""
    cases_sql, cases_params = cases.values(cid=F("pk")).query.sql_with_params()
    table = Assignment._meta.db_table
    sql = (
        "SELECT a.department_id AS k, COUNT(*) AS dispatched, "  # noqa: S608
        "COUNT(*) FILTER (WHERE a.end_reason = %s) AS returned "
        f"FROM ({cases_sql}) c JOIN {table} a ON a.case_id = c.cid WHERE a.kind = %s GROUP BY a.department_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["returned", *cases_params, "lead"])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _worker_events(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """Per actor: the 自处置 and 核查 events taken on the period's cases (found by `case_id`)."""
    cases_sql, cases_params = cases.values(cid=F("pk")).query.sql_with_params()
    table = CaseEvent._meta.db_table
    sql = (
        "SELECT e.actor_id AS k, "  # noqa: S608
        "COUNT(*) FILTER (WHERE e.action = %s) AS self_handled, "
        "COUNT(*) FILTER (WHERE e.action IN (%s, %s)) AS verified "
        f"FROM ({cases_sql}) c JOIN {table} e ON e.case_id = c.cid "
        "WHERE e.action IN (%s, %s, %s) AND e.actor_id IS NOT NULL GROUP BY e.actor_id"
    )
    actions = [Action.SELF_HANDLE, Action.VERIFY_PASS, Action.VERIFY_FAIL]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*actions, *cases_params, *actions])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ------------------------------------------------------------------------------------------------ patrols


@dataclass(frozen=True)
class PatrolScope:
    """What patrol coverage counts for a reader: the patrols they see, and the level-3 grids assessed (the
    current ones of their scope)."""

    patrols: QuerySet[Patrol]
    grids: QuerySet[Grid]


PATROL_KEYS: dict[str, str] = {
    Kind.TOWN: "grid_l1_id",
    Kind.VILLAGE: "grid_l2_id",
    Kind.GRID: "grid_id",
    Kind.WORKER: "user_id",
}
GRID_KEYS: dict[str, str] = {Kind.TOWN: "l1_id", Kind.VILLAGE: "l2_id", Kind.GRID: "pk"}


def working_days(period: Period, today: dt.date) -> list[dt.date]:
    """The working days of the period's months (`core.calendar`), up to `today` included."""
    cal = get_calendar()
    last = min(_next_month(period.last) - dt.timedelta(days=1), today)
    days: list[dt.date] = []
    d = period.first
    while d <= last:
        if cal.is_working_day(d):
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _local_date(column: str, tz: Any) -> Any:
    """The local date of a stored instant. On SQLite SQL's own `date(t, '+8 hours')` (the stored text is UTC and
    China keeps UTC+8 without daylight saving), not Django's per-row Python function: 0.03 s, not 0.5 s, for 60,000
    patrols of a month. Elsewhere Django's `TruncDate` (PostgreSQL: `AT TIME ZONE`)."""
    if connection.vendor == "sqlite":
        offset = timezone.now().astimezone(tz).utcoffset() or dt.timedelta()
        hours = int(offset.total_seconds() // 3600)
        return Func(F(column), Value(f"{hours:+d} hours"), function="date", output_field=DateField())
    return TruncDate(column, tzinfo=tz)


def patrol_counts(
    kind: str, scope: PatrolScope, period: Period, today: dt.date, workers: list[int]
) -> list[dict[str, Any]]:
    """Per object of `kind`: `patrol_days` and `patrol_base` (see the module's docstring). `workers`: the
    worker rows already in the table (a worker without patrols has 0 days of the working days)."""
    if kind not in PATROL_KEYS:
        return []
    days = working_days(period, today)
    if not days:
        return []
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(days[0], dt.time()))
    end = timezone.make_aware(dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time()))
    pairs = (
        scope.patrols.filter(started_at__gte=start, started_at__lt=end)
        .order_by()
        .annotate(day=_local_date("started_at", tz))
        .filter(day__in=days)
        .annotate(k=_key(PATROL_KEYS[kind]))
    )
    # Distinct (object, grid, day) for areas — a village's two grids patrolled on one day are two grid-days —,
    # distinct (worker, day) for workers.
    picked = pairs.values("k", "day") if kind == Kind.WORKER else pairs.values("k", "grid_id", "day")
    inner_sql, params = picked.distinct().query.sql_with_params()
    sql = f"SELECT x.k AS k, COUNT(*) AS patrol_days FROM ({inner_sql}) x GROUP BY x.k"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {k: n for k, n in cursor.fetchall()}
    out: list[dict[str, Any]] = []
    if kind == Kind.WORKER:
        for k in set(found) | set(workers):
            out.append({"k": k, "patrol_days": found.get(k, 0), "patrol_base": len(days)})
        return out
    grids = (
        scope.grids.filter(level=3)
        .order_by()
        .annotate(k=_key(GRID_KEYS[kind]))
        .values("k")
        .annotate(n=Count("pk"))
    )
    for r in grids:
        out.append({"k": r["k"], "patrol_days": found.pop(r["k"], 0), "patrol_base": r["n"] * len(days)})
    # Patrols of a grid no longer current (split or merged during the period): counted, with no base of their
    # own — the successor grids carry the base.
    out.extend({"k": k, "patrol_days": n} for k, n in found.items())
    return out


def _names(kind: str, keys: list[int]) -> dict[int, tuple[str, str]]:
    if kind in (Kind.TOWN, Kind.VILLAGE, Kind.GRID):
        rows = Grid.objects.filter(pk__in=keys).values_list("pk", "name", "code")
        return {pk: (name, code) for pk, name, code in rows}
    if kind == Kind.DEPARTMENT:
        depts = Department.objects.filter(pk__in=keys).values_list("pk", "name", "code")
        return {pk: (name, code) for pk, name, code in depts}
    users = User.objects.filter(pk__in=keys).values_list("pk", "full_name", "username")
    return {pk: (full or username, username) for pk, full, username in users}


def _sum(buckets: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in buckets:
        for name, value in counts.items():
            total[name] = total.get(name, 0) + value
    return total


def build_table(
    kind: str,
    cases: QuerySet[Case],
    period: Period,
    *,
    weights: dict[str, Decimal],
    thresholds: tuple[Decimal, Decimal],
    sort: str = "score",
    now: dt.datetime | None = None,
    patrols: PatrolScope | None = None,
) -> Table:
    """The ranking table of `kind` over the cases `cases` (already scoped) reported in `period`; with
    `patrols`, the patrol coverage of the grids and the patrols the reader sees (else no value)."""
    counted = counts_by(kind, cases, period, now)
    if patrols is not None and kind in PATROL_KEYS:
        today = timezone.localdate(now) if now else timezone.localdate()
        workers = [k for k in counted if k is not None] if kind == Kind.WORKER else []
        more: dict[int | None, dict[str, int]] = {}
        _merge(more, patrol_counts(kind, patrols, period, today, workers))
        for k, bucket in more.items():
            counted[k] = derived({**counted.get(k, {}), **bucket})
    keys = [k for k in counted if k is not None]
    names = _names(kind, keys)
    columns = [INDICATORS[c] for c in COLUMNS[kind]]
    rows: list[Row] = []
    for k in keys:
        name, code = names.get(k, (str(k), ""))
        rows.append(_row(k, name, code, counted[k], columns, weights, thresholds))
    # The total: every case once (for workers and departments, the rows' sum).
    raw = _sum(counted[k] for k in keys) if kind in (Kind.DEPARTMENT, Kind.WORKER) else _sum(counted.values())
    total = _row(None, str(_("total")), "", derived(raw), columns, weights, thresholds)
    by_score = sorted(rows, key=lambda r: (r.score is None, -(r.score or 0), r.name))
    for i, r in enumerate(by_score, 1):
        r.rank = i if r.score is not None else None
    rows = sort_rows(by_score, sort, columns)
    return Table(kind, period, columns, rows, total, weights, thresholds)


def _row(
    key: int | None,
    name: str,
    code: str,
    counts: dict[str, int],
    columns: list[Indicator],
    weights: dict[str, Decimal],
    thresholds: tuple[Decimal, Decimal],
) -> Row:
    score = composite(counts, weights)
    return Row(
        key,
        name,
        counts,
        {c.code: c.value(counts) for c in columns},
        score,
        mark(score, thresholds),
        code=code,
    )


def sort_rows(rows: list[Row], sort: str, columns: list[Indicator]) -> list[Row]:
    """Sorted by the composite score (`score`) or an indicator's code, descending; `-code` ascending. Rows
    without a value last."""
    ascending = sort.startswith("-")
    code = sort.lstrip("-")
    if code == "name":
        return sorted(rows, key=lambda r: r.name, reverse=ascending)
    known = {c.code for c in columns}

    def value(r: Row) -> Any:
        return r.score if code == "score" or code not in known else r.values.get(code)

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (value(r), r.name) if ascending else (-value(r), r.name))
    return present + missing


# ------------------------------------------------------------------------------------------------ trend

TREND_INDICATORS = ("closing_rate", "satisfaction_rate", "village_containment")


def trend(
    cases: QuerySet[Case], last: dt.date, months: int = 6, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Per month of the `months` ending with `last`: the scope's 结案率, 满意率 and 村内解决率 (one query)."""
    now = now or timezone.now()
    first = last
    for _i in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    period = Period(first, last)
    qs = (
        period_cases(cases, period)
        .annotate(m=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("m")
        .annotate(**_case_counts(now))
    )
    by_month: dict[str, dict[str, int]] = {}
    for r in qs:
        m = r.pop("m")
        by_month[f"{timezone.localtime(m) if isinstance(m, dt.datetime) else m:%Y-%m}"] = derived(r)
    labels: list[str] = []
    d = first
    while d <= last:
        labels.append(f"{d:%Y-%m}")
        d = _next_month(d)
    series = {
        code: [
            (float(v) if (v := INDICATORS[code].value(by_month.get(m, {}))) is not None else None)
            for m in labels
        ]
        for code in TREND_INDICATORS
    }
    return {
        "months": labels,
        "series": [
            {"code": code, "name": str(INDICATORS[code].label), "values": series[code]}
            for code in TREND_INDICATORS
        ],
    }


KIND_LABELS: dict[str, Any] = {
    Kind.TOWN: pgettext_lazy("assessment", "town"),
    Kind.VILLAGE: pgettext_lazy("assessment", "village"),
    Kind.GRID: pgettext_lazy("assessment", "grid"),
    Kind.DEPARTMENT: pgettext_lazy("assessment", "department"),
    Kind.WORKER: pgettext_lazy("assessment", "worker"),
}
