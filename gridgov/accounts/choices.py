from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Business roles (domain.md). Each assignment is scoped to a grid subtree and/or a department."""

    RESIDENT = "resident", _("resident")
    INFO_OFFICER = "info_officer", _("information officer")
    GRID_SPECIALIST = "grid_specialist", _("grid specialist")
    GRID_HEAD_L2 = "grid_head_l2", _("level-2 grid head")
    GRID_HEAD_L1 = "grid_head_l1", _("level-1 grid head")
    OPERATOR = "operator", _("command-centre operator")
    GRID_GUIDE = "grid_guide", _("grid guide")
    DEPT_HANDLER = "dept_handler", _("department handler")
    LEADER = "leader", _("leader")
    MEDIATOR = "mediator", _("mediator")
    VOLUNTEER = "volunteer", _("volunteer")


class AdminDuty(models.TextChoices):
    """The three separated administrator duties (三员分立). One column per user, so one duty at most."""

    NONE = "", _("none")
    SYSTEM = "system", _("system administrator")
    SECURITY = "security", _("security administrator")
    AUDIT = "audit", _("audit administrator")


class ScopeKind(models.TextChoices):
    GRID = "grid", _("a grid subtree")
    DEPARTMENT = "department", _("a department")
    DEPARTMENT_IN_GRID = "department_grid", _("a department inside a grid subtree")
    OWN = "own", _("own records")


# What each role's assignment must name, and at which grid level (None: any level).
ROLE_SCOPE: dict[str, tuple[str, int | None]] = {
    Role.RESIDENT: (ScopeKind.OWN, None),
    Role.INFO_OFFICER: (ScopeKind.GRID, 3),
    Role.GRID_SPECIALIST: (ScopeKind.GRID, 3),
    Role.GRID_HEAD_L2: (ScopeKind.GRID, 2),
    Role.GRID_HEAD_L1: (ScopeKind.GRID, 1),
    Role.OPERATOR: (ScopeKind.GRID, None),
    Role.GRID_GUIDE: (ScopeKind.DEPARTMENT_IN_GRID, 2),
    Role.DEPT_HANDLER: (ScopeKind.DEPARTMENT, None),
    Role.LEADER: (ScopeKind.GRID, None),
    Role.MEDIATOR: (ScopeKind.GRID, None),
    Role.VOLUNTEER: (ScopeKind.GRID, None),
}
