"""Scoped reads of the registry: every query starts from `visible_to(user, …)`.

Searching never decrypts: a phone or a document number typed in the search box is turned into its blind index
and matched exactly; anything else is a name, matched from its start through the name index (a range, so that
SQLite and PostgreSQL both use the index whatever the collation)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from gridgov.accounts.scoping import grid_filter
from gridgov.catalog.models import Item
from gridgov.core.paging import newest_first
from gridgov.core.personal import blind_index
from gridgov.core.scoping import get_visible_or_404, visible_to
from gridgov.grids.models import Grid

from . import validators
from .choices import KeyGroup, PartyOrgKind, PersonRoleKind
from .codes import DocumentKind
from .models import (
    Building,
    Component,
    Household,
    KeyGroupLabel,
    Organisation,
    PartyOrganisation,
    Person,
    PersonRole,
)
from .scoping import keeper_reach, registry_reach, sees_key_groups
from .services import document_index, key_group_index, key_group_of

PAGE_SIZE = 50
MOBILE_LIKE = re.compile(r"^\+?(86)?[\s-]*1[3-9][\d\s-]{9,12}$")
DOCUMENT_LIKE = re.compile(r"^[0-9A-Za-z]{8,18}$")


def _name_prefix(q: str) -> Q:
    return Q(name__gte=q, name__lt=q + "\U0010ffff")


def search_q(text: str) -> Q:
    """What the search box means: a mobile number, a document number (of any kind it is valid for), or the
    start of a name."""
    text = text.strip()
    if not text:
        return Q()
    if MOBILE_LIKE.match(text):
        try:
            return Q(phone_index=blind_index(validators.check_mobile(text)))
        except ValidationError:
            pass
    if DOCUMENT_LIKE.match(text) and any(c.isdigit() for c in text):
        indexes = []
        for kind in DocumentKind.values:
            try:
                indexes.append(document_index(kind, validators.check_document(kind, text)))
            except ValidationError:
                continue
        if indexes:
            # `~Q(…=)` lets SQLite use the partial unique index of the master index.
            return Q(document_index__in=indexes) & ~Q(document_index="")
    return _name_prefix(text[:50])


@dataclass(frozen=True)
class PersonFilter:
    q: str = ""
    grid: Grid | None = None  # a subtree
    residence: str = ""
    key_group: str = ""
    state: str = ""


def persons(
    user: Any, f: PersonFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Person], bool]:
    """A page of the persons `user` may see, newest first (keyset paging on the id); and whether more follow."""
    qs = visible_to(user, Person).filter(search_q(f.q))
    if f.grid is not None:
        qs = qs.filter(grid_filter(f.grid.path))
    if f.residence:
        qs = qs.filter(residence=f.residence)
    if f.state:
        qs = qs.filter(state=f.state)
    if f.key_group:
        labels = visible_to(user, KeyGroupLabel).filter(group_index=key_group_index(f.key_group))
        qs = qs.filter(pk__in=labels.values("person_id"))
    return newest_first(qs.select_related("grid", "household").defer("grid__geometry"), before, limit)


def person_for(user: Any, pk: int) -> Person:
    """A person the user sees, with their grid and household; Http404 for anybody else."""
    return get_visible_or_404(
        user, Person.objects.select_related("grid", "household").defer("grid__geometry"), pk=pk
    )


def key_groups_of(user: Any, person: Person) -> list[str]:
    """The key groups of a person in `KeyGroup`'s order, for those who may see them (the grid and the
    village); [] for others."""
    rows = visible_to(user, KeyGroupLabel).filter(person=person).values_list("group_index", flat=True)
    return ordered_groups(g for g in (key_group_of(i) for i in rows) if g)


def households(
    user: Any, *, grid: Grid | None = None, q: str = "", before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Household], bool]:
    """A page of the households `user` may see (in `grid`'s subtree; `q`: the household number or words of the
    address), newest first; and whether more follow."""
    qs = visible_to(user, Household)
    if grid is not None:
        qs = qs.filter(grid_filter(grid.path))
    if q.strip():
        qs = qs.filter(Q(number=q.strip()) | Q(address__contains=q.strip()))
    return newest_first(qs.select_related("grid").defer("grid__geometry"), before, limit)


# ------------------------------------------------------------------------------------------ reach and figures

# A grid's columns that pages and lists need: never its boundary (a large JSON document per row).
GRID_FIELDS = ("id", "code", "name", "level", "path", "parent_id", "valid_to", "l1_id", "l2_id", "l3_id")
KEY_GROUP_ORDER = {g: n for n, g in enumerate(KeyGroup.values)}


def key_groups_for(user: Any, persons: list[Person]) -> dict[int, list[str] | None]:
    """{person id: their key groups} for a page of persons, in one query; None for a person whose key groups
    the user may not see (never an empty list standing for "not allowed")."""
    shown = [p.pk for p in persons if sees_key_groups(user, p)]
    out: dict[int, list[str] | None] = {p.pk: None for p in persons}
    if not shown:
        return out
    groups: dict[int, list[str]] = {pk: [] for pk in shown}
    rows = visible_to(user, KeyGroupLabel).filter(person_id__in=shown).values_list("person_id", "group_index")
    for person_id, index in rows:
        group = key_group_of(index)
        if group:
            groups[person_id].append(group)
    for pk, found in groups.items():
        out[pk] = ordered_groups(found)
    return out


def ordered_groups(groups: Iterable[str]) -> list[str]:
    return sorted(groups, key=lambda g: KEY_GROUP_ORDER.get(g, 99))


def age_of(birth: dt.date | None, today: dt.date | None = None) -> int | None:
    if birth is None:
        return None
    today = today or timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def grid_by_code(user: Any, code: str) -> Grid | None:
    """A current grid the user sees, by its code."""
    if not code:
        return None
    return visible_to(user, Grid.objects.current()).only(*GRID_FIELDS).filter(code=code.strip()).first()


def home_grids(user: Any) -> list[Grid]:
    """The outermost grids of the user's registry: the county for county-wide users."""
    reach = registry_reach(user)
    if reach.everything:
        return list(Grid.objects.current().filter(level=0).only(*GRID_FIELDS).order_by("code"))
    ids = [int(p.strip("/").split("/")[-1]) for p in reach.grid_paths]
    return list(Grid.objects.filter(pk__in=ids).only(*GRID_FIELDS).order_by("path"))


def filtered_grid(user: Any, code: str | None) -> tuple[Grid | None, bool]:
    """The grid a list is filtered by (`code`, empty for none), and whether the filter finds nothing at all (a
    grid the user does not see)."""
    if not code:
        return None, False
    grid = grid_by_code(user, code)
    return grid, grid is None


def figures_grid(user: Any, code: str) -> tuple[Grid, list[Grid]]:
    """The grid whose figures the user asks for (`code`; empty: the first of their home grids), and their other
    home grids (none when `code` names the grid, which reads no home grid). Http404 for a grid outside the
    user's registry, and for a user without one."""
    if code:
        grid = grid_by_code(user, code)
        if grid is None or not registry_reach(user).covers(grid):
            raise Http404
        return grid, []
    roots = home_grids(user)
    if not roots:
        raise Http404
    return roots[0], roots[1:]


def filter_grids(user: Any) -> list[Grid]:
    """The grids offered in a list's grid filter: the user's own and one or two levels below them (a town's
    villages, a village's grids), never the county's thousand grids at once."""
    reach = registry_reach(user)
    if not reach:
        return []
    top = 0 if reach.everything else min(p.count("/") - 2 for p in reach.grid_paths)  # "/1/5/": level 1
    deepest = max(2, top + 1)
    return list(
        Grid.objects.current()
        .filter(reach.grid_q(), level__lte=deepest, level__gte=top)
        .only(*GRID_FIELDS)
        .order_by("path")
    )


def keeper_grids(user: Any) -> list[Grid]:
    """The current level-3 grids where the user registers people."""
    reach = keeper_reach(user)
    if not reach:
        return []
    return list(Grid.objects.current().filter(reach.grid_q(), level=3).only(*GRID_FIELDS).order_by("code"))


# ------------------------------------------------------------------------------------------------- figures

# What a grid's figures count, by the name each count has in `Figures`.
COUNTED: tuple[tuple[str, Any], ...] = (
    ("persons", Person),
    ("households", Household),
    ("buildings", Building),
    ("organisations", Organisation),
    ("components", Component),
)


@dataclass
class Figures:
    """What the registry holds in a grid and its subtree, as the user may see it."""

    grid: Grid
    persons: int
    households: int
    organisations: int
    components: int
    key_groups: dict[str, int]
    buildings: int = 0

    @property
    def key_group_people(self) -> int:
        return sum(self.key_groups.values())


def _children(grid: Grid) -> list[Grid]:
    return list(Grid.objects.current().filter(parent=grid).only(*GRID_FIELDS).order_by("code"))


def _child_column(grid: Grid) -> str | None:
    """The level-id column naming the child of `grid` a record lies in; None at level 3 (the finest we hold)."""
    return f"grid_l{grid.level + 1}_id" if grid.level < 3 else None


def _countable_labels(user: Any, grid: Grid) -> QuerySet[KeyGroupLabel]:
    """The labels in `grid`'s subtree of the persons `user` may see, by the level ids the labels copy from their
    person (kept equal by every move): counting them needs no join to the persons."""
    return KeyGroupLabel.objects.filter(grid_filter(grid.path), registry_reach(user).record_q())


def key_group_counts(user: Any, grid: Grid) -> dict[int | None, dict[str, int]]:
    """{child grid id: {key group: people}} in `grid`'s subtree, in one grouped query: counts, never names, for
    any registry reader of the subtree (the people themselves only through `visible_to(user, KeyGroupLabel)`).
    People in no child (a level-3 grid's own, or placed above the children) are under None."""
    column = _child_column(grid)
    # The readers' scope, not the labels' own (which stops at the village): counts reach every reader.
    fields = ("group_index",) if column is None else (column, "group_index")
    rows = _countable_labels(user, grid).values(*fields).annotate(n=Count("id")).order_by()
    counts: dict[int | None, dict[str, int]] = defaultdict(dict)
    for r in rows:
        group = key_group_of(r["group_index"])
        if group:
            counts[r[column] if column else None][group] = r["n"]
    return dict(counts)


def _counts(user: Any, grid: Grid, column: str | None) -> dict[str, dict[int | None, int]]:
    """{count name: {child grid id: records}} in `grid`'s subtree: one grouped query per kind of record."""
    scope = grid_filter(grid.path)
    out: dict[str, dict[int | None, int]] = {}
    for name, model in COUNTED:
        qs = visible_to(user, model).filter(scope)
        if column is None:
            out[name] = {None: qs.count()}
        else:
            out[name] = dict(qs.values_list(column).annotate(n=Count("id")).order_by())
    return out


def figures_of(user: Any, grid: Grid) -> tuple[Figures, list[Figures]]:
    """The grid's totals and those of each current grid directly below it (the roll-up of its subtree), from
    the records `user` may see; key groups as counts only. One grouped query per kind of record, whatever the
    number of children: the grid's totals are the sum of its groups (records placed in no current child
    included), so a town's 370,000 persons are read once, not once for the total and again per child."""
    column = _child_column(grid)
    children = _children(grid) if column else []
    counts = _counts(user, grid, column)
    groups = key_group_counts(user, grid)

    totals = Figures(
        grid=grid,
        **{name: sum(by_child.values()) for name, by_child in counts.items()},
        key_groups={g: sum(n.get(g, 0) for n in groups.values()) for g in KeyGroup.values},
    )
    below = [
        Figures(
            grid=child,
            **{name: by_child.get(child.pk, 0) for name, by_child in counts.items()},
            key_groups={g: groups.get(child.pk, {}).get(g, 0) for g in KeyGroup.values},
        )
        for child in children
    ]
    return totals, below


def organisation_q(q: str) -> Q:
    """The start of a name, or a whole unified social credit code."""
    q = q.strip()
    if not q:
        return Q()
    return Q(name__gte=q, name__lt=q + "\U0010ffff") | Q(credit_code=q.upper())


@dataclass(frozen=True)
class OrganisationFilter:
    q: str = ""  # see `organisation_q`
    grid: Grid | None = None  # a subtree
    kind: str = ""
    state: str = ""


def organisations(
    user: Any, f: OrganisationFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Organisation], bool]:
    """A page of the organisations `user` may see, newest first; and whether more follow."""
    qs = visible_to(user, Organisation).filter(organisation_q(f.q))
    if f.grid is not None:
        qs = qs.filter(grid_filter(f.grid.path))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.state:
        qs = qs.filter(state=f.state)
    return newest_first(qs.select_related("grid").defer("grid__geometry", "phone_enc"), before, limit)


@dataclass(frozen=True)
class ComponentFilter:
    grid: Grid | None = None  # a subtree
    item: str = ""  # an item code of the responsibility list
    state: str = ""


def components(
    user: Any, f: ComponentFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Component], bool]:
    """A page of the components `user` may see, newest first, with their class and departments; and whether
    more follow."""
    qs = visible_to(user, Component)
    if f.grid is not None:
        qs = qs.filter(grid_filter(f.grid.path))
    if f.item:
        qs = qs.filter(item__code=f.item)
    if f.state:
        qs = qs.filter(state=f.state)
    qs = qs.select_related("grid", "item", "owner_department", "maintainer_department").defer(
        "grid__geometry"
    )
    return newest_first(qs, before, limit)


def component_items(user: Any) -> list[tuple[str, str]]:
    """The classes of the responsibility list that components are recorded under (the 部件 items)."""
    used = visible_to(user, Component).values("item_id").distinct().order_by()
    return [(i.code, f"{i.code} {i.label}") for i in Item.objects.filter(pk__in=used).order_by("code")]


# ------------------------------------------------------------------------------------------ party and roles


@dataclass
class PartyNode:
    """A party organisation in the tree: how deep it sits below the top the user sees, and its members."""

    organisation: PartyOrganisation
    depth: int
    members: int


# The party tree of a whole county is a few hundred organisations; beyond this, the page asks for a grid.
PARTY_TREE_MAX = 2000


def party_organisations(user: Any, *, grid: Grid | None = None) -> QuerySet[PartyOrganisation]:
    """The party organisations `user` sees (in `grid`'s subtree), with their grid and secretary's name."""
    qs = visible_to(user, PartyOrganisation)
    if grid is not None:
        qs = qs.filter(grid_filter(grid.path))
    return qs.select_related("grid", "secretary", "parent").only(
        "name",
        "kind",
        "parent_id",
        "secretary_id",
        "grid_id",
        "grid_l1_id",
        "grid_l2_id",
        "grid_l3_id",
        "updated_at",
        *(f"grid__{f}" for f in GRID_FIELDS),
        "secretary__name",
        "parent__name",
    )


def member_counts(user: Any, organisation_ids: Iterable[int]) -> dict[int, int]:
    """{party organisation id: its members the user sees}, in one grouped query."""
    rows = (
        visible_to(user, PersonRole)
        .filter(party_organisation_id__in=list(organisation_ids), role=PersonRoleKind.PARTY_MEMBER)
        .values_list("party_organisation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def party_tree(user: Any, *, grid: Grid | None = None) -> tuple[list[PartyNode], bool]:
    """The party organisations `user` sees, as a tree laid flat (each under its parent, grids in their order,
    higher kinds first): two queries whatever their number. An organisation whose parent the user does not see
    (the town's committee, for a village) starts a tree of its own. True when the tree was cut at
    `PARTY_TREE_MAX` (the page asks for a grid)."""
    rows = list(
        party_organisations(user, grid=grid).order_by("grid__path", "kind", "name", "id")[
            : PARTY_TREE_MAX + 1
        ]
    )
    cut = len(rows) > PARTY_TREE_MAX
    rows = rows[:PARTY_TREE_MAX]
    rank = {k: n for n, k in enumerate(PartyOrgKind.values)}
    rows.sort(key=lambda o: (o.grid.path, rank.get(o.kind, 99), o.name, o.pk))
    counts = member_counts(user, [o.pk for o in rows])
    ids = {o.pk for o in rows}
    children: dict[int | None, list[PartyOrganisation]] = defaultdict(list)
    for o in rows:
        children[o.parent_id if o.parent_id in ids else None].append(o)
    out: list[PartyNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for o in children.get(parent, []):
            out.append(PartyNode(o, depth, counts.get(o.pk, 0)))
            walk(o.pk, depth + 1)

    walk(None, 0)
    return out, cut


def role_counts(user: Any, *, grid: Grid | None = None) -> dict[str, int]:
    """{role: persons holding it} among the persons `user` sees (in `grid`'s subtree), in one grouped query."""
    qs = visible_to(user, PersonRole)
    if grid is not None:
        qs = qs.filter(grid_filter(grid.path, "person__"))
    return dict(qs.values_list("role").annotate(n=Count("id")).order_by())


def party_members(
    user: Any, organisation: PartyOrganisation, *, before: int | None, limit: int = PAGE_SIZE
) -> tuple[list[PersonRole], bool]:
    """A page of the organisation's members the user sees (newest membership record first), with each
    person and their grid."""
    qs = (
        visible_to(user, PersonRole)
        .filter(party_organisation=organisation, role=PersonRoleKind.PARTY_MEMBER)
        .select_related("person", "person__grid")
        .defer("person__document_enc", "person__phone_enc", "person__note", "person__grid__geometry")
    )
    return newest_first(qs, before, limit)


def holders_of(
    user: Any, role: str, *, grid: Grid | None = None, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[PersonRole], bool]:
    """A page of the persons holding `role` that `user` sees (in `grid`'s subtree): "every volunteer of the
    village". Through the role index (`person_role_kind`), newest role first."""
    qs = visible_to(user, PersonRole).filter(role=role)
    if grid is not None:
        qs = qs.filter(grid_filter(grid.path, "person__"))
    qs = qs.select_related("person", "person__grid", "party_organisation").defer(
        "person__document_enc", "person__phone_enc", "person__note", "person__grid__geometry"
    )
    return newest_first(qs, before, limit)


ROLE_ORDER = {r: n for n, r in enumerate(PersonRoleKind.values)}


def roles_of(user: Any, person: Person) -> list[PersonRole]:
    """The roles of a person the user sees, with their party organisation, in the order of `PersonRoleKind`."""
    rows = list(
        visible_to(user, PersonRole)
        .filter(person=person)
        .select_related("party_organisation")
        .only("role", "since", "person_id", "party_organisation__name", "party_organisation__kind")
        .order_by("role")
    )
    rows.sort(key=lambda r: ROLE_ORDER.get(r.role, 99))
    return rows


def party_choices(user: Any, paths: Iterable[str]) -> list[PartyOrganisation]:
    """The party organisations a person of the grids at `paths` may be a member of, or a new organisation there
    may sit under: those of these grids and of every grid enclosing them (the grid's group, the village's
    branch, the town's committee), and those the user sees. The enclosing ones are offered by name outside the
    user's own view: a committee's name is what its members are told, not personal data."""
    ancestors = {int(x) for p in paths for x in p.strip("/").split("/") if x}
    enclosing = PartyOrganisation.objects.filter(grid_id__in=sorted(ancestors))
    seen = visible_to(user, PartyOrganisation)
    qs = (
        (enclosing | seen)
        .select_related("grid")
        .only("name", "kind", "grid__level", "grid__path", "grid__name")
    )
    rank = {k: n for n, k in enumerate(PartyOrgKind.values)}
    rows = list(qs.order_by("grid__path", "name")[:PARTY_CHOICES_MAX])
    rows.sort(key=lambda o: (o.grid.path, rank.get(o.kind, 99), o.name))
    return rows


# More than a form's list can offer: a county-wide user names an organisation through the API, by its id.
PARTY_CHOICES_MAX = 500


def keeper_party_grids(user: Any) -> list[Grid]:
    """The current towns, villages and grids (never the county) where the user keeps the register: where they
    may place a party organisation."""
    reach = keeper_reach(user)
    if not reach:
        return []
    return list(
        Grid.objects.current().filter(reach.grid_q(), level__gte=1).only(*GRID_FIELDS).order_by("path")
    )


def secretary_choices(user: Any, grids: Iterable[Grid]) -> list[Person]:
    """The party members living in `grids`' subtrees that `user` sees, by name: whom a keeper may name a
    secretary (a secretary from elsewhere is named through the API, by the person's id)."""
    q = Q(pk__in=[])
    for g in grids:
        q |= grid_filter(g.path)
    members = visible_to(user, PersonRole).filter(role=PersonRoleKind.PARTY_MEMBER).values("person_id")
    return list(
        visible_to(user, Person)
        .filter(q, pk__in=members)
        .exclude(state="deceased")
        .only("name", "birth_date", "grid_id")
        .order_by("name", "id")[:1000]
    )
