"""Patrols and inspections in the back office: read only. They change only through the phone's calls and the
plans' services (services.py). Visits are not listed here: whom a worker visits (a care visit tells a key
group) is for the grid's people, through the API's scoping, not for the system administrator."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import InspectionPlan, InspectionTask, Patrol


@admin.register(Patrol)
class PatrolAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("started_at", "user", "grid", "ended_at", "points", "distance")
    list_filter = ("started_at",)
    search_fields = ("user__username", "user__full_name", "grid__code", "grid__name")
    list_select_related = ("user", "grid")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    list_per_page = 100
    # The track itself can hold thousands of points: the page shows its size, not the raw list.
    fields = (
        "key",
        "user",
        "grid",
        "started_at",
        "ended_at",
        "start_lon",
        "start_lat",
        "end_lon",
        "end_lat",
        "points",
        "distance",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("track", "grid__geometry")

    @admin.display(description=_("distance (m)"), ordering="distance_m")
    def distance(self, obj: Patrol) -> str:
        return f"{obj.distance_m:,.0f}"


@admin.register(InspectionPlan)
class InspectionPlanAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("name", "item", "grid", "every_days", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "item__code", "item__name", "grid__code", "grid__name")
    list_select_related = ("item", "grid")
    ordering = ("-id",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")


@admin.register(InspectionTask)
class InspectionTaskAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("due_on", "plan", "component", "grid", "worker", "state", "done_at", "case_number")
    list_filter = ("state", "due_on")
    search_fields = ("component__object_id", "grid__code", "case_number", "plan__name")
    list_select_related = ("plan", "component", "grid", "worker")
    date_hierarchy = "due_on"
    ordering = ("due_on", "id")
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")
