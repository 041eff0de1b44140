"""Forms of the responsibility-list pages (the system administrator's duty). They parse input; every change
goes through `catalog.services` (items, routing rules) or `core.calendar_services` (the calendar)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.core.models import CalendarDay
from gridgov.grids.models import Grid

from .models import Department, Item, Module, Stage, Urgency


def department_field(label, required: bool = True) -> forms.ModelChoiceField:
    """A choice among the active departments, by code (the one department picker of every form)."""
    return forms.ModelChoiceField(
        label=label,
        queryset=Department.objects.filter(active=True).only("id", "code", "name", "name_en"),
        to_field_name="code",
        required=required,
        empty_label="—",
    )


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("name, pinyin or code")}),
    )
    module = forms.ModelChoiceField(
        label=_("module"),
        queryset=Module.objects.only("id", "code", "name", "name_en"),
        to_field_name="code",
        required=False,
        empty_label="—",
    )


def limit_field_name(stage: str, urgency: str) -> str:
    return f"limit_{stage}_{urgency}"


class ItemResponsibilityForm(forms.Form):
    """Who leads, who assists, and the working minutes of each stage, normal and urgent."""

    def __init__(self, *args, limits: dict[tuple[str, str], int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"] = department_field(_("lead department"))
        self.fields["assisting"] = forms.ModelMultipleChoiceField(
            label=_("assisting departments"),
            queryset=Department.objects.filter(active=True).only("id", "code", "name", "name_en"),
            to_field_name="code",
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        for stage, stage_label in Stage.choices:
            for urgency, urgency_label in Urgency.choices:
                self.fields[limit_field_name(stage, urgency)] = forms.IntegerField(
                    label=f"{stage_label} · {urgency_label}",
                    min_value=1,
                    max_value=1_000_000,
                    initial=(limits or {}).get((stage, urgency)),
                    widget=forms.NumberInput(attrs={"class": "minutes", "step": 1}),
                )

    def limits(self) -> dict[tuple[str, str], int]:
        return {
            (s, u): self.cleaned_data[limit_field_name(s, u)] for s in Stage.values for u in Urgency.values
        }

    def limit_rows(self):
        """(stage label, [normal field, urgent field]) for the table of limits."""
        return [
            (label, [self[limit_field_name(stage, u)] for u in Urgency.values])
            for stage, label in Stage.choices
        ]


class RoutingRuleForm(forms.Form):
    grid = forms.CharField(
        label=_("grid code"),
        max_length=32,
        help_text=_("The rule applies in this grid and every grid under it."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    item = forms.CharField(
        label=_("item code"),
        required=False,
        max_length=8,
        help_text=_("Either one item, or every item of a module."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "list": "item-codes"}),
    )
    note = forms.CharField(label=_("note"), required=False, max_length=200)

    field_order = ["grid", "item", "module", "department", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["module"] = forms.ModelChoiceField(
            label=_("or module"),
            queryset=Module.objects.only("id", "code", "name", "name_en"),
            to_field_name="code",
            required=False,
            empty_label="—",
        )
        self.fields["department"] = department_field(_("lead department"))
        self.order_fields(self.field_order)

    def clean_grid(self):
        code = self.cleaned_data["grid"].strip()
        grid = Grid.objects.current().filter(code=code).defer("geometry").first()
        if grid is None:
            raise forms.ValidationError(_("No current grid has the code %(code)s."), params={"code": code})
        return grid

    def clean_item(self):
        code = self.cleaned_data["item"].strip()
        if not code:
            return None
        item = Item.objects.filter(code=code).only("id", "code", "name", "name_en", "module_id").first()
        if item is None:
            raise forms.ValidationError(_("No item has the code %(code)s."), params={"code": code})
        return item

    def clean(self):
        data = super().clean()
        if "item" in data and "module" in data and (data["item"] is None) == (data["module"] is None):
            self.add_error("item", _("Name either one item or one module (not both, not neither)."))
        return data


class PeriodForm(forms.Form):
    start = forms.TimeField(label=_("start"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end = forms.TimeField(label=_("end"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class DayForm(forms.Form):
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=_("kind"), choices=CalendarDay.Kind.choices)
    name = forms.CharField(
        label=_("name"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 国庆节")}),
    )
