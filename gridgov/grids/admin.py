"""Grids in the back office: read-mostly. Boundaries and the tree change only through imports and the
adjustment services (split, merge, redraw), never by editing a row; the admin may rename a grid and correct
its figures, through `services.do_update_grid`, audited."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin
from gridgov.core.scoping import holds_duty

from . import (
    scoping,  # noqa: F401  (registers the scoping rules of versions and changes)
    services,
)
from .models import Grid, GridChange, GridVersion


class CurrentFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("current", _("current")), ("closed", _("closed"))]

    def queryset(self, request, queryset):
        if self.value() == "current":
            return queryset.filter(valid_to__isnull=True)
        if self.value() == "closed":
            return queryset.filter(valid_to__isnull=False)
        return queryset


class GridVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = GridVersion
    fk_name = "grid"
    extra = 0
    can_delete = False
    fields = ("valid_from", "valid_to", "parent", "area_km2", "change")
    readonly_fields = fields
    ordering = ("valid_from",)
    verbose_name = _("version")
    verbose_name_plural = _("versions (history of the boundary)")

    @admin.display(description=_("area (km²)"))
    def area_km2(self, obj):
        return "—" if obj.area_m2 is None else f"{obj.area_m2 / 1e6:.3f}"

    def has_view_permission(self, request, obj=None):
        # The admin's duties decide, as on the grid page itself (no per-model Django permissions are used).
        return holds_duty(request.user, GridAdmin.duties)


@admin.register(Grid)
class GridAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "level",
        "kind",
        "parent",
        "area_km2_display",
        "households",
        "population",
        "valid_from",
        "valid_to",
    )
    list_filter = (CurrentFilter, "level", "kind")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    ordering = ("code",)
    list_per_page = 100
    inlines = [GridVersionInline]
    fields = (
        "code",
        "name",
        "level",
        "kind",
        "parent",
        "area_km2_display",
        "bounds_display",
        "households",
        "population",
        "valid_from",
        "valid_to",
        "updated_at",
    )
    readonly_fields = (
        "code",
        "level",
        "kind",
        "parent",
        "area_km2_display",
        "bounds_display",
        "valid_from",
        "valid_to",
        "updated_at",
    )

    def get_readonly_fields(self, request, obj=None):
        # A grid with grids below it shows the sum of their figures; they are corrected down there.
        if obj is not None and Grid.objects.current().filter(parent=obj).exists():
            return (*self.readonly_fields, "households", "population")
        return self.readonly_fields

    @admin.display(description=_("area (km²)"), ordering="area_m2")
    def area_km2_display(self, obj):
        return "—" if obj.area_km2 is None else f"{obj.area_km2:.3f}"

    @admin.display(description=_("bounding box (WGS-84)"))
    def bounds_display(self, obj):
        if obj.min_lon is None:
            return _("no boundary yet")
        return f"{obj.min_lon:.6f}, {obj.min_lat:.6f} – {obj.max_lon:.6f}, {obj.max_lat:.6f}"

    def has_add_permission(self, request):
        return False  # grids come from imports and adjustments

    def has_delete_permission(self, request, obj=None):
        return False  # closed, never deleted: history and old records point at them

    def has_change_permission(self, request, obj=None):
        # Closed grids are history: readable, not editable.
        return super().has_change_permission(request, obj) and (obj is None or obj.valid_to is None)

    def save_model(self, request, obj, form, change):
        try:
            services.do_update_grid(
                Grid.objects.get(pk=obj.pk),
                actor=request.user,
                name=form.cleaned_data.get("name"),
                households=form.cleaned_data.get("households"),
                population=form.cleaned_data.get("population"),
            )
        except ValidationError as exc:
            # The form already checked types; what is left (an empty name) is shown, nothing saved.
            self.message_user(request, "; ".join(exc.messages), level="error")


@admin.register(GridChange)
class GridChangeAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("effective", "kind", "reason", "actor", "created_at")
    list_filter = ("kind",)
    search_fields = ("reason", "opened__code", "closed__code")
    date_hierarchy = "effective"
    fields = (
        "kind",
        "effective",
        "reason",
        "actor",
        "created_at",
        "closed_list",
        "opened_list",
        "moved_display",
    )
    readonly_fields = fields

    @admin.display(description=_("closed grids"))
    def closed_list(self, obj):
        return ", ".join(str(g) for g in obj.closed.all()) or "—"

    @admin.display(description=_("opened grids"))
    def opened_list(self, obj):
        return ", ".join(str(g) for g in obj.opened.all()) or "—"

    @admin.display(description=_("what moved"))
    def moved_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.moved, ensure_ascii=False, indent=2))
