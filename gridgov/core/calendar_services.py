"""The only code that changes the working calendar from the workbench: working periods of the day and single
calendar days (public holidays, make-up working days). Each change is one transaction with its audit entry;
the calendar cache is dropped after the commit (and at once, through the models' signals)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit, calendar
from .models import CalendarDay, WorkingPeriod


def _after_commit() -> None:
    transaction.on_commit(calendar.invalidate)


def do_add_period(start: dt.time, end: dt.time, *, actor: Any, ip: str | None = None) -> WorkingPeriod:
    """Add a working period of every working day. Refused (naming the field) when it ends before it starts
    or overlaps another period."""
    period = WorkingPeriod(start=start, end=end)
    period.full_clean()
    with transaction.atomic():
        period.save()
        audit.record(
            "calendar.add_period",
            actor=actor,
            target=period,
            ip=ip,
            data={"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
        )
        _after_commit()
    calendar.invalidate()
    return period


def do_delete_period(period: WorkingPeriod, *, actor: Any, ip: str | None = None) -> None:
    """Remove a working period. The last one stays: a calendar without working hours has no deadlines."""
    with transaction.atomic():
        if WorkingPeriod.objects.select_for_update().exclude(pk=period.pk).count() == 0:
            raise ValidationError(
                {"period": _("The last working period cannot be removed: deadlines need working hours.")}
            )
        audit.record(
            "calendar.delete_period",
            actor=actor,
            target=period,
            ip=ip,
            data={"start": f"{period.start:%H:%M}", "end": f"{period.end:%H:%M}"},
        )
        period.delete()
        _after_commit()
    calendar.invalidate()


def do_set_day(
    date: dt.date, kind: str, name: str = "", *, actor: Any, ip: str | None = None, source: str = ""
) -> CalendarDay:
    """Make `date` a public holiday or a make-up working day (replacing what the day was before)."""
    with transaction.atomic():
        day = CalendarDay.objects.select_for_update().filter(date=date).first() or CalendarDay(date=date)
        previous = (day.kind, day.name) if day.pk else None
        day.kind, day.name = kind, name
        if source:
            day.source = source
        day.provisional = False
        day.full_clean()
        day.save()
        audit.record(
            "calendar.set_day",
            actor=actor,
            target=day,
            ip=ip,
            data={
                "date": date.isoformat(),
                "kind": kind,
                "name": name,
                "before": list(previous) if previous else None,
            },
        )
        _after_commit()
    calendar.invalidate()
    return day


def do_delete_day(day: CalendarDay, *, actor: Any, ip: str | None = None) -> None:
    """Remove a calendar day: the date follows the weekly pattern again."""
    with transaction.atomic():
        audit.record(
            "calendar.delete_day",
            actor=actor,
            target=day,
            ip=ip,
            data={"date": day.date.isoformat(), "kind": day.kind, "name": day.name},
        )
        day.delete()
        _after_commit()
    calendar.invalidate()
