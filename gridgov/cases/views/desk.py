"""The operators' desk: intake of phone and walk-in reports (with a map picker and an item search by name or
pinyin), batch dispatch, the merge tool; and the subtree overview for grid heads, leaders and operators.

No business logic: the pages parse, call `cases.services` (which refuses with a message naming the field)
and `cases.selectors` / `cases.overview` (scoped reads), and render. The desk pages answer 404 to anyone who
is not a command-centre operator, like every page outside a user's scope."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gridgov.accounts.choices import Role
from gridgov.catalog.models import Department, Item
from gridgov.catalog.selectors import active_item, find_items, lead_department_id
from gridgov.core.audit import client_ip
from gridgov.grids.locator import locate
from gridgov.grids.models import Grid

from .. import overview as ov
from .. import selectors, services, triage
from ..choices import OPEN_STATES, Action, State
from ..desk_forms import IntakeForm, PeriodForm
from ..duplicates import distance_m, find_duplicates
from ..errors import CaseError, Duplicate
from ..models import Case
from ..scoping import Held, capacities, held_roles
from ..workflow import BY_ACTION, permits

# Fields of the intake form that the service's refusals may name; the others are shown above the form.
FORM_FIELDS = {
    "channel",
    "description",
    "item",
    "urgency",
    "lon",
    "lat",
    "grid",
    "address",
    "reporter_name",
    "reporter_phone",
    "photos",
}
SERVICE_FIELD = {"files": "photos", "location": "lon", "crs": "lon"}
BATCH_LIMIT = 100
EXCERPT = 80
# The merge tool looks wider than intake's duplicate check: the operator judges.
MERGE_RADIUS_M = 300.0
MERGE_WINDOW_HOURS = 24 * 14
MERGE_CANDIDATES = 20


# ---------------------------------------------------------------------------------------------- helpers


def _operator_roles(request: HttpRequest) -> list[Held]:
    """The user's command-centre assignments; anyone else gets 404 (the desk does not exist for them)."""
    held = [h for h in held_roles(request.user) if h.role == Role.OPERATOR and h.grid_id]
    if not held:
        raise Http404
    return held


def _covers(held: list[Held], l_ids: dict[int, int | None]) -> bool:
    """Whether one of the centres holds a place whose level-1/2/3 grid ids are `l_ids`."""
    return any(
        h.grid_level == 0 or (h.grid_level in l_ids and l_ids[h.grid_level] == h.grid_id) for h in held
    )


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _numbers(request: HttpRequest) -> list[str]:
    """Case numbers from repeated `numbers` fields (or one field of numbers separated by commas/spaces)."""
    raw = request.POST.getlist("numbers") if request.method == "POST" else request.GET.getlist("numbers")
    seen: dict[str, None] = {}
    for value in raw:
        for number in re.split(r"[\s,，]+", value):
            if number and len(number) <= 20:
                seen.setdefault(number, None)
    return list(seen)[:BATCH_LIMIT]


def _may(user: Any, case: Case, action: str) -> bool:
    """The transition table's answer for an operator's action on a case in the reported/registered states,
    where no unit holds the case (no active assignment: one query fewer per row than `allowed_actions`)."""
    caps = capacities(user, case, case.grid.path, [])
    return permits(BY_ACTION[action], caps, case.state, case.level)


def _visible(user: Any, case: Case) -> bool:
    return selectors.visible_cases(user).filter(pk=case.pk).exists()


def _to_case(request: HttpRequest, case: Case) -> HttpResponse:
    if _visible(request.user, case):
        return redirect("cases:detail", number=case.number)
    # A caller joined a case of a neighbouring centre: say its number, stay at the desk.
    return redirect("cases:new")


# ---------------------------------------------------------------------------------------------- intake


@dataclass
class Offer:
    """A case already reported nearby, offered instead of a new one."""

    case: Case
    distance_m: float
    excerpt: str
    visible: bool


def _map_config(request: HttpRequest, held: list[Held]) -> dict[str, Any]:
    ids = sorted({h.grid_id for h in held if h.grid_id})
    boxes = Grid.objects.filter(pk__in=ids).values_list("min_lon", "min_lat", "max_lon", "max_lat")
    known: list[tuple[float, float, float, float]] = [b for b in boxes if None not in b]  # type: ignore[misc]
    bbox = (
        [
            min(b[0] for b in known),
            min(b[1] for b in known),
            max(b[2] for b in known),
            max(b[3] for b in known),
        ]
        if known
        else None
    )
    return {
        "api": reverse("api:grid_start").removesuffix("start"),
        "roots": ids,
        "bbox": bbox,
        "locate": reverse("cases:locate"),
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "text": {
            "picked": _("Point set: %(trail)s"),
            "outside": _("This place lies outside the county's grids."),
            "notYours": _("This place lies in %(trail)s, outside your centre's grids."),
            "failed": _("The map data could not be loaded; give a grid code or an address instead."),
            "cleared": _("No point set."),
        },
    }


def _place_error(form: IntakeForm, held: list[Held]) -> str | None:
    """Refuse a place outside the operator's centre before the service: the case would vanish from view."""
    data = form.cleaned_data
    if data.get("lon") is not None and data.get("lat") is not None:
        where = locate(data["lon"], data["lat"])
        if where.outside:
            return _("This place lies outside the county's grids.")
        if not _covers(held, {1: where.l1_id, 2: where.l2_id, 3: where.l3_id}):
            return _("This place lies in %(grid)s, outside your centre's grids.") % {"grid": where.name}
        return None
    code = (data.get("grid") or "").strip()
    if code:
        grid = Grid.objects.current().filter(code=code).defer("geometry").first()
        if grid is None or not _covers(held, {1: grid.l1_id, 2: grid.l2_id, 3: grid.l3_id}):
            form.add_error("grid", _("No grid of your centre has the code %(code)s.") % {"code": code})
    return None


def _report(form: IntakeForm, held: list[Held], force: bool) -> services.Report:
    data = form.cleaned_data
    grid = (data.get("grid") or "").strip() or None
    has_point = data.get("lon") is not None and data.get("lat") is not None
    if not has_point and grid is None and all(h.grid_level for h in held):
        # An address alone: a town's centre keeps it in its town (the county would take it out of its view).
        top = min(held, key=lambda h: (h.grid_level or 0, h.grid_id or 0))
        grid = Grid.objects.filter(pk=top.grid_id or 0).values_list("code", flat=True).first()
    return services.Report(
        channel=data["channel"],
        description=data["description"],
        item=data.get("item") or None,
        urgency=data.get("urgency") or None,
        lon=data.get("lon") if has_point else None,
        lat=data.get("lat") if has_point else None,
        grid=grid,
        address=data.get("address") or "",
        reporter_name=data.get("reporter_name") or "",
        reporter_phone=data.get("reporter_phone") or "",
        confidential=bool(data.get("confidential")),
        idempotency_key=data["idempotency_key"],
        files=data.get("photos") or [],
        force=force,
    )


def _offers(user: Any, exc: Duplicate) -> list[Offer]:
    found = exc.data.get("candidates", [])
    seen = set(
        selectors.visible_cases(user).filter(pk__in=[c.case.pk for c in found]).values_list("pk", flat=True)
    )
    return [
        Offer(c.case, round(c.distance_m), _excerpt(c.case.description), c.case.pk in seen) for c in found
    ]


def _me_too(request: HttpRequest, form: IntakeForm, held: list[Held], number: str) -> HttpResponse | None:
    """The caller's report is the same as an open case nearby: add the caller (by phone) to its supporters.
    Only a case that intake itself would offer (same item, near, recent), or one the operator sees."""
    data = form.cleaned_data
    item = active_item(data.get("item") or "")
    case = Case.objects.filter(number=number, state__in=OPEN_STATES).first()
    if case is None:
        form.add_error(None, _("Case %(number)s is no longer open.") % {"number": number})
        return None
    offered = (
        item is not None
        and data.get("lon") is not None
        and data.get("lat") is not None
        and any(
            c.case.pk == case.pk for c in find_duplicates(item.pk, data["lon"], data["lat"], timezone.now())
        )
    )
    if not (offered or _visible(request.user, case)):
        raise Http404
    try:
        phone = services.normalise_phone(data.get("reporter_phone") or "")
        result = services.do_me_too(
            case,
            actor=None,
            phone=phone,
            channel=data["channel"],
            taken_by=request.user,
            ip=client_ip(request),
        )
    except CaseError as exc:
        form.add_error(
            "reporter_phone" if exc.field in ("phone", "reporter_phone") else None, str(exc.message)
        )
        return None
    messages.success(
        request,
        _("The caller now follows case %(number)s and will be told of its progress.")
        % {"number": result.case.number},
    )
    return _to_case(request, result.case)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Intake of a phone call or a walk-in report, by a command-centre operator."""
    held = _operator_roles(request)
    offers: list[Offer] = []
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES)
        if form.is_valid():
            place_error = _place_error(form, held)
            if place_error:
                form.add_error("lon", place_error)
        if form.is_valid():
            me_too = request.POST.get("me_too", "").strip()
            if me_too:
                answer = _me_too(request, form, held, me_too)
                if answer is not None:
                    return answer
            else:
                try:
                    result = services.do_report(
                        _report(form, held, force=request.POST.get("force") == "1"),
                        actor=request.user,
                        ip=client_ip(request),
                    )
                except Duplicate as exc:
                    offers = _offers(request.user, exc)
                except CaseError as exc:
                    name = SERVICE_FIELD.get(exc.field, exc.field)
                    form.add_error(name if name in FORM_FIELDS else None, str(exc.message))
                else:
                    if result.created:
                        messages.success(
                            request, _("Case %(number)s is reported.") % {"number": result.case.number}
                        )
                    else:
                        messages.info(
                            request,
                            _("This report was already recorded as case %(number)s.")
                            % {"number": result.case.number},
                        )
                    return _to_case(request, result.case)
    else:
        form = IntakeForm(initial={"idempotency_key": f"desk-{uuid.uuid4().hex}"})
    code = (form["item"].value() or "").strip()
    chosen = active_item(code) if code else None
    return render(
        request,
        "cases/new.html",
        {
            "form": form,
            "offers": offers,
            "chosen_item": chosen,
            "map_config": _map_config(request, held),
            "photos_dropped": bool(offers and request.FILES),
        },
    )


@login_required
@require_GET
def item_search(request: HttpRequest) -> HttpResponse:
    """htmx: items matching `q` (name, code, pinyin), or triage's suggestions for the description `text`."""
    _operator_roles(request)
    q = request.GET.get("q", "")[:40]
    text = (request.GET.get("text") or request.GET.get("description") or "")[:500]
    hits: list[tuple[Item, str, int | None]]
    if q.strip():
        hits = [(h.item, h.keyword, None) for h in find_items(request.user, q, limit=8)]
        mode = "search"
    else:
        ranked = triage.suggest(text, limit=3) if text.strip() else []
        items = {i.pk: i for i in Item.objects.filter(pk__in=[s.item_id for s in ranked])}
        hits = [(items[s.item_id], "", round(s.confidence * 100)) for s in ranked if s.item_id in items]
        mode = "triage"
    return render(request, "cases/_desk_items.html", {"hits": hits, "mode": mode, "q": q})


@login_required
@require_GET
def locate_point(request: HttpRequest) -> JsonResponse:
    """The map picker: which grid a clicked point (WGS-84) falls in, and whether it is the centre's."""
    held = _operator_roles(request)
    try:
        lon, lat = float(request.GET.get("lon", "")), float(request.GET.get("lat", ""))
    except ValueError:
        return JsonResponse({"inside": False, "message": _("Give both longitude and latitude.")}, status=400)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return JsonResponse({"inside": False, "message": _("Give both longitude and latitude.")}, status=400)
    where = locate(lon, lat)
    if where.outside:
        return JsonResponse({"inside": False, "message": _("This place lies outside the county's grids.")})
    names = dict(Grid.objects.filter(pk__in=where.ancestor_ids).values_list("pk", "name"))
    trail = " › ".join([*(names[i] for i in where.ancestor_ids if i in names), where.name])
    mine = _covers(held, {1: where.l1_id, 2: where.l2_id, 3: where.l3_id})
    return JsonResponse(
        {
            "inside": True,
            "mine": mine,
            "code": where.code,
            "name": where.name,
            "trail": trail,
            "message": (
                _("Point set: %(trail)s")
                if mine
                else _("This place lies in %(trail)s, outside your centre's grids.")
            )
            % {"trail": trail},
        }
    )


# ---------------------------------------------------------------------------------------------- batch dispatch


@dataclass
class Row:
    case: Case
    suggested: str  # department code
    excerpt: str


@dataclass
class Outcome:
    number: str
    done: bool
    message: str
    unit: str = ""


@login_required
@require_http_methods(["GET", "POST"])
def batch_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch several registered cases at once, each to its own lead unit (routing's suggestion first)."""
    _operator_roles(request)
    user = request.user
    if request.method == "POST" and request.POST.get("dispatch") == "1":
        outcomes: list[Outcome] = []
        for number in request.POST.getlist("number")[:BATCH_LIMIT]:
            unit = request.POST.get(f"unit-{number}", "").strip()
            version = request.POST.get(f"version-{number}", "")
            if not unit:
                outcomes.append(Outcome(number, False, _("Choose the lead unit.")))
                continue
            try:
                services.do_transition(
                    number,
                    Action.DISPATCH,
                    services.Step(unit=unit, expected_version=int(version) if version.isdigit() else None),
                    actor=user,
                    ip=client_ip(request),
                )
            except CaseError as exc:
                outcomes.append(Outcome(number, False, str(exc.message), unit))
            else:
                outcomes.append(Outcome(number, True, "", unit))
        names = dict(
            Department.objects.filter(code__in=[o.unit for o in outcomes]).values_list("code", "name")
        )
        for o in outcomes:
            o.unit = names.get(o.unit, o.unit)
        return render(
            request,
            "cases/batch_dispatch.html",
            {
                "outcomes": outcomes,
                "done": sum(o.done for o in outcomes),
                "refused": sum(not o.done for o in outcomes),
            },
        )
    numbers = _numbers(request)
    found = {
        c.number: c
        for c in selectors.visible_cases(user)
        .filter(number__in=numbers)
        .select_related("item", "grid")
        .defer("grid__geometry")
    }
    departments = list(Department.objects.filter(active=True).order_by("code"))
    code_of = {d.pk: d.code for d in departments}
    rows: list[Row] = []
    left_out: list[tuple[str, str]] = []
    for number in numbers:
        case = found.get(number)
        if case is None:
            left_out.append((number, _("No such case in your view.")))
        elif not _may(user, case, Action.DISPATCH):
            left_out.append(
                (
                    number,
                    _("It is %(state)s: not yours to dispatch now.") % {"state": State(case.state).label},
                )
            )
        else:
            suggested = code_of.get(lead_department_id(case.item, case.grid), "") if case.item else ""
            rows.append(Row(case, suggested, _excerpt(case.description)))
    return render(
        request,
        "cases/batch_dispatch.html",
        {"rows": rows, "left_out": left_out, "departments": departments, "asked": bool(numbers)},
    )


# ---------------------------------------------------------------------------------------------- merge


@dataclass
class Candidate:
    case: Case
    distance_m: float | None
    excerpt: str


def _merge_candidates(user: Any, case: Case) -> list[Candidate]:
    """Open cases that may be the same: of the same item near the point (wider than intake's check), and
    of the same item in the same level-3 grid; visible to the operator, nearest first."""
    now = timezone.now()
    ids: dict[int, float | None] = {}
    if case.item_id and case.lon is not None and case.lat is not None:
        for c in find_duplicates(
            case.item_id, case.lon, case.lat, now, radius_m=MERGE_RADIUS_M, hours=MERGE_WINDOW_HOURS
        ):
            ids[c.case.pk] = c.distance_m
    qs = selectors.visible_cases(user).filter(state__in=OPEN_STATES).exclude(pk=case.pk)
    if case.item_id and case.grid_l3_id:
        same_grid = qs.filter(grid_l3_id=case.grid_l3_id, item_id=case.item_id).order_by("-id")
        for pk in same_grid.values_list("pk", flat=True)[:MERGE_CANDIDATES]:
            ids.setdefault(pk, None)
    rows = qs.filter(pk__in=list(ids)).select_related("item", "grid").defer("grid__geometry")
    out = []
    for other in rows:
        far = ids[other.pk]
        points = (case.lon, case.lat, other.lon, other.lat)
        if far is None and all(x is not None for x in points):
            far = distance_m(*points)  # type: ignore[arg-type]
        out.append(Candidate(other, None if far is None else round(far), _excerpt(other.description)))
    out.sort(key=lambda x: (x.distance_m is None, x.distance_m or 0, -x.case.pk))
    return out[:MERGE_CANDIDATES]


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest) -> HttpResponse:
    """Merge a case into the open case it duplicates (并案), after comparing both side by side."""
    _operator_roles(request)
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    number = source.get("number", "").strip()
    if not number:
        return render(request, "cases/merge.html", {"case": None})
    case = selectors.get_case(user, number)
    error = ""
    into_number = source.get("into", "").strip()
    if request.method == "POST":
        version = request.POST.get("version", "")
        try:
            services.do_transition(
                case.number,
                Action.MERGE,
                services.Step(into=into_number, expected_version=int(version) if version.isdigit() else None),
                actor=user,
                ip=client_ip(request),
            )
        except CaseError as exc:
            error = str(exc.message)
        else:
            messages.success(
                request,
                _("Case %(number)s is merged into %(into)s; its reporter follows %(into)s now.")
                % {"number": case.number, "into": into_number},
            )
            return redirect("cases:detail", number=into_number)
    may_merge = _may(user, case, Action.MERGE)
    target = None
    if into_number:
        target = (
            selectors.visible_cases(user)
            .filter(number=into_number)
            .select_related("item", "grid")
            .defer("grid__geometry")
            .first()
        )
        if target is None and not error:
            error = _("Choose another case that you can see to merge into.")
    return render(
        request,
        "cases/merge.html",
        {
            "case": case,
            "may_merge": may_merge,
            "candidates": _merge_candidates(user, case) if may_merge else [],
            "target": target,
            "target_open": target is not None and target.state in OPEN_STATES and target.pk != case.pk,
            "error": error,
            "into": into_number,
        },
    )


# ---------------------------------------------------------------------------------------------- overview


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The subtree at a glance: per child grid, open, overdue, supervised, reported and resolved where."""
    user = request.user
    tops = ov.roots(user)
    if not tops:
        raise Http404
    code = request.GET.get("grid", "").strip()
    if code:
        grid = Grid.objects.current().filter(code=code).defer("geometry").first()
        if grid is None or not ov.may_overview(user, grid, tops):
            raise Http404
    else:
        grid = tops[0]
    form = PeriodForm(request.GET)
    key = form.cleaned_data.get("period") if form.is_valid() else ""
    period = ov.period_of(key or ov.DEFAULT_PERIOD)
    now = timezone.now()
    data = ov.build(user, grid, period, now)
    for c in data.supervised:
        c.deadline_colour = selectors.colour(c, now)  # type: ignore[attr-defined]
    return render(
        request,
        "cases/overview.html",
        {
            "ov": data,
            "form": form,
            "trail": ov.trail(grid, tops),
            "tops": tops if len(tops) > 1 else [],
            "period_key": period.key,
        },
    )


urlpatterns: list = []
urlpatterns += [
    path("new/", new, name="new"),
    path("new/items/", item_search, name="item_search"),
    path("new/locate/", locate_point, name="locate"),
    path("dispatch/", batch_dispatch, name="batch_dispatch"),
    path("merge/", merge, name="merge"),
    path("overview/", overview, name="overview"),
]
