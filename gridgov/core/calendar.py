"""The working calendar: deadlines in working time (工作时 / 工作日).

Data: `WorkingPeriod` rows are the working hours of every working day (default 08:30–12:00 and 14:30–18:00,
local time Asia/Shanghai); Monday to Friday are working days, Saturday and Sunday are not, and `CalendarDay`
rows make the exceptions: public holidays (no work) and make-up working days (调休上班) on weekends.

Semantics (exact to the microsecond; instants are aware datetimes, compared in any zone, stored in UTC):

* `working_time_between(a, b)` is the working time in [a, b): the length of the parts of working periods
  on working days that lie between the two instants. It is antisymmetric: when b < a it is the negative
  of `working_time_between(b, a)`, so that "time left until the deadline" goes negative once a deadline
  has passed, and the measure is additive for any three instants: between(a, b) + between(b, c) ==
  between(a, c).
* `add_working_time(start, d)` for d >= 0 is the earliest instant t >= start with between(start, t) == d.
  So add(x, 0) == x; an addition that ends exactly at the end of a period ends there (12:00, not 14:30);
  one that starts outside working time starts counting at the next working period. Negative durations
  are refused. Result in UTC.

Both run in O(log n) of the number of calendar exceptions, whatever the duration: the working time since
a fixed epoch is computed arithmetically (whole weeks × 5 days, plus the exceptions before the day, by
binary search over their prefix sums), and addition inverts it by binary search over days. Nothing loops
over minutes or days.

The calendar is built once per process and cached. A change saved in this process (admin, loader)
drops the cache at once through signals; other processes notice within `RECHECK_SECONDS` by comparing
a one-query fingerprint of the two tables. Local wall-clock time is used: China has kept UTC+8 without
daylight saving since 1991.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from . import audit
from .models import CalendarDay, WorkingPeriod
from .scoping import register

TZ = ZoneInfo("Asia/Shanghai")
RECHECK_SECONDS = 5.0
_US_PER_DAY = 86_400_000_000
_MONDAY_ORDINAL = 1  # date.fromordinal(1) is Monday 0001-01-01: weeks are counted from there


def _us(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class Calendar:
    """An immutable snapshot of the calendar data with the working-time arithmetic."""

    def __init__(self, periods: list[tuple[dt.time, dt.time]], exceptions: dict[dt.date, bool]) -> None:
        # Merge overlapping or touching periods so that no working microsecond counts twice.
        spans: list[list[int]] = []
        for start, end in sorted((_us(s), _us(e)) for s, e in periods if e > s):
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        self.periods: list[tuple[int, int]] = [(s, e) for s, e in spans]
        self.day_us = sum(e - s for s, e in self.periods)  # working time of one working day
        # Keep only the days that differ from the weekly pattern; a holiday on a Sunday changes nothing.
        self.exceptions = {
            d.toordinal(): working for d, working in exceptions.items() if working != (d.weekday() < 5)
        }
        self._ex_ords = sorted(self.exceptions)
        self._ex_prefix = [0]
        for o in self._ex_ords:
            self._ex_prefix.append(self._ex_prefix[-1] + (1 if self.exceptions[o] else -1))

    # -- days ----------------------------------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        return self._working(day.toordinal())

    def _working(self, o: int) -> bool:
        working = self.exceptions.get(o)
        return ((o - _MONDAY_ORDINAL) % 7 < 5) if working is None else working

    def _days_before(self, o: int) -> int:
        """Working days strictly before ordinal `o` since the epoch."""
        weeks, rest = divmod(o - _MONDAY_ORDINAL, 7)
        return weeks * 5 + min(rest, 5) + self._ex_prefix[bisect.bisect_left(self._ex_ords, o)]

    def _into_day(self, tod: int) -> int:
        """Working microseconds of a working day before time-of-day `tod`."""
        return sum(min(tod, e) - s for s, e in self.periods if tod > s)

    # -- instants ------------------------------------------------------------------------------------------
    def _position(self, t: dt.datetime) -> int:
        """Working microseconds from the epoch to instant `t`."""
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("the working calendar needs aware datetimes")
        local = t.astimezone(TZ)
        o = local.toordinal()
        pos = self._days_before(o) * self.day_us
        if self._working(o):
            tod = _us(local.time())
            pos += self._into_day(tod)
        return pos

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        return dt.timedelta(microseconds=self._position(b) - self._position(a))

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        if duration < dt.timedelta(0):
            raise ValueError("a working-time duration cannot be negative")
        begin = self._position(start)  # also refuses naive datetimes
        if duration == dt.timedelta(0):
            return start
        if self.day_us == 0:
            raise ValueError("the working calendar has no working hours")
        target = begin + duration // dt.timedelta(microseconds=1)
        # The target lies in the (n+1)-th working day since the epoch, `rest` microseconds into its working
        # time (0 < rest <= day_us: a target at the very end of a day is reached that day, not the next).
        n, rest = divmod(target - 1, self.day_us)
        rest += 1
        # The first day whose working days up to and including itself exceed n: exponential, then binary search.
        lo = start.astimezone(TZ).toordinal()
        step = 8
        while self._days_before(lo + step) <= n:
            step *= 2
        hi = lo + step
        while lo < hi:
            mid = (lo + hi) // 2
            if self._days_before(mid + 1) > n:
                hi = mid
            else:
                lo = mid + 1
        acc, tod = 0, self.periods[-1][1]
        for s, e in self.periods:
            if rest <= acc + (e - s):
                tod = s + (rest - acc)
                break
            acc += e - s
        # Adding a timedelta to an aware datetime moves its wall clock: local midnight + time of day.
        local = dt.datetime.combine(dt.date.fromordinal(lo), dt.time(), tzinfo=TZ) + dt.timedelta(
            microseconds=tod
        )
        return local.astimezone(dt.UTC)


# -- the process-wide cache ------------------------------------------------------------------------------------

_lock = threading.Lock()


@dataclass
class _Cache:
    calendar: Calendar | None = None
    fingerprint: tuple[Any, ...] | None = None
    checked_at: float = 0.0
    # Set while a calendar change of this process has not committed: the snapshot may hold rows that a
    # rollback will remove, so it is checked against the database on every use until the commit.
    untrusted: bool = False


_cache = _Cache()


def _fingerprint() -> tuple[Any, ...]:
    days, periods = CalendarDay._meta.db_table, WorkingPeriod._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {days}), (SELECT MAX(id) FROM {days}), "  # noqa: S608 (table names)
            f"(SELECT MAX(updated_at) FROM {days}), (SELECT COUNT(*) FROM {periods}), "
            f"(SELECT MAX(id) FROM {periods}), (SELECT MAX(updated_at) FROM {periods})"
        )
        return tuple(cursor.fetchone())


def _build() -> Calendar:
    periods = list(WorkingPeriod.objects.values_list("start", "end"))
    exceptions = {
        d: kind == CalendarDay.Kind.WORKDAY for d, kind in CalendarDay.objects.values_list("date", "kind")
    }
    return Calendar(periods, exceptions)


def get_calendar() -> Calendar:
    """The calendar of this process, rebuilt when the data changed."""
    now = time.monotonic()
    cal = _cache.calendar
    if cal is not None and not _cache.untrusted and now - _cache.checked_at < RECHECK_SECONDS:
        return cal
    with _lock:
        fingerprint = _fingerprint()
        if _cache.calendar is None or fingerprint != _cache.fingerprint:
            _cache.calendar, _cache.fingerprint = _build(), fingerprint
        _cache.checked_at = now
        return _cache.calendar


def invalidate() -> None:
    """Drop this process's calendar (the next use rebuilds it)."""
    with _lock:
        _cache.calendar = None
        _cache.fingerprint = None


def _committed() -> None:
    _cache.untrusted = False
    invalidate()


@receiver(post_save, sender=CalendarDay)
@receiver(post_delete, sender=CalendarDay)
@receiver(post_save, sender=WorkingPeriod)
@receiver(post_delete, sender=WorkingPeriod)
def _calendar_changed(**kwargs: Any) -> None:
    invalidate()
    if connection.in_atomic_block:
        _cache.untrusted = True
        transaction.on_commit(_committed)


def add_working_time(start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """The earliest instant at which the working time since `start` equals `duration` (>= 0), in UTC."""
    return get_calendar().add(start, duration)


def working_time_between(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """The working time from `a` to `b`; negative when `b` is before `a`."""
    return get_calendar().between(a, b)


def is_working_day(day: dt.date) -> bool:
    return get_calendar().is_working_day(day)


# -- everyone may read the calendar ----------------------------------------------------------------------------


@register(CalendarDay)
def _days(user: Any, qs: Any) -> Any:
    return qs


@register(WorkingPeriod)
def _periods(user: Any, qs: Any) -> Any:
    return qs


# -- loading a year's holidays ---------------------------------------------------------------------------------


@dataclass
class HolidayLoadReport:
    years: list[int]
    created: int = 0
    updated: int = 0
    deleted: int = 0


def parse_holidays(data: Any) -> list[dict[str, Any]]:
    """Check holiday data: one year object or a list of them, each
    {"year": 2027, "source": "...", "provisional": false, "days": [{"date": "2027-01-01", "kind": "holiday",
    "name": "元旦"}, ...]}. Raises ValidationError naming every bad entry; returns the years with dates parsed."""
    years = data if isinstance(data, list) else [data]
    errors: list[str] = []
    out = []
    seen_years: set[int] = set()
    for y_n, year_data in enumerate(years, start=1):
        if not isinstance(year_data, dict):
            errors.append(_("Entry %(n)s is not an object with a year and its days.") % {"n": y_n})
            continue
        year = year_data.get("year")
        if not isinstance(year, int) or not 1992 <= year <= 2200:
            errors.append(_("Entry %(n)s: year %(year)s is not a year.") % {"n": y_n, "year": year})
            continue
        if year in seen_years:
            errors.append(_("The year %(year)s appears twice.") % {"year": year})
        seen_years.add(year)
        days = year_data.get("days")
        if not isinstance(days, list) or not days:
            errors.append(_("%(year)s: the list of days is missing or empty.") % {"year": year})
            continue
        parsed = []
        seen: set[dt.date] = set()
        for d_n, day in enumerate(days, start=1):
            where = _("%(year)s, day %(n)s") % {"year": year, "n": d_n}
            if not isinstance(day, dict):
                errors.append(_("%(where)s: not an object.") % {"where": where})
                continue
            try:
                date = dt.date.fromisoformat(str(day.get("date")))
            except ValueError:
                errors.append(
                    _("%(where)s: %(value)s is not a date (YYYY-MM-DD).")
                    % {"where": where, "value": day.get("date")}
                )
                continue
            kind = day.get("kind")
            problems = []
            if date.year != year:
                problems.append(_("%(date)s is not in %(year)s") % {"date": date, "year": year})
            if date in seen:
                problems.append(_("%(date)s is listed twice") % {"date": date})
            if kind not in CalendarDay.Kind.values:
                problems.append(_("kind %(kind)s is neither holiday nor workday") % {"kind": kind})
            elif kind == CalendarDay.Kind.WORKDAY and date.weekday() < 5:
                problems.append(
                    _("%(date)s is a weekday, not a weekend make-up working day") % {"date": date}
                )
            name = str(day.get("name", ""))
            if len(name) > (CalendarDay._meta.get_field("name").max_length or 0):
                problems.append(_("the name is too long"))
            seen.add(date)
            if problems:
                errors.append(
                    _("%(where)s: %(problems)s.") % {"where": where, "problems": "; ".join(problems)}
                )
            else:
                parsed.append({"date": date, "kind": kind, "name": name})
        out.append(
            {
                "year": year,
                "source": str(year_data.get("source", ""))[
                    : CalendarDay._meta.get_field("source").max_length
                ],
                "provisional": bool(year_data.get("provisional", False)),
                "days": parsed,
            }
        )
    if errors:
        raise ValidationError(errors)
    return out


def do_load_holidays(data: Any, *, actor: Any) -> HolidayLoadReport:
    """Replace the calendar days of each year in `data` with the given ones (see `parse_holidays`), in one
    transaction: days of those years that are not listed are removed (a provisional year replaced by the
    State Council's notice loses the days the notice does not confirm). Loading the same data twice
    changes nothing the second time."""
    years = parse_holidays(data)
    report = HolidayLoadReport(years=[y["year"] for y in years])
    with transaction.atomic():
        for y in years:
            existing = {
                d.date: d
                for d in CalendarDay.objects.filter(
                    date__gte=dt.date(y["year"], 1, 1), date__lte=dt.date(y["year"], 12, 31)
                )
            }
            wanted = {d["date"]: d for d in y["days"]}
            for date, day in existing.items():
                if date not in wanted:
                    day.delete()
                    report.deleted += 1
            for date, d in wanted.items():
                values = {
                    "kind": d["kind"],
                    "name": d["name"],
                    "source": y["source"],
                    "provisional": y["provisional"],
                }
                row = existing.get(date)
                if row is None:
                    CalendarDay.objects.create(date=date, **values)
                    report.created += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.save()
                    report.updated += 1
        if report.created or report.updated or report.deleted:
            audit.record(
                "calendar.load_holidays",
                actor=actor,
                data={
                    "years": report.years,
                    "created": report.created,
                    "updated": report.updated,
                    "deleted": report.deleted,
                },
            )
    return report


def load_holidays_file(path: Path | str) -> Any:
    """Read a holiday JSON file (UTF-8), refusing unreadable or malformed files with a clear message."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ValidationError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            _("%(path)s is not UTF-8 JSON: %(error)s") % {"path": path, "error": exc}
        ) from exc
