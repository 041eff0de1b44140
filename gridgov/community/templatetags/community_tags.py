"""Template filters of the community pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def hours(value: Any) -> str:
    """Hours as people write them: 2.5, 3, 1.25 (no trailing zeros); "—" for none."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value)).quantize(Decimal("0.01"))
    places = max(0, -number.normalize().as_tuple().exponent)  # type: ignore[operator]
    return number_format(number, decimal_pos=min(int(places), 2))
