"""Pydantic schemas of the mediation API. Names are unique in the whole API document (django-ninja files every
schema under its class name), hence the `Mediation…` and `Dispute…` prefixes. Times are ISO 8601 with their
offset (Asia/Shanghai) on the way out; on the way in a time without an offset is read as Asia/Shanghai. Codes
(kind, state, risk…) come with their label in the caller's language; the choices are listed by `GET /mine`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field

from gridgov.core.schemas import GridCode, Id, optional

# A dispute's number (T20261126-0012) or its id, as a path parameter.
DisputeKey = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
# A time as the phone or the form recorded it (ISO 8601; without an offset: Asia/Shanghai).
MediationTime = Annotated[str, Field(max_length=40, json_schema_extra={"format": "date-time"})]
# A day, YYYY-MM-DD.
MediationDay = Annotated[str, Field(max_length=20, json_schema_extra={"format": "date"})]
# An amount in yuan as typed ("3000", "1200.50"): the service says what is wrong with it.
Amount = Annotated[str, Field(max_length=20)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


# ------------------------------------------------------------------------------------------------- out


class MediationChoice(Schema):
    value: str
    label: str


class MediationGrid(Schema):
    id: int
    code: str
    name: str


class CommitteeRef(Schema):
    id: int
    name: str
    level: int
    level_label: str


class MediatorRef(Schema):
    id: int
    name: str


class DisputePartyOut(Schema):
    """A party, its ID number and phone masked (150621********1234, 138****1111)."""

    id: int
    role: str
    role_label: str
    name: str
    id_number: str
    phone: str
    address: str
    # The registry's person, where linked.
    person: int | None
    note: str


class DisputeSummary(Schema):
    id: int
    number: str
    kind: str
    kind_label: str
    title: str
    state: str
    state_label: str
    # open or closed
    state_kind: str
    risk: str
    risk_label: str
    # 3 grid, 2 village, 1 town: the level handling it now.
    level: int
    level_label: str
    grid: MediationGrid
    committee: CommitteeRef | None
    lead_mediator: MediatorRef | None
    amount: Decimal | None
    received_at: dt.datetime


class DisputePage(Schema):
    items: list[DisputeSummary]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


class SessionOut(Schema):
    id: int
    held_at: dt.datetime
    place: str
    mediators: list[MediatorRef]
    # Ids of the parties present.
    parties_present: list[int]
    others_present: str
    notes: str
    next_steps: str
    recorded_by: str
    recorded_at: dt.datetime


class AgreementOut(Schema):
    outcome: str
    outcome_label: str
    number: str
    terms: str
    amount: Decimal | None
    performance_method: str
    performance_due: dt.date | None
    signed_on: dt.date
    level: int
    level_label: str
    committee: CommitteeRef | None


class FollowUpOut(Schema):
    id: int
    dispute: str  # the dispute's number
    due_on: dt.date
    overdue: bool
    done_at: dt.datetime | None
    result: str
    result_label: str
    note: str
    visitor: str


class DisputeEventOut(Schema):
    action: str
    action_label: str
    at: dt.datetime
    actor: str
    from_state: str
    to_state: str
    level: int
    note: str


class DisputeDetail(DisputeSummary):
    description: str
    address: str
    language: str
    language_label: str
    # The case of the disputes module it came from ("" when received directly).
    case_number: str
    received_by: str
    settled_at: dt.datetime | None
    settled_level: int | None
    failed_at: dt.datetime | None
    handed_to: str
    handed_to_label: str
    handed_at: dt.datetime | None
    handover_note: str
    assistants: list[MediatorRef]
    parties: list[DisputePartyOut]
    sessions: list[SessionOut]
    agreement: AgreementOut | None
    follow_ups: list[FollowUpOut]
    events: list[DisputeEventOut]
    # Bumped by every change.
    version: int
    # Whether the caller works on it (records its steps) or only reads it.
    may_act: bool


class MediationFigures(Schema):
    """What mediation did in the period (see selectors.Figures): outcomes counted by when they happened."""

    since: dt.date
    until: dt.date
    received: int
    settled: int
    partial: int
    failed: int
    handed_over: int
    open: int
    settled_grid: int
    settled_village: int
    settled_town: int
    amount_at_stake: Decimal
    amount_agreed: Decimal
    # The share (%) of the outcomes that were full agreements; null without any.
    settled_rate: int | None


class MediatorOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    committee: CommitteeRef
    skills: list[MediationChoice]
    languages: list[MediationChoice]
    areas: list[MediationGrid]
    phone: str  # masked
    active: bool
    open_disputes: int


class CommitteeOut(Schema):
    id: int
    name: str
    level: int
    level_label: str
    grid: MediationGrid
    address: str
    phone: str
    active: bool
    mediators: int
    open_disputes: int


class CommitteeDetail(CommitteeOut):
    members: list[MediatorOut]


class MediatorSuggestion(Schema):
    mediator: MediatorRef
    committee: CommitteeRef
    kind_label: str
    # Good at this kind of dispute; speaks the parties' language; open disputes they lead or assist in.
    skilled: bool
    speaks: bool
    open_disputes: int
    areas: list[MediationGrid]


class MineDispute(DisputeSummary):
    """A dispute on the mediator's phone: what they need to mediate it, the parties masked."""

    description: str
    address: str
    language: str
    language_label: str
    # lead, assistant, or committee (a dispute of their committee not yet theirs).
    my_part: str
    mediators: list[MediatorRef]
    parties: list[DisputePartyOut]
    sessions: int
    last_session_at: dt.datetime | None
    version: int


class MineChoices(Schema):
    kinds: list[MediationChoice]
    risks: list[MediationChoice]
    languages: list[MediationChoice]
    party_roles: list[MediationChoice]
    outcomes: list[MediationChoice]
    follow_up_results: list[MediationChoice]
    hand_over_to: list[MediationChoice]
    states: list[MediationChoice]
    levels: list[MediationChoice]


class MineOut(Schema):
    disputes: list[MineDispute]
    follow_ups_due: list[FollowUpOut]
    choices: MineChoices


# ------------------------------------------------------------------------------------------------- in


class DisputeListQuery(Schema):
    # "open" for every open state, or one state.
    state: str | None = optional(max_length=12)
    kind: str | None = optional(max_length=12)
    risk: str | None = optional(max_length=8)
    level: int | None = optional(ge=1, le=3)
    grid: GridCode | None = optional()  # a grid code: its subtree
    committee: Id | None = optional()
    mediator: Id | None = optional()
    since: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))  # received from
    until: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))  # received until
    q: str | None = optional(max_length=100, pattern=r"^[^\x00]*$")  # in the number or the title


class MediationFiguresQuery(Schema):
    # Default: from the first of this month to today.
    since: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))
    until: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))
    grid: GridCode | None = optional()


class MediationPartyIn(Schema):
    """A party. `id_number` (GB 11643) and `phone` in full: checked, encrypted and masked by the server."""

    role: str = Field("applicant", max_length=12)
    name: str = Field("", max_length=50)
    person: Id | None = None
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=30)
    address: ShortText = ""
    note: str = Field("", max_length=2000)


class DisputeIn(Schema):
    """A dispute received directly, in a level-3 grid where the caller works."""

    kind: str = Field(max_length=12)
    title: str = Field(max_length=100)
    description: LongText
    grid: GridCode
    amount: Amount | None = None
    risk: str = Field("low", max_length=8)
    language: str = Field("zh", max_length=2)
    address: ShortText = ""
    received_at: MediationTime | None = None
    parties: list[MediationPartyIn] = Field(default_factory=list, max_length=50)


class FromCaseIn(Schema):
    """A case of the disputes module (07 矛盾信访), by number or id, taken into mediation; kind and title default
    to the case's item."""

    case: str = Field(min_length=1, max_length=30, pattern=r"^[^\x00]*$")
    kind: str | None = Field(None, max_length=12)
    title: str = Field("", max_length=100)
    risk: str = Field("low", max_length=8)
    language: str = Field("zh", max_length=2)
    amount: Amount | None = None
    parties: list[MediationPartyIn] = Field(default_factory=list, max_length=50)


class AssignIn(Schema):
    committee: Id
    lead: Id
    assistants: list[Id] = Field(default_factory=list, max_length=20)


class SessionIn(Schema):
    held_at: MediationTime
    mediators: list[Id] = Field(max_length=20)
    place: ShortText = ""
    parties_present: list[Id] = Field(default_factory=list, max_length=50)
    others_present: str = Field("", max_length=300)
    notes: LongText = ""
    next_steps: LongText = ""


class OutcomeIn(Schema):
    # agreement, partial or failed
    outcome: str = Field(max_length=10)
    # The terms agreed, or why none was reached.
    terms: LongText = ""
    amount: Amount | None = None
    performance_method: LongText = ""
    performance_due: MediationDay | None = None
    # Default: today.
    signed_on: MediationDay | None = None


class FollowUpIn(Schema):
    # performed, partly or not_performed
    result: str = Field(max_length=14)
    note: str = Field("", max_length=2000)
    # Default: now.
    done_at: MediationTime | None = None
    # Where the phone was (WGS-84), when it had a fix.
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None


class ReferIn(Schema):
    reason: str = Field(max_length=2000)


class HandOverIn(Schema):
    # judicial_office, court, petition, police or labour_arbitration
    to: str = Field(max_length=20)
    note: str = Field(max_length=2000)
