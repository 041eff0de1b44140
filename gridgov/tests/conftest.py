"""Fixtures of the project-level tests: a small demo county (about a second to build and write)."""

from __future__ import annotations

import pytest

from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import SeedReport, seed_demo


@pytest.fixture
def small_county(db) -> SeedReport:
    return seed_demo(DemoConfig.small())
