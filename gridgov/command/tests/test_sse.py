"""The live feed through a real uvicorn process (gridgov/command/sse_server.py on the test database): a town's
operator receives the reports of their town as they are made and never those of the other town; after a drop,
reconnecting with Last-Event-ID brings exactly the events missed meanwhile; the county's leader hears both
towns; no session, or a grid outside the user's scope, gets no stream."""

from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from gridgov.cases.tests.helpers import OTHER_TOWN, report_case

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(settings.PROJECT_DIR)
WAIT = 10.0  # seconds an expected event may take (the feed polls every 0.1 s here)
QUIET = 1.0  # seconds of silence that show nothing else was sent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def feed_server(world, tmp_path):
    port = free_port()
    log = (tmp_path / "sse.log").open("wb")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GRIDGOV_SSE_POLL": "0.1",
        "GRIDGOV_SSE_HEARTBEAT": "2",
        "DJANGO_SETTINGS_MODULE": "gridgov.settings",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gridgov.command.sse_server", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((tmp_path / "sse.log").read_text()[-3000:]) from None
            time.sleep(0.1)
    yield port
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    print((tmp_path / "sse.log").read_text()[-5000:])  # shown when the test fails


def session_cookie(user: Any) -> str:
    c = Client()
    c.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={c.cookies[settings.SESSION_COOKIE_NAME].value}"


class Stream:
    """One EventSource-like connection: its events (id, data) are read in a thread into a queue."""

    def __init__(self, port: int, cookie: str | None, last_id: int | None = None, grid: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Accept": "text/event-stream", "Origin": f"http://127.0.0.1:{port - 1}"}
        if cookie:
            headers["Cookie"] = cookie
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/sse/live/" + (f"?grid={grid}" if grid else ""), headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events: queue.Queue[tuple[int, dict]] = queue.Queue()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event_id, data = None, None
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                line = line.rstrip(b"\n").decode()
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and event_id is not None and data is not None:
                    self.events.put((event_id, data))
                    event_id, data = None, None
        except Exception:  # closed by the test: the reading ends
            return

    def next(self, timeout: float = WAIT) -> tuple[int, dict]:
        return self.events.get(timeout=timeout)

    def numbers(self, n: int) -> list[str]:
        return [self.next()[1]["number"] for _ in range(n)]

    def silent(self) -> bool:
        try:
            self.events.get(timeout=QUIET)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def test_the_feed_delivers_in_scope_events_and_resumes_after_a_drop(world, feed_server):
    port = feed_server
    operator = Stream(port, session_cookie(world.operator))
    leader = Stream(port, session_cookie(world.leader))
    assert operator.status == leader.status == 200
    assert operator.response.getheader("Access-Control-Allow-Credentials") == "true"
    assert operator.response.getheader("Content-Type").startswith("text/event-stream")

    first = report_case(world)
    elsewhere = report_case(world, where=OTHER_TOWN)
    second = report_case(world)
    got = [operator.next() for _ in range(2)]
    assert [d["number"] for _, d in got] == [first.number, second.number]  # not the other town's
    assert got[0][1]["topic"] == "case.report" and got[0][1]["grid"] == world.grid.name
    assert leader.numbers(3) == [first.number, elsewhere.number, second.number]

    # The operator's connection drops; three reports meanwhile, one in the other town.
    last_id = got[-1][0]
    operator.close()
    missed = [report_case(world), report_case(world, where=OTHER_TOWN), report_case(world)]
    back = Stream(port, session_cookie(world.operator), last_id=last_id)
    assert back.numbers(2) == [missed[0].number, missed[2].number]
    assert back.silent()
    live = report_case(world)
    assert back.numbers(1) == [live.number]
    assert leader.numbers(4) == [c.number for c in [*missed, live]]
    back.close()
    leader.close()

    # No session, and a wall outside the user's scope: no stream.
    assert Stream(port, None).status == 403
    assert Stream(port, session_cookie(world.operator), grid=world.other_grid.code).status == 403
    # The leader's wall narrowed to town 2: first its latest events (the backlog), then town 2's only.
    narrowed = Stream(port, session_cookie(world.leader), grid="150621101")
    last = report_case(world, where=OTHER_TOWN)
    report_case(world)
    assert narrowed.numbers(3) == [elsewhere.number, missed[1].number, last.number]
    assert narrowed.silent()
    narrowed.close()
