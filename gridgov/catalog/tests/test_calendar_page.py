"""The working calendar page (system administrator): working periods and holidays change deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.core import calendar
from gridgov.core.calendar import TZ
from gridgov.core.models import AuditRecord, CalendarDay, WorkingPeriod


@pytest.fixture
def sysadmin(make_user, working_hours):
    return make_user("sysadmin", admin_duty="system", is_staff=True)


@pytest.fixture
def sysc(sysadmin):
    c = Client()
    c.force_login(sysadmin)
    c.cookies["django_language"] = "en"
    return c


def test_a_holiday_added_shifts_deadlines_and_removing_it_shifts_them_back(sysc):
    monday = dt.datetime(2027, 3, 1, 9, 0, tzinfo=TZ)  # Monday 1 March 2027
    one_day = dt.timedelta(hours=7)
    assert calendar.add_working_time(monday, one_day).astimezone(TZ) == dt.datetime(
        2027, 3, 2, 9, 0, tzinfo=TZ
    )
    response = sysc.post(
        reverse("catalog:day_set"), {"date": "2027-03-02", "kind": "holiday", "name": "测试假日"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?year=2027")
    # No explicit invalidate here: the page's service must have dropped the cached calendar.
    assert calendar.add_working_time(monday, one_day).astimezone(TZ) == dt.datetime(
        2027, 3, 3, 9, 0, tzinfo=TZ
    )
    day = CalendarDay.objects.get(date=dt.date(2027, 3, 2))
    assert AuditRecord.objects.filter(action="calendar.set_day", object_id=str(day.pk)).exists()
    page = sysc.get(reverse("catalog:calendar"), {"year": 2027}).content.decode()
    assert "测试假日" in page and 'class="holiday"' in page
    sysc.post(reverse("catalog:day_delete", args=[day.pk]))
    assert not CalendarDay.objects.filter(date=dt.date(2027, 3, 2)).exists()
    assert calendar.add_working_time(monday, one_day).astimezone(TZ) == dt.datetime(
        2027, 3, 2, 9, 0, tzinfo=TZ
    )
    assert AuditRecord.objects.filter(action="calendar.delete_day").exists()


def test_a_make_up_working_day_must_be_a_weekend(sysc):
    before = AuditRecord.objects.count()
    html = sysc.post(reverse("catalog:day_set"), {"date": "2027-03-03", "kind": "workday"}).content.decode()
    assert "kind: 2027-03-03 is a weekday" in html
    assert not CalendarDay.objects.filter(date=dt.date(2027, 3, 3)).exists()
    assert AuditRecord.objects.count() == before
    saturday = dt.date(2027, 3, 6)
    assert (
        sysc.post(reverse("catalog:day_set"), {"date": saturday.isoformat(), "kind": "workday"}).status_code
        == 302
    )
    assert calendar.is_working_day(saturday)


def test_working_periods(sysc):
    friday_end = dt.datetime(2027, 3, 5, 17, 0, tzinfo=TZ)
    # an overlapping period is refused, naming the start field
    html = sysc.post(reverse("catalog:period_add"), {"start": "11:00", "end": "13:00"}).content.decode()
    assert "start: This period overlaps" in html and WorkingPeriod.objects.count() == 2
    html = sysc.post(reverse("catalog:period_add"), {"start": "19:00", "end": "18:30"}).content.decode()
    assert "end: A working period ends after it starts." in html
    assert sysc.post(reverse("catalog:period_add"), {"start": "19:00", "end": "20:00"}).status_code == 302
    # one working hour from Friday 17:00 now ends on Friday at 19:00 (18:00 + the evening's first hour)
    assert calendar.add_working_time(friday_end, dt.timedelta(hours=2)).astimezone(TZ) == dt.datetime(
        2027, 3, 5, 20, 0, tzinfo=TZ
    )
    evening = WorkingPeriod.objects.get(start=dt.time(19, 0))
    sysc.post(reverse("catalog:period_delete", args=[evening.pk]))
    assert calendar.add_working_time(friday_end, dt.timedelta(hours=2)).astimezone(TZ) == dt.datetime(
        2027, 3, 8, 9, 30, tzinfo=TZ
    )
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"calendar.add_period", "calendar.delete_period"} <= actions
    # the last period stays
    for p in list(WorkingPeriod.objects.all())[:-1]:
        sysc.post(reverse("catalog:period_delete", args=[p.pk]))
    last = WorkingPeriod.objects.get()
    sysc.post(reverse("catalog:period_delete", args=[last.pk]))
    assert WorkingPeriod.objects.filter(pk=last.pk).exists()


def test_calendar_page_query_bound_with_a_full_year(sysc, django_assert_max_num_queries):
    from pathlib import Path

    from django.conf import settings

    from gridgov.core.calendar import do_load_holidays, load_holidays_file

    data = load_holidays_file(Path(settings.BASE_DIR) / "catalog" / "data" / "holidays" / "2026.json")
    do_load_holidays(data, actor=None)
    with django_assert_max_num_queries(30):
        response = sysc.get(reverse("catalog:calendar"), {"year": 2026})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="holiday"') >= 10 and html.count('class="workday"') >= 3
    assert html.count('<table class="month">') == 12


def test_csrf_and_duty(sysadmin, make_user):
    c = Client(enforce_csrf_checks=True)
    c.force_login(sysadmin)
    assert c.post(reverse("catalog:day_set"), {"date": "2027-03-02", "kind": "holiday"}).status_code == 403
    security = make_user("sec", admin_duty="security", is_staff=True)
    other = Client()
    other.force_login(security)
    assert (
        other.post(reverse("catalog:day_set"), {"date": "2027-03-02", "kind": "holiday"}).status_code == 404
    )
    assert not CalendarDay.objects.filter(date=dt.date(2027, 3, 2)).exists()
