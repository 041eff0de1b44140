"""A case's whole story as one user may read it: its facts, history, clocks, units, evidence, conversation,
supervision notices, extension requests, the reporter (masked) and the actions the user may take now.

Shaped once, here, for both the API (`cases.api`) and the case page (`cases.views.detail`): every read starts
from `visible_to`, and what a resident may not read (staff notes, supervision, the notes of internal steps)
is left out before anything is shaped."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import Any, overload

from django.urls import reverse
from django.utils import timezone

from gridgov.core.audit import atomic_record
from gridgov.core.choices import label
from gridgov.core.scoping import visible_to

from . import selectors, services
from .choices import (
    Action,
    AssignmentKind,
    Capacity,
    Card,
    Channel,
    Colour,
    EvidencePhase,
    ExtensionState,
    Rating,
    ReporterKind,
    State,
)
from .models import Case, CaseEvent, Comment, Evidence, Extension, Supervision
from .personal import reporter_identity
from .schemas import (
    ActionOut,
    AssignmentOut,
    CaseDetail,
    CommentOut,
    DeadlineOut,
    EventOut,
    EvidenceOut,
    ExtensionOut,
    GridRef,
    ItemRef,
    Ref,
    ReporterFull,
    ReporterOut,
    SupervisionOut,
)
from .scoping import staff_roles
from .workflow import BY_ACTION

# The public copy's type from its stored name (HEIC becomes JPEG; the row keeps the original's type).
PUBLIC_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
}
# Steps among staff: a resident reading their case sees that they happened, not their notes.
INTERNAL_ACTIONS = frozenset(
    {
        Action.SUPERVISE,
        Action.REQUEST_EXTENSION,
        Action.APPROVE_EXTENSION,
        Action.DENY_EXTENSION,
        Action.ESCALATE,
        Action.RETURN,
        Action.REASSIGN,
        Action.ASSIST_SIGN,
        Action.ASSIST_FEEDBACK,
        Action.ME_TOO,
        Action.MERGE,
    }
)


@overload
def local(value: datetime) -> datetime: ...
@overload
def local(value: datetime | None) -> datetime | None: ...
def local(value: datetime | None) -> datetime | None:
    """A stored (UTC) time as shown: Asia/Shanghai, with its offset."""
    return timezone.localtime(value) if value is not None else None


def name(user: Any) -> str:
    return (user.full_name or user.username) if user is not None else ""


def ref(obj: Any) -> Ref | None:
    return Ref(code=obj.code, name=obj.label) if obj is not None else None


def item_fields(case: Case, now: datetime) -> dict[str, Any]:
    """The fields of a case in a list (`CaseItem`)."""
    colour = selectors.colour(case, now)
    item = case.item
    return {
        "number": case.number,
        "state": case.state,
        "state_label": label(State, case.state),
        "colour": colour,
        "colour_label": label(Colour, colour) if colour else "",
        "item": ItemRef(code=item.code, name=item.label) if item is not None else None,
        "grid": GridRef(code=case.grid.code, name=case.grid.name, level=case.grid.level),
        "lead_department": ref(case.lead_department),
        "channel": case.channel,
        "channel_label": label(Channel, case.channel),
        "urgency": case.urgency,
        "created_at": local(case.created_at),
        "due_at": local(case.due_at),
        "level": case.level,
        "supervised": case.supervised,
        "card": case.card,
        "supporters_count": case.supporters_count,
    }


def events(user: Any, case: Case, staff: bool) -> list[EventOut]:
    """Every step of the case in order; for a resident without staff notes and the notes of internal steps."""
    out = []
    rows = visible_to(user, CaseEvent).filter(case=case).select_related("actor").order_by("seq")
    for e in rows:
        internal = not staff and e.action in INTERNAL_ACTIONS
        if not staff and e.action == Action.COMMENT and not e.data.get("public", True):
            continue  # a note among staff
        shown = selectors.shown_name(user, case, e.actor, e.capacity, e.action)
        out.append(
            EventOut(
                seq=e.seq,
                action=e.action,
                action_label=label(Action, e.action),
                actor=shown,
                capacity=e.capacity,
                capacity_label=label(Capacity, e.capacity) if e.capacity else "",
                from_state=e.from_state,
                to_state=e.to_state,
                level=e.level,
                note="" if internal else e.note,
                data={} if internal else e.data,
                created_at=local(e.created_at),
            )
        )
    return out


def evidence_type(ev: Evidence) -> str:
    ext = ev.public.name[ev.public.name.rfind(".") :].lower() if "." in ev.public.name else ""
    return PUBLIC_TYPES.get(ext) or mimetypes.guess_type(ev.public.name)[0] or ev.content_type


def actions(user: Any, case: Case) -> list[ActionOut]:
    """The actions `user` may take on `case` now, with the fields each requires."""
    out = []
    for action in services.allowed_actions(user, case):
        requires = sorted("files" if f == "evidence" else f for f in BY_ACTION[action].requires)
        out.append(ActionOut(action=action, label=label(Action, action), requires=requires))
    return out


def detail(user: Any, case: Case) -> CaseDetail:
    """The whole story of `case` as `user` may read it (`case` from `selectors.get_case`)."""
    now = timezone.now()
    staff = staff_roles(user)
    reporter = selectors.reporter_of(user, case)
    evidence = [
        EvidenceOut(
            id=ev.pk,
            phase=ev.phase,
            phase_label=label(EvidencePhase, ev.phase),
            kind=ev.kind,
            content_type=evidence_type(ev),
            url=reverse("api:case_evidence", kwargs={"number": case.number, "evidence_id": ev.pk}),
            created_at=local(ev.created_at),
        )
        for ev in visible_to(user, Evidence).filter(case=case).order_by("id")
    ]
    comments = [
        CommentOut(
            id=c.pk,
            author=selectors.shown_name(user, case, c.author, c.capacity) or "",
            capacity=c.capacity,
            capacity_label=label(Capacity, c.capacity),
            text=c.text,
            public=c.public,
            supervision=c.supervision_id,
            created_at=local(c.created_at),
        )
        for c in visible_to(user, Comment).filter(case=case).select_related("author").order_by("id")
    ]
    supervisions: list[SupervisionOut] = []
    extensions: list[ExtensionOut] = []
    if staff:
        supervisions = [
            SupervisionOut(
                id=s.pk,
                card=s.card,
                card_label=label(Card, s.card),
                reason=s.reason,
                stage=s.stage,
                by=name(s.by) if s.by is not None else None,
                created_at=local(s.created_at),
            )
            for s in Supervision.objects.filter(case=case).select_related("by").order_by("id")
        ]
        extensions = [
            ExtensionOut(
                id=x.pk,
                minutes=x.minutes,
                reason=x.reason,
                state=x.state,
                state_label=label(ExtensionState, x.state),
                requested_by=name(x.requested_by),
                requested_at=local(x.requested_at),
                decided_at=local(x.decided_at),
                decision_note=x.decision_note,
            )
            for x in Extension.objects.filter(case=case).select_related("requested_by").order_by("id")
        ]
    return CaseDetail(
        **item_fields(case, now),
        description=case.description,
        component_code=case.component_code,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        stage=case.stage,
        closed_at=local(case.closed_at),
        routed_department=ref(case.routed_department),
        rating=case.rating,
        rating_label=label(Rating, case.rating) if case.rating else "",
        version=case.version,
        reporter=ReporterOut(kind_label=label(ReporterKind, reporter["kind"]), **reporter)
        if reporter is not None
        else None,
        actions=actions(user, case),
        events=events(user, case, staff),
        deadlines=[
            DeadlineOut(
                stage=d.stage,
                stage_label=d.get_stage_display(),
                minutes=d.minutes,
                started_at=local(d.started_at),
                due_at=local(d.due_at),
                paused_at=local(d.paused_at),
                done_at=local(d.done_at),
                met=d.met,
            )
            for d in case.deadlines.order_by("id")
        ],
        assignments=[
            AssignmentOut(
                department=Ref(code=a.department.code, name=a.department.label),
                kind=a.kind,
                kind_label=label(AssignmentKind, a.kind),
                active=a.active,
                dispatched_at=local(a.dispatched_at),
                signed_at=local(a.signed_at),
                fed_back_at=local(a.fed_back_at),
                ended_at=local(a.ended_at),
            )
            for a in case.assignments.select_related("department").order_by("id")
        ],
        evidence=evidence,
        supervisions=supervisions,
        extensions=extensions,
        comments=comments,
    )


def unmask_reporter(user: Any, case: Case, ip: str | None) -> ReporterFull | None:
    """The reporter's full name and phone for an operator whose centre holds the case (None for anyone else),
    the reading written to the audit log."""
    if not selectors.may_unmask(user, case):
        return None
    full_name, phone = reporter_identity(case)
    atomic_record("case.unmask_reporter", actor=user, target=case, data={"number": case.number}, ip=ip)
    return ReporterFull(
        kind=case.reporter_kind,
        kind_label=label(ReporterKind, case.reporter_kind),
        name=full_name,
        phone=phone,
    )
