"""The only code that changes a case. Each public function is one durable transaction: the compare-and-set
update of the case, its `CaseEvent`, the hash-chained audit record and the live event commit together, or
nothing does. The transition table in `workflow.py` decides who may do what."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.catalog.models import Department, Item, Stage, Urgency
from gridgov.catalog.packaged import load_catalog_data
from gridgov.catalog.selectors import active_item, lead_department_id, time_limit
from gridgov.core import audit, outbox
from gridgov.core.calendar import add_working_time, working_time_between
from gridgov.core.errors import clean_text
from gridgov.core.rawsql import insert
from gridgov.core.scoping import visible_to
from gridgov.grids.coords import WGS84, check_crs, to_wgs84
from gridgov.grids.locator import get_locator
from gridgov.grids.models import Grid

from . import notify, triage
from .choices import (
    MACHINE_CHANNELS,
    OPEN_STATES,
    Action,
    AssignmentKind,
    Capacity,
    Card,
    Channel,
    EvidencePhase,
    ExtensionState,
    Rating,
    ReporterKind,
    State,
)
from .duplicates import Candidate, find_duplicates
from .errors import CaseNotFound, Conflict, Duplicate, Invalid, NotAllowed, WrongState
from .evidence import CheckedFile, EvidenceError, check_files, store
from .models import (
    Assignment,
    Case,
    CaseEvent,
    Comment,
    Deadline,
    Extension,
    Supervision,
    Supporter,
    TriageFeedback,
)
from .personal import NAME, PHONE, blind_index, encrypt_text
from .scoping import capacities, held_roles, staff_roles
from .workflow import BY_ACTION, FIELD_LABELS, RESPONSIBLE_AT_LEVEL, Transition, permits

# The clock that runs in each open state.
STAGE_OF: dict[str, str] = {
    State.REPORTED: Stage.REGISTER,
    State.REGISTERED: Stage.DISPATCH,
    State.DISPATCHED: Stage.SIGN,
    State.HANDLING: Stage.HANDLE,
    State.HANDLED: Stage.VERIFY,
}
# Open311 GeoReport v2 allows 4,000 characters: a report from any channel keeps all of what was written.
MAX_DESCRIPTION = 4000
MAX_NOTE = 2000
MAX_EXTENSION_MINUTES = 20 * 420  # twenty working days
PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
CARD_RANK = {"": 0, Card.YELLOW: 1, Card.RED: 2}
CHANNELS = frozenset(Channel.values)
URGENCIES = frozenset(Urgency.values)


# ---------------------------------------------------------------------------------------------- helpers


def normalise_phone(raw: str, field_name: str = "reporter_phone") -> str:
    phone = re.sub(r"[\s()]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not PHONE_PATTERN.match(phone):
        raise Invalid(
            _("Give a mobile number of 11 digits or a landline with its area code."), field=field_name
        )
    return phone.replace("-", "")


def _clean_text(value: str | None, field_name: str, limit: int, *, required: bool) -> str:
    return clean_text(
        value, field_name, limit, label=FIELD_LABELS.get(field_name, field_name), required=required
    )


def _limits(item: Item | None, stage: str, urgency: str) -> int:
    if item is None:
        return load_catalog_data()["default_limits"][(stage, urgency)]
    return time_limit(item, stage, urgency)


def _clock(item: Item | None, urgency: str, stage: str, now: datetime) -> Deadline:
    """A stage's clock starting now (not saved): the limit in working time and its three marks."""
    minutes = _limits(item, stage, urgency)
    return Deadline(
        stage=stage,
        minutes=minutes,
        started_at=now,
        warn_at=add_working_time(now, timedelta(minutes=minutes * settings.CASE_WARN_SHARE)),
        due_at=add_working_time(now, timedelta(minutes=minutes)),
        escalate_at=add_working_time(now, timedelta(minutes=minutes * settings.CASE_ESCALATE_SHARE)),
    )


def _start_clock(case: Case, stage: str, now: datetime) -> Deadline:
    deadline = _clock(case.item, case.urgency, stage, now)
    deadline.case = case
    insert(deadline)
    return deadline


def _stop_clock(case: Case, now: datetime) -> None:
    running = Deadline.objects.filter(case=case, done_at__isnull=True).first()
    if running is not None:
        met = running.paused_at is not None or now <= running.due_at
        Deadline.objects.filter(pk=running.pk).update(done_at=now, met=met)


def _shift(deadline: Deadline, by: timedelta) -> dict[str, datetime]:
    return {
        "warn_at": add_working_time(deadline.warn_at, by),
        "due_at": add_working_time(deadline.due_at, by),
        "escalate_at": add_working_time(deadline.escalate_at, by),
    }


def next_number(now: datetime) -> str:
    """`20261126-0123`: the local day and its sequence, short enough to read aloud on the phone."""
    day = timezone.localtime(now).date()
    with connection.cursor() as cursor:
        # One statement on both SQLite (3.35+) and PostgreSQL: the row lock it takes serialises concurrent
        # reports of the same day without a gap or a repeat.
        cursor.execute(
            "INSERT INTO cases_casecounter (day, last) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = cases_casecounter.last + 1 RETURNING last",
            [day],
        )
        (seq,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{seq:04d}"


def _event(
    case: Case,
    action: str,
    *,
    actor: Any,
    capacity: str,
    from_state: str,
    to_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    now: datetime,
    ip: str | None = None,
) -> CaseEvent:
    """The step's `CaseEvent`, its audit record and its live event, in the current transaction."""
    event = CaseEvent(
        case=case,
        seq=case.version,
        action=action,
        actor=actor,
        capacity=capacity,
        from_state=from_state,
        to_state=to_state,
        level=case.level,
        note=note,
        data=data or {},
        created_at=now,
    )
    insert(event)
    audit.record(
        f"case.{action}",
        actor=actor,
        target=case,
        data={"number": case.number, "from": from_state, "to": to_state, "seq": event.seq, **(data or {})},
        ip=ip,
    )
    outbox.publish(
        f"case.{action}",
        {
            "case": case.pk,
            "number": case.number,
            "state": to_state,
            "level": case.level,
            "grid": case.grid_id,
        },
        grid_l1_id=case.grid_l1_id,
    )
    return event


def _check_evidence(files: Sequence[Any], field_name: str) -> list[CheckedFile]:
    try:
        return check_files(files) if files else []
    except EvidenceError as exc:
        raise Invalid(str(exc), field=field_name) from exc


# ---------------------------------------------------------------------------------------------- intake


@dataclass
class Report:
    """What a channel hands to intake. Give a location as lon/lat (with `crs`), a grid code, or an address."""

    channel: str
    description: str
    item: str | None = None  # item code of the responsibility list; None for free text only
    urgency: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    grid: str | None = None  # grid code
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    confidential: bool = False
    idempotency_key: str | None = None
    component_code: str = ""  # the ObjID of the component (部件) reported on, when a check of it failed
    files: Sequence[Any] = ()
    # Create the case even when the same thing was already reported nearby (the reporter saw the offer).
    force: bool = False


@dataclass
class IntakeResult:
    case: Case
    created: bool
    # A machine alarm or a "me too" joined this existing case instead of opening a new one.
    joined: bool = False
    duplicates: list[Candidate] = field(default_factory=list)


def _reporter(report: Report, actor: Any) -> tuple[str, Any, str, str]:
    """(kind, account, name, phone) of who reports. Staff taking a call report for the caller."""
    phone = normalise_phone(report.reporter_phone) if report.reporter_phone else ""
    name = _clean_text(report.reporter_name, "reporter_name", 50, required=False)
    if report.channel in MACHINE_CHANNELS:
        # Alarms join open cases without asking: only staff (the device gateways' accounts) may send them.
        if actor is None or not (actor.is_staff or staff_roles(actor)):
            raise Invalid(_("Only device gateways may report through this channel."), field="channel")
        return ReporterKind.MACHINE, actor, "", ""
    if actor is None:
        if not phone:
            raise Invalid(
                _("A report without an account needs the reporter's phone number."), field="reporter_phone"
            )
        return ReporterKind.ANONYMOUS, None, name, phone
    staff = actor.is_staff or staff_roles(actor)
    if not staff:
        return ReporterKind.RESIDENT, actor, name, phone
    if report.channel in (Channel.HOTLINE, Channel.WALK_IN) or phone:
        if not phone:
            raise Invalid(
                _("Give the caller's phone number so that we can tell them the result."),
                field="reporter_phone",
            )
        return ReporterKind.ANONYMOUS, None, name, phone
    return ReporterKind.STAFF, actor, "", ""


def wgs84_point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point as a client sent it (in `crs`: wgs84, gcj02 or bd09), checked and in WGS-84."""
    if not (-180 <= lon <= 180):
        raise Invalid(_("Longitude must lie between -180 and 180."), field="lon")
    if not (-90 <= lat <= 90):
        raise Invalid(_("Latitude must lie between -90 and 90."), field="lat")
    try:
        checked = check_crs(crs)
    except Exception as exc:
        raise Invalid(str(getattr(exc, "message", exc)), field="crs") from exc
    return to_wgs84(lon, lat, checked)


# A phone's fix, in metres: beyond this it is no fix.
MAX_ACCURACY_M = 100_000


def gps_point(lon: Any, lat: Any) -> tuple[float, float] | None:
    """A phone's GPS point (WGS-84) as it was sent, checked; None when the phone had no fix."""
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise Invalid(_("Give both longitude and latitude."), field="lon" if lon is None else "lat")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("Longitude and latitude are numbers."), field="lon") from exc
    return wgs84_point(x, y, WGS84)  # NaN and infinity fail its range


def gps_accuracy(accuracy_m: Any) -> float | None:
    """The accuracy of a phone's fix in metres, checked; None when it sent none."""
    if accuracy_m is None or accuracy_m == "":
        return None
    try:
        accuracy = float(accuracy_m)
    except (TypeError, ValueError) as exc:
        raise Invalid(_("The accuracy is a number of metres."), field="accuracy_m") from exc
    if not (math.isfinite(accuracy) and 0 <= accuracy <= MAX_ACCURACY_M):
        raise Invalid(
            _("The accuracy lies between 0 and %(limit)d metres.") % {"limit": MAX_ACCURACY_M},
            field="accuracy_m",
        )
    return accuracy


def _place(report: Report) -> tuple[Grid, float | None, float | None]:
    """The grid of a report and its WGS-84 point. Points outside the county are refused."""
    if report.lon is not None or report.lat is not None:
        if report.lon is None or report.lat is None:
            raise Invalid(
                _("Give both longitude and latitude."), field="lon" if report.lon is None else "lat"
            )
        lon, lat = wgs84_point(report.lon, report.lat, report.crs)
        locator = get_locator()
        where = locator.locate(lon, lat)
        if where.grid_id is None:
            raise Invalid(_("This place lies outside the county's grids."), field="lon")
        return locator.grid(where.grid_id), lon, lat
    if report.grid:
        grid = Grid.objects.current().filter(code=report.grid.strip()).first()
        if grid is None:
            raise Invalid(_("No current grid has the code %(code)s.") % {"code": report.grid}, field="grid")
        return grid, None, None
    if report.address.strip():
        # An address alone is placed at the county; the banner's centre puts it in its grid on acceptance.
        root = Grid.objects.current().filter(level=0).first()
        if root is None:
            raise Invalid(_("The county has no grids yet: give a point on the map."), field="address")
        return root, None, None
    raise Invalid(_("Say where: a point on the map, a grid or an address."), field="location")


def _item(code: str | None) -> Item | None:
    if not code:
        return None
    item = active_item(code.strip())
    if item is None:
        raise Invalid(
            _("The responsibility list has no active item %(code)s.") % {"code": code}, field="item"
        )
    return item


def _grid_ids(grid: Grid) -> dict[str, int | None]:
    return {"grid_l1_id": grid.l1_id, "grid_l2_id": grid.l2_id, "grid_l3_id": grid.l3_id}


def do_report(
    report: Report, *, actor: Any, ip: str | None = None, now: datetime | None = None
) -> IntakeResult:
    """Intake, for every channel: locate, route, time, look for duplicates, and commit the case, its first
    event and its audit record before answering. The same idempotency key returns the first case."""
    key = (report.idempotency_key or "").strip() or None
    if key is not None and len(key) > 80:
        raise Invalid(_("The idempotency key is longer than 80 characters."), field="idempotency_key")
    try:
        return _intake(report, key, actor=actor, ip=ip, now=now or timezone.now())
    except (Invalid, IntegrityError):
        # A key is not looked up before the work: most keys are new, and the lookup would cost every report
        # a read. The same report sent again fails on the key's unique index instead (or finds its first
        # case among the duplicates, in `_intake`), or is refused by a check that has changed since (an item
        # withdrawn meanwhile): each answers with the first case.
        replay = _replay_of(key, actor, report.reporter_phone)
        if replay is not None:
            return replay
        raise


def _intake(report: Report, key: str | None, *, actor: Any, ip: str | None, now: datetime) -> IntakeResult:
    if report.channel not in CHANNELS:
        raise Invalid(_("Unknown channel %(channel)s.") % {"channel": report.channel}, field="channel")
    description = _clean_text(report.description, "description", MAX_DESCRIPTION, required=True)
    address = _clean_text(report.address, "address", 300, required=False)
    item = _item(report.item)
    urgency = report.urgency or (item.urgency if item else Urgency.NORMAL)
    if urgency not in URGENCIES:
        raise Invalid(_("Urgency is normal or urgent."), field="urgency")
    kind, account, name, phone = _reporter(report, actor)
    grid, lon, lat = _place(report)
    checked = _check_evidence(report.files, "files")

    if item is not None and lon is not None and lat is not None and not report.force:
        candidates = find_duplicates(item.pk, lon, lat, now)
        # The same report sent again finds its first case among them: a replay answers with that case, not
        # with an offer of it.
        replay = _replay_of(key, actor, report.reporter_phone) if candidates else None
        if replay is not None:
            return replay
        if candidates:
            if report.channel in MACHINE_CHANNELS:
                return do_me_too(candidates[0].case, actor=actor, channel=report.channel, ip=ip, now=now)
            raise Duplicate(
                _("The same thing was already reported nearby: add yourself to it, or report anyway."),
                field="item",
                data={"candidates": candidates},
            )

    routed_id = lead_department_id(item, grid) if item is not None else None
    # Free text only: triage's best guess is kept for the operator to confirm (and to learn from the choice).
    suggestion = next(iter(triage.suggest(description, limit=1)), None) if item is None else None
    if suggestion is not None and not Item.objects.filter(pk=suggestion.item_id, active=True).exists():
        suggestion = None  # the model predates a change of the list
    clock = _clock(item, urgency, Stage.REGISTER, now)
    # Durable unless a caller holds the transaction (and commits before answering). The Idempotency-Key
    # middleware does not: the key is the case's own (settings.IDEMPOTENCY_OWN_KEY), and SQLite's write lock is
    # held from here to the commit only.
    with transaction.atomic(durable=not connection.in_atomic_block):
        case = Case(
            number=next_number(now),
            channel=report.channel,
            state=State.REPORTED,
            item=item,
            urgency=urgency,
            description=description,
            address=address,
            lon=lon,
            lat=lat,
            grid=grid,
            **_grid_ids(grid),
            level=min(grid.level, 3),
            routed_department_id=routed_id,
            reporter_kind=kind,
            reporter=account,
            reporter_name_enc=encrypt_text(name, NAME),
            reporter_phone_enc=encrypt_text(phone, PHONE),
            reporter_phone_index=blind_index(phone) if phone else "",
            confidential=report.confidential,
            idempotency_key=key,
            component_code=report.component_code,
            created_at=now,
            updated_at=now,
            stage=clock.stage,
            warn_at=clock.warn_at,
            due_at=clock.due_at,
        )
        insert(case)
        clock.case = case
        insert(clock)
        event = _event(
            case,
            Action.REPORT,
            actor=actor,
            capacity=Capacity.REPORTER,
            from_state="",
            to_state=State.REPORTED,
            data={"channel": report.channel, "item": item.code if item else None, "grid": grid.code},
            now=now,
            ip=ip,
        )
        store(case, checked, phase=EvidencePhase.REPORT, actor=actor, event=event, now=now)
        if item is None and suggestion is not None:
            TriageFeedback.objects.create(
                case=case,
                suggested_item_id=suggestion.item_id,
                confidence=suggestion.confidence,
                created_at=now,
            )
    return IntakeResult(case=case, created=True)


def _replay_of(key: str | None, actor: Any, phone: str) -> IntakeResult | None:
    """The first case of an idempotency key, answered again (None when the key is new)."""
    existing = Case.objects.filter(idempotency_key=key).first() if key is not None else None
    return _replay(existing, actor, phone) if existing is not None else None


def _replay(case: Case, actor: Any, phone: str = "") -> IntakeResult:
    # A key is the client's own: somebody else's key must not reveal their case. Who sent the first report
    # is the actor of its first event (staff taking a call, a device, a resident's account).
    sender = CaseEvent.objects.filter(case=case, seq=1).values_list("actor_id", flat=True).first()
    if actor is None:  # an anonymous client (Open311) proves itself with the same phone number
        same = (
            bool(phone)
            and sender is None
            and case.reporter_phone_index == blind_index(normalise_phone(phone))
        )
    else:
        same = sender == actor.pk
    if not same:
        raise Conflict(_("This idempotency key was used for another report."), field="idempotency_key")
    return IntakeResult(case=case, created=False)


def do_me_too(
    case: Case,
    *,
    actor: Any,
    phone: str = "",
    channel: str = Channel.RESIDENT_APP,
    taken_by: Any = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """ "Me too": the reporter joins an open case instead of opening a new one; supporters are counted and
    told of its progress. Saying it twice changes nothing. A caller known by phone only (`actor` None) may be
    added by the operator who took the call (`taken_by`), who is then on record as the one who did it."""
    now = now or timezone.now()
    phone = normalise_phone(phone, "phone") if phone else ""
    if actor is None and not phone:
        raise Invalid(_("Give your phone number to follow this case."), field="phone")
    with transaction.atomic(durable=not connection.in_atomic_block):
        current = Case.objects.select_for_update().get(pk=case.pk)
        if current.state not in OPEN_STATES:
            raise WrongState(_("Case %(number)s is no longer open.") % {"number": current.number})
        if actor is not None and current.reporter_id == actor.pk:
            return IntakeResult(case=current, created=False, joined=True)
        lookup = {"user": actor} if actor is not None else {"phone_index": blind_index(phone)}
        if Supporter.objects.filter(case=current, **lookup).exists():
            return IntakeResult(case=current, created=False, joined=True)
        Supporter.objects.create(
            case=current,
            user=actor,
            phone_enc=encrypt_text(phone, PHONE) if actor is None else None,
            phone_index=blind_index(phone) if actor is None else "",
            channel=channel,
            created_at=now,
        )
        _bump(current, now, supporters_count=F("supporters_count") + 1)
        _event(
            current,
            Action.ME_TOO,
            actor=actor if actor is not None else taken_by,
            capacity=Capacity.OPERATOR if actor is None and taken_by is not None else "",
            from_state=current.state,
            to_state=current.state,
            data={"channel": channel, "supporters": current.supporters_count},
            now=now,
            ip=ip,
        )
    return IntakeResult(case=current, created=False, joined=True)


def _bump(case: Case, now: datetime, **changes: Any) -> None:
    """Compare-and-set: apply `changes` only if nobody changed the case since it was read."""
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(
        version=F("version") + 1, updated_at=now, **changes
    )
    if updated != 1:
        raise Conflict(
            _("Somebody changed case %(number)s meanwhile: look at it again.") % {"number": case.number}
        )
    if any(hasattr(v, "resolve_expression") for v in changes.values()):
        case.refresh_from_db()  # counters computed by the database
    else:
        # The row is now exactly what was read plus these values: no need to read it back.
        case.version += 1
        case.updated_at = now
        for name, value in changes.items():
            setattr(case, name, value)


# ---------------------------------------------------------------------------------------------- workflow


@dataclass
class Step:
    """The input of one workflow action. Which fields an action requires is in the transition table."""

    reason: str = ""
    note: str = ""
    files: Sequence[Any] = ()
    before_files: Sequence[Any] = ()
    unit: str | None = None  # department code
    assisting: Sequence[str] = ()
    card: str | None = None
    rating: str | None = None
    minutes: int | None = None
    into: str | None = None  # case number
    extension: int | None = None
    item: str | None = None  # accept: (re)classify
    urgency: str | None = None
    grid: str | None = None  # accept: place an address-only case
    public: bool = True  # comment: visible to the reporter
    supervision: int | None = None  # comment: reply to this supervision notice
    expected_version: int | None = None


def allowed_actions(user: Any, case: Case) -> list[str]:
    """The actions `user` may take on `case` now, in table order: what the workbench shows as buttons."""
    caps = capacities(user, case, case.grid.path, list(case.assignments.filter(active=True)))
    actions = [t.action for t in BY_ACTION.values() if permits(t, caps, case.state, case.level)]
    # Buttons that would only be refused: a second rating, extension decisions with nothing pending.
    hidden: set[str] = set()
    if case.rating:
        hidden.add(Action.EVALUATE)
    if case.reporter_kind != ReporterKind.ANONYMOUS and Capacity.REPORTER not in caps:
        hidden |= {
            Action.EVALUATE,
            Action.DISPUTE,
        }  # the operator may not speak for a reporter with an account
    if {Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION} & set(actions):
        pending = Extension.objects.filter(case=case, state=ExtensionState.PENDING).exists()
        hidden |= {Action.REQUEST_EXTENSION} if pending else {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION}
    return [a for a in actions if a not in hidden]


def _require(t: Transition, step: Step) -> None:
    present = {
        "reason": bool(step.reason.strip()),
        "note": bool(step.note.strip()),
        "evidence": bool(step.files),
        "unit": bool(step.unit),
        "card": bool(step.card),
        "rating": bool(step.rating),
        "minutes": step.minutes is not None,
        "into": bool(step.into),
        "extension": step.extension is not None,
    }
    for name in sorted(t.requires):
        if not present[name]:
            raise Invalid(
                _("%(field)s is required to %(action)s.")
                % {"field": FIELD_LABELS[name], "action": Action(t.action).label},
                field="files" if name == "evidence" else name,
            )
    _clean_text(step.reason, "reason", MAX_NOTE, required=False)
    _clean_text(step.note, "note", MAX_NOTE, required=False)


def do_transition(
    case: Case | str,
    action: str,
    step: Step | None = None,
    *,
    actor: Any,
    ip: str | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Take `action` on `case` (a Case or its number) as `actor` (None: the system). Raises CaseNotFound
    outside the actor's scope, NotAllowed, WrongState, Invalid or Conflict, and then changes nothing."""
    step = step or Step()
    t = BY_ACTION.get(action)
    if t is None:
        raise Invalid(_("Unknown action %(action)s.") % {"action": action}, field="action")
    number = case if isinstance(case, str) else case.number
    base = Case.objects.select_related("grid", "item").defer("grid__geometry")
    if actor is not None:
        base = visible_to(actor, base)
    current = base.filter(number=number).first()
    if current is None:
        raise CaseNotFound()
    if step.expected_version is not None and step.expected_version != current.version:
        raise Conflict(
            _("Somebody changed case %(number)s meanwhile: look at it again.") % {"number": number}
        )
    assignments = list(Assignment.objects.filter(case=current, active=True))
    caps = capacities(actor, current, current.grid.path, assignments)
    if not caps & t.who:
        raise NotAllowed(
            _("You may not %(action)s case %(number)s.") % {"action": Action(action).label, "number": number}
        )
    if not permits(t, caps, current.state, current.level):
        if current.state not in t.sources:
            raise WrongState(
                _("Case %(number)s is %(state)s: “%(action)s” does not apply to it now.")
                % {"number": number, "state": State(current.state).label, "action": Action(action).label}
            )
        raise NotAllowed(
            _("Case %(number)s is at another level of the ladder: only its %(who)s may %(action)s it.")
            % {
                "number": number,
                "who": Capacity(RESPONSIBLE_AT_LEVEL.get(current.level, Capacity.OPERATOR)).label,
                "action": Action(action).label,
            }
        )
    _require(t, step)
    files = _check_evidence(step.files, "files")
    before = _check_evidence(step.before_files, "before_files")
    held = caps & t.who
    if t.at_level:  # the capacity that answers at the case's level is the one that acted
        held &= {RESPONSIBLE_AT_LEVEL.get(current.level, ""), Capacity.SYSTEM}
    # One capacity is recorded: the reporter's own voice first, else the first in a stable order.
    capacity = (
        (Capacity.REPORTER if Capacity.REPORTER in held else sorted(held)[0]) if actor else Capacity.SYSTEM
    )
    now = now or timezone.now()
    with transaction.atomic(durable=not connection.in_atomic_block):
        # Claim the case first (compare-and-set on its version): of two people acting at the same moment,
        # the second fails here, before any of its effects is written.
        _bump(current, now)
        effect = EFFECTS[Action(action)](
            current, t, step, actor=actor, capacity=capacity, assignments=assignments, now=now
        )
        from_state = current.state
        to_state = effect.to_state or from_state
        changes = dict(effect.changes)
        item = changes.pop("item_obj", None)
        if to_state != from_state:
            changes["state"] = to_state
        # Suspending pauses the running clock and resuming shifts it (their effects do that); any other move
        # to another state, or a restart (a new unit, a rework), ends the stage's clock and starts the next.
        if State.SUSPENDED not in (from_state, to_state) and (to_state != from_state or effect.restart_clock):
            _stop_clock(current, now)
            stage = STAGE_OF.get(to_state)
            if stage:
                current.item = item or current.item
                current.urgency = changes.get("urgency", current.urgency)
                d = _start_clock(current, stage, now)
                changes.update(stage=stage, warn_at=d.warn_at, due_at=d.due_at)
            else:
                changes.update(stage="", warn_at=None, due_at=None)
        if changes:
            Case.objects.filter(pk=current.pk).update(**changes)
            current.refresh_from_db()
        if action == Action.REASSIGN or to_state not in (State.DISPATCHED, State.HANDLING, State.SUSPENDED):
            # Nobody can decide a request once its case left the unit's hands (or went to another unit).
            Extension.objects.filter(case=current, state=ExtensionState.PENDING).update(
                state=ExtensionState.LAPSED, decided_at=now
            )
        event = _event(
            current,
            action,
            actor=actor,
            capacity=capacity,
            from_state=from_state,
            to_state=to_state,
            note=(step.reason or step.note).strip(),
            data=effect.data,
            now=now,
            ip=ip,
        )
        if files or before:
            store(current, before, phase=EvidencePhase.BEFORE, actor=actor, event=event, now=now)
            store(current, files, phase=effect.evidence_phase, actor=actor, event=event, now=now)
        for follow in effect.after:
            follow(current, event)
    return event


@dataclass
class Effect:
    to_state: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    restart_clock: bool = False
    evidence_phase: str = EvidencePhase.OTHER
    after: list[Any] = field(default_factory=list)


def _department(code: str, field_name: str) -> Department:
    dept = Department.objects.filter(code=code.strip()).first()
    if dept is None:
        raise Invalid(_("No department has the code %(code)s.") % {"code": code}, field=field_name)
    return dept


def _dispatch_units(
    case: Case, step: Step, now: datetime, end_reason: str
) -> tuple[Department, list[Department]]:
    lead = _department(step.unit or "", "unit")
    assisting = [
        _department(code, "assisting") for code in dict.fromkeys(step.assisting) if code != lead.code
    ]
    Assignment.objects.filter(case=case, active=True).update(
        active=False, ended_at=now, end_reason=end_reason
    )
    Assignment.objects.bulk_create(
        [Assignment(case=case, department=lead, kind=AssignmentKind.LEAD, dispatched_at=now)]
        + [
            Assignment(case=case, department=d, kind=AssignmentKind.ASSIST, dispatched_at=now)
            for d in assisting
        ]
    )
    return lead, assisting


def _tell_units(
    case: Case, departments: list[Department], kind: str, data: dict[str, Any], now: datetime
) -> None:
    users: list[int] = []
    for d in departments:
        users += notify.unit_users(d.pk, case.grid.path)
    notify.to_users(users, case, kind, {"number": case.number, **data}, now)


def _accept(case: Case, t: Transition, step: Step, *, actor, capacity, assignments, now) -> Effect:
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    item = case.item
    if step.item:
        item = _item(step.item)
        assert item is not None  # _item refuses an unknown code
        changes.update(item_id=item.pk, item_obj=item)
    if item is None:
        raise Invalid(_("Choose the item of the responsibility list before registering."), field="item")
    if step.urgency:
        if step.urgency not in Urgency.values:
            raise Invalid(_("Urgency is normal or urgent."), field="urgency")
        changes["urgency"] = step.urgency
    grid = case.grid
    if step.grid:
        found = visible_to(actor, Grid.objects.current()).filter(code=step.grid.strip()).first()
        if found is None:
            raise Invalid(_("No current grid has the code %(code)s.") % {"code": step.grid}, field="grid")
        grid = found
        changes.update(grid=grid, **_grid_ids(grid))
    # The accepting centre answers for the case from now on: a town's (1) or the banner's (0).
    levels = [
        h.grid_level
        for h in held_roles(actor)
        if h.role == "operator" and h.grid_level is not None and grid.path.startswith(h.grid_path)
    ]
    level = min(case.level, max(min(levels, default=1), 0), 1)
    changes["level"] = level
    changes["routed_department_id"] = lead_department_id(item, grid)
    data.update(item=item.code, level=level)
    feedback = TriageFeedback.objects.filter(case=case).first()
    if feedback is not None:
        TriageFeedback.objects.filter(pk=feedback.pk).update(chosen_item=item)
        data["triage"] = {"suggested": feedback.suggested_item_id, "chosen": item.pk}
    return Effect(
        t.target,
        changes,
        data,
        restart_clock=True,
        after=[lambda c, e: notify.tell_reporter(c, "accepted", {}, now)],
    )


def _reject(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    return Effect(
        t.target,
        {"closed_at": now},
        {},
        after=[lambda c, e: notify.tell_reporter(c, "rejected", {"reason": step.reason}, now)],
    )


def _merge(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    target = visible_to(actor, Case).filter(number=(step.into or "").strip()).first()
    if target is None or target.pk == case.pk:
        raise Invalid(_("Choose another case that you can see to merge into."), field="into")
    if target.state not in OPEN_STATES:
        raise Invalid(
            _("Case %(number)s is closed: merge into an open case.") % {"number": target.number}, field="into"
        )
    # The merged case's reporter and supporters follow the surviving case.
    followers = [
        Supporter(
            case=target,
            user=case.reporter,
            phone_enc=None if case.reporter_id else case.reporter_phone_enc,
            phone_index="" if case.reporter_id else case.reporter_phone_index,
            channel=case.channel,
            from_case=case,
            created_at=now,
        )
    ]
    followers += [
        Supporter(
            case=target,
            user=s.user,
            phone_enc=s.phone_enc,
            phone_index=s.phone_index,
            channel=s.channel,
            from_case=case,
            created_at=now,
        )
        for s in Supporter.objects.filter(case=case)
    ]
    known_users = set(
        Supporter.objects.filter(case=target, user__isnull=False).values_list("user_id", flat=True)
    )
    known_phones = set(
        Supporter.objects.filter(case=target).exclude(phone_index="").values_list("phone_index", flat=True)
    )
    if target.reporter_id:
        known_users.add(target.reporter_id)
    if target.reporter_phone_index:
        known_phones.add(target.reporter_phone_index)
    fresh = []
    for s in followers:
        if s.user_id and s.user_id not in known_users:
            known_users.add(s.user_id)
            fresh.append(s)
        elif not s.user_id and s.phone_index and s.phone_index not in known_phones:
            known_phones.add(s.phone_index)
            fresh.append(s)
    Supporter.objects.bulk_create(fresh)

    def on_target(c: Case, e: CaseEvent) -> None:
        _bump(target, now, supporters_count=F("supporters_count") + len(fresh))
        _event(
            target,
            Action.MERGE,
            actor=actor,
            capacity=capacity,
            from_state=target.state,
            to_state=target.state,
            data={"merged": c.number, "followers": len(fresh)},
            now=now,
        )
        notify.tell_reporter(c, "merged", {"into": target.number}, now)

    return Effect(
        t.target, {"merged_into": target, "closed_at": now}, {"into": target.number}, after=[on_target]
    )


def _dispatch(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    if case.item_id is None:
        raise Invalid(_("Choose the item of the responsibility list before dispatching."), field="item")
    lead, assisting = _dispatch_units(case, step, now, "reassigned")
    data = {"unit": lead.code, "assisting": [d.code for d in assisting]}
    if step.reason.strip():
        data["reason"] = step.reason.strip()

    def tell(c: Case, e: CaseEvent) -> None:
        _tell_units(c, [lead, *assisting], "task", {}, now)
        if t.action == Action.DISPATCH:
            notify.tell_reporter(c, "dispatched", {"unit": lead.name}, now)

    return Effect(t.target, {"lead_department": lead}, data, restart_clock=True, after=[tell])


def _unit_assignment(assignments: list[Assignment], actor: Any, kind: str, case: Case) -> Assignment:
    depts = {h.department_id for h in held_roles(actor) if h.department_id}
    for a in assignments:
        if a.kind == kind and a.department_id in depts:
            return a
    raise NotAllowed(
        _("Your unit holds no %(kind)s assignment on this case.") % {"kind": AssignmentKind(kind).label}
    )


def _sign(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    a = _unit_assignment(assignments, actor, AssignmentKind.LEAD, case)
    Assignment.objects.filter(pk=a.pk).update(signed_at=now)
    return Effect(t.target, {}, {"unit": a.department.code})


def _return(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    a = _unit_assignment(assignments, actor, AssignmentKind.LEAD, case)
    Assignment.objects.filter(case=case, active=True).update(
        active=False, ended_at=now, end_reason="returned"
    )
    # The town's centre, and whoever dispatched it (the banner's centre may have).
    dispatcher = (
        CaseEvent.objects.filter(case=case, action__in=[Action.DISPATCH, Action.REASSIGN])
        .order_by("-seq")
        .values_list("actor_id", flat=True)
        .first()
    )
    operators = [*notify.grid_users([case.grid_l1_id], ["operator"]), dispatcher]

    def tell(c: Case, e: CaseEvent) -> None:
        notify.to_users(operators, c, "returned", {"number": c.number, "reason": step.reason}, now)

    return Effect(
        t.target,
        {"lead_department": None, "returns": F("returns") + 1},
        {"unit": a.department.code},
        after=[tell],
    )


def _assist_sign(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    a = _unit_assignment(assignments, actor, AssignmentKind.ASSIST, case)
    if a.signed_at:
        raise WrongState(_("Your unit has already signed for this case."))
    Assignment.objects.filter(pk=a.pk).update(signed_at=now)
    return Effect(None, {}, {"unit": a.department.code})


def _assist_feedback(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    a = _unit_assignment(assignments, actor, AssignmentKind.ASSIST, case)
    Assignment.objects.filter(pk=a.pk).update(fed_back_at=now, signed_at=a.signed_at or now)
    return Effect(None, {}, {"unit": a.department.code}, evidence_phase=EvidencePhase.AFTER)


def _feedback(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    a = _unit_assignment(assignments, actor, AssignmentKind.LEAD, case)
    Assignment.objects.filter(pk=a.pk).update(fed_back_at=now)
    staff = notify.grid_users([case.grid_l3_id], ["info_officer", "grid_specialist"])

    def tell(c: Case, e: CaseEvent) -> None:
        notify.to_users(staff, c, "to_verify", {"number": c.number}, now)

    return Effect(t.target, {}, {"unit": a.department.code}, evidence_phase=EvidencePhase.AFTER, after=[tell])


def _close(case: Case, now: datetime) -> dict[str, Any]:
    return {"closed_at": now, "resolved_level": case.level}


def _verify_pass(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    Assignment.objects.filter(case=case, active=True).update(active=False, ended_at=now, end_reason="closed")
    return Effect(
        t.target,
        _close(case, now),
        {"resolved_level": case.level},
        after=[lambda c, e: notify.tell_reporter(c, "closed", {}, now)],
    )


def _verify_fail(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    lead = next((a for a in assignments if a.kind == AssignmentKind.LEAD), None)
    if lead is None:
        return Effect(t.target_without_unit, {"reworks": F("reworks") + 1}, {})
    Assignment.objects.filter(pk=lead.pk).update(fed_back_at=None)

    def tell(c: Case, e: CaseEvent) -> None:
        _tell_units(c, [lead.department], "rework", {"reason": step.reason}, now)

    return Effect(
        t.target,
        {"reworks": F("reworks") + 1},
        {"unit": lead.department.code},
        restart_clock=True,
        after=[tell],
    )


def _self_handle(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    if (
        not step.before_files
        and not case.evidence.filter(phase__in=[EvidencePhase.REPORT, EvidencePhase.BEFORE]).exists()
    ):
        raise Invalid(
            _("Add a photo from before the handling (自处置 needs before and after)."), field="before_files"
        )
    return Effect(
        t.target,
        _close(case, now),
        {"resolved_level": case.level},
        evidence_phase=EvidencePhase.AFTER,
        after=[lambda c, e: notify.tell_reporter(c, "closed", {}, now)],
    )


def _escalate(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    level = case.level - 1
    if level >= 1:
        roles = {2: ["grid_head_l2"], 1: ["operator", "grid_head_l1"]}[level]
        up = notify.grid_users([case.grid_l2_id if level == 2 else case.grid_l1_id], roles)
    else:
        up = notify.grid_users(Grid.objects.filter(level=0).values_list("pk", flat=True), ["operator"])

    def tell(c: Case, e: CaseEvent) -> None:
        notify.to_users(up, c, "escalated", {"number": c.number, "reason": step.reason}, now)

    return Effect(None, {"level": level}, {"from_level": case.level, "to_level": level}, after=[tell])


def _request_extension(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    minutes = step.minutes or 0
    if not (0 < minutes <= MAX_EXTENSION_MINUTES):
        raise Invalid(
            _("Ask for 1 to %(max)d working minutes.") % {"max": MAX_EXTENSION_MINUTES}, field="minutes"
        )
    if Extension.objects.filter(case=case, state=ExtensionState.PENDING).exists():
        raise WrongState(_("An extension request for this case is already waiting for a decision."))
    deadline = Deadline.objects.get(case=case, done_at__isnull=True)
    ext = Extension.objects.create(
        case=case,
        deadline=deadline,
        minutes=minutes,
        reason=step.reason.strip(),
        requested_by=actor,
        requested_at=now,
    )
    ops = notify.grid_users([case.grid_l1_id], ["operator"])
    return Effect(
        None,
        {},
        {"extension": ext.pk, "minutes": minutes},
        after=[lambda c, e: notify.to_users(ops, c, "extension", {"number": c.number}, now)],
    )


def _decide_extension(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    ext = Extension.objects.filter(case=case, pk=step.extension, state=ExtensionState.PENDING).first()
    if ext is None:
        raise Invalid(_("This case has no such pending extension request."), field="extension")
    approve = t.action == Action.APPROVE_EXTENSION
    Extension.objects.filter(pk=ext.pk).update(
        state=ExtensionState.APPROVED if approve else ExtensionState.DENIED,
        decided_by=actor,
        decided_at=now,
        decision_note=step.reason.strip(),
    )
    changes: dict[str, Any] = {}
    if approve:
        # The time is for the work under way: the clock running now, even if the unit signed meanwhile.
        deadline = Deadline.objects.filter(case=case, done_at__isnull=True).first()
        if deadline is not None:
            shifted = _shift(deadline, timedelta(minutes=ext.minutes))
            Deadline.objects.filter(pk=deadline.pk).update(minutes=F("minutes") + ext.minutes, **shifted)
            changes.update(warn_at=shifted["warn_at"], due_at=shifted["due_at"])
    decision = _("approved") if approve else _("denied")
    return Effect(
        None,
        changes,
        {"extension": ext.pk, "minutes": ext.minutes, "approved": approve},
        after=[
            lambda c, e: notify.to_users(
                [ext.requested_by_id],
                c,
                "extension_decided",
                {"number": c.number, "decision": str(decision)},
                now,
            )
        ],
    )


def _suspend(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    Deadline.objects.filter(case=case, done_at__isnull=True).update(paused_at=now)
    return Effect(t.target, {"suspended_from": case.state, "warn_at": None, "due_at": None}, {})


def _resume(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    changes: dict[str, Any] = {"suspended_from": ""}
    deadline = Deadline.objects.filter(case=case, done_at__isnull=True).first()
    if deadline is not None and deadline.paused_at is not None:
        # The clock stood still while suspended: move every mark by the working time that passed.
        shifted = _shift(deadline, working_time_between(deadline.paused_at, now))
        Deadline.objects.filter(pk=deadline.pk).update(paused_at=None, **shifted)
        changes.update(warn_at=shifted["warn_at"], due_at=shifted["due_at"])
    return Effect(case.suspended_from or State.REGISTERED, changes, {"back_to": case.suspended_from})


def _supervise(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    if step.card not in Card.values:
        raise Invalid(_("The card is yellow or red."), field="card")
    sup = Supervision.objects.create(
        case=case, card=step.card, reason=step.reason.strip(), stage=case.stage, by=actor, created_at=now
    )
    changes: dict[str, Any] = {"supervised": F("supervised") + 1}
    if CARD_RANK[step.card] > CARD_RANK.get(case.card, 0):
        changes["card"] = step.card
    lead = [a.department for a in assignments if a.kind == AssignmentKind.LEAD]

    def tell(c: Case, e: CaseEvent) -> None:
        data = {"card": step.card, "reason": step.reason}
        _tell_units(c, lead, "supervision", data, now)
        if not lead:
            heads = notify.grid_users(
                [c.grid_l3_id, c.grid_l2_id], ["grid_specialist", "info_officer", "grid_head_l2"]
            )
            if c.state in (State.REPORTED, State.REGISTERED):  # the centre must accept or dispatch it
                heads += notify.grid_users([c.grid_l1_id], ["operator"])
            notify.to_users(heads, c, "supervision", {"number": c.number, **data}, now)

    return Effect(None, changes, {"card": step.card, "supervision": sup.pk}, after=[tell])


def _on_behalf(case: Case, capacity: str) -> None:
    """Operators rate and dispute only for reporters without an account; the others speak for themselves."""
    if capacity == Capacity.OPERATOR and case.reporter_kind != ReporterKind.ANONYMOUS:
        raise NotAllowed(_("The reporter rates and disputes this case from their own account."))


def _evaluate(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    _on_behalf(case, capacity)
    if step.rating not in Rating.values:
        raise Invalid(_("Rate satisfied, basically satisfied or unsatisfied."), field="rating")
    if case.rating:
        raise WrongState(_("You have already rated case %(number)s.") % {"number": case.number})
    return Effect(None, {"rating": step.rating, "rated_at": now}, {"rating": step.rating})


def _dispute(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    _on_behalf(case, capacity)
    staff = notify.grid_users([case.grid_l3_id], ["info_officer", "grid_specialist"]) + notify.grid_users(
        [case.grid_l1_id], ["operator"]
    )

    def tell(c: Case, e: CaseEvent) -> None:
        notify.to_users(staff, c, "to_verify", {"number": c.number}, now)
        notify.tell_reporter(c, "reopened", {}, now)

    return Effect(
        t.target,
        # The unsatisfied verdict stays in the event; the case may be rated afresh once it closes again.
        {
            "rating": "",
            "rated_at": None,
            "disputed": F("disputed") + 1,
            "closed_at": None,
            "resolved_level": None,
        },
        {"rating": Rating.UNSATISFIED},
        after=[tell],
    )


def _comment(case, t, step, *, actor, capacity, assignments, now) -> Effect:
    public = True if capacity == Capacity.REPORTER else step.public
    supervision = None
    if step.supervision is not None:
        supervision = Supervision.objects.filter(case=case, pk=step.supervision).first()
        if supervision is None:
            raise Invalid(_("This case has no such supervision notice."), field="supervision")
        public = False
    comment = Comment.objects.create(
        case=case,
        author=actor,
        capacity=capacity,
        text=step.note.strip(),
        public=public,
        supervision=supervision,
        created_at=now,
    )

    def tell(c: Case, e: CaseEvent) -> None:
        if capacity == Capacity.REPORTER:
            units = [a.department for a in assignments if a.kind == AssignmentKind.LEAD]
            _tell_units(c, units, "comment", {}, now)
            if not units:
                notify.to_users(
                    notify.grid_users([c.grid_l3_id], ["info_officer", "grid_specialist"]),
                    c,
                    "comment",
                    {"number": c.number},
                    now,
                )
        elif public:
            notify.tell_reporter(c, "comment", {}, now)
        if supervision is not None and supervision.by_id:
            notify.to_users([supervision.by_id], c, "comment", {"number": c.number}, now)

    return Effect(None, {}, {"comment": comment.pk, "public": public}, after=[tell])


EFFECTS = {
    Action.ACCEPT: _accept,
    Action.REJECT: _reject,
    Action.MERGE: _merge,
    Action.DISPATCH: _dispatch,
    Action.REASSIGN: _dispatch,
    Action.SIGN: _sign,
    Action.RETURN: _return,
    Action.ASSIST_SIGN: _assist_sign,
    Action.ASSIST_FEEDBACK: _assist_feedback,
    Action.FEEDBACK: _feedback,
    Action.VERIFY_PASS: _verify_pass,
    Action.VERIFY_FAIL: _verify_fail,
    Action.SELF_HANDLE: _self_handle,
    Action.ESCALATE: _escalate,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _decide_extension,
    Action.DENY_EXTENSION: _decide_extension,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.SUPERVISE: _supervise,
    Action.EVALUATE: _evaluate,
    Action.DISPUTE: _dispute,
    Action.COMMENT: _comment,
}
assert set(EFFECTS) == set(BY_ACTION), "every row of the transition table has its effect"
