"""The full intake path under gunicorn: 8 residents report at once to `gridgov serve --workers 2` on SQLite.

Target (issue 3): at least 300 reports/s with p95 under 100 ms, on the demo county; the ratio to a
hello-world endpoint on the same server is printed beside it. For scale: FixMyStreet managed 28 reports/s
at 8 clients on the same kind of machine.

A fresh SQLite database in a temp dir gets the demo county (DemoConfig(), with its case history unless
BENCH_INTAKE_HISTORY=0). Eight clients sign in through /accounts/login/ as eight residents and each sends
BENCH_INTAKE_REPORTS reports (`POST /api/cases/`, session cookie + X-CSRFToken) over one keep-alive
connection, as the phone app's offline queue sends them (mobile/queue.js): multipart/form-data, the report's
key both as the `Idempotency-Key` header and as the `idempotency_key` field; random points inside level-3
grids (population-weighted), random items of the responsibility list, unique keys. Then the same clients ask the hello-world endpoint
(`/healthz`: a view answering "ok" through the whole middleware stack, no database query of its own), and,
for comparison, the cheapest authenticated API read."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter

import numpy as np
from _cases import (
    Client,
    django_setup,
    level3_grids,
    migrate_and_seed,
    percentiles,
    points_in,
    scratch,
    start_server,
)

CLIENTS = 8
REPORTS = int(os.environ.get("BENCH_INTAKE_REPORTS", "250"))
HELLOS = int(os.environ.get("BENCH_INTAKE_HELLOS", "400"))
HISTORY = os.environ.get("BENCH_INTAKE_HISTORY", "1") != "0"
DESCRIPTIONS = (
    "路灯不亮，晚上出行不便",
    "小区门口垃圾堆放多日无人清运",
    "井盖缺失，存在安全隐患",
    "道路破损，雨天积水严重",
    "占道经营，影响通行",
    "噪音扰民，夜间施工",
    "The street light at the corner has been out for a week.",
)

db = scratch("sqlite")
server = None
try:
    django_setup()
    from django.db import connections

    from gridgov.accounts.models import User
    from gridgov.cases.models import Case
    from gridgov.catalog.models import Item
    from gridgov.demo.seed import DEMO_PASSWORD

    seeded = migrate_and_seed(history=HISTORY)
    print(f"seed_demo: {seeded:.1f} s ({Case.objects.count()} cases of history)")

    rng = np.random.default_rng(2026)
    leaves = level3_grids()
    warmup = 4
    points = points_in(leaves, CLIENTS * (REPORTS + warmup), rng)
    items = sorted(Item.objects.filter(active=True).values_list("code", flat=True))
    residents = [
        "resident",
        *sorted(User.objects.filter(username__startswith="res-").values_list("username", flat=True)),
    ][:CLIENTS]
    # The hello-world endpoint: a view answering "ok" through the same middleware, without the database.
    hello_path = "/healthz"
    connections.close_all()

    server = start_server(db.env, workers=2)
    clients = []
    for name in residents:
        c = Client(server.port)
        c.login(name, DEMO_PASSWORD)
        clients.append(c)

    def report_fields(lon: float, lat: float, r: random.Random) -> dict[str, object]:
        return {
            "channel": "resident_app",
            "description": r.choice(DESCRIPTIONS),
            "item": r.choice(items),
            "lon": lon,
            "lat": lat,
            "crs": "wgs84",
            "idempotency_key": uuid.uuid4().hex,
        }

    acknowledged: dict[str, str] = {}  # idempotency key → case number
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send(c: Client, lon: float, lat: float, r: random.Random) -> tuple[int, float]:
        fields = report_fields(lon, lat, r)
        t0 = time.perf_counter()
        key = str(fields["idempotency_key"])
        status, body = c.post_multipart("/api/cases/", fields, {"Idempotency-Key": key})
        elapsed = time.perf_counter() - t0
        with lock:
            statuses[status] += 1
            if status in (200, 201):
                acknowledged[str(fields["idempotency_key"])] = json.loads(body)["summary"]["number"]
            elif status != 409:
                print(f"unexpected {status}: {body[:300]!r}")
        return status, elapsed

    # Warm-up: every worker locates, routes and renders a few reports before the clock starts.
    for i, c in enumerate(clients):
        for k in range(warmup):
            lon, lat, _ = points[i * (REPORTS + warmup) + k]
            send(c, lon, lat, random.Random(k))
        for _ in range(5):
            c.get(hello_path)

    def run(work, per_client: int) -> tuple[float, list[float]]:
        barrier = threading.Barrier(CLIENTS + 1)
        latencies: list[list[float]] = [[] for _ in clients]

        def loop(i: int) -> None:
            barrier.wait()
            for k in range(per_client):
                latencies[i].append(work(i, k))

        threads = [threading.Thread(target=loop, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        return time.perf_counter() - t0, [x for lat_ in latencies for x in lat_]

    rands = [random.Random(100 + i) for i in range(CLIENTS)]
    statuses.clear()

    def one_report(i: int, k: int) -> float:
        lon, lat, _ = points[i * (REPORTS + warmup) + warmup + k]
        return send(clients[i], lon, lat, rands[i])[1]

    # CPU per report, of the server and of this client: steadier than the throughput on a shared machine,
    # and it says whose time a report costs.
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    intake_wall, intake_lat = run(one_report, REPORTS)
    server_cpu, client_cpu = server.cpu_seconds() - server_cpu, time.process_time() - client_cpu
    intake_statuses = dict(statuses)

    def one_hello(i: int, k: int) -> float:
        t0 = time.perf_counter()
        status, _ = clients[i].get(hello_path)
        assert status == 200, status
        return time.perf_counter() - t0

    hello_wall, hello_lat = run(one_hello, HELLOS)

    def one_read(i: int, k: int) -> float:
        t0 = time.perf_counter()
        status, _ = clients[i].get("/api/cases/inbox?limit=1")
        assert status == 200, status
        return time.perf_counter() - t0

    read_wall, read_lat = run(one_read, HELLOS // 4)
    server.stop()
    server = None

    stored = dict(
        Case.objects.filter(idempotency_key__in=list(acknowledged)).values_list("idempotency_key", "number")
    )
    matching = sum(1 for k, n in acknowledged.items() if stored.get(k) == n)
    total = CLIENTS * REPORTS
    throughput = total / intake_wall
    hello_rate = CLIENTS * HELLOS / hello_wall
    p50, p95, p99 = percentiles(intake_lat)
    h50, h95, h99 = percentiles(hello_lat)
    r50, r95, _ = percentiles(read_lat)
    print(f"intake_requests: {total} reports ({CLIENTS} clients x {REPORTS}, statuses {intake_statuses})")
    print(f"intake_server_cpu: {server_cpu / total * 1000:.2f} ms per report (2 workers)")
    print(f"intake_client_cpu: {client_cpu / total * 1000:.2f} ms per report (the {CLIENTS} clients here)")
    print(f"intake_p50: {p50:.1f} ms")
    print(f"intake_p95: {p95:.1f} ms (target: < 100 ms)")
    print(f"intake_p99: {p99:.1f} ms")
    print(f"hello_endpoint: GET {hello_path} (a view answering ok through the whole middleware stack)")
    print(f"hello_throughput: {hello_rate:.0f} requests/s (p50 {h50:.1f} ms, p95 {h95:.1f} ms)")
    print(
        f"api_read_throughput: {CLIENTS * (HELLOS // 4) / read_wall:.0f} requests/s (GET /api/cases/inbox?limit=1, p50 {r50:.1f} ms, p95 {r95:.1f} ms)"
    )
    print(f"acknowledged: {len(acknowledged)} reports ({total} timed + {CLIENTS * warmup} warm-up)")
    print(f"stored_of_acknowledged: {matching} reports")
    print(f"intake_to_hello_ratio: {throughput / hello_rate:.3f}")
    print(
        f"intake_throughput: {throughput:.1f} reports/s (target: >= 300 reports/s with p95 < 100 ms; FixMyStreet: 28 reports/s at 8 clients)"
    )
finally:
    if server is not None:
        server.stop()
    db.drop()
