"""The registry in the back office, for the system administrator (business data, 三员分立).

Persons and their moves are read only here: a person is registered, found again and moved through
`services` (encryption, the master index, the move history, the audit record), never by editing a row. Personal
data shows masked (the masked copy kept beside the ciphertext), never decrypted, and the encrypted and blind-index
columns are never listed or shown. Searching takes a whole phone or document number through its blind index, like
the workbench. Key groups are not here at all: administrators get counts on the registry's pages, never names.

Households, buildings, organisations, components and party organisations may be corrected; a new one is placed in
its grid with the grid's ancestors, and the grid of an existing one is not changed here (its people would stay
behind)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.core.admin import AuditedModelAdmin, DutyInlineMixin, ReadOnlyAdminMixin

from .models import (
    Building,
    Component,
    Household,
    Organisation,
    PartyOrganisation,
    Person,
    PersonMove,
    PersonRole,
)
from .selectors import search_q
from .validators import check_component_id, check_credit_code

DUTIES = ("system",)


class RegistryAdmin(AuditedModelAdmin):
    duties = DUTIES
    list_per_page = 100
    ordering = ("-id",)
    # A grid's boundary is a large document: never read for a list.
    deferred: tuple[str, ...] = ("grid__geometry",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*self.deferred)


class PlacedAdmin(RegistryAdmin):
    """A located record: placed in its grid (with the grid's ancestors) when added; its grid stays thereafter."""

    def get_readonly_fields(self, request, obj=None):
        fixed = ("grid_l1_id", "grid_l2_id", "grid_l3_id", "created_at", "updated_at")
        return (*self.readonly_fields, *fixed, *(("grid",) if obj is not None else ()))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.place_in(obj.grid)
        super().save_model(request, obj, form, change)


class PersonMoveInline(ReadOnlyAdminMixin, DutyInlineMixin, admin.TabularInline):
    model = PersonMove
    duties = DUTIES
    extra = 0
    can_delete = False
    fields = ("moved_at", "from_grid", "to_grid", "reason", "change", "actor")
    readonly_fields = fields
    ordering = ("-moved_at", "-id")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("from_grid", "to_grid", "actor")
            .defer("from_grid__geometry", "to_grid__geometry")
        )


class PersonRoleInline(ReadOnlyAdminMixin, DutyInlineMixin, admin.TabularInline):
    model = PersonRole
    duties = DUTIES
    extra = 0
    can_delete = False
    fields = ("role", "party_organisation", "since")
    readonly_fields = fields


@admin.register(Person)
class PersonAdmin(ReadOnlyAdminMixin, RegistryAdmin):
    list_display = (
        "name",
        "gender",
        "document_kind",
        "document_masked",
        "phone_masked",
        "grid",
        "residence",
        "state",
        "updated_at",
    )
    list_filter = ("state", "residence", "document_kind", "source")
    list_select_related = ("grid",)
    search_fields = ("name",)
    search_help_text = _("The start of a name, or a whole phone or ID number.")
    inlines = [PersonRoleInline, PersonMoveInline]
    # Never the encrypted or blind-index columns: the masked copies only.
    fields = (
        "name",
        "name_mongolian",
        "document_kind",
        "document_masked",
        "gender",
        "ethnicity",
        "birth_date",
        "phone_masked",
        "household",
        "relation",
        "residence",
        "address",
        "grid",
        "lon",
        "lat",
        "state",
        "source",
        "version",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    deferred = ("grid__geometry", "document_enc", "phone_enc")

    def get_search_results(self, request, queryset, search_term):
        # Numbers through their blind index, names from their start (the workbench's search box).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(search_q(search_term)), False


@admin.register(Household)
class HouseholdAdmin(PlacedAdmin):
    list_display = ("number", "address", "house_number", "grid", "members")
    list_select_related = ("grid",)
    search_fields = ("=number", "address")
    raw_id_fields = ("grid", "building")
    fields = ("number", "grid", "building", "house_number", "address", "members", "lon", "lat")


@admin.register(Building)
class BuildingAdmin(PlacedAdmin):
    list_display = ("code", "name", "kind", "floors", "address", "grid")
    list_filter = ("kind",)
    list_select_related = ("grid",)
    search_fields = ("=code", "name", "address")
    raw_id_fields = ("grid",)
    fields = ("code", "name", "kind", "floors", "address", "grid", "lon", "lat")


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ("credit_code",)  # the admin adds the fields of its page

    def clean_credit_code(self) -> str:
        code = (self.cleaned_data.get("credit_code") or "").strip()
        return check_credit_code(code) if code else ""


class ComponentForm(forms.ModelForm):
    class Meta:
        model = Component
        fields = ("object_id",)  # the admin adds the fields of its page

    def clean_object_id(self) -> str:
        return check_component_id(self.cleaned_data.get("object_id") or "")


@admin.register(Organisation)
class OrganisationAdmin(PlacedAdmin):
    form = OrganisationForm
    list_display = ("name", "kind", "credit_code", "representative", "phone_masked", "grid", "state")
    list_filter = ("kind", "state", "source")
    list_select_related = ("grid",)
    search_fields = ("name", "=credit_code")
    raw_id_fields = ("grid", "building")
    # The phone is kept encrypted and shown masked; it changes through the registry, not here.
    fields = (
        "name",
        "kind",
        "credit_code",
        "representative",
        "phone_masked",
        "building",
        "address",
        "employees",
        "grid",
        "lon",
        "lat",
        "state",
        "source",
    )
    readonly_fields = ("phone_masked",)
    deferred = ("grid__geometry", "phone_enc")


@admin.register(Component)
class ComponentAdmin(PlacedAdmin):
    form = ComponentForm
    list_display = ("object_id", "name", "item", "grid", "owner_department", "state", "installed_on")
    list_filter = ("state", "item__module")
    list_select_related = ("grid", "item", "owner_department")
    search_fields = ("=object_id", "name", "location")
    raw_id_fields = ("grid", "item", "owner_department", "maintainer_department")
    fields = (
        "object_id",
        "item",
        "name",
        "location",
        "grid",
        "lon",
        "lat",
        "owner_department",
        "owner_unit",
        "maintainer_department",
        "state",
        "installed_on",
        "attributes",
        "source",
    )


@admin.register(PartyOrganisation)
class PartyOrganisationAdmin(PlacedAdmin):
    list_display = ("name", "kind", "parent", "grid", "secretary")
    list_filter = ("kind",)
    list_select_related = ("grid", "parent", "secretary")
    search_fields = ("name",)
    raw_id_fields = ("grid", "parent", "secretary")
    fields = ("name", "kind", "parent", "secretary", "grid", "lon", "lat")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secretary__document_enc", "secretary__phone_enc")
