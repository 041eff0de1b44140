"""The phone app's API: phone sign-in, who am I, the item picker, "already reported nearby?", my grid, and what
the grid worker's fieldwork forms offer.

Reports, my reports, a case's story and its actions go through the case API (/api/cases/), like every
channel; this router holds only what the phone needs besides. Sign-in answers are not scoped (nobody is
signed in yet) but still demand the CSRF token, so another site cannot sign a phone in to its account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Form, Query, Router, Status
from ninja.errors import HttpError
from ninja.utils import check_csrf

from gridgov.accounts.backends import client_ip
from gridgov.accounts.choices import Role
from gridgov.cases import selectors
from gridgov.cases.api import READ_ERRORS, WRITE_ERRORS, candidates
from gridgov.cases.choices import OPEN_STATES, State
from gridgov.cases.duplicates import find_duplicates
from gridgov.cases.errors import Invalid
from gridgov.cases.models import Case
from gridgov.cases.schemas import Error
from gridgov.cases.scoping import grid_filter, held_roles, staff_roles
from gridgov.cases.services import wgs84_point
from gridgov.cases.story import item_fields
from gridgov.catalog.models import Item, Module
from gridgov.catalog.selectors import active_item
from gridgov.core.masking import mask_phone
from gridgov.fieldwork.choices import VisitPurpose
from gridgov.fieldwork.scoping import (
    WORKER_ROLES,  # the grid workers: patrols, self-handling, verifying
    worker_grid_ids,
)
from gridgov.grids.models import Grid
from gridgov.registry.choices import KeyGroup, Relation, Residence
from gridgov.registry.codes import DocumentKind, Ethnicity, Gender
from gridgov.registry.scoping import sees_key_groups

from . import phone
from .schemas import (
    CatalogOut,
    Choice,
    CodeSent,
    FieldworkOut,
    GridOut,
    GridShape,
    ItemOut,
    LoginIn,
    MapCase,
    Me,
    ModuleOut,
    MyGrid,
    NearbyOut,
    NearbyQuery,
    PhoneIn,
    VerifyIn,
)

router = Router(tags=["mobile"])

MAP_CASES = 300
EXCERPT = 60
SIGN_IN_ERRORS: dict[int, Any] = {k: v for k, v in WRITE_ERRORS.items() if k != 401}


def _csrf(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise HttpError(403, "CSRF verification failed")


def _me(request: HttpRequest) -> Me:
    user: Any = request.user
    held = held_roles(user)
    staff = staff_roles(user)
    grid_ids = [h.grid_id for h in held if h.grid_id]
    grids = Grid.objects.filter(pk__in=grid_ids).only("code", "name", "level").order_by("code")
    masked = mask_phone(phone.phone_of(user))
    return Me(
        id=user.pk,
        name=masked or str(user),
        phone=masked,
        kind="staff" if staff else "resident",
        roles=sorted({h.role for h in held}),
        grids=[MyGrid(id=g.pk, code=g.code, name=g.name, level=g.level) for g in grids],
        can_patrol=any(h.role in WORKER_ROLES for h in held),
        can_volunteer=any(h.role == Role.VOLUNTEER for h in held),
        can_mediate=any(h.role == Role.MEDIATOR for h in held),
        language=user.language,
        privacy_notice=phone.PRIVACY_NOTICE_VERSION,
    )


def _signed_in(request: HttpRequest, user: Any) -> Me:
    auth.login(request, user, backend=getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]))
    return _me(request)


@router.post(
    "/code", response={200: CodeSent, 429: Error, **SIGN_IN_ERRORS}, auth=None, summary="Send a code"
)
def send_code(request: HttpRequest, payload: Form[PhoneIn]):
    """Send a six-digit sign-in code by SMS to a mobile number. 429 when asked too often."""
    _csrf(request)
    return CodeSent(sent=True, resend_after=phone.request_code(payload.phone, ip=client_ip(request)))


@router.post("/verify", response={200: Me, **SIGN_IN_ERRORS}, auth=None, summary="Sign in with the code")
def verify(request: HttpRequest, payload: Form[VerifyIn]):
    """Sign in with the phone number and the code: the first time, with `consent` to the privacy notice, the
    resident's record is made. 422 names `code`, `consent` or `phone`."""
    _csrf(request)
    user = phone.verify_code(payload.phone, payload.code, consent=payload.consent, ip=client_ip(request))
    return _signed_in(request, user)


@router.post("/login", response={200: Me, **SIGN_IN_ERRORS}, auth=None, summary="Sign in with a password")
def login(request: HttpRequest, payload: Form[LoginIn]):
    """Staff and residents with an account. The sign-in policy of the workbench applies (locked after
    repeated failures); 422 names `password` (a NUL anywhere is refused before, naming its field:
    core.middleware)."""
    _csrf(request)
    user = auth.authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise Invalid(_("The username or the password is wrong, or the account is locked."), field="password")
    return _signed_in(request, user)


@router.post("/logout", response={204: None, **READ_ERRORS}, summary="Sign out")
def logout(request: HttpRequest):
    auth.logout(request)
    return Status(204, None)


@router.get("/me", response={200: Me, **READ_ERRORS}, summary="Who is signed in")
def me(request: HttpRequest):
    return _me(request)


@router.get("/catalog", response={200: CatalogOut, **READ_ERRORS}, summary="What can be reported")
def catalog(request: HttpRequest):
    """The active items of the responsibility list by module, for the report screen's picker."""
    items: dict[int, list[ItemOut]] = {}
    for item in Item.objects.filter(active=True).order_by("code"):
        items.setdefault(item.module_id, []).append(ItemOut(code=item.code, name=item.label))
    modules = [
        ModuleOut(code=m.code, name=m.label, items=items[m.pk])
        for m in Module.objects.order_by("code")
        if m.pk in items
    ]
    return CatalogOut(modules=modules)


@router.get("/nearby", response={200: NearbyOut, **READ_ERRORS}, summary="Already reported nearby?")
def nearby(request: HttpRequest, query: Query[NearbyQuery]):
    """Open cases of the same item near the point, reported lately (the duplicate rule of intake), each with
    the token to say "me too" instead of reporting again."""
    item = active_item(query.item.strip())
    if item is None:
        raise Invalid(
            _("The responsibility list has no active item %(code)s.") % {"code": query.item}, field="item"
        )
    lon, lat = wgs84_point(query.lon, query.lat, query.crs)
    # A confidential report is not offered to strangers: its excerpt could tell who made it.
    found = [c for c in find_duplicates(item.pk, lon, lat, timezone.now()) if not c.case.confidential]
    return NearbyOut(radius_m=settings.CASE_DUPLICATE_RADIUS_M, candidates=candidates(found, request.user))


def _task(case: Case, field_worker: bool) -> str:
    if not field_worker:
        return ""
    if case.state == State.HANDLED:
        return "verify"
    if case.state == State.REPORTED and case.level == 3:
        return "self_handle"
    return ""


@router.get("/grid", response={200: GridOut, **READ_ERRORS}, summary="My grid")
def my_grid(request: HttpRequest):
    """The grids the caller is assigned to, with their boundaries, and the open cases in them (newest first,
    up to 300) with what the grid worker is asked to do about each. Staff only (403 for residents)."""
    user: Any = request.user
    held = [h for h in held_roles(user) if h.grid_id and h.role != Role.RESIDENT]
    if not held:
        raise HttpError(403, "forbidden")
    field_worker = any(h.role in WORKER_ROLES for h in held)
    grids = Grid.objects.filter(pk__in={h.grid_id for h in held}).order_by("code")
    where = None
    for h in held:
        q = grid_filter(h.grid_path)
        where = q if where is None else where | q
    open_cases = (
        selectors.visible_cases(user)
        .filter(where, state__in=OPEN_STATES)
        .select_related("item", "grid", "lead_department")
        .defer("grid__geometry")  # a polygon per row, for nothing
        .order_by("-id")
    )
    rows = list(open_cases[: MAP_CASES + 1])
    now = timezone.now()
    cases = []
    for case in rows[:MAP_CASES]:
        fields = item_fields(case, now)
        text = " ".join(case.description.split())
        cases.append(
            MapCase(
                number=case.number,
                state=case.state,
                state_label=fields["state_label"],
                colour=fields["colour"],
                item=fields["item"].name if fields["item"] else "",
                lon=case.lon,
                lat=case.lat,
                created_at=fields["created_at"],
                due_at=fields["due_at"],
                task=_task(case, field_worker),
                excerpt=text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…",
            )
        )
    return GridOut(
        grids=[
            GridShape(id=g.pk, code=g.code, name=g.name, level=g.level, geometry=g.geometry) for g in grids
        ],
        cases=cases,
        truncated=len(rows) > MAP_CASES,
    )


def _choices(choices: Any) -> list[Choice]:
    return [Choice(code=str(code), name=str(name)) for code, name in choices.choices]


@router.get(
    "/fieldwork", response={200: FieldworkOut, **READ_ERRORS}, summary="What the fieldwork forms offer"
)
def fieldwork(request: HttpRequest):
    """For grid workers (grid specialists and information officers of a level-3 grid; 403 for anybody else):
    the purposes of a visit, the registry's code tables for registering a person (key groups only to those
    who may name them), and the current grids where they work. The phone keeps it, so that its forms work
    without a signal; the labels are in the caller's language."""
    user: Any = request.user
    grid_ids = worker_grid_ids(user)
    if not grid_ids:
        raise HttpError(403, "forbidden")
    grids = Grid.objects.current().filter(pk__in=grid_ids).only("code", "name", "level").order_by("code")
    return FieldworkOut(
        purposes=_choices(VisitPurpose),
        document_kinds=_choices(DocumentKind),
        genders=_choices(Gender),
        ethnicities=_choices(Ethnicity),
        relations=_choices(Relation),
        residences=_choices(Residence),
        key_groups=_choices(KeyGroup) if sees_key_groups(user) else [],
        grids=[MyGrid(id=g.pk, code=g.code, name=g.name, level=g.level) for g in grids],
    )
