"""Community API: volunteer teams, their members, activities with sign-up and hours served, tasks a grid gives a
team — for the workbench's staff and for the volunteer's phone.

The phone reads `GET /mine` (everything it keeps offline, in one call) and sends, through its offline queue:
`POST /activities/{id}/sign-up`, `POST /activities/{id}/cancel-sign-up`, `POST /tasks/{id}/accept`,
`…/decline`, `…/done`. Each of these answers the first call when sent again (a sign-up 201 the first time, 200
after; the others 200 with the task or the sign-up as the first call left it) and changes nothing the second
time. What is out of the caller's scope answers 404 like what does not exist; a record they see but may not
act on, 403; a record changed meanwhile (taken by a teammate, cancelled), 409; bad input, 422 naming the
field. Forms are urlencoded or multipart, like the rest of the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Form, Query, Router, Status

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import held_roles
from gridgov.core.audit import client_ip
from gridgov.core.choices import label
from gridgov.core.paging import keyset
from gridgov.core.schemas import READ_ERRORS, WRITE_ERRORS, Id, PageQuery

from . import selectors, services
from .choices import ActivityKind, ActivityState, TaskState, TeamKind
from .errors import NotAllowed
from .models import Activity, Member, SignUp, Task, Team
from .schemas import (
    CommunityActivityDetail,
    CommunityActivityIn,
    CommunityActivityListQuery,
    CommunityActivityOut,
    CommunityActivityPage,
    CommunityAttendanceIn,
    CommunityCancelIn,
    CommunityChoice,
    CommunityChoices,
    CommunityDoneIn,
    CommunityFiguresOut,
    CommunityFiguresQuery,
    CommunityGridRef,
    CommunityMemberIn,
    CommunityMemberListQuery,
    CommunityMemberOut,
    CommunityMemberPage,
    CommunityMemberRef,
    CommunityMembership,
    CommunityMine,
    CommunityMyActivity,
    CommunityReasonIn,
    CommunitySignUpIn,
    CommunitySignUpOut,
    CommunityTaskIn,
    CommunityTaskListQuery,
    CommunityTaskOut,
    CommunityTaskPage,
    CommunityTeamEditIn,
    CommunityTeamIn,
    CommunityTeamListQuery,
    CommunityTeamOut,
    CommunityTeamPage,
    CommunityTeamRef,
    CommunityUserRef,
)
from .scoping import reach

router = Router(tags=["community"])


def _reader(request: HttpRequest) -> Any:
    """The caller, when they work with the community (grid staff or a volunteer of a team); 403 otherwise."""
    user: Any = request.user
    if not reach(user):
        raise NotAllowed(_("Only grid staff and the volunteers of a team see volunteer teams."))
    return user


def _page(
    qs: QuerySet[Any], column: str, page: PageQuery, *, descending: bool = True
) -> tuple[list[Any], bool, int | None]:
    rows, more = keyset(qs, column, before=page.before, limit=page.limit, descending=descending)
    return rows, more, rows[-1].pk if more else None


# ---------------------------------------------------------------------------------------------- shapes


def grid_ref(grid: Any) -> CommunityGridRef:
    return CommunityGridRef(id=grid.pk, code=grid.code, name=grid.name, level=grid.level)


def user_ref(user: Any) -> CommunityUserRef | None:
    return CommunityUserRef(id=user.pk, name=user.full_name or user.username) if user is not None else None


def member_ref(member: Member | None) -> CommunityMemberRef | None:
    return CommunityMemberRef(id=member.pk, name=member.name) if member is not None else None


def team_ref(team: Team | None) -> CommunityTeamRef | None:
    if team is None:
        return None
    return CommunityTeamRef(id=team.pk, name=team.name, kind=team.kind, kind_label=label(TeamKind, team.kind))


def team_out(team: Team) -> CommunityTeamOut:
    return CommunityTeamOut(
        id=team.pk,
        name=team.name,
        kind=team.kind,
        kind_label=label(TeamKind, team.kind),
        grid=grid_ref(team.grid),
        leader=member_ref(team.leader) if team.leader_id else None,
        description=team.description,
        phone=team.phone,
        active=team.active,
        version=team.version,
        member_count=getattr(team, "member_count", 0),
        created_at=timezone.localtime(team.created_at),
    )


def member_out(member: Member) -> CommunityMemberOut:
    return CommunityMemberOut(
        id=member.pk,
        team_id=member.team_id,
        name=member.name,
        phone=member.phone_masked,
        skills=member.skills,
        joined_on=member.joined_on,
        active=member.active,
        left_on=member.left_on,
        hours=float(getattr(member, "hours", 0) or 0),
        has_login=member.user_id is not None,
        person_id=member.person_id,
    )


def _hours(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _activity_fields(activity: Activity) -> dict[str, Any]:
    signed = getattr(activity, "signed", 0)
    return {
        "id": activity.pk,
        "title": activity.title,
        "kind": activity.kind,
        "kind_label": label(ActivityKind, activity.kind),
        "team": team_ref(activity.team) if activity.team_id else None,
        "grid": grid_ref(activity.grid),
        "place": activity.place,
        "notes": activity.notes,
        "starts_at": timezone.localtime(activity.starts_at),
        "ends_at": timezone.localtime(activity.ends_at),
        "length_hours": round(activity.length_hours, 2),
        "capacity": activity.capacity,
        "signed": signed,
        "places_left": max(activity.capacity - signed, 0) if activity.capacity is not None else None,
        "state": activity.state,
        "state_label": label(ActivityState, activity.state),
        "organiser": user_ref(activity.created_by),
        "closed_at": timezone.localtime(activity.closed_at) if activity.closed_at else None,
        "reason": activity.reason,
    }


def activity_out(activity: Activity) -> CommunityActivityOut:
    return CommunityActivityOut(**_activity_fields(activity))


def signup_out(signup: SignUp) -> CommunitySignUpOut:
    member = signup.member
    return CommunitySignUpOut(
        id=signup.pk,
        activity_id=signup.activity_id,
        member=CommunityMemberRef(id=member.pk, name=member.name),
        team=team_ref(member.team) if "team" in member._state.fields_cache else None,
        signed_at=timezone.localtime(signup.signed_at),
        cancelled=signup.cancelled_at is not None,
        cancelled_at=timezone.localtime(signup.cancelled_at) if signup.cancelled_at else None,
        attended=signup.attended,
        hours=_hours(signup.hours),
        confirmed_at=timezone.localtime(signup.confirmed_at) if signup.confirmed_at else None,
    )


def task_out(task: Task, today: dt.date) -> CommunityTaskOut:
    local = timezone.localtime
    return CommunityTaskOut(
        id=task.pk,
        title=task.title,
        description=task.description,
        team=team_ref(task.team),  # type: ignore[arg-type]
        grid=grid_ref(task.grid),
        due_on=task.due_on,
        overdue=task.state in (TaskState.ASSIGNED, TaskState.ACCEPTED)
        and task.due_on is not None
        and task.due_on < today,
        state=task.state,
        state_label=label(TaskState, task.state),
        case_number=task.case.number if task.case is not None else "",
        accepted_by=member_ref(task.accepted_by) if task.accepted_by_id else None,
        accepted_at=local(task.accepted_at) if task.accepted_at else None,
        declined_by=member_ref(task.declined_by) if task.declined_by_id else None,
        reason=task.reason,
        result=task.result,
        done_at=local(task.done_at) if task.done_at else None,
        done_by=user_ref(task.done_by) if task.done_by_id else None,
        given_by=user_ref(task.created_by),  # type: ignore[arg-type]
        given_at=local(task.created_at),
        closed_at=local(task.closed_at) if task.closed_at else None,
    )


# ---------------------------------------------------------------------------------------------- figures


@router.get(
    "/figures",
    response={200: CommunityFiguresOut, **READ_ERRORS},
    url_name="community_figures",
    summary="Figures",
)
def figures(request: HttpRequest, filters: Query[CommunityFiguresQuery]):
    """The figures of the caller's grids (a volunteer: their teams) for the local days from `since` (left out:
    the first of this month) to `until` (left out: today): active teams and members, activities held,
    volunteers who served and the hours they served, tasks given, done, and open now. `grid` narrows to a grid's
    subtree."""
    user = _reader(request)
    today = timezone.localdate()
    since = filters.since or selectors.month_start(today)
    until = filters.until or today
    found = selectors.figures(user, since, until, grid=filters.grid)
    return CommunityFiguresOut(
        since=since,
        until=until,
        teams=found.teams,
        members=found.members,
        activities_held=found.activities_held,
        volunteers_served=found.volunteers_served,
        hours_served=float(found.hours_served),
        tasks_given=found.tasks_given,
        tasks_done=found.tasks_done,
        tasks_open=found.tasks_open,
    )


# ---------------------------------------------------------------------------------------------- teams


@router.get(
    "/teams",
    response={200: CommunityTeamPage, **READ_ERRORS},
    url_name="community_team_list",
    summary="Teams",
)
def team_list(request: HttpRequest, filters: Query[CommunityTeamListQuery], page: Query[PageQuery]):
    """The teams the caller sees (their grids' and those above them; a volunteer's own), by name; active only
    unless `active` says otherwise. Paged by `before` (the `next_before` of the previous page)."""
    user = _reader(request)
    qs = selectors.teams(
        user,
        grid=filters.grid,
        kind=filters.kind,
        active=True if filters.active is None else filters.active,
        name=filters.name,
    )
    rows, more, next_before = _page(qs, "name", page, descending=False)
    return CommunityTeamPage(items=[team_out(t) for t in rows], has_more=more, next_before=next_before)


@router.post(
    "/teams",
    response={201: CommunityTeamOut, **WRITE_ERRORS},
    url_name="community_team_create",
    summary="Make a team",
)
def team_create(request: HttpRequest, payload: Form[CommunityTeamIn]):
    """A new team in a grid the caller keeps (403 otherwise: the grid heads, operators and grid specialists of
    the grid)."""
    team = services.do_create_team(
        actor=request.user,
        name=payload.name,
        kind=payload.kind,
        grid=payload.grid,
        description=payload.description,
        phone=payload.phone,
        ip=client_ip(request),
    )
    return Status(201, team_out(selectors.team_for(request.user, team.pk)))


@router.get(
    "/teams/{team_id}",
    response={200: CommunityTeamOut, **READ_ERRORS},
    url_name="community_team",
    summary="A team",
)
def team_detail(request: HttpRequest, team_id: Id):
    return team_out(selectors.team_for(_reader(request), team_id))


@router.post(
    "/teams/{team_id}",
    response={200: CommunityTeamOut, **WRITE_ERRORS},
    url_name="community_team_edit",
    summary="Change a team",
)
def team_edit(request: HttpRequest, team_id: Id, payload: Form[CommunityTeamEditIn]):
    """Change a team: every field as it should be, with the `version` read (409 when it changed meanwhile)."""
    user = _reader(request)
    team = selectors.team_for(user, team_id)
    services.do_edit_team(
        team,
        actor=user,
        version=payload.version,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        phone=payload.phone,
        leader=payload.leader,
        active=payload.active,
        ip=client_ip(request),
    )
    return team_out(selectors.team_for(user, team_id))


@router.get(
    "/teams/{team_id}/members",
    response={200: CommunityMemberPage, **READ_ERRORS},
    url_name="community_member_list",
    summary="A team's members",
)
def member_list(
    request: HttpRequest, team_id: Id, filters: Query[CommunityMemberListQuery], page: Query[PageQuery]
):
    """The members of a team, by name, with the hours each served; phones masked."""
    user = _reader(request)
    team = selectors.team_for(user, team_id)
    qs = selectors.members(user, team, active=filters.active)
    rows, more, next_before = _page(qs, "name", page, descending=False)
    return CommunityMemberPage(items=[member_out(m) for m in rows], has_more=more, next_before=next_before)


@router.post(
    "/teams/{team_id}/members",
    response={200: CommunityMemberOut, 201: CommunityMemberOut, **WRITE_ERRORS},
    url_name="community_member_add",
    summary="Add a member",
)
def member_add(request: HttpRequest, team_id: Id, payload: Form[CommunityMemberIn]):
    """A new member (201), or a former member back on their old record (200)."""
    user = _reader(request)
    team = selectors.team_for(user, team_id)
    joined = services.do_add_member(
        team,
        actor=user,
        name=payload.name,
        phone=payload.phone,
        person=payload.person,
        user=payload.user,
        skills=payload.skills,
        joined_on=payload.joined_on,
        ip=client_ip(request),
    )
    member = selectors.members(user, team).get(pk=joined.member.pk)
    return Status(201 if joined.created else 200, member_out(member))


@router.post(
    "/members/{member_id}/remove",
    response={200: CommunityMemberOut, **WRITE_ERRORS},
    url_name="community_member_remove",
    summary="A member leaves the team",
)
def member_remove(request: HttpRequest, member_id: Id, payload: Form[CommunityReasonIn]):
    """The member leaves: the record stays (inactive), with their hours."""
    user = _reader(request)
    member = selectors.member_for(user, member_id)
    services.do_remove_member(member, actor=user, reason=payload.reason, ip=client_ip(request))
    return member_out(selectors.members(user, member.team).get(pk=member.pk))


# ---------------------------------------------------------------------------------------------- activities


@router.get(
    "/activities",
    response={200: CommunityActivityPage, **READ_ERRORS},
    url_name="community_activity_list",
    summary="Activities",
)
def activity_list(request: HttpRequest, filters: Query[CommunityActivityListQuery], page: Query[PageQuery]):
    """The activities the caller sees, the latest start first; of a grid's subtree, a team, a state, starting on
    the local days from `since` to `until`. Paged by `before`."""
    user = _reader(request)
    qs = selectors.activities(
        user,
        grid=filters.grid,
        team=filters.team,
        state=filters.state,
        since=filters.since,
        until=filters.until,
    )
    rows, more, next_before = _page(qs, "starts_at", page)
    return CommunityActivityPage(
        items=[activity_out(a) for a in rows], has_more=more, next_before=next_before
    )


@router.post(
    "/activities",
    response={201: CommunityActivityOut, **WRITE_ERRORS},
    url_name="community_activity_create",
    summary="Organise an activity",
)
def activity_create(request: HttpRequest, payload: Form[CommunityActivityIn]):
    """An activity of a team, or open to every team of a grid; it starts later than now and ends after it starts
    (within seven days). 403: only the keepers of the grid organise."""
    user = _reader(request)
    activity = services.do_create_activity(
        actor=user,
        title=payload.title,
        grid=payload.grid,
        team=payload.team,
        kind=payload.kind,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        place=payload.place,
        notes=payload.notes,
        capacity=payload.capacity,
        ip=client_ip(request),
    )
    return Status(201, activity_out(selectors.activity_for(user, activity.pk)))


def _detail(user: Any, activity_id: int) -> CommunityActivityDetail:
    activity = selectors.activity_for(user, activity_id)
    rows = list(selectors.signups(user, activity))
    return CommunityActivityDetail(
        **_activity_fields(activity),
        signups=[signup_out(s) for s in rows],
        may_organise=services.organises(user, activity),
    )


@router.get(
    "/activities/{activity_id}",
    response={200: CommunityActivityDetail, **READ_ERRORS},
    url_name="community_activity",
    summary="An activity",
)
def activity_detail(request: HttpRequest, activity_id: Id):
    """An activity with its sign-ups (staff: every one; a volunteer: their own)."""
    return _detail(_reader(request), activity_id)


@router.post(
    "/activities/{activity_id}/close",
    response={200: CommunityActivityDetail, **WRITE_ERRORS},
    url_name="community_activity_close",
    summary="Close an activity as held",
)
def activity_close(request: HttpRequest, activity_id: Id):
    """Once it has started: it takes no more sign-ups. Closing again answers the same."""
    user = _reader(request)
    services.do_close_activity(selectors.activity_for(user, activity_id), actor=user, ip=client_ip(request))
    return _detail(user, activity_id)


@router.post(
    "/activities/{activity_id}/cancel",
    response={200: CommunityActivityDetail, **WRITE_ERRORS},
    url_name="community_activity_cancel",
    summary="Cancel an activity",
)
def activity_cancel(request: HttpRequest, activity_id: Id, payload: Form[CommunityCancelIn]):
    """Call it off, saying why (409 once attendance was confirmed). Cancelling again answers the same."""
    user = _reader(request)
    activity = selectors.activity_for(user, activity_id)
    services.do_cancel_activity(activity, actor=user, reason=payload.reason, ip=client_ip(request))
    return _detail(user, activity_id)


@router.post(
    "/activities/{activity_id}/sign-up",
    response={200: CommunitySignUpOut, 201: CommunitySignUpOut, **WRITE_ERRORS},
    url_name="community_sign_up",
    summary="Sign up for an activity",
)
def sign_up(request: HttpRequest, activity_id: Id, payload: Form[CommunitySignUpIn]):
    """Sign up (a volunteer: themselves, `member` left out or one of their memberships; a keeper: the member
    named). 201 the first time; 200 with the same sign-up when signed up already. 409: the activity has
    started, is closed, or its places are taken; 403: none of the caller's teams may join."""
    user = _reader(request)
    activity = selectors.activity_for(user, activity_id)
    result = services.do_sign_up(activity, actor=user, member=payload.member, ip=client_ip(request))
    return Status(201 if result.created else 200, signup_out(result.signup))


@router.post(
    "/activities/{activity_id}/cancel-sign-up",
    response={200: CommunitySignUpOut, **WRITE_ERRORS},
    url_name="community_cancel_sign_up",
    summary="Take a sign-up back",
)
def cancel_sign_up(request: HttpRequest, activity_id: Id, payload: Form[CommunitySignUpIn]):
    """Before the activity starts: the place is free again. Sent again, it answers the cancelled sign-up."""
    user = _reader(request)
    activity = selectors.activity_for(user, activity_id)
    signup = services.do_cancel_sign_up(activity, actor=user, member=payload.member, ip=client_ip(request))
    return signup_out(signup)


@router.post(
    "/signups/{signup_id}/attendance",
    response={200: CommunitySignUpOut, **WRITE_ERRORS},
    url_name="community_attendance",
    summary="Confirm attendance and hours",
)
def attendance(request: HttpRequest, signup_id: Id, payload: Form[CommunityAttendanceIn]):
    """Whether the member came and the hours served (0 to the activity's length), once the activity has started;
    for its organiser and the keepers of its grid. May be corrected later."""
    user = _reader(request)
    signup = selectors.signup_for(user, signup_id)
    activity = selectors.activity_for(user, signup.activity_id)
    done = services.do_confirm_attendance(
        activity,
        {signup.pk: services.Attendance(payload.attended, payload.hours)},
        actor=user,
        ip=client_ip(request),
    )
    return signup_out(done[0])


# ---------------------------------------------------------------------------------------------- tasks


@router.get(
    "/tasks",
    response={200: CommunityTaskPage, **READ_ERRORS},
    url_name="community_task_list",
    summary="Team tasks",
)
def task_list(request: HttpRequest, filters: Query[CommunityTaskListQuery], page: Query[PageQuery]):
    """The tasks the caller sees (staff: given in their grids; a volunteer: their teams'), the newest first; of
    a grid's subtree, a team, a state. Paged by `before`."""
    user = _reader(request)
    qs = selectors.tasks(user, grid=filters.grid, team=filters.team, state=filters.state)
    rows, more, next_before = _page(qs, "created_at", page)
    today = timezone.localdate()
    return CommunityTaskPage(items=[task_out(t, today) for t in rows], has_more=more, next_before=next_before)


@router.post(
    "/tasks",
    response={201: CommunityTaskOut, **WRITE_ERRORS},
    url_name="community_task_give",
    summary="Give a team a task",
)
def task_give(request: HttpRequest, payload: Form[CommunityTaskIn]):
    """A task for a team of the grid, of a grid above it or below it. 403: only the grid's staff give tasks, in
    their own grids."""
    user = _reader(request)
    task = services.do_give_task(
        actor=user,
        team=payload.team,
        title=payload.title,
        grid=payload.grid,
        description=payload.description,
        due_on=payload.due_on,
        case=payload.case,
        ip=client_ip(request),
    )
    return Status(201, task_out(selectors.task_for(user, task.pk), timezone.localdate()))


@router.get(
    "/tasks/{task_id}",
    response={200: CommunityTaskOut, **READ_ERRORS},
    url_name="community_task",
    summary="A team task",
)
def task_detail(request: HttpRequest, task_id: Id):
    return task_out(selectors.task_for(_reader(request), task_id), timezone.localdate())


@router.post(
    "/tasks/{task_id}/accept",
    response={200: CommunityTaskOut, **WRITE_ERRORS},
    url_name="community_task_accept",
    summary="Accept a task",
)
def task_accept(request: HttpRequest, task_id: Id):
    """A volunteer of the team takes the task on. Sent again, it answers the same. 409: a teammate accepted it
    first, or it was cancelled."""
    user = _reader(request)
    result = services.do_accept_task(selectors.task_for(user, task_id), actor=user, ip=client_ip(request))
    return task_out(result.task, timezone.localdate())


@router.post(
    "/tasks/{task_id}/decline",
    response={200: CommunityTaskOut, **WRITE_ERRORS},
    url_name="community_task_decline",
    summary="Decline a task",
)
def task_decline(request: HttpRequest, task_id: Id, payload: Form[CommunityReasonIn]):
    """A volunteer of the team declines the task (or gives back one they accepted), saying why. Sent again, it
    answers the same."""
    user = _reader(request)
    task = selectors.task_for(user, task_id)
    result = services.do_decline_task(task, actor=user, reason=payload.reason, ip=client_ip(request))
    return task_out(result.task, timezone.localdate())


@router.post(
    "/tasks/{task_id}/done",
    response={200: CommunityTaskOut, **WRITE_ERRORS},
    url_name="community_task_done",
    summary="Report a task done",
)
def task_done(request: HttpRequest, task_id: Id, payload: Form[CommunityDoneIn]):
    """The task is done, with what was done. Sent again, it answers the first report."""
    user = _reader(request)
    task = selectors.task_for(user, task_id)
    result = services.do_complete_task(task, actor=user, result=payload.result, ip=client_ip(request))
    return task_out(result.task, timezone.localdate())


@router.post(
    "/tasks/{task_id}/cancel",
    response={200: CommunityTaskOut, **WRITE_ERRORS},
    url_name="community_task_cancel",
    summary="Cancel a task",
)
def task_cancel(request: HttpRequest, task_id: Id, payload: Form[CommunityCancelIn]):
    """The grid takes the task back, saying why."""
    user = _reader(request)
    task = selectors.task_for(user, task_id)
    result = services.do_cancel_task(task, actor=user, reason=payload.reason, ip=client_ip(request))
    return task_out(result.task, timezone.localdate())


# ---------------------------------------------------------------------------------------------- the phone


def _choices(choices: Any) -> list[CommunityChoice]:
    return [CommunityChoice(value=value, label=str(text)) for value, text in choices.choices]


@router.get(
    "/mine",
    response={200: CommunityMine, **READ_ERRORS},
    url_name="community_mine",
    summary="My teams, activities and tasks",
)
def mine(request: HttpRequest):
    """Everything a volunteer's phone keeps offline, in one call: their memberships (with hours), the
    activities they may join (open, not ended) and those they joined in the last 30 days (with their sign-up
    and whether they may sign up or cancel), their teams' open tasks and those closed in the last 30 days,
    their hours, and the labels of every choice. 403 for anybody not holding the volunteer role."""
    user: Any = request.user
    if not any(h.role == Role.VOLUNTEER for h in held_roles(user)):
        raise NotAllowed(_("Only volunteers have teams of their own."))
    found = selectors.mine(user)
    now, today = found.now, timezone.localdate(found.now)
    memberships = [
        CommunityMembership(
            member_id=m.pk,
            name=m.name,
            joined_on=m.joined_on,
            hours=float(m.hours),  # type: ignore[attr-defined]
            team=team_ref(m.team),  # type: ignore[arg-type]
            team_grid=grid_ref(m.team.grid),
            team_phone=m.team.phone,
            leader=member_ref(m.team.leader) if m.team.leader_id else None,
            is_leader=m.team.leader_id == m.pk,
        )
        for m in found.members
    ]
    activities = []
    for row in found.activities:
        a = row.activity
        fields = _activity_fields(a)
        open_now = a.state == ActivityState.OPEN and now < a.starts_at
        full = fields["places_left"] == 0
        activities.append(
            CommunityMyActivity(
                **fields,
                my_signup=signup_out(row.signup) if row.signup is not None else None,
                member_ids=[m.pk for m in row.eligible],
                may_sign_up=open_now and not full and row.signup is None and bool(row.eligible),
                may_cancel=open_now and row.signup is not None,
            )
        )
    return CommunityMine(
        as_of=timezone.localtime(now),
        memberships=memberships,
        activities=activities,
        tasks=[task_out(t, today) for t in found.tasks],
        hours_total=float(found.hours_total),
        hours_this_year=float(found.hours_this_year),
        choices=CommunityChoices(
            team_kinds=_choices(TeamKind),
            activity_kinds=_choices(ActivityKind),
            activity_states=_choices(ActivityState),
            task_states=_choices(TaskState),
        ),
    )
