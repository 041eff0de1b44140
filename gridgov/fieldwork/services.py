"""The only code that changes fieldwork: patrols (check-in, track batches, check-out), visits, inspection plans,
the tasks the plans make, and their completion.

Each call from the phone may come long after it was made (an offline queue), and may come twice: the same key
starts one patrol or records one visit, a track batch adds only points of times not stored yet, a second
check-out answers the first, a completion sent again answers the first (and opens no second case). Times are the
phone's; the server refuses only what cannot be true (in the future, before the patrol). Check-in, check-out,
visits, plans and completions are audited; track batches are not (they are many, and carry nothing a person
decided). No live event is published: the outbox's readers (the workbench's live pages) take every event in a
town for a changed case, and a failed inspection's case publishes its own."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles
from gridgov.cases.choices import Channel
from gridgov.cases.duplicates import distance_m
from gridgov.cases.evidence import CheckedFile, EvidenceError, check_files, store_files
from gridgov.cases.services import Report, do_report, gps_accuracy, gps_point
from gridgov.catalog.models import Item, ItemKind
from gridgov.catalog.selectors import active_item
from gridgov.core import audit
from gridgov.core.errors import clean_text
from gridgov.core.schemas import MAX_ID
from gridgov.core.scoping import visible_to
from gridgov.grids.locator import locate
from gridgov.grids.models import Grid
from gridgov.registry.choices import ComponentState
from gridgov.registry.models import Component, Household, Organisation, Person
from gridgov.registry.services import do_set_component_state

from .choices import INSPECTED_STATES, Answer, TaskState, VisitPurpose
from .errors import Conflict, Invalid, NotAllowed
from .models import InspectionPlan, InspectionTask, Patrol, TaskPhoto, Visit, VisitPhoto
from .scoping import WORKER_ROLES
from .selectors import grid_workers, own_patrol, patrol_grids, with_task_relations, with_visited

# A phone's clock may run a little ahead of the server's.
CLOCK_SLACK = timedelta(minutes=5)
# A fix the phone took just before check-in (or a moment after check-out) still belongs to the patrol.
POINT_SLACK = timedelta(minutes=1)
# Older check-ins are a phone with a wrong clock, not a queue that waited.
MAX_AGE = timedelta(days=30)
MAX_BATCH = 2000
# A day's round at one fix every five seconds.
MAX_TRACK = 20_000

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
MAX_ANSWER_NOTE = 500


@dataclass(frozen=True)
class StartResult:
    patrol: Patrol
    created: bool


# ---------------------------------------------------------------------------------------------- input


def _uuid(value: Any, message: Any) -> uuid.UUID:
    """The phone's key of a call (a UUID it made); `message` says whose key, for the refusal."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value or "").strip())
    except ValueError as exc:
        raise Invalid(message, field="key") from exc


def _moment(value: Any, field: str) -> datetime:
    """The phone's time, ISO 8601; without an offset it is read as local (Asia/Shanghai) time."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    else:
        try:
            moment = parse_datetime(str(value or "").strip())
        except ValueError:
            moment = None
    if moment is None:
        raise Invalid(
            _("Give the time as ISO 8601, for example 2026-11-25T09:30:00+08:00."),
            field=field,
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + CLOCK_SLACK:
        raise Invalid(_("This time lies in the future: check the phone's clock."), field=field)


def _phone_moment(value: Any, now: datetime, field: str) -> datetime:
    """A time the phone recorded: not in the future, and not older than an offline queue waits."""
    moment = _moment(value, field)
    _not_in_future(moment, now, field)
    if moment < now - MAX_AGE:
        raise Invalid(
            _("This time is more than %(days)d days old: check the phone's clock.") % {"days": MAX_AGE.days},
            field=field,
        )
    return moment


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _decoded(value: Any, field: str, shape: Any) -> Any:
    """A value the phone or a form sends as JSON text, decoded (already decoded values pass as they are); text
    that is no JSON (NaN and Infinity included) is refused with `shape`, the message of what it must be."""
    if not isinstance(value, str | bytes):
        return value
    try:
        return json.loads(value, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise Invalid(shape, field=field) from exc


def parse_points(points: Any) -> list[list[float]]:
    """A batch of track points, as the phone sends it (a JSON text) or already decoded: each
    [lon, lat, epoch_ms, accuracy_m], every one later than the one before. Answers them normalised
    ([lon, lat, int epoch_ms, accuracy]); refuses the whole batch at the first bad point."""
    shape = _("The track must be a JSON list of points [longitude, latitude, time in ms, accuracy in m].")
    points = _decoded(points, "points", shape)
    if not isinstance(points, list | tuple):
        raise Invalid(shape, field="points")
    if len(points) > MAX_BATCH:
        raise Invalid(
            _("Send at most %(limit)d points at a time.") % {"limit": MAX_BATCH},
            field="points",
        )
    out: list[list[float]] = []
    for number, point in enumerate(points, start=1):
        values = list(point) if isinstance(point, list | tuple) else []
        if len(values) != 4 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
        ):
            raise Invalid(
                _("Point %(number)d is not [longitude, latitude, time in ms, accuracy in m].")
                % {"number": number},
                field="points",
            )
        lon, lat, ms, accuracy = values
        if not -180 <= lon <= 180:
            raise Invalid(
                _("Point %(number)d: longitude must lie between -180 and 180.") % {"number": number},
                field="points",
            )
        if not -90 <= lat <= 90:
            raise Invalid(
                _("Point %(number)d: latitude must lie between -90 and 90.") % {"number": number},
                field="points",
            )
        if accuracy < 0:
            raise Invalid(
                _("Point %(number)d: the accuracy cannot be negative.") % {"number": number}, field="points"
            )
        if not 0 <= ms < 2**53:
            raise Invalid(
                _("Point %(number)d: the time is not a moment in milliseconds since 1970.")
                % {"number": number},
                field="points",
            )
        if out and int(ms) <= out[-1][2]:
            raise Invalid(
                _("Point %(number)d is not later than the point before it: send the points in time order.")
                % {"number": number},
                field="points",
            )
        out.append([float(lon), float(lat), int(ms), round(float(accuracy), 1)])
    return out


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _length(points: list[list[float]]) -> float:
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


# ---------------------------------------------------------------------------------------------- check-in


def _worker_grid(grids: list[Grid], place: tuple[float, float] | None, records: Sequence[Any] = ()) -> Grid:
    """The worker's grid holding the point; else the one of a record they visited; else their first grid (a
    check-in just outside, or without a fix)."""
    if place is not None:
        where = locate(*place)
        for grid in grids:
            if grid.pk in (where.l3_id, where.grid_id):
                return grid
    for record in records:
        for grid in grids:
            if grid.pk == record.grid_id:
                return grid
    return grids[0]


def _replay(patrol: Patrol, user: Any) -> StartResult:
    if patrol.user_id != user.pk:
        raise Conflict(_("This key belongs to another patrol: make a new one."), field="key")
    return StartResult(patrol=patrol, created=False)


def _existing(key: uuid.UUID) -> Patrol | None:
    return Patrol.objects.select_related("grid", "user").defer("grid__geometry").filter(key=key).first()


def do_start_patrol(
    user: Any,
    key: Any,
    at: Any,
    lon: Any = None,
    lat: Any = None,
    ip: str | None = None,
    *,
    now: datetime | None = None,
) -> StartResult:
    """Check in: a patrol of the worker's grid holding the point (else their first grid), started at `at` on
    the phone. The same key again answers the first patrol (`created` False) and changes nothing."""
    key = _uuid(key, _("The patrol's key must be a UUID made on the phone."))
    existing = _existing(key)
    if existing is not None:
        return _replay(existing, user)
    grids = patrol_grids(user)
    if not grids:
        raise NotAllowed(
            _("Only grid specialists and information officers assigned to a current grid go on patrol.")
        )
    now = now or timezone.now()
    started = _phone_moment(at, now, "at")
    place = gps_point(lon, lat)
    grid = _worker_grid(grids, place)
    try:
        with transaction.atomic(durable=not connection.in_atomic_block):
            patrol = Patrol.objects.create(
                key=key,
                user=user,
                grid=grid,
                grid_l1_id=grid.l1_id,
                grid_l2_id=grid.l2_id,
                started_at=started,
                start_lon=place[0] if place else None,
                start_lat=place[1] if place else None,
                created_at=now,
            )
            audit.record(
                "patrol.start",
                actor=user,
                target=patrol,
                data={
                    "key": str(key),
                    "grid": grid.code,
                    "at": started.isoformat(),
                    "lon": patrol.start_lon,
                    "lat": patrol.start_lat,
                },
                ip=ip,
            )
    except IntegrityError:
        # The same check-in sent twice at the same moment: the first one committed; answer with it.
        existing = _existing(key)
        if existing is None:
            raise
        return _replay(existing, user)
    return StartResult(patrol=patrol, created=True)


# ---------------------------------------------------------------------------------------------- the track


def do_add_track(
    patrol_key: Any, user: Any, points: Any, ip: str | None = None, *, now: datetime | None = None
) -> Patrol:
    """Add a batch to the track, in time order: points of times not stored yet are kept (a batch sent again
    adds nothing, crossed batches both count); each must lie within the patrol, on the phone's clock. A bad point refuses the whole batch."""
    patrol = own_patrol(user, patrol_key)
    batch = parse_points(points)
    now = now or timezone.now()
    with transaction.atomic(durable=not connection.in_atomic_block):
        # Locked: two batches of one patrol must not both append after the same last point.
        current = Patrol.objects.select_for_update().get(pk=patrol.pk)
        first = _epoch_ms(current.started_at - POINT_SLACK)
        last = _epoch_ms(
            min(now + CLOCK_SLACK, current.ended_at + POINT_SLACK) if current.ended_at else now + CLOCK_SLACK
        )
        track: list[list[float]] = current.track or []
        stored = {p[2] for p in track}
        fresh = []
        for number, point in enumerate(batch, start=1):
            if point[2] in stored:
                continue  # stored already: a batch sent again, or two batches overlapping
            if point[2] < first:
                raise Invalid(
                    _("Point %(number)d was taken before the check-in.") % {"number": number}, field="points"
                )
            if point[2] > last:
                if current.ended_at is not None and point[2] <= _epoch_ms(now + CLOCK_SLACK):
                    message = _("Point %(number)d was taken after the check-out.")
                else:
                    message = _("Point %(number)d lies in the future: check the phone's clock.")
                raise Invalid(message % {"number": number}, field="points")
            fresh.append(point)
        if not fresh:
            return _with_relations(current, patrol)
        if len(track) + len(fresh) > MAX_TRACK:
            raise Invalid(
                _("A patrol's track holds at most %(limit)d points: check out and start a new patrol.")
                % {"limit": MAX_TRACK},
                field="points",
            )
        if track and fresh[0][2] < track[-1][2]:
            # A batch older than what is stored (batches crossed on the network): the track is kept in time
            # order, so its length is measured again.
            current.track = sorted(track + fresh, key=lambda p: p[2])
            current.distance_m = _length(current.track)
        else:
            current.distance_m += _length(track[-1:] + fresh)
            current.track = track + fresh
        current.points = len(current.track)
        current.save(update_fields=["track", "points", "distance_m"])
    return _with_relations(current, patrol)


def _with_relations(current: Patrol, read: Patrol) -> Patrol:
    """The locked row with the grid and worker already read (no second query for them)."""
    current.grid = read.grid
    current.user = read.user
    return current


# ---------------------------------------------------------------------------------------------- check-out


def do_end_patrol(
    patrol_key: Any,
    user: Any,
    at: Any,
    lon: Any = None,
    lat: Any = None,
    ip: str | None = None,
    *,
    now: datetime | None = None,
) -> Patrol:
    """Check out at `at` on the phone. A patrol already ended answers as it ended the first time."""
    patrol = own_patrol(user, patrol_key)
    if patrol.ended_at is not None:
        return patrol
    now = now or timezone.now()
    ended = _moment(at, "at")
    _not_in_future(ended, now, "at")
    if ended < patrol.started_at:
        raise Invalid(_("The check-out cannot come before the check-in."), field="at")
    place = gps_point(lon, lat)
    with transaction.atomic(durable=not connection.in_atomic_block):
        current = Patrol.objects.select_for_update().get(pk=patrol.pk)
        if current.ended_at is not None:  # the same check-out, sent twice at once
            return _with_relations(current, patrol)
        current.ended_at = ended
        current.end_lon, current.end_lat = place if place else (None, None)
        current.save(update_fields=["ended_at", "end_lon", "end_lat"])
        audit.record(
            "patrol.end",
            actor=user,
            target=current,
            data={
                "key": str(current.key),
                "at": ended.isoformat(),
                "lon": current.end_lon,
                "lat": current.end_lat,
                "points": current.points,
                "distance_m": round(current.distance_m, 1),
            },
            ip=ip,
        )
    return _with_relations(current, patrol)


def _photos(files: Sequence[Any]) -> list[CheckedFile]:
    """The photos checked by the case engine's rules (recognised by their content, a copy without metadata
    made); a video or anything else is refused, naming the file."""
    if not files:
        return []
    try:
        checked = check_files(list(files))
    except EvidenceError as exc:
        raise Invalid(str(exc), field="photos") from exc
    for item in checked:
        if item.kind != "photo":
            raise Invalid(
                gettext("%(name)s is not a photo: attach photos only.") % {"name": item.name},
                field="photos",
            )
    return checked


# ---------------------------------------------------------------------------------------------- visits


@dataclass(frozen=True)
class VisitResult:
    # With its grid, worker and what was visited (no query more to show it).
    visit: Visit
    created: bool
    photos: int


def _existing_visit(key: uuid.UUID) -> Visit | None:
    return with_visited(Visit.objects.filter(key=key)).first()


def _visit_replay(visit: Visit, actor: Any) -> VisitResult:
    if visit.worker_id != actor.pk:
        raise Conflict(_("This key belongs to another visit: make a new one."), field="key")
    return VisitResult(visit=visit, created=False, photos=visit.photo_count)  # type: ignore[attr-defined]


def _visited(model: type[models.Model], value: Any, user: Any, field: str, message: Any) -> Any:
    """The registry record a visit names, if the worker sees it (a record outside their grids is refused the
    same way as one that does not exist)."""
    if value is None or value == "":
        return None
    raw = value.pk if isinstance(value, models.Model) else value
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise Invalid(message, field=field) from exc
    found = visible_to(user, model).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if found is None:
        raise Invalid(message, field=field)
    return found


def do_record_visit(
    *,
    actor: Any,
    key: Any,
    at: Any,
    purpose: Any,
    household: Any = None,
    person: Any = None,
    organisation: Any = None,
    lon: Any = None,
    lat: Any = None,
    accuracy_m: Any = None,
    note: Any = "",
    photos: Sequence[Any] = (),
    ip: str | None = None,
    now: datetime | None = None,
) -> VisitResult:
    """Record a visit made at `at` on the phone, in the worker's grid holding the point. The same key again
    answers the first visit (`created` False) and changes nothing."""
    key = _uuid(key, _("The visit's key must be a UUID made on the phone."))
    existing = _existing_visit(key)
    if existing is not None:
        return _visit_replay(existing, actor)
    grids = patrol_grids(actor)
    if not grids:
        raise NotAllowed(
            _("Only grid specialists and information officers assigned to a current grid record visits.")
        )
    now = now or timezone.now()
    visited_at = _phone_moment(at, now, "at")
    if purpose not in VisitPurpose.values:
        raise Invalid(_("Unknown purpose of a visit."), field="purpose")
    the_household = _visited(
        Household, household, actor, "household", _("No household of the grids you work in has this id.")
    )
    the_person = _visited(
        Person, person, actor, "person", _("No person of the grids you work in has this id.")
    )
    the_place = _visited(
        Organisation, organisation, actor, "organisation", _("No place of the grids you work in has this id.")
    )
    place = gps_point(lon, lat)
    accuracy = gps_accuracy(accuracy_m)
    if purpose == VisitPurpose.CARE and the_household is None and the_person is None:
        raise Invalid(_("A care visit is to a person or a household: say whom."), field="person")
    if place is None and the_household is None and the_person is None and the_place is None:
        raise Invalid(
            _("Say whom or where you visited: a household, a person, a place, or the phone's position."),
            field="household",
        )
    text = clean_text(note, "note", MAX_NOTE, label=_("Note"))
    checked = _photos(photos)
    records = [r for r in (the_household, the_person, the_place) if r is not None]
    grid = _worker_grid(grids, place, records)
    try:
        with transaction.atomic(durable=not connection.in_atomic_block):
            visit = Visit.objects.create(
                key=key,
                worker=actor,
                grid=grid,
                grid_l1_id=grid.l1_id,
                grid_l2_id=grid.l2_id,
                household=the_household,
                person=the_person,
                organisation=the_place,
                purpose=purpose,
                note=text,
                lon=place[0] if place else None,
                lat=place[1] if place else None,
                accuracy_m=accuracy if place else None,
                visited_at=visited_at,
                created_at=now,
            )
            store_files(VisitPhoto, checked, now=now, fields=lambda _item: {"visit": visit})
            audit.record(
                "visit.record",
                actor=actor,
                target=visit,
                data={
                    "key": str(key),
                    "grid": grid.code,
                    "purpose": purpose,
                    "at": visited_at.isoformat(),
                    "household": getattr(the_household, "pk", None),
                    "person": getattr(the_person, "pk", None),
                    "organisation": getattr(the_place, "pk", None),
                    "lon": visit.lon,
                    "lat": visit.lat,
                    "photos": len(checked),
                },
                ip=ip,
            )
    except IntegrityError:
        # The same visit sent twice at the same moment: the first one committed; answer with it.
        existing = _existing_visit(key)
        if existing is None:
            raise
        return _visit_replay(existing, actor)
    return VisitResult(visit=visit, created=True, photos=len(checked))


# ---------------------------------------------------------------------------------------------- plans

# Who plans inspections, for the grids they oversee.
PLAN_MAKERS = frozenset({Role.GRID_HEAD_L2, Role.GRID_HEAD_L1, Role.OPERATOR})
MAX_PERIOD_DAYS = 3650
MAX_CHECKS = 30
MAX_CHECK_TEXT = 200
CHECK_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


def makes_plans(user: Any) -> bool:
    return any(h.role in PLAN_MAKERS and h.grid_path for h in held_roles(user))


def parse_checklist(value: Any) -> list[dict[str, str]]:
    """A checklist as the form sends it (a JSON text) or already decoded: 1 to 30 checks, each
    {"code": "pressure", "text": "压力表指针在绿区"} with a code unique in the list."""
    shape = _('The checklist must be a JSON list of checks, each {"code": …, "text": …}.')
    value = _decoded(value, "checklist", shape)
    if not isinstance(value, list | tuple):
        raise Invalid(shape, field="checklist")
    if not 1 <= len(value) <= MAX_CHECKS:
        raise Invalid(
            _("A checklist holds 1 to %(limit)d checks.") % {"limit": MAX_CHECKS}, field="checklist"
        )
    checks: list[dict[str, str]] = []
    for number, check in enumerate(value, start=1):
        if not isinstance(check, dict) or not isinstance(check.get("code"), str):
            raise Invalid(shape, field="checklist")
        code, text = check["code"].strip(), check.get("text")
        if not CHECK_CODE.match(code):
            raise Invalid(
                _("Check %(number)d: the code is 1 to 32 lowercase letters, digits or underscores.")
                % {"number": number},
                field="checklist",
            )
        if any(c["code"] == code for c in checks):
            raise Invalid(
                _("Check %(number)d repeats the code %(code)s.") % {"number": number, "code": code},
                field="checklist",
            )
        text = text.strip() if isinstance(text, str) else ""
        if not text or len(text) > MAX_CHECK_TEXT or "\x00" in text:
            raise Invalid(
                _("Check %(number)d: say what to check, in at most %(limit)d characters.")
                % {"number": number, "limit": MAX_CHECK_TEXT},
                field="checklist",
            )
        checks.append({"code": code, "text": text})
    return checks


def do_create_plan(
    *,
    actor: Any,
    name: Any,
    item: Any,
    grid: Any,
    every_days: Any,
    checklist: Any,
    ip: str | None = None,
    now: datetime | None = None,
) -> InspectionPlan:
    """A plan to inspect every component of the class `item` (an item code of kind component) in the subtree
    of `grid` (a grid code) every `every_days` days; its tasks appear at the next generation."""
    if not makes_plans(actor):
        raise NotAllowed(_("Only grid heads and the command centre's operators make inspection plans."))
    title = clean_text(name, "name", 100, label=_("Name"))
    if not title:
        raise Invalid(_("Give the plan a name."), field="name")
    code = item.code if isinstance(item, Item) else str(item or "").strip()
    the_item = active_item(code) if code else None
    if the_item is None or the_item.kind != ItemKind.COMPONENT:
        raise Invalid(
            _("The responsibility list has no active component class %(code)s.") % {"code": code},
            field="item",
        )
    grid_code = grid.code if isinstance(grid, Grid) else str(grid or "").strip()
    the_grid = Grid.objects.current().filter(code=grid_code).defer("geometry").first() if grid_code else None
    if the_grid is None:
        raise Invalid(_("No current grid has the code %(code)s.") % {"code": grid_code}, field="grid")
    if not any(
        h.role in PLAN_MAKERS and h.grid_path and the_grid.path.startswith(h.grid_path)
        for h in held_roles(actor)
    ):
        raise NotAllowed(_("You make inspection plans only for the grids you oversee."), field="grid")
    try:
        period = int(every_days)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("Say every how many days to inspect."), field="every_days") from exc
    if not 1 <= period <= MAX_PERIOD_DAYS:
        raise Invalid(
            _("Inspect every 1 to %(limit)d days.") % {"limit": MAX_PERIOD_DAYS}, field="every_days"
        )
    checks = parse_checklist(checklist)
    now = now or timezone.now()
    levels = [the_grid.l1_id, the_grid.l2_id, the_grid.l3_id]
    with transaction.atomic(durable=not connection.in_atomic_block):
        plan = InspectionPlan.objects.create(
            name=title,
            item=the_item,
            grid=the_grid,
            grid_l1_id=levels[0],
            grid_l2_id=levels[1],
            grid_l3_id=levels[2],
            every_days=period,
            checklist=checks,
            created_by=actor,
            created_at=now,
        )
        audit.record(
            "inspection_plan.create",
            actor=actor,
            target=plan,
            data={"name": title, "item": the_item.code, "grid": the_grid.code, "every_days": period},
            ip=ip,
        )
        # Its first tasks at once, not at the next day's sweep.
        do_generate_tasks(actor=actor, plan=plan)
    return plan


# ---------------------------------------------------------------------------------------------- tasks

# The next task appears this many days before it is due (a quarter of the period at most), so that the worker
# sees it coming.
LEAD_DAYS = 7


def lead_days(every_days: int) -> int:
    return min(LEAD_DAYS, every_days // 4)


@dataclass(frozen=True)
class Generation:
    created: int
    reassigned: int


def do_generate_tasks(
    today: dt.date | None = None, *, actor: Any = None, plan: InspectionPlan | None = None
) -> Generation:
    """For every active plan (or only `plan`) and every component of its class in its subtree (retired ones
    aside): a task for the next inspection when the component has no open one and its last inspection is a
    period old, less the lead (the first is due a period from today). Open tasks whose worker no longer works
    in their grid go to the grid's worker (when all plans run). Safe to run again, and in several copies: a
    component never gets two open tasks of a plan. A few queries per plan, none per component."""
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic(durable=not connection.in_atomic_block):
        fresh: list[InspectionTask] = []
        plans = (
            InspectionPlan.objects.filter(active=True)
            .select_related("grid")
            .only("id", "item_id", "every_days", "grid__path")
        )
        if plan is not None:
            plans = plans.filter(pk=plan.pk)
        for each in plans.order_by("id"):
            components = (
                Component.objects.filter(grid_filter(each.grid.path), item_id=each.item_id)
                .exclude(state=ComponentState.RETIRED)
                .values_list("id", "grid_id", "grid_l1_id", "grid_l2_id")
            )
            tasks = InspectionTask.objects.filter(plan=each)
            busy = set(tasks.filter(state=TaskState.OPEN).values_list("component_id", flat=True))
            last = dict(
                tasks.filter(state__in=INSPECTED_STATES)
                .values("component_id")
                .annotate(last=Max("done_at"))
                .order_by()
                .values_list("component_id", "last")
            )
            lead = lead_days(each.every_days)
            for component_id, grid_id, l1, l2 in components:
                if component_id in busy:
                    continue
                inspected = last.get(component_id)
                if inspected is None:
                    due = today + timedelta(days=each.every_days)
                else:
                    due = timezone.localdate(inspected) + timedelta(days=each.every_days)
                    if due - timedelta(days=lead) > today:
                        continue
                fresh.append(
                    InspectionTask(
                        plan_id=each.pk,
                        component_id=component_id,
                        grid_id=grid_id,
                        grid_l1_id=l1,
                        grid_l2_id=l2,
                        due_on=due,
                        created_at=now,
                    )
                )
        open_pairs: set[tuple[int, int | None]] = set()
        if plan is None:  # a new plan's first tasks leave the others' alone
            open_pairs = set(
                InspectionTask.objects.filter(state=TaskState.OPEN)
                .values_list("grid_id", "worker_id")
                .distinct()
                .order_by()
            )
        workers = grid_workers(sorted({t.grid_id for t in fresh} | {g for g, _w in open_pairs}))
        for task in fresh:
            task.worker_id = workers[task.grid_id][0] if task.grid_id in workers else None
        # A sweep running at the same moment may have made some of them: the open-task index skips those.
        InspectionTask.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
        reassigned = 0
        for grid_id, worker_id in sorted(open_pairs, key=lambda p: (p[0], p[1] or 0)):
            holders = workers.get(grid_id, [])
            if worker_id is not None and worker_id in holders:
                continue
            target = holders[0] if holders else None
            if target == worker_id:
                continue
            reassigned += InspectionTask.objects.filter(
                state=TaskState.OPEN, grid_id=grid_id, worker_id=worker_id
            ).update(worker_id=target)
        if fresh or reassigned:
            audit.record(
                "inspection_task.generate",
                actor=actor,
                data={"day": today.isoformat(), "created": len(fresh), "reassigned": reassigned},
            )
    return Generation(created=len(fresh), reassigned=reassigned)


_generated_on: dt.date | None = None


def generate_daily() -> int:
    """The sweep's job (`gridgov sweep` runs every housekeeping job on each pass): generate the day's tasks
    once a day per process. A failure is logged and tried again on the next pass; it must not stop the
    deadline sweep. Removes nothing, so answers 0."""
    global _generated_on
    today = timezone.localdate()
    if _generated_on == today:
        return 0
    try:
        do_generate_tasks(today)
    except Exception:
        logger.exception("fieldwork: generating the inspection tasks failed; trying again on the next pass")
        return 0
    _generated_on = today
    return 0


# ---------------------------------------------------------------------------------------------- completion


@dataclass(frozen=True)
class Completion:
    task: InspectionTask
    # False: the same completion sent again (answered as the first time, nothing changed).
    created: bool


def parse_answers(value: Any, checklist: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The answers to every check of the checklist, as a JSON object keyed by the checks' codes: "ok" or
    "not_ok", or {"answer": "not_ok", "note": "…"}. Answered as stored: with each check's text."""
    shape = _('The answers must be a JSON object: {"check code": "ok" or "not_ok", …}.')
    value = _decoded(value, "answers", shape)
    if not isinstance(value, dict):
        raise Invalid(shape, field="answers")
    codes = {check["code"] for check in checklist}
    for code in value:
        if code not in codes:
            raise Invalid(
                _("The checklist has no check %(code)s.") % {"code": str(code)[:40]}, field="answers"
            )
    result: dict[str, dict[str, str]] = {}
    for check in checklist:
        code = check["code"]
        if code not in value:
            raise Invalid(
                _("Answer the check %(code)s: %(text)s") % {"code": code, "text": check["text"]},
                field="answers",
            )
        entry = value[code]
        answer, note = (entry, "") if isinstance(entry, str) else ("", "")
        if isinstance(entry, dict):
            answer, note = entry.get("answer", ""), entry.get("note", "")
        if answer not in Answer.values or not isinstance(note, str):
            raise Invalid(
                _("The check %(code)s is answered ok or not_ok (with a note).") % {"code": code},
                field="answers",
            )
        note = note.strip()
        if len(note) > MAX_ANSWER_NOTE or "\x00" in note:
            raise Invalid(
                _("The note on the check %(code)s is longer than %(limit)d characters.")
                % {"code": code, "limit": MAX_ANSWER_NOTE},
                field="answers",
            )
        result[code] = {"answer": answer, "note": note, "text": check["text"]}
    return result


def may_inspect(user: Any, task: InspectionTask) -> bool:
    """The task's worker; a task nobody has been given, any worker of its grid (whoever inspects takes it)."""
    if task.worker_id is not None:
        return bool(task.worker_id == user.pk)
    return any(h.role in WORKER_ROLES and h.grid_id == task.grid_id for h in held_roles(user))


def _completed(task_id: int) -> InspectionTask:
    return with_task_relations(InspectionTask.objects.filter(pk=task_id)).get()


def _completion_replay(task: InspectionTask, actor: Any) -> Completion:
    if task.done_by_id != actor.pk:
        raise Conflict(_("This key belongs to another inspection: make a new one."), field="key")
    return Completion(task=task, created=False)


def _fault_report(
    task: InspectionTask,
    result: dict[str, dict[str, str]],
    note: str,
    key: uuid.UUID,
    checked: Sequence[CheckedFile],
) -> Report:
    """The case for the faults found: the component's class and point (else its grid), the failed checks in
    the worker's language, the photos, and a key of its own derived from the completion's."""
    component, plan = task.component, task.plan
    faults = "; ".join(
        f"{r['text']} ({r['note']})" if r["note"] else r["text"]
        for r in result.values()
        if r["answer"] == Answer.NOT_OK
    )
    description = gettext("Inspection “%(plan)s” of %(code)s %(name)s found faults: %(faults)s") % {
        "plan": plan.name,
        "code": component.object_id,
        "name": component.name,
        "faults": faults,
    }
    if note:
        description = f"{description}\n{note}"
    item = active_item(plan.item.code)  # withdrawn from the list since: the case is triaged as free text
    where: dict[str, Any] = {"grid": task.grid.code}
    lon, lat = component.lon, component.lat
    if lon is not None and lat is not None and locate(lon, lat).grid_id is not None:
        where = {"lon": lon, "lat": lat}
    return Report(
        channel=Channel.WORKER_APP,
        description=description[:2000],
        item=item.code if item is not None else None,
        address=component.location[:300],
        component_code=component.object_id,
        idempotency_key=f"inspection-{key}",
        files=list(checked),  # checked once: the case engine takes them as they are
        # One case per failed inspection, even beside an open report of the same kind nearby.
        force=True,
        **where,
    )


def do_complete_task(
    task: InspectionTask,
    answers: Any,
    *,
    actor: Any,
    key: Any,
    at: Any = None,
    photos: Sequence[Any] = (),
    lon: Any = None,
    lat: Any = None,
    note: Any = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Completion:
    """Record the inspection of `task` (made at `at` on the phone): every check ok → done; any not ok → failed,
    and a case is opened for the component in the same transaction. The same completion sent again (its key)
    answers the first, and opens no second case."""
    key = _uuid(key, _("The completion's key must be a UUID made on the phone."))
    if task.key == key:
        return _completion_replay(task, actor)
    if InspectionTask.objects.filter(key=key).exclude(pk=task.pk).exists():
        raise Conflict(_("This key belongs to another inspection: make a new one."), field="key")
    if task.state != TaskState.OPEN:
        raise Conflict(_("This inspection was already recorded."))
    if not may_inspect(actor, task):
        raise NotAllowed(_("Only the workers of the component's grid record its inspection."))
    now = now or timezone.now()
    done_at = _phone_moment(at, now, "at") if at not in (None, "") else now
    result = parse_answers(answers, task.plan.checklist)
    place = gps_point(lon, lat)
    text = clean_text(note, "note", MAX_NOTE, label=_("Note"))
    checked = _photos(photos)
    failed = any(r["answer"] == Answer.NOT_OK for r in result.values())
    try:
        with transaction.atomic(durable=not connection.in_atomic_block):
            changed = InspectionTask.objects.filter(pk=task.pk, state=TaskState.OPEN).update(
                state=TaskState.FAILED if failed else TaskState.DONE,
                done_at=done_at,
                done_by=actor,
                worker_id=task.worker_id or actor.pk,
                result=result,
                note=text,
                lon=place[0] if place else None,
                lat=place[1] if place else None,
                key=key,
                received_at=now,
            )
            if changed != 1:  # recorded meanwhile: by this completion sent twice at once, or by somebody else
                current = _completed(task.pk)
                if current.key == key:
                    return _completion_replay(current, actor)
                raise Conflict(_("This inspection was already recorded."))
            store_files(TaskPhoto, checked, now=now, fields=lambda _item: {"task_id": task.pk})
            case_number = ""
            if failed:
                intake = do_report(
                    _fault_report(task, result, text, key, checked), actor=actor, ip=ip, now=now
                )
                case_number = intake.case.number
                InspectionTask.objects.filter(pk=task.pk).update(case_number=case_number)
                do_set_component_state(
                    task.component, ComponentState.DAMAGED, actor=actor, reason=f"inspection {case_number}"
                )
            audit.record(
                "inspection_task.complete",
                actor=actor,
                target=task,
                data={
                    "key": str(key),
                    "plan": task.plan_id,
                    "component": task.component.object_id,
                    "state": TaskState.FAILED if failed else TaskState.DONE,
                    "at": done_at.isoformat(),
                    "case": case_number,
                    "photos": len(checked),
                },
                ip=ip,
            )
    except IntegrityError as exc:
        # The key was taken by another inspection at the same moment.
        raise Conflict(_("This key belongs to another inspection: make a new one."), field="key") from exc
    return Completion(task=_completed(task.pk), created=True)
