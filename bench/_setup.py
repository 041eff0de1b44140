"""Shared by the bench scripts: a scratch database holding the demo county (seeded once, then reused)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_database(name: str = "bench") -> float:
    """Point Django at var/<name>/ (SQLite unless DATABASE_URL is set), migrate and seed the demo county if
    it is empty. Returns the seconds spent seeding (0 when it was already there)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("GRIDGOV_VAR_DIR", str(ROOT / "var" / name))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from gridgov.grids.models import Grid

    call_command("migrate", verbosity=0)
    if Grid.objects.exists():
        return 0.0
    started = time.perf_counter()
    call_command("seed_demo", verbosity=0)
    return time.perf_counter() - started
