"""Forms of the operators' desk: the intake of phone and walk-in reports, the overview's period. They parse
and check the shape of the input; `cases.services` decides the rest (and names the field at fault)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridgov.catalog.models import Urgency

from .choices import Channel
from .overview import DEFAULT_PERIOD, PERIODS
from .services import MAX_DESCRIPTION

DESK_CHANNELS = [
    (Channel.HOTLINE.value, Channel.HOTLINE.label),
    (Channel.WALK_IN.value, Channel.WALK_IN.label),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos in one input; the evidence checks (content, size, count) are the service's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,video/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class IntakeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=DESK_CHANNELS, initial=Channel.HOTLINE, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("What is the problem?"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 4, "autofocus": True}),
    )
    item = forms.CharField(label=_("Item of the responsibility list"), required=False, max_length=8)
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        required=False,
        choices=[("", _("the item's default")), *Urgency.choices],
    )
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    grid = forms.CharField(label=_("Grid code"), required=False, max_length=32)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    reporter_name = forms.CharField(label=_("Caller's name"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("Caller's phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    confidential = forms.BooleanField(label=_("The caller asks to stay confidential"), required=False)
    photos = MultipleFileField(label=_("Photos"), required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lon, lat = data.get("lon"), data.get("lat")
        if (lon is None) != (lat is None) and "lon" not in self.errors and "lat" not in self.errors:
            self.add_error("lon", _("Give both longitude and latitude, or click the map."))
        if (
            lon is None
            and lat is None
            and not data.get("grid")
            and not data.get("address")
            and not self.errors.get("lon")
        ):
            self.add_error("lon", _("Say where: click the map, or give a grid code or an address."))
        return data


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"), choices=list(PERIODS.items()), required=False, initial=DEFAULT_PERIOD
    )
