"""The forms of the case page: one per workflow action, with exactly the fields its step takes
(`services.Step`), the ones the transition table requires marked as such.

The forms only read the input; the case engine judges it (`services.do_transition` names the field at fault
in its refusal, and the page shows the refusal next to that field). So choice fields accept any value here:
a department, an item or a card that does not exist is refused by the engine, with its own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.catalog.models import Urgency

from .choices import Action, Card, Rating
from .services import Step
from .workflow import BY_ACTION

MAX_TEXT = 2000
# Files a step may carry: photos and short videos (the engine checks their content, not their name).
ACCEPT_FILES = "image/*,video/mp4,video/quicktime,video/webm,.heic,.heif"
MINUTES_PER = {"hours": 60, "minutes": 1}

A = Action
# The fields of each action's form, in the order they are shown (the hidden `expected_version` besides).
FIELDS: dict[str, tuple[str, ...]] = {
    A.ACCEPT: ("item", "urgency", "grid", "note"),
    A.REJECT: ("reason",),
    A.MERGE: ("into", "note"),
    A.DISPATCH: ("unit", "assisting", "note"),
    A.REASSIGN: ("unit", "assisting", "reason"),
    A.SIGN: ("note",),
    A.RETURN: ("reason",),
    A.ASSIST_SIGN: ("note",),
    A.ASSIST_FEEDBACK: ("note", "files"),
    A.FEEDBACK: ("note", "files"),
    A.VERIFY_PASS: ("note",),
    A.VERIFY_FAIL: ("reason",),
    A.SELF_HANDLE: ("note", "before_files", "files"),
    A.ESCALATE: ("reason",),
    A.REQUEST_EXTENSION: ("minutes", "minutes_unit", "reason"),
    A.APPROVE_EXTENSION: ("extension", "reason"),
    A.DENY_EXTENSION: ("extension", "reason"),
    A.SUSPEND: ("reason",),
    A.RESUME: ("note",),
    A.SUPERVISE: ("card", "reason"),
    A.EVALUATE: ("rating", "note"),
    A.DISPUTE: ("reason",),
    A.COMMENT: ("note", "public", "supervision"),
}
assert set(FIELDS) == set(BY_ACTION), "every action of the transition table has its form"

# Labels that depend on the action (the default label of the field otherwise).
LABELS: dict[tuple[str, str], Any] = {
    (A.ACCEPT, "note"): _("Note (optional)"),
    (A.MERGE, "note"): _("Why these are the same (optional)"),
    (A.DISPATCH, "note"): _("Instructions for the unit (optional)"),
    (A.REASSIGN, "reason"): _("Why another unit"),
    (A.SIGN, "note"): _("Note (optional)"),
    (A.RETURN, "reason"): _("Why your unit returns it"),
    (A.ASSIST_SIGN, "note"): _("Note (optional)"),
    (A.ASSIST_FEEDBACK, "note"): _("What your unit did"),
    (A.ASSIST_FEEDBACK, "files"): _("Photos or videos (optional)"),
    (A.FEEDBACK, "note"): _("What was done"),
    (A.FEEDBACK, "files"): _("Photos or videos after handling"),
    (A.VERIFY_PASS, "note"): _("What you found (optional)"),
    (A.VERIFY_FAIL, "reason"): _("What is still wrong"),
    (A.SELF_HANDLE, "note"): _("What you did on the spot"),
    (A.SELF_HANDLE, "files"): _("Photos or videos after handling"),
    (A.ESCALATE, "reason"): _("Why the level above must take it"),
    (A.REQUEST_EXTENSION, "reason"): _("Why more time is needed"),
    (A.APPROVE_EXTENSION, "reason"): _("Note on the decision (optional)"),
    (A.DENY_EXTENSION, "reason"): _("Why the extension is denied"),
    (A.SUSPEND, "reason"): _("Why the case waits"),
    (A.RESUME, "note"): _("Note (optional)"),
    (A.SUPERVISE, "reason"): _("What must be done, by when"),
    (A.EVALUATE, "note"): _("Your words (optional)"),
    (A.DISPUTE, "reason"): _("What is not solved"),
    (A.COMMENT, "note"): _("Message"),
}


@dataclass
class Options:
    """What the page offers to choose from (read once per page, only for the forms shown)."""

    staff: bool = True
    departments: list[tuple[str, str]] = field(default_factory=list)  # (code, label)
    items: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # (module, [(code, label)])
    supervisions: list[tuple[int, str]] = field(default_factory=list)  # (id, label)
    replies: bool = False  # a comment may answer a supervision notice (the case has some)
    place_grid: bool = False  # the case is not yet in a level-3 grid: accepting may place it


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.Field):
    """Several files at once, handed as they came to the case engine, which checks their content."""

    widget = MultipleFileInput

    def to_python(self, value: Any) -> list[Any]:
        if not value:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]


class TextChoice(forms.CharField):
    """A choice whose value the case engine judges (see the module's docstring)."""

    def __init__(self, *, choices: Any = (), widget: Any = None, **kwargs: Any) -> None:
        super().__init__(widget=widget or forms.Select(choices=choices), **kwargs)


class MultipleTextChoice(forms.Field):
    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _field(name: str) -> forms.Field:
    text = {"maxlength": MAX_TEXT}
    if name == "reason":
        return forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, **text}))
    if name == "note":
        return forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3, **text}))
    if name in ("files", "before_files"):
        return FilesField(
            label=_("Photos or videos") if name == "files" else _("Photos before handling"),
            widget=MultipleFileInput(attrs={"accept": ACCEPT_FILES}),
            help_text=_("JPEG, PNG, WebP or HEIC photos, MP4, MOV or WebM videos; several at once."),
        )
    if name == "unit":
        return TextChoice(label=_("Lead unit (主办单位)"))
    if name == "assisting":
        return MultipleTextChoice(label=_("Assisting units (协办单位)"))
    if name == "card":
        return TextChoice(label=_("Card"), widget=forms.RadioSelect(choices=Card.choices))
    if name == "rating":
        return TextChoice(label=_("Rating"), widget=forms.RadioSelect(choices=Rating.choices))
    if name == "minutes":
        return forms.IntegerField(
            label=_("More working time"), min_value=1, widget=forms.NumberInput(attrs={"step": 1})
        )
    if name == "minutes_unit":
        return TextChoice(
            label=_("Unit of time"),
            choices=[("hours", _("working hours")), ("minutes", _("working minutes"))],
            initial="hours",
        )
    if name == "into":
        return forms.CharField(
            label=_("Number of the case to merge into"),
            max_length=20,
            widget=forms.TextInput(attrs={"placeholder": "20261126-0123", "inputmode": "numeric"}),
        )
    if name == "extension":
        return forms.IntegerField(widget=forms.HiddenInput)
    if name == "item":
        return TextChoice(label=_("Item of the responsibility list"))
    if name == "urgency":
        return TextChoice(label=_("Urgency"), choices=Urgency.choices)
    if name == "grid":
        return forms.CharField(
            label=_("Level-3 grid code (optional)"),
            max_length=32,
            help_text=_("The case is placed above the level-3 grids: give the grid that holds it."),
        )
    if name == "public":
        return TextChoice(
            label=_("Who reads it"),
            widget=forms.RadioSelect(
                choices=[
                    ("internal", _("staff only (internal note)")),
                    ("public", _("the reporter too (reply to the reporter)")),
                ]
            ),
            initial="internal",
        )
    if name == "supervision":
        return forms.IntegerField(label=_("In reply to the supervision notice"), widget=forms.Select)
    raise ValueError(name)


class ActionForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, action: str, *args: Any, options: Options | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"act-{action}-%s")
        super().__init__(*args, **kwargs)
        self.action = action
        self.transition = BY_ACTION[action]
        options = options or Options()
        names = list(FIELDS[action])
        if not options.place_grid and "grid" in names:
            names.remove("grid")
        if action == A.COMMENT and not options.staff:
            names = ["note"]  # a resident's message is for the people on the case, never a staff note
        if action == A.COMMENT and not options.replies and "supervision" in names:
            names.remove("supervision")
        required = {"files" if f == "evidence" else f for f in self.transition.requires}
        for name in names:
            f = _field(name)
            f.required = False  # the case engine says what is missing, naming the field
            f.label = LABELS.get((action, name), f.label)
            if name in required:
                f.widget.attrs["required"] = True
                f.widget.attrs["aria-required"] = "true"
            self.fields[name] = f
        self.required_names = required
        if "unit" in self.fields:
            self.fields["unit"].widget.choices = [("", _("— choose a department —")), *options.departments]
        if "assisting" in self.fields:
            suggested = set(self.initial.get("assisting") or [])  # routing's assisting units come first
            self.fields["assisting"].widget.choices = sorted(
                options.departments, key=lambda c: c[0] not in suggested
            )
        if "item" in self.fields:
            self.fields["item"].widget.choices = [("", _("— choose an item —")), *options.items]
        if "supervision" in self.fields:
            self.fields["supervision"].widget.choices = [("", _("— not a reply —")), *options.supervisions]

    @property
    def has_files(self) -> bool:
        return "files" in self.fields or "before_files" in self.fields

    def visible(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not self[name].is_hidden]

    def refuse(self, name: str, message: Any) -> None:
        """Show a refusal of the case engine next to the field it names (above the form if none shown)."""
        if name == "minutes_unit":
            name = "minutes"
        self.add_error(name if name in self.fields and not self[name].is_hidden else None, message)
        self.mark_errors()

    def mark_errors(self) -> None:
        """Tie each error to its input for screen readers, and put the cursor on the first one."""
        first = True
        for name in self.errors:
            if name not in self.fields or self[name].is_hidden:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"act-{self.action}-{name}-error"
            if first:
                attrs["autofocus"] = True
                first = False

    def step(self) -> Step:
        """The engine's input from the cleaned form."""
        data = self.cleaned_data
        minutes = data.get("minutes")
        if minutes is not None:
            minutes *= MINUTES_PER.get(data.get("minutes_unit") or "hours", 60)
        return Step(
            reason=data.get("reason") or "",
            note=data.get("note") or "",
            files=data.get("files") or [],
            before_files=data.get("before_files") or [],
            unit=data.get("unit") or None,
            assisting=data.get("assisting") or [],
            card=data.get("card") or None,
            rating=data.get("rating") or None,
            minutes=minutes,
            into=data.get("into") or None,
            extension=data.get("extension"),
            item=data.get("item") or None,
            urgency=data.get("urgency") or None,
            grid=data.get("grid") or None,
            # A staff message stays among staff unless its author addresses the reporter.
            public=data.get("public") == "public" if "public" in self.fields else True,
            supervision=data.get("supervision"),
            expected_version=data.get("expected_version"),
        )


def action_form(action: str, *, options: Options | None = None, **kwargs: Any) -> ActionForm:
    return ActionForm(action, options=options, **kwargs)
