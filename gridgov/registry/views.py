"""The registry's pages (台账): the figures of the user's grids, the persons list with its search box, a
person's page (masked numbers, shown in full one at a time with a reason, audited), the register form of the
grid's keepers, households, organisations and components.

Every read goes through `selectors` or `visible_to`; the register form and the "show" buttons call
`services`. Nothing here decides what a person may be or who may read a number in full: the helpers at the top
say only who reaches which grids, from the role assignments (no query beyond `held_roles`), so that pages and
the API agree on what to offer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridgov.core.audit import client_ip
from gridgov.core.errors import Conflict, Invalid, NotAllowed
from gridgov.core.paging import before_of, is_htmx, more_query
from gridgov.core.scoping import get_visible_or_404, visible_to
from gridgov.grids.models import Grid

from . import exports, selectors, services
from .choices import KeyGroup, PersonRoleKind
from .forms import (
    ComponentSearchForm,
    EndRoleForm,
    HolderFilterForm,
    HouseholdSearchForm,
    ImportForm,
    OrganisationSearchForm,
    PartyOrganisationForm,
    PersonSearchForm,
    RegisterForm,
    RoleForm,
    UnmaskForm,
)
from .imports import KINDS, import_file, may_import
from .models import Component, Household, Organisation, PartyOrganisation, Person, PersonMove, PersonRole
from .scoping import Reach, keeper_reach, reads_registry, registry_reach, sees_key_groups
from .selectors import (
    GRID_FIELDS,
    PAGE_SIZE,
    age_of,
    component_items,
    figures_grid,
    figures_of,
    filter_grids,
    filtered_grid,
    grid_by_code,
    keeper_grids,
    key_groups_for,
    person_for,
)

# ------------------------------------------------------------------------------------------------- helpers


def _reader(request: HttpRequest) -> Any:
    """The signed-in user when they read the registry; for anybody else it does not exist (404)."""
    user: Any = request.user
    if not reads_registry(user):
        raise Http404
    return user


def _page(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    """A registry page: the register link for keepers, and never kept by browsers or proxies (people)."""
    ctx.setdefault("may_register", bool(keeper_reach(request.user)))
    ctx.setdefault("may_import", may_import(request.user))
    response = render(request, template, ctx, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _list_page(
    request: HttpRequest, form: Any, d: dict[str, Any], rows: list[Any], more: bool, name: str
) -> HttpResponse:
    """A list page, or only its rows when htmx asks for more of them or for a new filter."""
    ctx = {
        "form": form,
        "rows": rows,
        "more": more_query(request.GET, rows, more),
        "filtered": any(d.get(k) for k in form.fields),
        "continued": before_of(request.GET) is not None,
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, f"registry/_{name}_rows.html", ctx)
    return _page(request, f"registry/{name}s.html", ctx)


@dataclass
class PersonRow:
    person: Person
    age: int | None
    key_groups: list[tuple[str, str]] | None  # (code, label); None: not the user's to see


def person_rows(user: Any, persons: list[Person]) -> list[PersonRow]:
    groups = key_groups_for(user, persons)
    today = timezone.localdate()
    labels = dict(KeyGroup.choices)
    return [
        PersonRow(
            person=p,
            age=age_of(p.birth_date, today),
            key_groups=None if groups[p.pk] is None else [(g, str(labels[g])) for g in groups[p.pk] or []],
        )
        for p in persons
    ]


# ------------------------------------------------------------------------------------------------- home


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """台账 home: the figures of the user's grid (or of `?grid=` inside it) and of each grid below it."""
    user = _reader(request)
    grid, other_roots = figures_grid(user, request.GET.get("grid", "").strip())
    totals, children = figures_of(user, grid)
    # Where the user is, from their own grid down (the grids above it are not theirs to open).
    ids = [int(x) for x in grid.path.strip("/").split("/")]
    reach = registry_reach(user)
    above = [
        g
        for g in Grid.objects.filter(pk__in=ids[:-1]).only(*GRID_FIELDS).order_by("level")
        if reach.covers(g)
    ]
    labels = KeyGroup.choices
    ctx = {
        "grid": grid,
        "crumbs": above,
        "roots": other_roots,
        "totals": totals,
        "children": children,
        "key_group_labels": labels,
        "key_group_totals": [(code, label, totals.key_groups.get(code, 0)) for code, label in labels],
        "sees_key_groups": sees_key_groups(user),
    }
    return _page(request, "registry/home.html", ctx)


# ------------------------------------------------------------------------------------------------- persons


@login_required
@require_http_methods(["GET", "POST"])
def person_list(request: HttpRequest) -> HttpResponse:
    """The persons list. The search form posts (a phone or an ID number stays out of URLs and logs); a plain
    GET takes the filters of a link (`?grid=`, `?residence=`…). htmx asks for the results, or for the next
    rows (`part=rows`)."""
    user = _reader(request)
    data = request.POST if request.method == "POST" else request.GET
    sees = sees_key_groups(user)
    form = PersonSearchForm(data, grids=filter_grids(user), key_groups=sees)
    form.is_valid()
    grid, unknown = filtered_grid(user, form.value("grid"))
    before = before_of(data)
    if unknown:
        rows: list[Person] = []
        more = False
    else:
        f = selectors.PersonFilter(
            q=form.value("q"),
            grid=grid,
            residence=form.value("residence"),
            key_group=form.value("key_group") if sees else "",
            state=form.value("state"),
        )
        rows, more = selectors.persons(user, f, before=before, limit=PAGE_SIZE)
    filtered = any(form.value(name) for name in form.fields)
    next_query = more_query(data, rows, more)
    ctx = {
        "form": form,
        "rows": person_rows(user, rows),
        "more": next_query,
        "more_fields": list(QueryDict(next_query).items()),
        "sees_key_groups": sees,
        "filtered": filtered,
        "continued": before is not None,
    }
    if is_htmx(request):
        template = (
            "registry/_person_rows.html" if data.get("part") == "rows" else "registry/_person_results.html"
        )
        return _page(request, template, ctx)
    return _page(request, "registry/persons.html", ctx)


@dataclass
class MemberRow:
    person: Person
    age: int | None


def _person_context(user: Any, person: Person, *, role_form: RoleForm | None = None) -> dict[str, Any]:
    moves = list(
        visible_to(user, PersonMove)
        .filter(person=person)
        .select_related("from_grid", "to_grid")
        .only(
            "moved_at",
            "kind",
            "reason",
            "person_id",
            "from_grid__code",
            "from_grid__name",
            "to_grid__code",
            "to_grid__name",
        )
        .order_by("-moved_at", "-id")
    )
    members: list[MemberRow] = []
    if person.household_id:
        today = timezone.localdate()
        members = [
            MemberRow(m, age_of(m.birth_date, today))
            for m in visible_to(user, Person)
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)
            .defer("document_enc", "phone_enc")
            .order_by("id")
        ]
    may_keep = services.may_keep_person(user, person)
    roles = selectors.roles_of(user, person)
    groups = None
    if sees_key_groups(user, person):
        labels = dict(KeyGroup.choices)
        groups = [(g, labels[g]) for g in selectors.key_groups_of(user, person)]
    return {
        "person": person,
        "age": age_of(person.birth_date),
        "moves": moves,
        "members": members,
        "key_groups": groups,
        "may_unmask": services.may_unmask(user, person),
        "unmask_form": UnmaskForm(),
        # Roles in the grid (party member, volunteer…): given and ended by the record's keepers, read by all.
        "roles": roles,
        # Organisations linked from the roles: only those the user may open (a grid's keeper does not see the
        # village's branch, though its members live in their grid).
        "seen_party": set(
            visible_to(user, PartyOrganisation)
            .filter(pk__in=[r.party_organisation_id for r in roles if r.party_organisation_id])
            .values_list("pk", flat=True)
        )
        if any(r.party_organisation_id for r in roles)
        else set(),
        "may_keep_roles": may_keep,
        "role_form": role_form or (_role_form(user, person) if may_keep else None),
        "end_role_form": EndRoleForm(),
    }


@login_required
@require_GET
def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    person = person_for(user, pk)
    return _page(request, "registry/person.html", _person_context(user, person))


UNMASK_LABELS = {"document_number": "document", "phone": "phone"}


@login_required
@require_POST
@never_cache
def person_unmask(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    """One number of a person in full, for a keeper who says why (services.do_unmask audits it). htmx gets the
    number's box; a plain form post gets the whole page with that number shown."""
    user = _reader(request)
    person = person_for(user, pk)  # 404 outside the user's scope
    if what not in UNMASK_LABELS:
        raise Http404
    if not services.may_unmask(user, person):
        raise PermissionDenied  # sees the person, may not read their numbers in full
    form = UnmaskForm(request.POST)
    value, error, status = "", "", 200
    if form.is_valid():
        try:
            value = services.do_unmask(
                person, what, actor=user, reason=form.cleaned_data["reason"], ip=client_ip(request)
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except Invalid as exc:
            form.add_error("reason" if exc.field == "reason" else None, str(exc.message))
    if form.errors:
        status = 422
        error = " ".join(str(e) for e in form.errors.get("reason", form.non_field_errors()))
    box = {
        "person": person,
        "what": what,
        "value": value,
        "error": error,
        "may_unmask": True,
        "unmask_form": form if form.errors else UnmaskForm(),
    }
    if is_htmx(request):
        # htmx swaps 2xx answers only: the refusal is shown in the box itself.
        return _page(request, "registry/_number.html", box)
    ctx = _person_context(user, person)
    ctx["shown"] = {what: value} if value else {}
    ctx["errors"] = {what: error} if error else {}
    return _page(request, "registry/person.html", ctx, status=status)


def _register_problems(
    user: Any, form: RegisterForm, keeper: Reach
) -> tuple[services.PersonInput, list[services.Problem]]:
    """The person of the form, and the problems with which grid and household the keeper may name (the
    registry's own checks are the service's)."""
    d = form.cleaned_data
    problems: list[services.Problem] = []
    grid = grid_by_code(user, d.get("grid") or "")
    if d.get("grid") and (grid is None or grid.level != 3 or not keeper.covers(grid)):
        problems.append(services.Problem("grid", _("Choose one of your grids.")))
        grid = None
    household = None
    number = (d.get("household") or "").strip()
    if number:
        household = visible_to(user, Household).filter(number=number).first()
        if household is None:
            problems.append(services.Problem("household", _("No household with this number in your grids.")))
    data = services.PersonInput(
        name=d.get("name") or "",
        grid=grid,
        document_kind=d.get("document_kind") or "",
        document_number=d.get("document_number") or "",
        name_mongolian=d.get("name_mongolian") or "",
        gender=d.get("gender") or "",
        ethnicity=d.get("ethnicity") or "",
        birth_date=d.get("birth_date"),
        phone=d.get("phone") or "",
        household=household,
        relation=d.get("relation") or "",
        residence=d.get("residence") or "",
        address=d.get("address") or "",
        key_groups=list(d.get("key_groups") or []),
        note=d.get("note") or "",
    )
    return data, problems


@login_required
@require_http_methods(["GET", "POST"])
def person_new(request: HttpRequest) -> HttpResponse:
    """The register form, for the grid's and the village's keepers only; anybody else is refused (403)."""
    user = _reader(request)
    keeper = keeper_reach(user)
    if not keeper:
        raise PermissionDenied
    grids = keeper_grids(user)
    if request.method == "GET":
        initial = {"grid": grids[0].code} if len(grids) == 1 else {}
        form = RegisterForm(initial=initial, grids=grids)
        return _page(request, "registry/person_new.html", {"form": form})
    form = RegisterForm(request.POST, grids=grids)
    status = 422
    if form.is_valid():
        data, problems = _register_problems(user, form, keeper)
        if problems:
            problems = services.person_problems(data, problems)
        else:
            try:
                result = services.do_register_person(data, actor=user, reason=form.cleaned_data["reason"])
            except (Invalid, Conflict) as exc:
                problems = services.problems_of(exc)
                status = exc.status
            else:
                if result.created:
                    messages.success(request, _("Registered."))
                elif result.moved:
                    messages.success(
                        request, _("Found in another grid and moved here; the record is updated.")
                    )
                else:
                    messages.success(request, _("Already registered: the record is updated."))
                return HttpResponseRedirect(reverse("registry:person", args=[result.person.pk]))
        for p in problems:
            form.add_error(p.field if p.field in form.fields else None, p.message)
    return _page(request, "registry/person_new.html", {"form": form}, status=status)


# ------------------------------------------------------------------------------------------------- households


@login_required
@require_GET
def household_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = HouseholdSearchForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    d = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    grid, unknown = filtered_grid(user, d.get("grid"))
    rows: list[Household] = []
    more = False
    if not unknown:
        rows, more = selectors.households(
            user, grid=grid, q=d.get("q") or "", before=before_of(request.GET), limit=PAGE_SIZE
        )
    return _list_page(request, form, d, rows, more, "household")


@login_required
@require_GET
def household_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    household = get_visible_or_404(
        user, Household.objects.select_related("grid", "building").defer("grid__geometry"), pk=pk
    )
    people = list(
        visible_to(user, Person).filter(household=household).defer("document_enc", "phone_enc").order_by("id")
    )
    ctx = {
        "household": household,
        "rows": person_rows(user, people),
        "sees_key_groups": sees_key_groups(user),
    }
    return _page(request, "registry/household.html", ctx)


# ------------------------------------------------------------------------------------------------- things


@login_required
@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = OrganisationSearchForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    d = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    grid, unknown = filtered_grid(user, d.get("grid"))
    rows: list[Organisation] = []
    more = False
    if not unknown:
        f = selectors.OrganisationFilter(
            q=d.get("q") or "", grid=grid, kind=d.get("kind") or "", state=d.get("state") or ""
        )
        rows, more = selectors.organisations(user, f, before=before_of(request.GET), limit=PAGE_SIZE)
    return _list_page(request, form, d, rows, more, "organisation")


@login_required
@require_GET
def component_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = ComponentSearchForm(request.GET, grids=filter_grids(user), items=component_items(user))
    form.is_valid()
    d = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    grid, unknown = filtered_grid(user, d.get("grid"))
    rows: list[Component] = []
    more = False
    if not unknown:
        f = selectors.ComponentFilter(grid=grid, item=d.get("item") or "", state=d.get("state") or "")
        rows, more = selectors.components(user, f, before=before_of(request.GET), limit=PAGE_SIZE)
    return _list_page(request, form, d, rows, more, "component")


# ------------------------------------------------------------------------------------------------- files

CONTENT_TYPES = {"xlsx": exports.XLSX, "csv": exports.CSV}


def _attachment(content: bytes, filename: str) -> HttpResponse:
    fmt = filename.rsplit(".", 1)[-1]
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _importer(request: HttpRequest) -> Any:
    """A registry reader who may import; another reader is refused (403), anybody else finds nothing."""
    user = _reader(request)
    if not may_import(user):
        raise PermissionDenied
    return user


def _import_context(form: ImportForm, kind: str, report: Any = None) -> dict[str, Any]:
    return {"form": form, "report": report, "tab": "import", "kind": kind, "kinds": KINDS}


@login_required
@require_http_methods(["GET", "POST"])
def person_import(request: HttpRequest) -> HttpResponse:
    """The import page: the kind of record (`?kind=`, persons by default), its templates to download, and a
    file to upload: every row is checked, and either all are written or none, with every bad cell named (the
    report never repeats a number or a note of the file)."""
    user = _importer(request)
    if request.method == "GET":
        kind = request.GET.get("kind") or "persons"
        if kind not in KINDS:
            raise Http404
        form = ImportForm(initial={"kind": kind})
        return _page(request, "registry/import.html", _import_context(form, kind))
    form = ImportForm(request.POST, request.FILES)
    posted = request.POST.get("kind") or ""
    kind = posted if posted in KINDS else "persons"
    report = None
    status = 422
    if form.is_valid():
        upload = form.cleaned_data["file"]
        kind = form.cleaned_data["kind"]
        report = import_file(kind, upload.read(), upload.name, actor=user)
        if report.ok:
            status = 200
            form = ImportForm(initial={"kind": kind})
    return _page(request, "registry/import.html", _import_context(form, kind, report), status=status)


@login_required
@require_GET
def person_template(request: HttpRequest, fmt: str) -> HttpResponse:
    return record_template(request, "persons", fmt)


@login_required
@require_GET
def record_template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """A kind's empty template (.xlsx with its codes, or .csv), for those who may import."""
    _importer(request)
    try:
        content, filename = exports.template_file(kind, fmt)
    except Invalid as exc:
        raise Http404 from exc
    return _attachment(content, filename)


@login_required
@require_GET
def record_export(request: HttpRequest, kind: str) -> HttpResponse:
    """The households, buildings, organisations or components the reader sees (`?fmt=&grid=`), phones masked,
    watermarked, audited."""
    user = _reader(request)
    if kind not in exports.RECORD_KINDS:
        raise Http404
    data = request.GET
    try:
        content, filename = exports.export_records(
            user,
            kind,
            data.get("fmt") or "xlsx",
            grid=(data.get("grid") or "").strip() or None,
            ip=client_ip(request),
        )
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except Invalid as exc:
        return HttpResponse(str(exc.message), status=400, content_type="text/plain; charset=utf-8")
    return _attachment(content, filename)


@login_required
@require_GET
def person_export(request: HttpRequest) -> HttpResponse:
    """The persons the reader sees (`?grid=&residence=&key_group=`), numbers masked, watermarked, audited."""
    user = _reader(request)
    data = request.GET
    try:
        content, filename = exports.export_persons(
            user,
            data.get("fmt") or "xlsx",
            grid=(data.get("grid") or "").strip() or None,
            residence=data.get("residence") or None,
            key_group=(data.get("key_group") or None) if sees_key_groups(user) else None,
            ip=client_ip(request),
        )
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except Invalid as exc:
        return HttpResponse(str(exc.message), status=400, content_type="text/plain; charset=utf-8")
    return _attachment(content, filename)


# ------------------------------------------------------------------------------------------ party and roles


@dataclass
class PartyRow:
    node: selectors.PartyNode
    indent: str  # the tree's depth as ideographic spaces: readable without styles, on a phone too
    kept: bool  # the user keeps its grid: may change it


@login_required
@require_GET
def party_list(request: HttpRequest) -> HttpResponse:
    """党组织: the party organisations of the user's grids as a tree (kind, secretary, members), and how many
    persons hold each role, each count leading to the list of them."""
    user = _reader(request)
    form = HolderFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    grid, unknown = filtered_grid(user, (form.cleaned_data or {}).get("grid"))
    nodes, cut = ([], False) if unknown else selectors.party_tree(user, grid=grid)
    counts = {} if unknown else selectors.role_counts(user, grid=grid)
    keeper = keeper_reach(user)
    ctx = {
        "form": form,
        "grid": grid,
        "rows": [PartyRow(n, "　" * n.depth, keeper.covers(n.organisation.grid)) for n in nodes],
        "cut": cut,
        "roles": [(code, label, counts.get(code, 0)) for code, label in PersonRoleKind.choices],
        "may_keep_party": bool(keeper),
        "filtered": grid is not None or unknown,
    }
    return _page(request, "registry/party.html", ctx)


def _party_organisation(user: Any, pk: int) -> PartyOrganisation:
    return get_visible_or_404(
        user,
        PartyOrganisation.objects.select_related("grid", "parent", "secretary").defer(
            "grid__geometry", "secretary__document_enc", "secretary__phone_enc", "secretary__note"
        ),
        pk=pk,
    )


@login_required
@require_GET
def party_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A party organisation: where it is, what it is under, its secretary, the organisations under it and its
    members, paged (htmx asks for the next rows)."""
    user = _reader(request)
    organisation = _party_organisation(user, pk)
    rows, more = selectors.party_members(user, organisation, before=before_of(request.GET), limit=PAGE_SIZE)
    today = timezone.localdate()
    ctx: dict[str, Any] = {
        "organisation": organisation,
        "rows": [(r, age_of(r.person.birth_date, today)) for r in rows],
        "more": more_query(request.GET, rows, more),
        "continued": before_of(request.GET) is not None,
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, "registry/_party_member_rows.html", ctx)
    ctx.update(
        {
            "children": list(
                visible_to(user, PartyOrganisation)
                .filter(parent=organisation)
                .select_related("grid")
                .only("name", "kind", "parent_id", "grid__name", "grid__code")
                .order_by("kind", "name")
            ),
            "members": selectors.member_counts(user, [organisation.pk]).get(organisation.pk, 0),
            "secretary_seen": organisation.secretary_id is not None
            and visible_to(user, Person).filter(pk=organisation.secretary_id).exists(),
            "may_edit": services.keeps_grid(user, organisation.grid),
        }
    )
    return _page(request, "registry/party_page.html", ctx)


def _party_form(
    user: Any, data: Any = None, *, organisation: PartyOrganisation | None = None
) -> PartyOrganisationForm:
    """The form with what the keeper may choose: their grids, the organisations of and above them, and their
    party members as secretary (an organisation's own secretary stays offered)."""
    grids = selectors.keeper_party_grids(user)
    parents = [
        o
        for o in selectors.party_choices(user, [g.path for g in grids])
        if o.pk != getattr(organisation, "pk", None)
    ]
    outermost = [g for g in grids if not any(o.pk != g.pk and g.path.startswith(o.path) for o in grids)]
    secretaries = selectors.secretary_choices(user, outermost)
    current = organisation.secretary if organisation is not None else None
    if current is not None and all(p.pk != current.pk for p in secretaries):
        secretaries.append(current)
    initial = None
    if organisation is not None:
        initial = {
            "name": organisation.name,
            "kind": organisation.kind,
            "grid": organisation.grid.code,
            "parent": organisation.parent_id,
            "secretary": organisation.secretary_id,
        }
    elif len(grids) >= 1:
        initial = {"grid": grids[0].code}
    return PartyOrganisationForm(data, initial=initial, grids=grids, parents=parents, secretaries=secretaries)


def _save_party(request: HttpRequest, user: Any, organisation: PartyOrganisation | None) -> HttpResponse:
    form = _party_form(user, request.POST if request.method == "POST" else None, organisation=organisation)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            # The parent is one the form offered (`selectors.party_choices`: the user's own, or one enclosing
            # their grids), so it is read by its id alone.
            parent = (
                PartyOrganisation.objects.select_related("grid").filter(pk=d["parent"]).first()
                if d.get("parent")
                else None
            )
            secretary = (
                visible_to(user, Person).filter(pk=d["secretary"]).first() if d.get("secretary") else None
            )
            if (
                organisation is not None
                and secretary is None
                and d.get("secretary") == organisation.secretary_id
            ):
                secretary = (
                    organisation.secretary
                )  # kept as it was, though named from outside the user's view
            data = services.PartyOrgInput(
                name=d.get("name") or "",
                kind=d.get("kind") or "",
                grid=grid_by_code(user, d.get("grid") or ""),
                parent=parent,
                secretary=secretary,
            )
            try:
                saved = services.do_save_party_organisation(data, actor=user, organisation=organisation)
            except NotAllowed as exc:
                raise PermissionDenied(str(exc)) from exc
            except Invalid as exc:
                for p in exc.data.get("problems") or [{"field": exc.field, "message": str(exc.message)}]:
                    form.add_error(p["field"] if p["field"] in form.fields else None, p["message"])
            else:
                messages.success(request, _("Saved."))
                return HttpResponseRedirect(reverse("registry:party_organisation", args=[saved.pk]))
    ctx = {"form": form, "organisation": organisation}
    return _page(request, "registry/party_form.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def party_new(request: HttpRequest) -> HttpResponse:
    """A new party organisation, for the grid's and the village's keepers; other readers are refused (403)."""
    user = _reader(request)
    if not keeper_reach(user):
        raise PermissionDenied
    return _save_party(request, user, None)


@login_required
@require_http_methods(["GET", "POST"])
def party_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a party organisation: 404 outside the user's view, 403 for a reader who does not keep its grid."""
    user = _reader(request)
    organisation = _party_organisation(user, pk)
    if not services.keeps_grid(user, organisation.grid):
        raise PermissionDenied
    return _save_party(request, user, organisation)


def _role_form(user: Any, person: Person, data: Any = None) -> RoleForm:
    return RoleForm(data, organisations=selectors.party_choices(user, [person.grid.path]))


def _keeper_of(request: HttpRequest, pk: int) -> tuple[Any, Person]:
    """The user and the person whose record they keep: 404 for a person they do not see, 403 for one they see
    but do not keep."""
    user = _reader(request)
    person = person_for(user, pk)
    if not services.may_keep_person(user, person):
        raise PermissionDenied
    return user, person


@login_required
@require_POST
def person_role_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the person a role (or bring one they hold up to date); the person's page again, with the form's
    problems next to its fields when refused (422)."""
    user, person = _keeper_of(request, pk)
    form = _role_form(user, person, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        # One the form offered (`selectors.party_choices`), so it is read by its id alone.
        organisation = (
            PartyOrganisation.objects.select_related("grid").filter(pk=d["party_organisation"]).first()
            if d.get("party_organisation")
            else None
        )
        try:
            given = services.do_give_role(
                person,
                d.get("role") or "",
                actor=user,
                party_organisation=organisation,
                since=d.get("since"),
            )
        except (Invalid, Conflict) as exc:
            for p in exc.data.get("problems") or [{"field": exc.field, "message": str(exc.message)}]:
                form.add_error(p["field"] if p["field"] in form.fields else None, p["message"])
        else:
            label = given.role.get_role_display()
            messages.success(
                request,
                (_("Role given: %(role)s.") if given.created else _("Role updated: %(role)s."))
                % {"role": label},
            )
            return HttpResponseRedirect(reverse("registry:person", args=[person.pk]) + "#roles-title")
    ctx = _person_context(user, person, role_form=form)
    return _page(request, "registry/person.html", ctx, status=422)


@login_required
@require_POST
def person_role_end(request: HttpRequest, pk: int, role: str) -> HttpResponse:
    """End one of the person's roles, with an optional reason for the record."""
    user, person = _keeper_of(request, pk)
    held = visible_to(user, PersonRole).filter(person=person, role=role).first()
    if held is None:
        raise Http404
    held.person = person
    form = EndRoleForm(request.POST)
    reason = form.cleaned_data.get("reason") or "" if form.is_valid() else ""
    try:
        services.do_end_role(held, actor=user, reason=reason)
    except Conflict:
        pass  # ended meanwhile by somebody else: the page shows what is left
    else:
        messages.success(request, _("Role ended: %(role)s.") % {"role": held.get_role_display()})
    return HttpResponseRedirect(reverse("registry:person", args=[person.pk]) + "#roles-title")


@login_required
@require_GET
def role_holders(request: HttpRequest, role: str) -> HttpResponse:
    """The persons holding a role (every volunteer of a village…), paged, by grid."""
    user = _reader(request)
    if role not in PersonRoleKind.values:
        raise Http404
    form = HolderFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    grid, unknown = filtered_grid(user, (form.cleaned_data or {}).get("grid"))
    rows: list[PersonRole] = []
    more = False
    if not unknown:
        rows, more = selectors.holders_of(
            user, role, grid=grid, before=before_of(request.GET), limit=PAGE_SIZE
        )
    today = timezone.localdate()
    ctx = {
        "form": form,
        "role": role,
        "role_label": PersonRoleKind(role).label,
        "rows": [(r, age_of(r.person.birth_date, today)) for r in rows],
        "more": more_query(request.GET, rows, more),
        "filtered": grid is not None or unknown,
        "continued": before_of(request.GET) is not None,
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, "registry/_holder_rows.html", ctx)
    return _page(request, "registry/party_roles.html", ctx)
