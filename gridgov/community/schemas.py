"""Pydantic schemas of the community API. Every name starts with `Community` (the API document names each schema
once, project-wide). Times are ISO 8601 with their offset (Asia/Shanghai) on the way out; on the way in, a time
without an offset is read as Asia/Shanghai. Every enumerated value comes with its translated label; hours are
numbers (two decimals at most)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import Field

from gridgov.core.schemas import GridCode, Id, optional

from .choices import ActivityKind, ActivityState, TaskState, TeamKind

# A time as ISO 8601 (without an offset: Asia/Shanghai).
CommunityTime = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra={"format": "date-time"})]
Day = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))]
# Free text of a form: never a NUL (PostgreSQL text cannot hold one; the services refuse it, naming the field).
Text = Annotated[str, Field(max_length=2000)]


class CommunityChoice(Schema):
    value: str
    label: str


class CommunityGridRef(Schema):
    id: int
    code: str
    name: str
    level: int


class CommunityUserRef(Schema):
    id: int
    name: str


class CommunityMemberRef(Schema):
    id: int
    name: str


class CommunityTeamRef(Schema):
    id: int
    name: str
    kind: str
    kind_label: str


# ---------------------------------------------------------------------------------------------- teams


class CommunityTeamOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    grid: CommunityGridRef
    leader: CommunityMemberRef | None
    description: str
    # The team's duty line (not personal: members' own phones are masked).
    phone: str
    active: bool
    # Pass back when editing: a team changed meanwhile answers 409.
    version: int
    member_count: int
    created_at: dt.datetime


class CommunityTeamPage(Schema):
    items: list[CommunityTeamOut]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


class CommunityTeamListQuery(Schema):
    grid: GridCode | None = optional()  # a grid code: the teams of its subtree
    kind: TeamKind | None = optional()
    # Left out: the active teams only.
    active: bool | None = optional()
    name: str | None = optional(max_length=100, pattern=r"^[^\x00]*$")


class CommunityTeamIn(Schema):
    """A new team in `grid` (a grid code of level 1 to 3)."""

    name: str = Field(min_length=1, max_length=100)
    kind: TeamKind
    grid: GridCode
    description: Text = ""
    phone: str = Field("", max_length=20)


class CommunityTeamEditIn(Schema):
    """A team changed: every field as it should be, and the `version` read."""

    version: int = Field(ge=1, le=2**31 - 1)
    name: str = Field(min_length=1, max_length=100)
    kind: TeamKind
    description: Text = ""
    phone: str = Field("", max_length=20)
    # A member of the team; left out: no leader.
    leader: Id | None = optional()
    active: bool = True


class CommunityMemberOut(Schema):
    id: int
    team_id: int
    name: str
    # Masked (138****1234); empty when not given.
    phone: str
    skills: str
    joined_on: dt.date
    active: bool
    left_on: dt.date | None
    # Hours confirmed on their sign-ups, all time.
    hours: float
    # Whether they use the phone app (a volunteer login is linked).
    has_login: bool
    # The registry's person, when linked.
    person_id: int | None


class CommunityMemberPage(Schema):
    items: list[CommunityMemberOut]
    has_more: bool
    next_before: int | None


class CommunityMemberListQuery(Schema):
    # Left out: the active and the former members.
    active: bool | None = optional()


class CommunityMemberIn(Schema):
    """A member: a name (or a registry person, whose name is taken when no name is given), a mobile number,
    the volunteer login with which they use the phone app (username), skills, the day they joined (left out:
    today)."""

    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=30)
    person: Id | None = optional()
    user: str | None = optional(max_length=150, pattern=r"^[^\x00]*$")
    skills: str = Field("", max_length=200)
    joined_on: Day | None = optional()


class CommunityReasonIn(Schema):
    reason: str = Field("", max_length=200)


# ---------------------------------------------------------------------------------------------- activities


class CommunityActivityOut(Schema):
    id: int
    title: str
    kind: str
    kind_label: str
    # Null: open to every team of `grid` and below.
    team: CommunityTeamRef | None
    grid: CommunityGridRef
    place: str
    notes: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    # The most hours a sign-up may be confirmed for.
    length_hours: float
    # Null: no limit.
    capacity: int | None
    # Sign-ups not cancelled.
    signed: int
    # Null: no limit.
    places_left: int | None
    state: str
    state_label: str
    organiser: CommunityUserRef
    closed_at: dt.datetime | None
    # Why it was cancelled.
    reason: str


class CommunityActivityPage(Schema):
    items: list[CommunityActivityOut]
    has_more: bool
    next_before: int | None


class CommunityActivityListQuery(Schema):
    grid: GridCode | None = optional()  # a grid code: the activities of its subtree
    team: Id | None = optional()
    state: ActivityState | None = optional()
    since: Day | None = optional()  # starting on or after this local day
    until: Day | None = optional()  # starting on or before this local day


class CommunityActivityIn(Schema):
    """An activity of one team (`team`), or open to every team of `grid` and below (`grid`, no team)."""

    title: str = Field(min_length=1, max_length=100)
    kind: ActivityKind = ActivityKind.SERVICE
    team: Id | None = optional()
    grid: GridCode | None = optional()
    starts_at: CommunityTime
    ends_at: CommunityTime
    place: str = Field("", max_length=200)
    notes: Text = ""
    # Left out: no limit.
    capacity: int | None = optional(ge=1, le=1000)


class CommunitySignUpOut(Schema):
    id: int
    activity_id: int
    member: CommunityMemberRef
    team: CommunityTeamRef | None
    signed_at: dt.datetime
    cancelled: bool
    cancelled_at: dt.datetime | None
    attended: bool
    # Confirmed by the organiser; null until then (and for who did not come).
    hours: float | None
    confirmed_at: dt.datetime | None


class CommunityActivityDetail(CommunityActivityOut):
    # Staff: every sign-up; a volunteer: their own.
    signups: list[CommunitySignUpOut]
    # Whether the caller organises it (closes, cancels, confirms attendance).
    may_organise: bool


class CommunitySignUpIn(Schema):
    """Who signs up: left out, the caller's own membership that may join (a volunteer); a keeper of the grid
    names the member."""

    member: Id | None = optional()


class CommunityAttendanceIn(Schema):
    """Whether the member came, and the hours served (required when they came; 0 to the activity's length)."""

    attended: bool
    hours: str | None = optional(max_length=12)


class CommunityCancelIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------------------------------------- tasks


class CommunityTaskOut(Schema):
    id: int
    title: str
    description: str
    team: CommunityTeamRef
    # The grid that gave the task.
    grid: CommunityGridRef
    due_on: dt.date | None
    overdue: bool
    state: str
    state_label: str
    # The case the task helps with (its number), if any.
    case_number: str
    accepted_by: CommunityMemberRef | None
    accepted_at: dt.datetime | None
    declined_by: CommunityMemberRef | None
    # Why it was declined or cancelled.
    reason: str
    result: str
    done_at: dt.datetime | None
    done_by: CommunityUserRef | None
    given_by: CommunityUserRef
    given_at: dt.datetime
    closed_at: dt.datetime | None


class CommunityTaskPage(Schema):
    items: list[CommunityTaskOut]
    has_more: bool
    next_before: int | None


class CommunityTaskListQuery(Schema):
    grid: GridCode | None = optional()
    team: Id | None = optional()
    state: TaskState | None = optional()


class CommunityTaskIn(Schema):
    """A task for `team`, given in `grid` (left out: the caller's own grid when they have one), due on a day,
    about a case (its number)."""

    team: Id
    title: str = Field(min_length=1, max_length=100)
    grid: GridCode | None = optional()
    description: Text = ""
    due_on: Day | None = optional()
    case: str | None = optional(max_length=20, pattern=r"^[^\x00]*$")


class CommunityDoneIn(Schema):
    result: str = Field(min_length=1, max_length=2000)


# ---------------------------------------------------------------------------------------------- figures


class CommunityFiguresQuery(Schema):
    since: Day | None = optional()  # left out: the first of this month
    until: Day | None = optional()  # left out: today
    grid: GridCode | None = optional()


class CommunityFiguresOut(Schema):
    since: dt.date
    until: dt.date
    teams: int
    members: int
    activities_held: int
    volunteers_served: int
    hours_served: float
    tasks_given: int
    tasks_done: int
    tasks_open: int


# ---------------------------------------------------------------------------------------------- the phone


class CommunityMembership(Schema):
    """One of the caller's memberships, with its team."""

    member_id: int
    name: str
    joined_on: dt.date
    hours: float
    team: CommunityTeamRef
    team_grid: CommunityGridRef
    team_phone: str
    leader: CommunityMemberRef | None
    is_leader: bool


class CommunityMyActivity(CommunityActivityOut):
    # The caller's sign-up (not cancelled), if any.
    my_signup: CommunitySignUpOut | None
    # The caller's memberships that may sign up (pass one as `member` when there are several).
    member_ids: list[int]
    # Open, not started, a place left, not signed up yet.
    may_sign_up: bool
    # Signed up, and not started yet.
    may_cancel: bool


class CommunityChoices(Schema):
    team_kinds: list[CommunityChoice]
    activity_kinds: list[CommunityChoice]
    activity_states: list[CommunityChoice]
    task_states: list[CommunityChoice]


class CommunityMine(Schema):
    """What a volunteer's phone keeps offline: their memberships, the activities they may join (open, not
    ended) and those they joined in the last 30 days, their teams' open tasks and those closed in the last 30
    days, their hours, and the labels of every choice."""

    as_of: dt.datetime
    memberships: list[CommunityMembership]
    activities: list[CommunityMyActivity]
    tasks: list[CommunityTaskOut]
    hours_total: float
    hours_this_year: float
    choices: CommunityChoices
