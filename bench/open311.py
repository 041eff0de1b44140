"""Open311 GeoReport v2 reads under gunicorn: `GET /open311/v2/requests.json` answering 1,000 requests.

Target (issue 9): under 100 ms at p50 on SQLite with the demo county; FixMyStreet takes 930 ms on the same kind
of machine. A fresh SQLite database in a temp dir gets the demo county (without its history) and
BENCH_OPEN311_CASES cases (default 30,000) over the last six months in a county's realistic mix of states;
`gridgov serve --workers 2` serves it. One keep-alive client asks the default list (the last 90 days, capped at
1,000: every answer holds 1,000 requests), then the XML, the `extensions=true` output, and a filtered list."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import numpy as np
from _cases import (
    REALISTIC_MIX,
    Client,
    django_setup,
    load_cases,
    migrate_and_seed,
    percentiles,
    scratch,
    start_server,
)

CASES = int(os.environ.get("BENCH_OPEN311_CASES", "30000"))
RUNS = int(os.environ.get("BENCH_OPEN311_RUNS", "60"))

db = scratch("sqlite")
server = None
try:
    django_setup()
    from django.db import connections

    seeded = migrate_and_seed(history=False)
    print(f"seed_demo: {seeded:.1f} s")
    loaded = load_cases(
        CASES, mix=REALISTIC_MIX, now=datetime.now(UTC), rng=np.random.default_rng(2026), span_days=180
    )
    print(f"cases_loaded: {loaded.cases} cases ({loaded.seconds:.1f} s)")
    connections.close_all()

    server = start_server(db.env, workers=2)
    client = Client(server.port)

    def measure(name: str, path: str, expect: int | None = None) -> float:
        for _ in range(3):  # warm-up: every worker's imports and caches
            client.get(path)
        times = []
        body = b""
        for _ in range(RUNS):
            t0 = time.perf_counter()
            status, body = client.get(path)
            times.append(time.perf_counter() - t0)
            assert status == 200, (path, status, body[:300])
        p50, p95, _ = percentiles(times)
        if expect is not None and path.split("?")[0].endswith(".json"):
            count = len(json.loads(body))
            assert count == expect, (path, count)
        print(f"{name}_p95: {p95:.1f} ms")
        print(f"{name}_bytes: {len(body)} B")
        return p50

    xml = measure("requests_xml", "/open311/v2/requests.xml")
    print(f"requests_xml_p50: {xml:.1f} ms (1,000 requests)")
    ext = measure("requests_extensions", "/open311/v2/requests.json?extensions=true", 1000)
    print(f"requests_extensions_p50: {ext:.1f} ms (1,000 requests with notes and answers)")
    opened = measure("requests_open", "/open311/v2/requests.json?status=open&page_size=100")
    print(f"requests_open_p50: {opened:.1f} ms (status=open, page_size=100)")
    services = measure("services", "/open311/v2/services.json")
    print(f"services_p50: {services:.1f} ms")
    headline = measure("requests_json", "/open311/v2/requests.json", 1000)
    print(
        f"requests_json_p50: {headline:.1f} ms (GET requests.json, 1,000 requests; target < 100 ms, "
        "FixMyStreet: 930 ms)"
    )
finally:
    if server is not None:
        server.stop()
    db.drop()
