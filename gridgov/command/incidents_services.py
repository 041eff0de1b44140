"""The only code that changes emergencies (突发事件): declare, dispatch departments, their acknowledgement,
progress and completion, the broadcast to the grid workers of the affected grids, and the closing report.

Each `do_*` is one transaction: the compare-and-set update (on the incident's version and state, or the
dispatch's state), its `IncidentEvent` on the timeline (actor and time), the hash-chained audit record and the
live event `incident.<step>` (with the incident's level-1 grid, for the wall's feed) commit together, or nothing
does. Bad input raises `Invalid` naming the field; an incident the actor does not see does not exist (404); one
they see but do not command is `NotAllowed` (403); a step its state does not allow is a `Conflict` (409)."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.accounts.models import RoleAssignment
from gridgov.cases import notify
from gridgov.cases.services import gps_point
from gridgov.catalog.models import Department
from gridgov.core import audit, outbox
from gridgov.core.errors import Conflict, Invalid, NotAllowed, Refusal, clean_text
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .incidents_scoping import WORKER_ROLES, command_paths, commands, unit_departments
from .models import (
    DispatchState,
    Incident,
    IncidentAction,
    IncidentDispatch,
    IncidentEvent,
    IncidentGrid,
    IncidentKind,
    IncidentLevel,
    IncidentState,
)

MAX_TITLE = 100
MAX_TEXT = 4000
MAX_PLACE = 200
MAX_TASK = 1000
MAX_GRIDS = 50
MAX_DEPARTMENTS = 32
MAX_COUNT = 10_000_000
MAX_LOSS = Decimal("9999999999.99")

FIELD_LABELS: dict[str, Any] = {
    "title": _("Title"),
    "description": pgettext_lazy("emergency", "Description"),
    "place": pgettext_lazy("emergency", "Place"),
    "task": _("Task"),
    "note": _("Note"),
    "message": pgettext_lazy("emergency", "Message"),
    "summary": pgettext_lazy("emergency", "Summary"),
    "cause": _("Cause"),
    "measures": _("Measures taken"),
    "deaths": _("Deaths"),
    "injuries": _("Injuries"),
    "missing": pgettext_lazy("people", "Missing"),
    "affected_people": _("People affected"),
    "relocated_people": _("People relocated"),
    "direct_loss": _("Direct economic loss (10,000 yuan)"),
}


class IncidentNotFound(Refusal):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such emergency."))


class DispatchNotFound(Refusal):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such dispatch."))


def _text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    return clean_text(value, field, limit, label=FIELD_LABELS[field], required=required)


def _count(value: Any, field: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise Invalid(
            _("%(field)s is a whole number.") % {"field": FIELD_LABELS[field]}, field=field
        ) from exc
    if not 0 <= number <= MAX_COUNT:
        raise Invalid(
            _("%(field)s lies between 0 and %(limit)d.") % {"field": FIELD_LABELS[field], "limit": MAX_COUNT},
            field=field,
        )
    return number


def _loss(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(_("The loss is an amount in 10,000 yuan."), field="direct_loss") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_LOSS:
        raise Invalid(_("The loss is an amount in 10,000 yuan."), field="direct_loss")
    return amount.quantize(Decimal("0.01"))


def incident_for(user: Any, key: Any, *, lock: bool = False) -> Incident:
    """The incident `user` sees, by number or id; else `IncidentNotFound`."""
    qs = visible_to(user, Incident)
    if lock:
        qs = qs.select_for_update(of=("self",))
    text = str(key).strip()
    lookup = {"pk": int(text)} if text.isdigit() and len(text) < 19 else {"number": text}
    try:
        return qs.get(**lookup)
    except (Incident.DoesNotExist, ValueError) as exc:
        raise IncidentNotFound from exc


def _paths(incident: Incident) -> list[str]:
    return list(IncidentGrid.objects.filter(incident=incident).values_list("path", flat=True))


def _command(actor: Any, incident: Incident) -> list[str]:
    paths = _paths(incident)
    if not commands(actor, paths):
        raise NotAllowed(
            _("Only the command centre (operators and leaders) over the affected grids does this.")
        )
    return paths


def _open(incident: Incident) -> None:
    if incident.state != IncidentState.OPEN:
        raise Conflict(_("The emergency is closed."))


def _bump(incident: Incident, **changes: Any) -> None:
    done = Incident.objects.filter(pk=incident.pk, version=incident.version, state=incident.state).update(
        version=F("version") + 1, **changes
    )
    if done != 1:
        raise Conflict(_("Somebody changed the emergency meanwhile; read it again."))
    incident.version += 1


def _event(
    incident: Incident,
    action: str,
    *,
    actor: Any,
    at: Any,
    note: str = "",
    department_id: int | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    IncidentEvent.objects.create(
        incident=incident,
        action=action,
        actor=actor,
        department_id=department_id,
        note=note,
        data=data or {},
        created_at=at,
    )
    audit.record(
        f"incident.{action}",
        actor=actor,
        target=incident,
        data={"number": incident.number, "department": department_id, **(data or {})},
        ip=ip,
    )
    outbox.publish(
        f"incident.{action}",
        {
            "incident": incident.pk,
            "number": incident.number,
            "title": incident.title,
            "kind": incident.kind,
            "level": incident.level,
            "department": department_id,
        },
        grid_l1_id=incident.grid_l1_id,
    )


def _common_ancestor(grids: list[Grid]) -> Grid:
    parts = [g.path.strip("/").split("/") for g in grids]
    common: list[str] = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        common.append(segment[0])
    return Grid.objects.get(pk=int(common[-1]))


def _grids(actor: Any, codes: Any) -> list[Grid]:
    if isinstance(codes, str):
        codes = [c for c in codes.replace(",", " ").split() if c]
    codes = [str(c).strip() for c in (codes or []) if str(c).strip()]
    if not codes:
        raise Invalid(_("Name at least one affected grid."), field="grids")
    if len(codes) > MAX_GRIDS:
        raise Invalid(_("At most %(limit)d affected grids.") % {"limit": MAX_GRIDS}, field="grids")
    found = {g.code: g for g in Grid.objects.current().filter(code__in=codes)}
    for code in codes:
        if code not in found:
            raise Invalid(_("No current grid has the code %(code)s.") % {"code": code[:40]}, field="grids")
    grids = list({g.pk: g for g in found.values()}.values())
    if not commands(actor, [g.path for g in grids]):
        raise NotAllowed(
            _(
                "Only an operator or leader of the banner or of the town holding every affected grid declares."
            ),
            field="grids",
        )
    return grids


def do_declare(
    *,
    actor: Any,
    kind: Any,
    level: Any,
    title: Any,
    description: Any,
    place: Any,
    grids: Any,
    lon: Any = None,
    lat: Any = None,
    ip: str | None = None,
) -> Incident:
    """Declare an emergency over the affected grids (codes)."""
    if not command_paths(actor):
        raise NotAllowed(_("Only an operator or leader of the banner or of a town declares an emergency."))
    kind = str(kind or "").strip()
    if kind not in IncidentKind.values:
        raise Invalid(_("Choose the kind of emergency."), field="kind")
    try:
        level_value = int(level)
    except (TypeError, ValueError):
        level_value = 0
    if level_value not in IncidentLevel.values:
        raise Invalid(_("Choose the level (I to IV)."), field="level")
    title_text = _text(title, "title", MAX_TITLE)
    description_text = _text(description, "description", MAX_TEXT)
    place_text = _text(place, "place", MAX_PLACE)
    point = gps_point(lon if lon != "" else None, lat if lat != "" else None)
    chosen = _grids(actor, grids)
    with transaction.atomic():
        now = timezone.now()
        top = _common_ancestor(chosen)
        incident = Incident.objects.create(
            number=f"tmp-{uuid.uuid4().hex[:16]}",
            kind=kind,
            level=level_value,
            title=title_text,
            description=description_text,
            place=place_text,
            lon=point[0] if point else None,
            lat=point[1] if point else None,
            grid=top,
            grid_l1_id=top.l1_id or (top.pk if top.level == 1 else None),
            declared_by=actor,
            declared_at=now,
        )
        incident.number = f"YJ{timezone.localtime(now):%Y%m%d}-{incident.pk:04d}"
        Incident.objects.filter(pk=incident.pk).update(number=incident.number)
        IncidentGrid.objects.bulk_create(
            [IncidentGrid(incident=incident, grid=g, path=g.path) for g in chosen]
        )
        _event(
            incident,
            IncidentAction.DECLARED,
            actor=actor,
            at=now,
            note=description_text,
            data={"grids": sorted(g.code for g in chosen), "kind": kind, "level": level_value},
            ip=ip,
        )
    return incident


def _departments(specs: Any) -> list[tuple[Department, str]]:
    """[(department id or code, task)] → departments with their tasks, checked."""
    if not specs:
        raise Invalid(_("Choose at least one department."), field="departments")
    if len(specs) > MAX_DEPARTMENTS:
        raise Invalid(
            _("At most %(limit)d departments at once.") % {"limit": MAX_DEPARTMENTS}, field="departments"
        )
    out: list[tuple[Department, str]] = []
    seen: set[int] = set()
    for n, (key, task) in enumerate(specs):
        text = str(key).strip()
        q = Q(pk=int(text)) if text.isdigit() and len(text) < 19 else Q(code=text)
        department = Department.objects.filter(q, active=True).first()
        if department is None:
            raise Invalid(_("No such department: %(key)s.") % {"key": text[:40]}, field=f"departments.{n}")
        if department.pk in seen:
            raise Invalid(
                _("%(department)s is named twice.") % {"department": department.label},
                field=f"departments.{n}",
            )
        seen.add(department.pk)
        out.append(
            (
                department,
                clean_text(
                    task, f"departments.{n}.task", MAX_TASK, label=FIELD_LABELS["task"], required=True
                ),
            )
        )
    return out


def do_dispatch(key: Any, *, actor: Any, departments: Any, ip: str | None = None) -> list[IncidentDispatch]:
    """Send several departments at once, each with its task; their staff are told in their inbox."""
    chosen = _departments(departments)
    with transaction.atomic():
        incident = incident_for(actor, key, lock=True)
        paths = _command(actor, incident)
        _open(incident)
        already = set(
            IncidentDispatch.objects.filter(
                incident=incident, department__in=[d for d, _t in chosen]
            ).values_list("department_id", flat=True)
        )
        for n, (department, _task) in enumerate(chosen):
            if department.pk in already:
                raise Conflict(
                    _("%(department)s is already dispatched to this emergency.")
                    % {"department": department.label},
                    field=f"departments.{n}",
                )
        now = timezone.now()
        _bump(incident)
        dispatches = IncidentDispatch.objects.bulk_create(
            [IncidentDispatch(incident=incident, department=d, task=task, sent_at=now) for d, task in chosen]
        )
        for department, task in chosen:
            _event(
                incident,
                IncidentAction.DISPATCHED,
                actor=actor,
                at=now,
                note=task,
                department_id=department.pk,
                data={"department_code": department.code},
                ip=ip,
            )
            staff = RoleAssignment.objects.filter(
                department=department, role__in=["dept_handler", "grid_guide"]
            )
            users = [
                u
                for u, role, path in staff.values_list("user_id", "role", "grid__path")
                if role == "dept_handler"
                or (path and any(p.startswith(path) or path.startswith(p) for p in paths))
            ]
            notify.to_users(
                users,
                None,
                "incident_dispatch",
                {"number": incident.number, "title": incident.title, "task": task[:200]},
                now,
            )
    return dispatches


def dispatch_for(user: Any, dispatch_id: Any) -> IncidentDispatch:
    try:
        dispatch = IncidentDispatch.objects.select_related("incident", "department").get(pk=int(dispatch_id))
    except (IncidentDispatch.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise DispatchNotFound from exc
    if not visible_to(user, Incident).filter(pk=dispatch.incident_id).exists():
        raise DispatchNotFound
    return dispatch


def _unit_step(
    dispatch_id: Any,
    *,
    actor: Any,
    action: str,
    allowed_from: tuple[str, ...],
    to: str,
    note: Any,
    note_required: bool,
    ip: str | None,
) -> IncidentDispatch:
    text = _text(note, "note", MAX_TEXT, required=note_required)
    with transaction.atomic():
        dispatch = dispatch_for(actor, dispatch_id)
        if dispatch.department_id not in unit_departments(actor):
            raise NotAllowed(_("Only the staff of the dispatched department answer its task."))
        incident = dispatch.incident
        _open(incident)
        if dispatch.state not in allowed_from:
            raise Conflict(
                _("The task is %(state)s: this step does not apply.")
                % {"state": dispatch.get_state_display()}
            )
        now = timezone.now()
        changes: dict[str, Any] = {"state": to}
        if action == IncidentAction.ACKNOWLEDGED:
            changes["acknowledged_at"] = now
        if action == IncidentAction.DONE:
            changes["done_at"] = now
        if text:
            changes["progress"] = text
        done = IncidentDispatch.objects.filter(pk=dispatch.pk, state=dispatch.state).update(**changes)
        if done != 1:
            raise Conflict(_("Somebody changed the task meanwhile; read it again."))
        _bump(incident)
        _event(incident, action, actor=actor, at=now, note=text, department_id=dispatch.department_id, ip=ip)
    dispatch.refresh_from_db()
    return dispatch


def do_acknowledge(
    dispatch_id: Any, *, actor: Any, note: Any = "", ip: str | None = None
) -> IncidentDispatch:
    """The department acknowledges its task (签收)."""
    return _unit_step(
        dispatch_id,
        actor=actor,
        action=IncidentAction.ACKNOWLEDGED,
        allowed_from=(DispatchState.SENT,),
        to=DispatchState.ACKNOWLEDGED,
        note=note,
        note_required=False,
        ip=ip,
    )


def do_progress(dispatch_id: Any, *, actor: Any, note: Any, ip: str | None = None) -> IncidentDispatch:
    """The department reports its progress on an acknowledged task."""
    return _unit_step(
        dispatch_id,
        actor=actor,
        action=IncidentAction.PROGRESS,
        allowed_from=(DispatchState.ACKNOWLEDGED,),
        to=DispatchState.ACKNOWLEDGED,
        note=note,
        note_required=True,
        ip=ip,
    )


def do_finish(dispatch_id: Any, *, actor: Any, note: Any, ip: str | None = None) -> IncidentDispatch:
    """The department marks its task done, saying what it did."""
    return _unit_step(
        dispatch_id,
        actor=actor,
        action=IncidentAction.DONE,
        allowed_from=(DispatchState.ACKNOWLEDGED,),
        to=DispatchState.DONE,
        note=note,
        note_required=True,
        ip=ip,
    )


def worker_ids(paths: list[str]) -> list[int]:
    """The grid workers (and grid heads) holding a role on a grid inside one of the subtrees at `paths`."""
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(grid__path__startswith=p)
    rows = RoleAssignment.objects.filter(q, role__in=list(WORKER_ROLES), grid__valid_to__isnull=True)
    return sorted(set(rows.values_list("user_id", flat=True)))


def do_broadcast(key: Any, *, actor: Any, message: Any, ip: str | None = None) -> int:
    """Tell every grid worker of the affected grids' subtrees (inbox). Returns how many were told."""
    text = _text(message, "message", MAX_TASK)
    with transaction.atomic():
        incident = incident_for(actor, key, lock=True)
        paths = _command(actor, incident)
        _open(incident)
        _bump(incident)
        now = timezone.now()
        users = worker_ids(paths)
        notify.to_users(
            users,
            None,
            "incident_broadcast",
            {"number": incident.number, "title": incident.title, "message": text},
            now,
        )
        _event(
            incident,
            IncidentAction.BROADCAST,
            actor=actor,
            at=now,
            note=text,
            data={"told": len(users)},
            ip=ip,
        )
    return len(users)


def do_close(
    key: Any,
    *,
    actor: Any,
    summary: Any,
    measures: Any,
    cause: Any = "",
    deaths: Any = 0,
    injuries: Any = 0,
    missing: Any = 0,
    affected_people: Any = 0,
    relocated_people: Any = 0,
    direct_loss: Any = 0,
    ip: str | None = None,
) -> Incident:
    """Close the emergency with its report (总结报告): what happened, its cause, the measures taken, casualties
    and losses."""
    report: dict[str, Any] = {
        "summary": _text(summary, "summary", MAX_TEXT),
        "cause": _text(cause, "cause", MAX_TEXT, required=False),
        "measures": _text(measures, "measures", MAX_TEXT),
        "deaths": _count(deaths, "deaths"),
        "injuries": _count(injuries, "injuries"),
        "missing": _count(missing, "missing"),
        "affected_people": _count(affected_people, "affected_people"),
        "relocated_people": _count(relocated_people, "relocated_people"),
        "direct_loss": _loss(direct_loss),
    }
    with transaction.atomic():
        incident = incident_for(actor, key, lock=True)
        _command(actor, incident)
        _open(incident)
        now = timezone.now()
        _bump(incident, state=IncidentState.CLOSED, closed_by=actor, closed_at=now, **report)
        unfinished = (
            IncidentDispatch.objects.filter(incident=incident).exclude(state=DispatchState.DONE).count()
        )
        figures = {
            k: (str(v) if isinstance(v, Decimal) else v)
            for k, v in report.items()
            if k not in ("summary", "cause", "measures")
        }
        _event(
            incident,
            IncidentAction.CLOSED,
            actor=actor,
            at=now,
            note=report["summary"],
            data={**figures, "unfinished_tasks": unfinished},
            ip=ip,
        )
    incident.refresh_from_db()
    return incident
