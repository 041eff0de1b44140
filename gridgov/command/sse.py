"""The live feed of the command centre: server-sent events from the outbox (`core.models.OutboxEvent`), served
by the ASGI process (uvicorn, `gridgov/asgi.py` routes `/sse/` here).

- One poller task per process reads the rows newer than the last one it saw (a second's poll, one indexed
  query) and fans each out to the connected clients whose scope covers it. A row is encoded once, whatever
  the number of clients.
- Ids are the outbox's: a client that lost its connection comes back with `Last-Event-ID` (the browser's
  EventSource sends it by itself) and first gets the rows it missed, read from the table, then the live ones.
  A first connection gets the latest few events of its scope (`BACKLOG`).
- Ids are given at insert but rows become visible at commit, so a lower id can appear after a higher one: the
  poller does not step past a hole in the ids until it has waited `GAP_WAIT` seconds for it to fill (a rolled
  back insert leaves a hole for ever).
- Authentication is the site's session cookie, read in a thread; the scope is what the user oversees on the
  wall (the overview's roots), narrowed to `?grid=<code>`. An event's grids come from its payload's `grid`, or
  from its case, and the grid tree in memory; an event without a grid goes to county-wide users only.
- A comment line every `HEARTBEAT` seconds keeps proxies from closing an idle stream; the session is checked
  again at each heartbeat (a signed-out session ends the stream).
- Served on its own port in development (`gridgov serve`: GRIDGOV_SSE_BIND), the page at another port of the
  same host: the answer allows that origin with credentials (CORS). In production nginx routes /sse/ to it
  on the site's own origin (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

POLL = float(os.environ.get("GRIDGOV_SSE_POLL", "0.25"))  # seconds between two reads of the outbox
HEARTBEAT = float(os.environ.get("GRIDGOV_SSE_HEARTBEAT", "15"))
GAP_WAIT = 3.0
BATCH = 2000  # rows read at most per poll
REPLAY_MAX = 1000  # rows replayed at most after a reconnection
BACKLOG = 15  # events sent on a first connection
BACKLOG_SCAN = 500
QUEUE_MAX = 5000  # a client this far behind is dropped (it reconnects and replays from the table)
RETRY_MS = 3000

Scope = frozenset[tuple[int, int]] | None  # (level, grid id) pairs; None: everything

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Event:
    id: int
    grids: tuple[int, ...]  # (l1, l2, l3) ids known for the event, () when it has none
    frame: bytes

    def visible(self, scope: Scope) -> bool:
        if scope is None:
            return True
        return any((level, gid) in scope for level, gid in enumerate(self.grids, start=1))


@dataclass(eq=False)  # hashed by identity: the hub keeps a set of them
class Client:
    scope: Scope
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))


# ------------------------------------------------------------------------------------- database (threads)


def _db_executor() -> ThreadPoolExecutor:
    # One thread for the poller's reads (one connection kept open), a few for sign-ins and replays.
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="sse-db")


class Tree:
    """Grid id → (l1, l2, l3) ids, level and code; read once and again when an unknown id shows up."""

    def __init__(self) -> None:
        self.ids: dict[int, tuple[int, ...]] = {}
        self.names: dict[int, str] = {}
        self.loaded = 0.0

    def load(self) -> None:
        from gridgov.grids.models import Grid

        ids: dict[int, tuple[int, ...]] = {}
        names: dict[int, str] = {}
        for pk, path, name in Grid.objects.values_list("id", "path", "name"):
            parts = [int(x) for x in path.strip("/").split("/") if x]
            ids[pk] = tuple(parts[1:4])  # the root (level 0) is left out: it covers everything
            names[pk] = name
        self.ids, self.names, self.loaded = ids, names, time.monotonic()

    def of(self, grid_id: int | None) -> tuple[int, ...]:
        if grid_id is None:
            return ()
        if grid_id not in self.ids and time.monotonic() - self.loaded > 10:
            self.load()
        return self.ids.get(grid_id, ())


def _frames(rows: list[tuple[Any, ...]], tree: Tree) -> list[Event]:
    """Rows (id, topic, payload, grid_l1_id, created_at) → events, the case's grid found for those whose
    payload names none (the sweep's)."""
    from django.utils import timezone

    from gridgov.cases.models import Case

    payloads = [p if isinstance(p, dict) else json.loads(p) for _, _, p, _, _ in rows]
    missing = {p["case"] for p in payloads if "grid" not in p and isinstance(p.get("case"), int)}
    grid_of_case = dict(Case.objects.filter(pk__in=missing).values_list("pk", "grid_id")) if missing else {}
    events = []
    for (pk, topic, _, grid_l1_id, at), payload in zip(rows, payloads, strict=True):
        grid_id = payload.get("grid") if isinstance(payload.get("grid"), int) else None
        if grid_id is None and isinstance(payload.get("case"), int):
            grid_id = grid_of_case.get(payload["case"])
        grids = tree.of(grid_id)
        if not grids and grid_l1_id is not None:
            grids = (grid_l1_id,)
        data = {
            "id": pk,
            "topic": topic,
            "at": timezone.localtime(at).isoformat(timespec="seconds") if at else None,
            "number": payload.get("number", ""),
            "state": payload.get("state", ""),
            "grid": tree.names.get(grid_id, "") if grid_id else "",
            "grids": list(grids),
        }
        frame = f"id: {pk}\nevent: live\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        events.append(Event(pk, grids, frame))
    return events


def _read(
    after: int, limit: int, upto: int | None = None, newest_first: bool = False
) -> list[tuple[Any, ...]]:
    from gridgov.core.models import OutboxEvent

    qs = OutboxEvent.objects.filter(id__gt=after)
    if upto is not None:
        qs = qs.filter(id__lte=upto)
    qs = qs.order_by("-id" if newest_first else "id")
    rows = list(qs.values_list("id", "topic", "payload", "grid_l1_id", "created_at")[:limit])
    return rows[::-1] if newest_first else rows


def _guarded(fn: Callable[..., Any], *args: Any) -> Any:
    """A database call in a worker thread: a broken connection (the database restarted) is closed and the
    error raised, so that the next call opens a new one."""
    from django.db import close_old_connections, connection

    close_old_connections()
    try:
        return fn(*args)
    except Exception:
        connection.close()
        raise


def _user_scope(cookie: str, code: str) -> tuple[bool, Scope]:
    """(signed in and allowed, scope) of the session in `cookie`, on the wall of grid `code`."""
    from django.conf import settings
    from django.contrib.auth import get_user
    from django.http import Http404, HttpRequest

    from gridgov.accounts.scoping import is_county_wide
    from gridgov.command.wall_selectors import wall_scope

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie)
    except Exception:
        return False, None
    morsel = jar.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return False, None
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
    request = HttpRequest()
    request.session = store
    user = get_user(request)
    if not user.is_authenticated:
        return False, None
    try:
        scope = wall_scope(user, code)
    except Http404:
        return False, None
    shown = [scope.grid] if code else scope.tops
    if (is_county_wide(user) and not code) or any(g.level == 0 for g in shown):
        return True, None
    return True, frozenset((g.level, g.pk) for g in shown)


# ------------------------------------------------------------------------------------------- the hub


class Hub:
    """The process's clients and its one poller."""

    def __init__(self) -> None:
        self.clients: set[Client] = set()
        self.last = -1  # the highest id delivered (or skipped); -1 before the first read
        self.tree = Tree()
        self.executor = _db_executor()
        self.poller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sse-poll")
        self.task: asyncio.Task[None] | None = None
        self.ready: asyncio.Event | None = None
        self.gap_since: float | None = None

    async def db(self, fn: Callable[..., Any], *args: Any, poller: bool = False) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.poller if poller else self.executor, _guarded, fn, *args)

    async def start(self) -> None:
        if self.task is None:
            self.ready = asyncio.Event()
            self.task = asyncio.create_task(self._run())
        assert self.ready is not None
        await self.ready.wait()

    def _first(self) -> None:
        from django.db.models import Max

        from gridgov.core.models import OutboxEvent

        self.tree.load()
        self.last = OutboxEvent.objects.aggregate(m=Max("id"))["m"] or 0

    async def _run(self) -> None:
        assert self.ready is not None
        while self.last < 0:
            try:
                await self.db(self._first, poller=True)
            except Exception:
                log.exception("sse: cannot read the outbox")
                await asyncio.sleep(POLL * 4)
        self.ready.set()
        while True:
            try:
                await self.poll()
            except Exception:
                log.exception("sse: poll failed")
                await asyncio.sleep(POLL * 4)
            await asyncio.sleep(POLL)

    async def poll(self) -> None:
        rows = await self.db(_read, self.last, BATCH, poller=True)
        if not rows:
            return
        # Stop at the first hole in the ids until it fills or GAP_WAIT passes.
        take = 0
        expected = self.last + 1
        for row in rows:
            if row[0] != expected:
                now = time.monotonic()
                if self.gap_since is None:
                    self.gap_since = now
                if now - self.gap_since < GAP_WAIT:
                    break
            self.gap_since = None
            take += 1
            expected = row[0] + 1
        if take == 0:
            return
        events = await self.db(_frames, rows[:take], self.tree, poller=True)
        self.last = events[-1].id
        for client in list(self.clients):
            for event in events:
                if event.visible(client.scope):
                    try:
                        client.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        self.drop(client)
                        break

    def drop(self, client: Client) -> None:
        self.clients.discard(client)
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)  # the stream ends; the browser reconnects and replays


hub = Hub()


# ------------------------------------------------------------------------------------------- ASGI


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cors(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The page's origin when it is the same host on another port (development: gunicorn on one port, this on
    the next); in production both are on one origin behind nginx and no CORS header is needed."""
    origin = headers.get("origin")
    if not origin:
        return []
    host = headers.get("host", "").rsplit(":", 1)[0]
    if urlsplit(origin).hostname != host:
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


async def _plain(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """GET /sse/live/?grid=<code>: the live events of the user's wall."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = _headers(scope)
    cors = _cors(headers)
    if scope["method"] == "OPTIONS":
        await _plain(send, 204, b"", cors)
        return
    if scope["method"] != "GET" or scope["path"].rstrip("/") != "/sse/live":
        await _plain(send, 404, b"not found", cors)
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    code = (query.get("grid") or [""])[0][:32]
    cookie = headers.get("cookie", "")
    allowed, user_scope = await hub.db(_user_scope, cookie, code)
    if not allowed:
        await _plain(send, 403, b"sign in to a wall you oversee", cors)
        return
    await hub.start()
    last_id = headers.get("last-event-id") or (query.get("after") or [""])[0]
    try:
        after = int(last_id) if last_id else None
    except ValueError:
        after = None

    client = Client(user_scope)
    hub.clients.add(client)  # before the replay: nothing falls between the two
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache, no-transform"),
                    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
                    *cors,
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": f"retry: {RETRY_MS}\n\n".encode(), "more_body": True}
        )
        upto = hub.last
        if after is not None:
            rows = await hub.db(_read, after, REPLAY_MAX, upto)
        else:
            rows = await hub.db(_read, max(0, upto - BACKLOG_SCAN), BACKLOG_SCAN, upto)
        replayed = [e for e in await hub.db(_frames, rows, hub.tree) if e.visible(user_scope)]
        if after is None:
            replayed = replayed[-BACKLOG:]
        sent = after or 0
        if replayed:
            await send(
                {"type": "http.response.body", "body": b"".join(e.frame for e in replayed), "more_body": True}
            )
            sent = replayed[-1].id
        sent = max(sent, upto)
        await _stream(client, receive, send, sent, cookie, code)
    finally:
        hub.clients.discard(client)


async def _stream(client: Client, receive: Receive, send: Send, sent: int, cookie: str, code: str) -> None:
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        while True:
            getter = asyncio.ensure_future(client.queue.get())
            done, _ = await asyncio.wait(
                {getter, gone}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
            )
            if gone in done:
                getter.cancel()
                return
            if getter not in done:
                getter.cancel()
                allowed, _scope = await hub.db(_user_scope, cookie, code)
                if not allowed:
                    return
                await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                continue
            event = getter.result()
            if event is None:
                return
            batch = [event]
            while not client.queue.empty():
                more = client.queue.get_nowait()
                if more is None:
                    break
                batch.append(more)
            body = b"".join(e.frame for e in batch if e.id > sent)
            if body:
                sent = batch[-1].id
                await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        gone.cancel()
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:
            log.debug("sse: closing a gone stream")


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
