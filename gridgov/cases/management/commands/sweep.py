import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.cases.sweep import sweep
from gridgov.core import housekeeping


class Command(BaseCommand):
    help = (
        "Watch the deadlines: issue a supervision notice when a stage turns red and escalate one level past the "
        "second threshold, exactly once per case and stage. Loops every GRIDGOV_SWEEP_INTERVAL seconds; several "
        "copies may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=settings.SWEEP_INTERVAL_SECONDS)
        parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone (make run)")

    def handle(self, *args, once: bool, interval: float, parent: int, **options):
        while True:
            started = time.monotonic()
            report = sweep()
            housekeeping.run()  # kept answers, sign-in codes: what is kept only for a while
            if once or report.noticed or report.escalated:
                self.stdout.write(
                    _("Sweep: %(noticed)d supervision notices, %(escalated)d escalations in %(seconds).2f s.")
                    % {
                        "noticed": report.noticed,
                        "escalated": report.escalated,
                        "seconds": time.monotonic() - started,
                    }
                )
                self.stdout.flush()
            if once:
                return
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline:
                if parent and not _alive(parent):
                    return
                time.sleep(min(1.0, interval))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
