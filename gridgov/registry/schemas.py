"""Pydantic schemas of the registry API: the filters of its lists, the forms that change it, and what it
answers. Personal numbers are always masked here; the full number only comes from `…/unmask` (`Unmasked`).

Codes (gender, ethnicity, documents, relations…) travel as the national or registry code with its translated
label beside it. A form takes codes as plain strings so that the registry's own checks can name every bad field
of a person at once (422 `errors`), rather than stopping at the first code pydantic would refuse."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from gridgov.core.schemas import GridCode, Id, optional

from .choices import (
    ComponentState,
    KeyGroup,
    OrganisationKind,
    OrganisationState,
    PartyOrgKind,
    PersonState,
    Residence,
)
from .codes import DocumentKind

# Reasons are kept on the move history (200 characters) and on the audit record.
Reason = Annotated[str, Field(max_length=200)]


# ------------------------------------------------------------------------------------------------- parts


class Label(Schema):
    """A code and its label in the caller's language."""

    code: str
    label: str


class GridName(Schema):
    code: str
    name: str


# ------------------------------------------------------------------------------------------------- persons


class PersonQuery(Schema):
    # The start of a name, or a whole mobile or document number (matched exactly, never decrypted).
    q: str | None = optional(max_length=100)
    grid: GridCode | None = optional()  # a grid code: the persons of its subtree
    residence: Residence | None = optional()
    # Only for those who see key groups (the grid and the village); others get an empty list.
    key_group: KeyGroup | None = optional()
    state: PersonState | None = optional()


class PersonItem(Schema):
    id: int
    name: str
    gender: str
    gender_label: str
    ethnicity: str
    ethnicity_label: str
    age: int | None
    document_kind: str
    document_kind_label: str
    document: str  # masked
    phone: str  # masked
    grid: GridName
    household: str | None  # household number
    residence: str
    residence_label: str
    state: str
    state_label: str
    # Null when the caller may not see key groups (above the village); a list (maybe empty) otherwise.
    key_groups: list[Label] | None


class PersonPage(Schema):
    items: list[PersonItem]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


class MoveOut(Schema):
    from_grid: GridName | None
    to_grid: GridName
    moved_at: dt.datetime
    kind: str
    kind_label: str
    reason: str


class MemberOut(Schema):
    """A member of a household, masked."""

    id: int
    name: str
    relation: str
    relation_label: str
    gender_label: str
    age: int | None
    document: str
    phone: str


class HouseholdRef(Schema):
    id: int
    number: str
    address: str


class PersonDetail(PersonItem):
    name_mongolian: str
    address: str
    relation: str
    relation_label: str
    source: str
    source_label: str
    household_ref: HouseholdRef | None
    # Whether the caller may read a masked number in full (`POST …/unmask`, with a reason).
    may_unmask: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    moves: list[MoveOut]
    # The other members of the household the caller may see.
    household_members: list[MemberOut]


class PersonIn(Schema):
    """Register a person in one of the caller's level-3 grids, or find them again by their document and bring
    the record up to date. Codes as the standards write them: gender GB/T 2261.1 (0, 1, 2, 9; taken from an ID
    number when left out), ethnicity GB/T 3304 (01–56, 97, 98), relation and residence as the registry's."""

    name: str = Field(..., max_length=200)
    grid: GridCode
    document_kind: str = Field(DocumentKind.ID_CARD.value, max_length=30)
    document_number: str = Field("", max_length=60)
    name_mongolian: str = Field("", max_length=300)
    gender: str = Field("", max_length=2)
    ethnicity: str = Field("", max_length=3)
    birth_date: dt.date | None = optional(ge=dt.date(1800, 1, 1), le=dt.date(2999, 12, 31))
    phone: str = Field("", max_length=30)
    household: str | None = optional(max_length=30)  # household number
    relation: str = Field("", max_length=20)
    residence: str = Field(Residence.REGISTERED.value, max_length=20)
    address: str = Field("", max_length=400)
    lon: float | None = optional(ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = optional(ge=-90, le=90, allow_inf_nan=False)
    key_groups: list[Annotated[str, Field(max_length=30)]] = Field(default_factory=list, max_length=20)
    # Why (kept on the move history when the person comes from another grid).
    reason: Reason = ""


class RegisteredOut(Schema):
    # True: a new record (201); false: found again by the document and brought up to date (200).
    created: bool
    # Found in another grid and moved into this one.
    moved: bool
    person: PersonDetail


class MoveIn(Schema):
    grid: GridCode  # a current level-3 grid
    reason: Reason


class UnmaskIn(Schema):
    what: Literal["document_number", "phone"]
    # Why the full number is needed: kept on the audit record.
    reason: Reason


class Unmasked(Schema):
    what: str
    value: str


# ------------------------------------------------------------------------------------------------- households


class HouseholdQuery(Schema):
    q: str | None = optional(max_length=100)  # the household number, or words of the address
    grid: GridCode | None = optional()


class HouseholdItem(Schema):
    id: int
    number: str
    grid: GridName
    house_number: str
    address: str
    members: int


class HouseholdPage(Schema):
    items: list[HouseholdItem]
    has_more: bool
    next_before: int | None


class HouseholdDetail(HouseholdItem):
    people: list[MemberOut]


# ------------------------------------------------------------------------------------------------- organisations


class OrganisationQuery(Schema):
    q: str | None = optional(max_length=100)  # the start of the name, or the unified social credit code
    grid: GridCode | None = optional()
    kind: OrganisationKind | None = optional()
    state: OrganisationState | None = optional()


class OrganisationItem(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    credit_code: str
    representative: str
    phone: str  # masked
    address: str
    employees: int | None
    state: str
    state_label: str
    grid: GridName


class OrganisationPage(Schema):
    items: list[OrganisationItem]
    has_more: bool
    next_before: int | None


# ------------------------------------------------------------------------------------------------- components


class ComponentQuery(Schema):
    grid: GridCode | None = optional()
    item: str | None = optional(max_length=8)  # the class: an item code of the responsibility list
    state: ComponentState | None = optional()


class ComponentItem(Schema):
    id: int
    object_id: str
    item: Label
    name: str
    location: str
    owner_department: Label | None
    owner_unit: str
    maintainer_department: Label | None
    state: str
    state_label: str
    installed_on: dt.date | None
    grid: GridName


class ComponentPage(Schema):
    items: list[ComponentItem]
    has_more: bool
    next_before: int | None


# ------------------------------------------------------------------------------------------------- figures


class FiguresQuery(Schema):
    grid: GridCode | None = optional()  # left out: the caller's own grid


class GridFigures(Schema):
    grid: GridName
    level: int
    persons: int
    households: int
    buildings: int
    organisations: int
    components: int
    # People per key group: counts, never names.
    key_groups: dict[str, int]


class FiguresOut(Schema):
    grid: GridName
    level: int
    totals: GridFigures
    # The grids directly below, each with the roll-up of its subtree (empty for a level-3 grid).
    children: list[GridFigures]
    key_group_labels: list[Label]


# ------------------------------------------------------------------------------------------ party and roles


class NamedRecord(Schema):
    """A record named by its id and name."""

    id: int
    name: str


class PartyOrganisationQuery(Schema):
    grid: GridCode | None = optional()  # a grid code: the organisations of its subtree
    kind: PartyOrgKind | None = optional()


class PartyOrganisationItem(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    grid: GridName
    # The organisation it is under (a name only when outside the caller's view: the town's committee).
    parent: NamedRecord | None
    secretary: NamedRecord | None
    # Its party members the caller sees.
    members: int


class PartyOrganisationPage(Schema):
    items: list[PartyOrganisationItem]
    has_more: bool
    next_before: int | None


class RoleIn(Schema):
    """Give a person a role in the grid, or bring one they hold up to date. `role`: party_member, volunteer,
    mediator or grid_worker; `party_organisation` (an id) for party members only; `since`: the day it began."""

    role: str = Field(..., max_length=30)
    party_organisation: Id | None = optional()
    since: dt.date | None = optional(ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))


class RoleOut(Schema):
    role: str
    role_label: str
    party_organisation: NamedRecord | None
    since: dt.date | None


class RolesOut(Schema):
    items: list[RoleOut]
    # Whether the caller may give and end this person's roles.
    may_change: bool


class RoleGivenOut(Schema):
    # True: a new role (201); false: the person held it, brought up to date (200).
    created: bool
    role: RoleOut


class EndRoleQuery(Schema):
    reason: Reason | None = optional()  # kept on the audit record
