"""The forms of the community pages: the lists' filters, a team (new and changed), a member, an activity, a
sign-up, a task, and the short forms of the actions (a reason, a result). They parse and lay out; the services
decide, and their refusals are put back next to the fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.grids.models import Grid
from gridgov.registry.forms import EVERY, grid_choices

from .choices import ActivityKind, ActivityState, TaskState, TeamKind
from .services import MAX_CAPACITY, MAX_NAME, MAX_PLACE, MAX_REASON, MAX_SKILLS, MAX_TEXT

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
CHOOSE = ("", _("choose…"))


class _Filters(forms.Form):
    """A list's filters: a GET form, so a filtered list is a link. A field in error is left out of the filter
    and its error shown next to it."""

    def value(self, name: str) -> Any:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        value = data.get(name)
        return value.strip() if isinstance(value, str) else value

    def filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


def _grid_options(grids: list[Grid]) -> list[tuple[str, str]]:
    return [(g.code, f"{'　' * max(g.level - 1, 0)}{g.name}") for g in grids]


class PeriodForm(_Filters):
    since = forms.DateField(label=pgettext_lazy("community", "From"), required=False, widget=DATE)
    until = forms.DateField(label=_("Until"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data


TEAM_STATES = (("", _("active")), ("inactive", _("no longer active")), ("all", _("all")))


class TeamFilterForm(_Filters):
    name = forms.CharField(label=pgettext_lazy("community", "Name"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[EVERY, *TeamKind.choices])
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    active = forms.ChoiceField(label=_("State"), required=False, choices=TEAM_STATES)

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]
        self.fields["name"].widget.attrs.update({"type": "search", "autocomplete": "off"})


class TeamForm(forms.Form):
    """A new team (with its grid) or a team changed (with the version read, its leader and whether active)."""

    name = forms.CharField(label=pgettext_lazy("community", "Name"), max_length=MAX_NAME)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices)
    grid = forms.ChoiceField(label=_("Grid"), help_text=_("A town, a village or a grid you keep."))
    phone = forms.CharField(
        label=_("Duty phone"),
        required=False,
        max_length=20,
        help_text=_("For residents and grid staff to call."),
    )
    description = forms.CharField(
        label=pgettext_lazy("community", "Description"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    leader = forms.ChoiceField(label=pgettext_lazy("community", "Leader"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        grids: list[Grid] | None = None,
        leaders: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if grids is None:  # a team changed: its grid stays
            del self.fields["grid"]
        else:
            options = _grid_options(grids)
            self.fields["grid"].choices = [CHOOSE, *options] if len(options) > 1 else options  # type: ignore[attr-defined]
            for name in ("leader", "active", "version"):
                del self.fields[name]
        if leaders is not None:
            self.fields["leader"].choices = [("", _("none")), *leaders]  # type: ignore[attr-defined]


class MemberForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=50, required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    skills = forms.CharField(
        label=_("Skills"),
        max_length=MAX_SKILLS,
        required=False,
        help_text=_("Driving, first aid, Mongolian…"),
    )
    joined_on = forms.DateField(label=_("Joined on"), required=False, widget=DATE)
    person = forms.IntegerField(
        label=_("Registry person (id)"),
        required=False,
        min_value=1,
        help_text=_("Links the member to the person's record; the name is taken from it when left empty."),
    )
    user = forms.CharField(
        label=_("Volunteer login"),
        max_length=150,
        required=False,
        help_text=_("The username with which they use the phone app."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        self.fields["user"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=pgettext_lazy("community", "Reason"), max_length=MAX_REASON, required=False
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=pgettext_lazy("community", "Reason"), max_length=MAX_REASON)


class ActivityFilterForm(PeriodForm):
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False, choices=[EVERY, *ActivityState.choices])

    field_order = ("grid", "state", "since", "until")

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class ActivityForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=MAX_NAME)
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices, initial=ActivityKind.SERVICE)
    team = forms.ChoiceField(label=_("Team"), required=False)
    grid = forms.ChoiceField(
        label=_("Or open to every team of"),
        required=False,
        help_text=_("Leave the team empty to open the activity to every team of this grid and below."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=MOMENT)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=MOMENT)
    place = forms.CharField(label=pgettext_lazy("community", "Place"), max_length=MAX_PLACE, required=False)
    capacity = forms.IntegerField(
        label=pgettext_lazy("community", "Places"),
        required=False,
        min_value=1,
        max_value=MAX_CAPACITY,
        help_text=_("Leave empty for no limit."),
    )
    notes = forms.CharField(
        label=pgettext_lazy("community", "Notes"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, teams: list[tuple[int, str]], grids: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", _("none: open to the teams of a grid")), *teams]  # type: ignore[attr-defined]
        self.fields["grid"].choices = [("", "—"), *_grid_options(grids)]  # type: ignore[attr-defined]


class SignUpForm(forms.Form):
    member = forms.ChoiceField(label=pgettext_lazy("community", "Member"))

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [CHOOSE, *members]  # type: ignore[attr-defined]


TASK_LISTS = (
    ("", _("waiting for the team")),
    *TaskState.choices,
    ("all", _("all")),
)


class TaskFilterForm(_Filters):
    state = forms.ChoiceField(label=_("State"), required=False, choices=TASK_LISTS)
    grid = forms.ChoiceField(label=_("Grid"), required=False)

    def __init__(self, data: Any, *, grids: list[Grid]) -> None:
        super().__init__(data)
        self.fields["grid"].choices = grid_choices(grids, (data or {}).get("grid", ""))  # type: ignore[attr-defined]


class TaskForm(forms.Form):
    team = forms.ChoiceField(label=_("Team"))
    grid = forms.ChoiceField(label=_("Given in"), help_text=_("The grid the task is for."))
    title = forms.CharField(label=_("Title"), max_length=MAX_NAME)
    description = forms.CharField(
        label=pgettext_lazy("community", "Description"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    due_on = forms.DateField(label=pgettext_lazy("community", "Due on"), required=False, widget=DATE)
    case = forms.CharField(label=_("Case number"), max_length=20, required=False, help_text=_("Optional."))

    def __init__(self, *args: Any, teams: list[tuple[int, str]], grids: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [CHOOSE, *teams]  # type: ignore[attr-defined]
        options = _grid_options(grids)
        self.fields["grid"].choices = [CHOOSE, *options] if len(options) > 1 else options  # type: ignore[attr-defined]


class DoneForm(forms.Form):
    result = forms.CharField(
        label=_("What was done"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
