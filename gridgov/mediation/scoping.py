"""Who sees which dispute, committee and mediator, and who may work on a dispute.

Disputes: the county-wide administrators all of them; leaders, operators and the heads of a town or a village
those of their grid subtree; a grid specialist or an information officer those of their grid (they mediate
first, in the grid); a mediator (the mediator role over a grid) those of that grid's subtree — their
committee's — and those they are assigned to, wherever they are. Nobody else sees any (404).

The parties, sessions, agreement, follow-ups and timeline of a dispute are seen with it.

Committees: the readers of mediation see the committees of their subtree and those above it (a grid's dispute is
referred up to the village's and the town's committee); mediators are seen with their committee.

Who works on a dispute (receives, assigns, records sessions and outcomes…): those who see it in a role that
mediates or oversees mediation — grid workers, heads, operators and mediators; leaders read only."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from gridgov.accounts.choices import Role
from gridgov.accounts.scoping import grid_filter, held_roles, is_county_wide
from gridgov.core.scoping import register, register_filter

from .models import Agreement, Committee, Dispute, DisputeEvent, FollowUp, Mediator, Party, Session

# Roles that see the disputes of their grid subtree.
OVERSEERS = frozenset({Role.LEADER, Role.OPERATOR, Role.GRID_HEAD_L1, Role.GRID_HEAD_L2})
# The roles held over a level-3 grid whose holders mediate first, in the grid.
WORKER_ROLES = frozenset({Role.GRID_SPECIALIST, Role.INFO_OFFICER})
# Roles that work on disputes (the others who see them read only).
ACTING_ROLES = frozenset({Role.OPERATOR, Role.GRID_HEAD_L1, Role.GRID_HEAD_L2, Role.MEDIATOR}) | WORKER_ROLES
READING_ROLES = OVERSEERS | WORKER_ROLES | {Role.MEDIATOR}


def mediator_ids(user: Any) -> list[int]:
    """The user's own mediator records (a login may mediate on more than one committee), read once a request."""
    cached = getattr(user, "_gridgov_mediator_ids", None)
    if cached is None:
        cached = (
            list(Mediator.objects.filter(user_id=user.pk).values_list("id", flat=True)) if user.pk else []
        )
        user._gridgov_mediator_ids = cached
    return cached


def assigned_q(user: Any, prefix: str = "") -> Q:
    """Disputes the user is assigned to as a mediator (lead or assisting)."""
    ids = mediator_ids(user)
    if not ids:
        return Q(pk__in=[])
    assisting = Dispute.assistants.through.objects.filter(mediator_id__in=ids).values("dispute_id")
    return Q(**{f"{prefix}lead_mediator_id__in": ids}) | Q(**{f"{prefix}pk__in": assisting})


def _grid_q(path: str, level: int | None, grid_id: int | None, prefix: str = "") -> Q | None:
    """The disputes in the subtree at `path` (None: every dispute)."""
    if level == 0:
        return None
    if level == 3 and grid_id is not None:
        return Q(**{f"{prefix}grid_l3_id": grid_id})
    return grid_filter(path, prefix)


def dispute_q(user: Any) -> Q | None:
    """The filter of the disputes `user` may see; None means every dispute."""
    if is_county_wide(user):
        return None
    q = Q(pk__in=[])
    for h in held_roles(user):
        if not h.grid_path:
            continue
        if h.role in OVERSEERS or h.role == Role.MEDIATOR or (h.role in WORKER_ROLES and h.grid_level == 3):
            sub = _grid_q(h.grid_path, h.grid_level, h.grid_id)
            if sub is None:
                return None
            q |= sub
    if any(h.role == Role.MEDIATOR for h in held_roles(user)) or mediator_ids(user):
        q |= assigned_q(user)
    return q


def reads_mediation(user: Any) -> bool:
    """Whether the user holds a role that works on or oversees mediation (anybody else is refused, not shown an
    empty list): for the navigation and the pages."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_county_wide(user):
        return True
    return any(h.role in READING_ROLES for h in held_roles(user)) or bool(mediator_ids(user))


def acts_in(user: Any, grid_path: str) -> bool:
    """Whether the user works on disputes of the level-3 grid at `grid_path` (receives them, mediates them)."""
    for h in held_roles(user):
        if h.role in ACTING_ROLES and h.grid_path and grid_path.startswith(h.grid_path):
            if h.role in WORKER_ROLES and h.grid_level != 3:
                continue
            return True
    return False


def may_act(user: Any, dispute: Dispute, grid_path: str | None = None) -> bool:
    """Whether the user works on `dispute` (which they see), whose grid is at `grid_path` (default: read from
    the dispute's grid): in an acting role over its grid, or as one of its mediators or a mediator of its
    committee."""
    if acts_in(user, grid_path if grid_path is not None else dispute.grid.path):
        return True
    ids = mediator_ids(user)
    if not ids:
        return False
    if dispute.lead_mediator_id in ids:
        return True
    if (
        dispute.committee_id
        and Mediator.objects.filter(pk__in=ids, committee_id=dispute.committee_id).exists()
    ):
        return True
    return Dispute.assistants.through.objects.filter(dispute_id=dispute.pk, mediator_id__in=ids).exists()


def may_receive(user: Any) -> bool:
    """Whether the user receives disputes somewhere (the intake form's button)."""
    return any(h.role in ACTING_ROLES and h.grid_path for h in held_roles(user))


def committee_q(user: Any) -> Q | None:
    """The filter of the committees `user` may see: of their subtrees and above them. None: every committee."""
    if is_county_wide(user):
        return None
    q = Q(pk__in=[])
    above: set[int] = set()
    for h in held_roles(user):
        if h.role not in READING_ROLES or not h.grid_path:
            continue
        if h.grid_level == 0:
            return None
        q |= grid_filter(h.grid_path)
        above.update(int(x) for x in h.grid_path.strip("/").split("/") if x)
    if above:
        q |= Q(grid_id__in=sorted(above))
    ids = mediator_ids(user)
    if ids:
        q |= Q(pk__in=Mediator.objects.filter(pk__in=ids).values("committee_id"))
    return q


def _through_dispute(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = dispute_q(user)
    return qs if q is None else qs.filter(Exists(Dispute.objects.filter(q, pk=OuterRef("dispute_id"))))


register_filter(Dispute, dispute_q)
register_filter(Committee, committee_q)


@register(Mediator)
def _mediators(user: Any, qs: models.QuerySet) -> models.QuerySet:
    q = committee_q(user)
    return qs if q is None else qs.filter(Exists(Committee.objects.filter(q, pk=OuterRef("committee_id"))))


for _model in (Party, Session, Agreement, FollowUp, DisputeEvent):
    register(_model)(_through_dispute)
