"""The packaged responsibility list (data/catalog.json): reading and checking it. Our own authored content;
see the notes at the top of the file for the code scheme and units."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import KIND_DIGIT, Item, ItemKind, ResolvingLevel, Stage, Urgency

CATALOG_PATH = Path(__file__).resolve().parent / "data" / "catalog.json"

# Working-time units of the packaged list: a working day is the default working hours (08:30–12:00,
# 14:30–18:00), 7 hours. Limits are stored in minutes, so this is only the authoring unit.
UNIT_MINUTES = {"m": 1, "h": 60, "d": 420}
LEVELS = {
    "grid": ResolvingLevel.GRID,
    "village": ResolvingLevel.VILLAGE,
    "town": ResolvingLevel.TOWN,
    "banner": ResolvingLevel.BANNER,
    "department": ResolvingLevel.DEPARTMENT,
}
URGENCIES = (Urgency.NORMAL, Urgency.URGENT)


class CatalogDataError(ValidationError):
    """Bad catalogue data (the packaged JSON or an imported CSV). `messages` names every bad row and why."""


def parse_duration(text: str) -> int:
    """'30m', '2h', '15d' → working minutes."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", str(text))
    if not match:
        raise ValueError(text)
    return int(match.group(1)) * UNIT_MINUTES[match.group(2)]


# -- the packaged list -------------------------------------------------------------------------------------


def load_catalog_data(path: Path | str | None = None) -> dict[str, Any]:
    """The packaged responsibility list, parsed and checked: departments, modules, items (limits in minutes).

    Raises CatalogDataError naming every inconsistency (unknown department, duplicate code, bad limit …)."""
    if path is None:
        return _packaged_data()
    return _parse_catalog(Path(path))


@lru_cache(maxsize=1)
def _packaged_data() -> dict[str, Any]:
    return _parse_catalog(CATALOG_PATH)


def _parse_catalog(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    errors: list[str] = []

    def limits_of(where: str, spec: dict[str, Any]) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for stage, pair in spec.items():
            if stage not in Stage.values:
                errors.append(_("%(where)s: unknown stage %(stage)s.") % {"where": where, "stage": stage})
                continue
            if not isinstance(pair, list) or len(pair) != 2:
                errors.append(
                    _("%(where)s: the %(stage)s limit must be a pair [normal, urgent].")
                    % {"where": where, "stage": stage}
                )
                continue
            for urgency, text in zip(URGENCIES, pair, strict=True):
                try:
                    out[(stage, urgency)] = parse_duration(text)
                except ValueError:
                    errors.append(
                        _("%(where)s: %(value)s is not a working time such as 30m, 2h or 5d.")
                        % {"where": where, "value": text}
                    )
        return out

    defaults = limits_of("default_limits", raw.get("default_limits", {}))
    for stage in Stage.values:
        for urgency in URGENCIES:
            if (stage, urgency) not in defaults:
                errors.append(
                    _("default_limits: no %(urgency)s limit for the %(stage)s stage.")
                    % {"urgency": urgency, "stage": stage}
                )

    departments = raw.get("departments", [])
    modules = raw.get("modules", [])
    dept_codes = [d.get("code", "") for d in departments]
    module_codes = [m.get("code", "") for m in modules]
    for what, codes in (("departments", dept_codes), ("modules", module_codes)):
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            errors.append(_("%(what)s: the code %(code)s appears twice.") % {"what": what, "code": code})

    items = []
    seen: set[str] = set()
    for n, it in enumerate(raw.get("items", []), start=1):
        code = str(it.get("code", ""))
        where = _("item %(n)s (%(code)s)") % {"n": n, "code": code}
        if code in seen:
            errors.append(_("%(where)s: the code appears twice.") % {"where": where})
        seen.add(code)
        kind = it.get("kind")
        module = it.get("module")
        if kind not in ItemKind.values:
            errors.append(_("%(where)s: unknown kind %(kind)s.") % {"where": where, "kind": kind})
        if module not in module_codes:
            errors.append(_("%(where)s: unknown module %(module)s.") % {"where": where, "module": module})
        elif kind in ItemKind.values and not re.fullmatch(rf"{module}{KIND_DIGIT[kind]}\d{{3}}", code):
            errors.append(
                _("%(where)s: the code must be the module code, the kind digit and 3 digits.")
                % {"where": where}
            )
        for dept in [it.get("lead"), *it.get("assisting", [])]:
            if dept not in dept_codes:
                errors.append(_("%(where)s: unknown department %(dept)s.") % {"where": where, "dept": dept})
        if it.get("lead") in it.get("assisting", []):
            errors.append(_("%(where)s: the lead department cannot also assist.") % {"where": where})
        if it.get("resolving_level") not in LEVELS:
            errors.append(
                _("%(where)s: unknown resolving level %(level)s.")
                % {"where": where, "level": it.get("resolving_level")}
            )
        if it.get("urgency") not in Urgency.values:
            errors.append(_("%(where)s: unknown urgency %(u)s.") % {"where": where, "u": it.get("urgency")})
        std = it.get("standard_code", "")
        if std and not re.fullmatch(r"\d{5}", std):
            errors.append(_("%(where)s: a national standard code has 5 digits.") % {"where": where})
        if not it.get("name"):
            errors.append(_("%(where)s: the Chinese name is empty.") % {"where": where})
        keywords = ",".join(it.get("keywords", []))
        if len(keywords) > (Item._meta.get_field("keywords").max_length or 0):
            errors.append(_("%(where)s: the keywords are too long.") % {"where": where})
        limits = dict(defaults)
        limits.update(limits_of(where, it.get("limits", {})))
        items.append({**it, "keywords": keywords, "limits": limits})
    if errors:
        raise CatalogDataError(errors)
    return {**raw, "default_limits": defaults, "items": items}
