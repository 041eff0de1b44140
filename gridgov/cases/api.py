"""The case API: intake, lists and role-aware queues, a case's detail, workflow actions, "me too", evidence,
the reporter's unmasking (audited) and the inbox.

Parse, call a service or a selector, shape the answer. Every read starts from `visible_to`, so a case outside
the caller's scope answers 404 exactly like a case that does not exist; a refusal of the case engine
(`CaseError`) is answered by the API's exception handler with its status and `{code, message, field}`.

Workflow actions and intake take `multipart/form-data` (fields + `files`), so that photos travel with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models import Case as Conditional
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from gridgov.accounts.choices import Role
from gridgov.catalog.models import Item
from gridgov.catalog.selectors import route
from gridgov.core.audit import client_ip
from gridgov.core.models import OutboxEvent
from gridgov.core.paging import newest_first
from gridgov.core.schemas import READ_ERRORS, PageQuery, error_body
from gridgov.core.scoping import visible_to

from . import selectors, services, story
from .choices import OPEN_STATES, Queue, ReporterKind, State
from .errors import Duplicate, NotAllowed
from .models import Assignment, Case, Evidence, Notification
from .notify import link_of, render
from .schemas import (
    Candidate,
    CaseDetail,
    CaseItem,
    CaseListQuery,
    CaseNumber,
    CasePage,
    CaseSummary,
    ChangesOut,
    ChangesQuery,
    ConflictError,
    Error,
    Id,
    InboxPage,
    InboxQuery,
    InboxReadIn,
    InboxReadOut,
    IntakeOut,
    ItemRef,
    MeTooIn,
    MeTooOut,
    NotificationOut,
    QueueCount,
    ReporterFull,
    ReportIn,
    StepIn,
    Suggestion,
    TriageQuery,
    WorkflowAction,
)
from .scoping import GRID_READERS, held_roles, is_county_wide
from .story import PUBLIC_TYPES
from .story import evidence_type as _evidence_type
from .story import item_fields as _item_fields
from .story import label as _label
from .story import local as _local
from .story import ref as _ref

router = Router(tags=["cases"])

# What every operation may answer besides its success.
# The case engine's 409 may carry the "already reported" offer.
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ConflictError}

ME_TOO_SALT = "gridgov.cases.me_too"
ME_TOO_MAX_AGE = 24 * 3600
EXCERPT = 80

# ------------------------------------------------------------------------------------------------- errors


def _refusal(message: str) -> dict[str, Any]:
    return error_body(NotAllowed(message))


# ------------------------------------------------------------------------------------------------- shaping


def _items(cases: Iterable[Case]) -> list[CaseItem]:
    now = timezone.now()
    return [CaseItem(**_item_fields(c, now)) for c in cases]


def _page(qs: QuerySet[Case], page: PageQuery) -> CasePage:
    """Keyset paging on the id, newest first: no COUNT of the whole list, one row more tells `has_more`."""
    rows, more = newest_first(qs, page.before, page.limit)
    return CasePage(items=_items(rows), has_more=more, next_before=rows[-1].pk if more else None)


def _summary(case: Case) -> CaseSummary:
    return CaseSummary(
        number=case.number,
        state=case.state,
        state_label=_label(State, case.state),
        supporters_count=case.supporters_count,
    )


def _detail(request: HttpRequest, case: Case) -> CaseDetail:
    return story.detail(request.user, case)


def _case_detail(request: HttpRequest, number: str) -> CaseDetail:
    return _detail(request, selectors.get_case(request.user, number))


def _me_too_token(case: Case, user: Any) -> str:
    return signing.dumps({"case": case.pk, "user": user.pk}, salt=ME_TOO_SALT, compress=True)


def _token_names(token: str, case: Case, user: Any) -> bool:
    if not token:
        return False
    try:
        data = signing.loads(token, salt=ME_TOO_SALT, max_age=ME_TOO_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("case") == case.pk and data.get("user") == user.pk


def _candidates(exc: Duplicate, user: Any) -> list[Candidate]:
    return candidates(exc.data.get("candidates", []), user)


def candidates(found: Iterable[Any], user: Any) -> list[Candidate]:
    """The "already reported" offer: each open case of `found` (duplicates.Candidate) with its token."""
    out = []
    for c in found:
        case = c.case
        text = " ".join(case.description.split())
        out.append(
            Candidate(
                number=case.number,
                excerpt=text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…",
                distance_m=round(c.distance_m, 1),
                supporters_count=case.supporters_count,
                state=case.state,
                state_label=_label(State, case.state),
                me_too_token=_me_too_token(case, user),
            )
        )
    return out


# ------------------------------------------------------------------------------------------------- intake


@router.post(
    "/",
    response={200: IntakeOut, 201: IntakeOut, **WRITE_ERRORS},
    url_name="case_intake",
    summary="Report a case",
)
def intake(
    request: HttpRequest,
    payload: Form[ReportIn],
    files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    """Intake for every channel: 201 with the new case; 200 with the first case when its idempotency key was
    seen before, or with the open case a device alarm joined. The key is the `idempotency_key` field, or else
    the `Idempotency-Key` header: intake keeps it as the case's own key (settings.IDEMPOTENCY_OWN_KEY), so a
    repeated report answers 200 with its first case rather than the first answer replayed.
    409 `already_reported` offers the open cases the report may be (`candidates`, nearest first): say "me too"
    to one (`POST /{number}/me-too` with its `me_too_token`), or send the report again with `force=true`."""
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    report = services.Report(
        channel=payload.channel,
        description=payload.description,
        item=payload.item,
        urgency=payload.urgency,
        lon=payload.lon,
        lat=payload.lat,
        crs=payload.crs,
        grid=payload.grid,
        address=payload.address,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        confidential=payload.confidential,
        idempotency_key=key,
        files=files or [],
        force=payload.force,
    )
    try:
        result = services.do_report(report, actor=request.user, ip=client_ip(request))
    except Duplicate as exc:
        return Status(409, {**error_body(exc), "candidates": _candidates(exc, request.user)})
    # The receipt, not the whole case page: intake must stay cheap (the app asks for the page when it shows it).
    visible = (
        # A resident always sees their own report (no query); staff see what their scope holds.
        (result.case.reporter_kind == ReporterKind.RESIDENT and result.case.reporter_id == request.user.pk)
        or visible_to(request.user, Case).filter(pk=result.case.pk).exists()
    )
    out = IntakeOut(
        created=result.created,
        joined=result.joined,
        summary=_summary(result.case),
        case=CaseItem(**_item_fields(result.case, timezone.now())) if visible else None,
    )
    return Status(201 if result.created else 200, out)


# ------------------------------------------------------------------------------------------------- lists


@router.get("/", response={200: CasePage, **READ_ERRORS}, url_name="case_list", summary="Cases")
def case_list(request: HttpRequest, filters: Query[CaseListQuery], page: Query[PageQuery]):
    """The cases the caller may see, newest first, filtered; paged by `before` (the `next_before` of the
    previous page). `has_more` says whether another page follows (nothing counts the whole list)."""
    f = selectors.CaseFilter(
        state=[str(s) for s in filters.state] if filters.state else None,
        queue=filters.queue,
        item=filters.item,
        module=filters.module,
        grid=filters.grid,
        department=filters.department,
        channel=filters.channel,
        number=filters.number,
        phone=filters.phone,
        since=filters.since,
        until=filters.until,
        q=filters.q,
    )
    return _page(selectors.case_list(request.user, f), page)


@router.get(
    "/queues", response={200: list[QueueCount], **READ_ERRORS}, url_name="case_queues", summary="Work queues"
)
def queues(request: HttpRequest):
    """Every queue with the number of the caller's cases in it: 待受理, 待派遣, 待签收, 处置中, 待核查, 即将超期,
    已超期, 督办中. For a department's member the sign and handling queues hold what their unit must do."""
    counts = selectors.queue_counts(request.user)
    return [QueueCount(name=q.value, label=str(q.label), count=counts.get(q.value) or 0) for q in Queue]


@router.get(
    "/queues/{name}", response={200: CasePage, **READ_ERRORS}, url_name="case_queue", summary="A work queue"
)
def queue(request: HttpRequest, name: Queue, page: Query[PageQuery]):
    """The cases of one queue, newest first, paged like the list."""
    return _page(selectors.queue(request.user, name), page)


# ------------------------------------------------------------------------------------------------- inbox


@router.get("/inbox", response={200: InboxPage, **READ_ERRORS}, url_name="case_inbox", summary="Inbox")
def inbox(request: HttpRequest, filters: Query[InboxQuery], page: Query[PageQuery]):
    """The caller's notifications, newest first, in the language of the request; `unread=true` for the
    unread ones only."""
    qs = selectors.inbox(request.user, unread=filters.unread)
    rows, more = newest_first(qs, page.before, page.limit)
    return InboxPage(
        items=[
            NotificationOut(
                id=n.pk,
                kind=n.kind,
                text=render(n.kind, n.data),
                case=n.case.number if n.case is not None else None,
                link=link_of(n.kind, n.data),
                created_at=_local(n.created_at),
                read_at=_local(n.read_at),
            )
            for n in rows
        ],
        has_more=more,
        next_before=rows[-1].pk if more else None,
        unread_count=selectors.inbox(request.user, unread=True).count(),
    )


@router.post(
    "/inbox/read",
    response={200: InboxReadOut, 400: Error, **READ_ERRORS},
    url_name="case_inbox_read",
    summary="Mark notifications read",
)
def inbox_read(request: HttpRequest, payload: InboxReadIn):
    """Mark the caller's notifications `ids` read, or all of them with `all=true`."""
    user: Any = request.user
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if not payload.all:
        qs = qs.filter(pk__in=payload.ids)
    marked = qs.update(read_at=timezone.now())
    return InboxReadOut(marked=marked, unread_count=selectors.inbox(request.user, unread=True).count())


# ------------------------------------------------------------------------------------------------- triage


@router.get(
    "/triage",
    response={200: list[Suggestion], **READ_ERRORS},
    url_name="case_triage",
    summary="Suggest the item of a report (operators)",
)
def suggest(request: HttpRequest, query: Query[TriageQuery]):
    """The likeliest items of the responsibility list for a report's text, best first, with the department
    that would lead and the model's confidence (0–1). Empty without a trained model."""
    if not any(h.role == Role.OPERATOR for h in held_roles(request.user)):
        return Status(403, _refusal(_("Only command-centre operators may use triage.")))
    from . import triage  # scikit-learn loads on the first suggestion, not with the API

    ranked = triage.suggest(query.text, limit=query.limit)
    items = Item.objects.in_bulk([s.item_id for s in ranked])
    out = []
    for s in ranked:
        item = items.get(s.item_id)
        if item is None:
            continue
        out.append(
            Suggestion(
                item=ItemRef(code=item.code, name=item.label),
                department=_ref(route(item, None).lead),
                confidence=round(s.confidence, 4),
            )
        )
    return out


# ------------------------------------------------------------------------------------------------- live pages
# Above "one case": `/{number}` would take `/changes` for a case number.

# How long before the page was made the first cursor stops: an event is written shortly before its commit
# (the audit head is locked last), so one the page's query did not see may carry an earlier time.
LIVE_MARGIN = dt.timedelta(seconds=5)
# At most this many events are looked at per call on the department path (see `changes`); a page that falls
# further behind catches up over the next calls.
LIVE_BATCH = 2000


@dataclass(frozen=True)
class _LiveScope:
    """Which events concern a user's pages: `everything`, or those of the level-1 grids `towns` and of the
    cases that the departments `units` were assigned to (a grid guide's: `guided`, inside a town)."""

    everything: bool = False
    towns: frozenset[int] = frozenset()
    units: frozenset[int] = frozenset()
    guided: tuple[tuple[int | None, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.everything or self.towns or self.units or self.guided)


def _town_of(path: str) -> int | None:
    """The level-1 grid of a grid path (None for the county, which holds every town)."""
    ids = path.strip("/").split("/")
    return int(ids[1]) if len(ids) > 1 else None


def _live_scope(user: Any) -> _LiveScope:
    """As wide as the user's case scope (`cases.scoping.case_q`), on what an outbox event carries: its
    level-1 grid, and the case in its payload. Residents and roles without cases have none."""
    if is_county_wide(user):
        return _LiveScope(everything=True)
    towns: set[int] = set()
    units: set[int] = set()
    guided: list[tuple[int | None, int]] = []
    for h in held_roles(user):
        if h.role in GRID_READERS and h.grid_path:
            town = _town_of(h.grid_path)
            if town is None:
                return _LiveScope(everything=True)
            towns.add(town)
        elif h.role == Role.DEPT_HANDLER and h.department_id:
            units.add(h.department_id)
        elif h.role == Role.GRID_GUIDE and h.department_id and h.grid_path:
            guided.append((_town_of(h.grid_path), h.department_id))
    return _LiveScope(towns=frozenset(towns), units=frozenset(units), guided=tuple(guided))


def _assigned(departments: Iterable[int]) -> Exists:
    """Events whose case (`case_ref`, from the payload) was ever assigned to one of `departments`."""
    return Exists(Assignment.objects.filter(case_id=OuterRef("case_ref"), department_id__in=departments))


def _scope_q(scope: _LiveScope) -> Q:
    q = Q(grid_l1_id__in=scope.towns) if scope.towns else Q(pk__in=[])
    if scope.units:
        q |= Q(_assigned(scope.units))
    for town, unit in scope.guided:
        q |= Q(_assigned([unit])) & (Q(grid_l1_id=town) if town is not None else Q())
    return q


@router.get(
    "/changes",
    response={200: ChangesOut, **READ_ERRORS},
    url_name="case_changes",
    summary="Has anything changed? (live pages)",
)
def changes(request: HttpRequest, query: Query[ChangesQuery]):
    """Whether a case in the caller's scope changed after the event `after` (the `latest` of the previous
    answer): the workbench's queue pages ask twice a second while they are shown, and fetch their rows again
    when it did. The first call gives no `after`, only `since` (when the page was made) and gets the cursor.
    The answer is a hint, never data: the page then reads its own scoped list. 403 for users whose roles
    hold no cases (residents follow their reports elsewhere).

    `latest` is the newest event of the caller's towns; for department users (whose cases lie anywhere) it
    is the newest event looked at, so that the next call starts after it."""
    scope = _live_scope(request.user)
    if not scope:
        return Status(403, _refusal(_("Live updates are for staff whose roles hold cases.")))
    events = OutboxEvent.objects.order_by()
    towns_only = not (scope.everything or scope.units or scope.guided)
    if towns_only:
        # One range of the (grid_l1_id, id) index per town: quiet towns cost nothing however far back `after` is.
        events = events.filter(grid_l1_id__in=scope.towns)
    if query.after is None:
        if query.since is not None:
            events = events.filter(created_at__lt=query.since - LIVE_MARGIN)
        # A town's newest by id (outbox_scope); the county's by time (outbox_time): with a time bound, SQLite
        # would walk the time index and sort rather than walk the ids back.
        newest_first = "-pk" if towns_only else "-created_at"
        latest = events.order_by(newest_first).values_list("pk", flat=True).first()
        return ChangesOut(latest=latest or 0, changed=False)
    if towns_only or scope.everything:
        newest = events.filter(pk__gt=query.after).aggregate(newest=Max("pk"))["newest"]
        return ChangesOut(latest=newest or query.after, changed=newest is not None)
    # Departments: the case is in the payload, not in an indexed column; look at the next events by id.
    window = (
        events.filter(pk__gt=query.after)
        .annotate(case_ref=Cast(KT("payload__case"), BigIntegerField()))
        .annotate(mine=Conditional(When(_scope_q(scope), then=F("pk")), default=None))
        .order_by("pk")[:LIVE_BATCH]
    )
    seen = window.aggregate(newest=Max("pk"), newest_mine=Max("mine"))
    return ChangesOut(latest=seen["newest"] or query.after, changed=seen["newest_mine"] is not None)


# ------------------------------------------------------------------------------------------------- one case


@router.get("/{number}", response={200: CaseDetail, **READ_ERRORS}, url_name="case_detail", summary="A case")
def detail(request: HttpRequest, number: CaseNumber):
    """The case with its history, clocks, units, evidence and conversation, the reporter as the caller may
    see them (masked; null when not), and the `actions` the caller may take now."""
    return _case_detail(request, number)


@router.post(
    "/{number}/actions/{action}",
    response={200: CaseDetail, **WRITE_ERRORS},
    url_name="case_action",
    summary="Take a workflow action",
)
def take_action(
    request: HttpRequest,
    number: CaseNumber,
    action: WorkflowAction,
    step: Form[StepIn],
    files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    before_files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    """One step of the workflow (the transition table says who may take which action from which state and
    which fields it requires). Answers the case as it is now. 403: the caller sees the case but may not take
    this action; 409: not in this state, or changed meanwhile (`expected_version`); 422: a field is missing or
    wrong (`field` names it)."""
    services.do_transition(
        number,
        str(action.value),
        services.Step(
            reason=step.reason,
            note=step.note,
            files=files or [],
            before_files=before_files or [],
            unit=step.unit,
            assisting=step.assisting,
            card=step.card,
            rating=step.rating,
            minutes=step.minutes,
            into=step.into,
            extension=step.extension,
            item=step.item,
            urgency=step.urgency,
            grid=step.grid,
            public=step.public,
            supervision=step.supervision,
            expected_version=step.expected_version,
        ),
        actor=request.user,
        ip=client_ip(request),
    )
    return _case_detail(request, number)


@router.post(
    "/{number}/me-too",
    response={200: MeTooOut, **WRITE_ERRORS},
    url_name="case_me_too",
    summary='Say "me too"',
)
def me_too(request: HttpRequest, number: CaseNumber, payload: Form[MeTooIn]):
    """Join an open case instead of reporting it again: the caller is told of its progress and counted among
    its supporters. The case is one the caller sees, or one offered to them by an "already reported" answer
    (its `me_too_token`). Answers the public summary only."""
    case = Case.objects.filter(number=number, state__in=OPEN_STATES).first()
    if case is None:
        raise Http404
    user = request.user
    if not (
        _token_names(payload.token, case, user) or selectors.visible_cases(user).filter(pk=case.pk).exists()
    ):
        raise Http404
    result = services.do_me_too(case, actor=user, ip=client_ip(request))
    return MeTooOut(**_summary(result.case).dict(), joined=result.joined)


@router.get(
    "/{number}/evidence/{evidence_id}",
    response={200: None, **READ_ERRORS},
    url_name="case_evidence",
    summary="An evidence file (public copy)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The public copy (metadata removed)",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}} for t in PUBLIC_TYPES.values()
                },
            }
        }
    },
)
def evidence(request: HttpRequest, number: CaseNumber, evidence_id: Id):
    """The public copy of a photo or video of the case: no location or device metadata. The original stays
    internal."""
    case = selectors.get_case(request.user, number)
    ev = visible_to(request.user, Evidence).filter(case=case, pk=evidence_id).first()
    if ev is None:
        raise Http404
    try:
        handle = ev.public.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    ext = ev.public.name[ev.public.name.rfind(".") :] if "." in ev.public.name else ""
    response = FileResponse(
        handle, content_type=_evidence_type(ev), filename=f"{case.number}-{ev.pk}{ext}", as_attachment=False
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@router.post(
    "/{number}/reporter/unmask",
    response={200: ReporterFull, **READ_ERRORS},
    url_name="case_unmask_reporter",
    summary="Show who reported (operators; audited)",
)
def unmask_reporter(request: HttpRequest, number: CaseNumber):
    """The reporter's full name and phone, for an operator who must call them back. Every call is written to
    the audit log."""
    full = story.unmask_reporter(request.user, selectors.get_case(request.user, number), client_ip(request))
    if full is None:
        return Status(403, _refusal(_("Only command-centre operators may see who reported.")))
    return full
