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


# -- people pages (the security administrator's duty) ----------------------------------------------------------

LANGUAGES = ("zh-hans", "en")


def do_create_user(
    username: str,
    *,
    actor: Any,
    full_name: str = "",
    language: str = "zh-hans",
    password: str | None = None,
    ip: str | None = None,
) -> User:
    """Create an account. Without a password it cannot sign in until one is set (`do_set_password`)."""
    user = User(username=username.strip(), full_name=full_name.strip(), language=language)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        audit.record(
            "accounts.create_user",
            actor=actor,
            target=user,
            ip=ip,
            data={"username": user.username, "full_name": user.full_name, "language": language},
        )
    return user


def do_update_user(user: User, *, actor: Any, full_name: str, language: str, ip: str | None = None) -> User:
    """Change a person's name and language (the language of their pages from their next request on)."""
    if language not in LANGUAGES:
        raise ValidationError({"language": _("Unknown language: %(value)s") % {"value": language}})
    full_name = full_name.strip()
    max_length = User._meta.get_field("full_name").max_length or 0
    if len(full_name) > max_length:
        raise ValidationError(
            {"full_name": _("The name is longer than %(max)s characters.") % {"max": max_length}}
        )
    before = {"full_name": user.full_name, "language": user.language}
    after = {"full_name": full_name, "language": language}
    if before == after:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(**after)
        audit.record(
            "accounts.update_user", actor=actor, target=user, ip=ip, data={"before": before, "after": after}
        )
    user.full_name, user.language = full_name, language
    return user


def do_set_active(user: User, active: bool, *, actor: Any, ip: str | None = None) -> None:
    """Disable an account (it can no longer sign in; its history stays) or enable it again. Nobody disables
    their own account."""
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise ValidationError({"is_active": _("Nobody may disable their own account.")})
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        audit.record("accounts.enable" if active else "accounts.disable", actor=actor, target=user, ip=ip)
    user.is_active = active


def do_set_password(user: User, password: str, *, actor: Any, ip: str | None = None) -> None:
    """Set a person's password (the security administrator's duty; never another administrator's: one
    administrator must not be able to take over another's account). Checked by the password validators."""
    from django.contrib.auth.password_validation import validate_password

    if user.admin_duty and getattr(actor, "pk", None) != user.pk:
        raise ValidationError({"password1": _("Another administrator's password is not set from here.")})
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages}) from exc
    user.set_password(password)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(password=user.password, failed_logins=0, locked_until=None)
        audit.record("accounts.set_password", actor=actor, target=user, ip=ip)


def do_import_people(
    rows: list[dict[str, Any]], *, actor: Any, file_name: str = "", ip: str | None = None
) -> Any:
    """Apply an import of people and roles (see `importers.plan_import`) all or nothing: the rows are checked
    again inside the transaction, and one bad row applies nothing (ImportRefused carries the checked plan)."""
    from .importers import ImportRefused, plan_import

    with transaction.atomic():
        plan = plan_import(rows)
        if plan.has_errors:
            raise ImportRefused(plan)
        users: dict[str, User] = {u.username: u for u in User.objects.filter(username__in=plan.usernames)}
        for row in plan.rows:
            user = users.get(row.username)
            if user is None:
                user = User(
                    username=row.username, full_name=row.full_name, language=row.language or "zh-hans"
                )
                user.set_unusable_password()
                user.save()
                users[user.username] = user
            elif row.user_changes:
                for field, value in row.user_changes.items():
                    setattr(user, field, value)
                user.save(update_fields=list(row.user_changes))
            if row.role and not row.assignment_exists:
                RoleAssignment.objects.create(
                    user=user, role=row.role, grid=row.grid, department=row.department
                )
        audit.record(
            "accounts.import_people",
            actor=actor,
            ip=ip,
            data={
                "file": file_name,
                "rows": len(plan.rows),
                "created": plan.count("create"),
                "updated": plan.count("update"),
                "unchanged": plan.count("unchanged"),
                "people": sorted(plan.usernames),
            },
        )
    return plan
