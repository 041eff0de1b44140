"""The packaged responsibility list: the reference numbers, idempotent loading, national codes, pinyin."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import translation

from gridgov.accounts.models import User
from gridgov.catalog.models import Department, Item, ItemKind, Module, Stage, TimeLimit, Urgency
from gridgov.catalog.selectors import search_items
from gridgov.catalog.services import do_load_catalog, load_catalog_data
from gridgov.core.models import AuditRecord

from .conftest import TRANSCRIPTION, needs_transcription


def snapshot() -> dict[str, list]:
    return {
        "departments": list(Department.objects.order_by("code").values()),
        "modules": list(Module.objects.order_by("code").values()),
        "items": list(Item.objects.order_by("code").values()),
        "assisting": sorted(
            Item.assisting_departments.through.objects.values_list("item_id", "department_id")
        ),
        "limits": list(TimeLimit.objects.order_by("item_id", "stage", "urgency").values()),
    }


@pytest.mark.django_db
def test_the_list_has_the_reference_numbers(catalog):
    assert Department.objects.count() == 32
    assert list(Module.objects.values_list("code", flat=True)) == [f"{n:02d}" for n in range(1, 11)]
    assert list(Module.objects.values_list("name", flat=True))[:3] == ["市容市貌", "公共安全", "城乡建设"]
    kinds = Counter(Item.objects.values_list("kind", flat=True))
    assert kinds == {ItemKind.COMPONENT: 33, ItemKind.EVENT: 112}
    # Components sit in the modules of things in public space; social-governance modules hold events only.
    component_modules = set(
        Item.objects.filter(kind=ItemKind.COMPONENT).values_list("module__code", flat=True)
    )
    assert component_modules == {"01", "02", "03", "09"}
    assert Item.objects.filter(module__code="07", kind=ItemKind.EVENT).count() >= 10
    # Every department sunk into the grids has work in the list.
    idle = Department.objects.filter(lead_items__isnull=True, assisting_items__isnull=True)
    assert not idle.exists(), list(idle)
    # Every item: conditions in Chinese, a stage limit for each urgency, the lead not among the assistants.
    for item in Item.objects.prefetch_related("assisting_departments", "limits"):
        assert item.filing_condition and item.closing_condition and item.name_en, item.code
        assert item.code[2] == {"component": "1", "event": "2"}[item.kind], item.code
        assert item.lead_department not in item.assisting_departments.all(), item.code
        limits = {(t.stage, t.urgency): t.minutes for t in item.limits.all()}
        assert set(limits) == {(s, u) for s in Stage.values for u in Urgency.values}, item.code
        assert limits[("register", "normal")] + limits[("dispatch", "normal")] == 30
        assert limits[("register", "urgent")] + limits[("dispatch", "urgent")] == 10
        assert 2 * 60 <= limits[("handle", "normal")] <= 15 * 420, item.code
        assert limits[("handle", "urgent")] <= limits[("handle", "normal")], item.code
        assert limits[("verify", "normal")] >= 60


@pytest.mark.django_db
def test_loading_twice_changes_nothing(catalog):
    assert catalog.created["item"] == 145 and catalog.created["timelimit"] == 1450
    before, audits = snapshot(), AuditRecord.objects.filter(action="catalog.load").count()
    again = do_load_catalog(actor=None)
    assert not again.changed
    assert snapshot() == before
    assert AuditRecord.objects.filter(action="catalog.load").count() == audits == 1


@pytest.mark.django_db
def test_the_command_loads_then_says_nothing_changed(capsys):
    with translation.override("en"):
        call_command("load_catalog")
        assert "items: 145 created, 0 updated" in capsys.readouterr().out
        call_command("load_catalog")
        assert "nothing changed" in capsys.readouterr().out


@pytest.mark.django_db
def test_loading_again_restores_packaged_values_and_keeps_local_rows(catalog):
    item = Item.objects.get(code="012001")
    item.name = "垃圾"
    item.save()
    item.assisting_departments.add(Department.objects.get(code="GA"))
    TimeLimit.objects.filter(item=item, stage="handle").delete()
    own = Item.objects.create(
        code="012099",
        name="本地事项",
        module=item.module,
        kind=ItemKind.EVENT,
        lead_department=item.lead_department,
    )
    report = do_load_catalog(actor=None)
    assert (
        report.updated["item"] == 1 and report.created["timelimit"] == 2 and report.updated["assisting"] == 1
    )
    item.refresh_from_db()
    assert item.name == "暴露垃圾" and item.pinyin.startswith("baolulaji")
    assert [d.code for d in item.assisting_departments.all()] == ["ZF"]
    assert TimeLimit.objects.get(item=item, stage="handle", urgency="normal").minutes == 240
    assert Item.objects.filter(pk=own.pk).exists()


@pytest.mark.django_db
def test_items_are_found_by_pinyin_initials_full_pinyin_code_and_standard_code(catalog, make_user):
    user: User = make_user("worker")
    assert Item.objects.get(code="012001").pinyin == "baolulaji bllj"
    for query in ("bllj", "baolulaji", "baolu laji", "暴露", "012001", "06010"):
        assert [i.code for i in search_items(user, query)][:1] == ["012001"], query
    assert {"012002", "011001"} <= {i.code for i in search_items(user, "垃圾")}
    assert search_items(user, "  ") == []


def test_the_packaged_data_is_consistent():
    data = load_catalog_data()
    assert len(data["departments"]) == 32 and len(data["modules"]) == 10 and len(data["items"]) == 145
    assert data["default_limits"][("handle", "normal")] == 5 * 420


@needs_transcription
def test_national_codes_are_those_of_the_same_component_or_matter():
    with TRANSCRIPTION.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    by_key = {
        ("component" if r["matter_kind"] == "管理部件" else "event", r["standard_code"]): r["name"]
        for r in rows
    }
    by_name = {
        ("component" if r["matter_kind"] == "管理部件" else "event", r["name"]): r["standard_code"]
        for r in rows
    }
    items = load_catalog_data()["items"]
    coded = [it for it in items if it["standard_code"]]
    assert len(coded) >= 70
    for it in coded:
        assert (it["kind"], it["standard_code"]) in by_key, it["code"]
    # An item named exactly as an entry of the national catalogue carries that entry's code.
    for it in items:
        if (it["kind"], it["name"]) in by_name:
            assert it["standard_code"] == by_name[(it["kind"], it["name"])], it["code"]
    rain_cover = next(it for it in items if it["name"] == "雨水井盖")
    assert (rain_cover["kind"], rain_cover["standard_code"]) == ("component", "01003")
