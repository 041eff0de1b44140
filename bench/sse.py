"""The live feed's fan-out: one uvicorn process (gridgov/command/sse_server.py), 500 clients, every client
receiving every event.

Target (issue 8): one SSE process holds 500 clients, every client receiving every event.

A scratch SQLite database (or PostgreSQL with BENCH_SSE_ENGINE=postgresql) with a county grid and a county-wide
user; 500 clients connect with that user's session (asyncio streams, as many EventSources), then N events are
published through `core.outbox.publish` (each in its own transaction, EVENTS_PER_S a second). Each client
records when each event id arrives; latency is arrival minus the publisher's commit. Prints the clients
connected, delivered/expected and the latency p50/p95/max, headline last.

BENCH_SSE_CLIENTS, BENCH_SSE_EVENTS and BENCH_SSE_RATE change the figures."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "500"))
EVENTS = int(os.environ.get("BENCH_SSE_EVENTS", "200"))
RATE = float(os.environ.get("BENCH_SSE_RATE", "20"))  # events a second
ENGINE = os.environ.get("BENCH_SSE_ENGINE", "sqlite")
FRAME = re.compile(rb"id: (\d+)\n")


def setup_world() -> str:
    """Migrate, one county grid, one county-wide user signed in: returns the session cookie."""
    import datetime as dt

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.management import call_command
    from shapely.geometry import box

    from gridgov.accounts.models import User
    from gridgov.accounts.sessions import SessionStore
    from gridgov.grids.services import GridSpec, do_create_grids

    call_command("migrate", verbosity=0)
    do_create_grids(
        [GridSpec("150621", "达拉特旗", 0, box(109.0, 40.0, 110.0, 40.5))],
        actor=None,
        effective=dt.date(2026, 1, 1),
    )
    user = User.objects.create(username="wall", is_superuser=True, is_staff=True)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class Listener:
    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.status = 0


async def listen(
    port: int, cookie: str, listener: Listener, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET /sse/live/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {cookie}\r\nLast-Event-ID: 0\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    listener.status = int(head.split(b" ", 2)[1])
    ready.set()
    buffer = b""
    try:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                return
            now = time.perf_counter()
            buffer += chunk
            cut = buffer.rfind(b"\n\n")
            if cut < 0:
                continue
            for m in FRAME.finditer(buffer, 0, cut):
                listener.arrived.setdefault(int(m.group(1)), now)
            buffer = buffer[cut + 2 :]
    finally:
        writer.close()


def publish_all(committed: dict[int, float]) -> None:
    from django.db import transaction

    from gridgov.core import outbox
    from gridgov.core.models import OutboxEvent

    for i in range(EVENTS):
        due = start + i / RATE
        time.sleep(max(0.0, due - time.perf_counter()))
        with transaction.atomic():
            outbox.publish("case.report", {"number": f"BENCH-{i:05d}", "state": "reported"}, grid_l1_id=None)
        committed[OutboxEvent.objects.order_by("-id").values_list("id", flat=True)[0]] = time.perf_counter()


start = 0.0


async def run(port: int, cookie: str) -> None:
    global start
    from _cases import percentiles

    listeners = [Listener() for _ in range(CLIENTS)]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in listeners]
    t0 = time.perf_counter()
    tasks = []
    for listener, ready in zip(listeners, readies, strict=True):
        tasks.append(asyncio.create_task(listen(port, cookie, listener, ready, stop)))
        await asyncio.sleep(0.002)  # a wall of screens comes up over a second, not in one instant
    await asyncio.gather(*(r.wait() for r in readies))
    connected = sum(1 for x in listeners if x.status == 200)
    print(f"sse_clients_connected: {connected} of {CLIENTS} in {time.perf_counter() - t0:.1f} s")
    if connected < CLIENTS:
        print(f"sse_refused: status {next(x.status for x in listeners if x.status != 200)}")
    await asyncio.sleep(1.0)
    committed: dict[int, float] = {}
    start = time.perf_counter()
    await asyncio.to_thread(publish_all, committed)
    deadline = time.perf_counter() + 15
    while time.perf_counter() < deadline:
        if all(set(committed) <= x.arrived.keys() for x in listeners):
            break
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    delivered = sum(len(set(committed) & x.arrived.keys()) for x in listeners)
    expected = len(committed) * CLIENTS
    latencies = [x.arrived[i] - committed[i] for x in listeners for i in committed if i in x.arrived]
    p50, p95, _ = percentiles(latencies) if latencies else (0.0, 0.0, 0.0)
    print(f"sse_events_published: {len(committed)} at {RATE:.0f}/s")
    print(f"sse_latency: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies, default=0) * 1000:.0f} ms")
    print(
        f"sse_delivered: {delivered}/{expected} ({100 * delivered / max(expected, 1):.2f} %, {CLIENTS} clients "
        f"on one process, p95 {p95:.0f} ms)"
    )


def main() -> None:
    from _cases import ROOT, django_setup, free_port, scratch

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    db = scratch(ENGINE, "gridgov_bench_sse")
    server = None
    try:
        django_setup()
        cookie = setup_world()
        port = free_port()
        log = Path(db.var_dir) / "sse.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "gridgov.command.sse_server", "--bind", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env={**os.environ, **db.env},
                stdout=out,
                stderr=out,
            )
        import socket

        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(run(port, cookie))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
            sys.stderr.write((Path(db.var_dir) / "sse.log").read_text()[-3000:])
        db.drop()


if __name__ == "__main__":
    main()
