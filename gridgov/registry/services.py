"""The only code that changes the registry. One durable transaction per call, an audit record in it; personal
data goes in encrypted and comes out masked, and reading it in full (`do_unmask`) needs a reason and is audited.

`clean_person` checks every field of a person at once and reports each problem with its field, so that the
importer can report every bad cell of a file and a form every bad field of a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.core import audit
from gridgov.core.errors import Conflict, Invalid, NotAllowed, Refusal
from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.personal import DOCUMENT, KEY_GROUP, PHONE, blind_index, decrypt_text, encrypt_text
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from . import validators
from .choices import (
    ComponentState,
    KeyGroup,
    MoveKind,
    PartyOrgKind,
    PersonRoleKind,
    PersonState,
    Relation,
    Residence,
    Source,
)
from .codes import DocumentKind, Ethnicity, Gender
from .models import Component, Household, KeyGroupLabel, PartyOrganisation, Person, PersonMove, PersonRole
from .scoping import keeper_reach, role_reach

UNMASK_REASON_MIN = 4
# A note (备注) is a remark, not a file: longer text is a paste gone wrong.
NOTE_MAX = 2000
# The codes as sets: an import checks hundreds of thousands of rows, and `X.values` builds a list each time.
DOCUMENT_KINDS, GENDERS, ETHNICITIES = (
    frozenset(DocumentKind.values),
    frozenset(Gender.values),
    frozenset(Ethnicity.values),
)
RELATIONS, RESIDENCES, KEY_GROUPS = (
    frozenset(Relation.values),
    frozenset(Residence.values),
    frozenset(KeyGroup.values),
)


@dataclass(frozen=True)
class Problem:
    """One bad field of one record: the field's name, and what is wrong in words a clerk understands."""

    field: str
    message: str


@dataclass
class PersonInput:
    """A person as a form, the phone app or a register row gives it. Codes, not labels."""

    name: str
    grid: Grid | None
    document_kind: str = DocumentKind.ID_CARD
    document_number: str = ""
    name_mongolian: str = ""
    gender: str = ""  # from the ID number when empty
    ethnicity: str = ""
    birth_date: dt.date | None = None  # from the ID number when empty
    phone: str = ""
    household: Household | None = None
    relation: str = ""
    residence: str = Residence.REGISTERED
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    key_groups: Sequence[str] = ()
    source: str = Source.ADMIN
    note: str = ""  # the office's remark (备注); may be personal: never logged


@dataclass
class CleanPerson:
    """A checked person, ready to store: numbers normalised, encrypted and indexed, masked for display."""

    fields: dict[str, Any]
    document_index: str
    key_groups: list[str] = field(default_factory=list)


def _check(problems: list[Problem], name: str, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except ValidationError as exc:
        problems.append(Problem(name, " ".join(str(m) for m in exc.messages)))
        return None


def document_index(kind: str, number: str) -> str:
    # The kind is part of the index: a passport number may read like some other document's number.
    return blind_index(f"{kind}:{number}", DOCUMENT)


def clean_person(data: PersonInput) -> tuple[CleanPerson | None, list[Problem]]:
    """Every field checked; the cleaned person, or None with every problem found."""
    problems: list[Problem] = []
    name = _check(problems, "name", validators.check_name, data.name)
    mongolian = ""
    if data.name_mongolian.strip():
        mongolian = _check(problems, "name_mongolian", validators.check_mongolian_name, data.name_mongolian)
    if data.document_kind not in DOCUMENT_KINDS:
        problems.append(Problem("document_kind", _("Unknown document type.")))
    number = ""
    if data.document_number.strip() and data.document_kind in DOCUMENT_KINDS:
        number = (
            _check(
                problems,
                "document_number",
                validators.check_document,
                data.document_kind,
                data.document_number,
            )
            or ""
        )
    gender, birth = data.gender, data.birth_date
    if number and data.document_kind == DocumentKind.ID_CARD:
        born, sex, _region = validators.checked_id_facts(number)  # checked by check_document above
        if gender and gender in (Gender.MALE, Gender.FEMALE) and gender != sex:
            problems.append(Problem("gender", _("The gender does not match the ID number.")))
        if birth and birth != born:
            problems.append(Problem("birth_date", _("The date of birth does not match the ID number.")))
        gender, birth = gender or sex, birth or born
    if gender and gender not in GENDERS:
        problems.append(Problem("gender", _("Unknown gender code (GB/T 2261.1: 0, 1, 2 or 9).")))
    if data.ethnicity and data.ethnicity not in ETHNICITIES:
        problems.append(Problem("ethnicity", _("Unknown ethnicity code (GB/T 3304: 01 to 56, 97 or 98).")))
    if birth and birth > timezone.localdate():
        problems.append(Problem("birth_date", _("The date of birth lies in the future.")))
    phone = ""
    if data.phone.strip():
        phone = _check(problems, "phone", validators.check_mobile, data.phone) or ""
    if data.relation and data.relation not in RELATIONS:
        problems.append(Problem("relation", _("Unknown relation to the head of the household.")))
    if data.residence not in RESIDENCES:
        problems.append(Problem("residence", _("Unknown kind of residence.")))
    groups = []
    for group in data.key_groups:
        if group not in KEY_GROUPS:
            problems.append(Problem("key_groups", _("Unknown key group %(group)s.") % {"group": group}))
        elif group not in groups:
            groups.append(group)
    grid = data.grid
    if grid is None:
        problems.append(Problem("grid", _("Say which grid the person lives in.")))
    elif grid.level != 3 or grid.valid_to is not None:
        problems.append(Problem("grid", _("A person is registered in a current level-3 grid.")))
    address = data.address.strip()
    if len(address) > 200:
        problems.append(Problem("address", _("The address is longer than 200 characters.")))
    note = data.note.strip()
    if len(note) > NOTE_MAX:
        problems.append(Problem("note", note_too_long()))
    if problems:
        return None, problems
    index = document_index(data.document_kind, number) if number else ""
    fields = {
        "name": name,
        "name_mongolian": mongolian,
        "document_kind": data.document_kind,
        "document_enc": encrypt_text(number, DOCUMENT),
        "document_index": index,
        "document_masked": mask_id_number(number) if number else "",
        "gender": gender or Gender.UNKNOWN,
        "ethnicity": data.ethnicity,
        "birth_date": birth,
        "phone_enc": encrypt_text(phone, PHONE),
        "phone_index": blind_index(phone) if phone else "",
        "phone_masked": mask_phone(phone) if phone else "",
        "household": data.household,
        "relation": data.relation,
        "residence": data.residence,
        "address": address,
        "lon": data.lon,
        "lat": data.lat,
        "source": data.source,
        "note": note,
    }
    return CleanPerson(fields=fields, document_index=index, key_groups=groups), []


def note_too_long() -> str:
    return _("The note is longer than %(max)s characters.") % {"max": NOTE_MAX}


def _raise(problems: list[Problem]) -> None:
    first = problems[0]
    raise Invalid(first.message, field=first.field, data={"problems": [p.__dict__ for p in problems]})


def problems_of(refusal: Refusal) -> list[Problem]:
    """Every problem a service's refusal names (`_raise`'s list), or its one message."""
    named = refusal.data.get("problems") or [{"field": refusal.field, "message": str(refusal.message)}]
    return [Problem(p["field"], p["message"]) for p in named]


def person_problems(data: PersonInput, found: list[Problem]) -> list[Problem]:
    """The problems a caller `found` with what a person may name (their grid, their household: one per field),
    and the registry's with every other field: a page or an API answer names them all at once."""
    named = {p.field for p in found}
    _cleaned, checked = clean_person(data)
    return found + [p for p in checked if p.field not in named]


@dataclass
class Registered:
    person: Person
    created: bool
    moved: bool


def do_register_person(data: PersonInput, *, actor: Any, reason: str = "") -> Registered:
    """Register a person in a grid, or find them again by their document and bring the record up to date (the
    master index): a person registered in another grid moves, with the move in their history."""
    cleaned, problems = clean_person(data)
    if cleaned is None:
        _raise(problems)
    assert cleaned is not None and data.grid is not None
    grid, now = data.grid, timezone.now()
    try:
        with transaction.atomic():
            existing = None
            if cleaned.document_index:
                # `exclude("")` lets SQLite use the partial unique index of the master index.
                existing = (
                    Person.objects.select_for_update()
                    .filter(document_index=cleaned.document_index)
                    .exclude(document_index="")
                    .first()
                )
            if existing is None:
                person = Person(**cleaned.fields, created_at=now, updated_at=now)
                person.place_in(grid)
                person.save(force_insert=True)
                PersonMove.objects.create(
                    person=person,
                    to_grid=grid,
                    moved_at=now,
                    kind=MoveKind.REGISTERED,
                    reason=reason,
                    actor=actor,
                )
                created, moved = True, False
            else:
                person, created = existing, False
                moved = person.grid_id != grid.pk
                if moved:
                    PersonMove.objects.create(
                        person=person,
                        from_grid_id=person.grid_id,
                        to_grid=grid,
                        moved_at=now,
                        kind=MoveKind.ARRIVED,
                        reason=reason,
                        actor=actor,
                    )
                for name, value in cleaned.fields.items():
                    if value not in ("", None) or name in ("household", "relation"):
                        setattr(person, name, value)
                person.place_in(grid)
                person.updated_at = now
                person.version += 1
                person.save()
            _label(person, cleaned.key_groups, now)
            audit.record(
                "registry.person.register" if created else "registry.person.update",
                actor=actor,
                target=person,
                data={"grid": grid.code, "moved": moved, "document": person.document_masked},
            )
    except IntegrityError as exc:
        # The same document registered at the same moment by someone else: their record stands.
        raise Conflict(
            _("This person was registered meanwhile: look them up again."), field="document_number"
        ) from exc
    return Registered(person=person, created=created, moved=moved)


def _label(person: Person, groups: Sequence[str], now: dt.datetime) -> None:
    have = set(person.key_groups.values_list("group_index", flat=True)) if person.pk else set()
    KeyGroupLabel.objects.bulk_create(
        [
            KeyGroupLabel(
                person=person,
                group_enc=encrypt_text(g, KEY_GROUP),
                group_index=key_group_index(g),
                grid_l1_id=person.grid_l1_id,
                grid_l2_id=person.grid_l2_id,
                grid_l3_id=person.grid_l3_id,
                created_at=now,
            )
            for g in groups
            if key_group_index(g) not in have
        ]
    )


@lru_cache(maxsize=64)  # the groups are few; an import and a list ask for the same ones again and again
def key_group_index(group: str) -> str:
    return blind_index(group, KEY_GROUP)


def key_group_of(index: str) -> str | None:
    """The key group a blind index stands for (the groups are few: the index is looked up, not decrypted)."""
    return _key_groups_by_index().get(index)


@cache
def _key_groups_by_index() -> dict[str, str]:
    return {key_group_index(g): g for g in KeyGroup.values}


def do_move_person(person: Person, grid: Grid, *, actor: Any, reason: str) -> Person:
    """Move a person to another grid by hand (moved house), with the move in their history."""
    if grid.level != 3 or grid.valid_to is not None:
        raise Invalid(_("A person is registered in a current level-3 grid."), field="grid")
    if not reason.strip():
        raise Invalid(_("Say why the person moved."), field="reason")
    now = timezone.now()
    with transaction.atomic():
        if (
            Person.objects.filter(pk=person.pk, version=person.version).update(
                grid=grid,
                grid_l1_id=grid.l1_id,
                grid_l2_id=grid.l2_id,
                grid_l3_id=grid.l3_id,
                version=person.version + 1,
                updated_at=now,
            )
            != 1
        ):
            raise Conflict(_("Somebody changed this person meanwhile: look again."))
        KeyGroupLabel.objects.filter(person=person).update(
            grid_l1_id=grid.l1_id, grid_l2_id=grid.l2_id, grid_l3_id=grid.l3_id
        )
        PersonMove.objects.create(
            person=person,
            from_grid_id=person.grid_id,
            to_grid=grid,
            moved_at=now,
            reason=reason.strip(),
            actor=actor,
        )
        audit.record(
            "registry.person.move", actor=actor, target=person, data={"to": grid.code, "reason": reason}
        )
    person.refresh_from_db()
    return person


UNMASKABLE = {"document_number": ("document_enc", DOCUMENT), "phone": ("phone_enc", PHONE)}


def may_unmask(user: Any, record: Any) -> bool:
    """The grid's and the village's people who keep the record may read its numbers in full (with a reason).
    No query: by the level ids the record copies from its grid."""
    return keeper_reach(user).holds(record)


def do_unmask(record: Any, what: str, *, actor: Any, reason: str, ip: str | None = None) -> str:
    """A masked number in full, for a keeper of the record who says why; the reading is on the audit record."""
    if what not in UNMASKABLE or not hasattr(record, UNMASKABLE[what][0]):
        raise Invalid(_("Only document numbers and phones are masked."), field="what")
    if len(reason.strip()) < UNMASK_REASON_MIN:
        raise Invalid(_("Say why you need the full number."), field="reason")
    if not may_unmask(actor, record):
        raise NotAllowed(_("Only the people who keep this record may read its numbers in full."))
    column, purpose = UNMASKABLE[what]
    value = decrypt_text(getattr(record, column), purpose)
    audit.atomic_record(
        "registry.unmask",
        actor=actor,
        target=record,
        data={"what": what, "reason": reason.strip()},
        ip=ip,
    )
    return value


def do_set_component_state(component: Component, state: str, *, actor: Any, reason: str = "") -> Component:
    """A component found damaged, missing or blocked (by an inspection, a report), or repaired: its state,
    the day it changed, and the audit record. Setting the state it already has changes nothing."""
    if state not in ComponentState.values:
        raise Invalid(_("Unknown component state."), field="state")
    if component.state == state:
        return component
    now = timezone.now()
    with transaction.atomic():
        before = component.state
        Component.objects.filter(pk=component.pk).update(state=state, updated_at=now)
        audit.record(
            "registry.component.state",
            actor=actor,
            target=component,
            data={"component": component.object_id, "from": before, "to": state, "reason": reason[:200]},
        )
    component.state, component.updated_at = state, now
    return component


# ------------------------------------------------------------------------------------------ party and roles

# A party organisation sits under one of a higher kind (党委 › 党总支 › 党支部 › 党小组): strictly higher, so
# that following the parents always ends (no cycle can be built, whatever the order of the edits).
PARTY_RANK: dict[str, int] = {
    PartyOrgKind.COMMITTEE: 0,
    PartyOrgKind.GENERAL_BRANCH: 1,
    PartyOrgKind.BRANCH: 2,
    PartyOrgKind.GROUP: 3,
}
PARTY_NAME_MAX = 100
# Who collects records in the field (the grid's own workers): what they register is "collected by a grid
# worker" (`Source.SURVEY`). The same roles as fieldwork's workers; the registry does not import fieldwork.
GRID_WORKER_ROLES = frozenset({Role.GRID_SPECIALIST, Role.INFO_OFFICER})


def source_for(actor: Any, grid: Grid) -> str:
    """Where a record `actor` registers in `grid` comes from: collected by a grid worker when the actor works
    in that grid (a grid specialist or information officer of it), entered at the office otherwise."""
    return Source.SURVEY if role_reach(actor, GRID_WORKER_ROLES).covers(grid) else Source.ADMIN


def keeps_grid(actor: Any, grid: Grid) -> bool:
    """Whether `actor` keeps the register of `grid` (the grid's and the village's keepers; no query)."""
    return keeper_reach(actor).covers(grid)


def _ancestor_ids(grid: Grid) -> list[int]:
    """The ids of `grid` and of every grid above it, from its path (no query)."""
    return [int(x) for x in grid.path.strip("/").split("/") if x]


@dataclass
class PartyOrgInput:
    """A party organisation as a form or the API gives it: the parent and the secretary already looked up in
    the caller's view (None when not given)."""

    name: str
    kind: str
    grid: Grid | None
    parent: PartyOrganisation | None = None
    secretary: Person | None = None


def clean_party_organisation(
    data: PartyOrgInput, *, actor: Any, organisation: PartyOrganisation | None = None
) -> list[Problem]:
    """Every problem with a party organisation (new, or `organisation` edited), each naming its field."""
    problems: list[Problem] = []
    name = data.name.strip()
    if not name:
        problems.append(Problem("name", _("Give the party organisation's name.")))
    elif len(name) > PARTY_NAME_MAX:
        problems.append(
            Problem("name", _("The name is longer than %(max)s characters.") % {"max": PARTY_NAME_MAX})
        )
    elif "\x00" in name:
        problems.append(Problem("name", _("The name holds a character that cannot be stored.")))
    if data.kind not in PARTY_RANK:
        problems.append(Problem("kind", _("Unknown kind of party organisation.")))
    grid = data.grid
    if grid is None:
        problems.append(Problem("grid", _("Say which grid the party organisation is in.")))
    elif grid.valid_to is not None or grid.level < 1:
        problems.append(Problem("grid", _("A party organisation is in a current town, village or grid.")))
    elif not keeps_grid(actor, grid):
        problems.append(Problem("grid", _("Choose one of your grids.")))
    parent = data.parent
    if parent is not None and grid is not None:
        if organisation is not None and parent.pk == organisation.pk:
            problems.append(Problem("parent", _("A party organisation cannot be its own parent.")))
        elif parent.grid_id not in _ancestor_ids(grid):
            problems.append(
                Problem(
                    "parent", _("The parent organisation is in the same grid or in one that encloses it.")
                )
            )
        elif data.kind in PARTY_RANK and PARTY_RANK[parent.kind] >= PARTY_RANK[data.kind]:
            problems.append(
                Problem(
                    "parent",
                    _("A %(kind)s cannot be under a %(parent)s.")
                    % {"kind": PartyOrgKind(data.kind).label, "parent": parent.get_kind_display()},
                )
            )
    if data.secretary is not None and data.secretary.state == PersonState.DECEASED:
        problems.append(Problem("secretary", _("The secretary is recorded as deceased.")))
    if organisation is not None and grid is not None and data.kind in PARTY_RANK:
        # Its own organisations stay below it: in its new grid's subtree and of a lower kind.
        for child in organisation.children.select_related("grid").only("kind", "grid__path", "parent_id"):
            if not child.grid.path.startswith(grid.path):
                problems.append(
                    Problem("grid", _("An organisation under this one is outside that grid: move it first."))
                )
                break
            if PARTY_RANK.get(child.kind, 99) <= PARTY_RANK[data.kind]:
                problems.append(
                    Problem("kind", _("An organisation under this one is of the same kind or higher."))
                )
                break
    return problems


def do_save_party_organisation(
    data: PartyOrgInput, *, actor: Any, organisation: PartyOrganisation | None = None
) -> PartyOrganisation:
    """Create a party organisation in one of the actor's grids, or change `organisation` (its name, kind,
    grid, parent and secretary). Every bad field is named (`Invalid`), and nothing changes."""
    if organisation is not None and not keeps_grid(actor, organisation.grid):
        raise NotAllowed(
            _("Only the people who keep this grid's register may change its party organisations.")
        )
    problems = clean_party_organisation(data, actor=actor, organisation=organisation)
    if problems:
        _raise(problems)
    assert data.grid is not None
    now = timezone.now()
    fields = {
        "name": data.name.strip(),
        "kind": data.kind,
        "parent": data.parent,
        "secretary": data.secretary,
    }
    with transaction.atomic():
        if organisation is None:
            organisation = PartyOrganisation(**fields, created_at=now, updated_at=now)
            organisation.place_in(data.grid)
            organisation.save(force_insert=True)
            action = "registry.party.create"
        else:
            for name, value in fields.items():
                setattr(organisation, name, value)
            organisation.place_in(data.grid)
            organisation.updated_at = now
            organisation.save()
            action = "registry.party.update"
        audit.record(
            action,
            actor=actor,
            target=organisation,
            data={
                "name": organisation.name,
                "kind": organisation.kind,
                "grid": data.grid.code,
                "parent": organisation.parent_id,
                "secretary": organisation.secretary_id,
            },
        )
    return organisation


def may_keep_person(actor: Any, person: Person) -> bool:
    """Whether `actor` keeps `person`'s record (gives and ends their roles): the grid's and the village's
    keepers of the grid the person lives in (no query)."""
    return keeps_grid(actor, person.grid)


def party_organisation_allowed(actor: Any, person: Person, organisation: PartyOrganisation) -> bool:
    """A party member belongs to an organisation of their own grid or of one enclosing it (the village's
    branch, the town's committee), or to one the actor sees (a workplace's branch elsewhere in their view)."""
    if organisation.grid_id in _ancestor_ids(person.grid):
        return True
    return visible_to(actor, PartyOrganisation).filter(pk=organisation.pk).exists()


@dataclass
class RoleGiven:
    role: PersonRole
    created: bool  # False: the person held the role; its organisation and date were brought up to date


def do_give_role(
    person: Person,
    role: str,
    *,
    actor: Any,
    party_organisation: PartyOrganisation | None = None,
    since: dt.date | None = None,
) -> RoleGiven:
    """Give a registered person a role in the grid: party member (of a party organisation), volunteer,
    mediator or grid worker, since a date. A role the person holds already is brought up to date (a party
    member moving to another branch). Every bad field is named (`Invalid`), and nothing changes."""
    if not may_keep_person(actor, person):
        raise NotAllowed(_("Only the people who keep this record may give its roles."))
    problems: list[Problem] = []
    if role not in PersonRoleKind.values:
        problems.append(Problem("role", _("Unknown role.")))
    if role == PersonRoleKind.PARTY_MEMBER:
        if party_organisation is None:
            problems.append(
                Problem("party_organisation", _("Say which party organisation the member is in."))
            )
        elif not party_organisation_allowed(actor, person, party_organisation):
            problems.append(
                Problem(
                    "party_organisation",
                    _("Choose a party organisation of the person's grid, or of one that encloses it."),
                )
            )
    elif party_organisation is not None:
        problems.append(
            Problem("party_organisation", _("Only party members belong to a party organisation."))
        )
    if since is not None:
        if since > timezone.localdate():
            problems.append(Problem("since", _("The date lies in the future.")))
        elif person.birth_date and since < person.birth_date:
            problems.append(Problem("since", _("The date lies before the person's birth.")))
    if person.state == PersonState.DECEASED:
        problems.append(Problem("person", _("The person is recorded as deceased.")))
    if problems:
        _raise(problems)
    try:
        with transaction.atomic():
            given, created = PersonRole.objects.select_for_update().get_or_create(
                person=person,
                role=role,
                defaults={"party_organisation": party_organisation, "since": since},
            )
            before = {
                "party_organisation": given.party_organisation_id,
                "since": given.since.isoformat() if given.since else None,
            }
            if not created:
                given.party_organisation = party_organisation
                given.since = since
                given.save(update_fields=["party_organisation", "since"])
            audit.record(
                "registry.role.give" if created else "registry.role.change",
                actor=actor,
                target=person,
                data={
                    "role": role,
                    "party_organisation": given.party_organisation_id,
                    "since": since.isoformat() if since else None,
                    **({} if created else {"before": before}),
                },
            )
    except IntegrityError as exc:
        raise Conflict(_("This role was given meanwhile: look again."), field="role") from exc
    return RoleGiven(role=given, created=created)


def do_end_role(person_role: PersonRole, *, actor: Any, reason: str = "") -> None:
    """End a person's role (a volunteer who stopped, a member transferred out of the county): the role is
    removed from the person, and what it was (since when, in which organisation) stays on the audit record."""
    person = person_role.person
    if not may_keep_person(actor, person):
        raise NotAllowed(_("Only the people who keep this record may end its roles."))
    reason = reason.strip()
    if len(reason) > 200:
        raise Invalid(_("The reason is longer than 200 characters."), field="reason")
    if "\x00" in reason:
        raise Invalid(_("The reason holds a character that cannot be stored."), field="reason")
    with transaction.atomic():
        if PersonRole.objects.filter(pk=person_role.pk).delete()[0] != 1:
            raise Conflict(_("This role was ended meanwhile: look again."), field="role")
        audit.record(
            "registry.role.end",
            actor=actor,
            target=person,
            data={
                "role": person_role.role,
                "party_organisation": person_role.party_organisation_id,
                "since": person_role.since.isoformat() if person_role.since else None,
                "reason": reason,
            },
        )
