"""Mediation API (人民调解): disputes (list, one, received directly or from a case), their parties, assignment with
the suggested mediators, sessions, the outcome, follow-up visits, referral up and hand-over, the agreement and
the whole record as PDF, the figures of a period, committees and mediators, and `GET /mine`: what a mediator's
phone needs (their open disputes with the parties masked, the follow-up visits due, the choices).

Writes take JSON bodies. Every POST accepts an `Idempotency-Key` header (core.idempotency): the phone's offline
queue sends each record with its key, and the same call sent again — the phone never heard the answer — gets
the first answer back and records nothing twice (one session, one visit). Every read goes through `visible_to`:
what is out of the caller's scope answers 404 like what does not exist; a dispute the caller reads but does not
work on answers 403 to a write; a step the dispute's state does not allow answers 409; bad input 422 naming the
field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case as Choose
from django.db.models import Count, IntegerField, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status

from gridgov.cases.story import local as _local
from gridgov.core.audit import client_ip
from gridgov.core.choices import label
from gridgov.core.schemas import READ_ERRORS, WRITE_ERRORS, Error, Id, PageQuery
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from . import selectors, services
from .choices import (
    OPEN_STATES,
    DisputeKind,
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Language,
    Level,
    MediatorKind,
    Outcome,
    PartyRole,
    RiskLevel,
    state_kind,
)
from .errors import CommitteeNotFound, NotAllowed
from .models import Agreement, Committee, Dispute, DisputeEvent, FollowUp, Mediator, Party, Session
from .schemas import (
    AgreementOut,
    AssignIn,
    CommitteeDetail,
    CommitteeOut,
    CommitteeRef,
    DisputeDetail,
    DisputeEventOut,
    DisputeIn,
    DisputeKey,
    DisputeListQuery,
    DisputePage,
    DisputePartyOut,
    DisputeSummary,
    FollowUpIn,
    FollowUpOut,
    FromCaseIn,
    HandOverIn,
    MediationChoice,
    MediationFigures,
    MediationFiguresQuery,
    MediationGrid,
    MediationPartyIn,
    MediatorOut,
    MediatorRef,
    MediatorSuggestion,
    MineChoices,
    MineDispute,
    MineOut,
    OutcomeIn,
    ReferIn,
    SessionIn,
    SessionOut,
)
from .scoping import assigned_q, may_act, mediator_ids, reads_mediation

router = Router(tags=["mediation"])

# How many disputes and visits `GET /mine` sends at most, and how far ahead the visits.
MINE_LIMIT = 100
DUE_WITHIN_DAYS = 7
PDF_RESPONSE = {
    "responses": {
        200: {
            "description": "The document, A4, in Chinese",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def _reader(request: HttpRequest) -> Any:
    user: Any = request.user
    if not reads_mediation(user):
        raise NotAllowed(_("Only grid staff, grid heads, operators, leaders and mediators see mediation."))
    return user


def _name(user: Any) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _choices(choices: Any) -> list[MediationChoice]:
    return [MediationChoice(value=str(v), label=str(lab)) for v, lab in choices.choices]


def _grid(grid: Grid) -> MediationGrid:
    return MediationGrid(id=grid.pk, code=grid.code, name=grid.name)


def _committee(committee: Committee | None) -> CommitteeRef | None:
    return _committee_ref(committee) if committee is not None else None


def _committee_ref(committee: Committee) -> CommitteeRef:
    return CommitteeRef(
        id=committee.pk,
        name=committee.name,
        level=committee.level,
        level_label=label(Level, committee.level),
    )


def _mediator(mediator: Mediator | None) -> MediatorRef | None:
    return MediatorRef(id=mediator.pk, name=mediator.name) if mediator is not None else None


def _summary_fields(d: Dispute) -> dict[str, Any]:
    return {
        "id": d.pk,
        "number": d.number,
        "kind": d.kind,
        "kind_label": label(DisputeKind, d.kind),
        "title": d.title,
        "state": d.state,
        "state_label": label(DisputeState, d.state),
        "state_kind": state_kind(d.state),
        "risk": d.risk,
        "risk_label": label(RiskLevel, d.risk),
        "level": d.level,
        "level_label": label(Level, d.level),
        "grid": _grid(d.grid),
        "committee": _committee(d.committee),
        "lead_mediator": _mediator(d.lead_mediator),
        "amount": d.amount,
        "received_at": _local(d.received_at),
    }


def _party(p: Party) -> DisputePartyOut:
    return DisputePartyOut(
        id=p.pk,
        role=p.role,
        role_label=label(PartyRole, p.role),
        name=p.name,
        id_number=p.id_number_masked,
        phone=p.phone_masked,
        address=p.address,
        person=p.person_id,
        note=p.note,
    )


def _session(s: Session) -> SessionOut:
    return SessionOut(
        id=s.pk,
        held_at=_local(s.held_at),
        place=s.place,
        mediators=[MediatorRef(id=m.pk, name=m.name) for m in s.mediators.all()],
        parties_present=[p.pk for p in s.parties_present.all()],
        others_present=s.others_present,
        notes=s.notes,
        next_steps=s.next_steps,
        recorded_by=_name(s.created_by),
        recorded_at=_local(s.created_at),
    )


def _agreement(a: Agreement | None) -> AgreementOut | None:
    if a is None:
        return None
    return AgreementOut(
        outcome=a.outcome,
        outcome_label=label(Outcome, a.outcome),
        number=a.number,
        terms=a.terms,
        amount=a.amount,
        performance_method=a.performance_method,
        performance_due=a.performance_due,
        signed_on=a.signed_on,
        level=a.level,
        level_label=label(Level, a.level),
        committee=_committee(a.committee),
    )


def _follow_up(v: FollowUp, number: str, today: dt.date) -> FollowUpOut:
    return FollowUpOut(
        id=v.pk,
        dispute=number,
        due_on=v.due_on,
        overdue=v.done_at is None and v.due_on < today,
        done_at=_local(v.done_at),
        result=v.result,
        result_label=label(FollowUpResult, v.result) if v.result else "",
        note=v.note,
        visitor=_name(v.visitor),
    )


def _event(e: DisputeEvent) -> DisputeEventOut:
    return DisputeEventOut(
        action=e.action,
        action_label=label(EventAction, e.action),
        at=_local(e.at),
        actor=_name(e.actor),
        from_state=e.from_state,
        to_state=e.to_state,
        level=e.level,
        note=e.note,
    )


def _detail(request: HttpRequest, dispute: Dispute) -> DisputeDetail:
    user = request.user
    record = selectors.record_of(dispute)
    today = timezone.localdate()
    return DisputeDetail(
        **_summary_fields(dispute),
        description=dispute.description,
        address=dispute.address,
        language=dispute.language,
        language_label=label(Language, dispute.language),
        case_number=dispute.case.number if dispute.case is not None else "",
        received_by=_name(dispute.received_by),
        settled_at=_local(dispute.settled_at),
        settled_level=dispute.settled_level,
        failed_at=_local(dispute.failed_at),
        handed_to=dispute.handed_to,
        handed_to_label=label(HandOverTo, dispute.handed_to) if dispute.handed_to else "",
        handed_at=_local(dispute.handed_at),
        handover_note=dispute.handover_note,
        assistants=[MediatorRef(id=m.pk, name=m.name) for m in record.assistants],
        parties=[_party(p) for p in record.parties],
        sessions=[_session(s) for s in record.sessions],
        agreement=_agreement(record.agreement),
        follow_ups=[_follow_up(v, dispute.number, today) for v in record.follow_ups],
        events=[_event(e) for e in record.events],
        version=dispute.version,
        may_act=may_act(user, dispute, dispute.grid.path),
    )


def _fresh(request: HttpRequest, dispute: Dispute | int) -> DisputeDetail:
    """The dispute as it is now (after a step), with everything recorded about it."""
    pk = dispute.pk if isinstance(dispute, Dispute) else dispute
    return _detail(request, selectors.dispute_for(request.user, pk))


def _parties(payload: list[MediationPartyIn]) -> list[dict[str, Any]]:
    return [p.dict() for p in payload]


# ---------------------------------------------------------------------------------------------- disputes


@router.get(
    "/disputes", response={200: DisputePage, **READ_ERRORS}, url_name="dispute_list", summary="Disputes"
)
def dispute_list(request: HttpRequest, filters: Query[DisputeListQuery], page: Query[PageQuery]):
    """The disputes the caller sees, newest first: by state (`open` for all the open ones), kind, risk, handling
    level, grid (a code: its subtree), committee, mediator (lead or assisting), received between two days, and
    words of the number or title. Paged by `before` (the `next_before` of the previous page)."""
    user = _reader(request)
    rows, more = selectors.dispute_page(
        user,
        before=page.before,
        limit=page.limit,
        state=filters.state or None,
        kind=filters.kind or None,
        risk=filters.risk or None,
        level=filters.level,
        grid=filters.grid or None,
        committee=filters.committee,
        mediator=filters.mediator,
        since=filters.since,
        until=filters.until,
        text=filters.q or None,
    )
    return DisputePage(
        items=[DisputeSummary(**_summary_fields(d)) for d in rows],
        has_more=more,
        next_before=rows[-1].pk if more and rows else None,
    )


@router.post(
    "/disputes",
    response={201: DisputeDetail, **WRITE_ERRORS},
    url_name="dispute_receive",
    summary="Receive a dispute directly",
)
def dispute_receive(request: HttpRequest, payload: DisputeIn):
    """Receive a dispute in a level-3 grid where the caller works (grid staff, heads, operators, mediators), with
    its parties; it is handled at the grid level first. A party with an invalid ID number is refused (422,
    `parties.N.id_number`) and nothing is recorded."""
    dispute = services.do_receive_dispute(
        actor=request.user,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        grid=payload.grid,
        amount=payload.amount,
        risk=payload.risk,
        language=payload.language,
        parties=_parties(payload.parties),
        received_at=payload.received_at,
        address=payload.address,
        ip=client_ip(request),
    )
    return Status(201, _fresh(request, dispute))


@router.post(
    "/disputes/from-case",
    response={200: DisputeDetail, 201: DisputeDetail, **WRITE_ERRORS},
    url_name="dispute_from_case",
    summary="Take a case of the disputes module into mediation",
)
def dispute_from_case(request: HttpRequest, payload: FromCaseIn):
    """A case of the disputes module (07) the caller sees, taken into mediation: 201 with the new dispute, 200
    with the dispute the case went to before. 404: a case the caller does not see; 422: a case of another
    module."""
    result = services.do_open_from_case(
        payload.case,
        actor=request.user,
        kind=payload.kind or None,
        title=payload.title,
        risk=payload.risk,
        language=payload.language,
        amount=payload.amount,
        parties=_parties(payload.parties),
        ip=client_ip(request),
    )
    return Status(201 if result.created else 200, _fresh(request, result.dispute))


@router.get(
    "/disputes/{number}",
    response={200: DisputeDetail, **READ_ERRORS},
    url_name="dispute_detail",
    summary="A dispute",
)
def dispute_detail(request: HttpRequest, number: DisputeKey):
    """A dispute the caller sees (by number or id), with its parties (masked), sessions, outcome, follow-up
    visits and timeline; any other answers 404."""
    _reader(request)
    return _detail(request, selectors.dispute_for(request.user, number))


@router.post(
    "/disputes/{number}/parties",
    response={201: DisputePartyOut, **WRITE_ERRORS},
    url_name="dispute_party_add",
    summary="Add a party",
)
def party_add(request: HttpRequest, number: DisputeKey, payload: MediationPartyIn):
    """Add a party to an open dispute. A bad ID number or phone is refused naming the field."""
    dispute = selectors.dispute_for(request.user, number)
    party = services.do_add_party(dispute, payload.dict(), actor=request.user, ip=client_ip(request))
    return Status(201, _party(party))


@router.put(
    "/disputes/{number}/parties/{party_id}",
    response={200: DisputePartyOut, **WRITE_ERRORS},
    url_name="dispute_party_update",
    summary="Replace a party's details",
)
def party_update(request: HttpRequest, number: DisputeKey, party_id: Id, payload: MediationPartyIn):
    """Replace every detail of a party of an open dispute (an ID number or phone left empty is removed)."""
    dispute = selectors.dispute_for(request.user, number)
    if not Party.objects.filter(pk=party_id, dispute=dispute).exists():
        from .errors import PartyNotFound

        raise PartyNotFound
    party = services.do_update_party(party_id, payload.dict(), actor=request.user, ip=client_ip(request))
    return _party(party)


@router.get(
    "/disputes/{number}/suggestions",
    response={200: list[MediatorSuggestion], **READ_ERRORS},
    url_name="dispute_suggestions",
    summary="Mediators to suggest",
)
def suggestions(request: HttpRequest, number: DisputeKey):
    """The mediators of the dispute's committee (before assignment, the nearest committee above its grid) whose
    area covers it: those good at the dispute's kind first, then those who speak the parties' language, then
    the least busy."""
    _reader(request)
    dispute = selectors.dispute_for(request.user, number)
    found = selectors.suggest_mediators(dispute)
    areas = _areas([s.mediator.pk for s in found])
    return [
        MediatorSuggestion(
            mediator=MediatorRef(id=s.mediator.pk, name=s.mediator.name),
            committee=_committee_ref(s.mediator.committee),
            kind_label=label(MediatorKind, s.mediator.kind),
            skilled=s.skilled,
            speaks=s.speaks,
            open_disputes=s.open_disputes,
            areas=areas.get(s.mediator.pk, []),
        )
        for s in found
    ]


@router.post(
    "/disputes/{number}/assign",
    response={200: DisputeDetail, **WRITE_ERRORS},
    url_name="dispute_assign",
    summary="Assign the committee and mediators",
)
def assign(request: HttpRequest, number: DisputeKey, payload: AssignIn):
    """Give the open dispute to a committee covering its grid (at its level or higher), with a lead mediator and
    assisting ones of that committee. Reassigning replaces them."""
    dispute = selectors.dispute_for(request.user, number)
    services.do_assign(
        dispute,
        actor=request.user,
        committee=payload.committee,
        lead=payload.lead,
        assistants=payload.assistants,
        ip=client_ip(request),
    )
    return _fresh(request, dispute)


@router.post(
    "/disputes/{number}/sessions",
    response={201: SessionOut, **WRITE_ERRORS},
    url_name="dispute_session",
    summary="Record a mediation session",
)
def session_record(request: HttpRequest, number: DisputeKey, payload: SessionIn):
    """Record a session held at `held_at` (between the dispute's receipt and now) by the mediators named (of the
    handling committee, or assigned to the dispute), with the parties present. Send it with an
    `Idempotency-Key` header: the same key again answers the first session and records no second one."""
    dispute = selectors.dispute_for(request.user, number)
    session = services.do_record_session(
        dispute,
        actor=request.user,
        held_at=payload.held_at,
        mediators=payload.mediators,
        place=payload.place,
        parties_present=payload.parties_present,
        others_present=payload.others_present,
        notes=payload.notes,
        next_steps=payload.next_steps,
        ip=client_ip(request),
    )
    found = (
        Session.objects.filter(pk=session.pk)
        .select_related("created_by")
        .prefetch_related("mediators", "parties_present")
        .get()
    )
    return Status(201, _session(found))


@router.post(
    "/disputes/{number}/outcome",
    response={201: AgreementOut, **WRITE_ERRORS},
    url_name="dispute_outcome",
    summary="Record the outcome",
)
def outcome(request: HttpRequest, number: DisputeKey, payload: OutcomeIn):
    """The outcome after at least one session: `agreement`, `partial` (both need two parties and their terms,
    and schedule the follow-up visits) or `failed` (`terms` says why)."""
    dispute = selectors.dispute_for(request.user, number)
    agreement = services.do_record_outcome(
        dispute,
        actor=request.user,
        outcome=payload.outcome,
        terms=payload.terms,
        amount=payload.amount,
        performance_method=payload.performance_method,
        performance_due=payload.performance_due,
        signed_on=payload.signed_on,
        ip=client_ip(request),
    )
    return Status(201, _agreement(agreement))


@router.post(
    "/follow-ups/{follow_up_id}",
    response={200: FollowUpOut, **WRITE_ERRORS},
    url_name="follow_up_record",
    summary="Record a follow-up visit",
)
def follow_up_record(request: HttpRequest, follow_up_id: Id, payload: FollowUpIn):
    """A follow-up visit (回访) made: whether the agreement was performed. Once only (409 after); with an
    `Idempotency-Key` header the same call again answers the first."""
    visit = services.do_record_follow_up(
        follow_up_id,
        actor=request.user,
        result=payload.result,
        note=payload.note,
        done_at=payload.done_at,
        lon=payload.lon,
        lat=payload.lat,
        accuracy_m=payload.accuracy_m,
        ip=client_ip(request),
    )
    found = FollowUp.objects.select_related("dispute", "visitor").get(pk=visit.pk)
    return _follow_up(found, found.dispute.number, timezone.localdate())


@router.post(
    "/disputes/{number}/refer-up",
    response={200: DisputeDetail, **WRITE_ERRORS},
    url_name="dispute_refer_up",
    summary="Refer up to the committee above",
)
def refer_up(request: HttpRequest, number: DisputeKey, payload: ReferIn):
    """The committee above (the village's, then the town's) takes the dispute: it waits to be assigned there."""
    dispute = selectors.dispute_for(request.user, number)
    services.do_refer_up(dispute, actor=request.user, reason=payload.reason, ip=client_ip(request))
    return _fresh(request, dispute)


@router.post(
    "/disputes/{number}/hand-over",
    response={200: DisputeDetail, **WRITE_ERRORS},
    url_name="dispute_hand_over",
    summary="Hand over to the judicial office or a court",
)
def hand_over(request: HttpRequest, number: DisputeKey, payload: HandOverIn):
    """Hand a dispute mediation could not settle over (judicial office, court, petition office, police, labour
    arbitration) with a note; its whole record (`record.pdf`) goes with it."""
    dispute = selectors.dispute_for(request.user, number)
    services.do_hand_over(
        dispute, actor=request.user, to=payload.to, note=payload.note, ip=client_ip(request)
    )
    return _fresh(request, dispute)


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/disputes/{number}/agreement.pdf",
    response={200: None, **READ_ERRORS},
    url_name="dispute_agreement_pdf",
    summary="The mediation agreement (调解协议书) as PDF",
    openapi_extra=PDF_RESPONSE,
)
def agreement_document(request: HttpRequest, number: DisputeKey):
    """The agreement to print and sign, ID and phone numbers masked. 422: the dispute has no agreement (or its
    mediation failed), or a character no font can print (named)."""
    from .agreement_pdf import agreement_pdf

    _reader(request)
    dispute = selectors.dispute_for(request.user, number)
    return _pdf(agreement_pdf(dispute), f"{dispute.number}-调解协议书.pdf")


@router.get(
    "/disputes/{number}/record.pdf",
    response={200: None, **READ_ERRORS},
    url_name="dispute_record_pdf",
    summary="The whole record of a dispute as PDF",
    openapi_extra=PDF_RESPONSE,
)
def record_document(request: HttpRequest, number: DisputeKey):
    """Particulars, parties, sessions, outcome, follow-up visits and timeline, as handed over to the judicial
    office or a court. Numbers masked."""
    from .agreement_pdf import record_pdf

    _reader(request)
    dispute = selectors.dispute_for(request.user, number)
    return _pdf(record_pdf(dispute), f"{dispute.number}-调解卷宗.pdf")


# ---------------------------------------------------------------------------------------------- figures


@router.get(
    "/figures",
    response={200: MediationFigures, **READ_ERRORS},
    url_name="mediation_figures",
    summary="Figures",
)
def figures(request: HttpRequest, query: Query[MediationFiguresQuery]):
    """What mediation did in the caller's scope (a grid's subtree with `grid`) from `since` to `until` (local
    days, both included; default: this month): received, settled (in full, in part; at grid, village and town
    level), failed, handed over, still open, and the amounts."""
    user = _reader(request)
    today = timezone.localdate()
    since = query.since or today.replace(day=1)
    until = query.until or today
    if until < since:
        from .errors import Invalid

        raise Invalid(_("The end date is before the start date."), field="until")
    f = selectors.figures(user, since, until, query.grid or None)
    return MediationFigures(
        since=since,
        until=until,
        received=f.received,
        settled=f.settled,
        partial=f.partial,
        failed=f.failed,
        handed_over=f.handed_over,
        open=f.open,
        settled_grid=f.settled_grid,
        settled_village=f.settled_village,
        settled_town=f.settled_town,
        amount_at_stake=f.amount_at_stake,
        amount_agreed=f.amount_agreed,
        settled_rate=f.settled_rate,
    )


# ---------------------------------------------------------------------------------------------- committees


def _areas(ids: list[int]) -> dict[int, list[MediationGrid]]:
    through: Any = Mediator.areas.through.objects
    out: dict[int, list[MediationGrid]] = {}
    if not ids:
        return out
    rows = (
        through.filter(mediator_id__in=ids)
        .order_by("grid__path")
        .values_list("mediator_id", "grid_id", "grid__code", "grid__name")
    )
    for mediator_id, grid_id, code, name in rows:
        out.setdefault(mediator_id, []).append(MediationGrid(id=grid_id, code=code, name=name))
    return out


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


def _committees(user: Any) -> QuerySet[Committee]:
    open_here = (
        Dispute.objects.filter(committee_id=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("committee_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return selectors.committees(user, active=None).annotate(
        n_mediators=Count("mediators", filter=Q(mediators__active=True), distinct=True),
        n_open=Coalesce(Subquery(open_here, output_field=IntegerField()), 0),
    )


def _committee_out(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "level": c.level,
        "level_label": label(Level, c.level),
        "grid": _grid(c.grid),
        "address": c.address,
        "phone": c.phone,
        "active": c.active,
        "mediators": c.n_mediators,
        "open_disputes": c.n_open,
    }


@router.get(
    "/committees",
    response={200: list[CommitteeOut], **READ_ERRORS},
    url_name="committee_list",
    summary="Mediation committees",
)
def committee_list(request: HttpRequest):
    """The committees the caller sees (of their grids and above them), town first, with their mediators at work
    and open disputes."""
    user = _reader(request)
    return [CommitteeOut(**_committee_out(c)) for c in _committees(user)]


@router.get(
    "/committees/{committee_id}",
    response={200: CommitteeDetail, **READ_ERRORS},
    url_name="committee_detail",
    summary="A committee and its mediators",
)
def committee_detail(request: HttpRequest, committee_id: Id):
    """A committee the caller sees, with its mediators: skills, languages, areas, phone (masked) and open
    disputes; any other answers 404."""
    user = _reader(request)
    committee = _committees(user).filter(pk=committee_id).first()
    if committee is None:
        raise CommitteeNotFound
    people = list(
        visible_to(user, Mediator)
        .filter(committee=committee)
        .prefetch_related(
            Prefetch("areas", queryset=Grid.objects.only("id", "code", "name", "path").order_by("path"))
        )
        .order_by("-active", "name", "id")
    )
    load = _open_load([m.pk for m in people])
    ref = _committee_ref(committee)
    members = [
        MediatorOut(
            id=m.pk,
            name=m.name,
            kind=m.kind,
            kind_label=label(MediatorKind, m.kind),
            committee=ref,
            skills=[MediationChoice(value=s, label=label(DisputeKind, s)) for s in m.skills or []],
            languages=[MediationChoice(value=x, label=label(Language, x)) for x in m.languages or []],
            areas=[_grid(g) for g in m.areas.all()],
            phone=m.phone_masked,
            active=m.active,
            open_disputes=load.get(m.pk, 0),
        )
        for m in people
    ]
    return CommitteeDetail(**_committee_out(committee), members=members)


# ---------------------------------------------------------------------------------------------- the phone


def _risk_first(qs: QuerySet[Dispute]) -> QuerySet[Dispute]:
    rank = Choose(
        When(risk=RiskLevel.HIGH, then=Value(0)),
        When(risk=RiskLevel.MEDIUM, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return qs.annotate(risk_rank=rank).order_by("risk_rank", "received_at", "id")


@router.get(
    "/mine",
    response={200: MineOut, 401: Error, 403: Error},
    url_name="mediation_mine",
    summary="My mediation",
)
def mine(request: HttpRequest):
    """What a mediator's phone keeps: the open disputes they lead or assist in, and those of their committees
    not yet assigned to anybody, high risk first (for grid staff without a mediator record: the open disputes of
    their grids), each with its parties (ID numbers and phones masked) and mediators; the follow-up visits due
    within a week (the overdue first) of those disputes and of the settled ones; and the choices of the forms.
    At most 100 of each."""
    user = _reader(request)
    ids = mediator_ids(user)
    today = timezone.localdate()
    open_qs = selectors.disputes(user, state="open")
    visits = selectors.follow_ups_due(user, by=today + dt.timedelta(days=DUE_WITHIN_DAYS))
    if ids:
        committees = Mediator.objects.filter(pk__in=ids).values("committee_id")
        ours = assigned_q(user) | Q(committee_id__in=committees, lead_mediator__isnull=True)
        open_qs = open_qs.filter(ours)
        visits = visits.filter(
            dispute__in=Dispute.objects.filter(assigned_q(user) | Q(committee_id__in=committees))
        )
    rows = list(_risk_first(open_qs)[:MINE_LIMIT])
    pks = [d.pk for d in rows]
    parties: dict[int, list[DisputePartyOut]] = {}
    for p in Party.objects.filter(dispute_id__in=pks).order_by("id"):
        parties.setdefault(p.dispute_id, []).append(_party(p))
    through: Any = Dispute.assistants.through.objects
    helpers: dict[int, list[MediatorRef]] = {}
    for dispute_id, mediator_id, name in (
        through.filter(dispute_id__in=pks)
        .order_by("mediator__name")
        .values_list("dispute_id", "mediator_id", "mediator__name")
    ):
        helpers.setdefault(dispute_id, []).append(MediatorRef(id=mediator_id, name=name))
    held = {
        row["dispute_id"]: row
        for row in Session.objects.filter(dispute_id__in=pks)
        .order_by()
        .values("dispute_id")
        .annotate(n=Count("pk"), last=Max("held_at"))
    }

    def part(d: Dispute) -> str:
        if d.lead_mediator_id in ids:
            return "lead"
        if any(m.id in ids for m in helpers.get(d.pk, [])):
            return "assistant"
        return "committee" if ids else ""

    disputes = [
        MineDispute(
            **_summary_fields(d),
            description=d.description,
            address=d.address,
            language=d.language,
            language_label=label(Language, d.language),
            my_part=part(d),
            mediators=[m for m in [_mediator(d.lead_mediator), *helpers.get(d.pk, [])] if m is not None],
            parties=parties.get(d.pk, []),
            sessions=held.get(d.pk, {}).get("n", 0),
            last_session_at=_local(held.get(d.pk, {}).get("last")),
            version=d.version,
        )
        for d in rows
    ]
    due = [_follow_up(v, v.dispute.number, today) for v in visits.select_related("visitor")[:MINE_LIMIT]]
    choices = MineChoices(
        kinds=_choices(DisputeKind),
        risks=_choices(RiskLevel),
        languages=_choices(Language),
        party_roles=_choices(PartyRole),
        outcomes=_choices(Outcome),
        follow_up_results=_choices(FollowUpResult),
        hand_over_to=_choices(HandOverTo),
        states=_choices(DisputeState),
        levels=_choices(Level),
    )
    return MineOut(disputes=disputes, follow_ups_due=due, choices=choices)
