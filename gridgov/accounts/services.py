"""The only code that changes users and role assignments."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.catalog.models import Department
from gridgov.core import audit
from gridgov.grids.models import Grid

from .choices import AdminDuty, Role
from .models import RoleAssignment, User


def do_assign_role(
    user: User,
    role: str,
    *,
    actor: Any,
    grid_code: str | None = None,
    department_code: str | None = None,
) -> RoleAssignment:
    """Give `user` a role over a grid subtree and/or a department. Unknown roles, grids or departments, and a
    scope that does not fit the role, are refused with a message naming the field."""
    if role not in Role.values:
        raise ValidationError(
            {
                "role": _("Unknown role: %(role)s. Known roles: %(known)s")
                % {"role": role, "known": ", ".join(Role.values)}
            }
        )
    grid = department = None
    if grid_code:
        grid = Grid.objects.current().filter(code=grid_code).first()
        if grid is None:
            raise ValidationError({"grid": _("No current grid has the code %(code)s.") % {"code": grid_code}})
    if department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            raise ValidationError(
                {"department": _("No department has the code %(code)s.") % {"code": department_code}}
            )
    assignment = RoleAssignment(user=user, role=role, grid=grid, department=department)
    assignment.full_clean()
    with transaction.atomic():
        assignment.save()
        audit.record(
            "accounts.assign_role",
            actor=actor,
            target=assignment,
            data={"user": user.username, "role": role, "grid": grid_code, "department": department_code},
        )
    return assignment


def do_revoke_role(assignment: RoleAssignment, *, actor: Any) -> None:
    with transaction.atomic():
        audit.record(
            "accounts.revoke_role",
            actor=actor,
            target=assignment,
            data={"user": assignment.user.username, "role": assignment.role},
        )
        assignment.delete()


def do_set_admin_duty(user: User, duty: str, *, actor: Any) -> User:
    """Give `user` one of the three administrator duties (三员分立). The duty is one column, so an account holds
    one at most; the system administrator also gets the admin site."""
    if duty not in AdminDuty.values:
        raise ValidationError({"admin_duty": _("Unknown administrator duty: %(duty)s") % {"duty": duty}})
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise ValidationError({"admin_duty": _("Nobody may change their own administrator duty.")})
    with transaction.atomic():
        previous = user.admin_duty
        user.admin_duty = duty
        user.is_staff = duty in (AdminDuty.SYSTEM, AdminDuty.SECURITY, AdminDuty.AUDIT)
        user.save(update_fields=["admin_duty", "is_staff"])
        audit.record("accounts.set_admin_duty", actor=actor, target=user, data={"from": previous, "to": duty})
    return user


def do_unlock(user: User, *, actor: Any) -> None:
    """Lift a login lock before it runs out (the security administrator's duty)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        audit.record("accounts.unlock", actor=actor, target=user)
