"""People and roles in the admin. 三员分立: the system administrator keeps the accounts, the security
administrator grants roles and lifts locks; administrator duties change only through the security
administrator, never one's own."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, DutyInlineMixin
from gridgov.core.scoping import holds_duty

from . import services
from .backends import client_ip
from .models import RoleAssignment, User


class RoleAssignmentInline(DutyInlineMixin, admin.TabularInline):
    model = RoleAssignment
    extra = 0
    raw_id_fields = ("grid", "department")
    fields = ("role", "grid", "department", "created_at")
    readonly_fields = ("created_at",)

    duties = ("security",)  # roles are granted by the security administrator

    def has_view_permission(self, request, obj=None):
        return holds_duty(request.user, ("system", "security"))


@admin.register(User)
class GridgovUserAdmin(AuditedModelAdmin, UserAdmin):
    duties = ("system", "security")
    list_display = ("username", "full_name", "admin_duty", "is_active", "locked_until", "last_login")
    list_filter = ("admin_duty", "is_active", "assignments__role")
    search_fields = ("username", "full_name")
    ordering = ("username",)
    inlines = [RoleAssignmentInline]
    actions = ["unlock"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "email", "language")}),
        (_("Access"), {"fields": ("is_active", "admin_duty", "failed_logins", "locked_until", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "password1", "password2")}),
    )
    readonly_fields = ("failed_logins", "locked_until", "last_login", "admin_duty")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Only the security administrator changes duties, and never their own.
        if holds_duty(request.user, ("security",)) and obj is not None and obj.pk != request.user.pk:
            fields.remove("admin_duty")
        return fields

    def has_add_permission(self, request):
        return holds_duty(request.user, ("system",))

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: the audit trail refers to them

    def save_model(self, request, obj, form, change):
        if change and "admin_duty" in form.changed_data:
            duty = form.cleaned_data["admin_duty"]
            obj.admin_duty = User.objects.get(pk=obj.pk).admin_duty
            super().save_model(request, obj, form, change)
            services.do_set_admin_duty(obj, duty, actor=request.user)
        else:
            super().save_model(request, obj, form, change)

    def user_change_password(self, request, id, form_url=""):
        """Passwords are reset by the security administrator only, never for another administrator
        (三员分立: one administrator must not be able to take over another's account), and every reset is
        audited."""
        from django.core.exceptions import PermissionDenied
        from django.db import transaction

        from gridgov.core import audit

        target = self.get_object(request, id)
        if target is None:
            return super().user_change_password(request, id, form_url)
        if not holds_duty(request.user, ("security",)) or (
            target.admin_duty and target.pk != request.user.pk
        ):
            raise PermissionDenied
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                audit.record(
                    "accounts.set_password", actor=request.user, target=target, ip=client_ip(request)
                )
        return response

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock(self, request, queryset):
        if not holds_duty(request.user, ("security",)):
            self.message_user(request, _("Only the security administrator unlocks accounts."), messages.ERROR)
            return
        for user in queryset:
            services.do_unlock(user, actor=request.user)
        self.message_user(request, _("Unlocked."), messages.SUCCESS)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AuditedModelAdmin):
    duties = ("security",)
    list_display = ("user", "role", "grid", "department", "created_at")
    list_filter = ("role", "grid__level", "department")
    search_fields = ("user__username", "user__full_name", "grid__code", "grid__name")
    raw_id_fields = ("user", "grid", "department")

    def save_model(self, request, obj, form, change):
        try:
            obj.full_clean()
        except ValidationError as exc:  # pragma: no cover - the form already ran clean()
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        super().save_model(request, obj, form, change)
