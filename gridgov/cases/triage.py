"""Triage (研判): suggest the item of a free-text report, with a confidence, for the operator to confirm.

The model learns from the county's own closed cases: description → item. Character n-grams (1 to 3) carry
Chinese without word segmentation (垃圾桶, 井盖丢 and 停电 are features as they stand); a linear classifier
over them trains in seconds and scores a report in about a millisecond. The department is not
predicted: it follows from the item through the responsibility list and its routing rules.

Operators' corrections feed the next training: the item a case closes with is the one the operator chose,
and a case whose triage suggestion was overruled (`TriageFeedback.suggested_item` ≠ the final item) counts
`CORRECTION_WEIGHT` times, so that the model unlearns its mistakes faster than it would from one example
among thousands.

The model file is joblib bytes signed with HMAC-SM3 (the audit key). Unpickling runs code, so a file whose
signature does not verify is refused before a byte of it is unpickled.
"""

from __future__ import annotations

import hmac
import io
import logging
import math
import os
import re
import tempfile
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import joblib
import numpy as np
import sklearn
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

from gridgov.core.crypto import provider

log = logging.getLogger("gridgov.triage")

# What a file must start with, and what the signature covers besides the bytes (so that an HMAC made for
# another purpose with the audit key can never pass for a model's).
MAGIC = b"GRIDGOV-TRIAGE-1\n"
SIGNING_DOMAIN = b"gridgov-triage-model\0"
SIGNATURE_BYTES = 32  # HMAC-SM3
# An overruled suggestion counts this many times in the next training.
CORRECTION_WEIGHT = 3
# Fewer closed cases than this teach nothing worth suggesting.
MIN_TRAINING_CASES = 50
# Bounds the model file (classes × features × 4 bytes: 145 items → under 40 MB) whatever the corpus.
MAX_FEATURES = 1 << 16
# Sample updates of one training (see _pipeline).
UPDATES = 150_000
# Descriptions are cut here: the first lines say what it is; a long story only adds noise and time.
MAX_TEXT = 500
_DIGITS = re.compile(r"\d+")


class TriageModelError(Exception):
    """The model cannot be used: missing signature, wrong signature, unreadable contents."""


class TriageDataError(TriageModelError):
    """Too little to learn from (the message says how much there is)."""


@dataclass(frozen=True)
class Suggestion:
    item_id: int
    confidence: float


@dataclass(frozen=True)
class Evaluation:
    """Held-out figures: top-1 and top-3 accuracy on `n_test` texts, for a model trained on `n_train`
    texts in `seconds`."""

    accuracy: float
    top3_accuracy: float
    n_train: int
    n_test: int
    seconds: float
    n_items: int = 0


def normalise(text: str) -> str:
    """Full-width forms to half-width (Ｂ栋３号 → b栋0号), lower case, every number to 0: house numbers,
    dates and phone numbers say nothing about the item and would only swell the vocabulary (and keep
    residents' phone numbers out of the model file)."""
    return _DIGITS.sub("0", unicodedata.normalize("NFKC", text[:MAX_TEXT]).lower())


@dataclass
class TriageModel:
    """A fitted pipeline (TF-IDF over character n-grams → linear classifier) and what it was trained on."""

    pipeline: Pipeline
    n_texts: int
    trained_at: str
    sklearn_version: str = field(default=sklearn.__version__)

    @property
    def item_ids(self) -> np.ndarray:
        return self.pipeline.classes_

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """One row per text, one column per item of `item_ids`."""
        return self.pipeline.predict_proba(texts)

    def top(self, texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best item ids per text and their confidences, best first."""
        proba = self.probabilities(texts)
        k = min(k, proba.shape[1])
        best = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return self.item_ids[best], np.take_along_axis(proba, best, axis=1)

    def rank(self, text: str, limit: int = 3) -> list[Suggestion]:
        ids, confidences = self.top([text], limit)
        return [Suggestion(int(i), float(c)) for i, c in zip(ids[0], confidences[0], strict=True)]


def _pipeline(n_texts: int) -> Pipeline:
    vectorizer = TfidfVectorizer(
        analyzer="char",  # "char_wb" would add nothing: Chinese has no spaces between words
        ngram_range=(1, 3),
        preprocessor=normalise,
        sublinear_tf=True,  # a word said three times is not three times the evidence
        # A rare n-gram in a young county's first cases is still evidence; in a large corpus it is noise.
        min_df=2 if n_texts >= 1000 else 1,
        max_features=MAX_FEATURES,
        dtype=np.float32,
    )
    # Logistic loss gives probabilities; SGD over a fixed number of epochs trains one-vs-rest in seconds where
    # lbfgs/saga take minutes and a calibrated LinearSVC longer still (measured on 50,000 demo cases, 145
    # items). What SGD needs is about 150,000 updates in all, not a number of passes: 3 epochs over 50,000
    # texts are as accurate as 5, while 2,000 texts still gain up to 20. alpha: at 1e-5 right answers come
    # with a confidence far below their real hit rate; lower than 3e-6 gains nothing on the (clean) demo
    # labels and fits a mislabelled history harder.
    epochs = min(20, max(3, math.ceil(UPDATES / max(n_texts, 1))))
    classifier = SGDClassifier(
        loss="log_loss", alpha=3e-6, max_iter=epochs, tol=None, n_jobs=-1, random_state=0
    )
    return Pipeline([("ngrams", vectorizer), ("linear", classifier)])


def train(texts: list[str], labels: list[int]) -> TriageModel:
    """Fit a model on descriptions and their item ids."""
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    if len(set(labels)) < 2:
        raise TriageDataError(_("Triage needs closed cases of at least two items to learn from."))
    pipeline = _pipeline(len(texts))
    with warnings.catch_warnings():
        # A fixed number of epochs is the point (see _pipeline); do not warn about it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(texts, np.asarray(labels, dtype=np.int64))
    linear = pipeline.named_steps["linear"]
    # Scoring one text multiplies a sparse row by coef_.T; scipy copies a transposed C-ordered matrix
    # first (12 ms for 145 × 52,000), a Fortran-ordered one it reads in place (under 0.1 ms). float32
    # halves the file and changes no ranking.
    linear.coef_ = np.asfortranarray(linear.coef_, dtype=np.float32)
    return TriageModel(pipeline=pipeline, n_texts=len(texts), trained_at=timezone.now().isoformat())


def evaluate(texts: list[str], labels: list[int], test_share: float = 0.2, seed: int = 0) -> Evaluation:
    """Train on a random (1 - test_share) of the texts and measure on the rest. Identical texts (the same
    report typed twice, a correction counted several times) stay on one side, so the test never sees a
    text the model learned by heart."""
    groups: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        groups.setdefault(normalise(text).strip(), []).append(row)
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    n_test_groups = round(len(keys) * test_share)
    test_rows = sorted(row for g in order[:n_test_groups] for row in groups[keys[g]])
    train_rows = sorted(row for g in order[n_test_groups:] for row in groups[keys[g]])
    if not test_rows or not train_rows:
        raise TriageDataError(_("Too few distinct descriptions to hold some out for testing."))
    started = time.perf_counter()
    model = train([texts[r] for r in train_rows], [labels[r] for r in train_rows])
    seconds = time.perf_counter() - started
    truth = np.asarray([labels[r] for r in test_rows])
    best, _confidences = model.top([texts[r] for r in test_rows], 3)
    return Evaluation(
        accuracy=float((best[:, 0] == truth).mean()),
        top3_accuracy=float((best == truth[:, None]).any(axis=1).mean()),
        n_train=len(train_rows),
        n_test=len(test_rows),
        seconds=seconds,
        n_items=len(set(labels)),
    )


# -- the file ----------------------------------------------------------------------------------------------------
def _signature(blob: bytes) -> bytes:
    return provider().hmac_sm3("audit", SIGNING_DOMAIN + blob)


def save(model: TriageModel, path: str | os.PathLike[str]) -> None:
    """Write the signed model atomically: a reader sees the old file or the new one, never half of one."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    blob = buffer.getvalue()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".triage-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + _signature(blob) + blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike[str]) -> TriageModel:
    """Read a model written by `save` with this installation's audit key; refuse anything else."""
    data = Path(path).read_bytes()
    head = len(MAGIC) + SIGNATURE_BYTES
    if not data.startswith(MAGIC) or len(data) <= head:
        raise TriageModelError(
            _("%(path)s is not a triage model file: retrain with `gridgov train-triage`.") % {"path": path}
        )
    signature, blob = data[len(MAGIC) : head], data[head:]
    if not hmac.compare_digest(signature, _signature(blob)):
        raise TriageModelError(
            _(
                "The signature of the triage model %(path)s does not match: the file was altered or signed "
                "with another key. Retrain with `gridgov train-triage`."
            )
            % {"path": path}
        )
    try:
        model = joblib.load(io.BytesIO(blob))
    except Exception as error:  # a signed file from another version of the code
        raise TriageModelError(
            _("The triage model %(path)s cannot be read (%(error)s): retrain with `gridgov train-triage`.")
            % {"path": path, "error": error}
        ) from error
    if not isinstance(model, TriageModel):
        raise TriageModelError(
            _("%(path)s is not a triage model file: retrain with `gridgov train-triage`.") % {"path": path}
        )
    return model


# -- the model in use ----------------------------------------------------------------------------------------------
_lock = threading.Lock()
# (path, mtime_ns, size) of the file read, and what it gave (None: refused, already logged).
_loaded: tuple[tuple[str, int, int], TriageModel | None] | None = None


def current_model() -> TriageModel | None:
    """The model at settings.TRIAGE_MODEL_PATH, read once and read again when the file changes
    (`train-triage` replaces it while the server runs). None when there is none or it was refused."""
    global _loaded
    path = Path(settings.TRIAGE_MODEL_PATH)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    loaded = _loaded
    if loaded is not None and loaded[0] == key:
        return loaded[1]
    with _lock:
        if _loaded is not None and _loaded[0] == key:
            return _loaded[1]
        try:
            model: TriageModel | None = load(path)
        except FileNotFoundError:
            return None
        except TriageModelError as error:
            # Intake must go on without suggestions; the refusal is logged once per file version.
            log.error("triage model refused: %s", error)
            model = None
        _loaded = (key, model)
        return model


def suggest(text: str, *, limit: int = 3) -> list[Suggestion]:
    """The `limit` likeliest active items for a report's text, best first; [] without a model or text."""
    if not text or not text.strip() or limit <= 0:
        return []
    model = current_model()
    if model is None:
        return []
    from gridgov.catalog.models import Item

    # A few spare candidates in case some items have been retired since the model was trained.
    ranked = model.rank(text, limit + 5)
    active = set(
        Item.objects.filter(pk__in=[s.item_id for s in ranked], active=True).values_list("pk", flat=True)
    )
    return [s for s in ranked if s.item_id in active][:limit]


# -- training from the database ---------------------------------------------------------------------------------
def training_data() -> tuple[list[str], list[int]]:
    """Descriptions and final items of the closed cases (of items still in use), oldest first; a case whose
    triage suggestion the operator overruled appears CORRECTION_WEIGHT times."""
    texts, labels, _cases = _training_rows()
    return texts, labels


def _training_rows() -> tuple[list[str], list[int], int]:
    from .choices import State
    from .models import Case, TriageFeedback

    closed = Case.objects.filter(state=State.CLOSED, item__isnull=False, item__active=True)
    corrected = set(
        TriageFeedback.objects.filter(case__in=closed, suggested_item__isnull=False)
        .exclude(suggested_item=F("case__item"))
        .values_list("case_id", flat=True)
    )
    texts: list[str] = []
    labels: list[int] = []
    cases = 0
    rows = closed.order_by("id").values_list("id", "description", "item_id")
    for case_id, description, item_id in rows.iterator(chunk_size=5000):
        description = (description or "").strip()
        if not description:
            continue
        cases += 1
        repeat = CORRECTION_WEIGHT if case_id in corrected else 1
        texts.extend([description] * repeat)
        labels.extend([item_id] * repeat)
    return texts, labels, cases


def retrain(*, stdout: TextIO | Any = None) -> Evaluation:
    """Measure on a held-out split, then train on every closed case and replace the model file."""

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message + "\n")  # a management command's wrapper adds no second newline

    texts, labels, cases = _training_rows()
    if cases < MIN_TRAINING_CASES:
        raise TriageDataError(
            _(
                "Triage needs at least %(minimum)d closed cases with an item to learn from; there are "
                "%(count)d."
            )
            % {"minimum": MIN_TRAINING_CASES, "count": cases}
        )
    say(
        _(
            "Learning from %(cases)d closed cases of %(items)d items (%(texts)d texts: each overruled "
            "suggestion counts %(weight)d times)."
        )
        % {"cases": cases, "items": len(set(labels)), "texts": len(texts), "weight": CORRECTION_WEIGHT}
    )
    say(_("Measuring on a held-out fifth of them…"))
    evaluation = evaluate(texts, labels)
    say(_("Training on all of them…"))
    model = train(texts, labels)
    save(model, settings.TRIAGE_MODEL_PATH)
    say(_("Saved the model to %(path)s.") % {"path": settings.TRIAGE_MODEL_PATH})
    return evaluation
