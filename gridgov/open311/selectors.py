"""Public reads of the GeoReport v2 server: the service list and definitions from the responsibility list, and the
cases as Open311 requests and updates.

What is public here is what anyone may read without an account, so nothing a reporter told about themselves
leaves: no name, phone, email or account. Cases of the private items (the modules in
`settings.OPEN311_PRIVATE_MODULES`, by default 07 矛盾信访: family and neighbour disputes happen in homes) show
neither their description nor their address, and their point is moved to the centre of a cell of
`COARSE_DEGREES` (0.002°: about 220 m north-south, 170 m east-west at Dalad's latitude)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language, gettext

from gridgov.cases.choices import CLOSED_STATES, OPEN_STATES, Action, EvidencePhase, State, state_kind
from gridgov.cases.models import Case, CaseEvent, Evidence
from gridgov.catalog.models import LIST_TYPES, Department, Item, ItemQuestion, Module
from gridgov.core.masking import scrub

from .models import ServiceRequest

COARSE_DEGREES = 0.002
MAX_REQUESTS = 1000  # the spec's cap of one answer
WINDOW = timedelta(days=90)  # the spec's default and longest window
UPDATES_WINDOW = timedelta(days=1)  # servicerequestupdates without dates: the last day


def private_modules() -> tuple[str, ...]:
    return tuple(getattr(settings, "OPEN311_PRIVATE_MODULES", ("07",)))


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def w3c(at: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """A W3C datetime with its offset (+08:00 in China), to the second."""
    if at is None:
        return None
    return at.astimezone(tz or local_tz()).isoformat(timespec="seconds")


def coarse(value: float | None) -> float | None:
    """A coordinate moved to the centre of its cell of COARSE_DEGREES."""
    if value is None:
        return None
    return round(math.floor(value / COARSE_DEGREES) * COARSE_DEGREES + COARSE_DEGREES / 2, 4)


def _english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


def _label(name: str, name_en: str) -> str:
    return name_en if _english() and name_en else name


# ------------------------------------------------------------------------------------------------ services


def services() -> list[dict[str, Any]]:
    """Every active item as a service, its module as its group; `metadata` where it asks questions."""
    asking = set(ItemQuestion.objects.values_list("item_id", flat=True).distinct())
    modules = {m.pk: m for m in Module.objects.all()}
    out = []
    for item in Item.objects.filter(active=True).order_by("code"):
        words = [w.strip() for w in item.keywords.replace("，", ",").split(",") if w.strip()]
        words += [w for w in item.pinyin.split() if w]
        module = modules[item.module_id]
        out.append(
            {
                "service_code": item.code,
                "service_name": item.label,
                "description": item.filing_condition or item.label,
                "metadata": item.pk in asking,
                "type": "realtime",
                "keywords": ",".join(words),
                "group": module.label,
            }
        )
    return out


def active_item(code: str) -> Item | None:
    return Item.objects.filter(code=code, active=True).select_related("module").first()


def questions(item: Item) -> list[ItemQuestion]:
    return list(ItemQuestion.objects.filter(item=item).order_by("order", "code"))


def definition(item: Item) -> dict[str, Any]:
    attributes = []
    for q in questions(item):
        attribute: dict[str, Any] = {
            "variable": q.variable,
            "code": q.code,
            "datatype": q.datatype,
            "required": q.required,
            "datatype_description": q.hint_label or None,
            "order": q.order,
            "description": q.label,
        }
        if q.datatype in LIST_TYPES:
            attribute["values"] = [{"key": k, "name": n} for k, n in q.choices()]
        attributes.append(attribute)
    return {"service_code": item.code, "attributes": attributes}


# ------------------------------------------------------------------------------------------------ requests


@dataclass
class RequestQuery:
    """The arguments of GET requests, checked (views.py parses them)."""

    ids: list[str] | None = None  # service_request_id: overrides everything else
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = MAX_REQUESTS
    extensions: bool = False


COLUMNS = (
    "id", "number", "state", "item_id", "description", "lead_department_id", "routed_department_id",
    "created_at", "updated_at", "closed_at", "due_at", "address", "lon", "lat", "confidential",
    "open311_request__media_url", "open311_request__address_id",
)  # fmt: skip


def _window(q: RequestQuery, now: datetime) -> tuple[datetime, datetime]:
    if q.start is None and q.end is None:
        return now - WINDOW, now
    if q.start is None:
        assert q.end is not None
        return q.end - WINDOW, q.end
    if q.end is None:
        return q.start, min(q.start + WINDOW, max(now, q.start))
    return q.start, q.end


def find_requests(q: RequestQuery, *, base_url: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The requests `q` asks for, newest first, at most one page (of at most MAX_REQUESTS)."""
    qs = Case.objects.filter(item__isnull=False)
    if q.ids is not None:
        qs = qs.filter(number__in=q.ids[:MAX_REQUESTS]).order_by("-created_at", "-id")
        rows = list(qs.values_list(*COLUMNS))
    else:
        start, end = _window(q, now or timezone.now())
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        if q.service_codes:
            qs = qs.filter(item__code__in=q.service_codes)
        if q.statuses:
            states: tuple[str, ...] = ()
            if "open" in q.statuses:
                states += OPEN_STATES
            if "closed" in q.statuses:
                states += CLOSED_STATES
            qs = qs.filter(state__in=states)
        if q.updated_after is not None:
            qs = qs.filter(updated_at__gte=q.updated_after)
        if q.updated_before is not None:
            qs = qs.filter(updated_at__lte=q.updated_before)
        offset = (q.page - 1) * q.page_size
        rows = list(qs.order_by("-created_at", "-id").values_list(*COLUMNS)[offset : offset + q.page_size])
    return _shape(rows, base_url=base_url, extensions=q.extensions)


def one_request(number: str, *, base_url: str) -> list[dict[str, Any]]:
    rows = list(Case.objects.filter(item__isnull=False, number=number).values_list(*COLUMNS))
    return _shape(rows, base_url=base_url, extensions=True, notes=True)


def _items() -> dict[int, tuple[str, str, bool]]:
    """id → (code, name in the user's language, private?) of every item (a few hundred rows)."""
    private = private_modules()
    english = _english()
    return {
        pk: (code, (english and name_en) or name, module_code in private)
        for pk, code, name, name_en, module_code in Item.objects.values_list(
            "id", "code", "name", "name_en", "module__code"
        )
    }


def _departments() -> dict[int, str]:
    english = _english()
    return {
        pk: (english and en) or name
        for pk, name, en in Department.objects.values_list("id", "name", "name_en")
    }


def _id_list(case_ids: Sequence[int]) -> str:
    """Ids as SQL text: the ORM compiles a parameter per id, several times slower than the query for 1,000 ids.
    They are integers read from the database."""
    return ",".join(str(int(i)) for i in case_ids)


def _table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _first_photos(case_ids: Sequence[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    table = connection.ops.quote_name(Evidence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT case_id, MIN(id) FROM {table} WHERE phase = %s AND case_id IN ({_id_list(case_ids)}) "  # noqa: S608
            "GROUP BY case_id",
            [EvidencePhase.REPORT],
        )
        return dict(cursor.fetchall())


def _events(case_ids: Sequence[int]) -> dict[int, list[tuple[str, str, str, datetime]]]:
    events: dict[int, list[tuple[str, str, str, datetime]]] = {}
    rows = CaseEvent.objects.extra(where=[f"{_table(CaseEvent)}.case_id IN ({_id_list(case_ids)})"])  # noqa: S610 - integers
    for case_id, action, to_state, note, at in rows.order_by("case_id", "seq").values_list(
        "case_id", "action", "to_state", "note", "created_at"
    ):
        events.setdefault(case_id, []).append((action, to_state, note if action in NOTE_ACTIONS else "", at))
    return events


NOTE_ACTIONS = (Action.FEEDBACK, Action.VERIFY_PASS, Action.VERIFY_FAIL, Action.REJECT, Action.SELF_HANDLE)


def _shape(
    rows: list[tuple[Any, ...]], *, base_url: str, extensions: bool, notes: bool = False
) -> list[dict[str, Any]]:
    items = _items()
    departments = _departments()
    tz = local_tz()
    photos = _first_photos([r[0] for r in rows])
    events: dict[int, list[tuple[str, str, str, datetime]]] = {}
    answers: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
    if extensions and rows:
        ids = [r[0] for r in rows]
        for case_id, action, to_state, note, at in (
            CaseEvent.objects.filter(case_id__in=ids)
            .order_by("case_id", "seq")
            .values_list("case_id", "action", "to_state", "note", "created_at")
        ):
            events.setdefault(case_id, []).append(
                (action, to_state, note if action in NOTE_ACTIONS else "", at)
            )
        answers = _answers(ids)
    out = []
    for (
        pk, number, state, item_id, description, lead_id, routed_id, created, updated, closed, due, address,
        lon, lat, _confidential, media_url, address_id,
    ) in rows:  # fmt: skip
        code, service_name, private = items[item_id]
        photo = photos.get(pk)
        kind = state_kind(state)
        history = events.get(pk, [])
        status_notes = next((n for _, _, n, _ in reversed(history) if n), None) if history else None
        request: dict[str, Any] = {
            "service_request_id": number,
            "status": kind,
            "status_notes": None if private or not status_notes else scrub(status_notes),
            "service_name": service_name,
            "service_code": code,
            "description": None if private else scrub(description),
            "agency_responsible": departments.get(lead_id or routed_id or 0),
            "service_notice": None,
            "requested_datetime": w3c(created, tz),
            "updated_datetime": w3c(closed if kind == "closed" and closed else updated, tz),
            "expected_datetime": w3c(due, tz) if kind == "open" and due else None,
            "address": None if private else (address or None),
            "address_id": None if private else (address_id or None),
            "zipcode": None,
            "lat": coarse(lat) if private else lat,
            "long": coarse(lon) if private else lon,
            "media_url": None if private else (f"{base_url}media/{photo}" if photo else media_url or None),
        }
        if extensions:
            given, labels = answers.get(pk, ({}, {}))
            request["attributes"] = [] if private else _answer_list(given, labels)
            request["notes"] = [
                {
                    "datetime": w3c(at, tz),
                    "description": str(Action(action).label) if action in Action.values else action,
                    "type": extended_status(action, to_state),
                }
                for action, to_state, _, at in history
            ]
            request["extended_attributes"] = {"state": state, "state_label": str(State(state).label)}
        out.append(request)
    return out


def _answers(case_ids: Sequence[int]) -> dict[int, tuple[dict[str, Any], dict[str, str]]]:
    where = f"{_table(ServiceRequest)}.case_id IN ({_id_list(case_ids)})"
    found = ServiceRequest.objects.extra(where=[where])  # noqa: S610 - integers
    rows = list(found.values_list("case_id", "case__item_id", "attributes"))
    labels: dict[int, dict[str, str]] = {}
    for q in ItemQuestion.objects.filter(item_id__in={r[1] for r in rows if r[2]}):
        labels.setdefault(q.item_id, {})[q.code] = q.label
    return {case_id: (given or {}, labels.get(item_id, {})) for case_id, item_id, given in rows}


def _answer_list(given: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for code, value in given.items():
        label = labels.get(code, code)
        out.append(
            {
                "label": label,
                "name": label,
                "value": ",".join(value) if isinstance(value, list) else str(value),
                "code": code,
            }
        )
    return out


def token_request(token: str) -> dict[str, Any] | None:
    found = ServiceRequest.objects.filter(token=token).values_list("case__number", "token").first()
    if found is None:
        return None
    return {"service_request_id": found[0], "token": found[1]}


# ------------------------------------------------------------------------------------------------ updates

# FixMyStreet's extended statuses of each workflow step (standards.md §A.9): by action first, then by state.
STATUS_OF_ACTION: dict[str, str] = {
    Action.RETURN: "internal_referral",
    Action.REASSIGN: "internal_referral",
    Action.ESCALATE: "internal_referral",
    Action.VERIFY_FAIL: "reopen",
    Action.REQUEST_EXTENSION: "planned",
    Action.APPROVE_EXTENSION: "planned",
    Action.MERGE: "duplicate",
    Action.REJECT: "no_further_action",
}
STATUS_OF_STATE: dict[str, str] = {
    State.REPORTED: "for_triage",
    State.REGISTERED: "open",
    State.DISPATCHED: "in_progress",
    State.HANDLING: "in_progress",
    State.HANDLED: "fixed",
    State.SUSPENDED: "action_scheduled",
    State.CLOSED: "closed",
    State.MERGED: "duplicate",
    State.REJECTED: "no_further_action",
}
# The steps published as updates (comments, "me too", supervision and ratings are not the request's status).
UPDATE_ACTIONS: tuple[str, ...] = tuple(
    a for a in Action.values if a not in (Action.COMMENT, Action.ME_TOO, Action.SUPERVISE, Action.EVALUATE)
)


def extended_status(action: str, to_state: str) -> str:
    return STATUS_OF_ACTION.get(action) or STATUS_OF_STATE.get(to_state, "unchanged")


def updates(
    *,
    start: datetime | None,
    end: datetime | None,
    numbers: Iterable[str] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every workflow step in the window as a FixMyStreet `request_update`, oldest first, at most MAX_REQUESTS."""
    now = now or timezone.now()
    if start is None and end is None:
        start, end = now - UPDATES_WINDOW, now
    elif start is None:
        assert end is not None
        start = end - WINDOW
    elif end is None:
        end = now
    qs = CaseEvent.objects.filter(
        action__in=UPDATE_ACTIONS, created_at__gte=start, created_at__lte=end, case__item__isnull=False
    )
    if numbers:
        qs = qs.filter(case__number__in=list(numbers))
    private = private_modules()
    tz = local_tz()
    out = []
    for pk, number, action, to_state, note, at, module in qs.order_by("created_at", "id").values_list(
        "id", "case__number", "action", "to_state", "note", "created_at", "case__item__module__code"
    )[:MAX_REQUESTS]:
        label = str(Action(action).label) if action in Action.values else action
        shown = note if action in NOTE_ACTIONS and note and module not in private else ""
        out.append(
            {
                "update_id": str(pk),
                "service_request_id": number,
                "status": extended_status(action, to_state),
                "updated_datetime": w3c(at, tz),
                "description": f"{label}: {scrub(shown)}" if shown else label,
                "media_url": "",
                "external_status_code": action,
            }
        )
    return out


def notice(item: Item) -> str:
    return gettext(
        "Received. The %(item)s is handled by the responsible department within its time limit."
    ) % {"item": item.label}
