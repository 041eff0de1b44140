"""Forms of the people pages (the security administrator's duty). They parse input only: every change is made
by `accounts.services`, whose refusals name the field they concern."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from gridgov.catalog.forms import department_field
from gridgov.catalog.models import Department

from .choices import Role
from .importers import MAX_BYTES

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]


def _grid_input() -> forms.TextInput:
    """A grid-code input that suggests current grids as one types (htmx fills the datalist #grid-codes)."""
    return forms.TextInput(
        attrs={
            "inputmode": "numeric",
            "list": "grid-codes",
            "autocomplete": "off",
            "hx-get": reverse_lazy("accounts:grid_options"),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": "#grid-codes",
        }
    )


class PeopleFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("name or username")}),
    )
    role = forms.ChoiceField(label=_("role"), required=False, choices=[("", "—"), *Role.choices])
    grid = forms.CharField(
        label=_("grid code"),
        required=False,
        max_length=32,
        widget=_grid_input(),
    )
    department = forms.ModelChoiceField(
        label=_("department"),
        queryset=Department.objects.only("id", "code", "name", "name_en"),
        to_field_name="code",
        required=False,
        empty_label="—",
    )


class PersonForm(forms.Form):
    """A person's name and language (the username never changes: the audit trail names it)."""

    full_name = forms.CharField(label=_("full name"), max_length=60)
    language = forms.ChoiceField(label=_("language"), choices=LANGUAGE_CHOICES)


class PersonCreateForm(PersonForm):
    username = forms.CharField(
        label=_("username"),
        max_length=150,
        help_text=_("The sign-in name: letters, digits and @ . + - _ only. It cannot be changed later."),
    )
    password1 = forms.CharField(
        label=_("initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to set it later: until then the person cannot sign in."),
    )
    password2 = forms.CharField(
        label=_("initial password again"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = ["username", "full_name", "language", "password1", "password2"]

    def clean(self):
        data = super().clean()
        if data.get("password1", "") != data.get("password2", ""):
            self.add_error("password2", _("The two passwords differ."))
        return data


class PasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("new password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("new password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class AssignmentForm(forms.Form):
    """A role over a grid (by code) and/or a department; the service checks what the role must name."""

    role = forms.ChoiceField(label=_("role"), choices=[("", "—"), *Role.choices])
    grid = forms.CharField(
        label=_("grid code"),
        required=False,
        max_length=32,
        widget=_grid_input(),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"] = department_field(_("department"), required=False)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Excel workbook (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(mb)s MB, the first sheet in the template's columns.") % {
            "mb": MAX_BYTES // 2**20
        }
