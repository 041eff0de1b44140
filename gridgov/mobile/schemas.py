from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema

from gridgov.cases.schemas import Candidate, Latitude, Longitude


class PhoneIn(Schema):
    phone: str


class CodeSent(Schema):
    sent: bool
    # Seconds before another code may be asked for.
    resend_after: int


class VerifyIn(Schema):
    phone: str
    code: str
    # The resident agreed to the privacy notice shown with the form (required on the first sign-in).
    consent: bool = False


class LoginIn(Schema):
    username: str
    password: str


class MyGrid(Schema):
    id: int
    code: str
    name: str
    level: int


class Me(Schema):
    id: int
    name: str
    # Masked (138****1234); empty for staff and account holders without a verified phone.
    phone: str
    kind: str  # "resident" | "staff"
    roles: list[str]
    grids: list[MyGrid]
    # Holds a level-3 grid role: patrols, self-handling and on-the-spot verification.
    can_patrol: bool
    # Holds the volunteer role: the volunteer's screens (their teams' tasks, activities, hours).
    can_volunteer: bool
    # Holds the mediator role: the mediator's screens (their open disputes, sessions, follow-up visits).
    can_mediate: bool
    language: str
    privacy_notice: str


class ItemOut(Schema):
    code: str
    name: str


class ModuleOut(Schema):
    code: str
    name: str
    items: list[ItemOut]


class CatalogOut(Schema):
    modules: list[ModuleOut]


class NearbyQuery(Schema):
    lon: Longitude
    lat: Latitude
    crs: str = "wgs84"
    item: str


class NearbyOut(Schema):
    radius_m: float
    candidates: list[Candidate]


class GridShape(MyGrid):
    geometry: dict[str, Any] | None


class MapCase(Schema):
    number: str
    state: str
    state_label: str
    colour: str
    item: str
    lon: float | None
    lat: float | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    # What the grid worker is asked to do: "verify" (handled, check on the spot), "self_handle" (reported
    # at level 3: settle it in the grid), or "".
    task: str
    excerpt: str


class GridOut(Schema):
    grids: list[GridShape]
    cases: list[MapCase]
    # More open cases than the map shows (the newest are shown).
    truncated: bool


class Choice(Schema):
    code: str
    name: str


class FieldworkOut(Schema):
    """What the grid worker's fieldwork forms offer, kept on the phone for use without a signal."""

    # Why a visit is made (走访).
    purposes: list[Choice]
    # The registry's code tables for registering a person: documents, GB/T 2261.1 genders, GB/T 3304
    # ethnicities, relations to the head of the household, kinds of residence.
    document_kinds: list[Choice]
    genders: list[Choice]
    ethnicities: list[Choice]
    relations: list[Choice]
    residences: list[Choice]
    # Empty for those who may not name key groups.
    key_groups: list[Choice]
    # The current level-3 grids where the worker registers people and visits.
    grids: list[MyGrid]
