"""The forms of the fieldwork pages: the filters of the lists, a new inspection plan, and an inspection answered
at the desk. They parse and lay out; the services decide what a plan or an inspection may be, and their refusals
are put back next to the fields they name."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.grids.models import Grid
from gridgov.registry.forms import EVERY, grid_choices

from .choices import Answer, TaskState
from .services import MAX_ANSWER_NOTE, MAX_CHECK_TEXT, MAX_CHECKS, MAX_NOTE, MAX_PERIOD_DAYS

DATE = forms.DateInput(attrs={"type": "date"})

# The task list's states: the open ones (overdue first), only those past their date, the inspected ones.
TASK_STATES = (
    ("open", _("open")),
    ("overdue", _("overdue")),
    ("done", _("inspected")),
    (TaskState.FAILED, _("faults found")),
)


class _Filters(forms.Form):
    """A list's filters: a GET form, so a filtered list is a link. A field in error is left out of the filter
    and its error shown next to it."""

    def value(self, name: str) -> Any:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        value = data.get(name)
        return value.strip() if isinstance(value, str) else value

    def filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


class _DateRange(_Filters):
    since = forms.DateField(label=_("From"), required=False, widget=DATE)
    until = forms.DateField(label=_("Until"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data


class TaskFilterForm(_Filters):
    state = forms.ChoiceField(label=_("State"), required=False, choices=TASK_STATES)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    item = forms.ChoiceField(label=_("Class of components"), required=False)

    def __init__(self, data: Any, *, grids: list[Grid], items: list[tuple[str, str]]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        self.fields["item"].choices = [EVERY, *items]  # type: ignore[attr-defined]


class VisitFilterForm(_DateRange):
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    household = forms.CharField(label=_("Household number"), required=False, max_length=30)

    field_order = ("grid", "household", "since", "until")

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        self.fields["household"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})


class PatrolFilterForm(_DateRange):
    grid = forms.ChoiceField(label=_("Grid"), required=False)

    field_order = ("grid", "since", "until")

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class PlanForm(forms.Form):
    """A new plan. The checklist is typed one check per line; each check gets a code (c1, c2…) by which the
    phone answers it."""

    name = forms.CharField(label=_("Name of the plan"), max_length=100)
    item = forms.ChoiceField(label=_("Class of components"))
    grid = forms.ChoiceField(
        label=_("Grid"), help_text=_("Every component of the class in this grid and below.")
    )
    every_days = forms.IntegerField(
        label=_("Inspect every (days)"),
        min_value=1,
        max_value=MAX_PERIOD_DAYS,
        help_text=_("365: yearly; 30: monthly; 7: weekly."),
    )
    checklist = forms.CharField(
        label=_("Checklist"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MAX_CHECKS * (MAX_CHECK_TEXT + 2),
        help_text=_("One check per line, at most %(n)d, as the worker will answer them: ok or not ok.")
        % {"n": MAX_CHECKS},
    )

    def __init__(
        self,
        *args: Any,
        items: list[tuple[str, list[tuple[str, str]]]],
        grids: list[Grid],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("choose…")), *items]  # type: ignore[attr-defined]
        choices = [(g.code, f"{'　' * g.level}{g.name}") for g in grids]
        self.fields["grid"].choices = [("", _("choose…")), *choices] if len(choices) > 1 else choices  # type: ignore[attr-defined]

    def checks(self) -> list[dict[str, str]]:
        """The checklist as the service takes it: one check per line that is not blank."""
        lines = [line.strip() for line in self.cleaned_data["checklist"].splitlines()]
        return [{"code": f"c{n}", "text": text} for n, text in enumerate((t for t in lines if t), start=1)]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos from one input; what they are is the case engine's check (in the service)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(PhotosField, self).clean(f, initial) for f in files]


class CompleteForm(forms.Form):
    """The checklist of a task, answered: ok or not ok for every check, a note on any, photos. The key is made
    when the form is shown, so the same form sent twice records one inspection (and opens one case)."""

    key = forms.UUIDField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = PhotosField(label=_("Photos"), required=False)

    def __init__(self, *args: Any, checklist: list[dict[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"key": uuid.uuid4()})
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        for check in checklist:
            self.fields[f"answer_{check['code']}"] = forms.ChoiceField(
                label=check["text"],
                choices=Answer.choices,
                widget=forms.RadioSelect,
                error_messages={"required": _("Answer this check: ok or not ok.")},
            )
            self.fields[f"note_{check['code']}"] = forms.CharField(
                label=_("Note on this check"), required=False, max_length=MAX_ANSWER_NOTE
            )

    def checks(self) -> list[dict[str, Any]]:
        """Each check with its answer field and its note field, for the template."""
        return [
            {"check": c, "answer": self[f"answer_{c['code']}"], "note": self[f"note_{c['code']}"]}
            for c in self.checklist
        ]

    def answers(self) -> dict[str, dict[str, str]]:
        d = self.cleaned_data
        return {
            c["code"]: {"answer": d[f"answer_{c['code']}"], "note": d.get(f"note_{c['code']}") or ""}
            for c in self.checklist
        }
