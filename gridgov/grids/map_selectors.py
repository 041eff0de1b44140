"""Scoped reads behind the grid map and its API. Every query starts from `visible_to(user, Grid)`: a grid
outside the user's scope does not exist for them (404).

Query counts do not grow with the number of grids shown: children come with their own visible-children
counts from one query (a correlated subquery), people with their users and departments from one more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.core.scoping import get_visible_or_404, visible_to

from .models import Grid

# The order people are listed on a grid: who answers for it first.
ROLE_ORDER = [
    Role.GRID_HEAD_L1,
    Role.GRID_HEAD_L2,
    Role.GRID_SPECIALIST,
    Role.INFO_OFFICER,
    Role.GRID_GUIDE,
    Role.LEADER,
    Role.OPERATOR,
    Role.MEDIATOR,
    Role.VOLUNTEER,
    Role.DEPT_HANDLER,
    Role.RESIDENT,
]
SEARCH_LIMIT = 20
SEARCH_MAX_LENGTH = 40  # longer than any code or name: a longer query only costs the database


def visible_grids(user: Any) -> QuerySet[Grid]:
    return visible_to(user, Grid.objects.current())


def with_child_counts(user: Any, qs: QuerySet[Grid]) -> QuerySet[Grid]:
    """Annotate `child_count`: how many current children of each grid the user may see."""
    children = (
        visible_grids(user)
        .filter(parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    return qs.annotate(child_count=Coalesce(Subquery(children, output_field=IntegerField()), Value(0)))


def grid_or_404(user: Any, grid_id: int) -> Grid:
    return get_visible_or_404(user, with_child_counts(user, visible_grids(user)), pk=grid_id)


def children_of(user: Any, grid: Grid) -> list[Grid]:
    return list(with_child_counts(user, visible_grids(user).filter(parent=grid)).order_by("code"))


@dataclass
class GridView:
    grid: Grid
    ancestors: list[Grid]
    people: list[RoleAssignment]


def ancestors_of(user: Any, grid: Grid) -> list[Grid]:
    ids = [int(x) for x in grid.path.strip("/").split("/")[:-1] if x]
    if not ids:
        return []
    return list(visible_grids(user).filter(pk__in=ids).only("id", "code", "name", "level").order_by("level"))


def people_of(user: Any, grid: Grid) -> list[RoleAssignment]:
    """The role assignments held on this very grid that the user may see, heads first."""
    rows = list(visible_to(user, RoleAssignment).filter(grid=grid).select_related("user", "department"))
    rank: dict[str, int] = {str(role): i for i, role in enumerate(ROLE_ORDER)}
    rows.sort(
        key=lambda a: (
            rank.get(a.role, len(rank)),
            a.department.name if a.department else "",
            a.user.username,
        )
    )
    return rows


def grid_view(user: Any, grid_id: int) -> GridView:
    grid = grid_or_404(user, grid_id)
    return GridView(grid, ancestors_of(user, grid), people_of(user, grid))


def start_grid(user: Any) -> Grid | None:
    """Where the map opens: the top of the user's visible tree, gone down while only one way leads on
    (a village head opens on their village, a leader on the whole county)."""
    grids = visible_grids(user)
    top = grids.order_by("level", "code").first()
    while top is not None:
        children = list(with_child_counts(user, grids.filter(parent=top)).order_by("code")[:2])
        if len(children) != 1 or not getattr(children[0], "child_count", 0):
            break
        top = children[0]
    return top


def search(user: Any, query: str) -> list[Grid]:
    """Grids whose code starts with the query (digits) or whose name contains it."""
    query = query.strip()[:SEARCH_MAX_LENGTH]
    if not query:
        return []
    # Hits show names and codes only: leave the boundaries (a town's is hundreds of kilobytes) in the database.
    grids = (
        visible_grids(user)
        .select_related("parent", "parent__parent")
        .defer("geometry", "parent__geometry", "parent__parent__geometry")
    )
    lookup = {"code__startswith": query} if query.isdigit() else {"name__icontains": query}
    grids = grids.filter(**lookup)
    return list(grids.order_by("level", "code")[:SEARCH_LIMIT])
