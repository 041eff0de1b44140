"""Who sees which team, member, activity, sign-up and task.

- County-wide administrators: everything.
- Leaders, the command centre's operators and the heads of a town or a village: their grid subtree.
- Grid specialists and information officers: their own level-3 grid.
- Teams and activities are also seen from below: the staff of a grid see the teams and activities of the grids
  above it (a town's car team serves its villages; a village head gives it tasks, a town's open activity is
  open to the village's teams).
- A volunteer (a login holding the volunteer role, linked to a team's member record): their teams, their teams'
  activities and those open to every team of a grid holding theirs, their teams' tasks, and their own
  sign-ups.

Everything else does not exist for the user (404). Read from the role assignments and, for a volunteer, one
query of their memberships, both kept for the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register_filter

from .models import Activity, Member, SignUp, Task, Team

# Roles that see the community of their grid subtree.
OVERSEERS = frozenset({Role.GRID_HEAD_L2, Role.GRID_HEAD_L1, Role.OPERATOR, Role.LEADER})
# Roles held over a level-3 grid whose holders see its community.
WORKERS = frozenset({Role.GRID_SPECIALIST, Role.INFO_OFFICER})
# Who keeps teams and their members, and organises activities, in the grids of their subtree.
KEEPERS = frozenset({Role.GRID_HEAD_L2, Role.GRID_HEAD_L1, Role.OPERATOR, Role.GRID_SPECIALIST})
# Who gives tasks to teams, for the grids of their subtree.
GIVERS = KEEPERS | {Role.INFO_OFFICER}


def ancestors_and_self(path: str) -> list[int]:
    """The ids of a grid and of every grid above it, from its path (no query)."""
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass(frozen=True)
class Reach:
    """What a user reaches in the community: everything, or subtrees (`paths`: the grids of overseers, and the
    level-3 grids of workers), the grids above them (`above`), and, as a volunteer, their active memberships
    (`members`), their teams (`teams`) and the grids holding their teams' grids (`team_grids`)."""

    everything: bool = False
    paths: tuple[str, ...] = ()
    above: frozenset[int] = frozenset()
    members: frozenset[int] = frozenset()
    teams: frozenset[int] = frozenset()
    team_grids: frozenset[int] = frozenset()

    @property
    def staff(self) -> bool:
        return self.everything or bool(self.paths)

    @property
    def volunteer(self) -> bool:
        return bool(self.members)

    def __bool__(self) -> bool:
        return self.staff or self.volunteer

    def subtree_q(self, prefix: str = "") -> Q:
        q = Q(pk__in=[])
        for path in self.paths:
            q |= grid_filter(path, prefix)
        return q


def reach(user: Any) -> Reach:
    """The user's reach, read once per request (kept on the user object)."""
    cached = getattr(user, "_community_reach", None)
    if cached is not None:
        return cached
    found = _reach(user)
    user._community_reach = found
    return found


def _reach(user: Any) -> Reach:
    if user is None or not user.is_authenticated:
        return Reach()
    if is_county_wide(user):
        return Reach(everything=True)
    held = held_roles(user)
    paths: set[str] = set()
    for h in held:
        if not h.grid_path:
            continue
        if h.role in OVERSEERS:
            if h.grid_level == 0:
                return Reach(everything=True)
            paths.add(h.grid_path)
        elif h.role in WORKERS and h.grid_level == 3:
            paths.add(h.grid_path)
    outer = tuple(p for p in sorted(paths) if not any(p != q and p.startswith(q) for q in paths))
    above = {pk for p in outer for pk in ancestors_and_self(p)[:-1]}
    members: set[int] = set()
    teams: set[int] = set()
    team_grids: set[int] = set()
    if any(h.role == Role.VOLUNTEER for h in held):
        rows = Member.objects.filter(user=user, active=True, team__active=True).values_list(
            "pk", "team_id", "team__grid__path"
        )
        for member_id, team_id, path in rows:
            members.add(member_id)
            teams.add(team_id)
            team_grids.update(ancestors_and_self(path or ""))
    return Reach(
        paths=outer,
        above=frozenset(above),
        members=frozenset(members),
        teams=frozenset(teams),
        team_grids=frozenset(team_grids),
    )


def reads_community(user: Any) -> bool:
    """Whether the user works with the community's records as grid staff (the workbench's pages). No query
    beyond the role assignments read once a request."""
    if user is None or not user.is_authenticated:
        return False
    if is_county_wide(user):
        return True
    return any(
        h.grid_path and (h.role in OVERSEERS or (h.role in WORKERS and h.grid_level == 3))
        for h in held_roles(user)
    )


def team_q(user: Any, prefix: str = "") -> Q | None:
    """The filter of the teams `user` sees (through `prefix`, e.g. "team__"); None means every team."""
    r = reach(user)
    if r.everything:
        return None
    q = r.subtree_q(prefix)
    if r.above:
        q |= Q(**{f"{prefix}grid_id__in": sorted(r.above)})
    if r.teams:
        q |= Q(**{f"{prefix}pk__in": sorted(r.teams)})
    return q


def _activity_q(r: Reach, prefix: str = "") -> Q:
    q = r.subtree_q(prefix)
    if r.above:
        q |= Q(**{f"{prefix}grid_id__in": sorted(r.above)})
    if r.teams:
        q |= Q(**{f"{prefix}team_id__in": sorted(r.teams)})
        q |= Q(**{f"{prefix}team__isnull": True, f"{prefix}grid_id__in": sorted(r.team_grids)})
    return q


def activity_q(user: Any, prefix: str = "") -> Q | None:
    """The filter of the activities `user` sees; None means every activity."""
    r = reach(user)
    return None if r.everything else _activity_q(r, prefix)


def task_q(user: Any) -> Q | None:
    """The filter of the tasks `user` sees: staff those given in their subtree, a volunteer their teams'."""
    r = reach(user)
    if r.everything:
        return None
    q = r.subtree_q()
    if r.teams:
        q |= Q(team_id__in=sorted(r.teams))
    return q


def member_q(user: Any) -> Q | None:
    """The members of the teams the user sees."""
    r = reach(user)
    if r.everything:
        return None
    q = r.subtree_q("team__")
    if r.above:
        q |= Q(team__grid_id__in=sorted(r.above))
    if r.teams:
        q |= Q(team_id__in=sorted(r.teams))
    return q


def signup_q(user: Any) -> Q | None:
    """Staff: the sign-ups of the activities they see; a volunteer: their own."""
    r = reach(user)
    if r.everything:
        return None
    q = _activity_q(Reach(paths=r.paths, above=r.above), "activity__") if r.staff else Q(pk__in=[])
    if r.members:
        q |= Q(member_id__in=sorted(r.members))
    return q


register_filter(Team, team_q)
register_filter(Member, member_q)
register_filter(Activity, activity_q)
register_filter(SignUp, signup_q)
register_filter(Task, task_q)
