"""The live-feed server: uvicorn with gridgov/asgi.py (which routes /sse/ to gridgov/command/sse.py), one
process (the feed's clients and its outbox poller live in it). `gridgov serve` starts it beside gunicorn
with `--parent`, and it exits when that process is gone.

    python -m gridgov.command.sse_server --bind 127.0.0.1:8001 [--parent PID]"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time


def _watch(parent: int) -> None:
    # gunicorn takes over the parent's pid (exec), so the pid stays the server's until it exits; then this
    # process is handed to init and its parent pid changes.
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default=os.environ.get("GRIDGOV_SSE_BIND", "127.0.0.1:8001"))
    parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import uvicorn

    if args.parent:
        threading.Thread(target=_watch, args=(args.parent,), daemon=True).start()
    uvicorn.run(
        "gridgov.asgi:application",
        host=host or "127.0.0.1",
        port=int(port),
        workers=1,
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=2,
        # Proxies in front of a wall may hold hundreds of streams open: no keep-alive limit on them.
        limit_concurrency=None,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
