import os
import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.open311.webhooks import run_once


class Command(BaseCommand):
    help = (
        "Deliver the case events to the webhook subscribers: read new outbox events, POST them signed, retry "
        "with backoff. Loops every --interval seconds; several copies may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=2.0)
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a subscriber")
        parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")

    def handle(self, *args, once: bool, interval: float, timeout: float, parent: int, **options):
        while True:
            made, delivered, failed = run_once(timeout=timeout)
            if once or made or delivered or failed:
                self.stdout.write(
                    _(
                        "Webhooks: %(made)d new deliveries, %(delivered)d delivered, %(failed)d failed attempts."
                    )
                    % {"made": made, "delivered": delivered, "failed": failed}
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
