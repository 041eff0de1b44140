"""Mediation's dictionaries in the back office (system administrator's duty; every change audited): the
committees of the towns, villages and grids, and their mediators. Disputes change only through the services
(services.py), on the workbench and the phone, so they are not here."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.cases.services import normalise_phone
from gridgov.core.admin import AuditedModelAdmin
from gridgov.core.errors import Refusal
from gridgov.core.personal import blind_index

from .choices import DisputeKind, Language
from .models import Committee, Mediator
from .services import phone_fields


class CommitteeForm(forms.ModelForm):
    class Meta:
        model = Committee
        fields = ("name", "grid", "address", "phone", "active")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        grid = data.get("grid")
        if grid is not None:
            if grid.valid_to is not None:
                self.add_error("grid", _("This grid is closed."))
            elif grid.level not in (1, 2, 3):
                self.add_error(
                    "grid", _("A mediation committee is a town's, a village's or a grid's (levels 1 to 3).")
                )
        return data


@admin.register(Committee)
class CommitteeAdmin(AuditedModelAdmin):
    form = CommitteeForm
    list_display = ("name", "grid", "level", "phone", "mediator_count", "active")
    list_filter = ("level", "active")
    search_fields = ("name", "grid__code", "grid__name")
    list_select_related = ("grid",)
    raw_id_fields = ("grid",)
    ordering = ("level", "grid__code")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")

    def save_model(self, request, obj, form, change):
        obj.place_in(obj.grid)
        super().save_model(request, obj, form, change)

    @admin.display(description=_("mediators"))
    def mediator_count(self, obj: Committee) -> int:
        return obj.mediators.filter(active=True).count()


class MediatorForm(forms.ModelForm):
    # The phone is typed in full and kept encrypted: the form shows the masked one and leaves it as it is
    # when left blank.
    phone = forms.CharField(label=_("contact phone"), required=False, max_length=30)
    skills = forms.MultipleChoiceField(
        label=_("skills"), choices=DisputeKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        label=_("languages"), choices=Language.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Mediator
        fields = (
            "committee",
            "name",
            "kind",
            "gender",
            "person",
            "user",
            "skills",
            "languages",
            "areas",
            "active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.phone_masked:
            self.fields["phone"].help_text = _("Now %(phone)s; leave blank to keep it.") % {
                "phone": self.instance.phone_masked
            }

    def clean_phone(self) -> dict[str, Any] | None:
        raw = self.cleaned_data.get("phone", "")
        if not raw.strip():
            return None
        try:
            return phone_fields(raw)
        except Refusal as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("user")
        if user is not None and not RoleAssignment.objects.filter(user=user, role=Role.MEDIATOR).exists():
            self.add_error("user", _("Give this user the mediator role first."))
        return data

    def save(self, commit: bool = True) -> Mediator:
        mediator = super().save(commit=False)
        phone = self.cleaned_data.get("phone")
        if phone:
            for name, value in phone.items():
                setattr(mediator, name, value)
        if commit:
            mediator.save()
            self.save_m2m()
        return mediator


@admin.register(Mediator)
class MediatorAdmin(AuditedModelAdmin):
    form = MediatorForm
    list_display = ("name", "committee", "kind", "phone_masked", "active")
    list_filter = ("kind", "active", "committee__level")
    search_fields = ("name", "committee__name", "=phone_index")
    list_select_related = ("committee",)
    raw_id_fields = ("committee", "person", "user", "areas")
    ordering = ("committee", "name")

    def get_search_results(self, request, queryset, search_term):
        # A phone is found by its blind index: the typed number, normalised, is indexed the same way.
        with contextlib.suppress(Refusal):
            search_term = blind_index(normalise_phone(search_term))
        return super().get_search_results(request, queryset, search_term)
