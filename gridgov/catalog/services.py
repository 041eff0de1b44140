"""The only code that changes the responsibility list: loading the packaged list and extending it from the
national catalogue (a CSV in the GB/T 47678.5-2026 transcription's format)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.core import audit
from gridgov.core.textfiles import decode_text

from .models import (
    KIND_DIGIT,
    Department,
    Item,
    ItemKind,
    Module,
    ResolvingLevel,
    RoutingRule,
    TimeLimit,
    pinyin_of,
)
from .packaged import LEVELS, CatalogDataError, load_catalog_data

__all__ = [
    "CatalogDataError",
    "do_delete_routing_rule",
    "do_import_items_csv",
    "do_load_catalog",
    "do_save_routing_rule",
    "do_update_item_responsibility",
    "load_catalog_data",
]


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())


def _sync(model, rows: list[dict[str, Any]], fields: list[str], report: LoadReport) -> dict[str, Any]:
    """Create or update rows of `model` keyed by `code` so that `fields` equal the given values; return
    {code: instance}. Rows not in `rows` are left alone (they may come from an import or the admin)."""
    existing = {o.code: o for o in model.objects.filter(code__in=[r["code"] for r in rows])}
    to_create, to_update = [], []
    for r in rows:
        obj = existing.get(r["code"])
        if obj is None:
            to_create.append(model(code=r["code"], **{f: r[f] for f in fields}))
        elif any(getattr(obj, f) != r[f] for f in fields):
            for f in fields:
                setattr(obj, f, r[f])
            to_update.append(obj)
    model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, fields)
    name = model._meta.model_name
    report.created[name] = report.created.get(name, 0) + len(to_create)
    report.updated[name] = report.updated.get(name, 0) + len(to_update)
    existing.update({o.code: o for o in to_create})
    if any(o.pk is None for o in to_create):  # backends that do not return ids from bulk inserts
        existing.update({o.code: o for o in model.objects.filter(code__in=[o.code for o in to_create])})
    return existing


def do_load_catalog(*, actor: Any = None) -> LoadReport:
    """Load the packaged responsibility list (32 departments, 10 modules, 145 items with their limits).

    Idempotent: rows are matched by code and only what differs is written, so a second run changes nothing
    (and records nothing). Fields the package does not carry (a department's phone, an item's active flag)
    and rows it does not name (imported or added items) are left as they are."""
    data = load_catalog_data()
    report = LoadReport()
    with transaction.atomic():
        depts = _sync(
            Department,
            [
                {**d, "short_name": d.get("short_name", ""), "name_en": d.get("name_en", "")}
                for d in data["departments"]
            ],
            ["name", "name_en", "short_name"],
            report,
        )
        modules = _sync(
            Module,
            [{**m, "order": n} for n, m in enumerate(data["modules"], start=1)],
            ["name", "name_en", "order"],
            report,
        )
        item_rows = [
            {
                "code": it["code"],
                "module_id": modules[it["module"]].pk,
                "kind": it["kind"],
                "name": it["name"],
                "name_en": it.get("name_en", ""),
                "standard_code": it.get("standard_code", ""),
                "lead_department_id": depts[it["lead"]].pk,
                "resolving_level": LEVELS[it["resolving_level"]],
                "urgency": it["urgency"],
                "filing_condition": it.get("filing_condition", ""),
                "closing_condition": it.get("closing_condition", ""),
                "keywords": it["keywords"],
                "pinyin": pinyin_of(it["name"]),
            }
            for it in data["items"]
        ]
        item_fields = [k for k in item_rows[0] if k != "code"]
        items = _sync(Item, item_rows, item_fields, report)
        _sync_assisting(data["items"], items, depts, report)
        _sync_limits({items[it["code"]].pk: it["limits"] for it in data["items"]}, report)
        if report.changed:
            audit.record(
                "catalog.load",
                actor=actor,
                data={"created": report.created, "updated": report.updated},
            )
    return report


def _sync_assisting(
    rows: list[dict[str, Any]], items: dict[str, Item], depts: dict[str, Department], report: LoadReport
) -> None:
    through = Item.assisting_departments.through
    item_ids = [items[it["code"]].pk for it in rows]
    want = {(items[it["code"]].pk, depts[d].pk) for it in rows for d in it["assisting"]}
    have = set(through.objects.filter(item_id__in=item_ids).values_list("item_id", "department_id"))
    extra = have - want
    if extra:
        for item_id, dept_id in extra:
            through.objects.filter(item_id=item_id, department_id=dept_id).delete()
    through.objects.bulk_create([through(item_id=i, department_id=d) for i, d in sorted(want - have)])
    report.created["assisting"] = len(want - have)
    report.updated["assisting"] = len(extra)


def _sync_limits(limits: dict[int, dict[tuple[str, str], int]], report: LoadReport) -> None:
    have = {(t.item_id, t.stage, t.urgency): t for t in TimeLimit.objects.filter(item_id__in=list(limits))}
    to_create, to_update = [], []
    for item_id, by_stage in limits.items():
        for (stage, urgency), minutes in by_stage.items():
            row = have.get((item_id, stage, urgency))
            if row is None:
                to_create.append(TimeLimit(item_id=item_id, stage=stage, urgency=urgency, minutes=minutes))
            elif row.minutes != minutes:
                row.minutes = minutes
                to_update.append(row)
    TimeLimit.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        TimeLimit.objects.bulk_update(to_update, ["minutes"], batch_size=500)
    report.created["timelimit"] = len(to_create)
    report.updated["timelimit"] = len(to_update)


# -- extending the list from the national catalogue ----------------------------------------------------------

CSV_COLUMNS = ("matter_kind", "standard_code", "major_code", "major_name", "name")
# How the transcription (and people typing a sheet by hand) name the two kinds.
KIND_WORDS = {
    "管理部件": ItemKind.COMPONENT,
    "部件": ItemKind.COMPONENT,
    "component": ItemKind.COMPONENT,
    "管理事项": ItemKind.EVENT,
    "事项": ItemKind.EVENT,
    "事件": ItemKind.EVENT,
    "event": ItemKind.EVENT,
    "matter": ItemKind.EVENT,
}


@dataclass
class ImportReport:
    created: list[Item] = field(default_factory=list)
    # (line number, standard code, reason) of rows that were valid but not imported
    skipped: list[tuple[int, str, str]] = field(default_factory=list)


def read_csv_text(data: bytes) -> str:
    """Decode a CSV as Chinese spreadsheets save it (see `decode_text`)."""
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise CatalogDataError(
            [
                _("The file is neither UTF-8 nor GB18030 text (byte %(pos)s cannot be read).")
                % {"pos": exc.start}
            ]
        ) from exc


def do_import_items_csv(
    path: Path | str,
    *,
    actor: Any,
    module_code: str,
    lead_department_code: str,
    kind: str | None = None,
) -> ImportReport:
    """Add the rows of a national-catalogue CSV (columns matter_kind, standard_code, major_code, major_name,
    name) as items of one module, led by one department, with the default time limits.

    All or nothing: every row is checked first and a CatalogDataError names each bad row and why; then
    everything is written in one transaction. Rows whose component or matter is already in the list (same
    kind and standard code) are skipped, so importing a file twice adds nothing the second time. `kind`
    ('component' or 'event') imports only the rows of that kind."""
    errors: list[str] = []
    module = Module.objects.filter(code=module_code).first()
    if module is None:
        errors.append(_("No module has the code %(code)s.") % {"code": module_code})
    lead = Department.objects.filter(code=lead_department_code).first()
    if lead is None:
        errors.append(_("No department has the code %(code)s.") % {"code": lead_department_code})
    if kind is not None and kind not in ItemKind.values:
        errors.append(
            _("Unknown kind %(kind)s: use %(known)s.") % {"kind": kind, "known": " / ".join(ItemKind.values)}
        )
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CatalogDataError(
            [_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}]
        ) from exc
    rows = _parse_rows(read_csv_text(raw), errors)
    if errors:
        raise CatalogDataError(errors)
    assert module is not None and lead is not None

    report = ImportReport()
    existing = {
        (k, c): code
        for k, c, code in Item.objects.exclude(standard_code="").values_list("kind", "standard_code", "code")
    }
    wanted = []
    for line, row_kind, std, name in rows:
        if kind is not None and row_kind != kind:
            report.skipped.append((line, std, _("not of the kind being imported")))
        elif (row_kind, std) in existing:
            report.skipped.append(
                (line, std, _("already in the list as item %(code)s") % {"code": existing[(row_kind, std)]})
            )
        else:
            wanted.append((row_kind, std, name))
    if not wanted:
        return report  # nothing new: nothing to write or to record
    defaults = load_catalog_data()["default_limits"]
    with transaction.atomic():
        next_seq: dict[str, int] = {}
        for row_kind in {k for k, _s, _n in wanted}:
            prefix = f"{module.code}{KIND_DIGIT[row_kind]}"
            codes = (
                Item.objects.select_for_update()
                .filter(code__startswith=prefix)
                .values_list("code", flat=True)
            )
            next_seq[row_kind] = (
                max([int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()], default=0) + 1
            )
        new_items = []
        for row_kind, std, name in wanted:
            seq = next_seq[row_kind]
            next_seq[row_kind] += 1
            if seq > 999:
                raise CatalogDataError(
                    [
                        _("Module %(module)s has no free item code left for this kind.")
                        % {"module": module.code}
                    ]
                )
            new_items.append(
                Item(
                    module=module,
                    code=f"{module.code}{KIND_DIGIT[row_kind]}{seq:03d}",
                    standard_code=std,
                    kind=row_kind,
                    name=name,
                    lead_department=lead,
                    resolving_level=ResolvingLevel.DEPARTMENT,
                    # Conditions are Chinese content (like the packaged list), whatever the importer's language.
                    filing_condition=f"发现“{name}”，位置明确，经信息员现场核实属实。",
                    closing_condition="问题已处置完毕，经现场核查恢复正常。",
                    keywords=name,
                    pinyin=pinyin_of(name),
                )
            )
        Item.objects.bulk_create(new_items)
        created = list(Item.objects.filter(code__in=[i.code for i in new_items]).order_by("code"))
        TimeLimit.objects.bulk_create(
            [
                TimeLimit(item=item, stage=stage, urgency=urgency, minutes=minutes)
                for item in created
                for (stage, urgency), minutes in defaults.items()
            ],
            batch_size=500,
        )
        audit.record(
            "catalog.import",
            actor=actor,
            target=module,
            data={
                "file": Path(path).name,
                "department": lead.code,
                "kind": kind or "",
                "created": [i.code for i in created],
                "skipped": len(report.skipped),
            },
        )
    report.created = created
    return report


def _parse_rows(text: str, errors: list[str]) -> list[tuple[int, str, str, str]]:
    """Check every row; append a message per bad row to `errors`; return (line, kind, code, name) rows."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        errors.append(_("The file is empty."))
        return []
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        errors.append(
            _("Line 1: missing column(s) %(missing)s; the header must be %(expected)s.")
            % {"missing": ", ".join(missing), "expected": ",".join(CSV_COLUMNS)}
        )
        return []
    col = {c: header.index(c) for c in CSV_COLUMNS}
    max_name = Item._meta.get_field("name").max_length or 0
    rows: list[tuple[int, str, str, str]] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append(
                _("Line %(line)s: %(got)s columns, the header has %(want)s.")
                % {"line": line, "got": len(values), "want": len(header)}
            )
            continue
        v = {c: values[i].strip() for c, i in col.items()}
        problems = []
        row_kind = KIND_WORDS.get(v["matter_kind"])
        if row_kind is None:
            problems.append(
                _("matter_kind %(value)s is neither 管理部件 nor 管理事项")
                % {"value": v["matter_kind"] or "∅"}
            )
        if not re.fullmatch(r"\d{5}", v["standard_code"]):
            problems.append(
                _("standard_code %(value)s is not 5 digits") % {"value": v["standard_code"] or "∅"}
            )
        elif v["major_code"] != v["standard_code"][:2]:
            problems.append(
                _("major_code %(major)s does not match standard_code %(code)s")
                % {"major": v["major_code"] or "∅", "code": v["standard_code"]}
            )
        if not v["name"]:
            problems.append(_("name is empty"))
        elif len(v["name"]) > max_name:
            problems.append(_("name is longer than %(max)s characters") % {"max": max_name})
        if not problems and row_kind is not None:
            key = (row_kind, v["standard_code"])
            if key in first_seen:
                problems.append(
                    _("%(code)s appears again (first on line %(first)s)")
                    % {"code": v["standard_code"], "first": first_seen[key]}
                )
            else:
                first_seen[key] = line
        if problems:
            errors.append(_("Line %(line)s: %(problems)s.") % {"line": line, "problems": "; ".join(problems)})
        elif row_kind is not None:
            rows.append((line, row_kind, v["standard_code"], v["name"]))
    if not rows and not errors:
        errors.append(_("The file has a header but no rows."))
    return rows


# -- editing from the workbench (the system administrator's duty) --------------------------------------------


def _forget_routes() -> None:
    """Drop this process's routing cache now and again after the commit (a reader between the two would
    otherwise keep the old rule for CACHE_SECONDS)."""
    from .selectors import invalidate_cache

    invalidate_cache()
    transaction.on_commit(invalidate_cache)


def do_update_item_responsibility(
    item: Item,
    *,
    actor: Any,
    lead: Department,
    assisting: list[Department],
    limits: dict[tuple[str, str], int],
    ip: str | None = None,
) -> Item:
    """Set an item's lead department, its assisting departments and its working-time limits (stage, urgency)
    → minutes. The lead cannot also assist; limits are whole positive minutes. Audited with before and after."""
    from django.core.exceptions import ValidationError

    from .models import Stage, Urgency

    assisting_ids = sorted({d.pk for d in assisting})
    if lead.pk in assisting_ids:
        raise ValidationError(
            {"assisting": _("The lead department %(name)s cannot also assist.") % {"name": lead.label}}
        )
    bad = [
        key
        for key, minutes in limits.items()
        if key[0] not in Stage.values or key[1] not in Urgency.values or not 1 <= int(minutes) <= 1_000_000
    ]
    if bad:
        raise ValidationError({"limits": _("A time limit is a whole number of working minutes from 1.")})
    through = Item.assisting_departments.through
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(pk=item.pk)
        before_assisting = sorted(
            through.objects.filter(item_id=item.pk).values_list("department__code", flat=True)
        )
        existing = {(t.stage, t.urgency): t for t in TimeLimit.objects.filter(item_id=item.pk)}
        before: dict[str, Any] = {
            "lead": locked.lead_department.code,
            "assisting": before_assisting,
            "limits": {f"{s}/{u}": t.minutes for (s, u), t in sorted(existing.items())},
        }
        locked.lead_department = lead
        locked.save(update_fields=["lead_department"])
        through.objects.filter(item_id=item.pk).exclude(department_id__in=assisting_ids).delete()
        have = set(through.objects.filter(item_id=item.pk).values_list("department_id", flat=True))
        through.objects.bulk_create(
            [through(item_id=item.pk, department_id=d) for d in assisting_ids if d not in have]
        )
        to_create, to_update = [], []
        for (stage, urgency), minutes in limits.items():
            row = existing.get((stage, urgency))
            if row is None:
                to_create.append(TimeLimit(item_id=item.pk, stage=stage, urgency=urgency, minutes=minutes))
            elif row.minutes != minutes:
                row.minutes = minutes
                to_update.append(row)
        TimeLimit.objects.bulk_create(to_create)
        if to_update:
            TimeLimit.objects.bulk_update(to_update, ["minutes"])
        after = {
            "lead": lead.code,
            "assisting": sorted(d.code for d in assisting),
            "limits": {
                **before["limits"],
                **{f"{s}/{u}": m for (s, u), m in sorted(limits.items())},
            },
        }
        if after != before:
            audit.record(
                "catalog.update_item",
                actor=actor,
                target=locked,
                ip=ip,
                data={"before": before, "after": after},
            )
        _forget_routes()
    item.lead_department = lead
    return locked


def _rule_data(rule: RoutingRule) -> dict[str, Any]:
    return {
        "grid": rule.grid.code,
        "item": rule.item.code if rule.item is not None else None,
        "module": rule.module.code if rule.module is not None else None,
        "department": rule.department.code,
        "note": rule.note,
    }


def do_save_routing_rule(
    rule: RoutingRule | None,
    *,
    actor: Any,
    grid: Any,
    department: Department,
    item: Item | None = None,
    module: Module | None = None,
    note: str = "",
    ip: str | None = None,
) -> RoutingRule:
    """Create (`rule` None) or change a routing rule: inside the subtree of `grid`, cases of `item` (or of
    every item of `module`) go to `department`. Refused, naming the field, when it names both or neither, the
    grid is closed, or another rule already covers the same grid and item or module."""
    from django.core.exceptions import ValidationError

    creating = rule is None
    target = RoutingRule() if rule is None else rule
    before = (
        None
        if creating
        else _rule_data(
            RoutingRule.objects.select_related("grid", "item", "module", "department").get(pk=target.pk)
        )
    )
    target.grid, target.department, target.item, target.module, target.note = (
        grid,
        department,
        item,
        module,
        note,
    )
    target.full_clean(validate_constraints=False)  # clean() names the field; the clash is checked here
    clash = RoutingRule.objects.filter(grid=grid).exclude(pk=target.pk)
    clash = clash.filter(item=item) if item is not None else clash.filter(module=module, item__isnull=True)
    if clash.exists():
        raise ValidationError(
            {
                "item" if item is not None else "module": _(
                    "The grid %(grid)s already has a rule for this item or module: change that rule."
                )
                % {"grid": grid.code}
            }
        )
    with transaction.atomic():
        target.save()
        audit.record(
            "catalog.add_rule" if creating else "catalog.change_rule",
            actor=actor,
            target=target,
            ip=ip,
            data={"before": before, "after": _rule_data(target)},
        )
        _forget_routes()
    return target


def do_delete_routing_rule(rule: RoutingRule, *, actor: Any, ip: str | None = None) -> None:
    with transaction.atomic():
        audit.record("catalog.delete_rule", actor=actor, target=rule, ip=ip, data=_rule_data(rule))
        rule.delete()
        _forget_routes()
