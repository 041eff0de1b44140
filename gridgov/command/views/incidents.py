"""The pages of hotspots and emergencies (突发事件).

Hotspots: the list of the user's scope (sortable by cases or by the last case), and a hotspot's page with its
cases on a map coloured by age, a chart of cases per week, its history and the root-cause form of the
department. Emergencies: the list, the declaration form, the incident's page (affected grids, the dispatched
departments with their tasks and their answers, the timeline, the forms of the command centre: dispatch,
broadcast, close with a report) and the printable closing report.

Every read goes through `visible_to` (out of scope is 404); every change goes through the services, whose
refusals are shown next to the field they name and change nothing; a step taken sends the user back to the page
(post/redirect/get) with a message."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridgov.core.audit import client_ip
from gridgov.core.errors import Refusal
from gridgov.core.scoping import visible_to

from .. import hotspots as hotspot_services
from .. import incidents_services as services
from ..incidents_scoping import (
    acts_on_hotspot,
    command_paths,
    commands,
    declares,
    reads_hotspots,
    reads_incidents,
    unit_departments,
)
from ..models import (
    DispatchState,
    Hotspot,
    HotspotCase,
    HotspotStatus,
    Incident,
    IncidentDispatch,
    IncidentEvent,
    IncidentGrid,
    IncidentKind,
    IncidentLevel,
    IncidentState,
)

PAGE_SIZE = 50
MAP_CASES = 500  # the most recent cases of a hotspot drawn on its map
DISPATCH_ROWS = 4  # department rows of the dispatch form
CLOSE_NUMBERS = ("deaths", "injuries", "missing", "affected_people", "relocated_people", "direct_loss")
SORTS = {"count": ("-case_count", "-last_seen"), "recent": ("-last_seen", "-case_count")}
# Age bands of a hotspot's cases on its map: (days, colour, label).
AGE_BANDS = (
    (7, "#c8102e", gettext_lazy("this week")),
    (30, "#e07b00", gettext_lazy("this month")),
    (90, "#e0b400", gettext_lazy("last 3 months")),
    (None, "#8a96a3", gettext_lazy("older")),
)
LEVEL_COLOURS = {1: "#7a0019", 2: "#c8102e", 3: "#e07b00", 4: "#1f5fbf"}


def _page(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, template, ctx, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _map_config() -> dict[str, Any]:
    return {"tileUrl": settings.TILE_URL, "tileAttribution": settings.TILE_ATTRIBUTION}


# ---------------------------------------------------------------------------------------------- hotspots


@login_required
@require_GET
def hotspot_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not reads_hotspots(user):
        raise Http404
    sort = request.GET.get("sort", "count")
    if sort not in SORTS:
        sort = "count"
    status = request.GET.get("status", "open")
    qs = visible_to(user, Hotspot).select_related("item", "department", "grid")
    if status == "open":
        qs = qs.exclude(status=HotspotStatus.RESOLVED)
    elif status in HotspotStatus.values:
        qs = qs.filter(status=status)
    else:
        status = "all"
    rows = list(qs.order_by(*SORTS[sort], "-id")[:PAGE_SIZE])
    statuses = [
        ("open", pgettext("hotspot", "open")),
        *[(v, str(lab)) for v, lab in HotspotStatus.choices],
        ("all", _("all")),
    ]
    return _page(
        request,
        "command/hotspots.html",
        {"rows": rows, "sort": sort, "status": status, "statuses": statuses, "limit": PAGE_SIZE},
    )


def _hotspot_cases(hotspot: Hotspot) -> list[dict[str, Any]]:
    from gridgov.cases.choices import State as CaseState
    from gridgov.cases.models import Case

    ids = HotspotCase.objects.filter(hotspot=hotspot).values("case_id")
    rows = (
        Case.objects.filter(pk__in=ids)
        .order_by("-created_at")
        .values("pk", "number", "lat", "lon", "created_at", "state")[:MAP_CASES]
    )
    states = dict(CaseState.choices)
    return [{**r, "state_label": states.get(r["state"], r["state"])} for r in rows]


def _age_band(days: float) -> int:
    for n, (limit, _colour, _label) in enumerate(AGE_BANDS):
        if limit is None or days < limit:
            return n
    return len(AGE_BANDS) - 1


def _weeks(created: list[dt.datetime]) -> tuple[list[str], list[int]]:
    """Cases per week (Monday, local time), every week from the first to the last."""
    if not created:
        return [], []
    mondays: Counter[dt.date] = Counter()
    for at in created:
        day = timezone.localtime(at).date()
        mondays[day - dt.timedelta(days=day.weekday())] += 1
    first, last = min(mondays), max(mondays)
    labels, counts = [], []
    week = first
    while week <= last:
        labels.append(week.strftime("%m-%d"))
        counts.append(mondays.get(week, 0))
        week += dt.timedelta(days=7)
    return labels, counts


def _hotspot(user: Any, pk: int) -> Hotspot:
    try:
        return hotspot_services.hotspot_for(user, pk)
    except Refusal as exc:
        raise Http404 from exc


@login_required
@require_GET
def hotspot_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _hotspot_page(request, pk, {})


def _hotspot_page(
    request: HttpRequest,
    pk: int,
    errors: dict[str, str],
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user: Any = request.user
    if not reads_hotspots(user):
        raise Http404
    hotspot = _hotspot(user, pk)
    cases = _hotspot_cases(hotspot)
    now = timezone.now()
    points = []
    for c in cases:
        if c["lat"] is None:
            continue
        days = (now - c["created_at"]).total_seconds() / 86400
        points.append(
            {
                "lat": c["lat"],
                "lon": c["lon"],
                "number": c["number"],
                "band": _age_band(days),
                "at": timezone.localtime(c["created_at"]).strftime("%Y-%m-%d %H:%M"),
            }
        )
    labels, counts = _weeks([c["created_at"] for c in cases])
    grid_path = hotspot.grid.path if hotspot.grid_id else ""
    config = {
        **_map_config(),
        "centre": [hotspot.lat, hotspot.lon],
        "radius": hotspot.radius_m,
        "points": points,
        "bands": [{"colour": colour, "label": str(label)} for _d, colour, label in AGE_BANDS],
        "weeks": labels,
        "counts": counts,
        "text": {"cases": _("Cases"), "week": _("Week of"), "chart": _("Cases per week")},
    }
    events = list(hotspot.events.select_related("actor").order_by("-id"))
    shown = cases[:50]
    from gridgov.cases.models import Case

    # Link only the cases the user may open (a department sees its hotspots, not every case in them).
    openable = set(
        visible_to(user, Case).filter(pk__in=[c["pk"] for c in shown]).values_list("pk", flat=True)
    )
    shown = [{**c, "link": c["pk"] in openable} for c in shown]
    return _page(
        request,
        "command/hotspot.html",
        {
            "h": hotspot,
            "cases": shown,
            "total_shown": len(cases),
            "events": events,
            "config": config,
            "bands": config["bands"],
            "may_act": acts_on_hotspot(user, hotspot, grid_path),
            "errors": errors,
            "values": values or {},
            "Status": HotspotStatus,
        },
        status=status,
    )


@login_required
@require_POST
def hotspot_step(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    if not reads_hotspots(user):
        raise Http404
    _hotspot(user, pk)
    step = request.POST.get("step", "")
    functions: dict[str, Callable[..., Any]] = {
        "take": hotspot_services.do_take,
        "note": hotspot_services.do_note,
        "resolve": hotspot_services.do_resolve,
    }
    if step not in functions:
        raise Http404
    values = {"root_cause": request.POST.get("root_cause", ""), "measures": request.POST.get("measures", "")}
    try:
        functions[step](pk, actor=user, ip=client_ip(request), **values)
    except Refusal as exc:
        if exc.status == 404:
            raise Http404 from exc
        return _hotspot_page(request, pk, {exc.field or "form": str(exc)}, values, status=exc.status)
    messages.success(request, _("The hotspot was brought up to date."))
    return HttpResponseRedirect(reverse("command:hotspot", args=[pk]))


# ---------------------------------------------------------------------------------------------- incidents


@login_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not reads_incidents(user):
        raise Http404
    state = request.GET.get("state", "open")
    qs = visible_to(user, Incident).select_related("grid")
    if state in IncidentState.values:
        qs = qs.filter(state=state)
    else:
        state = "all"
    rows = list(qs.order_by("-declared_at", "-id")[:PAGE_SIZE])
    mine = set()
    departments = unit_departments(user)
    if departments:
        mine = set(
            IncidentDispatch.objects.filter(incident__in=[r.pk for r in rows], department_id__in=departments)
            .exclude(state=DispatchState.DONE)
            .values_list("incident_id", flat=True)
        )
    states = [(v, str(lab)) for v, lab in IncidentState.choices] + [("all", _("all"))]
    return _page(
        request,
        "command/incidents.html",
        {
            "rows": rows,
            "state": state,
            "states": states,
            "mine": mine,
            "may_declare": declares(user),
            "level_colours": LEVEL_COLOURS,
        },
    )


def _declare_context(user: Any, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    from gridgov.grids.models import Grid

    # The grids offered: the towns and villages under the user's command (a code typed names any other).
    paths = command_paths(user)
    options = []
    if paths:
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path__startswith=p)
        options = list(
            Grid.objects.current()
            .filter(q, level__in=[1, 2])
            .order_by("path")
            .only("id", "code", "name", "level")[:400]
        )
    return {
        "values": values,
        "errors": errors,
        "kinds": IncidentKind.choices,
        "levels": IncidentLevel.choices,
        "grid_options": options,
        "chosen": set(values.get("grids", [])),
    }


@login_required
@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not declares(user):
        raise Http404
    if request.method == "GET":
        return _page(request, "command/incident_new.html", _declare_context(user, {"level": "4"}, {}))
    post = request.POST
    grids = [c for c in post.getlist("grids") if c] + [
        c for c in post.get("grid_codes", "").replace(",", " ").split() if c
    ]
    values: dict[str, Any] = {
        k: post.get(k, "")
        for k in ("kind", "level", "title", "description", "place", "lon", "lat", "grid_codes")
    }
    values["grids"] = grids
    try:
        incident = services.do_declare(
            actor=user,
            kind=values["kind"],
            level=values["level"],
            title=values["title"],
            description=values["description"],
            place=values["place"],
            grids=grids,
            lon=values["lon"] or None,
            lat=values["lat"] or None,
            ip=client_ip(request),
        )
    except Refusal as exc:
        ctx = _declare_context(user, values, {exc.field or "form": str(exc)})
        return _page(request, "command/incident_new.html", ctx, status=exc.status)
    messages.success(request, _("Emergency %(number)s declared.") % {"number": incident.number})
    return HttpResponseRedirect(reverse("command:incident", args=[incident.number]))


def _incident(user: Any, number: str) -> Incident:
    try:
        return services.incident_for(user, number)
    except Refusal as exc:
        raise Http404 from exc


def _incident_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    from gridgov.catalog.models import Department

    user: Any = request.user
    affected = list(IncidentGrid.objects.filter(incident=incident).select_related("grid").order_by("path"))
    paths = [a.path for a in affected]
    dispatches = list(incident.dispatches.select_related("department").order_by("id"))
    events = list(
        IncidentEvent.objects.filter(incident=incident).select_related("actor", "department").order_by("id")
    )
    mine = unit_departments(user)
    is_commander = commands(user, paths)
    dispatched = {d.department_id for d in dispatches}
    return {
        "i": incident,
        "affected": affected,
        "dispatches": dispatches,
        "events": events,
        "mine": mine,
        "is_commander": is_commander,
        "is_open": incident.state == IncidentState.OPEN,
        "departments": list(
            Department.objects.filter(active=True).exclude(pk__in=dispatched).order_by("code")
        )
        if is_commander
        else [],
        "dispatch_rows": range(DISPATCH_ROWS),
        "level_colour": LEVEL_COLOURS.get(incident.level, "#1f5fbf"),
        "DispatchState": DispatchState,
        "errors": {},
        "values": {},
        "open_form": "",
        "close_numbers": [(name, services.FIELD_LABELS[name]) for name in CLOSE_NUMBERS],
        "map_config": {
            **_map_config(),
            "point": [incident.lat, incident.lon] if incident.lat is not None else None,
            "grids": [a.grid.geometry for a in affected if a.grid.geometry],
        },
    }


@login_required
@require_GET
def incident_page(request: HttpRequest, number: str) -> HttpResponse:
    user: Any = request.user
    if not reads_incidents(user):
        raise Http404
    incident = _incident(user, number)
    return _page(request, "command/incident.html", _incident_context(request, incident))


def _refused(
    request: HttpRequest, incident: Incident, exc: Refusal, form: str, values: dict[str, Any]
) -> HttpResponse:
    if exc.status == 404:
        raise Http404 from exc
    ctx = _incident_context(request, incident)
    ctx.update(errors={exc.field or "form": str(exc)}, values=values, open_form=form)
    return _page(request, "command/incident.html", ctx, status=exc.status)


@login_required
@require_POST
def incident_step(request: HttpRequest, number: str, step: str) -> HttpResponse:
    """The command centre's steps: dispatch, broadcast, close."""
    user: Any = request.user
    if not reads_incidents(user):
        raise Http404
    incident = _incident(user, number)
    post = request.POST
    values: dict[str, Any] = dict(post.items())
    ip = client_ip(request)
    try:
        if step == "dispatch":
            specs = []
            for n in range(DISPATCH_ROWS):
                department = post.get(f"department_{n}", "").strip()
                task = post.get(f"task_{n}", "")
                if department:
                    specs.append((department, task or post.get("task_all", "")))
            made = services.do_dispatch(incident.pk, actor=user, departments=specs, ip=ip)
            messages.success(request, _("%(n)d departments dispatched.") % {"n": len(made)})
        elif step == "broadcast":
            told = services.do_broadcast(incident.pk, actor=user, message=post.get("message", ""), ip=ip)
            messages.success(request, _("Sent to %(n)d grid workers.") % {"n": told})
        elif step == "close":
            services.do_close(
                incident.pk,
                actor=user,
                **{
                    k: post.get(k, "")
                    for k in (
                        "summary",
                        "cause",
                        "measures",
                        "deaths",
                        "injuries",
                        "missing",
                        "affected_people",
                        "relocated_people",
                        "direct_loss",
                    )
                },
                ip=ip,
            )
            messages.success(request, _("The emergency is closed."))
        else:
            raise Http404
    except Refusal as exc:
        return _refused(request, incident, exc, step, values)
    return HttpResponseRedirect(reverse("command:incident", args=[incident.number]))


@login_required
@require_POST
def dispatch_step(request: HttpRequest, number: str, dispatch_id: int, step: str) -> HttpResponse:
    """A department's answers to its task: acknowledge, progress, done."""
    user: Any = request.user
    if not reads_incidents(user):
        raise Http404
    incident = _incident(user, number)
    if not IncidentDispatch.objects.filter(pk=dispatch_id, incident=incident).exists():
        raise Http404
    functions = {
        "acknowledge": services.do_acknowledge,
        "progress": services.do_progress,
        "done": services.do_finish,
    }
    if step not in functions:
        raise Http404
    note = request.POST.get("note", "")
    try:
        functions[step](dispatch_id, actor=user, note=note, ip=client_ip(request))
    except Refusal as exc:
        return _refused(request, incident, exc, f"d{dispatch_id}-{step}", {"note": note})
    messages.success(request, _("Your department's answer was recorded."))
    return HttpResponseRedirect(
        reverse("command:incident", args=[incident.number]) + f"#dispatch-{dispatch_id}"
    )


@login_required
@require_GET
def incident_report(request: HttpRequest, number: str) -> HttpResponse:
    """The printable report of a closed emergency (总结报告)."""
    user: Any = request.user
    if not reads_incidents(user):
        raise Http404
    incident = _incident(user, number)
    if incident.state != IncidentState.CLOSED:
        raise Http404
    ctx = _incident_context(request, incident)
    ctx["printed_at"] = timezone.now()
    return _page(request, "command/incident_report.html", ctx)


urlpatterns: list[URLPattern] = [
    path("hotspots/", hotspot_list, name="hotspots"),
    path("hotspots/<int:pk>/", hotspot_page, name="hotspot"),
    path("hotspots/<int:pk>/step/", hotspot_step, name="hotspot_step"),
    path("incidents/", incident_list, name="incidents"),
    path("incidents/new/", incident_new, name="incident_new"),
    path("incidents/<str:number>/", incident_page, name="incident"),
    path("incidents/<str:number>/report/", incident_report, name="incident_report"),
    path(
        "incidents/<str:number>/dispatches/<int:dispatch_id>/<str:step>/", dispatch_step, name="dispatch_step"
    ),
    path("incidents/<str:number>/<str:step>/", incident_step, name="incident_step"),
]


def register() -> None:
    """Called from CommandConfig.ready(): the scoping rules, the navigation's links and the inbox's kinds."""
    from gridgov.cases.notify import provide_kind

    from .. import incidents_scoping  # noqa: F401  (registers the scoping rules)

    def incident_link(data: dict[str, Any]) -> str:
        return reverse("command:incident", args=[data["number"]])

    provide_kind(
        "incident_dispatch",
        gettext_lazy("Emergency %(number)s (%(title)s): your department is dispatched: %(task)s"),
        incident_link,
    )
    provide_kind(
        "incident_broadcast",
        gettext_lazy("Emergency %(number)s (%(title)s): %(message)s"),
        incident_link,
    )
