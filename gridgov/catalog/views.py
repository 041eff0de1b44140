"""The responsibility list, routing rules and the working calendar (the system administrator's duty, 三员分立).
Anybody else gets 404. Reads here; every change through `catalog.services` / `core.calendar_services`."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, Prefetch, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.core import calendar_services
from gridgov.core.audit import client_ip
from gridgov.core.models import CalendarDay, WorkingPeriod
from gridgov.core.scoping import holds_duty, visible_to

from . import services
from .forms import DayForm, ItemFilterForm, ItemResponsibilityForm, PeriodForm, RoutingRuleForm
from .models import Department, Item, RoutingRule, Stage, TimeLimit, Urgency
from .selectors import time_limits

PAGE_SIZE = 50


def system_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """These pages exist only for the system administrator: anybody else gets 404 (never 403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not holds_duty(request.user, ("system",)):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _apply_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _autofocus(form: Any) -> Any:
    names = [n for n in form.fields if n in form.errors] if form.is_bound else []
    name = names[0] if names else next(iter(form.fields), None)
    if name is not None:
        form.fields[name].widget.attrs["autofocus"] = True
    return form


def _page(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


# -- the responsibility list -----------------------------------------------------------------------------------

STAGE_ORDER = Case(*[When(stage=s, then=Value(n)) for n, s in enumerate(Stage.values)])


@system_only
def items(request: HttpRequest) -> HttpResponse:
    form = ItemFilterForm(request.GET or None)
    qs = visible_to(request.user, Item).select_related("module", "lead_department").order_by("code")
    if form.is_valid():
        text = form.cleaned_data["q"].strip()
        if text:
            q = (
                Q(code__startswith=text)
                | Q(standard_code__startswith=text)
                | Q(name__icontains=text)
                | Q(name_en__icontains=text)
                | Q(keywords__icontains=text)
            )
            if text.isascii():
                q |= Q(pinyin__icontains=text.lower().replace(" ", ""))
            qs = qs.filter(q)
        if form.cleaned_data["module"]:
            qs = qs.filter(module=form.cleaned_data["module"])
    page = _page(request)
    rows = list(
        qs.prefetch_related(
            Prefetch(
                "assisting_departments", queryset=Department.objects.only("id", "code", "name", "name_en")
            ),
            Prefetch("limits", queryset=TimeLimit.objects.order_by(STAGE_ORDER, "urgency")),
        )[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1]
    )
    for item in rows:
        by_key = {(t.stage, t.urgency): t.minutes for t in item.limits.all()}
        item.limit_cells = [  # type: ignore[attr-defined]
            (by_key.get((s, Urgency.NORMAL)), by_key.get((s, Urgency.URGENT))) for s in Stage.values
        ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/items.html",
        {
            "form": form,
            "items": rows[:PAGE_SIZE],
            "stages": Stage.choices,
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "query": query.urlencode(),
        },
    )


@system_only
def item_edit(request: HttpRequest, code: str) -> HttpResponse:
    item = get_object_or_404(
        visible_to(request.user, Item).select_related("module", "lead_department"), code=code
    )
    limits = time_limits(item)
    assisting = list(item.assisting_departments.values_list("code", flat=True))
    form = ItemResponsibilityForm(
        request.POST or None,
        limits=limits,
        initial={"lead": item.lead_department.code, "assisting": assisting},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.do_update_item_responsibility(
                item,
                actor=request.user,
                lead=form.cleaned_data["lead"],
                assisting=list(form.cleaned_data["assisting"]),
                limits=form.limits(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("%(item)s is saved.") % {"item": item.label})
            return redirect("catalog:items")
    rules = RoutingRule.objects.filter(item=item).select_related("department").order_by("grid__code")
    rules = rules.select_related("grid").defer("grid__geometry")
    return render(
        request,
        "catalog/item_edit.html",
        {"item": item, "form": _autofocus(form), "rules": rules, "urgencies": Urgency.choices},
    )


# -- routing rules ---------------------------------------------------------------------------------------------


def _rules_page(request: HttpRequest, form: RoutingRuleForm, *, status: int = 200) -> HttpResponse:
    page = _page(request)
    rows = list(
        visible_to(request.user, RoutingRule)
        .select_related("grid", "item", "module", "department")
        .defer("grid__geometry")
        .order_by("grid__code", "item__code", "module__code")[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1]
    )
    return render(
        request,
        "catalog/rules.html",
        {"rules": rows[:PAGE_SIZE], "form": form, "page": page, "has_next": len(rows) > PAGE_SIZE},
        status=status,
    )


def _save_rule(request: HttpRequest, form: RoutingRuleForm, rule: RoutingRule | None) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        services.do_save_routing_rule(
            rule,
            actor=request.user,
            grid=data["grid"],
            department=data["department"],
            item=data["item"],
            module=data["module"] if data["item"] is None else None,
            note=data["note"],
            ip=client_ip(request),
        )
    except ValidationError as exc:
        _apply_errors(form, exc)
        return False
    return True


@system_only
def rules(request: HttpRequest) -> HttpResponse:
    form = RoutingRuleForm(request.POST or None)
    if request.method == "POST" and _save_rule(request, form, None):
        messages.success(request, _("The routing rule is added."))
        return redirect("catalog:rules")
    return _rules_page(request, _autofocus(form))


@system_only
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(
        visible_to(request.user, RoutingRule).select_related("grid", "item", "module", "department"), pk=pk
    )
    initial = {
        "grid": rule.grid.code,
        "item": rule.item.code if rule.item else "",
        "module": rule.module.code if rule.module else None,
        "department": rule.department.code,
        "note": rule.note,
    }
    form = RoutingRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save_rule(request, form, rule):
        messages.success(request, _("The routing rule is saved."))
        return redirect("catalog:rules")
    return render(request, "catalog/rule_edit.html", {"rule": rule, "form": _autofocus(form)})


@system_only
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(
        visible_to(request.user, RoutingRule).select_related("grid", "item", "module", "department"), pk=pk
    )
    services.do_delete_routing_rule(rule, actor=request.user, ip=client_ip(request))
    messages.success(request, _("The routing rule is deleted."))
    return redirect("catalog:rules")


# -- the working calendar --------------------------------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    return min(max(year, 1992), 2200)


def _months(year: int, days: dict[dt.date, CalendarDay]) -> list[dict[str, Any]]:
    """Each month as weeks of cells (Monday first): the day, whether it is worked, and its calendar entry."""
    cal = pycalendar.Calendar(firstweekday=0)
    months = []
    for month in range(1, 13):
        weeks = []
        for week in cal.monthdatescalendar(year, month):
            cells: list[dict[str, Any] | None] = []
            for day in week:
                entry = days.get(day)
                if day.month != month:
                    cells.append(None)
                    continue
                weekly = "weekend" if day.weekday() >= 5 else "weekday"
                css = entry.kind if entry is not None else weekly
                cells.append({"date": day, "entry": entry, "css": css})
            weeks.append(cells)
        months.append({"number": month, "weeks": weeks})
    return months


def _calendar_page(
    request: HttpRequest,
    *,
    period_form: PeriodForm | None = None,
    day_form: DayForm | None = None,
    status: int = 200,
) -> HttpResponse:
    year = _year(request)
    entries = list(visible_to(request.user, CalendarDay).filter(date__year=year).order_by("date"))
    return render(
        request,
        "catalog/calendar.html",
        {
            "year": year,
            "periods": list(visible_to(request.user, WorkingPeriod).order_by("start")),
            "entries": entries,
            "months": _months(year, {e.date: e for e in entries}),
            # Two letters or one character per weekday (一 二 三 …): seven columns fit a small month.
            "weekdays": [_("Mo"), _("Tu"), _("We"), _("Th"), _("Fr"), _("Sa"), _("Su")],
            "period_form": period_form or PeriodForm(),
            "day_form": _autofocus(day_form) if day_form else DayForm(initial={"date": dt.date(year, 1, 1)}),
            "holidays": sum(1 for e in entries if e.kind == CalendarDay.Kind.HOLIDAY),
            "workdays": sum(1 for e in entries if e.kind == CalendarDay.Kind.WORKDAY),
        },
        status=status,
    )


def _back_to_year(year: int) -> HttpResponse:
    response = redirect("catalog:calendar")
    response["Location"] += f"?year={year}"
    return response


@system_only
def calendar(request: HttpRequest) -> HttpResponse:
    return _calendar_page(request)


@system_only
@require_POST
def period_add(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.POST)
    if form.is_valid():
        try:
            calendar_services.do_add_period(
                form.cleaned_data["start"],
                form.cleaned_data["end"],
                actor=request.user,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The working period is added."))
            return _back_to_year(_year(request))
    return _calendar_page(request, period_form=_autofocus(form))


@system_only
@require_POST
def period_delete(request: HttpRequest, pk: int) -> HttpResponse:
    period = get_object_or_404(WorkingPeriod, pk=pk)
    try:
        calendar_services.do_delete_period(period, actor=request.user, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The working period is removed."))
    return _back_to_year(_year(request))


@system_only
@require_POST
def day_set(request: HttpRequest) -> HttpResponse:
    form = DayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            calendar_services.do_set_day(
                data["date"], data["kind"], data["name"], actor=request.user, ip=client_ip(request)
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("%(date)s is saved.") % {"date": data["date"].isoformat()})
            return _back_to_year(data["date"].year)
    return _calendar_page(request, day_form=form)


@system_only
@require_POST
def day_delete(request: HttpRequest, pk: int) -> HttpResponse:
    day = get_object_or_404(CalendarDay, pk=pk)
    year = day.date.year
    calendar_services.do_delete_day(day, actor=request.user, ip=client_ip(request))
    messages.success(
        request, _("%(date)s follows the weekly pattern again.") % {"date": day.date.isoformat()}
    )
    return _back_to_year(year)
