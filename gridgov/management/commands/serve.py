import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Serve gridgov with gunicorn (pages and API) on 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("GRIDGOV_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("GRIDGOV_WORKERS", "2")))
        # One thread per worker: the work is Python on the CPU, where threads only contend for the GIL (8
        # clients on 2 workers: 265 reports/s at p95 38 ms with one thread, 191 at p95 117 ms with four).
        # Slow clients are a reverse proxy's job (docs/deploy.md: nginx in front).
        parser.add_argument("--threads", type=int, default=int(os.environ.get("GRIDGOV_THREADS", "1")))
        parser.add_argument(
            "--no-sweep", action="store_true", help="do not run the deadline sweep beside the server"
        )
        # The command centre's live feed (server-sent events) needs ASGI: uvicorn on its own port, the pages
        # connect to it there (docs/deploy.md: nginx routes /sse/ to it on the site's origin in production).
        parser.add_argument("--sse-bind", default=os.environ.get("GRIDGOV_SSE_BIND", ""))
        parser.add_argument("--no-sse", action="store_true", help="do not run the live-feed server")

    def handle(self, *args, bind, workers, threads, no_sweep=False, sse_bind="", no_sse=False, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if not no_sse:
            # By default the port after the server's, on the same host; it exits with the server.
            host, _sep, port = bind.rpartition(":")
            sse_bind = sse_bind or f"{host}:{int(port) + 1}"
            subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "gridgov.command.sse_server", "--bind", sse_bind,
                 "--parent", str(os.getpid())]
            )  # fmt: skip
            # The pages find the feed on this port of their own host.
            os.environ["GRIDGOV_SSE_PORT"] = sse_bind.rpartition(":")[2]
            self.stdout.write(_("Serving the live feed on http://%(bind)s") % {"bind": sse_bind})
        # Beside the server, exiting with it (gunicorn takes over this pid): the deadline sweep, and the
        # delivery of case events to the webhooks' subscribers (Open311).
        loops = ["deliver-webhooks"] if no_sweep else ["sweep", "deliver-webhooks"]
        for loop in loops:
            subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "gridgov.cli", loop, "--parent", str(os.getpid())]
            )
        self.stdout.write(_("Serving on http://%(bind)s (Ctrl+C stops)") % {"bind": bind})
        sys.stdout.flush()
        argv = [
            sys.executable, "-m", "gunicorn", "gridgov.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--access-logfile", "-", "--graceful-timeout", "5",
            # The path without its query string: searches by phone or ID number must not reach the log.
            "--access-logformat", '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        ]  # fmt: skip
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn, fixed argv
