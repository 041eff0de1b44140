"""The only code that changes mediation: disputes received (directly or from a case of the disputes module),
their parties, the committee and mediators assigned, sessions, the outcome and its agreement, follow-up visits,
referral up the ladder (grid → village → town) and hand-over to the judicial office, a court…

Each `do_*` is one durable transaction: the compare-and-set update of the dispute (on its version and state),
its `DisputeEvent` on the timeline and the hash-chained audit record commit together, or nothing does. Bad input
raises `Invalid` naming the field and changes nothing; a dispute the actor may not see does not exist
(`DisputeNotFound`, 404); one they see but may not work on is `NotAllowed`; a step the state does not allow is
`WrongState` (a `Conflict`, 409). Personal data (ID numbers, phones) is encrypted with its blind index and kept
off the audit record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from gridgov.cases import notify
from gridgov.cases.choices import Action as CaseAction
from gridgov.cases.choices import State as CaseState
from gridgov.cases.errors import CaseNotFound
from gridgov.cases.models import Case
from gridgov.cases.services import Step, do_transition, gps_accuracy, gps_point, normalise_phone
from gridgov.core import audit
from gridgov.core.choices import label
from gridgov.core.errors import clean_text
from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.personal import ID_NUMBER, PHONE, blind_index, encrypt_text
from gridgov.core.schemas import MAX_ID
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid
from gridgov.registry.codes import DocumentKind
from gridgov.registry.models import Person
from gridgov.registry.services import document_index
from gridgov.registry.validators import check_id_number

from .choices import (
    OPEN_STATES,
    OUTCOME_STATE,
    DisputeKind,
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Language,
    Outcome,
    PartyRole,
    RiskLevel,
)
from .errors import DisputeNotFound, FollowUpNotFound, Invalid, NotAllowed, PartyNotFound, WrongState
from .models import Agreement, Committee, Dispute, DisputeEvent, FollowUp, Mediator, Party, Session
from .scoping import acts_in, may_act
from .selectors import ancestor_ids, nearest_committee

# A phone's or a PC's clock may run a little ahead of the server's.
CLOCK_SLACK = timedelta(minutes=5)
MAX_TITLE = 100
MAX_DESCRIPTION = 4000
MAX_TEXT = 4000
MAX_NOTE = 2000
MAX_NAME = 50
MAX_ADDRESS = 200
MAX_PLACE = 200
MAX_OTHERS = 300
MAX_PARTIES = 50
MAX_MEDIATORS = 20
MAX_AMOUNT = Decimal("999999999999.99")
DEFAULT_FOLLOW_UP_DAYS = (7, 30)

# Items of the disputes module (07 矛盾信访) and the kind of dispute each one usually is.
DISPUTES_MODULE = "07"
KIND_OF_ITEM: dict[str, str] = {
    "072001": DisputeKind.NEIGHBOURS,
    "072002": DisputeKind.FAMILY,
    "072003": DisputeKind.FAMILY,
    "072004": DisputeKind.LAND,
    "072005": DisputeKind.LAND,
    "072006": DisputeKind.WAGES,
    "072007": DisputeKind.DAMAGE,
    "072008": DisputeKind.CONTRACT,
}

FIELD_LABELS: dict[str, Any] = {
    "title": _("Title"),
    "description": _("Description"),
    "address": _("Where it happened"),
    "name": pgettext_lazy("person", "Name"),
    "note": _("Note"),
    "place": _("Place of the session"),
    "others_present": _("Others present"),
    "notes": _("Notes"),
    "next_steps": _("Next steps"),
    "terms": _("Terms"),
    "performance_method": _("How it is performed"),
    "reason": _("Reason for referring up"),
    "failure": _("Why no agreement was reached"),
}


def follow_up_days() -> tuple[int, ...]:
    """Days after signing on which the follow-up visits (回访) fall: settings.MEDIATION_FOLLOW_UP_DAYS."""
    days = getattr(settings, "MEDIATION_FOLLOW_UP_DAYS", DEFAULT_FOLLOW_UP_DAYS)
    return tuple(sorted({int(d) for d in days if int(d) >= 0}))


# ---------------------------------------------------------------------------------------------- input


def _text(
    value: Any, field: str, limit: int, *, required: bool = False, label_field: str | None = None
) -> str:
    return clean_text(
        value, field, limit, label=FIELD_LABELS.get(label_field or field, field), required=required
    )


def _choice(value: Any, choices: Any, field: str, message: Any) -> str:
    text = str(value or "").strip()
    if text not in choices.values:
        raise Invalid(message, field=field)
    return text


def _moment(value: Any, field: str) -> datetime:
    """A time, ISO 8601; without an offset it is read as local (Asia/Shanghai) time."""
    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value or "").strip())
        except ValueError:
            moment = None
    if moment is None:
        raise Invalid(_("Give the time as ISO 8601, for example 2026-11-25T09:30:00+08:00."), field=field)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _day(value: Any, field: str) -> dt.date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        day = parse_date(str(value or "").strip())
    except ValueError:
        day = None
    if day is None:
        raise Invalid(_("Give the date as YYYY-MM-DD, for example 2026-11-25."), field=field)
    return day


def _amount(value: Any, field: str) -> Decimal | None:
    """An amount in yuan (at most two decimals, not negative), or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise Invalid(_("Give the amount in yuan, as a number such as 1200.50."), field=field)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise Invalid(_("Give the amount in yuan, as a number such as 1200.50."), field=field) from exc
    if not amount.is_finite():
        raise Invalid(_("Give the amount in yuan, as a number such as 1200.50."), field=field)
    if amount < 0:
        raise Invalid(_("An amount cannot be negative."), field=field)
    if amount > MAX_AMOUNT:
        raise Invalid(_("This amount is too large."), field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(_("Give the amount in yuan with at most two decimals (fen)."), field=field)
    return amount.quantize(Decimal("0.01"))


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + CLOCK_SLACK:
        raise Invalid(_("This time lies in the future."), field=field)


def _id(value: Any, field: str, message: Any) -> int:
    """A database id from a client (an int, or digits)."""
    if hasattr(value, "pk"):
        value = value.pk
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else -1
    except (TypeError, ValueError):
        number = -1
    if not 0 < number <= MAX_ID:
        raise Invalid(message, field=field)
    return number


def _ids(values: Any, field: str, message: Any, limit: int) -> list[int]:
    if values is None:
        return []
    if isinstance(values, str | bytes | int) or hasattr(values, "pk"):
        values = [values]
    out = list(dict.fromkeys(_id(v, field, message) for v in values))
    if len(out) > limit:
        raise Invalid(_("Too many: at most %(limit)d.") % {"limit": limit}, field=field)
    return out


def _local(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i") if moment else ""


# ---------------------------------------------------------------------------------------------- parties


@dataclass
class PartyInput:
    """A party as a form or the API gives it: a registry person (`person`, an id) where known, the ID number
    (GB 11643) and phone in plain text (they are checked, encrypted and masked here)."""

    role: str = PartyRole.APPLICANT
    name: str = ""
    person: int | None = None
    id_number: str = ""
    phone: str = ""
    address: str = ""
    note: str = ""

    @classmethod
    def of(cls, value: PartyInput | dict[str, Any], field: str = "parties") -> PartyInput:
        if isinstance(value, PartyInput):
            return value
        if not isinstance(value, dict):
            raise Invalid(_("A party is given by its role, name and details."), field=field)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise Invalid(
                _("Unknown detail of a party: %(name)s.") % {"name": ", ".join(unknown)}, field=field
            )
        return cls(**value)


def _clean_party(data: PartyInput, actor: Any, prefix: str = "") -> dict[str, Any]:
    """The fields of a party row, checked (Invalid naming `prefix` + the field, e.g. `parties.0.id_number`)."""
    role = _choice(
        data.role,
        PartyRole,
        f"{prefix}role",
        _("Say whether the party applies, responds or is a third party."),
    )
    person = None
    if data.person not in (None, ""):
        person_id = _id(data.person, f"{prefix}person", _("No such person in the registry."))
        person = (
            visible_to(actor, Person)
            .filter(pk=person_id)
            .only("id", "name", "document_kind", "document_index")
            .first()
        )
        if person is None:
            raise Invalid(_("No such person in the registry."), field=f"{prefix}person")
    name = _text(data.name, f"{prefix}name", MAX_NAME, label_field="name") or (person.name if person else "")
    if not name:
        raise Invalid(_("%(field)s is required.") % {"field": FIELD_LABELS["name"]}, field=f"{prefix}name")
    number = ""
    if str(data.id_number or "").strip():
        try:
            number = check_id_number(str(data.id_number))
        except ValidationError as exc:
            raise Invalid(" ".join(str(m) for m in exc.messages), field=f"{prefix}id_number") from exc
    index = document_index(DocumentKind.ID_CARD, number) if number else ""
    if person is not None and index and person.document_index and person.document_index != index:
        raise Invalid(
            _("The ID number does not match the registry's record of this person."),
            field=f"{prefix}id_number",
        )
    if person is None and index:
        # Found in the registry by the ID number (its master index).
        person = Person.objects.filter(document_index=index).only("id").first()
    phone = phone_fields(str(data.phone or ""), f"{prefix}phone")
    return {
        "role": role,
        "name": name,
        "person": person,
        "id_number_enc": encrypt_text(number, ID_NUMBER),
        "id_number_index": index,
        "id_number_masked": mask_id_number(number) if number else "",
        **phone,
        "address": _text(data.address, f"{prefix}address", MAX_ADDRESS, label_field="address"),
        "note": _text(data.note, f"{prefix}note", MAX_NOTE, label_field="note"),
    }


def _clean_parties(parties: Iterable[PartyInput | dict[str, Any]] | None, actor: Any) -> list[dict[str, Any]]:
    given = list(parties or [])
    if len(given) > MAX_PARTIES:
        raise Invalid(_("Too many: at most %(limit)d.") % {"limit": MAX_PARTIES}, field="parties")
    return [
        _clean_party(PartyInput.of(p, f"parties.{n}"), actor, f"parties.{n}.") for n, p in enumerate(given)
    ]


def phone_fields(raw: str, field: str = "phone") -> dict[str, Any]:
    """The stored form of a phone (a mediator's, a party's): encrypted, its blind index and masked; blank stays
    blank. A bad number is Invalid naming `field`."""
    phone = normalise_phone(raw, field) if str(raw or "").strip() else ""
    return {
        "phone_enc": encrypt_text(phone, PHONE),
        "phone_index": blind_index(phone) if phone else "",
        "phone_masked": mask_phone(phone) if phone else "",
    }


# ---------------------------------------------------------------------------------------------- dispute rows


def next_number(now: datetime) -> str:
    """`T20261126-0012` (调): the local day and its sequence, short enough to read aloud on the phone. The row
    lock of the counter serialises concurrent intakes of one day without a gap or a repeat (as cases do)."""
    day = timezone.localtime(now).date()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mediation_disputecounter (day, last) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = mediation_disputecounter.last + 1 RETURNING last",
            [day],
        )
        (seq,) = cursor.fetchone()
    return f"T{day:%Y%m%d}-{seq:04d}"


def _load(actor: Any, dispute: Dispute | int | str) -> Dispute:
    """The dispute as it is now, if the actor sees it (else DisputeNotFound) and works on it (else NotAllowed)."""
    if isinstance(dispute, Dispute):
        key: Any = {"pk": dispute.pk}
    elif isinstance(dispute, int) or (isinstance(dispute, str) and dispute.strip().isdigit()):
        key = {"pk": int(dispute)}
    else:
        key = {"number": str(dispute).strip().upper()}
    found = (
        visible_to(actor, Dispute)
        .select_related("grid", "committee")
        .defer("grid__geometry")
        .filter(**key)
        .first()
    )
    if found is None:
        raise DisputeNotFound
    if not may_act(actor, found, found.grid.path):
        raise NotAllowed(_("You may read dispute %(number)s but not work on it.") % {"number": found.number})
    return found


def _require_state(dispute: Dispute, states: Sequence[str], step: Any) -> None:
    if dispute.state not in states:
        raise WrongState(
            _("Dispute %(number)s is %(state)s: “%(step)s” does not apply to it now.")
            % {"number": dispute.number, "state": label(DisputeState, dispute.state), "step": step}
        )


def _bump(dispute: Dispute, now: datetime, **changes: Any) -> None:
    """Compare-and-set: apply `changes` only if nobody changed the dispute (its version and state) since it
    was read."""
    updated = Dispute.objects.filter(pk=dispute.pk, version=dispute.version, state=dispute.state).update(
        version=F("version") + 1, updated_at=now, **changes
    )
    if updated != 1:
        raise WrongState(
            _("Somebody changed dispute %(number)s meanwhile: look at it again.") % {"number": dispute.number}
        )
    dispute.version += 1
    dispute.updated_at = now
    for name, value in changes.items():
        setattr(dispute, name, value)


def _event(
    dispute: Dispute,
    action: str,
    *,
    actor: Any,
    from_state: str,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    audit_action: str,
    audit_data: dict[str, Any] | None = None,
) -> DisputeEvent:
    """The step on the dispute's timeline and its audit record, in the current transaction."""
    event = DisputeEvent.objects.create(
        dispute=dispute,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=dispute.state,
        level=dispute.level,
        at=now,
        note=note,
        data=data or {},
    )
    audit.record(
        audit_action,
        actor=actor,
        target=dispute,
        data={
            "number": dispute.number,
            "from": from_state,
            "to": dispute.state,
            **(audit_data or data or {}),
        },
        ip=ip,
    )
    return event


def _grid(value: Any, actor: Any) -> Grid:
    """A current level-3 grid (a Grid, its id or its code) where the actor works on disputes."""
    if isinstance(value, Grid):
        grid: Grid | None = value
    elif value in (None, ""):
        raise Invalid(_("Say in which grid the dispute arose."), field="grid")
    else:
        text = str(value).strip()
        qs = Grid.objects.current().defer("geometry")
        grid = qs.filter(code=text).first()
        if grid is None and text.isdigit() and int(text) <= MAX_ID:
            grid = qs.filter(pk=int(text)).first()
    if grid is None or grid.valid_to is not None:
        raise Invalid(_("No such grid."), field="grid")
    if grid.level != 3:
        raise Invalid(_("A dispute is received in a level-3 grid (网格), where it arose."), field="grid")
    if not acts_in(actor, grid.path):
        raise Invalid(_("You do not receive disputes in this grid."), field="grid")
    return grid


def _save_party(dispute: Dispute, values: dict[str, Any], now: datetime) -> Party:
    party = Party(dispute=dispute, created_at=now, **values)
    party.save()
    return party


def _party_data(party: Party) -> dict[str, Any]:
    """What the timeline and the audit keep of a party: no name, number or phone."""
    return {"party": party.pk, "role": party.role, "registry": party.person_id is not None}


# The steps a dispute takes in each state (what the workbench shows as buttons; the services decide).
STEPS_IN: dict[str, tuple[str, ...]] = {
    DisputeState.RECEIVED: ("add_party", "assign", "refer_up", "hand_over"),
    DisputeState.ASSIGNED: ("add_party", "assign", "session", "refer_up", "hand_over"),
    DisputeState.MEDIATING: ("add_party", "assign", "session", "outcome", "refer_up", "hand_over"),
    DisputeState.SETTLED: ("follow_up",),
    DisputeState.PARTIAL: ("follow_up", "hand_over"),
    DisputeState.FAILED: ("refer_up", "hand_over"),
    DisputeState.HANDED_OVER: ("follow_up",),
}


def allowed_steps(user: Any, dispute: Dispute) -> list[str]:
    """The steps `user` may take on `dispute` (which they see) now: none for those who only read it. "refer_up"
    only below the town; "follow_up" only with a visit still to make. At most two queries."""
    if not may_act(user, dispute):
        return []
    steps = list(STEPS_IN.get(dispute.state, ()))
    if dispute.level <= 1 and "refer_up" in steps:
        steps.remove("refer_up")
    if "follow_up" in steps and not FollowUp.objects.filter(dispute=dispute, done_at__isnull=True).exists():
        steps.remove("follow_up")
    return steps


# ---------------------------------------------------------------------------------------------- intake


def do_receive_dispute(
    *,
    actor: Any,
    kind: str,
    title: str,
    description: str,
    grid: Grid | int | str,
    amount: Any = None,
    risk: str = RiskLevel.LOW,
    language: str = Language.ZH,
    parties: Iterable[PartyInput | dict[str, Any]] | None = None,
    received_at: Any = None,
    address: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Receive a dispute directly (a grid worker, a mediator, a head or an operator where they work): it is
    handled first at the grid level. `received_at` defaults to now and cannot lie in the future."""
    now = now or timezone.now()
    values = _clean_dispute(
        actor=actor,
        kind=kind,
        title=title,
        description=description,
        amount=amount,
        risk=risk,
        language=language,
        address=address,
    )
    the_grid = _grid(grid, actor)
    at = now if received_at in (None, "") else _moment(received_at, "received_at")
    _not_in_future(at, now, "received_at")
    clean = _clean_parties(parties, actor)
    with transaction.atomic(durable=not connection.in_atomic_block):
        dispute = _new_dispute(values, the_grid, actor=actor, received_at=at, now=now)
        saved = [_save_party(dispute, p, now) for p in clean]
        _event(
            dispute,
            EventAction.RECEIVED,
            actor=actor,
            from_state="",
            now=now,
            data={"grid": the_grid.code, "parties": len(saved)},
            ip=ip,
            audit_action="dispute.receive",
            audit_data={"grid": the_grid.code, "kind": dispute.kind, "parties": [p.pk for p in saved]},
        )
    return dispute


def _clean_dispute(
    *,
    actor: Any,
    kind: Any,
    title: Any,
    description: Any,
    amount: Any,
    risk: Any,
    language: Any,
    address: Any,
) -> dict[str, Any]:
    return {
        "kind": _choice(kind, DisputeKind, "kind", _("Choose the kind of dispute.")),
        "title": _text(title, "title", MAX_TITLE, required=True),
        "description": _text(description, "description", MAX_DESCRIPTION, required=True),
        "amount": _amount(amount, "amount"),
        "risk": _choice(risk or RiskLevel.LOW, RiskLevel, "risk", _("Choose the risk: low, medium or high.")),
        "language": _choice(
            language or Language.ZH, Language, "language", _("Choose the parties' language.")
        ),
        "address": _text(address, "address", MAX_ADDRESS),
    }


def _new_dispute(
    values: dict[str, Any],
    grid: Grid,
    *,
    actor: Any,
    received_at: datetime,
    now: datetime,
    case: Case | None = None,
) -> Dispute:
    dispute = Dispute(
        number=next_number(received_at if received_at <= now else now),
        state=DisputeState.RECEIVED,
        level=3,
        received_at=received_at,
        received_by=actor,
        case=case,
        created_at=now,
        updated_at=now,
        **values,
    )
    dispute.place_in(grid)
    dispute.save()
    return dispute


@dataclass(frozen=True)
class OpenResult:
    dispute: Dispute
    created: bool  # False: the case had gone to mediation before, and this is that dispute


def _dispute_of_case(case_id: int) -> Dispute | None:
    return Dispute.objects.select_related("grid").defer("grid__geometry").filter(case_id=case_id).first()


def do_open_from_case(
    case_id: int | str,
    *,
    actor: Any,
    kind: str | None = None,
    title: str = "",
    risk: str = RiskLevel.LOW,
    language: str = Language.ZH,
    amount: Any = None,
    parties: Iterable[PartyInput | dict[str, Any]] | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> OpenResult:
    """Take a case of the disputes module (07 矛盾信访) the actor sees into mediation: its description, place
    and grid are copied, the dispute links the case, and a staff comment on the case records that it went to
    mediation. The same case again answers the first dispute (`created` False), whoever asks."""
    now = now or timezone.now()
    cases = visible_to(actor, Case).select_related("grid", "item", "item__module").defer("grid__geometry")
    text = str(case_id).strip()
    if text.isdigit() and int(text) <= MAX_ID:
        case = cases.filter(pk=int(text)).first()
    else:
        case = cases.filter(number=text).first()
    if case is None:
        raise CaseNotFound()
    if not acts_in(actor, case.grid.path):
        raise NotAllowed(
            _("You may read case %(number)s but not take it to mediation.") % {"number": case.number}
        )
    existing = _dispute_of_case(case.pk)
    if existing is not None:
        return OpenResult(existing, False)
    if case.item is None or case.item.module.code != DISPUTES_MODULE:
        raise Invalid(
            _("Only a case of the disputes module (矛盾信访) goes to mediation; this one is not."),
            field="case",
        )
    if case.state == CaseState.MERGED:
        raise Invalid(_("This case was merged into another one: take that one to mediation."), field="case")
    if case.grid.level != 3:
        raise Invalid(_("Place the case in its grid first: a dispute is handled in its grid."), field="case")
    values = _clean_dispute(
        actor=actor,
        kind=kind or KIND_OF_ITEM.get(case.item.code, DisputeKind.OTHER),
        title=title or case.item.name,
        description=(case.description or "")[:MAX_DESCRIPTION],
        amount=amount,
        risk=risk,
        language=language,
        address=(case.address or "")[:MAX_ADDRESS],
    )
    clean = _clean_parties(parties, actor)
    with transaction.atomic(durable=not connection.in_atomic_block):
        try:
            with transaction.atomic():
                dispute = _new_dispute(values, case.grid, actor=actor, received_at=now, now=now, case=case)
        except IntegrityError:
            # Somebody took the same case to mediation a moment before.
            first = _dispute_of_case(case.pk)
            if first is None:
                raise
            return OpenResult(first, False)
        saved = [_save_party(dispute, p, now) for p in clean]
        _event(
            dispute,
            EventAction.FROM_CASE,
            actor=actor,
            from_state="",
            now=now,
            data={"case": case.number, "grid": case.grid.code, "parties": len(saved)},
            ip=ip,
            audit_action="dispute.open_from_case",
            audit_data={"case": case.number, "grid": case.grid.code, "parties": [p.pk for p in saved]},
        )
        # The case's history shows where it went (a staff note: the reporter is not told of it).
        do_transition(
            case.number,
            CaseAction.COMMENT,
            Step(
                note=gettext("Taken to people's mediation as dispute %(number)s.")
                % {"number": dispute.number},
                public=False,
            ),
            actor=actor,
            ip=ip,
            now=now,
        )
    return OpenResult(dispute, True)


# ---------------------------------------------------------------------------------------------- parties


def do_add_party(
    dispute: Dispute | int | str,
    data: PartyInput | dict[str, Any],
    *,
    actor: Any,
    ip: str | None = None,
    now: datetime | None = None,
) -> Party:
    """Add a party to an open dispute. An invalid ID number (GB 11643) or phone is refused, naming the field."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    _require_state(current, OPEN_STATES, EventAction.PARTY_ADDED.label)
    values = _clean_party(PartyInput.of(data, "party"), actor)
    if Party.objects.filter(dispute=current).count() >= MAX_PARTIES:
        raise Invalid(_("Too many: at most %(limit)d.") % {"limit": MAX_PARTIES}, field="parties")
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        _bump(current, now)
        party = _save_party(current, values, now)
        _event(
            current,
            EventAction.PARTY_ADDED,
            actor=actor,
            from_state=from_state,
            now=now,
            data=_party_data(party),
            ip=ip,
            audit_action="dispute.party_add",
        )
    return party


def do_update_party(
    party_id: int,
    data: PartyInput | dict[str, Any],
    *,
    actor: Any,
    ip: str | None = None,
    now: datetime | None = None,
) -> Party:
    """Replace a party's details (of an open dispute). An ID number or phone left blank is removed."""
    now = now or timezone.now()
    pid = _id(party_id, "party", _("No such party."))
    party = visible_to(actor, Party).filter(pk=pid).only("id", "dispute_id").first()
    if party is None:
        raise PartyNotFound
    current = _load(actor, party.dispute_id)
    _require_state(current, OPEN_STATES, EventAction.PARTY_UPDATED.label)
    values = _clean_party(PartyInput.of(data, "party"), actor)
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        _bump(current, now)
        Party.objects.filter(pk=pid).update(**values)
        party = Party.objects.get(pk=pid)
        _event(
            current,
            EventAction.PARTY_UPDATED,
            actor=actor,
            from_state=from_state,
            now=now,
            data=_party_data(party),
            ip=ip,
            audit_action="dispute.party_update",
        )
    return party


# ---------------------------------------------------------------------------------------------- assignment


def _committee(value: Any, dispute: Dispute) -> Committee:
    cid = _id(value, "committee", _("No such mediation committee."))
    committee = Committee.objects.select_related("grid").defer("grid__geometry").filter(pk=cid).first()
    if committee is None or not committee.active:
        raise Invalid(_("No such mediation committee at work."), field="committee")
    if committee.grid_id not in ancestor_ids(dispute.grid):
        raise Invalid(_("This committee does not cover the grid where the dispute arose."), field="committee")
    if committee.level > dispute.level:
        raise Invalid(
            _("The dispute is handled at a higher level now: a lower committee cannot take it back."),
            field="committee",
        )
    return committee


def _mediators_of(
    ids: list[int], field: str, *, committee_id: int | None, allowed: set[int] | None = None
) -> list[Mediator]:
    """The mediators of these ids, each active and of the committee (or, with `allowed`, one of those)."""
    found = {m.pk: m for m in Mediator.objects.filter(pk__in=ids)}
    out = []
    for mid in ids:
        m = found.get(mid)
        if m is None:
            raise Invalid(_("No such mediator."), field=field)
        if not m.active:
            raise Invalid(_("Mediator %(name)s no longer mediates.") % {"name": m.name}, field=field)
        if m.committee_id != committee_id and (allowed is None or mid not in allowed):
            raise Invalid(
                _("Mediator %(name)s is not of the committee handling the dispute.") % {"name": m.name},
                field=field,
            )
        out.append(m)
    return out


def do_assign(
    dispute: Dispute | int | str,
    *,
    actor: Any,
    committee: Committee | int,
    lead: Mediator | int,
    assistants: Iterable[Mediator | int] = (),
    ip: str | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Give the dispute to a committee covering its grid (at its handling level or higher: the level becomes the
    committee's), with a lead mediator and assisting ones, all active and of that committee. Reassigning an
    assigned dispute, or one in mediation, replaces them."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    _require_state(current, OPEN_STATES, EventAction.ASSIGNED.label)
    the_committee = _committee(committee, current)
    lead_id = _id(lead, "lead", _("Choose the lead mediator."))
    (the_lead,) = _mediators_of([lead_id], "lead", committee_id=the_committee.pk)
    helper_ids = [
        i for i in _ids(assistants, "assistants", _("No such mediator."), MAX_MEDIATORS) if i != lead_id
    ]
    helpers = _mediators_of(helper_ids, "assistants", committee_id=the_committee.pk)
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        to_state = DisputeState.MEDIATING if from_state == DisputeState.MEDIATING else DisputeState.ASSIGNED
        _bump(
            current,
            now,
            state=to_state,
            committee=the_committee,
            level=the_committee.level,
            lead_mediator=the_lead,
        )
        current.assistants.set(helpers)
        _event(
            current,
            EventAction.ASSIGNED,
            actor=actor,
            from_state=from_state,
            now=now,
            data={
                "committee": the_committee.pk,
                "committee_name": the_committee.name,
                "lead": the_lead.pk,
                "lead_name": the_lead.name,
                "assistants": [m.pk for m in helpers],
            },
            ip=ip,
            audit_action="dispute.assign",
        )
        # The mediators are told in their inbox (those with a login; not who assigned themselves).
        users = [m.user_id for m in (the_lead, *helpers) if m.user_id != actor.pk]
        data = {"number": current.number, "committee": the_committee.name}
        notify.to_users(users, None, "dispute_assigned", data, now)
    return current


# ---------------------------------------------------------------------------------------------- sessions


def do_record_session(
    dispute: Dispute | int | str,
    *,
    actor: Any,
    held_at: Any,
    mediators: Iterable[Mediator | int],
    place: str = "",
    parties_present: Iterable[Party | int] = (),
    others_present: str = "",
    notes: str = "",
    next_steps: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Session:
    """Record a mediation session of an assigned dispute (it is then in mediation). `held_at` lies between the
    dispute's receipt and now; at least one mediator, each active and of the handling committee (or assigned to
    the dispute); the parties present are parties of this dispute."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    _require_state(current, (DisputeState.ASSIGNED, DisputeState.MEDIATING), EventAction.SESSION.label)
    at = _moment(held_at, "held_at")
    # People give times to the minute: a session in the minute the dispute was received is not before it.
    if at < current.received_at.replace(second=0, microsecond=0):
        raise Invalid(
            _("The session cannot be held before the dispute was received (%(received)s).")
            % {"received": _local(current.received_at)},
            field="held_at",
        )
    _not_in_future(at, now, "held_at")
    mediator_ids = _ids(mediators, "mediators", _("No such mediator."), MAX_MEDIATORS)
    if not mediator_ids:
        raise Invalid(_("Say which mediator held the session: at least one."), field="mediators")
    assigned = {current.lead_mediator_id, *current.assistants.values_list("id", flat=True)} - {None}
    the_mediators = _mediators_of(
        mediator_ids,
        "mediators",
        committee_id=current.committee_id,
        allowed=assigned,  # type: ignore[arg-type]
    )
    party_ids = _ids(parties_present, "parties_present", _("No such party."), MAX_PARTIES)
    present = list(Party.objects.filter(dispute=current, pk__in=party_ids))
    if len(present) != len(party_ids):
        raise Invalid(_("Only the parties of this dispute can be present."), field="parties_present")
    values = {
        "place": _text(place, "place", MAX_PLACE),
        "others_present": _text(others_present, "others_present", MAX_OTHERS),
        "notes": _text(notes, "notes", MAX_TEXT),
        "next_steps": _text(next_steps, "next_steps", MAX_TEXT),
    }
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        _bump(current, now, state=DisputeState.MEDIATING)
        session = Session.objects.create(
            dispute=current, held_at=at, created_by=actor, created_at=now, **values
        )
        session.mediators.set(the_mediators)
        session.parties_present.set(present)
        _event(
            current,
            EventAction.SESSION,
            actor=actor,
            from_state=from_state,
            now=now,
            data={
                "session": session.pk,
                "held_at": at.isoformat(),
                "mediators": [m.pk for m in the_mediators],
                "parties_present": [p.pk for p in present],
            },
            ip=ip,
            audit_action="dispute.session",
        )
    return session


# ---------------------------------------------------------------------------------------------- outcome


def _signed_moment(signed_on: dt.date, received_at: datetime, now: datetime) -> datetime:
    """When the outcome counts: now when it is recorded on its day; else noon of that day (not before the
    dispute was received)."""
    if signed_on == timezone.localdate(now):
        return now
    noon = timezone.make_aware(dt.datetime.combine(signed_on, dt.time(12, 0)))
    return max(noon, received_at)


def do_record_outcome(
    dispute: Dispute | int | str,
    *,
    actor: Any,
    outcome: str,
    terms: str = "",
    amount: Any = None,
    performance_method: str = "",
    performance_due: Any = None,
    signed_on: Any = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Agreement:
    """The outcome of the mediation, after at least one session: an agreement (调解协议书), a partial one, or
    none (调解不成, `terms` then says why). An agreement in full or in part needs at least two parties and its
    terms; it settles the dispute at its handling level and schedules the follow-up visits
    (settings.MEDIATION_FOLLOW_UP_DAYS after signing). A failed outcome may be referred up or handed over."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    the_outcome = _choice(outcome, Outcome, "outcome", _("Choose the outcome: agreement, partial or failed."))
    _require_state(current, (DisputeState.MEDIATING,), Outcome(the_outcome).label)
    signed = timezone.localdate(now) if signed_on in (None, "") else _day(signed_on, "signed_on")
    if signed > timezone.localdate(now):
        raise Invalid(_("The signing date lies in the future."), field="signed_on")
    received_day = timezone.localtime(current.received_at).date()
    if signed < received_day:
        raise Invalid(
            _("The agreement cannot be signed before the dispute was received (%(received)s).")
            % {"received": received_day.isoformat()},
            field="signed_on",
        )
    signs = the_outcome in (Outcome.AGREEMENT, Outcome.PARTIAL)
    if signs and Party.objects.filter(dispute=current).count() < 2:
        raise Invalid(
            _("An agreement is made between parties: add at least two parties to the dispute first."),
            field="parties",
        )
    if signs:
        the_terms = _text(terms, "terms", MAX_TEXT, required=True)
    else:
        the_terms = _text(terms, "terms", MAX_TEXT, required=True, label_field="failure")
    the_amount = _amount(amount, "amount") if signs else None
    due = None
    if signs and performance_due not in (None, ""):
        due = _day(performance_due, "performance_due")
        if due < signed:
            raise Invalid(_("The agreement cannot be due before it is signed."), field="performance_due")
    method = _text(performance_method, "performance_method", MAX_TEXT) if signs else ""
    moment = _signed_moment(signed, current.received_at, now)
    to_state = OUTCOME_STATE[the_outcome]
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        changes: dict[str, Any] = {"state": to_state}
        if signs:
            changes.update(settled_at=moment, settled_level=current.level, failed_at=None)
        else:
            changes.update(failed_at=moment)
        _bump(current, now, **changes)
        values = {
            "outcome": the_outcome,
            "number": current.number,
            "terms": the_terms,
            "amount": the_amount,
            "performance_method": method,
            "performance_due": due,
            "signed_on": signed,
            "committee": current.committee,
            "level": current.level,
            "created_by": actor,
            "created_at": now,
        }
        # A failed outcome is replaced when a higher committee, taking the dispute over, reaches one (the
        # timeline keeps the earlier one).
        agreement, _created = Agreement.objects.update_or_create(dispute=current, defaults=values)
        due_days = []
        if signs:
            due_days = [signed + timedelta(days=d) for d in follow_up_days()]
            FollowUp.objects.bulk_create(
                [FollowUp(dispute=current, due_on=day, created_at=now) for day in due_days]
            )
        _event(
            current,
            EventAction.OUTCOME,
            actor=actor,
            from_state=from_state,
            now=now,
            note=the_terms if not signs else "",
            data={
                "outcome": the_outcome,
                "signed_on": signed.isoformat(),
                "amount": str(the_amount) if the_amount is not None else None,
                "level": current.level,
                "follow_ups": [d.isoformat() for d in due_days],
            },
            ip=ip,
            audit_action="dispute.outcome",
        )
    return agreement


def do_record_follow_up(
    follow_up_id: int,
    *,
    actor: Any,
    result: str,
    note: str = "",
    done_at: Any = None,
    lon: float | None = None,
    lat: float | None = None,
    accuracy_m: float | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """Record a follow-up visit (回访) as made: whether the agreement was performed, and where the phone was
    (WGS-84; optional). Once only."""
    now = now or timezone.now()
    fid = _id(follow_up_id, "follow_up", _("No such follow-up visit."))
    visit = visible_to(actor, FollowUp).filter(pk=fid).first()
    if visit is None:
        raise FollowUpNotFound
    current = _load(actor, visit.dispute_id)
    the_result = _choice(
        result, FollowUpResult, "result", _("Say whether the agreement was performed, partly or not.")
    )
    at = now if done_at in (None, "") else _moment(done_at, "done_at")
    _not_in_future(at, now, "done_at")
    agreement = Agreement.objects.filter(dispute=current).only("signed_on").first()
    if agreement is not None and timezone.localtime(at).date() < agreement.signed_on:
        raise Invalid(_("A follow-up visit comes after the agreement was signed."), field="done_at")
    text = _text(note, "note", MAX_NOTE)
    point = gps_point(lon, lat)
    accuracy = gps_accuracy(accuracy_m)
    if visit.done_at is not None:
        raise WrongState(_("This follow-up visit has been recorded already."))
    with transaction.atomic(durable=not connection.in_atomic_block):
        updated = FollowUp.objects.filter(pk=fid, done_at__isnull=True).update(
            done_at=at,
            visitor=actor,
            result=the_result,
            note=text,
            lon=point[0] if point else None,
            lat=point[1] if point else None,
            accuracy_m=accuracy,
        )
        if updated != 1:
            raise WrongState(_("This follow-up visit has been recorded already."))
        from_state = current.state
        _bump(current, now)
        _event(
            current,
            EventAction.FOLLOW_UP,
            actor=actor,
            from_state=from_state,
            now=now,
            data={"follow_up": fid, "due_on": visit.due_on.isoformat(), "result": the_result},
            ip=ip,
            audit_action="dispute.follow_up",
        )
        visit.refresh_from_db()
    return visit


# ---------------------------------------------------------------------------------------------- up and out


REFERABLE = (*OPEN_STATES, DisputeState.FAILED)
HANDABLE = (*OPEN_STATES, DisputeState.FAILED, DisputeState.PARTIAL)


def do_refer_up(
    dispute: Dispute | int | str,
    *,
    actor: Any,
    reason: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> Dispute:
    """The committee above takes the dispute (大事不出村: the village's, then the town's): its level climbs to
    that committee's, its mediators are cleared, and it waits to be assigned there."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    _require_state(current, REFERABLE, EventAction.REFERRED_UP.label)
    if current.level <= 1:
        raise WrongState(
            _("Dispute %(number)s is with the town's committee already: hand it over instead.")
            % {"number": current.number}
        )
    text = _text(reason, "reason", MAX_NOTE, required=True)
    above = nearest_committee(current.grid, at_most=current.level - 1)
    if above is None:
        raise Invalid(
            _("There is no mediation committee above this one to take the dispute."), field="committee"
        )
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state, from_level = current.state, current.level
        _bump(
            current,
            now,
            state=DisputeState.RECEIVED,
            committee=above,
            level=above.level,
            lead_mediator=None,
        )
        current.assistants.clear()
        _event(
            current,
            EventAction.REFERRED_UP,
            actor=actor,
            from_state=from_state,
            now=now,
            note=text,
            data={
                "from_level": from_level,
                "to_level": above.level,
                "committee": above.pk,
                "committee_name": above.name,
            },
            ip=ip,
            audit_action="dispute.refer_up",
            audit_data={"from_level": from_level, "to_level": above.level, "committee": above.pk},
        )
        # The committee above is told, to assign it: its mediators with a login.
        users = Mediator.objects.filter(committee=above, active=True).values_list("user_id", flat=True)
        data = {"number": current.number, "committee": above.name}
        notify.to_users(users, None, "dispute_referred", data, now)
    return current


def do_hand_over(
    dispute: Dispute | int | str,
    *,
    actor: Any,
    to: str,
    note: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> Dispute:
    """Hand the dispute mediation could not settle (or settled in part) over to the judicial office, a court,
    the petition office, the police or labour arbitration, with a note. Its whole record stays readable."""
    now = now or timezone.now()
    current = _load(actor, dispute)
    _require_state(current, HANDABLE, EventAction.HANDED_OVER.label)
    where = _choice(to, HandOverTo, "handed_to", _("Say where the dispute is handed over to."))
    text = _text(note, "handover_note", MAX_NOTE, required=True, label_field="note")
    with transaction.atomic(durable=not connection.in_atomic_block):
        from_state = current.state
        _bump(
            current,
            now,
            state=DisputeState.HANDED_OVER,
            handed_to=where,
            handed_at=now,
            handover_note=text,
        )
        _event(
            current,
            EventAction.HANDED_OVER,
            actor=actor,
            from_state=from_state,
            now=now,
            note=text,
            data={"to": where},
            ip=ip,
            audit_action="dispute.hand_over",
        )
    return current
