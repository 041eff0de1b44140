"""Choices shown to people: the one way to turn a stored code into its label."""

from __future__ import annotations

from typing import Any


def label(choices: Any, value: Any) -> str:
    """The label of `value` among `choices` (a TextChoices class) in the reader's language; a code the choices no
    longer hold (a record older than the list) as it is."""
    return str(choices(value).label) if value in choices.values else value
