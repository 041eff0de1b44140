"""kill -9 of the server during a burst of reports, then a restart: every acknowledged report is there.

Target (issue 3): a script that does it for real and prints acknowledged vs stored, with nothing lost.

A fresh SQLite database gets the demo county (without its case history: nothing here reads it). Three
rounds: `gridgov serve --workers 2 --no-sweep` starts, eight residents report as fast as they can, and
after a random moment the whole process group (master and workers) gets SIGKILL. A report counts as
acknowledged only when its 201/200 answer arrived in full; requests cut off by the kill are unknown. After
the last round the server starts once more and answers for itself: every acknowledged case number is looked
up in the database and through the restarted API by its reporter, the requests that were in flight are
sent again with their idempotency keys (each must come back as its first case or as a new one, never twice),
and the audit chain is verified."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter

import numpy as np
from _cases import Client, django_setup, level3_grids, migrate_and_seed, points_in, scratch, start_server

CLIENTS = 8
ROUNDS = 3
DESCRIPTION = "井盖缺失，存在安全隐患"

db = scratch("sqlite")
server = None
try:
    django_setup()
    from django.db import connections

    from gridgov.accounts.models import User
    from gridgov.cases.models import Case
    from gridgov.catalog.models import Item
    from gridgov.core.audit import verify_chain
    from gridgov.demo.seed import DEMO_PASSWORD

    migrate_and_seed(history=False)
    points = points_in(level3_grids(), 6000, np.random.default_rng(9))
    items = sorted(Item.objects.filter(active=True).values_list("code", flat=True))
    residents = [
        "resident",
        *sorted(User.objects.filter(username__startswith="res-").values_list("username", flat=True)),
    ][:CLIENTS]
    connections.close_all()

    acknowledged: dict[str, tuple[int, str]] = {}  # idempotency key → (client, case number)
    in_flight: dict[str, tuple[int, dict]] = {}  # sent, no complete answer: outcome unknown
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(points)))
    sessions: list[dict[str, str]] = []  # cookies of each resident, kept across restarts

    def fields() -> dict:
        with lock:
            lon, lat, _ = points[next(cursor)]
        return {
            "channel": "resident_app",
            "description": DESCRIPTION,
            "item": random.choice(items),
            "lon": lon,
            "lat": lat,
            "idempotency_key": uuid.uuid4().hex,
        }

    def burst(port: int, i: int, stop: threading.Event) -> None:
        c = Client(port, timeout=10)
        c.cookies = sessions[i]
        while not stop.is_set():
            f = fields()
            key = f["idempotency_key"]
            with lock:
                in_flight[key] = (i, f)
            try:
                status, body = c.post_form("/api/cases/", f)
            except (OSError, http.client.HTTPException):
                with lock:
                    statuses["cut off"] += 1
                return  # the server is gone: this request stays in flight
            with lock:
                statuses[str(status)] += 1
                if status in (200, 201):
                    acknowledged[key] = (i, json.loads(body)["summary"]["number"])
                    del in_flight[key]
                elif status == 409:
                    del in_flight[key]  # already reported nearby: refused, nothing stored

    killed_pids = []
    for round_ in range(ROUNDS):
        server = start_server(db.env, workers=2)
        if not sessions:
            for name in residents:
                c = Client(server.port)
                c.login(name, DEMO_PASSWORD)
                sessions.append(c.cookies)
        stop = threading.Event()
        before = len(acknowledged)
        threads = [threading.Thread(target=burst, args=(server.port, i, stop)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        # Mid-burst: once the workers are warm and acknowledging, at a random moment.
        deadline = time.monotonic() + 60
        while len(acknowledged) - before < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(random.uniform(0.3, 1.5))
        with lock:
            sent_before_kill = len(acknowledged) - before
        killed_pids += server.kill9()
        stop.set()
        for t in threads:
            t.join()
        server = None
        print(
            f"round_{round_ + 1}: killed pids {killed_pids[-3:]} after {sent_before_kill}+ acknowledged reports"
        )

    # The restart: the server recovers the database on its own and answers.
    server = start_server(db.env, workers=2)
    clients = []
    for i in range(CLIENTS):
        c = Client(server.port)
        c.cookies = sessions[i]
        clients.append(c)

    stored = dict(
        Case.objects.filter(idempotency_key__in=list(acknowledged)).values_list("idempotency_key", "number")
    )
    stored_ok = sum(1 for key, (_, number) in acknowledged.items() if stored.get(key) == number)
    through_api = 0
    for i, number in acknowledged.values():
        status, body = clients[i].get(f"/api/cases/{number}")
        if status == 200 and json.loads(body)["number"] == number:
            through_api += 1

    ack_count = len(acknowledged)
    # The requests cut off by the kills: sent again with their keys, each is its first case or a new one.
    replayed: Counter[str] = Counter()
    for key, (i, f) in list(in_flight.items()):
        status, body = clients[i].post_form("/api/cases/", f)
        replayed[{200: "already stored (200)", 201: "new (201)"}.get(status, str(status))] += 1
        if status in (200, 201):
            acknowledged[key] = (i, json.loads(body)["summary"]["number"])
    duplicates = Case.objects.filter(idempotency_key__in=list(acknowledged)).count() - len(acknowledged)
    chain = verify_chain()
    server.stop()
    server = None

    print(f"requests: {dict(statuses)}")
    print(f"in_flight_replayed: {sum(replayed.values())} reports {dict(replayed)}")
    print(f"duplicate_cases: {duplicates} cases")
    print(
        f"audit_chain: {chain.checked} records, {'intact' if chain.broken_at is None and not chain.reason else 'BROKEN: ' + chain.reason}"
    )
    print(f"read_back_through_api: {through_api} reports")
    print(f"acknowledged: {ack_count} reports")
    print(f"stored_of_acknowledged: {stored_ok} reports")
    print(f"lost: {ack_count - stored_ok} reports")
finally:
    if server is not None:
        server.stop()
    db.drop()
