"""Seeding the demo county into a fresh database, as `make run` does on a fresh clone.

Target (issue 2): seeding under 60 s (and `make run` serving within 3 minutes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
gridgov = str(Path(sys.executable).with_name("gridgov"))
var = tempfile.mkdtemp(prefix="gridgov-bench-seed-")
env = {**os.environ, "GRIDGOV_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "gridgov.settings"}
try:
    started = time.perf_counter()
    subprocess.run([gridgov, "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)
    migrated = time.perf_counter()
    out = subprocess.run(
        [gridgov, "seed-demo"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    seeded = time.perf_counter()
    print(f"migrate: {migrated - started:.1f} s")
    print(f"seed_demo: {seeded - migrated:.1f} s")
    # The command lists the time of each part; "history" is the six months of cases (gridgov.demo.history).
    history = re.search(r"history (\d+(?:\.\d+)?) s", out.stdout)
    print(f"history: {history.group(1) if history else '?'} s (target: 30,000 cases ≤ 25 s)")
    stats = subprocess.run([gridgov, "stats", "--json"], env=env, check=True, cwd=ROOT, capture_output=True)
    print(f"stats_json_bytes: {len(stats.stdout)} B")
    print(f"seed_demo_total: {seeded - started:.1f} s (target: seeding < 60 s)")
finally:
    shutil.rmtree(var, ignore_errors=True)
