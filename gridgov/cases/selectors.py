"""Scoped reads of cases: every query a user can trigger starts from `visible_to(user, Case)`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.masking import mask_name, mask_phone
from gridgov.core.scoping import get_visible_or_404, visible_to

from . import text_search
from .choices import OPEN_STATES, Capacity, Queue, State
from .models import Assignment, Case, Notification
from .personal import blind_index, reporter_identity
from .scoping import GRID_READERS, covers, grid_filter, held_roles, is_county_wide, staff_roles

LIST_FIELDS = ("item", "grid", "lead_department")


def visible_cases(user: Any) -> QuerySet[Case]:
    return visible_to(user, Case)


def _unit_only(user: Any) -> set[int]:
    """The departments of a user who sees cases only as a unit's member (handler, grid guide); else empty."""
    if is_county_wide(user):
        return set()
    held = held_roles(user)
    if any(h.role in GRID_READERS for h in held):
        return set()
    return {
        h.department_id for h in held if h.role in (Role.DEPT_HANDLER, Role.GRID_GUIDE) and h.department_id
    }


def queue_q(name: str, now: datetime, departments: set[int] | None = None) -> Q:
    """The filter of a queue. For a unit's member, the sign and handling queues hold what their unit must do."""
    open_ = Q(state__in=OPEN_STATES)
    if name == Queue.TO_ACCEPT:
        return Q(state=State.REPORTED)
    if name == Queue.TO_DISPATCH:
        return Q(state=State.REGISTERED)
    if name == Queue.TO_SIGN:
        if departments:
            return Q(state__in=OPEN_STATES) & Q(
                Exists(
                    Assignment.objects.filter(
                        case=OuterRef("pk"),
                        active=True,
                        signed_at__isnull=True,
                        department_id__in=departments,
                    )
                )
            )
        return Q(state=State.DISPATCHED)
    if name == Queue.HANDLING:
        q = Q(state=State.HANDLING)
        if departments:
            q &= Q(
                Exists(
                    Assignment.objects.filter(case=OuterRef("pk"), active=True, department_id__in=departments)
                )
            )
        return q
    if name == Queue.TO_VERIFY:
        return Q(state=State.HANDLED)
    if name == Queue.DUE_SOON:
        return open_ & Q(warn_at__lte=now, due_at__gt=now)
    if name == Queue.OVERDUE:
        return open_ & Q(due_at__lte=now)
    if name == Queue.SUPERVISED:
        return open_ & Q(supervised__gt=0)
    raise ValueError(name)


def queue(user: Any, name: str, now: datetime | None = None) -> QuerySet[Case]:
    now = now or timezone.now()
    return visible_cases(user).filter(queue_q(name, now, _unit_only(user))).select_related(*LIST_FIELDS)


def queue_counts(user: Any, now: datetime | None = None) -> dict[str, int]:
    """Every queue's count in one query, and `open`: every open case of the user's."""
    now = now or timezone.now()
    departments = _unit_only(user)
    aggregates: dict[str, Any] = {
        name: Count("pk", filter=queue_q(name, now, departments)) for name in Queue.values
    }
    aggregates["open"] = Count("pk")
    base = visible_cases(user).filter(state__in=OPEN_STATES)
    if departments:
        # A unit's work is what it holds now: its active assignments (indexed), not all it ever held.
        base = base.filter(
            Exists(Assignment.objects.filter(case=OuterRef("pk"), active=True, department_id__in=departments))
        )
    return base.aggregate(**aggregates)


# How a list may be sorted: each a keyset of (field, descending); the id breaks ties and pages.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "newest": (("id", True),),
    "oldest": (("id", False),),
    # Cases whose clock runs (open, not suspended), the nearest deadline first.
    "due": (("due_at", False), ("id", False)),
}
COLOURS = ("green", "yellow", "red")


@dataclass
class CaseFilter:
    state: list[str] | None = None
    queue: str | None = None
    item: str | None = None  # item code
    module: str | None = None  # module code
    grid: str | None = None  # grid code: its subtree
    department: str | None = None  # department code (lead)
    channel: str | None = None
    number: str | None = None
    phone: str | None = None  # exact, through the blind index
    since: date | None = None
    until: date | None = None
    q: str | None = None  # text in description or address
    colour: str | None = None  # the running deadline's colour: green / yellow / red
    supervised: bool = False  # open and under supervision (督办)
    sort: str = "newest"  # a key of SORTS


def colour_q(name: str, now: datetime) -> Q:
    """The cases whose running deadline has colour `name` (the same thresholds as `colour`)."""
    if name == "red":
        return Q(state__in=OPEN_STATES, due_at__lte=now)
    if name == "yellow":
        return Q(state__in=OPEN_STATES, warn_at__lte=now, due_at__gt=now)
    if name == "green":
        return Q(state__in=OPEN_STATES, due_at__gt=now) & (Q(warn_at__isnull=True) | Q(warn_at__gt=now))
    raise ValueError(name)


def phone_search_allowed(user: Any) -> bool:
    """Searching by phone tells who reported: only operators (in their centre's grids)."""
    return any(h.role == Role.OPERATOR and h.grid_path for h in held_roles(user))


def case_list(user: Any, f: CaseFilter, now: datetime | None = None) -> QuerySet[Case]:
    """The filtered list of a user's cases, ordered by `f.sort` (newest first by default)."""
    now = now or timezone.now()
    qs = visible_cases(user)
    if f.queue:
        departments = _unit_only(user)
        qs = qs.filter(queue_q(f.queue, now, departments))
        if departments and f.queue in (Queue.DUE_SOON, Queue.OVERDUE, Queue.SUPERVISED):
            # As `queue_counts` counts them: what the unit holds now, not all it ever held.
            qs = qs.filter(
                Exists(
                    Assignment.objects.filter(case=OuterRef("pk"), active=True, department_id__in=departments)
                )
            )
    if f.state:
        qs = qs.filter(state__in=f.state)
    if f.item:
        qs = qs.filter(item__code=f.item)
    if f.module:
        qs = qs.filter(item__module__code=f.module)
    if f.grid:
        from gridgov.grids.models import Grid

        grid = visible_to(user, Grid.objects.current()).filter(code=f.grid).first()
        qs = qs.filter(grid_filter(grid.path)) if grid is not None else qs.none()
    if f.department:
        qs = qs.filter(lead_department__code=f.department)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.number:
        qs = qs.filter(number=f.number.strip())
    if f.phone:
        from .services import normalise_phone

        # Searching by phone tells who reported: only operators, only in their centre's grids.
        areas = [h.grid_path for h in held_roles(user) if h.role == Role.OPERATOR and h.grid_path]
        area_q = Q(pk__in=[])
        for path in areas:
            area_q |= grid_filter(path)
        qs = qs.filter(area_q, reporter_phone_index=blind_index(normalise_phone(f.phone, "phone")))
    tz = timezone.get_current_timezone()
    if f.since:
        qs = qs.filter(created_at__gte=datetime.combine(f.since, time.min, tz))
    if f.until and f.until < date.max:
        qs = qs.filter(created_at__lt=datetime.combine(f.until + timedelta(days=1), time.min, tz))
    if f.q:
        # On SQLite, a rare text of 3+ characters: first the trigram index's few matches (see text_search).
        matches = text_search.rare_matches(connections[qs.db], f.q)
        if matches is not None:
            qs = qs.filter(pk__in=matches)
        qs = qs.filter(Q(description__contains=f.q) | Q(address__contains=f.q))
    if f.colour:
        qs = qs.filter(colour_q(f.colour, now))
    if f.supervised:
        # `supervised > 0` first: the partial index of supervised cases (migration 0003) serves it.
        qs = qs.filter(supervised__gt=0, state__in=OPEN_STATES)
    keys = SORTS.get(f.sort) or SORTS["newest"]
    if keys[0][0] == "due_at":
        qs = qs.filter(due_at__isnull=False)
    return qs.select_related(*LIST_FIELDS).order_by(*(f"-{k}" if desc else k for k, desc in keys))


@dataclass
class Page:
    """One page of a keyset-paged list: its rows, and the cursors of the pages after and before it (None when
    there is none). Nothing counts the whole list."""

    rows: list[Any]
    next: str | None
    previous: str | None


def _cursor(row: Any, keys: tuple[tuple[str, bool], ...]) -> str:
    parts = []
    for field, _desc in keys:
        value = getattr(row, field)
        parts.append(value.isoformat() if isinstance(value, datetime) else str(value))
    return "~".join(parts)


def _parse_cursor(raw: str, keys: tuple[tuple[str, bool], ...]) -> list[Any] | None:
    parts = raw.split("~")
    if len(parts) != len(keys):
        return None
    values: list[Any] = []
    try:
        for (field, _desc), part in zip(keys, parts, strict=True):
            if field == "id":
                values.append(int(part))
            else:
                value = datetime.fromisoformat(part)
                if value.tzinfo is None:
                    return None
                values.append(value)
    except ValueError:
        return None
    return values


def _beyond(keys: tuple[tuple[str, bool], ...], values: list[Any], forward: bool) -> Q:
    """Rows strictly after (forward) or before the cursor in the order of `keys`: (a, b) > (x, y) spelled
    as a > x OR (a = x AND b > y), which the database answers from the sort's index."""
    q = Q(pk__in=[])
    for i, (field, desc) in enumerate(keys):
        smaller = desc == forward  # descending and forward, or ascending and backward: smaller values
        step = Q(**{f"{field}__{'lt' if smaller else 'gt'}": values[i]})
        for f2, v2 in zip([k for k, _ in keys[:i]], values[:i], strict=True):
            step &= Q(**{f2: v2})
        q |= step
    return q


def keyset_page(
    qs: QuerySet[Any], sort: str, *, after: str | None = None, before: str | None = None, limit: int = 50
) -> Page:
    """A page of `qs` in the order of SORTS[sort]: the rows after cursor `after` (or before `before`)."""
    keys = SORTS.get(sort) or SORTS["newest"]
    order = [f"-{k}" if desc else k for k, desc in keys]
    reverse = [k if desc else f"-{k}" for k, desc in keys]
    back = _parse_cursor(before, keys) if before else None
    if back is not None:
        rows = list(qs.filter(_beyond(keys, back, False)).order_by(*reverse)[: limit + 1])
        more_before = len(rows) > limit
        rows = rows[:limit][::-1]
        return Page(
            rows=rows,
            next=_cursor(rows[-1], keys) if rows else None,
            previous=_cursor(rows[0], keys) if rows and more_before else None,
        )
    values = _parse_cursor(after, keys) if after else None
    if values is not None:
        qs = qs.filter(_beyond(keys, values, True))
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        rows=rows,
        next=_cursor(rows[-1], keys) if rows and more else None,
        previous=_cursor(rows[0], keys) if rows and values is not None else None,
    )


def get_case(user: Any, number: str) -> Case:
    """One case the user may see, or 404."""
    return get_visible_or_404(user, Case.objects.select_related(*LIST_FIELDS, "reporter"), number=number)


def colour(case: Case, now: datetime | None = None) -> str:
    """green / yellow (80 % of the limit) / red (past it); empty when no clock runs."""
    if case.due_at is None:
        return ""
    now = now or timezone.now()
    if now >= case.due_at:
        return "red"
    if case.warn_at is not None and now >= case.warn_at:
        return "yellow"
    return "green"


def _covering_roles(user: Any, case: Case) -> set[str]:
    """The user's roles whose grid holds the case: a role elsewhere opens nothing here."""
    return {h.role for h in held_roles(user) if covers(h, case, case.grid.path)}


def reporter_visible(user: Any, case: Case) -> bool:
    """Who may see (masked) who reported: operators whose centre holds the case; its grid's staff and level-2
    head unless the reporter asked for confidentiality; the reporter. Departments, guides, leaders and
    administrators never see the reporter."""
    if case.reporter_id is not None and case.reporter_id == user.pk:
        return True
    roles = _covering_roles(user, case)
    if Role.OPERATOR in roles:
        return True
    return not case.confidential and bool(
        roles & {Role.INFO_OFFICER, Role.GRID_SPECIALIST, Role.GRID_HEAD_L2}
    )


def may_unmask(user: Any, case: Case) -> bool:
    """Only an operator whose centre holds the case sees the reporter in full (to call them back)."""
    return Role.OPERATOR in _covering_roles(user, case)


def shown_name(user: Any, case: Case, person: Any, capacity: str, action: str = "") -> str | None:
    """How a person acting on a case is named to `user`: staff by name; a resident (the reporter, a
    supporter) masked, and only to those who may see the reporter; oneself always."""
    if person is None:
        return None
    name = person.full_name or person.username
    if person.pk == user.pk:
        return name
    public = (action == "me_too" and capacity != Capacity.OPERATOR) or (
        capacity == Capacity.REPORTER and case.reporter_kind != "staff"
    )
    if not public:
        return name if staff_roles(user) else None
    return mask_name(name) if reporter_visible(user, case) else None


def reporter_of(user: Any, case: Case) -> dict[str, Any] | None:
    """The reporter as `user` may see them (masked), or None."""
    if not reporter_visible(user, case):
        return None
    name, phone = reporter_identity(case)
    return {
        "kind": case.reporter_kind,
        "name": mask_name(name) if name else "",
        "phone": mask_phone(phone) if phone else "",
    }


def inbox(user: Any, *, unread: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).select_related("case")
    return qs.filter(read_at__isnull=True) if unread else qs
