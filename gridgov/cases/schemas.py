"""Pydantic schemas of the case API: what intake and the workflow take, what lists, queues, the detail and the
inbox answer, and the one error shape every refusal uses.

Times are ISO 8601 with their offset (Asia/Shanghai). Every enumerated value comes with its translated label."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from ninja import Schema
from pydantic import AwareDatetime, Field

from gridgov.catalog.models import Urgency
from gridgov.core.schemas import MAX_ID, Error, Id, optional

from .choices import Card, Channel, Queue, Rating, State
from .workflow import BY_ACTION

# Case numbers read aloud: `20261126-0123`.
CaseNumber = Annotated[str, Field(min_length=1, max_length=20)]


Longitude = Annotated[float, Field(allow_inf_nan=False)]
Latitude = Annotated[float, Field(allow_inf_nan=False)]

# The workflow's actions as a path parameter: the rows of the transition table, nothing else.
WorkflowAction = StrEnum("WorkflowAction", {action: str(action) for action in BY_ACTION})  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------- errors
# Error, FieldProblem and ValidationError are the project's (core.schemas); the engine adds the 409's offer.


class Candidate(Schema):
    """An open case the same report may be: the client offers "me too" with `me_too_token`."""

    number: str
    excerpt: str
    distance_m: float
    supporters_count: int
    state: str
    state_label: str
    me_too_token: str


class ConflictError(Error):
    """409: the wrong state, somebody changed the case meanwhile, or already reported (with `candidates`)."""

    candidates: list[Candidate] = []


# ------------------------------------------------------------------------------------------------- parts


class Ref(Schema):
    code: str
    name: str


class GridRef(Ref):
    level: int


class ItemRef(Ref):
    pass


# ------------------------------------------------------------------------------------------------- intake


class ReportIn(Schema):
    """A report. Say where with `lon`/`lat` (in `crs`: wgs84, gcj02 or bd09), a grid code, or an address."""

    channel: Channel = Channel.RESIDENT_APP
    description: str
    item: str | None = optional()  # item code of the responsibility list
    urgency: Urgency | None = optional()
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()
    crs: str = "wgs84"
    grid: str | None = optional()
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    confidential: bool = False
    # The client's key of this report: sending it again returns the first case (also read from the
    # `Idempotency-Key` header).
    idempotency_key: str | None = optional()
    # Report anyway after the "already reported" offer.
    force: bool = False


class CaseSummary(Schema):
    """What anybody who said "me too" may know of a case."""

    number: str
    state: str
    state_label: str
    supporters_count: int


class IntakeOut(Schema):
    created: bool
    # Joined an open case instead ("me too" of a device alarm).
    joined: bool
    summary: CaseSummary
    # The case as a list shows it (null when the caller may not see it); GET /{number} for the whole page.
    case: CaseItem | None


class MeTooIn(Schema):
    # From the `candidates` of an "already reported" answer; not needed for a case the caller sees.
    token: str = ""


class MeTooOut(CaseSummary):
    joined: bool


# ------------------------------------------------------------------------------------------------- lists


class CaseListQuery(Schema):
    state: list[State] | None = optional()
    queue: Queue | None = optional()
    item: str | None = optional()
    module: str | None = optional()
    grid: str | None = optional()  # a grid code: the cases of its subtree
    department: str | None = optional()  # lead department code
    channel: Channel | None = optional()
    number: str | None = optional()
    phone: str | None = optional()  # the reporter's phone, exact
    since: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))
    until: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))
    q: str | None = optional()  # text in description or address


class CaseItem(Schema):
    number: str
    state: str
    state_label: str
    # green / yellow (80 % of the limit) / red (past it); empty when no clock runs.
    colour: str
    colour_label: str
    item: ItemRef | None
    grid: GridRef
    lead_department: Ref | None
    channel: str
    channel_label: str
    urgency: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    level: int
    supervised: int
    card: str
    supporters_count: int


class CasePage(Schema):
    items: list[CaseItem]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


class QueueCount(Schema):
    name: str
    label: str
    count: int


# ------------------------------------------------------------------------------------------------- detail


class EventOut(Schema):
    seq: int
    action: str
    action_label: str
    actor: str | None
    capacity: str
    capacity_label: str
    from_state: str
    to_state: str
    level: int
    note: str
    data: dict[str, Any]
    created_at: dt.datetime


class DeadlineOut(Schema):
    stage: str
    stage_label: str
    minutes: int
    started_at: dt.datetime
    due_at: dt.datetime
    paused_at: dt.datetime | None
    done_at: dt.datetime | None
    met: bool | None


class AssignmentOut(Schema):
    department: Ref
    kind: str
    kind_label: str
    active: bool
    dispatched_at: dt.datetime
    signed_at: dt.datetime | None
    fed_back_at: dt.datetime | None
    ended_at: dt.datetime | None


class EvidenceOut(Schema):
    id: int
    phase: str
    phase_label: str
    kind: str
    content_type: str  # of the public copy
    url: str
    created_at: dt.datetime


class SupervisionOut(Schema):
    id: int
    card: str
    card_label: str
    reason: str
    stage: str
    by: str | None
    created_at: dt.datetime


class ExtensionOut(Schema):
    id: int
    minutes: int
    reason: str
    state: str
    state_label: str
    requested_by: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str


class CommentOut(Schema):
    id: int
    author: str
    capacity: str
    capacity_label: str
    text: str
    public: bool
    supervision: int | None
    created_at: dt.datetime


class ReporterOut(Schema):
    kind: str
    kind_label: str
    name: str  # masked
    phone: str  # masked


class ReporterFull(Schema):
    kind: str
    kind_label: str
    name: str
    phone: str


class ActionOut(Schema):
    action: str
    label: str
    # Fields the action requires (see the `Step` form).
    requires: list[str]


class CaseDetail(CaseItem):
    description: str
    # The 16-digit ObjID of the component (部件) the case is about (a failed inspection); empty otherwise.
    component_code: str
    address: str
    lon: float | None
    lat: float | None
    stage: str
    closed_at: dt.datetime | None
    routed_department: Ref | None
    rating: str
    rating_label: str
    version: int
    reporter: ReporterOut | None
    actions: list[ActionOut]
    events: list[EventOut]
    deadlines: list[DeadlineOut]
    assignments: list[AssignmentOut]
    evidence: list[EvidenceOut]
    supervisions: list[SupervisionOut]
    extensions: list[ExtensionOut]
    comments: list[CommentOut]


IntakeOut.model_rebuild()


# ------------------------------------------------------------------------------------------------- workflow


class StepIn(Schema):
    """The fields of a workflow action; which ones an action requires is in `actions[].requires`."""

    reason: str = ""
    note: str = ""
    unit: str | None = optional()  # lead department code
    assisting: list[str] = []  # assisting department codes
    card: Card | None = optional()
    rating: Rating | None = optional()
    minutes: int | None = optional(ge=-(2**31), le=2**31)  # extension in working minutes
    into: str | None = optional()  # case number to merge into
    extension: Id | None = optional()  # extension request id
    item: str | None = optional()
    urgency: Urgency | None = optional()
    grid: str | None = optional()
    public: bool = True  # comment: visible to the reporter
    supervision: Id | None = optional()  # comment: reply to this supervision notice
    # The `version` the client saw: refused with 409 when the case changed meanwhile.
    expected_version: int | None = optional(ge=0, le=2**31)


# ------------------------------------------------------------------------------------------------- inbox


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    case: str | None  # case number
    # The page of another app's entry (a dispute assigned, a task given to a team); "" for a case's.
    link: str = ""
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxQuery(Schema):
    unread: bool = False


class InboxPage(Schema):
    items: list[NotificationOut]
    has_more: bool
    next_before: int | None
    unread_count: int


class InboxReadIn(Schema):
    ids: list[Id] = Field(default_factory=list, max_length=1000)
    all: bool = False


class InboxReadOut(Schema):
    marked: int
    unread_count: int


# ------------------------------------------------------------------------------------------------- triage


class TriageQuery(Schema):
    text: str = Field(..., max_length=5000)
    limit: int = Field(3, ge=1, le=10)


class Suggestion(Schema):
    item: ItemRef
    department: Ref | None
    confidence: float


# ------------------------------------------------------------------------------------------------- live pages


class ChangesQuery(Schema):
    # The `latest` of the previous answer.
    after: int | None = optional(ge=0, le=MAX_ID)
    # First call (no `after`): when the page was made. The answer's `latest` then stops a few seconds before,
    # so what happened while the page loaded is told by the next call rather than missed.
    since: AwareDatetime | None = optional(
        ge=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), le=dt.datetime(2999, 12, 31, tzinfo=dt.UTC)
    )


class ChangesOut(Schema):
    # Pass as `after` next time (0: nothing yet).
    latest: int
    # Whether a case in the caller's scope changed after `after` (always false without `after`).
    changed: bool
