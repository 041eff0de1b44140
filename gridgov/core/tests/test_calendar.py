"""The working calendar: known dates of the 2026 schedule, properties of the arithmetic on any calendar,
and the cache that follows changes of the data."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.core import calendar
from gridgov.core.calendar import TZ, Calendar, add_working_time, working_time_between
from gridgov.core.models import AuditRecord, CalendarDay, WorkingPeriod

HOLIDAY_FILES = Path(calendar.__file__).resolve().parents[1] / "catalog" / "data" / "holidays"
MIGRATION = importlib.import_module("gridgov.core.migrations.0003_working_calendar_data")
H, MIN, US = dt.timedelta(hours=1), dt.timedelta(minutes=1), dt.timedelta(microseconds=1)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def shipped_calendar() -> Calendar:
    """The calendar every installation gets from the data migration, built without a database."""
    exceptions = {
        dt.date.fromisoformat(d["date"]): d["kind"] == "workday"
        for year in MIGRATION.HOLIDAYS
        for d in year["days"]
    }
    return Calendar(MIGRATION.WORKING_PERIODS, exceptions)


SHIPPED = shipped_calendar()


@pytest.fixture(autouse=True)
def fresh_calendar():
    """Tests roll back their rows; start each one from the database's calendar."""
    calendar.invalidate()
    yield
    calendar.invalidate()


# -- known dates (the migrated data: default hours, the 2026 notice) -------------------------------------------


@pytest.mark.django_db
def test_friday_afternoon_plus_two_working_hours_is_monday_morning():
    assert add_working_time(local(2026, 11, 27, 17, 0), 2 * H) == local(2026, 11, 30, 9, 30)
    # The same instant given in UTC, as it is stored, gives the same deadline (returned in UTC).
    result = add_working_time(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC), 2 * H)
    assert result == local(2026, 11, 30, 9, 30) and result.utcoffset() == dt.timedelta(0)


@pytest.mark.django_db
def test_national_day_week_and_its_make_up_days():
    # 1–7 October 2026 are holidays: the hour left on 30 September runs out on Thursday 8 October.
    assert add_working_time(local(2026, 9, 30, 17, 30), H) == local(2026, 10, 8, 9, 0)
    # Sunday 20 September and Saturday 10 October are make-up working days (调休上班).
    assert add_working_time(local(2026, 9, 19, 10, 0), H) == local(2026, 9, 20, 9, 30)
    assert add_working_time(local(2026, 10, 9, 18, 0), MIN) == local(2026, 10, 10, 8, 31)
    # 30 September, then 8, 9 and 10 October: four working days of 7 hours between these two instants.
    assert working_time_between(local(2026, 9, 30, 8, 0), local(2026, 10, 11, 8, 0)) == 28 * H


@pytest.mark.django_db
def test_spring_festival_2026():
    # Saturday 14 February is worked, then 15–23 February are off.
    assert add_working_time(local(2026, 2, 13, 18, 0), MIN) == local(2026, 2, 14, 8, 31)
    assert add_working_time(local(2026, 2, 14, 18, 0), MIN) == local(2026, 2, 24, 8, 31)
    assert not calendar.is_working_day(dt.date(2026, 2, 23))
    assert calendar.is_working_day(dt.date(2026, 2, 28))


@pytest.mark.django_db
def test_2027_statutory_holidays_are_loaded_and_marked_provisional():
    # 除夕 5 February 2027 to 初三 8 February, plus the two days owed for 初一 and 初二 falling on the weekend.
    assert add_working_time(local(2027, 2, 4, 18, 0), MIN) == local(2027, 2, 11, 8, 31)
    days_2027 = CalendarDay.objects.filter(date__year=2027)
    assert days_2027.exists() and not days_2027.filter(provisional=False).exists()
    assert not days_2027.filter(kind=CalendarDay.Kind.WORKDAY).exists()  # the notice will say
    assert not CalendarDay.objects.filter(date__year=2026, provisional=True).exists()


@pytest.mark.django_db
def test_boundaries():
    monday = local(2026, 11, 30, 8, 30)
    # Ends exactly at the end of the morning period: 12:00, not 14:30.
    assert add_working_time(monday, 3.5 * H) == local(2026, 11, 30, 12, 0)
    assert add_working_time(monday, 3.5 * H + US) == local(2026, 11, 30, 14, 30) + US
    # Zero is zero, even at a non-working instant.
    sunday = local(2026, 11, 29, 3, 0)
    assert add_working_time(sunday, dt.timedelta(0)) == sunday
    # Lunch and nights do not count; the order of the arguments gives the sign.
    assert working_time_between(local(2026, 11, 30, 11, 0), local(2026, 11, 30, 15, 0)) == 1.5 * H
    assert working_time_between(local(2026, 11, 30, 15, 0), local(2026, 11, 30, 11, 0)) == -1.5 * H
    # Fifteen working days from a Monday morning end on the third Friday evening.
    assert add_working_time(monday, 15 * 7 * H) == local(2026, 12, 18, 18, 0)


@pytest.mark.django_db
def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(dt.datetime(2026, 11, 30, 9, 0), H)
    with pytest.raises(ValueError, match="negative"):
        add_working_time(local(2026, 11, 30, 9, 0), -H)


# -- properties, on the shipped calendar and on any calendar ---------------------------------------------------

instants = st.datetimes(
    min_value=dt.datetime(2025, 11, 1), max_value=dt.datetime(2028, 3, 1), timezones=st.just(dt.UTC)
)
durations = st.integers(min_value=0, max_value=40 * 7 * 3600 * 10**6).map(
    lambda us: dt.timedelta(microseconds=us)
)


@st.composite
def calendars(draw) -> Calendar:
    """Any calendar: 1–3 working periods a day and any holidays and make-up days around 2026–2027."""
    bounds = sorted(draw(st.sets(st.integers(min_value=0, max_value=24 * 60 - 1), min_size=2, max_size=6)))
    if len(bounds) % 2:
        bounds = bounds[:-1]
    periods = [
        (dt.time(bounds[i] // 60, bounds[i] % 60), dt.time(bounds[i + 1] // 60, bounds[i + 1] % 60))
        for i in range(0, len(bounds), 2)
    ]
    days = draw(
        st.dictionaries(
            st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2027, 12, 31)),
            st.booleans(),
            max_size=80,
        )
    )
    return Calendar(periods, days)


def brute_force_between(cal: Calendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Day by day, period by period: the reference the fast arithmetic must agree with."""
    if b < a:
        return -brute_force_between(cal, b, a)
    total = dt.timedelta(0)
    day = a.astimezone(TZ).date()
    while day <= b.astimezone(TZ).date():
        if cal.is_working_day(day):
            for s, e in cal.periods:
                start = dt.datetime.combine(day, dt.time(), tzinfo=TZ) + dt.timedelta(microseconds=s)
                end = dt.datetime.combine(day, dt.time(), tzinfo=TZ) + dt.timedelta(microseconds=e)
                lo, hi = max(start, a), min(end, b)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return total


@given(start=instants, d=durations)
def test_adding_then_measuring_gives_back_the_duration(start, d):
    end = SHIPPED.add(start, d)
    assert SHIPPED.between(start, end) == d
    assert end >= start


@given(cal=calendars(), start=instants, d=durations)
def test_the_result_is_the_earliest_such_instant_on_any_calendar(cal, start, d):
    end = cal.add(start, d)
    assert cal.between(start, end) == d
    if d:
        assert cal.between(start, end - US) < d
        assert cal.is_working_day(end.astimezone(TZ).date())


@given(start=instants, d1=durations, d2=durations)
def test_adding_is_monotonic_in_the_duration(start, d1, d2):
    d1, d2 = sorted((d1, d2))
    assert SHIPPED.add(start, d1) <= SHIPPED.add(start, d2)


@given(cal=calendars(), points=st.lists(instants, min_size=3, max_size=3))
def test_measuring_is_additive(cal, points):
    a, b, c = sorted(points)
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    # Antisymmetric too, so it adds up in any order.
    x, y, z = points
    assert cal.between(x, y) + cal.between(y, z) == cal.between(x, z)


@settings(max_examples=60)
@given(
    cal=calendars(),
    a=instants,
    span=st.integers(min_value=0, max_value=50 * 86_400).map(lambda s: dt.timedelta(seconds=s)),
)
def test_measuring_agrees_with_a_day_by_day_count(cal, a, span):
    assert cal.between(a, a + span) == brute_force_between(cal, a, a + span)


def test_a_fifteen_working_day_limit_is_computed_fast():
    start = local(2026, 9, 14, 9, 17)
    began = time.perf_counter()
    for n in range(2000):
        SHIPPED.add(start + n * MIN, 15 * 7 * H)
    elapsed = time.perf_counter() - began
    assert elapsed < 1.0, f"2000 additions took {elapsed:.2f} s"
    # Across the Mid-Autumn day and the National Day week, counting the make-up Sunday and Saturday.
    assert SHIPPED.add(start, 15 * 7 * H) == local(2026, 10, 10, 9, 17)


# -- the cache follows the data --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_holiday_moves_deadlines_at_once_and_removing_it_moves_them_back():
    friday = local(2026, 12, 4, 17, 0)
    assert add_working_time(friday, 2 * H) == local(2026, 12, 7, 9, 30)
    day = CalendarDay.objects.create(date=dt.date(2026, 12, 7), kind=CalendarDay.Kind.HOLIDAY, name="test")
    assert add_working_time(friday, 2 * H) == local(2026, 12, 8, 9, 30)
    day.delete()
    assert add_working_time(friday, 2 * H) == local(2026, 12, 7, 9, 30)


@pytest.mark.django_db
def test_changed_working_hours_apply_at_once():
    WorkingPeriod.objects.filter(start=dt.time(14, 30)).delete()
    assert working_time_between(local(2026, 12, 7, 0, 0), local(2026, 12, 8, 0, 0)) == 3.5 * H
    WorkingPeriod.objects.create(start=dt.time(15, 0), end=dt.time(18, 30))
    assert working_time_between(local(2026, 12, 7, 0, 0), local(2026, 12, 8, 0, 0)) == 7 * H


@pytest.mark.django_db
def test_a_change_made_by_another_process_is_noticed_on_the_next_check():
    monday = local(2026, 12, 7, 8, 30)
    assert add_working_time(monday, H) == local(2026, 12, 7, 9, 30)
    # A queryset update sends no signal, as a change in another process would not reach this one.
    WorkingPeriod.objects.filter(start=dt.time(8, 30)).update(
        start=dt.time(9, 0), updated_at=local(2030, 1, 1)
    )
    calendar._cache.checked_at -= calendar.RECHECK_SECONDS  # the recheck interval has passed
    assert add_working_time(monday, H) == local(2026, 12, 7, 10, 0)


@pytest.mark.django_db
def test_a_rolled_back_change_does_not_stay_in_the_cache():
    friday = local(2026, 12, 4, 17, 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        CalendarDay.objects.create(date=dt.date(2026, 12, 7), kind=CalendarDay.Kind.HOLIDAY)
        assert add_working_time(friday, 2 * H) == local(2026, 12, 8, 9, 30)
        raise RuntimeError("roll back")
    assert add_working_time(friday, 2 * H) == local(2026, 12, 7, 9, 30)


# -- shipping and loading the data -----------------------------------------------------------------------------


def test_the_migration_ships_the_same_days_as_the_holiday_files():
    for year in MIGRATION.HOLIDAYS:
        assert json.loads((HOLIDAY_FILES / f"{year['year']}.json").read_text(encoding="utf-8")) == year


def test_the_2026_schedule_is_the_state_council_notice():
    """The notice of 4 November 2025, item by item: 33 days off (weekends inside the spans included), six
    weekend days worked."""
    y = MIGRATION.HOLIDAYS[0]
    off = sorted(d["date"] for d in y["days"] if d["kind"] == "holiday")
    worked = sorted(d["date"] for d in y["days"] if d["kind"] == "workday")
    assert len(off) == 33 and off[0] == "2026-01-01" and off[-1] == "2026-10-07"
    assert worked == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


@pytest.mark.django_db
def test_loading_the_notice_for_a_provisional_year_replaces_it(tmp_path):
    notice = {
        "year": 2027,
        "source": "a notice",
        "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-20", "kind": "workday", "name": "春节调休上班"},
        ],
    }
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    call_command("load_holidays", str(path))
    days = CalendarDay.objects.filter(date__year=2027)
    assert sorted((d.date.isoformat(), d.kind, d.provisional) for d in days) == [
        ("2027-01-01", "holiday", False),
        ("2027-02-20", "workday", False),
    ]
    assert calendar.is_working_day(dt.date(2027, 2, 20)) and calendar.is_working_day(dt.date(2027, 2, 9))
    assert AuditRecord.objects.filter(action="calendar.load_holidays").count() == 1
    call_command("load_holidays", str(path))  # the same file again changes nothing
    assert AuditRecord.objects.filter(action="calendar.load_holidays").count() == 1


@pytest.mark.django_db
def test_a_bad_holiday_file_is_refused_whole_with_each_problem_named(tmp_path):
    before = list(CalendarDay.objects.values_list("date", "kind", "name"))
    bad = {
        "year": 2027,
        "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-17", "kind": "workday", "name": "a Wednesday"},
            {"date": "2028-01-01", "kind": "holiday"},
            {"date": "2027-13-01", "kind": "holiday"},
            {"date": "2027-01-01", "kind": "day off"},
        ],
    }
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        calendar.do_load_holidays(bad, actor=None)
    text = "\n".join(exc.value.messages)
    for needle in ("2027-02-17", "2028-01-01", "2027-13-01", "listed twice", "day off"):
        assert needle in text, text
    assert len(exc.value.messages) == 4  # day 1 is fine; each bad day is one message
    assert list(CalendarDay.objects.values_list("date", "kind", "name")) == before
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("load_holidays", str(path))


@pytest.mark.django_db
def test_every_installation_gets_the_shipped_calendar():
    """The properties above are checked on SHIPPED; the database's calendar after migrating is the same."""
    cal = calendar.get_calendar()
    assert cal.periods == SHIPPED.periods and cal.day_us == 7 * 3600 * 10**6
    assert cal.exceptions == SHIPPED.exceptions
