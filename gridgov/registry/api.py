"""The registry API (人、事、物): persons, households, organisations, components and the figures of a grid.

Parse, call a selector or a service, shape the answer. Every read starts from `visible_to` (through
`selectors` where they have one), so a record outside the caller's scope answers 404 exactly like one that
does not exist; 403 only when the caller sees the record but may not do this to it. Personal numbers are masked
in every answer; `POST /persons/{id}/unmask` reads one in full, for the record's keepers, with a reason, on the
audit record. Key groups are named only to those who work at the village or the grid; above, counts only.

Forms are `multipart/form-data` or urlencoded, like the case API's."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from ninja import Form, Query, Router, Status

from gridgov.core.audit import client_ip
from gridgov.core.choices import label
from gridgov.core.errors import Invalid, NotAllowed
from gridgov.core.paging import newest_first
from gridgov.core.schemas import READ_ERRORS, WRITE_ERRORS, Id, PageQuery
from gridgov.core.scoping import get_visible_or_404, visible_to
from gridgov.grids.models import Grid

from . import selectors, services
from .choices import KeyGroup, PersonState, Relation, Residence, Source
from .codes import DocumentKind, Ethnicity, Gender
from .models import Household, PartyOrganisation, Person, PersonMove, PersonRole
from .schemas import (
    ComponentItem,
    ComponentPage,
    ComponentQuery,
    EndRoleQuery,
    FiguresOut,
    FiguresQuery,
    GridFigures,
    GridName,
    HouseholdDetail,
    HouseholdItem,
    HouseholdPage,
    HouseholdQuery,
    HouseholdRef,
    Label,
    MemberOut,
    MoveIn,
    MoveOut,
    NamedRecord,
    OrganisationItem,
    OrganisationPage,
    OrganisationQuery,
    PartyOrganisationItem,
    PartyOrganisationPage,
    PartyOrganisationQuery,
    PersonDetail,
    PersonIn,
    PersonItem,
    PersonPage,
    PersonQuery,
    RegisteredOut,
    RoleGivenOut,
    RoleIn,
    RoleOut,
    RolesOut,
    Unmasked,
    UnmaskIn,
)
from .scoping import keeper_reach, reads_registry, sees_key_groups
from .selectors import (
    Figures,
    age_of,
    figures_grid,
    figures_of,
    filtered_grid,
    grid_by_code,
    key_groups_for,
    person_for,
)

router = Router(tags=["registry"])

# ------------------------------------------------------------------------------------------------- shaping


def _grid(grid: Grid) -> GridName:
    return GridName(code=grid.code, name=grid.name)


def _groups(codes: list[str] | None) -> list[Label] | None:
    if codes is None:
        return None
    return [Label(code=g, label=label(KeyGroup, g)) for g in codes]


def _person_fields(person: Person, key_groups: list[str] | None) -> dict[str, Any]:
    return {
        "id": person.pk,
        "name": person.name,
        "gender": person.gender,
        "gender_label": label(Gender, person.gender),
        "ethnicity": person.ethnicity,
        "ethnicity_label": label(Ethnicity, person.ethnicity) if person.ethnicity else "",
        "age": age_of(person.birth_date),
        "document_kind": person.document_kind,
        "document_kind_label": label(DocumentKind, person.document_kind),
        "document": person.document_masked,
        "phone": person.phone_masked,
        "grid": _grid(person.grid),
        "household": person.household.number if person.household_id and person.household else None,
        "residence": person.residence,
        "residence_label": label(Residence, person.residence),
        "state": person.state,
        "state_label": label(PersonState, person.state),
        "key_groups": _groups(key_groups),
    }


def _items(user: Any, persons: list[Person]) -> list[PersonItem]:
    groups = key_groups_for(user, persons)
    return [PersonItem(**_person_fields(p, groups[p.pk])) for p in persons]


def _member(person: Person) -> MemberOut:
    return MemberOut(
        id=person.pk,
        name=person.name,
        relation=person.relation,
        relation_label=label(Relation, person.relation) if person.relation else "",
        gender_label=label(Gender, person.gender),
        age=age_of(person.birth_date),
        document=person.document_masked,
        phone=person.phone_masked,
    )


def _detail(user: Any, person: Person) -> PersonDetail:
    groups = None
    if sees_key_groups(user, person):
        groups = selectors.key_groups_of(user, person)
    moves = (
        visible_to(user, PersonMove)
        .filter(person=person)
        .select_related("from_grid", "to_grid")
        .defer("from_grid__geometry", "to_grid__geometry")
        .order_by("-moved_at", "-id")
    )
    members: list[Person] = []
    if person.household_id:
        members = list(
            visible_to(user, Person)
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)
            .defer("document_enc", "phone_enc")
            .order_by("id")
        )
    household = person.household if person.household_id else None
    return PersonDetail(
        **_person_fields(person, groups),
        name_mongolian=person.name_mongolian,
        address=person.address,
        relation=person.relation,
        relation_label=label(Relation, person.relation) if person.relation else "",
        source=person.source,
        source_label=label(Source, person.source),
        household_ref=HouseholdRef(id=household.pk, number=household.number, address=household.address)
        if household is not None
        else None,
        may_unmask=services.may_unmask(user, person),
        version=person.version,
        created_at=timezone.localtime(person.created_at),
        updated_at=timezone.localtime(person.updated_at),
        moves=[
            MoveOut(
                from_grid=_grid(m.from_grid) if m.from_grid is not None else None,
                to_grid=_grid(m.to_grid),
                moved_at=timezone.localtime(m.moved_at),
                kind=m.kind,
                kind_label=m.get_kind_display(),
                reason=m.reason,
            )
            for m in moves
        ],
        household_members=[_member(m) for m in members],
    )


def _next_before(rows: list[Any], more: bool) -> int | None:
    """The `next_before` a client asks for the next page with (None: the last page)."""
    return rows[-1].pk if more else None


def _invalid(problems: list[services.Problem]) -> dict[str, Any]:
    """422 naming every bad field (the first one in `field` and `message`)."""
    first = problems[0]
    return {
        "code": "invalid",
        "message": first.message,
        "field": first.field,
        "detail": first.message,
        "errors": [
            {"field": p.field, "message": p.message, "loc": ["form", p.field], "type": "invalid"}
            for p in problems
        ],
    }


# ------------------------------------------------------------------------------------------------- persons


@router.get(
    "/persons", response={200: PersonPage, **READ_ERRORS}, url_name="registry_persons", summary="Persons"
)
def person_list(request: HttpRequest, filters: Query[PersonQuery], page: Query[PageQuery]):
    """The persons the caller may see, newest first. `q` is the start of a name, or a whole mobile or document
    number (found through its blind index, exactly). Paged by `before` (the `next_before` of the previous
    page); `has_more` says whether another page follows. Numbers are masked; `key_groups` is null for callers
    above the village."""
    user: Any = request.user
    grid, unknown = filtered_grid(user, filters.grid)
    if unknown:
        return PersonPage(items=[], has_more=False, next_before=None)
    f = selectors.PersonFilter(
        q=filters.q or "",
        grid=grid,
        residence=filters.residence or "",
        key_group=filters.key_group or "",
        state=filters.state or "",
    )
    rows, more = selectors.persons(user, f, before=page.before, limit=page.limit)
    return PersonPage(items=_items(user, rows), has_more=more, next_before=_next_before(rows, more))


@router.get(
    "/persons/{person_id}",
    response={200: PersonDetail, **READ_ERRORS},
    url_name="registry_person",
    summary="A person",
)
def person_detail(request: HttpRequest, person_id: Id):
    """A person, masked, with their moves between grids (newest first) and the other members of their
    household; `may_unmask` says whether the caller may read a number in full."""
    user: Any = request.user
    return _detail(user, person_for(user, person_id))


@router.post(
    "/persons",
    response={200: RegisteredOut, 201: RegisteredOut, **WRITE_ERRORS},
    url_name="registry_register",
    summary="Register a person",
)
def register(request: HttpRequest, payload: Form[PersonIn]):
    """Register a person in one of the caller's level-3 grids (`grid`, a code), in a household of theirs
    (`household`, its number). 201 with the new record; 200 when the document was registered before: the same
    record, brought up to date (and moved here from another grid, with the move in its history). 422 names every
    bad field (`errors`); 403 for callers who do not keep a grid's records (information officers, grid
    specialists and village heads do); 409 when the same person was registered at the same moment."""
    user: Any = request.user
    keeper = keeper_reach(user)
    if not keeper:
        raise NotAllowed(_("Only the grid's and the village's keepers register people."))
    problems: list[services.Problem] = []
    grid = grid_by_code(user, payload.grid)
    if grid is None or grid.level != 3 or not keeper.covers(grid):
        problems.append(services.Problem("grid", _("Choose one of your grids.")))
        grid = None
    household = None
    if payload.household:
        household = visible_to(user, Household).filter(number=payload.household.strip()).first()
        if household is None:
            problems.append(services.Problem("household", _("No household with this number in your grids.")))
    data = services.PersonInput(
        name=payload.name,
        grid=grid,
        document_kind=payload.document_kind,
        document_number=payload.document_number,
        name_mongolian=payload.name_mongolian,
        gender=payload.gender,
        ethnicity=payload.ethnicity,
        birth_date=payload.birth_date,
        phone=payload.phone,
        household=household,
        relation=payload.relation,
        residence=payload.residence,
        address=payload.address,
        lon=payload.lon,
        lat=payload.lat,
        key_groups=payload.key_groups,
        # What a grid worker registers in their grid is collected in the field; the rest at the office.
        source=services.source_for(user, grid) if grid is not None else Source.ADMIN,
    )
    if problems:
        return Status(422, _invalid(services.person_problems(data, problems)))
    try:
        result = services.do_register_person(data, actor=user, reason=payload.reason)
    except Invalid as exc:
        return Status(422, _invalid(services.problems_of(exc)))
    person = person_for(user, result.person.pk)
    out = RegisteredOut(created=result.created, moved=result.moved, person=_detail(user, person))
    return Status(201 if result.created else 200, out)


@router.post(
    "/persons/{person_id}/move",
    response={200: PersonDetail, **WRITE_ERRORS},
    url_name="registry_move",
    summary="Move a person to another grid",
)
def move(request: HttpRequest, person_id: Id, payload: Form[MoveIn]):
    """The person moved house inside the caller's grids: `grid` (a current level-3 grid code of theirs) and
    `reason` go on the move history. Someone who moved further is registered by the grid they moved to (the
    record is found again by its document and follows). 403 for callers who see the person but do not keep
    their record."""
    user: Any = request.user
    person = person_for(user, person_id)
    if not services.may_unmask(user, person):
        raise NotAllowed(_("Only the people who keep this record may move it."))
    grid = grid_by_code(user, payload.grid)
    if grid is None or not keeper_reach(user).covers(grid):
        raise Invalid(
            _(
                "Choose one of your grids: a person who moved further is registered by the grid they moved to."
            ),
            field="grid",
        )
    services.do_move_person(person, grid, actor=user, reason=payload.reason)
    return _detail(user, person_for(user, person_id))


@router.post(
    "/persons/{person_id}/unmask",
    response={200: Unmasked, **WRITE_ERRORS},
    url_name="registry_unmask",
    summary="Read a masked number in full (keepers; audited)",
)
def unmask(request: HttpRequest, response: HttpResponse, person_id: Id, payload: Form[UnmaskIn]):
    """One number of the person in full (`what`: `document_number` or `phone`; empty when none is on record),
    for those who keep the record, with the `reason` they need it for: the reading, the field and the reason
    go on the audit record. 403 for callers who see the person but may not read their numbers in full (heads
    of towns, operators, leaders); 422 without a reason."""
    user: Any = request.user
    person = person_for(user, person_id)
    value = services.do_unmask(person, payload.what, actor=user, reason=payload.reason, ip=client_ip(request))
    response["Cache-Control"] = "no-store"
    return Unmasked(what=payload.what, value=value)


# ------------------------------------------------------------------------------------------------- households


def _household(household: Household) -> dict[str, Any]:
    return {
        "id": household.pk,
        "number": household.number,
        "grid": _grid(household.grid),
        "house_number": household.house_number,
        "address": household.address,
        "members": household.members,
    }


@router.get(
    "/households",
    response={200: HouseholdPage, **READ_ERRORS},
    url_name="registry_households",
    summary="Households",
)
def household_list(request: HttpRequest, filters: Query[HouseholdQuery], page: Query[PageQuery]):
    """The households the caller may see, newest first; `q` is the household number or words of the address."""
    user: Any = request.user
    grid, unknown = filtered_grid(user, filters.grid)
    if unknown:
        return HouseholdPage(items=[], has_more=False, next_before=None)
    rows, more = selectors.households(
        user, grid=grid, q=filters.q or "", before=page.before, limit=page.limit
    )
    return HouseholdPage(
        items=[HouseholdItem(**_household(h)) for h in rows],
        has_more=more,
        next_before=_next_before(rows, more),
    )


@router.get(
    "/households/{household_id}",
    response={200: HouseholdDetail, **READ_ERRORS},
    url_name="registry_household",
    summary="A household",
)
def household_detail(request: HttpRequest, household_id: Id):
    """A household with the members the caller may see, masked."""
    user: Any = request.user
    household = get_visible_or_404(
        user, Household.objects.select_related("grid").defer("grid__geometry"), pk=household_id
    )
    people = (
        visible_to(user, Person).filter(household=household).defer("document_enc", "phone_enc").order_by("id")
    )
    return HouseholdDetail(**_household(household), people=[_member(p) for p in people])


# ------------------------------------------------------------------------------------------------- things


@router.get(
    "/organisations",
    response={200: OrganisationPage, **READ_ERRORS},
    url_name="registry_organisations",
    summary="Organisations",
)
def organisation_list(request: HttpRequest, filters: Query[OrganisationQuery], page: Query[PageQuery]):
    """Shops, enterprises, social organisations and public bodies the caller may see, newest first; `q` is the
    start of the name or a whole unified social credit code. Phones are masked."""
    user: Any = request.user
    grid, unknown = filtered_grid(user, filters.grid)
    if unknown:
        return OrganisationPage(items=[], has_more=False, next_before=None)
    f = selectors.OrganisationFilter(
        q=filters.q or "", grid=grid, kind=filters.kind or "", state=filters.state or ""
    )
    rows, more = selectors.organisations(user, f, before=page.before, limit=page.limit)
    items = [
        OrganisationItem(
            id=o.pk,
            name=o.name,
            kind=o.kind,
            kind_label=o.get_kind_display(),
            credit_code=o.credit_code,
            representative=o.representative,
            phone=o.phone_masked,
            address=o.address,
            employees=o.employees,
            state=o.state,
            state_label=o.get_state_display(),
            grid=_grid(o.grid),
        )
        for o in rows
    ]
    return OrganisationPage(items=items, has_more=more, next_before=_next_before(rows, more))


def _ref(obj: Any) -> Label | None:
    return Label(code=obj.code, label=obj.label) if obj is not None else None


@router.get(
    "/components",
    response={200: ComponentPage, **READ_ERRORS},
    url_name="registry_components",
    summary="Components",
)
def component_list(request: HttpRequest, filters: Query[ComponentQuery], page: Query[PageQuery]):
    """Components and facilities (部件) the caller may see, newest first: by grid, class (`item`, an item code
    of the responsibility list) and state. A department's handlers see those their unit owns or maintains."""
    user: Any = request.user
    grid, unknown = filtered_grid(user, filters.grid)
    if unknown:
        return ComponentPage(items=[], has_more=False, next_before=None)
    f = selectors.ComponentFilter(grid=grid, item=filters.item or "", state=filters.state or "")
    rows, more = selectors.components(user, f, before=page.before, limit=page.limit)
    items = [
        ComponentItem(
            id=c.pk,
            object_id=c.object_id,
            item=Label(code=c.item.code, label=c.item.label),
            name=c.name,
            location=c.location,
            owner_department=_ref(c.owner_department),
            owner_unit=c.owner_unit,
            maintainer_department=_ref(c.maintainer_department),
            state=c.state,
            state_label=c.get_state_display(),
            installed_on=c.installed_on,
            grid=_grid(c.grid),
        )
        for c in rows
    ]
    return ComponentPage(items=items, has_more=more, next_before=_next_before(rows, more))


# ------------------------------------------------------------------------------------------------- figures


def _figures(f: Figures) -> GridFigures:
    return GridFigures(
        grid=_grid(f.grid),
        level=f.grid.level,
        persons=f.persons,
        households=f.households,
        buildings=f.buildings,
        organisations=f.organisations,
        components=f.components,
        key_groups=f.key_groups,
    )


@router.get(
    "/figures",
    response={200: FiguresOut, **READ_ERRORS},
    url_name="registry_figures",
    summary="Figures of a grid",
)
def figures(request: HttpRequest, query: Query[FiguresQuery]):
    """What the registry holds in a grid (`grid`, a code; left out: the caller's own) and in each grid directly
    below it: persons, households, buildings, organisations, components, and the people of each key group —
    counts only, for every reader of the grid. 404 for a grid outside the caller's registry. One grouped query
    per kind of record, however many grids are below."""
    user: Any = request.user
    grid, _other_roots = figures_grid(user, query.grid or "")
    totals, children = figures_of(user, grid)
    return FiguresOut(
        grid=_grid(grid),
        level=grid.level,
        totals=_figures(totals),
        children=[_figures(c) for c in children],
        key_group_labels=[Label(code=g, label=str(words)) for g, words in KeyGroup.choices],
    )


class FiguresForMap:
    """The registry's figures on the grid map (`grids.signals.MapFigures`, registered in `apps.py`): the map
    asks this endpoint once per grid it opens, for the grid and the grids below it, and shows them with these
    words. Nothing for a user who reads no registry: the map stays as it is."""

    def for_map(self, user: Any) -> dict[str, Any] | None:
        if not reads_registry(user):
            return None
        return {
            "url": reverse("api:registry_figures"),
            "text": {
                "title": _("Registry"),
                "scope": _("records in your view"),
                "persons": _("Registered population"),
                "households": _("Households"),
                "buildings": _("Buildings"),
                "organisations": _("Organisations"),
                "components": _("Components"),
                "keyGroups": _("Key groups"),
                "countsOnly": _("counts only"),
                "registered": pgettext("a column of the grid map: registered persons", "Registered"),
                "registeredHouseholds": pgettext(
                    "a column of the grid map: registered households", "Households"
                ),
                "colourBy": _("By registered population"),
                "legend": _("Registered population"),
                "none": _("No registry figures for this grid in your view."),
                "noFigures": _("no figures"),
            },
        }


# ------------------------------------------------------------------------------------------ party and roles


def _named(obj: Any) -> NamedRecord | None:
    return NamedRecord(id=obj.pk, name=obj.name) if obj is not None else None


@router.get(
    "/party-organisations",
    response={200: PartyOrganisationPage, **READ_ERRORS},
    url_name="registry_party_organisations",
    summary="Party organisations",
)
def party_organisation_list(
    request: HttpRequest, filters: Query[PartyOrganisationQuery], page: Query[PageQuery]
):
    """The party organisations (committees, general branches, branches, groups) the caller may see, newest
    first: by grid (its subtree) and kind, each with its grid, the organisation it is under, its secretary and
    how many of its members the caller sees."""
    user: Any = request.user
    grid, unknown = filtered_grid(user, filters.grid)
    if unknown:
        return PartyOrganisationPage(items=[], has_more=False, next_before=None)
    qs = selectors.party_organisations(user, grid=grid)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    rows, more = newest_first(qs, page.before, page.limit)
    counts = selectors.member_counts(user, [o.pk for o in rows])
    items = [
        PartyOrganisationItem(
            id=o.pk,
            name=o.name,
            kind=o.kind,
            kind_label=o.get_kind_display(),
            grid=_grid(o.grid),
            parent=_named(o.parent),
            secretary=_named(o.secretary),
            members=counts.get(o.pk, 0),
        )
        for o in rows
    ]
    return PartyOrganisationPage(items=items, has_more=more, next_before=_next_before(rows, more))


def _role(r: PersonRole) -> RoleOut:
    return RoleOut(
        role=r.role,
        role_label=r.get_role_display(),
        party_organisation=_named(r.party_organisation) if r.party_organisation_id else None,
        since=r.since,
    )


@router.get(
    "/persons/{person_id}/roles",
    response={200: RolesOut, **READ_ERRORS},
    url_name="registry_person_roles",
    summary="A person's roles in the grid",
)
def person_roles(request: HttpRequest, person_id: Id):
    """The person's roles (party member and of which organisation, volunteer, mediator, grid worker) and
    whether the caller may give and end them (the record's keepers at the grid and the village)."""
    user: Any = request.user
    person = person_for(user, person_id)
    return RolesOut(
        items=[_role(r) for r in selectors.roles_of(user, person)],
        may_change=services.may_keep_person(user, person),
    )


@router.post(
    "/persons/{person_id}/roles",
    response={200: RoleGivenOut, 201: RoleGivenOut, **WRITE_ERRORS},
    url_name="registry_give_role",
    summary="Give a person a role in the grid",
)
def give_role(request: HttpRequest, person_id: Id, payload: Form[RoleIn]):
    """Give the person a role: 201 with the new role; 200 when they held it already and it was brought up to
    date (a member moving to another branch). A party member names their `party_organisation`: one of the
    person's grid or of a grid enclosing it, or one the caller sees. 422 names every bad field; 403 for callers
    who see the person but do not keep their record."""
    user: Any = request.user
    person = person_for(user, person_id)
    organisation = None
    if payload.party_organisation is not None:
        organisation = (
            PartyOrganisation.objects.select_related("grid").filter(pk=payload.party_organisation).first()
        )
        if organisation is None:
            # The same words as for an organisation the caller may not name: ids tell nothing.
            message = _("Choose a party organisation of the person's grid, or of one that encloses it.")
            return Status(422, _invalid([services.Problem("party_organisation", message)]))
    try:
        given = services.do_give_role(
            person, payload.role, actor=user, party_organisation=organisation, since=payload.since
        )
    except Invalid as exc:
        return Status(422, _invalid(services.problems_of(exc)))
    given.role.party_organisation = organisation
    return Status(201 if given.created else 200, RoleGivenOut(created=given.created, role=_role(given.role)))


@router.delete(
    "/persons/{person_id}/roles/{role}",
    response={204: None, **WRITE_ERRORS},
    url_name="registry_end_role",
    summary="End a person's role in the grid",
)
def end_role(request: HttpRequest, person_id: Id, role: str, reason: Query[EndRoleQuery]):
    """End one of the person's roles (`role`: party_member, volunteer, mediator or grid_worker), with an
    optional `reason` kept on the audit record with what the role was. 404 when the person does not hold it;
    403 for callers who see the person but do not keep their record."""
    user: Any = request.user
    person = person_for(user, person_id)
    held = visible_to(user, PersonRole).filter(person=person, role=role).first()
    if held is None:
        raise Http404
    held.person = person
    services.do_end_role(held, actor=user, reason=reason.reason or "")
    return Status(204, None)
