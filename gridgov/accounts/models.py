from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ROLE_SCOPE, AdminDuty, Role, ScopeKind


class User(AbstractUser):
    """A person who signs in. Personal names are shown as `full_name`; `username` is the login."""

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )
    admin_duty = models.CharField(
        _("administrator duty"), max_length=10, choices=AdminDuty.choices, default=AdminDuty.NONE, blank=True
    )
    failed_logins = models.PositiveSmallIntegerField(_("failed logins in a row"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class RoleAssignment(models.Model):
    """A role held by a user over a scope: a grid subtree, a department, or both (a grid guide)."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, db_index=True)
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
        limit_choices_to={"valid_to__isnull": True},  # a closed grid is history: nobody is given it
    )
    department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    created_at = models.DateTimeField(_("assigned"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        # SQL counts two NULLs as different, so each shape of scope gets its own uniqueness rule.
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "grid", "department"], name="assignment_unique"),
            models.UniqueConstraint(
                fields=["user", "role", "grid"],
                condition=models.Q(department__isnull=True),
                name="assignment_unique_grid_only",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "department"],
                condition=models.Q(grid__isnull=True),
                name="assignment_unique_department_only",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(grid__isnull=True, department__isnull=True),
                name="assignment_unique_unscoped",
            ),
        ]
        indexes = [models.Index(fields=["grid", "role"])]

    def __str__(self) -> str:
        where = " / ".join(str(x) for x in (self.grid, self.department) if x)
        return f"{self.user} · {self.get_role_display()} · {where}"

    def clean(self) -> None:
        if self.role not in ROLE_SCOPE:
            raise ValidationError({"role": _("Unknown role: %(role)s") % {"role": self.role}})
        kind, level = ROLE_SCOPE[self.role]
        needs_grid = kind in (ScopeKind.GRID, ScopeKind.DEPARTMENT_IN_GRID)
        needs_department = kind in (ScopeKind.DEPARTMENT, ScopeKind.DEPARTMENT_IN_GRID)
        errors: dict[str, Any] = {}
        if needs_grid and self.grid_id is None:
            errors["grid"] = _("This role is scoped to a grid: choose one.")
        if not needs_grid and self.grid_id is not None:
            errors["grid"] = _("This role is not scoped to a grid.")
        if needs_department and self.department_id is None:
            errors["department"] = _("This role is scoped to a department: choose one.")
        if not needs_department and self.department_id is not None:
            errors["department"] = _("This role is not scoped to a department.")
        if self.grid is not None and self.grid.valid_to is not None:
            errors["grid"] = _("The grid %(code)s is closed: choose a current grid.") % {
                "code": self.grid.code
            }
        elif needs_grid and level is not None and self.grid is not None and self.grid.level != level:
            errors["grid"] = _("This role is held over a level-%(level)d grid.") % {"level": level}
        if errors:
            raise ValidationError(errors)
