"""Triage: trained on demo descriptions, it must recognise what hotline callers say in other words; its file
is refused once altered; it learns from closed cases only, overruled suggestions counting more."""

from __future__ import annotations

import datetime as dt
import io
import random

import joblib
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from gridgov.cases import triage
from gridgov.cases.choices import Channel, ReporterKind, State
from gridgov.cases.models import Case, TriageFeedback
from gridgov.catalog.models import Item
from gridgov.demo.texts import MAX_LENGTH, MIN_LENGTH, describe, free_text

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def forget_loaded_model():
    triage._loaded = None
    yield
    triage._loaded = None


@pytest.fixture
def model_path(settings, tmp_path):
    path = tmp_path / "triage.model"
    settings.TRIAGE_MODEL_PATH = path
    return path


def some_items() -> list[Item]:
    """Three dozen items across all ten modules (every fourth of the list)."""
    return list(Item.objects.order_by("code"))[::4]


def demo_corpus(items: list[Item], per_item: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for item in items:
        for _ in range(per_item):
            texts.append(describe(item, rng))
            labels.append(item.pk)
    return texts, labels


def test_descriptions_are_bounded_varied_deterministic_and_free_text_never_names_the_item(catalog):
    items = list(Item.objects.all())
    assert len(items) == 145
    for item in items:
        assert describe(item, random.Random(item.pk)) == describe(item, random.Random(item.pk))
        rng = random.Random(item.pk)
        drawn = [describe(item, rng) for _ in range(30)]
        assert all(MIN_LENGTH <= len(t) <= MAX_LENGTH for t in drawn), item.code
        assert len(set(drawn)) >= 25, item.code
        spoken = [free_text(item, rng) for _ in range(30)]
        assert not [t for t in spoken if item.name in t], item.code
        assert all(MIN_LENGTH <= len(t) <= MAX_LENGTH for t in spoken), item.code


def test_suggest_ranks_the_right_item_first_for_unseen_free_text(catalog, model_path):
    items = some_items()
    assert len(items) >= 30
    model = triage.train(*demo_corpus(items, per_item=60, seed=7))
    triage.save(model, model_path)

    rng = random.Random(8)
    asked = [(item.pk, free_text(item, rng)) for item in items for _ in range(5)]
    first = 0
    for item_id, text in asked:
        found = triage.suggest(text)
        assert 1 <= len(found) <= 3
        confidences = [s.confidence for s in found]
        assert confidences == sorted(confidences, reverse=True)
        assert all(0.0 < c <= 1.0 for c in confidences)
        first += found[0].item_id == item_id
    # Chance is 1 in 37; a model of the catalog names alone (which callers never say) scores about 0.5; this
    # one about 0.95.
    assert first / len(asked) >= 0.7, first / len(asked)

    # A retired item is no longer suggested.
    target = items[0]
    text = describe(target, random.Random(1))
    assert triage.suggest(text)[0].item_id == target.pk
    Item.objects.filter(pk=target.pk).update(active=False)
    assert target.pk not in [s.item_id for s in triage.suggest(text)]


def test_no_model_or_no_text_means_no_suggestion(catalog, model_path):
    assert not model_path.exists()
    assert triage.suggest("小区门口路灯不亮好几天了") == []
    model = triage.train(*demo_corpus(some_items()[:3], per_item=20, seed=1))
    triage.save(model, model_path)
    assert triage.suggest("   ") == []
    assert triage.suggest("") == []
    assert triage.suggest("小区门口路灯不亮好几天了")


def test_an_altered_or_unsigned_model_file_is_refused(catalog, model_path, tmp_path):
    model = triage.train(*demo_corpus(some_items()[:5], per_item=20, seed=2))
    triage.save(model, model_path)
    assert isinstance(triage.load(model_path), triage.TriageModel)
    data = bytearray(model_path.read_bytes())

    tampered = tmp_path / "tampered.model"
    data[-10] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(triage.TriageModelError):
        triage.load(tampered)

    # A plain joblib file (what an attacker would drop in) is never unpickled.
    unsigned = tmp_path / "unsigned.model"
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    unsigned.write_bytes(buffer.getvalue())
    with pytest.raises(triage.TriageModelError):
        triage.load(unsigned)

    # In use, a refused file means no suggestions (intake goes on), not an error.
    model_path.write_bytes(bytes(data))
    assert triage.suggest("路边的垃圾桶满了") == []


def make_case(n: int, grid, *, state: str, item: Item | None, description: str) -> Case:
    return Case.objects.create(
        number=f"20260302-{n:04d}",
        channel=Channel.HOTLINE,
        description=description,
        grid=grid,
        reporter_kind=ReporterKind.ANONYMOUS,
        created_at=NOW,
        updated_at=NOW,
        state=state,
        item=item,
    )


def test_training_data_reads_closed_cases_only_and_counts_corrections_more(catalog, small_tree):
    grid = small_tree["150621100200001"]
    lamp, bin_, manhole = (Item.objects.get(code=c) for c in ("031005", "011001", "031001"))
    make_case(1, grid, state=State.CLOSED, item=lamp, description="  白塔路路灯不亮  ")
    make_case(2, grid, state=State.HANDLING, item=lamp, description="还在处理的路灯")
    make_case(3, grid, state=State.REJECTED, item=bin_, description="不予受理的垃圾桶")
    make_case(4, grid, state=State.MERGED, item=bin_, description="并案的垃圾桶")
    make_case(5, grid, state=State.CLOSED, item=None, description="没有分类的案件")
    make_case(6, grid, state=State.CLOSED, item=bin_, description="")
    overruled = make_case(7, grid, state=State.CLOSED, item=manhole, description="路上那个盖子丢了")
    confirmed = make_case(8, grid, state=State.CLOSED, item=bin_, description="垃圾桶满了")
    TriageFeedback.objects.create(
        case=overruled, suggested_item=bin_, confidence=0.4, chosen_item=manhole, created_at=NOW
    )
    TriageFeedback.objects.create(
        case=confirmed, suggested_item=bin_, confidence=0.9, chosen_item=bin_, created_at=NOW
    )

    texts, labels = triage.training_data()

    assert texts == ["白塔路路灯不亮", *["路上那个盖子丢了"] * triage.CORRECTION_WEIGHT, "垃圾桶满了"]
    assert labels == [lamp.pk, *[manhole.pk] * triage.CORRECTION_WEIGHT, bin_.pk]


def test_train_triage_command(catalog, small_tree, model_path):
    grid = small_tree["150621100200001"]
    items = some_items()[:4]
    texts, labels = demo_corpus(items, per_item=5, seed=3)
    by_pk = {item.pk: item for item in items}
    for n, (text, label) in enumerate(zip(texts, labels, strict=True)):
        make_case(n, grid, state=State.CLOSED, item=by_pk[label], description=text)
    with translation.override("en"), pytest.raises(CommandError, match="at least 50"):
        call_command("train_triage", stdout=io.StringIO())
    assert not model_path.exists()

    texts, labels = demo_corpus(items, per_item=15, seed=4)
    for n, (text, label) in enumerate(zip(texts, labels, strict=True), start=100):
        make_case(n, grid, state=State.CLOSED, item=by_pk[label], description=text)
    out = io.StringIO()
    with translation.override("en"):
        call_command("train_triage", stdout=out)
    assert "Held-out accuracy" in out.getvalue()
    assert model_path.exists()
    assert triage.suggest(describe(items[0], random.Random(5)))[0].item_id == items[0].pk
