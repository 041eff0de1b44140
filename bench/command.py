"""The command-centre wall's data endpoints at 1,000,000 cases on PostgreSQL.

Target (issue 8): with 1,000,000 cases in PostgreSQL, the wall's data endpoints answer under 200 ms at p95.

A scratch PostgreSQL database with the demo county (without its case history) and 1,000,000 cases over the
county's level-3 grids (population-weighted) in the realistic mix of bench/queues.py (94 % closed, rejected
or merged, 6 % open; 8 % of the running clocks overdue), created over three years. Requests go through
Django's test client in process (the whole middleware stack, session and all) as the county-wide leader
(`leader`, the banner) and a town's operator (`town_operator`, a level-1 grid), each endpoint warmed once
and then timed 20 times.

BENCH_COMMAND_CASES changes the count. BENCH_COMMAND_KEEP=1 keeps the scratch database (gridgov_bench_command)
and, when it is there already, measures on it without loading it again."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N = int(os.environ.get("BENCH_COMMAND_CASES", "1000000"))
ENGINE = "postgresql"
KEEP = os.environ.get("BENCH_COMMAND_KEEP") == "1"
PG_NAME = "gridgov_bench_command"
RUNS = 20
TARGET_MS = 200.0
ENDPOINTS = ("counters", "children", "points", "heat", "trends", "rankings")


def _exists(admin_dsn: str) -> bool:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone() is not None


def _load() -> None:
    import numpy as np
    from _cases import REALISTIC_MIX, load_cases, migrate_and_seed, now_utc
    from django.db import connection

    from gridgov.accounts.models import User

    print(f"{ENGINE}_seed_demo: {migrate_and_seed(history=False):.1f} s")
    residents = list(User.objects.filter(assignments__role="resident").values_list("pk", flat=True))
    loaded = load_cases(
        N,
        reporters=residents,
        mix=REALISTIC_MIX,
        now=now_utc(),
        rng=np.random.default_rng(2026),
        soon_share=0.10,
        noticed_share=0.08,
    )
    print(f"{ENGINE}_load: {loaded.seconds:.1f} s ({loaded.cases} cases)")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The loader leaves cases without a point and without events: the wall draws the open cases' points
        # and a heat layer of the recent ones, and counts closings through the closing events. Each case a
        # point in its grid's bounding box, each closed case its closing event.
        cursor.execute(
            "UPDATE cases_case SET lon = g.min_lon + (g.max_lon - g.min_lon) * random(), "
            "lat = g.min_lat + (g.max_lat - g.min_lat) * random() "
            "FROM grids_grid g WHERE g.id = cases_case.grid_id"
        )
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, seq, action, actor_id, capacity, from_state, to_state, "
            "level, note, data, created_at) SELECT id, 3, 'verify_pass', NULL, 'grid_staff', 'handled', "
            "'closed', 3, '', '{}', closed_at FROM cases_case WHERE state = 'closed'"
        )
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    print(f"{ENGINE}_points_and_events: {time.perf_counter() - started:.1f} s")


def main() -> None:
    from _cases import PG_ADMIN_DSN, django_setup, percentiles, scratch

    if KEEP and _exists(PG_ADMIN_DSN):
        os.environ["DATABASE_URL"] = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{PG_NAME}"
        db = None
        django_setup()
    else:
        db = scratch(ENGINE, PG_NAME)
        django_setup()
        _load()
    try:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from gridgov.accounts.models import User

        worst = 0.0
        for who in ("leader", "town_operator"):
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(User.objects.get(username=who))
            for name in ENDPOINTS:
                url = f"/api/command/wall/{name}"
                response = client.get(url)  # warm: what a running server has warm
                assert response.status_code == 200, (url, response.status_code, response.content[:300])
                times: list[float] = []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    client.get(url)
                    times.append(time.perf_counter() - t0)
                with CaptureQueriesContext(connection) as queries:
                    client.get(url)
                slowest = max(float(q["time"]) for q in queries.captured_queries) * 1000
                p50, p95, _ = percentiles(times)
                worst = max(worst, p95)
                print(
                    f"{ENGINE}_{who}_{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {len(queries)} queries "
                    f"(slowest {slowest:.1f} ms), {len(response.content)} bytes"
                )
        print(
            f"command_wall_worst_p95_1m: {worst:.1f} ms ({ENGINE}, {N} cases; target: < {TARGET_MS:.0f} ms)"
        )
    finally:
        if db is not None and not KEEP:
            db.drop()


if __name__ == "__main__":
    main()
