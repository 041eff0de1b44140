"""Who sees and who acts on hotspots and emergencies.

Hotspots: grid staff, operators and leaders see those of their grid subtree (through the denormalised level
ids), department handlers those of their department, grid guides those of their department inside their grids.
Emergencies: grid staff, operators and leaders see an incident when one of its affected grids lies in their
subtree or holds their grid; the staff of a dispatched department see it too. Out of scope is not found (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register

from .models import Hotspot, HotspotEvent, Incident, IncidentDispatch, IncidentGrid

# Roles that read hotspots and incidents of their grid subtree.
GRID_ROLES = frozenset(
    {
        Role.INFO_OFFICER,
        Role.GRID_SPECIALIST,
        Role.GRID_HEAD_L2,
        Role.GRID_HEAD_L1,
        Role.OPERATOR,
        Role.LEADER,
    }
)
# The command centre: declares, dispatches, broadcasts and closes.
COMMAND_ROLES = frozenset({Role.OPERATOR, Role.LEADER})
# Told by a broadcast: the grid workers and grid heads of the affected grids' subtrees.
WORKER_ROLES = (Role.GRID_SPECIALIST, Role.INFO_OFFICER, Role.GRID_HEAD_L2, Role.GRID_HEAD_L1)
# A department's staff.
UNIT_ROLES = frozenset({Role.DEPT_HANDLER, Role.GRID_GUIDE})
# The highest level (0 the banner, 1 a town) whose command centre declares an emergency.
DECLARING_LEVEL = 1


def hotspot_q(user: Any) -> Q | None:
    """The filter of the hotspots `user` may see; None means every one."""
    if is_county_wide(user):
        return None
    q = Q(pk__in=[])
    for h in held_roles(user):
        if h.role in GRID_ROLES and h.grid_path:
            if h.grid_level == 0:
                return None
            q |= grid_filter(h.grid_path)
        elif h.role == Role.DEPT_HANDLER and h.department_id:
            q |= Q(department_id=h.department_id)
        elif h.role == Role.GRID_GUIDE and h.department_id and h.grid_path:
            q |= grid_filter(h.grid_path) & Q(department_id=h.department_id)
    return q


@register(Hotspot)
def _hotspots(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = hotspot_q(user)
    return qs if q is None else qs.filter(q)


@register(HotspotEvent)
def _hotspot_events(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = hotspot_q(user)
    return qs if q is None else qs.filter(Exists(Hotspot.objects.filter(q, pk=OuterRef("hotspot_id"))))


def reads_hotspots(user: Any) -> bool:
    return bool(user.is_authenticated) and (
        is_county_wide(user) or any(h.role in GRID_ROLES or h.role in UNIT_ROLES for h in held_roles(user))
    )


def acts_on_hotspot(user: Any, hotspot: Hotspot, grid_path: str) -> bool:
    """The department answering for the hotspot works on it; the command centre over its grid may too (a
    hotspot no department answers for is theirs)."""
    for h in held_roles(user):
        if h.role == Role.DEPT_HANDLER and h.department_id and h.department_id == hotspot.department_id:
            return True
        if (
            h.role == Role.GRID_GUIDE
            and h.department_id == hotspot.department_id
            and h.grid_path
            and grid_path.startswith(h.grid_path)
        ):
            return True
        if h.role in COMMAND_ROLES and h.grid_path and grid_path.startswith(h.grid_path):
            return True
    return False


def incident_q(user: Any) -> Q | None:
    """The filter of the incidents `user` may see; None means every one."""
    if is_county_wide(user):
        return None
    below = Q(pk__in=[])  # affected grids inside the user's subtrees
    above: set[int] = set()  # the user's grids and their ancestors
    departments: set[int] = set()
    for h in held_roles(user):
        if h.role in GRID_ROLES and h.grid_path:
            if h.grid_level == 0:
                return None
            below |= Q(path__startswith=h.grid_path)
            above.update(int(x) for x in h.grid_path.strip("/").split("/"))
        elif h.role in UNIT_ROLES and h.department_id:
            departments.add(h.department_id)
    q = Q(pk__in=[])
    if above:
        q |= Q(Exists(IncidentGrid.objects.filter(below | Q(grid_id__in=above), incident_id=OuterRef("pk"))))
    if departments:
        q |= Q(
            Exists(IncidentDispatch.objects.filter(incident_id=OuterRef("pk"), department_id__in=departments))
        )
    return q


@register(Incident)
def _incidents(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = incident_q(user)
    return qs if q is None else qs.filter(q)


def reads_incidents(user: Any) -> bool:
    return reads_hotspots(user)


def commands(user: Any, paths: Iterable[str]) -> bool:
    """Whether `user` is an operator or leader of the banner or a town whose subtree holds every one of the
    grids at `paths` (the command centre of the incident)."""
    paths = list(paths)
    if not paths:
        return False
    for h in held_roles(user):
        if (
            h.role in COMMAND_ROLES
            and h.grid_path
            and h.grid_level is not None
            and h.grid_level <= DECLARING_LEVEL
            and all(p.startswith(h.grid_path) for p in paths)
        ):
            return True
    return False


def declares(user: Any) -> bool:
    """Whether `user` may declare an emergency somewhere (an operator or leader of the banner or a town)."""
    return any(
        h.role in COMMAND_ROLES
        and h.grid_path
        and h.grid_level is not None
        and h.grid_level <= DECLARING_LEVEL
        for h in held_roles(user)
    )


def command_paths(user: Any) -> list[str]:
    """The subtrees in which `user` declares emergencies."""
    return [
        h.grid_path
        for h in held_roles(user)
        if h.role in COMMAND_ROLES
        and h.grid_path
        and h.grid_level is not None
        and h.grid_level <= DECLARING_LEVEL
    ]


def unit_departments(user: Any) -> set[int]:
    """The departments whose dispatches `user` answers (handlers and grid guides)."""
    return {h.department_id for h in held_roles(user) if h.role in UNIT_ROLES and h.department_id}
