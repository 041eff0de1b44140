"""The community pages of the workbench: the home (the figures of a period and what is coming), volunteer teams
(list, a team's page with its members, hours, activities and tasks; new and changed), activities (list, an
activity's page with its sign-ups and the attendance to confirm; new), and tasks given to teams (list, a task's
page; new).

Every read goes through `selectors` (scoped: out of scope is 404, like what does not exist); every change goes
through `services`, whose refusals are shown next to the field they name. Lists page by keyset and take their
next rows by htmx, like fieldwork's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridgov.accounts.scoping import grid_filter
from gridgov.cases.errors import CaseError
from gridgov.core.audit import client_ip
from gridgov.core.paging import before_of, is_htmx, keyset, more_query
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid
from gridgov.registry.selectors import filter_grids

from . import selectors, services
from .choices import OPEN_TASK_STATES, ActivityState, TaskState
from .errors import ActivityNotFound, MemberNotFound, TaskNotFound, TeamNotFound
from .forms import (
    ActivityFilterForm,
    ActivityForm,
    CancelForm,
    DoneForm,
    MemberForm,
    PeriodForm,
    ReasonForm,
    SignUpForm,
    TaskFilterForm,
    TaskForm,
    TeamFilterForm,
    TeamForm,
)
from .models import Activity, Member, Team
from .scoping import reads_community

PAGE_SIZE = 50
# What the home and a team's page show of each list.
SHORT = 10
MEMBERS_SHOWN = 200
SIGNABLE_SHOWN = 500


def _reader(request: HttpRequest) -> Any:
    """The signed-in user when they work with the community as grid staff; for anybody else these pages do
    not exist (404)."""
    user: Any = request.user
    if not reads_community(user):
        raise Http404
    return user


def _page(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    """A community page (never kept by browsers or proxies: it names volunteers)."""
    user = request.user
    ctx.setdefault("may_keep", services.keeps_any(user))
    ctx.setdefault("may_give", services.gives_any(user))
    response = render(request, template, ctx, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(form: Any, exc: CaseError) -> int:
    """Put a service's refusal next to the field it names (else, or when the field is hidden, above the form);
    answer its status."""
    shown = exc.field in form.fields and not form.fields[exc.field].widget.is_hidden
    form.add_error(exc.field if shown else None, str(exc.message))
    return exc.status


PLURALS = {"activity": "activities"}


def _list(
    request: HttpRequest, name: str, form: Any, rows: list[Any], more: bool, extra: dict[str, Any]
) -> HttpResponse:
    ctx = {
        "form": form,
        "rows": rows,
        "more": more_query(request.GET, rows, more),
        "filtered": form.filtered(),
        "continued": before_of(request.GET) is not None,
        **extra,
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, f"community/_{name}_rows.html", ctx)
    return _page(request, f"community/{PLURALS.get(name, name + 's')}.html", ctx)


def _keeper_grids(user: Any) -> list[Grid]:
    """The grids offered for a team or an activity: those of the list filters the user keeps (towns, villages
    and grids)."""
    return [g for g in filter_grids(user) if g.level > 0 and services.keeps(user, g)]


def _giver_grids(user: Any) -> list[Grid]:
    return [g for g in filter_grids(user) if g.level > 0 and services.gives_tasks(user, g)]


# ------------------------------------------------------------------------------------------------- home


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The figures of the user's grids for a period (this month unless chosen), the activities coming, the
    tasks waiting for their team, and the teams."""
    user = _reader(request)
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("since", selectors.month_start(today).isoformat())
    data.setdefault("until", today.isoformat())
    period = PeriodForm(data)
    period.is_valid()
    since = period.value("since") or selectors.month_start(today)
    until = period.value("until") or today
    coming = list(
        selectors.activities(user, state=ActivityState.OPEN)
        .filter(ends_at__gte=timezone.now())
        .order_by("starts_at", "id")[:SHORT]
    )
    waiting = list(selectors.tasks(user, state=OPEN_TASK_STATES).order_by("-id")[:SHORT])
    teams = list(selectors.teams(user).order_by("name", "id")[:SHORT])
    ctx = {
        "tab": "home",
        "period": period,
        "since": since,
        "until": until,
        "figures": selectors.figures(user, since, until),
        "coming": coming,
        "waiting": waiting,
        "teams": teams,
        "today": today,
    }
    return _page(request, "community/home.html", ctx)


# ------------------------------------------------------------------------------------------------- teams


def _team(user: Any, pk: int) -> Team:
    try:
        return selectors.team_for(user, pk)
    except TeamNotFound as exc:
        raise Http404 from exc


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = TeamFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    state = form.value("active")
    active = {"": True, "inactive": False, "all": None}.get(state or "", True)
    qs = selectors.teams(
        user,
        grid=form.value("grid") or None,
        kind=form.value("kind") or None,
        active=active,
        name=form.value("name"),
    )
    rows, more = keyset(qs, "name", before=before_of(request.GET), limit=PAGE_SIZE, descending=False)
    return _list(request, "team", form, rows, more, {"tab": "teams"})


@login_required
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    grids = _keeper_grids(user)
    if not grids:
        raise PermissionDenied
    form = TeamForm(request.POST or None, grids=grids)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                team = services.do_create_team(
                    actor=user,
                    name=d["name"],
                    kind=d["kind"],
                    grid=d["grid"],
                    description=d["description"],
                    phone=d["phone"],
                    ip=client_ip(request),
                )
            except CaseError as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, _("Team “%(name)s” made: add its members.") % {"name": team.name})
                return HttpResponseRedirect(reverse("community:team", args=[team.pk]))
    return _page(request, "community/team_form.html", {"form": form, "tab": "teams", "team": None}, status)


def _leaders(team: Team) -> list[tuple[int, str]]:
    return list(
        Member.objects.filter(team=team, active=True).order_by("name", "id").values_list("pk", "name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    team = _team(user, pk)
    if not services.keeps(user, team.grid):
        raise PermissionDenied
    initial = {
        "name": team.name,
        "kind": team.kind,
        "phone": team.phone,
        "description": team.description,
        "leader": team.leader_id or "",
        "active": team.active,
        "version": team.version,
    }
    form = TeamForm(request.POST or None, initial=initial, leaders=_leaders(team))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.do_edit_team(
                    team,
                    actor=user,
                    version=d["version"],
                    name=d["name"],
                    kind=d["kind"],
                    description=d["description"],
                    phone=d["phone"],
                    leader=d["leader"] or None,
                    active=d["active"],
                    ip=client_ip(request),
                )
            except CaseError as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, _("Team saved."))
                return HttpResponseRedirect(reverse("community:team", args=[team.pk]))
    return _page(request, "community/team_form.html", {"form": form, "tab": "teams", "team": team}, status)


def _team_page(
    request: HttpRequest, user: Any, team: Team, member_form: Any = None, status: int = 200
) -> HttpResponse:
    keeper = services.keeps(user, team.grid)
    roster = list(selectors.members(user, team)[:MEMBERS_SHOWN])
    ctx = {
        "tab": "teams",
        "team": team,
        "members": roster,
        "hours": sum((m.hours for m in roster), start=selectors.ZERO),  # type: ignore[attr-defined]
        "activities": list(selectors.activities(user, team=team.pk).order_by("-starts_at", "-id")[:SHORT]),
        "tasks": list(selectors.tasks(user, team=team.pk).order_by("-id")[:SHORT]),
        "keeper": keeper,
        "member_form": member_form
        if member_form is not None
        else (MemberForm() if keeper and team.active else None),
        "today": timezone.localdate(),
    }
    return _page(request, "community/team.html", ctx, status)


@login_required
@require_GET
def team_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A team: its facts, its members with the hours each served, its latest activities and tasks."""
    user = _reader(request)
    return _team_page(request, user, _team(user, pk))


@login_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    team = _team(user, pk)
    if not services.keeps(user, team.grid):
        raise PermissionDenied
    form = MemberForm(request.POST)
    status = 422
    if form.is_valid():
        d = form.cleaned_data
        try:
            joined = services.do_add_member(
                team,
                actor=user,
                name=d["name"],
                phone=d["phone"],
                person=d["person"],
                user=d["user"],
                skills=d["skills"],
                joined_on=d["joined_on"],
                ip=client_ip(request),
            )
        except CaseError as exc:
            status = _refused(form, exc)
        else:
            text = _("%(name)s joined the team.") if joined.created else _("%(name)s is back in the team.")
            messages.success(request, text % {"name": joined.member.name})
            return HttpResponseRedirect(reverse("community:team", args=[team.pk]) + "#members")
    return _team_page(request, user, team, member_form=form, status=status)


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    try:
        member = selectors.member_for(user, pk)
    except MemberNotFound as exc:
        raise Http404 from exc
    if not services.keeps(user, member.team.grid):
        raise PermissionDenied
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.do_remove_member(member, actor=user, reason=reason, ip=client_ip(request))
    except CaseError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("%(name)s left the team; their hours stay on record.") % {"name": member.name}
        )
    return HttpResponseRedirect(reverse("community:team", args=[member.team_id]) + "#members")


# ------------------------------------------------------------------------------------------------- activities


def _activity(user: Any, pk: int) -> Activity:
    try:
        return selectors.activity_for(user, pk)
    except ActivityNotFound as exc:
        raise Http404 from exc


@login_required
@require_GET
def activity_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = ActivityFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    qs = selectors.activities(
        user,
        grid=form.value("grid") or None,
        state=form.value("state") or None,
        since=form.value("since"),
        until=form.value("until"),
    )
    rows, more = keyset(qs, "starts_at", before=before_of(request.GET), limit=PAGE_SIZE)
    return _list(request, "activity", form, rows, more, {"tab": "activities", "now": timezone.now()})


def _team_options(user: Any, keep: bool) -> list[tuple[int, str]]:
    """The active teams the user sees (those they keep, when `keep`), with their grid."""
    teams = selectors.teams(user).order_by("grid__path", "name")
    return [(t.pk, f"{t.name} · {t.grid.name}") for t in teams if not keep or services.keeps(user, t.grid)]


@login_required
@require_http_methods(["GET", "POST"])
def activity_new(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    grids = _keeper_grids(user)
    if not grids:
        raise PermissionDenied
    initial = {"team": request.GET.get("team", "")}
    form = ActivityForm(
        request.POST or None, initial=initial, teams=_team_options(user, keep=True), grids=grids
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                activity = services.do_create_activity(
                    actor=user,
                    title=d["title"],
                    kind=d["kind"],
                    team=d["team"] or None,
                    grid=d["grid"] or None,
                    starts_at=d["starts_at"],
                    ends_at=d["ends_at"],
                    place=d["place"],
                    notes=d["notes"],
                    capacity=d["capacity"],
                    ip=client_ip(request),
                )
            except CaseError as exc:
                status = _refused(form, exc)
            else:
                messages.success(
                    request, _("Activity “%(title)s” is open for sign-up.") % {"title": activity.title}
                )
                return HttpResponseRedirect(reverse("community:activity", args=[activity.pk]))
    return _page(request, "community/activity_form.html", {"form": form, "tab": "activities"}, status)


def _signable(activity: Activity) -> list[tuple[int, str]]:
    """The active members who may sign up and have not: the team's, or those of the teams of the activity's
    grid and below."""
    qs = Member.objects.filter(active=True, team__active=True).exclude(
        signups__activity=activity, signups__cancelled_at__isnull=True
    )
    if activity.team_id is not None:
        qs = qs.filter(team_id=activity.team_id)
    else:
        qs = qs.filter(grid_filter(activity.grid.path, "team__"))
    rows = qs.order_by("team__name", "name", "id").values_list("pk", "name", "team__name")[:SIGNABLE_SHOWN]
    return [(pk, f"{name} · {team}") for pk, name, team in rows]


def _activity_page(
    request: HttpRequest,
    user: Any,
    activity: Activity,
    *,
    signup_form: Any = None,
    cancel_form: Any = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    organiser = services.organises(user, activity)
    keeper = services.keeps(user, activity.grid)
    is_open = activity.state == ActivityState.OPEN
    before_start = now < activity.starts_at
    full = activity.capacity is not None and activity.signed >= activity.capacity  # type: ignore[attr-defined]
    if signup_form is None and keeper and is_open and before_start and not full:
        signup_form = SignUpForm(members=_signable(activity))
    rows = list(selectors.signups(user, activity))
    length = round(activity.length_hours, 2)
    ctx = {
        "tab": "activities",
        "activity": activity,
        "signups": rows,
        "organiser": organiser,
        "keeper": keeper,
        "signup_form": signup_form,
        "may_cancel_signups": keeper and is_open and before_start,
        "may_confirm": organiser and activity.state != ActivityState.CANCELLED and not before_start,
        "may_close": organiser and is_open and not before_start,
        "cancel_form": cancel_form
        if cancel_form is not None
        else (CancelForm() if organiser and is_open else None),
        "full": full,
        "length": length,
        "problem": problem,
        "now": now,
    }
    return _page(request, "community/activity.html", ctx, status)


@login_required
@require_GET
def activity_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An activity: its facts, its sign-ups, and for its organiser the attendance and hours to confirm."""
    user = _reader(request)
    return _activity_page(request, user, _activity(user, pk))


def _back(activity: Activity, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("community:activity", args=[activity.pk]) + anchor)


@login_required
@require_POST
def activity_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    activity = _activity(user, pk)
    if not services.keeps(user, activity.grid):
        raise PermissionDenied
    form = SignUpForm(request.POST, members=_signable(activity))
    status = 422
    if form.is_valid():
        try:
            result = services.do_sign_up(
                activity, actor=user, member=form.cleaned_data["member"], ip=client_ip(request)
            )
        except CaseError as exc:
            status = _refused(form, exc)
        else:
            if result.created:
                messages.success(request, _("%(name)s is signed up.") % {"name": result.signup.member.name})
            else:
                messages.info(
                    request, _("%(name)s was signed up already.") % {"name": result.signup.member.name}
                )
            return _back(activity, "#signups")
    return _activity_page(request, user, _activity(user, pk), signup_form=form, status=status)


@login_required
@require_POST
def activity_cancel_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    activity = _activity(user, pk)
    if not services.keeps(user, activity.grid):
        raise PermissionDenied
    try:
        signup = services.do_cancel_sign_up(
            activity, actor=user, member=request.POST.get("member"), ip=client_ip(request)
        )
    except CaseError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The sign-up of %(name)s is cancelled.") % {"name": signup.member.name})
    return _back(activity, "#signups")


@login_required
@require_POST
def activity_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """Who came and the hours each served, for every sign-up listed (all of them or none)."""
    user = _reader(request)
    activity = _activity(user, pk)
    if not services.organises(user, activity):
        raise PermissionDenied
    entries: dict[int, services.Attendance] = {}
    for key in request.POST.getlist("signup"):
        if key.isdigit():
            came = request.POST.get(f"attended_{key}") == "on"
            entries[int(key)] = services.Attendance(
                came, request.POST.get(f"hours_{key}", "").strip() or None
            )
    try:
        services.do_confirm_attendance(activity, entries, actor=user, ip=client_ip(request))
    except CaseError as exc:
        return _activity_page(request, user, activity, problem=str(exc.message), status=exc.status)
    messages.success(request, _("Attendance and hours confirmed."))
    return _back(activity, "#signups")


@login_required
@require_POST
def activity_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    activity = _activity(user, pk)
    if not services.organises(user, activity):
        raise PermissionDenied
    try:
        services.do_close_activity(activity, actor=user, ip=client_ip(request))
    except CaseError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The activity is closed as held."))
    return _back(activity)


@login_required
@require_POST
def activity_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    activity = _activity(user, pk)
    if not services.organises(user, activity):
        raise PermissionDenied
    form = CancelForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.do_cancel_activity(
                activity, actor=user, reason=form.cleaned_data["reason"], ip=client_ip(request)
            )
        except CaseError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, _("The activity is cancelled."))
            return _back(activity)
    return _activity_page(request, user, activity, cancel_form=form, status=status)


# ------------------------------------------------------------------------------------------------- tasks


def _task(user: Any, pk: int) -> Any:
    try:
        return selectors.task_for(user, pk)
    except TaskNotFound as exc:
        raise Http404 from exc


TASK_STATES: dict[str, Any] = {"": OPEN_TASK_STATES, "all": None, **{s: s for s in TaskState.values}}


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = TaskFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    state = TASK_STATES.get(form.value("state") or "", OPEN_TASK_STATES)
    qs = selectors.tasks(user, grid=form.value("grid") or None, state=state)
    rows, more = keyset(qs, "created_at", before=before_of(request.GET), limit=PAGE_SIZE)
    return _list(request, "task", form, rows, more, {"tab": "tasks", "today": timezone.localdate()})


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    grids = _giver_grids(user)
    if not grids:
        raise PermissionDenied
    form = TaskForm(
        request.POST or None,
        initial={"team": request.GET.get("team", "")},
        teams=_team_options(user, keep=False),
        grids=grids,
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                task = services.do_give_task(
                    actor=user,
                    team=d["team"],
                    grid=d["grid"],
                    title=d["title"],
                    description=d["description"],
                    due_on=d["due_on"],
                    case=d["case"],
                    ip=client_ip(request),
                )
            except CaseError as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, _("Task given to %(team)s.") % {"team": task.team.name})
                return HttpResponseRedirect(reverse("community:task", args=[task.pk]))
    return _page(request, "community/task_form.html", {"form": form, "tab": "tasks"}, status)


def _task_page(
    request: HttpRequest,
    user: Any,
    task: Any,
    *,
    done_form: Any = None,
    cancel_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    waiting = task.state in OPEN_TASK_STATES
    giver = services.gives_tasks(user, task.grid) or task.created_by_id == user.pk
    ctx = {
        "tab": "tasks",
        "task": task,
        "waiting": waiting,
        "overdue": waiting and task.due_on is not None and task.due_on < timezone.localdate(),
        "done_form": done_form
        if done_form is not None
        else (DoneForm() if waiting and services.gives_tasks(user, task.grid) else None),
        "cancel_form": cancel_form
        if cancel_form is not None
        else (CancelForm() if waiting and giver else None),
        "case_visible": task.case_id is not None
        and visible_to(user, type(task.case)).filter(pk=task.case_id).exists(),
    }
    return _page(request, "community/task.html", ctx, status)


@login_required
@require_GET
def task_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    return _task_page(request, user, _task(user, pk))


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """The grid's staff write down a task the team reported done (by phone, in person)."""
    user = _reader(request)
    task = _task(user, pk)
    form = DoneForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.do_complete_task(
                task, actor=user, result=form.cleaned_data["result"], ip=client_ip(request)
            )
        except CaseError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            status = _refused(form, exc)
        else:
            messages.success(request, _("The task is recorded as done."))
            return HttpResponseRedirect(reverse("community:task", args=[task.pk]))
    return _task_page(request, user, task, done_form=form, status=status)


@login_required
@require_POST
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    task = _task(user, pk)
    form = CancelForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.do_cancel_task(
                task, actor=user, reason=form.cleaned_data["reason"], ip=client_ip(request)
            )
        except CaseError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            status = _refused(form, exc)
        else:
            messages.success(request, _("The task is cancelled."))
            return HttpResponseRedirect(reverse("community:task", args=[task.pk]))
    return _task_page(request, user, task, cancel_form=form, status=status)


def nav_link(request: HttpRequest) -> tuple[str, Any, str] | None:
    """The navigation's link to the community pages, for the grid staff who work with them (no query: roles are
    read once a request)."""
    user = request.user
    if not user.is_authenticated or not reads_community(user):
        return None
    return (reverse("community:home"), _("Volunteers"), "")
