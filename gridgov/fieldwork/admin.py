"""Patrols in the back office: read only. A patrol changes only through the phone's calls (services.py)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import Patrol


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
