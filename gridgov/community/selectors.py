"""Scoped reads of the community: teams with their members and hours, activities with their places taken,
sign-ups, tasks, the figures of a period, what a volunteer's phone keeps offline, and the volunteer hours per
grid for the subtree overview. Every read starts from `visible_to(user, …)`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.scoping import grid_filter
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .choices import OPEN_TASK_STATES, ActivityState, TaskState
from .errors import ActivityNotFound, MemberNotFound, SignUpNotFound, TaskNotFound, TeamNotFound
from .models import Activity, Member, SignUp, Task, Team
from .scoping import ancestors_and_self, reach

ZERO = Decimal("0")
HOURS: DecimalField = DecimalField(max_digits=12, decimal_places=2)

# What the phone keeps: the activities and tasks of the last weeks besides the open ones.
RECENT_DAYS = 30
MINE_LIMIT = 100


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an interval of aware times."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def in_days(qs: QuerySet[Any], column: str, since: dt.date | None, until: dt.date | None) -> QuerySet[Any]:
    """Rows whose time `column` falls on the local days from `since` to `until` (both included)."""
    if since is not None:
        qs = qs.filter(**{f"{column}__gte": day_bounds(since)[0]})
    if until is not None:
        qs = qs.filter(**{f"{column}__lt": day_bounds(until)[1]})
    return qs


def grid_for(user: Any, code: str | None) -> Grid | None:
    """A current grid of this code the user sees (the grids of their subtree and those above it); None when
    they see none."""
    if not code:
        return None
    return visible_to(user, Grid.objects.current()).filter(code=code.strip()).defer("geometry").first()


def _in_grid(user: Any, qs: QuerySet[Any], code: str | None, prefix: str = "") -> QuerySet[Any]:
    """`qs` narrowed to the subtree of grid `code` (a grid the user does not see holds nothing)."""
    if code is None:
        return qs
    grid = grid_for(user, code)
    return qs.filter(grid_filter(grid.path, prefix)) if grid is not None else qs.none()


def hours_of(prefix: str = "") -> Any:
    """The confirmed hours of sign-ups reached through `prefix` (e.g. "signups__"), 0 when none."""
    return Coalesce(Sum(f"{prefix}hours"), Value(ZERO), output_field=HOURS)


# ---------------------------------------------------------------------------------------------- teams


def teams(
    user: Any,
    *,
    grid: str | None = None,
    kind: str | None = None,
    active: bool | None = True,
    name: str | None = None,
) -> QuerySet[Team]:
    """The teams the user sees, with their grid and leader, and `member_count` (active members); of `grid`'s
    subtree, of a kind, active or not, whose name holds `name`."""
    qs = (
        visible_to(user, Team)
        .select_related("grid", "leader")
        .defer("grid__geometry")
        .annotate(member_count=Count("members", filter=Q(members__active=True)))
    )
    qs = _in_grid(user, qs, grid)
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    if name:
        qs = qs.filter(name__icontains=name.strip())
    return qs


def team_for(user: Any, pk: int) -> Team:
    """The team if the user sees it; anything else does not exist (404)."""
    team = teams(user, active=None).filter(pk=pk).first()
    if team is None:
        raise TeamNotFound
    return team


# What lists show of a member and of a sign-up (never the encrypted phone).
MEMBER_FIELDS = (
    "id", "team_id", "name", "phone_masked", "skills", "joined_on", "active", "left_on", "person_id", "user_id",
)  # fmt: skip
SIGNUP_FIELDS = (
    "id", "activity_id", "signed_at", "cancelled_at", "attended", "hours", "confirmed_at", "confirmed_by_id",
    "member_id", "member__name", "member__team_id", "member__team__name", "member__team__kind",
)  # fmt: skip


def members(user: Any, team: Team, *, active: bool | None = None) -> QuerySet[Member]:
    """The members of a team the user sees, the active first, by name, with `hours` (confirmed, all time) and
    their login."""
    qs = (
        visible_to(user, Member)
        .filter(team=team)
        .only(*MEMBER_FIELDS)
        .annotate(hours=hours_of("signups__"))
        .order_by("-active", "name", "id")
    )
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def member_for(user: Any, pk: int) -> Member:
    member = visible_to(user, Member).select_related("team", "team__grid").defer("team__grid__geometry")
    found = member.filter(pk=pk).first()
    if found is None:
        raise MemberNotFound
    return found


# ---------------------------------------------------------------------------------------------- activities


def with_signed(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    """Activities with their team, grid and organiser, and `signed` (the sign-ups not cancelled)."""
    return (
        qs.select_related("team", "grid", "created_by")
        .defer("grid__geometry")
        .annotate(signed=Count("signups", filter=Q(signups__cancelled_at__isnull=True)))
    )


def activities(
    user: Any,
    *,
    grid: str | None = None,
    team: int | None = None,
    state: str | Collection[str] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Activity]:
    """The activities the user sees: of `grid`'s subtree, of one team, in a state (or several), starting on
    the local days from `since` to `until`."""
    qs = with_signed(visible_to(user, Activity))
    qs = _in_grid(user, qs, grid)
    if team is not None:
        qs = qs.filter(team_id=team)
    if isinstance(state, str):
        qs = qs.filter(state=state)
    elif state is not None:
        qs = qs.filter(state__in=sorted(state))
    return in_days(qs, "starts_at", since, until)


def activity_for(user: Any, pk: int) -> Activity:
    found = with_signed(visible_to(user, Activity)).filter(pk=pk).first()
    if found is None:
        raise ActivityNotFound
    return found


def signups(user: Any, activity: Activity) -> QuerySet[SignUp]:
    """The sign-ups of an activity the user sees (staff: all; a volunteer: their own), the current first, in
    the order they came."""
    return (
        visible_to(user, SignUp)
        .filter(activity=activity)
        .select_related("member", "member__team")
        .only(*SIGNUP_FIELDS)
        .order_by("cancelled_at", "signed_at", "id")
    )


def signup_for(user: Any, pk: int) -> SignUp:
    found = (
        visible_to(user, SignUp).select_related("activity", "member", "member__team").filter(pk=pk).first()
    )
    if found is None:
        raise SignUpNotFound
    return found


# ---------------------------------------------------------------------------------------------- tasks

TASK_RELATIONS = ("team", "grid", "case", "accepted_by", "declined_by", "created_by", "done_by")


def with_task_relations(qs: QuerySet[Task]) -> QuerySet[Task]:
    return qs.select_related(*TASK_RELATIONS).defer("grid__geometry")


def tasks(
    user: Any,
    *,
    grid: str | None = None,
    team: int | None = None,
    state: str | Collection[str] | None = None,
) -> QuerySet[Task]:
    """The tasks the user sees: staff those given in their grids, a volunteer their teams'; of `grid`'s
    subtree, of one team, in a state (or several)."""
    qs = with_task_relations(visible_to(user, Task))
    qs = _in_grid(user, qs, grid)
    if team is not None:
        qs = qs.filter(team_id=team)
    if isinstance(state, str):
        qs = qs.filter(state=state)
    elif state is not None:
        qs = qs.filter(state__in=sorted(state))
    return qs


def task_for(user: Any, pk: int) -> Task:
    found = with_task_relations(visible_to(user, Task)).filter(pk=pk).first()
    if found is None:
        raise TaskNotFound
    return found


# ---------------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """What the community home counts in the user's grids (or their teams, for a volunteer) for a period."""

    teams: int  # active teams
    members: int  # their active members
    activities_held: int  # activities held (closed as held) that started in the period
    volunteers_served: int  # members with hours confirmed on an activity of the period
    hours_served: Decimal  # the hours confirmed on the activities of the period
    tasks_given: int  # tasks given in the period
    tasks_done: int  # tasks reported done in the period
    tasks_open: int  # tasks waiting for their team now (assigned or accepted), whenever given


def _own(user: Any, prefix: str = "") -> Q | None:
    """What the user's figures count: staff the records placed in their grid subtrees (not the teams above
    them), a volunteer their teams'; None for everything."""
    r = reach(user)
    if r.everything:
        return None
    q = r.subtree_q(prefix)
    if r.teams:
        q |= Q(**{f"{prefix}team_id__in": sorted(r.teams)})
    return q


def _scoped(qs: QuerySet[Any], q: Q | None) -> QuerySet[Any]:
    return qs if q is None else qs.filter(q)


def figures(
    user: Any, since: dt.date | None = None, until: dt.date | None = None, *, grid: str | None = None
) -> Figures:
    """The figures of the user's grids (narrowed to `grid`'s subtree), for the local days from `since` to
    `until`. Four queries."""
    r = reach(user)
    if not r:
        return Figures(0, 0, 0, 0, ZERO, 0, 0, 0)
    team_own = None if r.everything else (r.subtree_q() | Q(pk__in=sorted(r.teams)))
    team_rows = _in_grid(user, _scoped(Team.objects.filter(active=True), team_own), grid).aggregate(
        teams=Count("id", distinct=True),
        members=Count("members", filter=Q(members__active=True)),
    )
    activity_own = _own(user)
    held = _in_grid(user, _scoped(Activity.objects.all(), activity_own), grid)
    held = in_days(held, "starts_at", since, until)
    held_count = held.filter(state=ActivityState.DONE).count()
    served = (
        SignUp.objects.filter(activity__in=held.exclude(state=ActivityState.CANCELLED).values("pk"))
        .filter(attended=True, cancelled_at__isnull=True)
        .aggregate(people=Count("member_id", distinct=True), hours=hours_of())
    )
    task_qs = _in_grid(user, _scoped(Task.objects.all(), _own(user)), grid)
    given_q, done_q = Q(), Q(state=TaskState.DONE)
    if since is not None:
        given_q &= Q(created_at__gte=day_bounds(since)[0])
        done_q &= Q(done_at__gte=day_bounds(since)[0])
    if until is not None:
        given_q &= Q(created_at__lt=day_bounds(until)[1])
        done_q &= Q(done_at__lt=day_bounds(until)[1])
    task_rows = task_qs.aggregate(
        given=Count("id", filter=given_q),
        done=Count("id", filter=done_q),
        open=Count("id", filter=Q(state__in=sorted(OPEN_TASK_STATES))),
    )
    return Figures(
        teams=team_rows["teams"],
        members=team_rows["members"],
        activities_held=held_count,
        volunteers_served=served["people"],
        hours_served=served["hours"],
        tasks_given=task_rows["given"],
        tasks_done=task_rows["done"],
        tasks_open=task_rows["open"],
    )


def _local_days(period: Any) -> tuple[dt.date, dt.date]:
    """The first and last local day of an overview period (its end is excluded)."""
    end = timezone.localtime(period.end - dt.timedelta(microseconds=1)).date()
    return timezone.localtime(period.start).date(), end


def month_start(today: dt.date | None = None) -> dt.date:
    return (today or timezone.localdate()).replace(day=1)


class VolunteerHours:
    """The overview's column of volunteer hours per grid in its period (`cases.overview.provide_figures`)."""

    key = "volunteer_hours"
    label = _("volunteer hours")
    alarming = False

    def counts(self, level: int, ids: list[int], period: Any) -> dict[int, int]:
        since, until = _local_days(period)
        return {k: int(v) for k, v in hours_by_grid(level, ids, since=since, until=until).items()}

    def link(self, code: str, period: Any) -> str:
        since, until = _local_days(period)
        query = {"grid": code, "since": since.isoformat(), "until": until.isoformat()}
        return f"{reverse('community:activities')}?{urlencode(query)}"


def hours_by_grid(
    level: int, ids: list[int] | None = None, *, since: dt.date | None = None, until: dt.date | None = None
) -> dict[int, Decimal]:
    """The confirmed volunteer hours per grid of `level` (1 town, 2 village, 3 grid) on the activities placed
    in it that started on the local days from `since` to `until` — for the indicators, not scoped to a user.
    With `ids`, only those grids (grids without hours are left out). One query."""
    if level not in (1, 2, 3):
        raise ValueError(f"no grid level {level}")
    column = f"activity__grid_l{level}_id"
    qs = SignUp.objects.filter(attended=True, cancelled_at__isnull=True, hours__gt=0).exclude(
        activity__state=ActivityState.CANCELLED
    )
    if ids is not None:
        qs = qs.filter(**{f"{column}__in": ids})
    if since is not None:
        qs = qs.filter(activity__starts_at__gte=day_bounds(since)[0])
    if until is not None:
        qs = qs.filter(activity__starts_at__lt=day_bounds(until)[1])
    rows = qs.values(column).annotate(h=Sum("hours")).order_by().values_list(column, "h")
    return {grid_id: h for grid_id, h in rows if grid_id is not None}


# ---------------------------------------------------------------------------------------------- the phone


def may_join(activity: Activity, member: Member, team_grid_path: str) -> bool:
    """Whether `member` (of a team in the grid at `team_grid_path`) may sign up for `activity`: one of their
    team's, or one open to every team of a grid holding their team's grid."""
    if not member.active:
        return False
    if activity.team_id is not None:
        return bool(activity.team_id == member.team_id)
    return activity.grid_id in ancestors_and_self(team_grid_path)


@dataclass
class MyActivity:
    activity: Activity
    # My sign-up (not cancelled), if any; the memberships with which I may sign up.
    signup: SignUp | None
    eligible: list[Member]


@dataclass
class Mine:
    """What a volunteer's phone keeps: their memberships and teams, the activities they may join or joined
    lately, their teams' tasks (the open ones and the lately closed), and their hours."""

    members: list[Member]
    activities: list[MyActivity]
    tasks: list[Task]
    hours_total: Decimal
    hours_this_year: Decimal
    now: dt.datetime
    teams: list[Team] = field(default_factory=list)


def mine(user: Any, now: dt.datetime | None = None) -> Mine:
    """What the phone of a volunteer keeps offline, as the volunteer (not as grid staff, for a user who is
    both). Six queries, whatever the number of teams, activities and tasks."""
    now = now or timezone.now()
    r = reach(user)
    my_members: list[Member] = list(
        Member.objects.filter(pk__in=sorted(r.members))
        .select_related("team", "team__grid", "team__leader")
        .defer("team__grid__geometry")
        .annotate(hours=hours_of("signups__"))
        .order_by("team__name", "id")
    )
    recent = now - dt.timedelta(days=RECENT_DAYS)
    year_start = timezone.make_aware(dt.datetime(timezone.localdate(now).year, 1, 1))
    hours_this_year = SignUp.objects.filter(
        member_id__in=sorted(r.members), activity__starts_at__gte=year_start
    ).aggregate(h=hours_of())["h"]
    volunteer_only = Q(team_id__in=sorted(r.teams)) | Q(team__isnull=True, grid_id__in=sorted(r.team_grids))
    mine_signups = SignUp.objects.filter(member_id__in=sorted(r.members))
    found = list(
        with_signed(Activity.objects.filter(volunteer_only))
        .filter(
            Q(state=ActivityState.OPEN, ends_at__gte=now)
            | Q(starts_at__gte=recent, pk__in=mine_signups.values("activity_id"))
        )
        .prefetch_related(
            Prefetch(
                "signups",
                queryset=mine_signups.filter(cancelled_at__isnull=True).select_related("member__team"),
                to_attr="my_signups",
            )
        )
        .order_by("starts_at", "id")[:MINE_LIMIT]
    )
    paths = {m.pk: m.team.grid.path for m in my_members}
    rows = []
    for activity in found:
        own = activity.my_signups  # type: ignore[attr-defined]
        eligible = [m for m in my_members if may_join(activity, m, paths[m.pk])]
        rows.append(MyActivity(activity, own[0] if own else None, eligible))
    my_tasks = list(
        with_task_relations(Task.objects.filter(team_id__in=sorted(r.teams)))
        .filter(Q(state__in=sorted(OPEN_TASK_STATES)) | Q(closed_at__gte=recent))
        .order_by("-id")[:MINE_LIMIT]
    )
    teams_seen: dict[int, Team] = {}
    for m in my_members:
        teams_seen.setdefault(m.team_id, m.team)
    return Mine(
        members=my_members,
        activities=rows,
        tasks=my_tasks,
        hours_total=sum((m.hours for m in my_members), ZERO),  # type: ignore[attr-defined]
        hours_this_year=hours_this_year,
        now=now,
        teams=list(teams_seen.values()),
    )
