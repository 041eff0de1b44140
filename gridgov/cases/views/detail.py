"""The case page: the whole story of one case (`cases.story`, shared with the API) and the forms of the actions
its reader may take now (`services.allowed_actions`).

A form posts to `cases:act`; the case engine takes the step or refuses it. A refusal is shown next to the field
it names and changes nothing; a page that is out of date (somebody acted first) is shown again as the case is
now; a step taken sends the user back to the page (post/redirect/get) with a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from gridgov.catalog.models import Department, Item, Stage
from gridgov.catalog.selectors import route
from gridgov.core.audit import client_ip
from gridgov.core.nav import case_links, case_panels

from .. import selectors, services, story
from ..choices import Action, Card, EvidencePhase, ExtensionState, Level, Rating, State
from ..errors import CaseError, Conflict
from ..forms import Options, action_form
from ..models import Case
from ..scoping import staff_roles
from ..workflow import BY_ACTION

# Event details worth a word on the timeline (the rest is in the event's note).
SHOWN_DATA = (
    "unit",
    "assisting",
    "card",
    "rating",
    "minutes",
    "into",
    "merged",
    "item",
    "from_level",
    "to_level",
)
# Grids above level 2 are too big to draw around one point.
DRAWN_LEVELS = (2, 3)


@dataclass
class Attempt:
    """An action the user tried from the page: its input, and the engine's refusal if it refused."""

    action: str
    data: Any
    files: Any = None
    field: str = ""
    message: str = ""


# ------------------------------------------------------------------------------------------------- words


def span(minutes: int) -> str:
    """A length of time in words: “3 h 20 min”, “2 d 4 h”."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": mins} if mins else _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": mins}


def countdown(due: datetime | None, now: datetime) -> str:
    """“3 h 20 min left” / “2 h overdue” (wall-clock time to the running stage's deadline)."""
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    minutes = int(abs(seconds)) // 60
    if seconds >= 0:
        return _("%(time)s left") % {"time": span(minutes)}
    return _("%(time)s overdue") % {"time": span(minutes)}


def _texts() -> dict[str, str]:
    """The words the page's script writes (it holds none of its own)."""
    return {
        "left": _("%(time)s left"),
        "overdue": _("%(time)s overdue"),
        "dh": _("%(d)d d %(h)d h"),
        "hm": _("%(h)d h %(m)d min"),
        "h": _("%(h)d h"),
        "m": _("%(m)d min"),
        "close": _("Close"),
        "point": _("Where it was reported"),
    }


# ------------------------------------------------------------------------------------------------- the page


def _options(user: Any, case: Case, allowed: set[str], detail: Any) -> Options:
    """The choices the forms shown need, read only for those forms."""
    options = Options(staff=staff_roles(user), place_grid=case.grid.level < 3)
    if allowed & {Action.DISPATCH, Action.REASSIGN}:
        options.departments = [
            (d.code, f"{d.label} ({d.code})") for d in Department.objects.filter(active=True).order_by("code")
        ]
    if Action.ACCEPT in allowed:
        groups: dict[str, list[tuple[str, str]]] = {}
        for item in (
            Item.objects.filter(active=True).select_related("module").order_by("module__order", "code")
        ):
            groups.setdefault(item.module.label, []).append((item.code, f"{item.code} {item.label}"))
        options.items = list(groups.items())
    options.supervisions = [
        (s.id, f"{s.card_label} · {timezone.localtime(s.created_at):%m-%d %H:%M}")
        for s in detail.supervisions
    ]
    options.replies = bool(options.supervisions)
    return options


def _initial(case: Case, action: str, detail: Any, suggestion: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {"expected_version": case.version}
    if action in (Action.DISPATCH, Action.REASSIGN):
        initial.update(suggestion)
        if action == Action.REASSIGN:
            initial.pop("unit", None)  # another unit than the one holding it: the operator chooses
    elif action == Action.ACCEPT:
        initial.update(item=case.item.code if case.item else "", urgency=case.urgency)
    elif action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
        pending = next((x for x in detail.extensions if x.state == ExtensionState.PENDING), None)
        initial["extension"] = pending.id if pending else None
    elif action == Action.REQUEST_EXTENSION:
        initial["minutes_unit"] = "hours"
    elif action == Action.COMMENT:
        initial["public"] = "internal"
    return initial


def _suggestion(case: Case) -> dict[str, Any]:
    """The units routing names for the case's item in its grid: the lead and the assisting units."""
    if case.item is None:
        return {}
    r = route(case.item, case.grid)
    return {"unit": r.lead.code, "assisting": [d.code for d in r.assisting]}


def _map(case: Case) -> dict[str, Any] | None:
    grid = case.grid
    outline = None
    if grid.level in DRAWN_LEVELS and grid.geometry:
        shape = shapely.geometry.shape(grid.geometry).simplify(0.00002, preserve_topology=True)
        outline = shapely.geometry.mapping(shape)
    if case.lon is None and outline is None:
        return None
    return {
        "lon": case.lon,
        "lat": case.lat,
        "grid": outline,
        "gridName": grid.name,
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
    }


def _event_details(events: list[Any], names: dict[str, str]) -> dict[int, list[tuple[str, str]]]:
    """A few words per event from its recorded details (units by name)."""
    labels = {
        "unit": _("unit"),
        "assisting": _("assisting"),
        "card": _("card"),
        "rating": _("rating"),
        "minutes": _("extension"),
        "into": _("merged into"),
        "merged": _("merged here"),
        "item": _("item"),
        "from_level": _("from level"),
        "to_level": _("to level"),
    }
    out: dict[int, list[tuple[str, str]]] = {}
    for e in events:
        rows = []
        for key in SHOWN_DATA:
            value = e.data.get(key)
            if value in (None, "", []):
                continue
            if key == "unit":
                value = names.get(value, value)
            elif key == "assisting":
                value = "、".join(names.get(v, v) for v in value)
            elif key == "minutes":
                value = span(int(value))
            elif key == "card":
                value = story.label(Card, value)
            elif key == "rating":
                value = story.label(Rating, value)
            elif key in ("from_level", "to_level"):
                value = story.label(Level, value)
            rows.append((str(labels[key]), str(value)))
        if rows:
            out[e.seq] = rows
    return out


def render_case(
    request: HttpRequest,
    case: Case,
    *,
    attempt: Attempt | None = None,
    status: int = 200,
    notice: str = "",
    unmasked: Any = None,
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    detail = story.detail(user, case)
    allowed = {a.action for a in detail.actions}
    options = _options(user, case, allowed, detail)
    suggestion = _suggestion(case) if allowed & {Action.DISPATCH, Action.REASSIGN} else {}
    opened = attempt.action if attempt is not None else request.GET.get("act", "")
    forms = []
    for a in detail.actions:
        if attempt is not None and attempt.action == a.action:
            form = action_form(a.action, data=attempt.data, files=attempt.files, options=options)
            form.is_valid()
            if attempt.message:
                form.refuse(attempt.field, attempt.message)
            else:
                form.mark_errors()
        else:
            form = action_form(
                a.action, options=options, initial=_initial(case, a.action, detail, suggestion)
            )
            if a.action == opened:
                first = next(iter(form.visible()), None)
                if first is not None:
                    first.field.widget.attrs["autofocus"] = True
        forms.append({"action": a, "form": form, "open": a.action == opened})
    if attempt is not None and attempt.message and attempt.action not in allowed:
        notice = notice or attempt.message  # nothing to show it next to: the action is not open to the user
    codes = {e.data.get("unit") for e in detail.events if isinstance(e.data.get("unit"), str)}
    codes |= {c for e in detail.events for c in (e.data.get("assisting") or []) if isinstance(c, str)}
    names = {d.code: d.label for d in Department.objects.filter(code__in=codes)} if codes else {}
    details = _event_details(detail.events, names)
    replies: dict[int, list[Any]] = {}
    for c in detail.comments:
        if c.supervision is not None:
            replies.setdefault(c.supervision, []).append(c)
    merged_into = None
    if case.merged_into_id:
        target = Case.objects.filter(pk=case.merged_into_id).values_list("number", flat=True).first()
        visible = selectors.visible_cases(user).filter(pk=case.merged_into_id).exists()
        merged_into = {"number": target, "visible": visible}
    pending = next((x for x in detail.extensions if x.state == ExtensionState.PENDING), None)
    context = {
        "case": case,
        "d": detail,
        "level_label": story.label(Level, detail.level),
        "staff": options.staff,
        "now": now,
        "countdown": countdown(detail.due_at, now),
        "stage_label": story.label(Stage, case.stage) if case.stage else "",
        "forms": forms,
        "opened": opened,
        "notice": notice,
        "photos_before": [
            e for e in detail.evidence if e.phase in (EvidencePhase.REPORT, EvidencePhase.BEFORE)
        ],
        "photos_after": [e for e in detail.evidence if e.phase == EvidencePhase.AFTER],
        "photos_other": [e for e in detail.evidence if e.phase == EvidencePhase.OTHER],
        "conversation": [c for c in detail.comments if c.public and c.supervision is None],
        "notes": [c for c in detail.comments if not c.public and c.supervision is None],
        "threads": [{"s": s, "replies": replies.get(s.id, [])} for s in detail.supervisions],
        "may_reply": Action.COMMENT in allowed and options.staff,
        "timeline": [
            {
                "e": e,
                "details": details.get(e.seq, []),
                "moved": bool(e.from_state) and e.from_state != e.to_state,
                "from_label": story.label(State, e.from_state) if e.from_state else "",
                "to_label": story.label(State, e.to_state),
            }
            for e in detail.events
        ],
        "deadlines": [{"d": x, "limit": span(x.minutes)} for x in detail.deadlines],
        "extensions": [{"x": x, "span": span(x.minutes)} for x in detail.extensions],
        "merged_here": [
            e.data["merged"] for e in detail.events if e.action == Action.MERGE and e.data.get("merged")
        ],
        "merged_into": merged_into,
        "pending": pending,
        "pending_span": span(pending.minutes) if pending else "",
        "may_unmask": bool(
            detail.reporter
            and (detail.reporter.name or detail.reporter.phone)
            and selectors.may_unmask(user, case)
        ),
        "unmasked": unmasked,
        "is_open": case.state not in (State.CLOSED, State.REJECTED, State.MERGED),
        "elsewhere": case_links(request, case),
        "panels": case_panels(request, case),
        "config": {"map": _map(case), "text": _texts(), "locale": request.LANGUAGE_CODE},
    }
    response = render(request, "cases/detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    return render_case(request, selectors.get_case(request.user, number))


@login_required
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one workflow action from its form on the case page."""
    case = selectors.get_case(request.user, number)  # 404 outside the user's scope
    if action not in BY_ACTION:
        raise Http404
    page = reverse("cases:detail", kwargs={"number": case.number})
    if request.method != "POST":
        return HttpResponseRedirect(f"{page}?act={action}#actions")
    user = request.user
    options = Options(staff=staff_roles(user), place_grid=case.grid.level < 3, replies=True)
    form = action_form(action, data=request.POST, files=request.FILES, options=options)
    if not form.is_valid():
        return render_case(request, case, attempt=Attempt(action, request.POST, request.FILES), status=422)
    try:
        services.do_transition(case.number, action, form.step(), actor=user, ip=client_ip(request))
    except Conflict:
        # Somebody acted first: the case as it is now, the user's words kept (files must be chosen again).
        fresh = selectors.get_case(user, number)
        data = request.POST.copy()
        data["expected_version"] = str(fresh.version)
        notice = _("This case changed meanwhile: here is its new state. Check it before you act again.")
        return render_case(request, fresh, attempt=Attempt(action, data), status=409, notice=notice)
    except CaseError as exc:
        refused = Attempt(action, request.POST, request.FILES, exc.field, str(exc.message))
        return render_case(request, case, attempt=refused, status=exc.status)
    messages.success(request, _("Done: %(action)s.") % {"action": Action(action).label})
    return HttpResponseRedirect(page)


@login_required
@require_POST
@never_cache
def unmask(request: HttpRequest, number: str) -> HttpResponse:
    """The reporter in full for an operator whose centre holds the case (audited): into the page's reporter
    box when asked by htmx, else the whole page."""
    case = selectors.get_case(request.user, number)
    full = story.unmask_reporter(request.user, case, client_ip(request))
    if full is None:
        raise Http404
    if request.headers.get("HX-Request"):
        return render(request, "cases/_detail_reporter.html", {"reporter": full, "unmasked": True})
    return render_case(request, case, unmasked=full)


urlpatterns: list = []
urlpatterns += [
    path("<str:number>/", case_page, name="detail"),
    path("<str:number>/act/<str:action>/", act, name="act"),
    path("<str:number>/reporter/", unmask, name="unmask"),
]
