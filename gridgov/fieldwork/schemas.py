"""Pydantic schemas of the fieldwork API (patrols, visits, inspections). Times are ISO 8601 with their offset (Asia/Shanghai) on the way out;
on the way in they are the phone's, as it recorded them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from ninja import Schema
from pydantic import Field

from gridgov.cases.schemas import Id, ItemRef, Latitude, Longitude, optional
from gridgov.core.schemas import GridCode

from .choices import TaskState, VisitPurpose

# Made on the phone (crypto.randomUUID()); read by the services, which name the field when it is not one.
PatrolKey = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"format": "uuid"})]
# The moment on the phone, ISO 8601 (without an offset: Asia/Shanghai).
PhoneTime = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra={"format": "date-time"})]


class StartIn(Schema):
    """Check-in: the patrol's key, the moment on the phone, and where (WGS-84, from the GPS; left out
    without a fix)."""

    key: PatrolKey
    at: PhoneTime
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()


class TrackIn(Schema):
    # A JSON list of [longitude, latitude, time in ms since 1970, accuracy in metres], oldest first; at most
    # 2,000 a batch. Points of a time already stored are skipped, so a batch may be sent again.
    points: str


class EndIn(Schema):
    """Check-out: the moment on the phone and where."""

    at: PhoneTime
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()


class PatrolListQuery(Schema):
    # Leave both out for the caller's own patrols; give either to see those of the grids one oversees.
    grid: GridCode | None = optional()  # a grid code: the patrols of its subtree
    day: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))  # started that day


class PatrolGrid(Schema):
    id: int
    code: str
    name: str


class Worker(Schema):
    id: int
    name: str


class PatrolOut(Schema):
    key: uuid.UUID
    grid: PatrolGrid
    worker: Worker
    started_at: dt.datetime
    # Null while the patrol goes on.
    ended_at: dt.datetime | None
    points: int
    distance_m: float
    duration_s: int | None


class PatrolPage(Schema):
    items: list[PatrolOut]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


# ---------------------------------------------------------------------------------------------- visits


class VisitIn(Schema):
    """A visit: its key, the moment on the phone, why, whom or where (registry ids, as the phone's lists give
    them), where the phone was (WGS-84, from the GPS; left out without a fix) and a note. Photos travel as
    `photos` files beside these fields (multipart/form-data)."""

    key: PatrolKey
    at: PhoneTime
    purpose: VisitPurpose
    household: Id | None = optional()
    person: Id | None = optional()
    # A place: a shop, an enterprise, a public body of the registry.
    organisation: Id | None = optional()
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()
    accuracy_m: float | None = optional(ge=0, le=100_000, allow_inf_nan=False)
    note: str = Field("", max_length=2000)


class VisitListQuery(Schema):
    # Leave both out for the caller's own visits; give either to see those of the grids one oversees.
    grid: GridCode | None = optional()  # a grid code: the visits of its subtree
    day: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))  # made that day


class Visited(Schema):
    """A registry record visited: its id, and what names it without personal data (a household's number, a
    place's name; a person by id only, as a care visit tells which group they belong to)."""

    id: int
    label: str


class VisitOut(Schema):
    key: uuid.UUID
    grid: PatrolGrid
    worker: Worker
    purpose: str
    purpose_label: str
    household: Visited | None
    person: Visited | None
    organisation: Visited | None
    visited_at: dt.datetime
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    note: str
    photos: int


class VisitPage(Schema):
    items: list[VisitOut]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


# ---------------------------------------------------------------------------------------------- plans


class Check(Schema):
    code: str
    text: str


class PlanIn(Schema):
    """A plan: inspect every component of the class `item` (an item code of kind component) in the subtree of
    `grid` (a grid code) every `every_days` days, answering `checklist`: a JSON list of checks,
    `[{"code": "pressure", "text": "压力表指针在绿区"}, …]`."""

    name: str = Field(min_length=1, max_length=100)
    item: str = Field(min_length=1, max_length=8)
    grid: GridCode
    every_days: int = Field(ge=1, le=3650)
    checklist: str


class PlanListQuery(Schema):
    active: bool | None = optional()


class PlanOut(Schema):
    id: int
    name: str
    item: ItemRef
    grid: PatrolGrid
    every_days: int
    checklist: list[Check]
    active: bool
    created_at: dt.datetime


class PlanPage(Schema):
    items: list[PlanOut]
    has_more: bool
    next_before: int | None


# ---------------------------------------------------------------------------------------------- tasks


class TaskListQuery(Schema):
    # Leave out for the open tasks (the queue).
    state: TaskState | None = optional()
    # True: only the open tasks past their date; false: only those not past it.
    overdue: bool | None = optional()
    grid: GridCode | None = optional()  # a grid code: the tasks of its subtree


class CompleteIn(Schema):
    """The inspection's answers: a JSON object keyed by the checks' codes, each "ok" or "not_ok" (or
    `{"answer": "not_ok", "note": "…"}`); any not ok opens a case for the component. `key` is the phone's
    key of this completion (sent again, it answers the first); `at` the moment on the phone. Photos travel as
    `photos` files."""

    key: PatrolKey
    at: PhoneTime
    answers: str
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()
    note: str = Field("", max_length=2000)


class ComponentRef(Schema):
    id: int
    object_id: str
    name: str
    location: str
    lon: float | None
    lat: float | None


class PlanRef(Schema):
    id: int
    name: str
    every_days: int


class AnswerOut(Schema):
    code: str
    text: str
    answer: str
    note: str


class TaskOut(Schema):
    id: int
    plan: PlanRef
    item: ItemRef
    component: ComponentRef
    grid: PatrolGrid
    # Null while the grid has no worker.
    worker: Worker | None
    due_on: dt.date
    overdue: bool
    state: str
    state_label: str
    # The questions to answer (the plan's checklist while open; as answered once done).
    checklist: list[Check]
    done_at: dt.datetime | None
    done_by: Worker | None
    answers: list[AnswerOut]
    note: str
    # The case opened for the faults found; empty otherwise.
    case_number: str


class TaskPage(Schema):
    items: list[TaskOut]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None
