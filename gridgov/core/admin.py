"""Admin base: every admin page reads through `visible_to` and every change it saves is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from . import audit
from .audit import client_ip
from .models import AuditRecord, CalendarDay, WorkingPeriod
from .scoping import holds_duty, visible_to


class ReadOnlyAdminMixin:
    """History and logs: shown, never added to, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DutyInlineMixin:
    """An inline belongs to the same administrator duties as its page (no per-model Django permissions):
    set `duties` to the page's."""

    duties: tuple[str, ...] = ("system",)

    def has_view_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def has_add_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def has_change_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def has_delete_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)


class AuditedModelAdmin(admin.ModelAdmin):
    """Scoped reads (the one scoping entry point), an audit entry for every save and delete, and access for
    the administrator duties in `duties` only (the system administrator's, unless a page says otherwise)."""

    duties: tuple[str, ...] = ("system",)

    def has_module_permission(self, request):
        return holds_duty(request.user, self.duties)

    def has_view_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def has_add_permission(self, request):
        return holds_duty(request.user, self.duties)

    def has_change_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def has_delete_permission(self, request, obj=None):
        return holds_duty(request.user, self.duties)

    def get_queryset(self, request):
        return visible_to(request.user, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                f"admin.{'change' if change else 'add'}",
                actor=request.user,
                target=obj,
                data={"fields": sorted(form.changed_data)},
                ip=client_ip(request),
            )

    def save_related(self, request, form, formsets, change):
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            # Name every row an inline added, changed or deleted: "a role was granted" is not an audit entry.
            for formset in formsets:
                rows = [
                    *(("add", o, []) for o in formset.new_objects),
                    *(("change", o, fields) for o, fields in formset.changed_objects),
                    *(("delete", o, []) for o in formset.deleted_objects),
                ]
                for verb, obj, fields in rows:
                    audit.record(
                        f"admin.{verb}",
                        actor=request.user,
                        target=obj,
                        data={"row": str(obj), "fields": sorted(fields), "of": str(form.instance)},
                        ip=client_ip(request),
                    )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(
                "admin.delete", actor=request.user, target=obj, data=_snapshot(obj), ip=client_ip(request)
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit.record(
                    "admin.delete", actor=request.user, target=obj, data=_snapshot(obj), ip=client_ip(request)
                )
            super().delete_queryset(request, queryset)


def _snapshot(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in model_to_dict(obj).items() if not isinstance(v, bytes | memoryview)}


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def get_queryset(self, request):
        return visible_to(request.user, super().get_queryset(request))

    """The audit log reads, never changes: no add, change or delete for anyone."""

    list_display = ("created_at", "actor_name", "action", "object_type", "object_id", "success", "ip")
    list_filter = ("action", "success")
    search_fields = ("actor_name", "action", "object_id")
    date_hierarchy = "created_at"

    def has_view_permission(self, request, obj=None):
        return holds_duty(request.user, ("audit",))

    def has_module_permission(self, request):
        return self.has_view_permission(request)


# -- the working calendar ---------------------------------------------------------------------------------------


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedModelAdmin):
    list_display = ("date", "weekday", "kind", "name", "provisional")
    list_filter = ("kind", "provisional")
    search_fields = ("name", "date")
    date_hierarchy = "date"
    ordering = ("date",)
    fields = ("date", "kind", "name", "source", "provisional")

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return date_format(obj.date, "l")


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(AuditedModelAdmin):
    list_display = ("start", "end")
    ordering = ("start",)
    fields = ("start", "end")
