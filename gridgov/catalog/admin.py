"""Back-office pages of the responsibility list (system administrator's duty; every change audited)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Case, Count, Value, When
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, DutyInlineMixin

from .models import Department, Item, ItemQuestion, Module, RoutingRule, Stage, TimeLimit


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "short_name", "name_en", "phone", "lead_count", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "short_name", "name_en")
    ordering = ("code",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lead_count=Count("lead_items", distinct=True))

    @admin.display(description=_("items led"), ordering="_lead_count")
    def lead_count(self, obj):
        return obj._lead_count


@admin.register(Module)
class ModuleAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "name_en", "order", "item_count")
    search_fields = ("code", "name", "name_en")
    ordering = ("order", "code")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_item_count=Count("items"))

    @admin.display(description=_("number of items"), ordering="_item_count")
    def item_count(self, obj):
        return obj._item_count


class TimeLimitInline(DutyInlineMixin, admin.TabularInline):
    model = TimeLimit
    extra = 0
    fields = ("stage", "urgency", "minutes")

    def get_queryset(self, request):
        # In the order a case goes through the stages, normal before urgent.
        stage_order = Case(*[When(stage=s, then=Value(n)) for n, s in enumerate(Stage.values)])
        return super().get_queryset(request).order_by(stage_order, "urgency")


@admin.register(Item)
class ItemAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "module",
        "lead_department",
        "resolving_level",
        "urgency",
        "standard_code",
        "active",
    )
    list_filter = ("module", "kind", "lead_department", "resolving_level", "urgency", "active")
    search_fields = ("code", "name", "name_en", "pinyin", "standard_code", "keywords")
    list_select_related = ("module", "lead_department")
    filter_horizontal = ("assisting_departments",)
    readonly_fields = ("pinyin",)
    inlines = (TimeLimitInline,)
    ordering = ("code",)
    fieldsets = (
        (None, {"fields": ("code", "name", "name_en", "module", "kind", "standard_code", "active")}),
        (
            _("Responsibility"),
            {"fields": ("lead_department", "assisting_departments", "resolving_level", "urgency")},
        ),
        (_("Filing and closing"), {"fields": ("filing_condition", "closing_condition")}),
        (_("Search"), {"fields": ("keywords", "pinyin")}),
    )


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedModelAdmin):
    list_display = ("grid", "item", "module", "department", "note")
    list_filter = ("department", "module")
    search_fields = ("grid__code", "grid__name", "item__code", "item__name", "department__name", "note")
    list_select_related = ("grid", "item", "module", "department")
    autocomplete_fields = ("item", "department")
    raw_id_fields = ("grid",)


@admin.register(ItemQuestion)
class ItemQuestionAdmin(AuditedModelAdmin):
    """The questions an item asks of reporters (Open311 service attributes)."""

    list_display = ("item", "order", "code", "name", "datatype", "required", "variable")
    list_filter = ("datatype", "required", "item__module")
    search_fields = ("code", "name", "name_en", "item__code", "item__name")
    list_select_related = ("item",)
    autocomplete_fields = ("item",)
    ordering = ("item__code", "order")
