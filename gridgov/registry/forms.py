"""The forms of the registry's pages: the filters of its lists, the register form and the reason asked before a
number is shown in full. They parse and lay out; the registry's own checks (`services.clean_person`) decide what
a person may be, and their problems are put back next to the fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.grids.models import Grid

from .choices import (
    ComponentState,
    KeyGroup,
    OrganisationKind,
    OrganisationState,
    PartyOrgKind,
    PersonRoleKind,
    PersonState,
    Relation,
    Residence,
)
from .codes import DocumentKind, Ethnicity, Gender
from .imports import KINDS, MAX_BYTES, kind_label
from .services import NOTE_MAX, UNMASK_REASON_MIN

EVERY = ("", _("all"))
SEARCH_ATTRS = {"type": "search", "autocomplete": "off", "enterkeyhint": "search"}


def grid_choices(grids: list[Grid], wanted: str = "") -> list[tuple[str, Any]]:
    """Grids as an indented list, with a finer grid linked from elsewhere kept (the view checks it)."""
    choices: list[tuple[str, Any]] = [(g.code, f"{'　' * g.level}{g.name}") for g in grids]
    if wanted and wanted not in {c for c, _n in choices}:
        choices.append((wanted, wanted))
    return [EVERY, *choices]


class PersonSearchForm(forms.Form):
    """The persons list: a search box and filters. Posted, not put in the URL: a phone or an ID number typed in
    the box must not end up in the browser's history or the web server's access log."""

    q = forms.CharField(label=_("Name, phone or ID number"), required=False, max_length=100)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    residence = forms.ChoiceField(label=_("Residence"), required=False, choices=[EVERY, *Residence.choices])
    key_group = forms.ChoiceField(label=_("Key group"), required=False, choices=[EVERY, *KeyGroup.choices])
    state = forms.ChoiceField(label=_("Status"), required=False, choices=[EVERY, *PersonState.choices])

    def __init__(self, data: Any, *, grids: list[Grid], key_groups: bool) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs.update(
            {
                **SEARCH_ATTRS,
                "placeholder": _("start of a name, or a whole phone or ID number"),
                "autofocus": True,
            }
        )
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        if not key_groups:
            del self.fields["key_group"]  # above the village, key groups are counts only

    def value(self, name: str) -> str:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return (data.get(name) or "").strip()


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(label=_("Household number or address"), required=False, max_length=100)
    grid = forms.ChoiceField(label=_("Grid"), required=False)

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs.update(SEARCH_ATTRS)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class OrganisationSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or credit code"), required=False, max_length=100)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[EVERY, *OrganisationKind.choices])
    state = forms.ChoiceField(label=_("Status"), required=False, choices=[EVERY, *OrganisationState.choices])

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs.update(SEARCH_ATTRS)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class ComponentSearchForm(forms.Form):
    item = forms.ChoiceField(label=_("Class"), required=False)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    state = forms.ChoiceField(label=_("Status"), required=False, choices=[EVERY, *ComponentState.choices])

    def __init__(self, data: Any, *, grids: list[Grid], items: list[tuple[str, str]]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        self.fields["item"].choices = [EVERY, *items]  # type: ignore[attr-defined]


class RegisterForm(forms.Form):
    """A person to register. Codes are offered as choices; whether they fit together (the gender and the date
    of birth against the ID number, a valid number for the document) is the registry's check."""

    name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    name_mongolian = forms.CharField(label=_("Name in Mongolian script"), max_length=300, required=False)
    document_kind = forms.ChoiceField(
        label=_("Identity document"), choices=DocumentKind.choices, initial=DocumentKind.ID_CARD
    )
    document_number = forms.CharField(
        label=_("Document number"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    gender = forms.ChoiceField(
        label=_("Gender"),
        required=False,
        choices=[("", _("from the ID number")), *Gender.choices],
    )
    ethnicity = forms.ChoiceField(
        label=_("Ethnicity"), required=False, choices=[("", "—"), *Ethnicity.choices]
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Left empty, it is read from the ID number."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    grid = forms.ChoiceField(label=_("Grid where the person lives"), required=False)
    household = forms.CharField(
        label=_("Household number"),
        max_length=30,
        required=False,
        help_text=_("An existing household of your grids; leave empty if none."),
    )
    relation = forms.ChoiceField(
        label=_("Relation to the head of the household"),
        required=False,
        choices=[("", "—"), *Relation.choices],
    )
    residence = forms.ChoiceField(
        label=_("Residence"), choices=Residence.choices, initial=Residence.REGISTERED
    )
    address = forms.CharField(label=_("Address"), max_length=400, required=False)
    key_groups = forms.MultipleChoiceField(
        label=_("Key groups"),
        required=False,
        choices=KeyGroup.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Sensitive: stored encrypted, seen only at the grid and the village; above, counts only."
        ),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The office's remark on the person; left empty, a stored note is kept."),
    )
    reason = forms.CharField(
        label=_("Note for the history"),
        max_length=200,
        required=False,
        help_text=_("Kept with the move when the person was registered in another grid."),
    )

    def __init__(self, *args: Any, grids: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(g.code, f"{g.name} ({g.code})") for g in grids]
        self.fields["grid"].choices = [("", _("choose…")), *choices] if len(choices) > 1 else choices  # type: ignore[attr-defined]


class UnmaskForm(forms.Form):
    """Why a number must be read in full: kept on the audit record with the reader and the time."""

    reason = forms.CharField(
        label=_("Why do you need the full number?"),
        min_length=UNMASK_REASON_MIN,
        max_length=200,
        error_messages={
            "required": _("Say why you need the full number."),
            "min_length": _("Say why you need the full number, in a few words."),
        },
    )


# The importer's own limit: a bigger file would be refused after its upload anyway.
UPLOAD_MAX_BYTES = MAX_BYTES


KIND_LABELS = {kind: kind_label(kind) for kind in KINDS}


class ImportForm(forms.Form):
    """A file of one kind of record in its template's columns; what is in it is the importer's to check."""

    kind = forms.ChoiceField(
        label=_("Kind of record"),
        choices=[(k, KIND_LABELS[k]) for k in KINDS],
        initial="persons",
        required=False,  # persons when not given (the page's first version posted no kind)
        widget=forms.HiddenInput,  # chosen by the page's kind links
    )
    file = forms.FileField(
        label=_("File (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "At most %(mb)s MB: the first sheet of a workbook, or a CSV file, in the template's columns."
        ) % {"mb": UPLOAD_MAX_BYTES // 2**20}

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or "persons"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _(
                    "The file is larger than %(mb)s MB: split it into smaller files, or import it with the command."
                )
                % {"mb": UPLOAD_MAX_BYTES // 2**20}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))
        return upload


# ------------------------------------------------------------------------------------------ party and roles


def _party_label(o: Any) -> str:
    return f"{'　' * max(0, o.grid.level - 1)}{o.name}（{o.get_kind_display()}）"


class PartyOrganisationForm(forms.Form):
    """A party organisation: the choices offered are the keeper's grids, the organisations it may sit under,
    and the party members of the keeper's grids as secretary; whether they fit together is the service's."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *PartyOrgKind.choices], required=False)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    parent = forms.TypedChoiceField(label=_("Under"), required=False, coerce=int, empty_value=None)
    secretary = forms.TypedChoiceField(label=_("Secretary"), required=False, coerce=int, empty_value=None)

    def __init__(
        self, *args: Any, grids: list[Grid], parents: list[Any], secretaries: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        grid_options = [(g.code, f"{'　' * max(0, g.level - 1)}{g.name} ({g.code})") for g in grids]
        self.fields["grid"].choices = [("", _("choose…")), *grid_options]  # type: ignore[attr-defined]
        self.fields["parent"].choices = [("", _("none")), *((o.pk, _party_label(o)) for o in parents)]  # type: ignore[attr-defined]
        self.fields["secretary"].choices = [  # type: ignore[attr-defined]
            ("", _("none")),
            *((p.pk, f"{p.name}（{p.birth_date.year}）" if p.birth_date else p.name) for p in secretaries),
        ]
        self.fields["secretary"].help_text = _("A party member of your grids.")
        self.fields["parent"].help_text = _("An organisation of the same grid or of one enclosing it.")


class RoleForm(forms.Form):
    """A role to give a person; the party organisation for party members."""

    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("choose…")), *PersonRoleKind.choices], required=False
    )
    party_organisation = forms.TypedChoiceField(
        label=_("Party organisation"), required=False, coerce=int, empty_value=None
    )
    since = forms.DateField(label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, organisations: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["party_organisation"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((o.pk, _party_label(o)) for o in organisations),
        ]
        self.fields["party_organisation"].help_text = _("For party members only.")


class EndRoleForm(forms.Form):
    reason = forms.CharField(label=_("Why (for the record)"), max_length=200, required=False)


class HolderFilterForm(forms.Form):
    """The persons holding a role: by grid."""

    grid = forms.ChoiceField(label=_("Grid"), required=False)

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
