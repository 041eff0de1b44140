"""Fixtures of the catalog tests: the packaged list loaded, and where the national catalogue lies."""

from __future__ import annotations

from pathlib import Path

import pytest

# shared/ lies beside the clone (here and in CI); the transcription is reference data, never copied in.
SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
TRANSCRIPTION = (
    SHARED_DATA / "urban_mgmt_classification" / "gbt47678.5-2026_components_and_matters_transcribed.csv"
)
needs_transcription = pytest.mark.skipif(
    not TRANSCRIPTION.exists(), reason="the GB/T 47678.5-2026 transcription (shared/data) is not here"
)
