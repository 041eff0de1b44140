"""Triage (研判): how often the suggested item is the right one, and what training and suggesting cost.

30,000 demo descriptions over the 145 items (some items far more common than others, as in a real county)
stand for the closed cases. The held-out split measures what `gridgov train-triage` prints; the free-text
set is what hotline callers say without the catalog's words, a harder test. The demo texts are our own
writing: real descriptions are noisier, so read the figures as an upper bound.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

# The model file of this run, not one a server may be reading.
scratch = tempfile.mkdtemp(prefix="gridgov-bench-triage-")
atexit.register(shutil.rmtree, scratch, ignore_errors=True)
os.environ["GRIDGOV_TRIAGE_MODEL"] = str(Path(scratch) / "triage.model")

from _setup import demo_database  # noqa: E402

demo_database()

from gridgov.cases import triage  # noqa: E402
from gridgov.catalog.models import Item  # noqa: E402
from gridgov.demo.texts import describe, free_text  # noqa: E402

N_CASES = 30_000
N_FREE = 3_000

items = list(Item.objects.filter(active=True).order_by("code"))
rng = random.Random(2026)
# Rubbish and parking are reported daily, cult leaflets rarely: item frequencies spread over two orders of
# magnitude.
weights = [rng.lognormvariate(0.0, 1.0) for _ in items]
chosen = rng.choices(items, weights=weights, k=N_CASES)

started = time.perf_counter()
texts = [describe(item, rng) for item in chosen]
labels = [item.pk for item in chosen]
describe_s = time.perf_counter() - started
print(f"triage_describe_rate: {N_CASES / describe_s / 1000:.0f} k/s")
print(f"triage_texts: {N_CASES} texts over {len(set(labels))} items")
print(f"triage_text_length: {statistics.mean(map(len, texts)):.1f} chars")

evaluation = triage.evaluate(texts, labels)
print(f"triage_top3_accuracy: {evaluation.top3_accuracy:.3f} ratio")
print(f"triage_eval_train: {evaluation.seconds:.1f} s ({evaluation.n_train} texts)")

started, cpu_started = time.perf_counter(), time.process_time()
model = triage.train(texts, labels)
train_s = time.perf_counter() - started
# CPU seconds (all threads) too: on a shared machine the wall clock says more about the neighbours.
print(f"triage_train: {train_s:.1f} s ({N_CASES} texts; {time.process_time() - cpu_started:.1f} s of CPU)")

free_rng = random.Random(7)
asked = rng.choices(items, weights=weights, k=N_FREE)
spoken = [free_text(item, free_rng) for item in asked]
truth = [item.pk for item in asked]
best, _confidences = model.top(spoken, 3)
free_top1 = sum(int(b[0]) == t for b, t in zip(best, truth, strict=True)) / N_FREE
free_top3 = sum(t in b for b, t in zip(best, truth, strict=True)) / N_FREE
print(f"triage_free_text_accuracy: {free_top1:.3f} ratio")
print(f"triage_free_text_top3_accuracy: {free_top3:.3f} ratio")

path = Path(os.environ["GRIDGOV_TRIAGE_MODEL"])
started = time.perf_counter()
triage.save(model, path)
print(f"triage_save: {time.perf_counter() - started:.2f} s")
print(f"triage_model_size: {path.stat().st_size / 1e6:.1f} MB")
started = time.perf_counter()
triage.load(path)
print(f"triage_load: {time.perf_counter() - started:.2f} s (signature checked)")

triage.suggest(spoken[0])  # reads the file once
started = time.perf_counter()
for text in spoken[:1000]:
    triage.suggest(text)
print(f"triage_suggest: {(time.perf_counter() - started) / 1000 * 1000:.2f} ms")

print(
    f"triage_accuracy: {evaluation.accuracy:.3f} ratio (held-out fifth of {N_CASES}; "
    f"top-3 {evaluation.top3_accuracy:.3f}; free text {free_top1:.3f}; train {train_s:.1f} s)"
)
