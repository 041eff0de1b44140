"""The only code that changes the community: teams and their members, activities and sign-ups, the hours
served, and the tasks a grid gives a team.

Each `do_*` runs in one transaction, changes state by compare-and-set (the row is changed only if it still is
what the caller read; otherwise `Conflict`), and writes an audit record in the same transaction. Bad input
raises `Invalid` naming the field, before anything is written. What the phone sends may come twice (an offline
queue): signing up, cancelling a sign-up, accepting, declining and reporting a task done answer the first call
when repeated (`changed` / `created` False) and change nothing.

Who may do what:
- teams, members, activities, attendance: the keepers of the grid (the heads of the town or the village, the
  command centre's operators, and the grid specialists of a level-3 grid), for the grids of their subtree; the
  organiser of an activity (its creator) for that activity;
- tasks: the keepers and the information officers, for the grids of their subtree, to a team of that grid, of
  a grid above it or of a grid below it;
- signing up: a volunteer for themselves, or a keeper for a member; accepting, declining and reporting a task
  done: a volunteer of the team (a keeper may write down a task done that the team reported by phone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.accounts.choices import Role
from gridgov.accounts.models import User
from gridgov.accounts.scoping import held_roles
from gridgov.cases import notify
from gridgov.cases.models import Case
from gridgov.core import audit
from gridgov.core.errors import clean_text
from gridgov.core.masking import mask_phone
from gridgov.core.personal import PHONE, blind_index, encrypt_text
from gridgov.core.schemas import MAX_ID
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid
from gridgov.registry.models import Person
from gridgov.registry.validators import check_mobile

from .choices import ActivityKind, ActivityState, TaskState, TeamKind
from .errors import Conflict, Invalid, NotAllowed
from .models import Activity, Member, SignUp, Task, Team
from .scoping import GIVERS, KEEPERS, reach

MAX_NAME = 100
MAX_TEXT = 2000
MAX_SKILLS = 200
MAX_REASON = 200
MAX_PLACE = 200
MAX_CAPACITY = 1000
# An activity lasts at most a week, and is planned at most a year ahead.
MAX_LENGTH = timedelta(days=7)
MAX_AHEAD = timedelta(days=366)
PHONE_CHARS = set("0123456789-+() ")


def _atomic() -> Any:
    return transaction.atomic(durable=not connection.in_atomic_block)


# ---------------------------------------------------------------------------------------------- who


def _holds(user: Any, roles: frozenset[str], grid: Grid) -> bool:
    """Whether `user` holds one of `roles` over `grid` or a grid above it (no query)."""
    return any(
        h.role in roles and h.grid_path and grid.path.startswith(h.grid_path) for h in held_roles(user)
    )


def keeps(user: Any, grid: Grid) -> bool:
    """Whether `user` keeps the teams and activities of `grid`."""
    return _holds(user, KEEPERS, grid)


def gives_tasks(user: Any, grid: Grid) -> bool:
    """Whether `user` gives tasks in `grid`."""
    return _holds(user, GIVERS, grid)


def keeps_any(user: Any) -> bool:
    return any(h.role in KEEPERS and h.grid_path for h in held_roles(user))


def gives_any(user: Any) -> bool:
    return any(h.role in GIVERS and h.grid_path for h in held_roles(user))


def organises(user: Any, activity: Activity) -> bool:
    """The activity's organiser (its creator) or a keeper of its grid."""
    return bool(activity.created_by_id == user.pk) or keeps(user, activity.grid)


def my_member(user: Any, team_id: int) -> Member | None:
    """The user's active membership of a team, when they are a volunteer of it."""
    if team_id not in reach(user).teams:
        return None
    return Member.objects.filter(user=user, team_id=team_id, active=True).first()


# ---------------------------------------------------------------------------------------------- input


def _id(value: Any, field: str, message: Any) -> int | None:
    """A record's id as a form or the API gives it (or the record itself); None when left out."""
    if value is None or value == "":
        return None
    raw = getattr(value, "pk", value)
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise Invalid(message, field=field) from exc
    if not 0 < pk <= MAX_ID:
        raise Invalid(message, field=field)
    return pk


def _moment(value: Any, field: str) -> datetime:
    """A time, ISO 8601 (without an offset: Asia/Shanghai), or a datetime."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    else:
        try:
            moment = parse_datetime(str(value or "").strip())
        except ValueError:
            moment = None
    if moment is None:
        raise Invalid(_("Give the time as ISO 8601, for example 2026-11-25T09:30:00+08:00."), field=field)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _day(value: Any, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, datetime):
        return value
    try:
        day = parse_date(str(value).strip())
    except ValueError:
        day = None
    if day is None:
        raise Invalid(_("Give the date as YYYY-MM-DD."), field=field)
    return day


def _choice(value: Any, choices: Any, field: str, message: Any) -> str:
    if value not in choices.values:
        raise Invalid(message, field=field)
    return str(value)


def _duty_phone(value: Any) -> str:
    """A team's duty line: a mobile or a landline with its area code, as people write them."""
    text = clean_text(value, "phone", 20, label=_("Duty phone"))
    digits = sum(c.isdigit() for c in text)
    if text and (set(text) - PHONE_CHARS or not 5 <= digits <= 15):
        raise Invalid(
            _("Give the duty phone as digits, for example 0477-5123456 or 13812345678."), field="phone"
        )
    return text


def _mobile(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        return check_mobile(text)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], field="phone") from exc


def _grid(value: Any, field: str = "grid") -> Grid:
    """A current grid of level 1 to 3, by code (or the grid itself)."""
    code = value.code if isinstance(value, Grid) else str(value or "").strip()
    found = Grid.objects.current().filter(code=code).defer("geometry").first() if code else None
    if found is None:
        raise Invalid(_("No current grid has the code %(code)s.") % {"code": code[:40]}, field=field)
    if found.level not in (1, 2, 3):
        raise Invalid(_("Choose a town, a village or a grid, not the whole county."), field=field)
    return found


def _hours(value: Any, limit: Decimal) -> Decimal:
    """Hours served: a number from 0 to the activity's length, at most two decimals."""
    try:
        hours = Decimal(str(value).strip().replace("，", ".").replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(_("Give the hours served as a number, for example 2.5."), field="hours") from exc
    if not hours.is_finite() or hours < 0:
        raise Invalid(_("Give the hours served as a number, for example 2.5."), field="hours")
    if hours > limit:
        raise Invalid(
            _("At most %(limit)s hours: the activity lasts no longer.") % {"limit": limit.normalize()},
            field="hours",
        )
    if hours != hours.quantize(Decimal("0.01")):
        raise Invalid(_("Give the hours with at most two decimals."), field="hours")
    return hours.quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------- teams


def _team_name_taken(grid: Grid, name: str, exclude: int | None = None) -> bool:
    qs = Team.objects.filter(grid=grid, name=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def do_create_team(
    *,
    actor: Any,
    name: Any,
    kind: Any,
    grid: Any,
    description: Any = "",
    phone: Any = "",
    ip: str | None = None,
) -> Team:
    """A new team in `grid` (a grid code of level 1 to 3) of the actor's subtree."""
    title = clean_text(name, "name", MAX_NAME, label=pgettext_lazy("community", "Name"), required=True)
    the_kind = _choice(kind, TeamKind, "kind", _("Unknown kind of team."))
    the_grid = _grid(grid)
    if not keeps(actor, the_grid):
        raise NotAllowed(
            _("Only the grid heads, operators and grid specialists of this grid keep its teams."),
            field="grid",
        )
    text = clean_text(description, "description", MAX_TEXT, label=pgettext_lazy("community", "Description"))
    line = _duty_phone(phone)
    if _team_name_taken(the_grid, title):
        raise Invalid(_("This grid has a team of this name already."), field="name")
    now = timezone.now()
    try:
        with _atomic():
            team = Team(
                name=title,
                kind=the_kind,
                description=text,
                phone=line,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            team.place_in(the_grid)
            team.save()
            audit.record(
                "community.team.create",
                actor=actor,
                target=team,
                data={"name": title, "kind": the_kind, "grid": the_grid.code},
                ip=ip,
            )
    except IntegrityError as exc:  # the same name given at the same moment
        raise Invalid(_("This grid has a team of this name already."), field="name") from exc
    return team


def do_edit_team(
    team: Team,
    *,
    actor: Any,
    version: Any,
    name: Any,
    kind: Any,
    description: Any = "",
    phone: Any = "",
    leader: Any = None,
    active: Any = True,
    ip: str | None = None,
) -> Team:
    """Change a team's name, kind, description, duty phone, leader (an active member of it, or none) and
    whether it is active. `version` is the version the editor read: a team changed meanwhile is a conflict."""
    if not keeps(actor, team.grid):
        raise NotAllowed(
            _("Only the grid heads, operators and grid specialists of this grid keep its teams.")
        )
    try:
        read = int(version)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("The form is out of date: open the team again."), field="version") from exc
    title = clean_text(name, "name", MAX_NAME, label=pgettext_lazy("community", "Name"), required=True)
    the_kind = _choice(kind, TeamKind, "kind", _("Unknown kind of team."))
    text = clean_text(description, "description", MAX_TEXT, label=pgettext_lazy("community", "Description"))
    line = _duty_phone(phone)
    leader_id = _id(leader, "leader", _("Choose the leader among the team's members."))
    if leader_id is not None and not Member.objects.filter(pk=leader_id, team=team, active=True).exists():
        raise Invalid(_("Choose the leader among the team's members."), field="leader")
    is_active = active not in (False, "false", "0", "", None)
    if _team_name_taken(team.grid, title, exclude=team.pk):
        raise Invalid(_("This grid has a team of this name already."), field="name")
    now = timezone.now()
    with _atomic():
        changed = Team.objects.filter(pk=team.pk, version=read).update(
            name=title,
            kind=the_kind,
            description=text,
            phone=line,
            leader_id=leader_id,
            active=is_active,
            version=read + 1,
            updated_at=now,
        )
        if changed != 1:
            raise Conflict(_("Somebody changed this team meanwhile: open it again."), field="version")
        audit.record(
            "community.team.edit",
            actor=actor,
            target=team,
            data={"name": title, "kind": the_kind, "leader": leader_id, "active": is_active},
            ip=ip,
        )
    team.name, team.kind, team.description, team.phone = title, the_kind, text, line
    team.leader_id, team.active, team.version, team.updated_at = leader_id, is_active, read + 1, now
    return team


# ---------------------------------------------------------------------------------------------- members


@dataclass(frozen=True)
class Joined:
    member: Member
    # False: a former member came back (their record, with its history, is active again).
    created: bool


def do_add_member(
    team: Team,
    *,
    actor: Any,
    name: Any = "",
    phone: Any = "",
    person: Any = None,
    user: Any = None,
    skills: Any = "",
    joined_on: Any = None,
    ip: str | None = None,
) -> Joined:
    """A member of `team`: a name (or the registry's person, whose name it takes when none is given), their
    mobile, skills, the day they joined, and the login with which they use the phone app (a user holding the
    volunteer role, by username or id). A person or login who left the team before comes back on their old
    record."""
    if not keeps(actor, team.grid):
        raise NotAllowed(
            _("Only the grid heads, operators and grid specialists of this grid keep its teams.")
        )
    if not team.active:
        raise Conflict(_("This team is no longer active."))
    person_id = _id(person, "person", _("No person of your grids has this id."))
    the_person = None
    if person_id is not None:
        the_person = visible_to(actor, Person).filter(pk=person_id).only("id", "name").first()
        if the_person is None:
            raise Invalid(_("No person of your grids has this id."), field="person")
    title = clean_text(name, "name", 50, label=_("Full name")) or (the_person.name if the_person else "")
    if not title:
        raise Invalid(_("Give the member's name."), field="name")
    mobile = _mobile(phone)
    the_user = _volunteer_login(actor, user)
    text = clean_text(skills, "skills", MAX_SKILLS, label=_("Skills"))
    today = timezone.localdate()
    joined = _day(joined_on, "joined_on") or today
    if joined > today:
        raise Invalid(_("The day they joined cannot lie in the future."), field="joined_on")
    same = Member.objects.filter(team=team).filter(
        (Q(person_id=person_id) if person_id else Q(pk__in=[]))
        | (Q(user_id=the_user.pk) if the_user else Q(pk__in=[]))
    )
    former = None
    for found in same:
        if found.active:
            field = "person" if person_id and found.person_id == person_id else "user"
            raise Invalid(_("This person is a member of the team already."), field=field)
        former = former or found
    values = {
        "name": title,
        "person": the_person,
        "user": the_user,
        "phone_enc": encrypt_text(mobile, PHONE),
        "phone_index": blind_index(mobile) if mobile else "",
        "phone_masked": mask_phone(mobile) if mobile else "",
        "skills": text,
        "joined_on": joined,
        "active": True,
        "left_on": None,
    }
    try:
        with _atomic():
            if former is not None:
                changed = Member.objects.filter(pk=former.pk, active=False).update(**values)
                if changed != 1:
                    raise Conflict(_("Somebody changed this member meanwhile: open the team again."))
                member = Member.objects.get(pk=former.pk)
            else:
                member = Member.objects.create(team=team, **values)
            audit.record(
                "community.member.rejoin" if former is not None else "community.member.add",
                actor=actor,
                target=member,
                data={
                    "team": team.pk,
                    "name": title,
                    "person": person_id,
                    "user": the_user.pk if the_user else None,
                    "phone": member.phone_masked,
                    "joined_on": joined.isoformat(),
                },
                ip=ip,
            )
    except IntegrityError as exc:  # the same person added at the same moment
        raise Invalid(_("This person is a member of the team already."), field="person") from exc
    return Joined(member=member, created=former is None)


def _volunteer_login(actor: Any, value: Any) -> Any:
    """A login holding the volunteer role that the actor sees, by username or id; None when left out."""
    if value is None or value == "":
        return None
    if isinstance(value, User):
        lookup = Q(pk=value.pk)
    else:
        text = str(value).strip()
        lookup = Q(username=text) | (
            Q(pk=int(text)) if text.isdigit() and int(text) <= MAX_ID else Q(pk__in=[])
        )
    found = (
        visible_to(actor, User)
        .filter(lookup, is_active=True, assignments__role=Role.VOLUNTEER)
        .distinct()
        .first()
    )
    if found is None:
        raise Invalid(_("No volunteer login of your grids has this name."), field="user")
    return found


def do_remove_member(member: Member, *, actor: Any, reason: Any = "", ip: str | None = None) -> Member:
    """The member leaves the team: their record stays, inactive, with the day they left and their hours; a
    leader who leaves leaves the team without one. Removing one who left already changes nothing."""
    team = member.team
    if not keeps(actor, team.grid):
        raise NotAllowed(
            _("Only the grid heads, operators and grid specialists of this grid keep its teams.")
        )
    why = clean_text(reason, "reason", MAX_REASON, label=pgettext_lazy("community", "Reason"))
    if not member.active:
        return member
    today = timezone.localdate()
    with _atomic():
        changed = Member.objects.filter(pk=member.pk, active=True).update(active=False, left_on=today)
        if changed != 1:
            member.refresh_from_db()
            return member
        Team.objects.filter(pk=team.pk, leader_id=member.pk).update(leader=None, updated_at=timezone.now())
        audit.record(
            "community.member.remove",
            actor=actor,
            target=member,
            data={"team": team.pk, "reason": why},
            ip=ip,
        )
    member.active, member.left_on = False, today
    if team.leader_id == member.pk:
        team.leader_id = None
    return member


# ---------------------------------------------------------------------------------------------- activities


def do_create_activity(
    *,
    actor: Any,
    title: Any,
    grid: Any = None,
    team: Any = None,
    kind: Any = ActivityKind.SERVICE,
    starts_at: Any,
    ends_at: Any,
    place: Any = "",
    notes: Any = "",
    capacity: Any = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Activity:
    """An activity of one team (`team`: its id; the activity takes the team's grid), or open to every team of
    `grid` and below (no team). It starts later than now, ends after it starts (within a week); `capacity`
    caps the sign-ups (left out: no cap)."""
    now = now or timezone.now()
    text = clean_text(title, "title", MAX_NAME, label=_("Title"), required=True)
    team_id = _id(team, "team", _("No team of your grids has this id."))
    the_team = None
    if team_id is not None:
        the_team = visible_to(actor, Team).select_related("grid").filter(pk=team_id).first()
        if the_team is None:
            raise Invalid(_("No team of your grids has this id."), field="team")
        if not the_team.active:
            raise Invalid(_("This team is no longer active."), field="team")
        the_grid = the_team.grid
    else:
        if grid is None or grid == "":
            raise Invalid(
                _("Choose the team, or the grid whose teams the activity is open to."), field="team"
            )
        the_grid = _grid(grid)
    if not keeps(actor, the_grid):
        raise NotAllowed(
            _("Only the grid heads, operators and grid specialists of this grid organise its activities."),
            field="team" if the_team else "grid",
        )
    the_kind = _choice(kind, ActivityKind, "kind", _("Unknown kind of activity."))
    start = _moment(starts_at, "starts_at")
    end = _moment(ends_at, "ends_at")
    if start <= now:
        raise Invalid(_("The activity must start later than now."), field="starts_at")
    if start > now + MAX_AHEAD:
        raise Invalid(_("Plan activities at most a year ahead."), field="starts_at")
    if end <= start:
        raise Invalid(_("The activity must end after it starts."), field="ends_at")
    if end - start > MAX_LENGTH:
        raise Invalid(_("An activity lasts at most seven days."), field="ends_at")
    where = clean_text(place, "place", MAX_PLACE, label=pgettext_lazy("community", "Place"))
    note = clean_text(notes, "notes", MAX_TEXT, label=pgettext_lazy("community", "Notes"))
    places = None
    if capacity is not None and capacity != "":
        try:
            places = int(capacity)
        except (TypeError, ValueError) as exc:
            raise Invalid(_("Give the number of places as a whole number."), field="capacity") from exc
        if not 1 <= places <= MAX_CAPACITY:
            raise Invalid(
                _("An activity has 1 to %(limit)d places (leave it empty for no limit).")
                % {"limit": MAX_CAPACITY},
                field="capacity",
            )
    with _atomic():
        activity = Activity(
            team=the_team,
            title=text,
            kind=the_kind,
            notes=note,
            place=where,
            starts_at=start,
            ends_at=end,
            capacity=places,
            created_by=actor,
            created_at=now,
        )
        activity.place_in(the_grid)
        activity.save()
        audit.record(
            "community.activity.create",
            actor=actor,
            target=activity,
            data={
                "title": text,
                "grid": the_grid.code,
                "team": team_id,
                "kind": the_kind,
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
                "capacity": places,
            },
            ip=ip,
        )
    activity.signed = 0  # type: ignore[attr-defined]
    return activity


def _locked(activity: Activity) -> Activity:
    """The activity's row, locked until the commit (sign-ups of one activity one after another)."""
    return Activity.objects.select_for_update().get(pk=activity.pk)


def do_close_activity(
    activity: Activity, *, actor: Any, ip: str | None = None, now: datetime | None = None
) -> Activity:
    """The activity was held: it takes no more sign-ups. Only once it has started."""
    if not organises(actor, activity):
        raise NotAllowed(_("Only the activity's organiser and the keepers of its grid close it."))
    now = now or timezone.now()
    if activity.state == ActivityState.DONE:
        return activity
    if activity.state != ActivityState.OPEN:
        raise Conflict(_("This activity was cancelled."))
    if now < activity.starts_at:
        raise Invalid(_("An activity is closed as held once it has started."), field="state")
    with _atomic():
        changed = Activity.objects.filter(pk=activity.pk, state=ActivityState.OPEN).update(
            state=ActivityState.DONE, closed_at=now, closed_by=actor
        )
        if changed != 1:
            raise Conflict(_("Somebody changed this activity meanwhile: open it again."))
        audit.record("community.activity.close", actor=actor, target=activity, data={}, ip=ip)
    activity.state, activity.closed_at, activity.closed_by = ActivityState.DONE, now, actor
    return activity


def do_cancel_activity(
    activity: Activity, *, actor: Any, reason: Any = "", ip: str | None = None, now: datetime | None = None
) -> Activity:
    """Call the activity off (with a reason). Not once attendance has been confirmed: it was held."""
    if not organises(actor, activity):
        raise NotAllowed(_("Only the activity's organiser and the keepers of its grid cancel it."))
    why = clean_text(reason, "reason", MAX_REASON, label=pgettext_lazy("community", "Reason"), required=True)
    if activity.state == ActivityState.CANCELLED:
        return activity
    if activity.state != ActivityState.OPEN:
        raise Conflict(_("This activity was held already."))
    now = now or timezone.now()
    with _atomic():
        if SignUp.objects.filter(activity=activity, confirmed_at__isnull=False).exists():
            raise Conflict(_("Attendance was confirmed already: close the activity as held instead."))
        changed = Activity.objects.filter(pk=activity.pk, state=ActivityState.OPEN).update(
            state=ActivityState.CANCELLED, closed_at=now, closed_by=actor, reason=why
        )
        if changed != 1:
            raise Conflict(_("Somebody changed this activity meanwhile: open it again."))
        audit.record("community.activity.cancel", actor=actor, target=activity, data={"reason": why}, ip=ip)
    activity.state, activity.closed_at, activity.closed_by, activity.reason = (
        ActivityState.CANCELLED,
        now,
        actor,
        why,
    )
    return activity


# ---------------------------------------------------------------------------------------------- sign-ups


@dataclass(frozen=True)
class SignUpResult:
    signup: SignUp
    # False: the member was signed up already (the same call again): nothing changed.
    created: bool


def _eligible(activity: Activity, member: Member) -> bool:
    if not member.active or not member.team.active:
        return False
    if activity.team_id is not None:
        return bool(activity.team_id == member.team_id)
    return member.team.grid.path.startswith(activity.grid.path)


def _member_for_signup(activity: Activity, actor: Any, member: Any) -> Member:
    """The member to sign up: the one named (the actor's own membership, or any member for a keeper of the
    activity's grid), or, left out, the actor's membership that may join."""
    member_id = _id(member, "member", _("No member of your teams has this id."))
    qs = Member.objects.select_related("team", "team__grid").defer("team__grid__geometry")
    if member_id is None:
        mine = [m for m in qs.filter(pk__in=sorted(reach(actor).members)) if _eligible(activity, m)]
        if not mine:
            raise NotAllowed(_("None of your teams may join this activity."), field="member")
        signed = set(
            SignUp.objects.filter(activity=activity, member__in=mine, cancelled_at__isnull=True).values_list(
                "member_id", flat=True
            )
        )
        return next((m for m in mine if m.pk in signed), mine[0])
    found = qs.filter(pk=member_id).first()
    if found is None:
        raise Invalid(_("No member of your teams has this id."), field="member")
    own = found.user_id == actor.pk and found.pk in reach(actor).members
    if not own and not keeps(actor, activity.grid):
        if visible_to(actor, Member).filter(pk=member_id).exists():
            raise NotAllowed(_("Volunteers sign up themselves; the keepers of the grid sign up others."))
        raise Invalid(_("No member of your teams has this id."), field="member")
    if not _eligible(activity, found):
        raise Invalid(_("This member's team may not join this activity."), field="member")
    return found


def do_sign_up(
    activity: Activity, *, actor: Any, member: Any = None, ip: str | None = None, now: datetime | None = None
) -> SignUpResult:
    """Sign a member up (a volunteer themselves; a keeper of the grid anybody whose team may join). Refused once
    the activity has started, when it is closed, and when its places are taken — also when two sign up for the
    last place at the same moment: the activity's row is locked while the places are counted. A member signed
    up already answers their sign-up (`created` False); one who cancelled takes their place again."""
    the_member = _member_for_signup(activity, actor, member)
    now = now or timezone.now()
    existing = SignUp.objects.filter(activity=activity, member=the_member).first()
    if existing is not None and existing.cancelled_at is None:
        existing.member = the_member
        return SignUpResult(existing, created=False)
    if activity.state != ActivityState.OPEN:
        raise Conflict(_("This activity is closed: it takes no sign-ups."))
    if now >= activity.starts_at:
        raise Conflict(_("This activity has started: it takes no more sign-ups."))
    try:
        with _atomic():
            current = _locked(activity)
            if current.state != ActivityState.OPEN:
                raise Conflict(_("This activity is closed: it takes no sign-ups."))
            row = SignUp.objects.filter(activity=current, member=the_member).first()
            if row is not None and row.cancelled_at is None:
                row.member = the_member
                return SignUpResult(row, created=False)  # the same sign-up, sent twice at once
            if current.capacity is not None:
                taken = SignUp.objects.filter(activity=current, cancelled_at__isnull=True).count()
                if taken >= current.capacity:
                    raise Conflict(_("All places of this activity are taken."), field="member")
            if row is not None:
                SignUp.objects.filter(pk=row.pk).update(cancelled_at=None, signed_at=now, signed_by=actor)
                row.cancelled_at, row.signed_at, row.signed_by = None, now, actor
                signup = row
            else:
                signup = SignUp.objects.create(
                    activity=current, member=the_member, signed_at=now, signed_by=actor
                )
            audit.record(
                "community.signup",
                actor=actor,
                target=signup,
                data={"activity": activity.pk, "member": the_member.pk},
                ip=ip,
            )
    except IntegrityError:
        # The same sign-up at the same moment on SQLite's side of the race: the first one committed.
        row = SignUp.objects.filter(activity=activity, member=the_member, cancelled_at__isnull=True).first()
        if row is None:
            raise
        row.member = the_member
        return SignUpResult(row, created=False)
    signup.member = the_member
    return SignUpResult(signup, created=True)


def do_cancel_sign_up(
    activity: Activity, *, actor: Any, member: Any = None, ip: str | None = None, now: datetime | None = None
) -> SignUp:
    """Take a sign-up back (before the activity starts): the place is free again. One cancelled already answers
    as it is."""
    the_member = _member_for_signup(activity, actor, member)
    signup = SignUp.objects.filter(activity=activity, member=the_member).first()
    if signup is None:
        raise Invalid(_("This member has not signed up for the activity."), field="member")
    signup.member = the_member
    if signup.cancelled_at is not None:
        return signup
    now = now or timezone.now()
    if activity.state != ActivityState.OPEN or now >= activity.starts_at:
        raise Conflict(_("This activity has started: the sign-up stands."))
    with _atomic():
        changed = SignUp.objects.filter(
            pk=signup.pk, cancelled_at__isnull=True, confirmed_at__isnull=True
        ).update(cancelled_at=now)
        if changed != 1:
            signup.refresh_from_db()
            if signup.cancelled_at is not None:
                return signup
            raise Conflict(_("Somebody changed this sign-up meanwhile: open the activity again."))
        audit.record(
            "community.signup.cancel",
            actor=actor,
            target=signup,
            data={"activity": activity.pk, "member": the_member.pk},
            ip=ip,
        )
    signup.cancelled_at = now
    return signup


@dataclass(frozen=True)
class Attendance:
    attended: bool
    hours: Any = None


def do_confirm_attendance(
    activity: Activity,
    entries: Mapping[int, Attendance],
    *,
    actor: Any,
    ip: str | None = None,
    now: datetime | None = None,
) -> list[SignUp]:
    """Confirm who came and the hours each served (0 to the activity's length), for sign-ups of this activity
    (by id): all of them or none. Once the activity has started, and not when it was cancelled; a confirmation
    may be corrected later (audited each time)."""
    if not organises(actor, activity):
        raise NotAllowed(_("Only the activity's organiser and the keepers of its grid confirm attendance."))
    if activity.state == ActivityState.CANCELLED:
        raise Conflict(_("This activity was cancelled."))
    now = now or timezone.now()
    if now < activity.starts_at:
        raise Invalid(_("Attendance is confirmed once the activity has started."), field="attended")
    if not entries:
        raise Invalid(_("Say who came."), field="attended")
    limit = (Decimal((activity.ends_at - activity.starts_at).total_seconds()) / 3600).quantize(
        Decimal("0.01")
    )
    rows = {s.pk: s for s in SignUp.objects.filter(activity=activity, pk__in=sorted(entries))}
    clean: dict[int, tuple[bool, Decimal | None]] = {}
    for pk, entry in entries.items():
        signup = rows.get(pk)
        if signup is None:
            raise Invalid(_("This sign-up is not one of the activity's."), field="signup")
        if signup.cancelled_at is not None:
            raise Invalid(_("This sign-up was cancelled."), field="signup")
        if entry.attended:
            if entry.hours is None or entry.hours == "":
                raise Invalid(_("Give the hours served by who came."), field="hours")
            clean[pk] = (True, _hours(entry.hours, limit))
        else:
            if entry.hours not in (None, "") and _hours(entry.hours, limit) != 0:
                raise Invalid(_("Who did not come served no hours."), field="hours")
            clean[pk] = (False, None)
    with _atomic():
        current = _locked(activity)
        if current.state == ActivityState.CANCELLED:
            raise Conflict(_("This activity was cancelled."))
        for pk, (came, hours) in sorted(clean.items()):
            changed = SignUp.objects.filter(pk=pk, cancelled_at__isnull=True).update(
                attended=came, hours=hours, confirmed_by=actor, confirmed_at=now
            )
            if changed != 1:
                raise Conflict(_("Somebody changed this sign-up meanwhile: open the activity again."))
        audit.record(
            "community.attendance",
            actor=actor,
            target=activity,
            data={
                "signups": {
                    str(pk): {"attended": came, "hours": str(hours) if hours is not None else None}
                    for pk, (came, hours) in sorted(clean.items())
                }
            },
            ip=ip,
        )
    return list(
        SignUp.objects.filter(pk__in=sorted(clean)).select_related("member", "member__team").order_by("id")
    )


# ---------------------------------------------------------------------------------------------- tasks


def do_give_task(
    *,
    actor: Any,
    team: Any,
    title: Any,
    grid: Any = None,
    description: Any = "",
    due_on: Any = None,
    case: Any = None,
    ip: str | None = None,
) -> Task:
    """Give a task in `grid` (a grid code of the actor's subtree; left out: the actor's own grid when they have
    one) to `team` (an active team the actor sees, of that grid, of a grid above it or of one below it), due on
    a day (optional, not past), about a case (its number; optional)."""
    team_id = _id(team, "team", _("No team of your grids has this id."))
    if team_id is None:
        raise Invalid(_("Choose the team."), field="team")
    the_team = visible_to(actor, Team).select_related("grid").filter(pk=team_id).first()
    if the_team is None:
        raise Invalid(_("No team of your grids has this id."), field="team")
    if not the_team.active:
        raise Invalid(_("This team is no longer active."), field="team")
    if grid is None or grid == "":
        own = [h for h in held_roles(actor) if h.role in GIVERS and h.grid_path and (h.grid_level or 0) > 0]
        if len(own) != 1:
            raise Invalid(_("Choose the grid the task is given in."), field="grid")
        the_grid = _grid(Grid.objects.get(pk=own[0].grid_id or 0))
    else:
        the_grid = _grid(grid)
    if not gives_tasks(actor, the_grid):
        raise NotAllowed(_("You give tasks only in the grids you work in."), field="grid")
    if not (the_grid.path.startswith(the_team.grid.path) or the_team.grid.path.startswith(the_grid.path)):
        raise Invalid(
            _("Give the task to a team of this grid, of a grid above it or of one below it."), field="team"
        )
    text = clean_text(title, "title", MAX_NAME, label=_("Title"), required=True)
    body = clean_text(description, "description", MAX_TEXT, label=pgettext_lazy("community", "Description"))
    due = _day(due_on, "due_on")
    if due is not None and due < timezone.localdate():
        raise Invalid(_("The due date has passed."), field="due_on")
    the_case = None
    number = str(getattr(case, "number", case) or "").strip()
    if number:
        the_case = visible_to(actor, Case).filter(number=number[:20]).only("id", "number").first()
        if the_case is None:
            raise Invalid(_("No case of your grids has this number."), field="case")
    now = timezone.now()
    with _atomic():
        task = Task(
            team=the_team,
            title=text,
            description=body,
            due_on=due,
            case=the_case,
            created_by=actor,
            created_at=now,
        )
        task.place_in(the_grid)
        task.save()
        audit.record(
            "community.task.give",
            actor=actor,
            target=task,
            data={
                "team": the_team.pk,
                "grid": the_grid.code,
                "title": text,
                "due_on": due.isoformat() if due else None,
                "case": the_case.number if the_case else None,
            },
            ip=ip,
        )
        # The team's volunteers with a login are told in their inbox (the phone shows the task).
        users = Member.objects.filter(team=the_team, active=True).values_list("user_id", flat=True)
        notify.to_users(users, None, "team_task", {"team": the_team.name, "title": text}, now)
    return task


@dataclass(frozen=True)
class TaskResult:
    task: Task
    # False: the same call again (the task was in that state already by the same volunteer): nothing changed.
    changed: bool


def _reread(task: Task) -> Task:
    from .selectors import with_task_relations

    return with_task_relations(Task.objects.filter(pk=task.pk)).get()


def _volunteer_of(actor: Any, task: Task, doing: Any) -> Member:
    member = my_member(actor, task.team_id)
    if member is None:
        raise NotAllowed(doing)
    return member


def do_accept_task(task: Task, *, actor: Any, ip: str | None = None) -> TaskResult:
    """A volunteer of the team takes the task on. Accepting again answers the first acceptance."""
    member = _volunteer_of(actor, task, _("Only the volunteers of the team accept its tasks."))
    if task.state == TaskState.ACCEPTED and task.accepted_by_id == member.pk:
        return TaskResult(task, changed=False)
    if task.state != TaskState.ASSIGNED:
        raise Conflict(_state_message(task))
    now = timezone.now()
    with _atomic():
        changed = Task.objects.filter(pk=task.pk, state=TaskState.ASSIGNED).update(
            state=TaskState.ACCEPTED, accepted_by=member, accepted_at=now
        )
        if changed != 1:
            current = _reread(task)
            if current.state == TaskState.ACCEPTED and current.accepted_by_id == member.pk:
                return TaskResult(current, changed=False)
            raise Conflict(_state_message(current))
        audit.record("community.task.accept", actor=actor, target=task, data={"member": member.pk}, ip=ip)
    return TaskResult(_reread(task), changed=True)


def do_decline_task(task: Task, *, actor: Any, reason: Any = "", ip: str | None = None) -> TaskResult:
    """A volunteer of the team declines the task (before anybody accepted it, or the one who accepted it gives
    it back), saying why. Declining again answers the first."""
    member = _volunteer_of(actor, task, _("Only the volunteers of the team decline its tasks."))
    why = clean_text(reason, "reason", MAX_REASON, label=pgettext_lazy("community", "Reason"))
    if task.state == TaskState.DECLINED and task.declined_by_id == member.pk:
        return TaskResult(task, changed=False)
    mine = Q(state=TaskState.ASSIGNED) | Q(state=TaskState.ACCEPTED, accepted_by=member)
    if not (
        task.state == TaskState.ASSIGNED
        or (task.state == TaskState.ACCEPTED and task.accepted_by_id == member.pk)
    ):
        raise Conflict(_state_message(task))
    now = timezone.now()
    with _atomic():
        changed = Task.objects.filter(mine, pk=task.pk).update(
            state=TaskState.DECLINED, declined_by=member, reason=why, closed_at=now, closed_by=actor
        )
        if changed != 1:
            current = _reread(task)
            if current.state == TaskState.DECLINED and current.declined_by_id == member.pk:
                return TaskResult(current, changed=False)
            raise Conflict(_state_message(current))
        audit.record(
            "community.task.decline",
            actor=actor,
            target=task,
            data={"member": member.pk, "reason": why},
            ip=ip,
        )
    return TaskResult(_reread(task), changed=True)


def do_complete_task(
    task: Task, *, actor: Any, result: Any, ip: str | None = None, now: datetime | None = None
) -> TaskResult:
    """The task is done, with what was done (`result`): reported by a volunteer of the team (who takes it on
    when nobody had), or written down by a giver of the task's grid. Reporting it again answers the first
    report."""
    member = my_member(actor, task.team_id)
    if member is None and not gives_tasks(actor, task.grid):
        raise NotAllowed(_("Only the volunteers of the team and the grid's staff report its tasks done."))
    text = clean_text(result, "result", MAX_TEXT, label=_("Result"), required=True)
    if task.state == TaskState.DONE and task.done_by_id == actor.pk:
        return TaskResult(task, changed=False)
    if task.state not in (TaskState.ASSIGNED, TaskState.ACCEPTED):
        raise Conflict(_state_message(task))
    now = now or timezone.now()
    values: dict[str, Any] = {
        "state": TaskState.DONE,
        "result": text,
        "done_at": now,
        "done_by": actor,
        "closed_at": now,
        "closed_by": actor,
    }
    if task.accepted_by_id is None and member is not None:
        values.update(accepted_by=member, accepted_at=now)
    with _atomic():
        changed = Task.objects.filter(
            pk=task.pk, state=task.state, accepted_by_id=task.accepted_by_id
        ).update(**values)
        if changed != 1:
            current = _reread(task)
            if current.state == TaskState.DONE and current.done_by_id == actor.pk:
                return TaskResult(current, changed=False)
            raise Conflict(_state_message(current))
        audit.record(
            "community.task.done",
            actor=actor,
            target=task,
            data={"member": member.pk if member else None, "result": text[:200]},
            ip=ip,
        )
    return TaskResult(_reread(task), changed=True)


def do_cancel_task(task: Task, *, actor: Any, reason: Any = "", ip: str | None = None) -> TaskResult:
    """The grid takes the task back (its giver, or a giver of its grid), saying why. Cancelling again answers
    the first."""
    if task.created_by_id != actor.pk and not gives_tasks(actor, task.grid):
        raise NotAllowed(_("Only the grid's staff who give tasks cancel them."))
    why = clean_text(reason, "reason", MAX_REASON, label=pgettext_lazy("community", "Reason"), required=True)
    if task.state == TaskState.CANCELLED:
        return TaskResult(task, changed=False)
    if task.state not in (TaskState.ASSIGNED, TaskState.ACCEPTED):
        raise Conflict(_state_message(task))
    now = timezone.now()
    with _atomic():
        changed = Task.objects.filter(pk=task.pk, state=task.state).update(
            state=TaskState.CANCELLED, reason=why, closed_at=now, closed_by=actor
        )
        if changed != 1:
            current = _reread(task)
            if current.state == TaskState.CANCELLED:
                return TaskResult(current, changed=False)
            raise Conflict(_state_message(current))
        audit.record("community.task.cancel", actor=actor, target=task, data={"reason": why}, ip=ip)
    return TaskResult(_reread(task), changed=True)


def _state_message(task: Task) -> Any:
    if task.state == TaskState.ACCEPTED:
        name = task.accepted_by.name if task.accepted_by is not None else ""
        return _("%(name)s of the team has accepted this task already.") % {"name": name}
    messages: dict[str, Any] = {
        TaskState.DONE: _("This task is done already."),
        TaskState.DECLINED: _("This task was declined."),
        TaskState.CANCELLED: _("This task was cancelled."),
    }
    return messages.get(task.state, _("Somebody changed this task meanwhile: open it again."))
