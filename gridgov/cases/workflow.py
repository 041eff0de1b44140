"""The transition table: the single source of who may do what to a case, from which state, to which state,
and with which fields. `cases.services` enforces it; the workbench and the API ask it which buttons to show;
a test walks every row.

Who is a `Capacity`: a role narrowed by the user's relation to the case (an operator whose centre covers the
case's grid, a handler of the case's lead department, the case's reporter…). `capacities()` computes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role

from .choices import OPEN_STATES, Action, Capacity, State

C = Capacity
S = State

# Fields an action may require, with the label its error names.
FIELD_LABELS = {
    "reason": _("reason"),
    "note": _("note"),
    "evidence": _("evidence"),
    "unit": _("lead unit"),
    "card": _("card"),
    "rating": _("rating"),
    "minutes": _("extension in working minutes"),
    "into": _("case to merge into"),
    "extension": _("extension request"),
    "description": _("description"),
    "address": _("address"),
    "reporter_name": _("reporter's name"),
}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    # None: the state does not change. PREVIOUS: back to the state the case was suspended from.
    target: str | None
    who: frozenset[str]
    requires: frozenset[str] = frozenset()
    # Only the capacity responsible at the case's current level may act (小事不出网格，大事不出村).
    at_level: bool = False
    # Where the case goes instead of `target` when no unit holds it (a self-handled case failing review).
    target_without_unit: str | None = None
    doc: Any = field(default="", compare=False)


PREVIOUS = "previous"
EVERYONE = frozenset(
    {
        C.OPERATOR,
        C.GRID_STAFF,
        C.GRID_HEAD_L2,
        C.GRID_HEAD_L1,
        C.LEADER,
        C.LEAD_UNIT,
        C.ASSIST_UNIT,
        C.REPORTER,
    }
)
ESCALATABLE = frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING})
SUPERVISABLE = frozenset(OPEN_STATES)
COMMENTABLE = frozenset(OPEN_STATES) | {S.CLOSED, S.REJECTED}

TABLE: tuple[Transition, ...] = (
    Transition(Action.ACCEPT, frozenset({S.REPORTED}), S.REGISTERED, frozenset({C.OPERATOR})),
    Transition(
        Action.REJECT, frozenset({S.REPORTED}), S.REJECTED, frozenset({C.OPERATOR}), frozenset({"reason"})
    ),
    Transition(
        Action.MERGE,
        frozenset({S.REPORTED, S.REGISTERED}),
        S.MERGED,
        frozenset({C.OPERATOR}),
        frozenset({"into"}),
    ),
    Transition(
        Action.DISPATCH, frozenset({S.REGISTERED}), S.DISPATCHED, frozenset({C.OPERATOR}), frozenset({"unit"})
    ),
    Transition(
        Action.REASSIGN,
        frozenset({S.DISPATCHED, S.HANDLING}),
        S.DISPATCHED,
        frozenset({C.OPERATOR}),
        frozenset({"unit", "reason"}),
    ),
    Transition(Action.SIGN, frozenset({S.DISPATCHED}), S.HANDLING, frozenset({C.LEAD_UNIT})),
    Transition(
        Action.RETURN,
        frozenset({S.DISPATCHED, S.HANDLING}),
        S.REGISTERED,
        frozenset({C.LEAD_UNIT}),
        frozenset({"reason"}),
    ),
    Transition(
        Action.ASSIST_SIGN, frozenset({S.DISPATCHED, S.HANDLING, S.HANDLED}), None, frozenset({C.ASSIST_UNIT})
    ),
    Transition(
        Action.ASSIST_FEEDBACK,
        frozenset({S.HANDLING, S.HANDLED}),
        None,
        frozenset({C.ASSIST_UNIT}),
        frozenset({"note"}),
    ),
    Transition(
        Action.FEEDBACK,
        frozenset({S.HANDLING}),
        S.HANDLED,
        frozenset({C.LEAD_UNIT}),
        frozenset({"note", "evidence"}),
    ),
    Transition(
        Action.VERIFY_PASS,
        frozenset({S.HANDLED}),
        S.CLOSED,
        frozenset({C.GRID_STAFF, C.OPERATOR, C.REPORTER}),
    ),
    Transition(
        Action.VERIFY_FAIL,
        frozenset({S.HANDLED}),
        S.HANDLING,
        frozenset({C.GRID_STAFF, C.OPERATOR, C.REPORTER}),
        frozenset({"reason"}),
        target_without_unit=S.REGISTERED,
    ),
    Transition(
        Action.SELF_HANDLE,
        frozenset({S.REPORTED}),
        S.CLOSED,
        frozenset({C.GRID_STAFF, C.GRID_HEAD_L2}),
        frozenset({"note", "evidence"}),
        at_level=True,
    ),
    Transition(
        Action.ESCALATE,
        ESCALATABLE,
        None,
        frozenset({C.GRID_STAFF, C.GRID_HEAD_L2, C.OPERATOR, C.SYSTEM}),
        frozenset({"reason"}),
        at_level=True,
    ),
    Transition(
        Action.REQUEST_EXTENSION,
        frozenset({S.DISPATCHED, S.HANDLING}),
        None,
        frozenset({C.LEAD_UNIT}),
        frozenset({"reason", "minutes"}),
    ),
    Transition(
        Action.APPROVE_EXTENSION,
        frozenset({S.DISPATCHED, S.HANDLING}),
        None,
        frozenset({C.OPERATOR}),
        frozenset({"extension"}),
    ),
    Transition(
        Action.DENY_EXTENSION,
        frozenset({S.DISPATCHED, S.HANDLING}),
        None,
        frozenset({C.OPERATOR}),
        frozenset({"extension", "reason"}),
    ),
    Transition(
        Action.SUSPEND,
        frozenset({S.REGISTERED, S.DISPATCHED, S.HANDLING, S.HANDLED}),
        S.SUSPENDED,
        frozenset({C.OPERATOR}),
        frozenset({"reason"}),
    ),
    Transition(Action.RESUME, frozenset({S.SUSPENDED}), PREVIOUS, frozenset({C.OPERATOR})),
    Transition(
        Action.SUPERVISE,
        SUPERVISABLE,
        None,
        frozenset({C.LEADER, C.GRID_HEAD_L1, C.OPERATOR, C.SYSTEM}),
        frozenset({"card", "reason"}),
    ),
    # An operator records the rating or the dispute of a reporter known by phone only (12345 回访).
    Transition(
        Action.EVALUATE,
        frozenset({S.CLOSED}),
        None,
        frozenset({C.REPORTER, C.OPERATOR}),
        frozenset({"rating"}),
    ),
    Transition(
        Action.DISPUTE,
        frozenset({S.CLOSED}),
        S.HANDLED,
        frozenset({C.REPORTER, C.OPERATOR}),
        frozenset({"reason"}),
    ),
    Transition(Action.COMMENT, COMMENTABLE, None, EVERYONE, frozenset({"note"})),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TABLE}

# Events that are not rows of the table because they are not taken on the case by someone in a capacity:
# `report` (intake opens the case), `me_too` (a supporter joins it) and `merge` recorded on the surviving case
# (its supporters grew); none of them changes the state.

# Who answers for a case at each level of the ladder grid (3) → village (2) → town (1) → banner (0).
RESPONSIBLE_AT_LEVEL: dict[int, str] = {3: C.GRID_STAFF, 2: C.GRID_HEAD_L2, 1: C.OPERATOR, 0: C.OPERATOR}

# Capacities from roles whose assignment names a grid covering the case.
GRID_CAPACITIES: dict[str, str] = {
    Role.OPERATOR: C.OPERATOR,
    Role.GRID_HEAD_L2: C.GRID_HEAD_L2,
    Role.GRID_HEAD_L1: C.GRID_HEAD_L1,
    Role.LEADER: C.LEADER,
    Role.INFO_OFFICER: C.GRID_STAFF,
    Role.GRID_SPECIALIST: C.GRID_STAFF,
}
UNIT_ROLES = frozenset({Role.DEPT_HANDLER, Role.GRID_GUIDE})


def permits(t: Transition, capacities: frozenset[str], state: str, level: int) -> bool:
    """Whether a user holding `capacities` may take transition `t` on a case in `state` at `level`."""
    if state not in t.sources:
        return False
    held = capacities & t.who
    if not held:
        return False
    if t.at_level:
        responsible = {RESPONSIBLE_AT_LEVEL.get(level), C.SYSTEM}
        if not held & responsible:
            return False
        if t.action == Action.ESCALATE and level <= 0:
            return False
    return True
