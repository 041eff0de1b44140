"""The mediation pages of the workbench (人民调解): the home (the figures of the user's scope for a period and
their queue: assigned to them, follow-up visits due, the open disputes high risk first), the dispute list, a new
dispute (directly or from a case of the disputes module), the dispute's page with the forms of its steps
(parties, assignment with the suggested mediators, sessions, the outcome, follow-ups, referral up, hand-over),
the agreement (调解协议书) and the whole record as PDF, and the committees with their mediators.

Every read goes through `selectors` (scoped: out of scope is 404, like what does not exist); every change goes
through `services`, whose refusals are shown next to the field they name and change nothing. A step taken sends
the user back to the dispute (post/redirect/get) with a message. Lists page by keyset and take their next rows
by htmx, like the registry's and fieldwork's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case as Choose
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridgov.accounts.scoping import held_roles, is_county_wide
from gridgov.cases.errors import CaseError
from gridgov.cases.selectors import visible_cases
from gridgov.core import audit
from gridgov.core.audit import client_ip
from gridgov.core.choices import label
from gridgov.core.paging import before_of, is_htmx, more_query
from gridgov.core.personal import ID_NUMBER, PHONE, decrypt_text
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid
from gridgov.registry.models import Person
from gridgov.registry.scoping import reads_registry, role_reach
from gridgov.registry.selectors import GRID_FIELDS, PersonFilter, persons

from . import selectors, services
from .choices import (
    OPEN_STATES,
    DisputeKind,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Language,
    Outcome,
    RiskLevel,
    risk_colour,
    state_kind,
)
from .errors import DisputeNotFound
from .forms import (
    AssignForm,
    DisputeFilterForm,
    DisputeForm,
    FiguresForm,
    FollowUpForm,
    HandOverForm,
    OutcomeForm,
    PartyForm,
    ReferForm,
    SessionForm,
    field_of,
    intake_parties,
)
from .models import Committee, Dispute, DisputeEvent, FollowUp, Mediator, Party
from .scoping import (
    ACTING_ROLES,
    READING_ROLES,
    WORKER_ROLES,
    assigned_q,
    may_act,
    may_receive,
    mediator_ids,
    reads_mediation,
)
from .services import DISPUTES_MODULE

PAGE_SIZE = 50
QUEUE_SIZE = 10
# Follow-up visits shown on the home: those due within this many days (the overdue ones first).
DUE_WITHIN = 7
# Above this many grids the intake form asks for a grid code instead of offering a list.
MAX_GRID_CHOICES = 400


def _reader(request: HttpRequest) -> Any:
    """The signed-in user when they work on or oversee mediation; for anybody else these pages do not exist."""
    user: Any = request.user
    if not reads_mediation(user):
        raise Http404
    return user


def _page(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    """A mediation page (never kept by browsers or proxies: it names the parties)."""
    ctx.setdefault("may_receive", may_receive(request.user))
    response = render(request, template, ctx, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _dispute(user: Any, number: str) -> Dispute:
    try:
        return selectors.dispute_for(user, number)
    except DisputeNotFound as exc:
        raise Http404 from exc


def _to_dispute(dispute: Dispute, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("mediation:dispute", args=[dispute.number])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


def filter_grids(user: Any) -> list[Grid]:
    """The grids offered in the filters: the user's own (where they read mediation) and one or two levels below
    them, never the county's thousand grids at once."""
    reach = role_reach(user, READING_ROLES)
    if is_county_wide(user):
        top = 0
    elif not reach:
        return []
    else:
        top = 0 if reach.everything else min(p.count("/") - 2 for p in reach.grid_paths)
    deepest = max(2, top + 1)
    qs = Grid.objects.current().filter(level__lte=deepest, level__gte=top)
    if not (reach.everything or is_county_wide(user)):
        qs = qs.filter(reach.grid_q())
    return list(qs.only(*GRID_FIELDS).order_by("path"))


def intake_grids(user: Any) -> list[Grid]:
    """The current level-3 grids where the user receives disputes."""
    paths = [h.grid_path for h in _acting(user)]
    if not paths:
        return []
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(path__startswith=p)
    return list(
        Grid.objects.current().filter(q, level=3).only(*GRID_FIELDS).order_by("code")[: MAX_GRID_CHOICES + 1]
    )


def _acting(user: Any) -> list[Any]:
    """The user's role assignments in which they receive and work on disputes (as `scoping.acts_in` reads them)."""
    return [
        h
        for h in held_roles(user)
        if h.role in ACTING_ROLES and h.grid_path and not (h.role in WORKER_ROLES and h.grid_level != 3)
    ]


def _risk_first(qs: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """High risk first, then the longest waiting."""
    rank = Choose(
        When(risk=RiskLevel.HIGH, then=Value(0)),
        When(risk=RiskLevel.MEDIUM, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return qs.annotate(risk_rank=rank).order_by("risk_rank", "received_at", "id")


# ------------------------------------------------------------------------------------------------- home


@dataclass
class DueRow:
    visit: FollowUp
    late: int  # days past the due date
    left: int  # days before it


def due_rows(visits: list[FollowUp], today: dt.date) -> list[DueRow]:
    rows = []
    for v in visits:
        days = (v.due_on - today).days
        rows.append(DueRow(v, late=-days if days < 0 else 0, left=max(days, 0)))
    return rows


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The figures of the user's scope for a period (this month unless told), and their queue."""
    user = _reader(request)
    today = timezone.localdate()
    filtered = any(request.GET.get(k) for k in ("grid", "since", "until"))
    data = request.GET.copy()
    data.setdefault("since", today.replace(day=1).isoformat())
    data.setdefault("until", today.isoformat())
    form = FiguresForm(data, grids=filter_grids(user))
    form.is_valid()
    since = form.value("since") or today.replace(day=1)
    until = form.value("until") or today
    if until < since:
        since, until = until, since
    grid = form.value("grid") or None
    figures = selectors.figures(user, since, until, grid)
    open_disputes = selectors.disputes(user, state="open", grid=grid)
    mine: list[Dispute] = []
    if mediator_ids(user):
        mine = list(_risk_first(open_disputes.filter(assigned_q(user)))[:QUEUE_SIZE])
    high = list(_risk_first(open_disputes)[:QUEUE_SIZE])
    due = list(
        selectors.follow_ups_due(user, by=today + dt.timedelta(days=DUE_WITHIN), grid=grid)[:QUEUE_SIZE]
    )
    period = {"since": since.isoformat(), "until": until.isoformat()}
    if grid:
        period["grid"] = grid
    ctx = {
        "tab": "home",
        "form": form,
        "filtered": filtered,
        "figures": figures,
        "since": since,
        "until": until,
        "period": urlencode(period),
        "grid": grid,
        "mine": mine,
        "high": high,
        "due": due_rows(due, today),
        "today": today,
    }
    return _page(request, "mediation/home.html", ctx)


# ------------------------------------------------------------------------------------------------- list


def _committee_choices(user: Any) -> list[tuple[int, str]]:
    return [
        (c.pk, c.name)
        for c in selectors.committees(user, active=None).only("id", "name", "level", "grid__code")
    ]


def _mediator_choices(user: Any, committee: int | None = None) -> list[tuple[int, str]]:
    qs = visible_to(user, Mediator).filter(active=True)
    if committee is not None:
        qs = qs.filter(committee_id=committee)
    rows = qs.order_by("committee__level", "committee__name", "name", "id").values_list(
        "id", "name", "committee__name"
    )
    return [(pk, f"{name} · {committee_name}") for pk, name, committee_name in rows]


@login_required
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    """Disputes, the newest first: by state (or all open ones), kind, risk, handling level, grid, committee,
    mediator, received between two days, and a number or words of the title."""
    user = _reader(request)
    form = DisputeFilterForm(
        request.GET,
        grids=filter_grids(user),
        committees=_committee_choices(user),
        mediators=_mediator_choices(user),
    )
    form.is_valid()
    v = form.value
    rows, more = selectors.dispute_page(
        user,
        before=before_of(request.GET),
        limit=PAGE_SIZE,
        state=v("state") or None,
        kind=v("kind") or None,
        risk=v("risk") or None,
        level=v("level"),
        grid=v("grid") or None,
        committee=v("committee"),
        mediator=v("mediator"),
        since=v("since"),
        until=v("until"),
        text=v("q") or None,
    )
    ctx = {
        "tab": "disputes",
        "form": form,
        "rows": rows,
        "more": more_query(request.GET, rows, more),
        "filtered": form.filtered(),
        "continued": before_of(request.GET) is not None,
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, "mediation/_dispute_rows.html", ctx)
    return _page(request, "mediation/disputes.html", ctx)


# ------------------------------------------------------------------------------------------------- intake


_DISPUTE_FIELDS = {
    "kind",
    "title",
    "description",
    "grid",
    "address",
    "amount",
    "risk",
    "language",
    "received_at",
    "case",
}


@login_required
@require_http_methods(["GET", "POST"])
def dispute_new(request: HttpRequest) -> HttpResponse:
    """A dispute received directly, or taken from a case of the disputes module (`?case=<number>` fills it
    in). Anybody who sees mediation but receives nowhere is refused (403)."""
    user = _reader(request)
    if not may_receive(user):
        raise PermissionDenied
    grids = intake_grids(user)
    many = len(grids) > MAX_GRID_CHOICES
    status = 200
    if request.method == "GET":
        form = DisputeForm(initial={"case": request.GET.get("case", "")[:30]}, grids=[] if many else grids)
        parties = intake_parties()
    else:
        form = DisputeForm(request.POST, grids=[] if many else grids)
        if many:
            form.fields["grid"] = forms.CharField(
                label=form.fields["grid"].label, max_length=32, required=False
            )
        parties = intake_parties(request.POST)
        status = 422
        valid = form.is_valid()
        valid = all([p.is_valid() for p in parties]) and valid
        if valid:
            given = [p for p in parties if not p.is_blank()]
            answer = _receive(request, form, given, parties)
            if answer is not None:
                return answer
            status = getattr(form, "refusal_status", 422)
    if many and request.method == "GET":
        form.fields["grid"] = forms.CharField(label=form.fields["grid"].label, max_length=32, required=False)
    refused = request.method == "POST" and (bool(form.errors) or any(p.errors for p in parties))
    ctx = {
        "tab": "new",
        "form": form,
        "parties": parties,
        "refused": refused,
        "sees_registry": reads_registry(user),
    }
    return _page(request, "mediation/dispute_new.html", ctx, status=status)


def _receive(
    request: HttpRequest, form: DisputeForm, given: list[PartyForm], rows: list[PartyForm]
) -> HttpResponse | None:
    """Receive the dispute of a valid form, or put the service's refusal next to its field (None)."""
    d = form.cleaned_data
    user = request.user
    party_data = [p.party() for p in given]
    try:
        if form.from_case():
            result = services.do_open_from_case(
                form.from_case(),
                actor=user,
                kind=d.get("kind") or None,
                title=d.get("title") or "",
                risk=d.get("risk") or RiskLevel.LOW,
                language=d.get("language") or Language.ZH,
                amount=d.get("amount") or None,
                parties=party_data,
                ip=client_ip(request),
            )
            dispute, created = result.dispute, result.created
        else:
            dispute = services.do_receive_dispute(
                actor=user,
                kind=d.get("kind") or "",
                title=d.get("title") or "",
                description=d.get("description") or "",
                grid=d.get("grid") or "",
                amount=d.get("amount") or None,
                risk=d.get("risk") or RiskLevel.LOW,
                language=d.get("language") or Language.ZH,
                parties=party_data,
                received_at=d.get("received_at") or None,
                address=d.get("address") or "",
                ip=client_ip(request),
            )
            created = True
    except CaseError as exc:
        form.refusal_status = exc.status  # type: ignore[attr-defined]
        where = exc.field or ""
        if exc.status == 404 and not where:
            where = "case" if form.from_case() else ""
        if where.startswith("parties.") and where.count(".") >= 2:
            n = int(where.split(".")[1]) if where.split(".")[1].isdigit() else -1
            if 0 <= n < len(given):
                row = given[n]
                row.add_error(field_of(row, where, prefix=f"parties.{n}."), str(exc.message))
                return None
        form.add_error(where if where in _DISPUTE_FIELDS else None, str(exc.message))
        return None
    if created:
        messages.success(request, _("Dispute %(number)s received.") % {"number": dispute.number})
    else:
        messages.warning(
            request,
            _("This case went to mediation before: here is dispute %(number)s.") % {"number": dispute.number},
        )
    return _to_dispute(dispute)


# ------------------------------------------------------------------------------------------------- a dispute


# Event details worth a word on the timeline.
def _event_details(e: DisputeEvent) -> list[tuple[str, str]]:
    d = e.data or {}
    out: list[tuple[str, str]] = []
    if e.action == EventAction.FROM_CASE and d.get("case"):
        out.append((_("case"), str(d["case"])))
    if e.action == EventAction.ASSIGNED:
        if d.get("committee_name"):
            out.append((_("committee"), str(d["committee_name"])))
        if d.get("lead_name"):
            out.append((_("lead mediator"), str(d["lead_name"])))
    if e.action == EventAction.SESSION and d.get("held_at"):
        held = dt.datetime.fromisoformat(str(d["held_at"]))
        out.append((_("session held"), f"{timezone.localtime(held):%Y-%m-%d %H:%M}"))
    if e.action == EventAction.OUTCOME:
        out.append((_("outcome"), label(Outcome, d.get("outcome", ""))))
        if d.get("amount"):
            out.append((_("amount agreed"), f"¥{d['amount']}"))
        if d.get("follow_ups"):
            out.append((_("follow-up visits"), "、".join(str(x) for x in d["follow_ups"])))
    if e.action == EventAction.FOLLOW_UP and d.get("result"):
        out.append((_("visit result"), label(FollowUpResult, d["result"])))
    if e.action == EventAction.REFERRED_UP and d.get("committee_name"):
        out.append((_("committee"), str(d["committee_name"])))
    if e.action == EventAction.HANDED_OVER and d.get("to"):
        out.append((_("handed over to"), label(HandOverTo, d["to"])))
    return out


@dataclass
class EventRow:
    e: DisputeEvent
    details: list[tuple[str, str]]

    @property
    def moved(self) -> bool:
        return bool(self.e.from_state) and self.e.from_state != self.e.to_state


@dataclass
class Forms:
    """The forms of the steps the user may take on the dispute now (None: not now)."""

    party: PartyForm | None = None
    assign: AssignForm | None = None
    session: SessionForm | None = None
    outcome: OutcomeForm | None = None
    follow_up: dict[int, FollowUpForm] = field(default_factory=dict)
    refer: ReferForm | None = None
    hand_over: HandOverForm | None = None
    # The step whose form was posted and refused: its section is opened.
    failed: str = ""


def _assign_options(dispute: Dispute) -> tuple[list[Committee], list[Mediator]]:
    """The committees that may take the dispute (covering its grid, at its level or higher) and their active
    mediators (two queries)."""
    ids = selectors.ancestor_ids(dispute.grid)
    committees = list(
        Committee.objects.filter(active=True, grid_id__in=ids, level__lte=dispute.level)
        .only("id", "name", "level")
        .order_by("-level", "name")
    )
    people = list(
        Mediator.objects.filter(committee__in=committees, active=True)
        .select_related("committee")
        .only("id", "name", "committee__id", "committee__name", "committee__level")
        .order_by("-committee__level", "committee__name", "name")
    )
    return committees, people


@dataclass
class SuggestRow:
    """A suggested mediator as the assignment shows them: the selector's ranking, and where they mediate."""

    mediator: Mediator
    skilled: bool
    speaks: bool
    open_disputes: int
    areas: str


def suggestion_rows(found: list[selectors.Suggestion]) -> list[SuggestRow]:
    """The suggestions with the names of their areas (one query)."""
    through: Any = Mediator.areas.through.objects
    names: dict[int, list[str]] = {}
    rows = through.filter(mediator_id__in=[s.mediator.pk for s in found]).values_list(
        "mediator_id", "grid__name"
    )
    for pk, name in rows.order_by("grid__path") if found else []:
        names.setdefault(pk, []).append(name)
    return [
        SuggestRow(
            mediator=s.mediator,
            skilled=s.skilled,
            speaks=s.speaks,
            open_disputes=s.open_disputes,
            areas="、".join(names.get(s.mediator.pk, [])) or _("all of the committee's"),
        )
        for s in found
    ]


def _session_choices(
    dispute: Dispute, record: selectors.DisputeRecord, people: list[Mediator]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who may be ticked as the session's mediators (those assigned, then the handling committee's) and as the
    parties present."""
    assigned = [m for m in [dispute.lead_mediator, *record.assistants] if m is not None]
    seen = {m.pk for m in assigned}
    mediators = [(m.pk, m.name) for m in assigned]
    mediators += [
        (m.pk, m.name) for m in people if m.committee_id == dispute.committee_id and m.pk not in seen
    ]
    parties = [(p.pk, f"{p.name} · {p.get_role_display()}") for p in record.parties]
    return mediators, parties


def _forms(
    dispute: Dispute,
    record: selectors.DisputeRecord,
    steps: list[str],
    posted: Forms | None = None,
) -> tuple[Forms, dict[str, Any]]:
    """The forms of the steps the user may take now (`services.allowed_steps`), with those that were posted in
    their place; and what they need."""
    out = posted or Forms()
    extra: dict[str, Any] = {}
    if not steps:
        return Forms(), extra
    people: list[Mediator] = []
    if "assign" in steps or "session" in steps:
        committees, people = _assign_options(dispute)
    if "add_party" in steps:
        out.party = out.party or PartyForm(prefix="party")
    if "assign" in steps:
        if out.assign is None:
            initial: dict[str, Any] = {}
            if dispute.committee_id:
                initial = {
                    "committee": dispute.committee_id,
                    "lead": dispute.lead_mediator_id,
                    "assistants": [m.pk for m in record.assistants],
                }
            elif committees:
                initial = {"committee": committees[0].pk}
            out.assign = AssignForm(
                initial=initial,
                committees=[(c.pk, f"{c.name} · {c.get_level_display()}") for c in committees],
                mediators=[(m.pk, f"{m.name} · {m.committee.name}") for m in people],
            )
        extra["suggestions"] = suggestion_rows(selectors.suggest_mediators(dispute))
    if "session" in steps and out.session is None:
        mediators, parties = _session_choices(dispute, record, people)
        lead = dispute.lead_mediator_id
        out.session = SessionForm(
            initial={
                # To the second: a session held in the minute the dispute was received is not before it.
                "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S"),
                "mediators": [lead] if lead else [],
                "parties_present": [p.pk for p in record.parties],
                "place": dispute.committee.name if dispute.committee else "",
            },
            mediators=mediators,
            parties=parties,
        )
    if "outcome" in steps and out.outcome is None:
        out.outcome = OutcomeForm(initial={"outcome": Outcome.AGREEMENT})
    if "refer_up" in steps:
        out.refer = out.refer or ReferForm()
    if "hand_over" in steps:
        out.hand_over = out.hand_over or HandOverForm()
    if "follow_up" in steps:
        for visit in record.follow_ups:
            if visit.done_at is None and visit.pk not in out.follow_up:
                out.follow_up[visit.pk] = FollowUpForm(prefix=f"fu{visit.pk}")
    else:
        out.follow_up = {}
    return out, extra


def _render_dispute(
    request: HttpRequest, dispute: Dispute, posted: Forms | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    record = selectors.record_of(dispute)
    acts = may_act(user, dispute, dispute.grid.path)
    steps = services.allowed_steps(user, dispute) if acts else []
    forms_, extra = _forms(dispute, record, steps, posted)
    today = timezone.localdate()
    agreement = record.agreement
    case_visible = False
    if dispute.case_id is not None:
        case_visible = visible_cases(user).filter(pk=dispute.case_id).exists()
    committee_visible = False
    if dispute.committee_id is not None:
        committee_visible = visible_to(user, Committee).filter(pk=dispute.committee_id).exists()
    linked = [p.person_id for p in record.parties if p.person_id]
    seen_persons: set[int] = set()
    if linked and reads_registry(user):
        seen_persons = set(visible_to(user, Person).filter(pk__in=linked).values_list("pk", flat=True))
    ctx = {
        "tab": "disputes",
        "dispute": dispute,
        "record": record,
        "acts": acts,
        "forms": forms_,
        "risk_colour": risk_colour(dispute.risk),
        "state_kind": state_kind(dispute.state),
        "events": [EventRow(e, _event_details(e)) for e in record.events],
        "visits": [(v, forms_.follow_up.get(v.pk), (v.due_on - today).days) for v in record.follow_ups],
        "printable": agreement is not None and agreement.outcome != Outcome.FAILED and bool(record.parties),
        "case_visible": case_visible,
        "committee_visible": committee_visible,
        "seen_persons": seen_persons,
        "sees_registry": reads_registry(user),
        "today": today,
        **extra,
    }
    return _page(request, "mediation/dispute.html", ctx, status=status)


@login_required
@require_GET
def dispute_page(request: HttpRequest, number: str) -> HttpResponse:
    user = _reader(request)
    return _render_dispute(request, _dispute(user, number))


def _refused(
    request: HttpRequest,
    dispute: Dispute,
    form: forms.Form,
    exc: CaseError,
    posted: Forms,
    *,
    prefix: str = "",
) -> HttpResponse:
    """The dispute page again with the refusal next to the field it names (or on top of the form); the dispute
    as it is now."""
    if exc.field:
        form.add_error(field_of(form, exc.field, prefix=prefix), str(exc.message))
    else:
        # The step as a whole (the dispute moved on meanwhile, or the user may not take it): said on top of the
        # page, where it is seen even when the dispute as it is now offers that step no more.
        messages.error(request, str(exc.message))
        posted.failed = ""
    fresh = selectors.dispute_for(request.user, dispute.pk)
    return _render_dispute(request, fresh, posted, status=exc.status)


def _step(
    request: HttpRequest,
    number: str,
    make: Callable[[Dispute], tuple[forms.Form, Forms]],
    run: Callable[[Dispute, dict[str, Any]], Any],
    done: Callable[[Any], str],
    anchor: str,
) -> HttpResponse:
    """A step posted from the dispute page: parse its form, call the service, and go back to the dispute with a
    message, or show the page with the refusal in place."""
    user = _reader(request)
    dispute = _dispute(user, number)
    form, posted = make(dispute)
    if not form.is_valid():
        return _render_dispute(request, dispute, posted, status=422)
    try:
        result = run(dispute, form.cleaned_data)
    except CaseError as exc:
        return _refused(request, dispute, form, exc, posted)
    messages.success(request, done(result))
    return _to_dispute(dispute, anchor)


@login_required
@require_POST
def party_add(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        form = PartyForm(request.POST, prefix="party")
        return form, Forms(party=form, failed="parties")

    def run(dispute: Dispute, d: dict[str, Any]) -> Party:
        return services.do_add_party(dispute, _party_input(d), actor=request.user, ip=client_ip(request))

    return _step(
        request, number, make, run, lambda p: _("Party %(name)s added.") % {"name": p.name}, "parties"
    )


def _party_input(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": d.get("role") or "",
        "name": d.get("name") or "",
        "person": d.get("person"),
        "id_number": d.get("id_number") or "",
        "phone": d.get("phone") or "",
        "address": d.get("address") or "",
        "note": d.get("note") or "",
    }


class PartyEditForm(PartyForm):
    """A party's details replaced: an ID number or phone left empty is kept as it is, unless removed."""

    clear_id_number = forms.BooleanField(label="", required=False)
    clear_phone = forms.BooleanField(label="", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clear_id_number"].label = _("Remove the ID number")
        self.fields["clear_phone"].label = _("Remove the phone")
        self.fields["id_number"].help_text = _("Leave empty to keep the number recorded.")
        self.fields["phone"].help_text = _("Leave empty to keep the number recorded.")


@login_required
@require_http_methods(["GET", "POST"])
def party_edit(request: HttpRequest, number: str, party_id: int) -> HttpResponse:
    """A party's details, for those who work on the open dispute."""
    user = _reader(request)
    dispute = _dispute(user, number)
    party = Party.objects.filter(dispute=dispute, pk=party_id).select_related("person").first()
    if party is None:
        raise Http404
    if not may_act(user, dispute, dispute.grid.path) or dispute.state not in OPEN_STATES:
        return _to_dispute(dispute, "parties")
    initial = {
        "role": party.role,
        "name": party.name,
        "address": party.address,
        "note": party.note,
        "person": party.person_id,
    }
    status = 200
    if request.method == "POST":
        form = PartyEditForm(request.POST, initial=initial)
        status = 422
        if form.is_valid():
            data = _party_input(form.cleaned_data)
            # Kept as recorded unless typed anew or removed (the service replaces every detail).
            if not data["id_number"] and not form.cleaned_data.get("clear_id_number"):
                data["id_number"] = decrypt_text(party.id_number_enc, ID_NUMBER)
            if not data["phone"] and not form.cleaned_data.get("clear_phone"):
                data["phone"] = decrypt_text(party.phone_enc, PHONE)
            try:
                services.do_update_party(party.pk, data, actor=user, ip=client_ip(request))
            except CaseError as exc:
                form.add_error(field_of(form, exc.field or ""), str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("Party %(name)s updated.") % {"name": data["name"] or party.name})
                return _to_dispute(dispute, "parties")
    else:
        form = PartyEditForm(initial=initial)
    ctx = {"tab": "disputes", "dispute": dispute, "party": party, "form": form}
    return _page(request, "mediation/party_edit.html", ctx, status=status)


@login_required
@require_POST
def assign(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        committees, people = _assign_options(dispute)
        form = AssignForm(
            request.POST,
            committees=[(c.pk, f"{c.name} · {c.get_level_display()}") for c in committees],
            mediators=[(m.pk, f"{m.name} · {m.committee.name}") for m in people],
        )
        return form, Forms(assign=form, failed="assign")

    def run(dispute: Dispute, d: dict[str, Any]) -> Dispute:
        return services.do_assign(
            dispute,
            actor=request.user,
            committee=d["committee"],
            lead=d["lead"],
            assistants=d.get("assistants") or [],
            ip=client_ip(request),
        )

    def done(d: Dispute) -> str:
        return _("Assigned to %(committee)s, led by %(lead)s.") % {
            "committee": d.committee.name if d.committee else "",
            "lead": d.lead_mediator.name if d.lead_mediator else "",
        }

    return _step(request, number, make, run, done, "assign")


@login_required
@require_POST
def session_new(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        mediators, parties = _session_choices(
            dispute, selectors.record_of(dispute), _assign_options(dispute)[1]
        )
        form = SessionForm(request.POST, mediators=mediators, parties=parties)
        return form, Forms(session=form, failed="sessions")

    def run(dispute: Dispute, d: dict[str, Any]) -> Any:
        return services.do_record_session(
            dispute,
            actor=request.user,
            held_at=d.get("held_at") or "",
            mediators=d.get("mediators") or [],
            place=d.get("place") or "",
            parties_present=d.get("parties_present") or [],
            others_present=d.get("others_present") or "",
            notes=d.get("notes") or "",
            next_steps=d.get("next_steps") or "",
            ip=client_ip(request),
        )

    def done(session: Any) -> str:
        return _("Session of %(when)s recorded.") % {
            "when": f"{timezone.localtime(session.held_at):%Y-%m-%d %H:%M}"
        }

    return _step(request, number, make, run, done, "sessions")


@login_required
@require_POST
def outcome(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        form = OutcomeForm(request.POST)
        return form, Forms(outcome=form, failed="outcome")

    def run(dispute: Dispute, d: dict[str, Any]) -> Any:
        return services.do_record_outcome(
            dispute,
            actor=request.user,
            outcome=d["outcome"],
            terms=d.get("terms") or "",
            amount=d.get("amount") or None,
            performance_method=d.get("performance_method") or "",
            performance_due=d.get("performance_due") or None,
            signed_on=d.get("signed_on") or None,
            ip=client_ip(request),
        )

    def done(agreement: Any) -> str:
        if agreement.outcome == Outcome.FAILED:
            return _("Recorded: no agreement was reached.")
        return _(
            "Agreement recorded: print it for the parties to sign, and visit them on the days scheduled."
        )

    return _step(request, number, make, run, done, "outcome")


@login_required
@require_POST
def follow_up(request: HttpRequest, number: str, follow_up_id: int) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        form = FollowUpForm(request.POST, prefix=f"fu{follow_up_id}")
        return form, Forms(follow_up={follow_up_id: form}, failed="follow-ups")

    def run(dispute: Dispute, d: dict[str, Any]) -> FollowUp:
        if not FollowUp.objects.filter(pk=follow_up_id, dispute=dispute).exists():
            raise Http404
        return services.do_record_follow_up(
            follow_up_id,
            actor=request.user,
            result=d["result"],
            note=d.get("note") or "",
            done_at=d.get("done_at") or None,
            ip=client_ip(request),
        )

    return _step(
        request,
        number,
        make,
        run,
        lambda v: _("Follow-up visit recorded: %(result)s.") % {"result": v.get_result_display()},
        "follow-ups",
    )


@login_required
@require_POST
def refer_up(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        form = ReferForm(request.POST)
        return form, Forms(refer=form, failed="further")

    def run(dispute: Dispute, d: dict[str, Any]) -> Dispute:
        return services.do_refer_up(
            dispute, actor=request.user, reason=d.get("reason") or "", ip=client_ip(request)
        )

    def done(d: Dispute) -> str:
        return _("Referred up to %(committee)s: it waits to be assigned there.") % {
            "committee": d.committee.name if d.committee else ""
        }

    return _step(request, number, make, run, done, "assign")


@login_required
@require_POST
def hand_over(request: HttpRequest, number: str) -> HttpResponse:
    def make(dispute: Dispute) -> tuple[forms.Form, Forms]:
        form = HandOverForm(request.POST)
        return form, Forms(hand_over=form, failed="further")

    def run(dispute: Dispute, d: dict[str, Any]) -> Dispute:
        return services.do_hand_over(
            dispute,
            actor=request.user,
            to=d.get("handed_to") or "",
            note=d.get("handover_note") or "",
            ip=client_ip(request),
        )

    def done(d: Dispute) -> str:
        return _(
            "Handed over to the %(to)s: print the whole record (PDF above) and send it with the file."
        ) % {"to": d.get_handed_to_display()}

    return _step(request, number, make, run, done, "")


# ------------------------------------------------------------------------------------------------- documents


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _document(request: HttpRequest, number: str, make: Callable[..., bytes], name: str) -> HttpResponse:
    """The PDF, ID and phone numbers masked; posted, the copy with them in full for the parties to sign, for
    those who work on the dispute only, and audited."""
    from .agreement_pdf import MissingGlyphs

    user = _reader(request)
    dispute = _dispute(user, number)
    unmasked = request.method == "POST"
    if unmasked:
        if not may_act(user, dispute):
            raise PermissionDenied
        audit.atomic_record(
            "dispute.document.unmasked",
            actor=user,
            target=dispute,
            data={"number": dispute.number, "document": name},
            ip=client_ip(request),
        )
    try:
        data = make(dispute, unmasked=unmasked)
    except MissingGlyphs as exc:
        messages.error(request, str(exc.message))
        return _to_dispute(dispute)
    except CaseError as exc:
        if exc.status == 422:
            messages.error(request, str(exc.message))
            return _to_dispute(dispute)
        raise
    return _pdf(data, f"{dispute.number}-{name}.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def agreement_document(request: HttpRequest, number: str) -> HttpResponse:
    """The mediation agreement (人民调解协议书) to print and sign."""
    from .agreement_pdf import agreement_pdf

    return _document(request, number, agreement_pdf, "调解协议书")


@login_required
@require_http_methods(["GET", "POST"])
def record_document(request: HttpRequest, number: str) -> HttpResponse:
    """The whole record of the dispute (卷宗), as handed over to the judicial office or a court."""
    from .agreement_pdf import record_pdf

    return _document(request, number, record_pdf, "调解卷宗")


# ------------------------------------------------------------------------------------------------- registry


@login_required
@require_POST
def person_lookup(request: HttpRequest) -> HttpResponse:
    """Persons of the registry the user sees (by the start of a name, or a whole ID number or phone), to link a
    party to; posted, so that a number typed stays out of URLs and logs. Only for registry readers."""
    user = _reader(request)
    if not reads_registry(user):
        raise Http404
    q = (request.POST.get("q") or "").strip()[:100]
    found = persons(user, PersonFilter(q=q), limit=8)[0] if len(q) >= 1 else []
    ctx = {"found": found, "q": q, "target": (request.POST.get("target") or "")[:10]}
    return _page(request, "mediation/_person_hits.html", ctx)


# ------------------------------------------------------------------------------------------------- committees


def _open_load(ids: list[int]) -> dict[int, int]:
    """Open disputes each mediator leads or assists in (two queries)."""
    load: dict[int, int] = dict.fromkeys(ids, 0)
    if not ids:
        return load
    lead = (
        Dispute.objects.filter(lead_mediator_id__in=ids, state__in=OPEN_STATES)
        .order_by()
        .values_list("lead_mediator_id")
        .annotate(n=Count("pk"))
    )
    through: Any = Dispute.assistants.through.objects
    helping = (
        through.filter(mediator_id__in=ids, dispute__state__in=OPEN_STATES)
        .order_by()
        .values_list("mediator_id")
        .annotate(n=Count("pk"))
    )
    for pk, n in [*lead, *helping]:
        load[pk] = load.get(pk, 0) + n
    return load


@login_required
@require_GET
def committee_list(request: HttpRequest) -> HttpResponse:
    """The committees the user sees (of their grids and above them), town first, with their mediators and
    open disputes."""
    user = _reader(request)
    open_here = (
        Dispute.objects.filter(committee_id=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("committee_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = list(
        selectors.committees(user, active=None).annotate(
            n_mediators=Count("mediators", filter=Q(mediators__active=True), distinct=True),
            n_open=Coalesce(Subquery(open_here, output_field=IntegerField()), 0),
        )
    )
    return _page(request, "mediation/committees.html", {"tab": "committees", "rows": rows})


@dataclass
class MediatorRow:
    mediator: Mediator
    skills: list[str]
    languages: list[str]
    areas: list[Grid]
    load: int


@login_required
@require_GET
def committee_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    committee = selectors.committees(user, active=None).filter(pk=pk).first()
    if committee is None:
        raise Http404
    # The selector's list, without the areas' outlines (only their names are shown).
    people = list(
        visible_to(user, Mediator)
        .filter(committee=committee)
        .prefetch_related(
            Prefetch("areas", queryset=Grid.objects.only("id", "name", "path").order_by("path"))
        )
        .order_by("-active", "name", "id")
    )
    load = _open_load([m.pk for m in people])
    rows = [
        MediatorRow(
            mediator=m,
            skills=[label(DisputeKind, s) for s in m.skills or []],
            languages=[label(Language, x) for x in m.languages or []],
            areas=list(m.areas.all()),
            load=load.get(m.pk, 0),
        )
        for m in people
    ]
    open_count = Dispute.objects.filter(committee=committee, state__in=OPEN_STATES).count()
    ctx = {
        "tab": "committees",
        "committee": committee,
        "rows": rows,
        "open_count": open_count,
        "active_count": sum(1 for r in rows if r.mediator.active),
    }
    return _page(request, "mediation/committee.html", ctx)


def nav_link(request: HttpRequest) -> tuple[str, Any, str] | None:
    """The navigation's link to mediation, for those who work on or oversee it."""
    user = request.user
    if not user.is_authenticated or not reads_mediation(user):
        return None
    return (reverse("mediation:home"), _("Mediation"), "")


def case_link(request: HttpRequest, case: Any) -> tuple[str, Any, str] | None:
    """On the page of a case of the disputes module: take it into mediation, for those who receive disputes
    (no query: the case's item is loaded with it, the user's roles once a request)."""
    user = request.user
    item = case.item
    if item is None or not item.code.startswith(DISPUTES_MODULE) or not may_receive(user):
        return None
    return (
        f"{reverse('mediation:dispute_new')}?{urlencode({'case': case.number})}",
        _("Take into mediation"),
        "",
    )
