"""The forms of the mediation pages: the filters of the dispute list and of the figures, a dispute received
directly or from a case (with its parties), a party, and the steps of a dispute (assignment, a session, the
outcome, a follow-up visit, referral up, hand-over).

They parse and lay out only: what a dispute, a party or a step may be is the services' check, and their
refusals are put back next to the field they name (`field_of`). Times and amounts are passed on as typed, so
that the services' own messages (in the user's language) say what is wrong with them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.grids.models import Grid
from gridgov.registry.forms import EVERY, grid_choices

from .choices import (
    DisputeKind,
    DisputeState,
    FollowUpResult,
    HandOverTo,
    Language,
    Level,
    Outcome,
    PartyRole,
    RiskLevel,
)
from .services import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    MAX_OTHERS,
    MAX_PLACE,
    MAX_TEXT,
    MAX_TITLE,
)

DATE = forms.DateInput(attrs={"type": "date"})
MOMENT = forms.TextInput(attrs={"type": "datetime-local", "step": "1"})
AMOUNT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"})
PLAIN = {"autocomplete": "off", "spellcheck": "false"}
# Party rows of the intake form: an applicant, a respondent, and one more if needed.
INTAKE_PARTIES = 3

# The dispute list's states: every open one at once, or one state.
STATES = (
    EVERY,
    ("open", pgettext_lazy("disputes", "open (all)")),
    *DisputeState.choices,
)


def text(label: Any, limit: int, *, rows: int = 0, required: bool = False, **kwargs: Any) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return forms.CharField(label=label, max_length=limit, required=required, widget=widget, **kwargs)


class _Filters(forms.Form):
    """A list's filters: a GET form, so a filtered list is a link. A field in error is left out of the filter
    and its error shown next to it."""

    def value(self, name: str) -> Any:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        value = data.get(name)
        return value.strip() if isinstance(value, str) else value

    def filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


class _Period(_Filters):
    since = forms.DateField(label=pgettext_lazy("period", "From"), required=False, widget=DATE)
    until = forms.DateField(label=pgettext_lazy("period", "Until"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data


class FiguresForm(_Period):
    """The home's period (default: this month) and grid."""

    grid = forms.ChoiceField(label=_("Grid"), required=False)

    field_order = ("grid", "since", "until")

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class DisputeFilterForm(_Period):
    q = forms.CharField(label=_("Number or title"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATES)
    kind = forms.ChoiceField(
        label=_("Kind of dispute"), required=False, choices=[EVERY, *DisputeKind.choices]
    )
    risk = forms.ChoiceField(label=_("Risk"), required=False, choices=[EVERY, *RiskLevel.choices])
    level = forms.TypedChoiceField(
        label=_("Handled at"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[EVERY, *((str(v), lab) for v, lab in Level.choices)],
    )
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    committee = forms.TypedChoiceField(label=_("Committee"), required=False, coerce=int, empty_value=None)
    mediator = forms.TypedChoiceField(label=_("Mediator"), required=False, coerce=int, empty_value=None)

    field_order = ("q", "state", "kind", "risk", "level", "grid", "committee", "mediator", "since", "until")
    since = forms.DateField(label=_("Received from"), required=False, widget=DATE)
    until = forms.DateField(label=_("Received until"), required=False, widget=DATE)

    def __init__(
        self,
        data: Any,
        *,
        grids: list[Grid],
        committees: list[tuple[int, str]],
        mediators: list[tuple[int, str]],
    ) -> None:
        super().__init__(data)
        self.fields["q"].widget.attrs.update(
            {"type": "search", "autocomplete": "off", "enterkeyhint": "search"}
        )
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        self.fields["committee"].choices = [EVERY, *((str(i), n) for i, n in committees)]  # type: ignore[attr-defined]
        self.fields["mediator"].choices = [EVERY, *((str(i), n) for i, n in mediators)]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------- parties


class PartyForm(forms.Form):
    """A party: the ID number and phone in full as typed (the service checks, encrypts and masks them); a
    registry person where known (found by the ID number on its own, or chosen from the registry)."""

    role = forms.ChoiceField(
        label=pgettext_lazy("party", "Role"), choices=PartyRole.choices, initial=PartyRole.APPLICANT
    )
    name = forms.CharField(label=_("Full name"), max_length=MAX_NAME, required=False)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs=PLAIN),
        help_text=_("18 digits (the last may be X). A person in the registry is linked by it."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", **PLAIN}),
    )
    address = forms.CharField(label=pgettext_lazy("party", "Address"), max_length=MAX_ADDRESS, required=False)
    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    note = text(_("Note"), MAX_NOTE, rows=2)

    def is_blank(self) -> bool:
        """An intake row left empty (the services are not asked about it)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any(str(data.get(k) or "").strip() for k in ("name", "id_number", "phone", "person"))

    def party(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "role": d.get("role") or "",
            "name": d.get("name") or "",
            "person": d.get("person"),
            "id_number": d.get("id_number") or "",
            "phone": d.get("phone") or "",
            "address": d.get("address") or "",
            "note": d.get("note") or "",
        }


def intake_parties(data: Any = None, initial: list[dict[str, Any]] | None = None) -> list[PartyForm]:
    """The party rows of the intake form (prefix p0, p1, p2): an applicant, a respondent, a third party."""
    roles = (PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.THIRD_PARTY)
    rows = []
    for n in range(INTAKE_PARTIES):
        start = {"role": roles[n]}
        if initial and n < len(initial):
            start.update(initial[n])
        rows.append(PartyForm(data, prefix=f"p{n}", initial=start))
    return rows


# ------------------------------------------------------------------------------------------------- intake


class DisputeForm(forms.Form):
    """A dispute received directly (kind, title, description, grid…) or from a case of the disputes module
    (`case`: its description, place and grid are taken from it; kind and title may be left to the case's
    item)."""

    case = forms.CharField(
        label=_("From case number"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs=PLAIN),
        help_text=_("A case of the disputes module (矛盾信访): leave empty to receive the dispute directly."),
    )
    kind = forms.ChoiceField(
        label=_("Kind of dispute"), required=False, choices=[("", "—"), *DisputeKind.choices]
    )
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE, required=False)
    description = text(_("What it is about"), MAX_DESCRIPTION, rows=4)
    grid = forms.ChoiceField(label=_("Grid where it arose"), required=False)
    address = forms.CharField(label=pgettext_lazy("dispute", "Place"), max_length=MAX_ADDRESS, required=False)
    amount = forms.CharField(label=_("Amount at stake (yuan)"), max_length=20, required=False, widget=AMOUNT)
    risk = forms.ChoiceField(label=_("Risk"), choices=RiskLevel.choices, initial=RiskLevel.LOW)
    language = forms.ChoiceField(
        label=_("Language of the parties"), choices=Language.choices, initial=Language.ZH
    )
    received_at = forms.CharField(
        label=pgettext_lazy("dispute", "Received"),
        max_length=40,
        required=False,
        widget=MOMENT,
        help_text=_("Left empty: now."),
    )

    def __init__(self, *args: Any, grids: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(g.code, f"{g.name} · {g.code}") for g in grids]
        self.fields["grid"].choices = [("", _("choose…")), *choices] if len(choices) != 1 else choices  # type: ignore[attr-defined]

    def from_case(self) -> str:
        return (self.cleaned_data.get("case") or "").strip()


# ------------------------------------------------------------------------------------------------- steps


def _checkboxes(label: Any, choices: list[tuple[int, str]], *, required: bool = False) -> forms.Field:
    return forms.TypedMultipleChoiceField(
        label=label,
        required=required,
        coerce=int,
        choices=[(str(i), n) for i, n in choices],
        widget=forms.CheckboxSelectMultiple,
    )


class AssignForm(forms.Form):
    committee = forms.TypedChoiceField(label=_("Committee"), coerce=int)
    lead = forms.TypedChoiceField(label=_("Lead mediator"), coerce=int)
    assistants = forms.TypedMultipleChoiceField(label=_("Assisting mediators"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        committees: list[tuple[int, str]],
        mediators: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        pick = [("", _("choose…"))]
        self.fields["committee"].choices = [*pick, *((str(i), n) for i, n in committees)]  # type: ignore[attr-defined]
        people = [(str(i), n) for i, n in mediators]
        self.fields["lead"].choices = [*pick, *people]  # type: ignore[attr-defined]
        self.fields["assistants"].choices = people  # type: ignore[attr-defined]
        self.fields["assistants"].widget = forms.CheckboxSelectMultiple(choices=people)


class SessionForm(forms.Form):
    held_at = forms.CharField(label=_("Held"), max_length=40, required=False, widget=MOMENT)
    place = forms.CharField(label=pgettext_lazy("session", "Place"), max_length=MAX_PLACE, required=False)
    mediators = forms.TypedMultipleChoiceField(label=_("Mediators"), coerce=int, required=False)
    parties_present = forms.TypedMultipleChoiceField(label=_("Parties present"), coerce=int, required=False)
    others_present = forms.CharField(label=_("Others present"), max_length=MAX_OTHERS, required=False)
    notes = text(_("Notes"), MAX_TEXT, rows=4)
    next_steps = text(_("Next steps"), MAX_TEXT, rows=2)

    def __init__(
        self,
        *args: Any,
        mediators: list[tuple[int, str]],
        parties: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, choices in (("mediators", mediators), ("parties_present", parties)):
            options = [(str(i), n) for i, n in choices]
            self.fields[name].choices = options  # type: ignore[attr-defined]
            self.fields[name].widget = forms.CheckboxSelectMultiple(choices=options)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    terms = text(
        _("Terms agreed, or why no agreement was reached"),
        MAX_TEXT,
        rows=5,
        help_text=_("One term per line: 一、… 二、… They are printed in the agreement as written."),
    )
    amount = forms.CharField(label=_("Amount agreed (yuan)"), max_length=20, required=False, widget=AMOUNT)
    performance_method = text(_("How it is performed"), MAX_TEXT, rows=2)
    performance_due = forms.CharField(
        label=_("To be performed by"), max_length=20, required=False, widget=DATE
    )
    signed_on = forms.CharField(
        label=_("Signed on"), max_length=20, required=False, widget=DATE, help_text=_("Left empty: today.")
    )


class FollowUpForm(forms.Form):
    result = forms.ChoiceField(
        label=_("Was the agreement performed?"), choices=FollowUpResult.choices, widget=forms.RadioSelect
    )
    note = text(_("Note"), MAX_NOTE, rows=2)
    done_at = forms.CharField(
        label=pgettext_lazy("follow-up", "Visited"),
        max_length=40,
        required=False,
        widget=MOMENT,
        help_text=_("Left empty: now."),
    )


class ReferForm(forms.Form):
    reason = text(_("Why the committee above should take it"), MAX_NOTE, rows=2)


class HandOverForm(forms.Form):
    handed_to = forms.ChoiceField(
        label=_("Hand over to"), choices=[("", _("choose…")), *HandOverTo.choices], required=False
    )
    handover_note = text(_("Hand-over note"), MAX_NOTE, rows=2)


def field_of(form: forms.Form, field: str, *, prefix: str = "") -> str | None:
    """The form field a service's refusal names (`parties.1.id_number` → the party row's `id_number` when
    `prefix` is `parties.1.`), or None for the form as a whole."""
    name = field[len(prefix) :] if prefix and field.startswith(prefix) else field
    return name if name in form.fields else None
