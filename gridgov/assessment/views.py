"""The assessment's pages: the monthly ranking (per kind, sortable, marks, charts, warnings first), its Excel and
PDF exports, and the configuration: weights and thresholds, exclusions, appeals. No business logic here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from gridgov.accounts.choices import Role
from gridgov.cases.scoping import held_roles
from gridgov.core.audit import atomic_record, client_ip
from gridgov.core.errors import Refusal

from . import exports, selectors, services
from .choices import ExclusionReason, Kind
from .indicators import COLUMNS, INDICATORS, KIND_LABELS, Period, percent_text, period_of, trend, weightable

SORTS_SHOWN = 20  # bars in the ranking chart


def nav_link(request: HttpRequest) -> tuple[str, Any, str] | None:
    user = request.user
    if not user.is_authenticated or not selectors.reads(user):
        return None
    return (reverse("assessment:home"), _("Assessment"), "/assessment/")


def _reader(request: HttpRequest) -> Any:
    user: Any = request.user
    if not selectors.reads(user):
        raise Http404
    return user


def _default_kind(user: Any) -> str:
    roles = {h.role for h in held_roles(user)}
    if roles and roles <= {Role.DEPT_HANDLER}:
        return Kind.DEPARTMENT
    if roles & {Role.GRID_HEAD_L2} and not roles & {Role.LEADER, Role.OPERATOR, Role.GRID_HEAD_L1}:
        return Kind.GRID
    return Kind.TOWN


def _params(request: HttpRequest, user: Any) -> tuple[str, Period, str, str]:
    q = request.GET
    kind = q.get("kind") or _default_kind(user)
    if kind not in Kind.values:
        raise Refusal(_("Choose towns, villages, grids, departments or workers."), field="kind")
    period = period_of(q.get("month") or None, q.get("since") or None, q.get("until") or None)
    return kind, period, (q.get("grid") or "").strip(), (q.get("sort") or "score")[:40]


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    try:
        kind, period, grid_code, sort = _params(request, user)
    except Refusal as exc:
        ctx = {"error": exc.message, "error_field": exc.field, "kinds": _kinds(), "tab": "ranking"}
        return render(request, "assessment/ranking.html", ctx, status=422)
    table, grid = selectors.table(user, kind, period, grid_code, sort)
    base = {
        "kind": kind,
        "grid": grid_code,
        **(
            {"month": period.key}
            if period.single
            else {"since": f"{period.first:%Y-%m}", "until": f"{period.last:%Y-%m}"}
        ),
    }
    headers = [
        {
            "code": c.code,
            "label": c.label,
            "rate": c.is_rate,
            "url": "?" + _query(**base, sort=("-" + c.code) if sort == c.code else c.code),
            "sorted": sort.lstrip("-") == c.code,
        }
        for c in table.columns
    ]
    chart_rows = [r for r in table.rows if r.score is not None][:SORTS_SHOWN]
    chart = {
        "names": [r.name for r in chart_rows],
        "scores": [float(r.score) for r in chart_rows if r.score is not None],
        "marks": [r.mark for r in chart_rows],
        "title": str(_("Composite score (综合指标值)")),
        "trend": trend(selectors.scope(user, grid_code)[0], period.last),
    }
    rows = [
        {
            "row": r,
            "cells": [_display(r.values.get(c.code), c.is_rate) for c in table.columns],
            "score": "—" if r.score is None else f"{r.score:.2f}",
        }
        for r in table.rows
    ]
    total = {"cells": [_display(table.total.values.get(c.code), c.is_rate) for c in table.columns]}
    ctx = {
        "tab": "ranking",
        "kinds": _kinds(),
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "period": period,
        "month_value": f"{period.first:%Y-%m}",
        "until_value": f"{period.last:%Y-%m}" if not period.single else "",
        "grid": grid,
        "grid_code": grid_code,
        "table": table,
        "headers": headers,
        "rows": rows,
        "total": total,
        "score_url": "?" + _query(**base, sort="-score" if sort == "score" else "score"),
        "name_url": "?" + _query(**base, sort="name"),
        "sort": sort,
        "warnings": table.warnings,
        "chart": chart,
        "export_query": _query(**base),
        "configures": selectors.configures(user),
    }
    return render(request, "assessment/ranking.html", ctx)


def _display(value: Any, is_rate: bool) -> str:
    if is_rate:
        return percent_text(value)
    return "—" if value is None else str(value)


def _kinds() -> list[tuple[str, Any]]:
    return [(k.value, k.label) for k in Kind]


def _export(request: HttpRequest, fmt: str) -> HttpResponse:
    user = _reader(request)
    try:
        kind, period, grid_code, sort = _params(request, user)
    except Refusal as exc:
        return HttpResponse(str(exc.message), status=422, content_type="text/plain; charset=utf-8")
    table, grid = selectors.table(user, kind, period, grid_code, sort)
    scope_name = grid.name if grid is not None else str(_("all in scope"))
    if fmt == "xlsx":
        body, content_type = exports.xlsx(table, scope_name, user), exports.XLSX
    else:
        body, content_type = exports.pdf(table, scope_name, user), "application/pdf"
    atomic_record(
        "assessment.export",
        actor=user,
        data={"kind": kind, "period": period.key, "grid": grid_code, "format": fmt, "rows": len(table.rows)},
        ip=client_ip(request),
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(True, f"考核-{kind}-{period.key}.{fmt}") or ""
    )
    return response


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")


@login_required
def export_pdf(request: HttpRequest) -> HttpResponse:
    return _export(request, "pdf")


# ------------------------------------------------------------------------------------------ configuration


@login_required
@require_http_methods(["GET", "POST"])
def config(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    kind = request.POST.get("kind") or request.GET.get("kind") or Kind.TOWN
    if kind not in Kind.values:
        kind = Kind.TOWN
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("what") == "thresholds":
                services.do_set_thresholds(
                    kind,
                    request.POST.get("red_below", ""),
                    request.POST.get("yellow_below", ""),
                    actor=user,
                    ip=client_ip(request),
                )
            else:
                given = {code: request.POST.get(f"w_{code}", "0") or "0" for code in weightable(kind)}
                services.do_set_weights(kind, given, actor=user, ip=client_ip(request))
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('assessment:config')}?kind={kind}")
        except Refusal as exc:
            errors[exc.field or "form"] = str(exc.message)
            status = 403 if exc.status == 403 else 422
    weights = selectors.weights_of(kind)
    red, yellow = selectors.thresholds_of(kind)
    ctx = {
        "tab": "config",
        "kinds": _kinds(),
        "kind": kind,
        "rows": [
            {
                "code": c,
                "label": INDICATORS[c].label,
                "weight": request.POST.get(f"w_{c}") or weights.get(c, 0),
                "less": INDICATORS[c].less_is_better,
                "error": errors.get(c, ""),
            }
            for c in weightable(kind)
        ],
        "red": request.POST.get("red_below") or red,
        "yellow": request.POST.get("yellow_below") or yellow,
        "errors": errors,
        "configures": selectors.configures(user),
        "columns": COLUMNS[kind],
    }
    return render(request, "assessment/config.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def exclusions(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            services.do_exclude(
                request.POST.get("case", ""),
                request.POST.get("reason_kind", ""),
                request.POST.get("reason", ""),
                actor=user,
                ip=client_ip(request),
            )
            messages.success(request, _("The case is excluded from assessment."))
            return redirect("assessment:exclusions")
        except Refusal as exc:
            errors[exc.field or "form"] = str(exc.message)
            status = exc.status if exc.status in (403, 409) else 422
    ctx = {
        "tab": "exclusions",
        "rows": selectors.exclusions(user)[:200],
        "reasons": [
            (ExclusionReason.UNREASONABLE, ExclusionReason.UNREASONABLE.label),
            (ExclusionReason.REPEATED, ExclusionReason.REPEATED.label),
        ],
        "errors": errors,
        "form": request.POST,
        "excludes": selectors.excludes(user),
    }
    return render(request, "assessment/exclusions.html", ctx, status=status)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    try:
        services.do_revoke_exclusion(pk, actor=user, ip=client_ip(request))
        messages.success(request, _("The case counts again."))
    except Refusal as exc:
        messages.error(request, str(exc.message))
    return redirect("assessment:exclusions")


@login_required
@require_http_methods(["GET", "POST"])
def appeals(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            services.do_appeal(
                request.POST.get("case", ""),
                request.POST.get("reason", ""),
                actor=user,
                ip=client_ip(request),
            )
            messages.success(request, _("The appeal is filed."))
            return redirect("assessment:appeals")
        except Refusal as exc:
            errors[exc.field or "form"] = str(exc.message)
            status = exc.status if exc.status in (403, 409) else 422
    ctx = {
        "tab": "appeals",
        "rows": selectors.appeals(user)[:200],
        "errors": errors,
        "form": request.POST,
        "decides": selectors.configures(user),
    }
    return render(request, "assessment/appeals.html", ctx, status=status)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    try:
        services.do_decide_appeal(
            pk,
            request.POST.get("decision") == "accept",
            request.POST.get("note", ""),
            actor=user,
            ip=client_ip(request),
        )
        messages.success(request, _("The appeal is decided."))
    except Refusal as exc:
        messages.error(request, str(exc.message))
    return redirect("assessment:appeals")
