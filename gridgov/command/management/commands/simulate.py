import logging
import os
import signal
import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.command.simulator import Simulator


class Command(BaseCommand):
    help = (
        "Keep the demo county busy: new reports, the steps of open cases and now and then a signed alarm, "
        "through the case engine as the demo's users (gridgov simulate; --once N for N steps)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", type=int, default=None, metavar="N", help="take N steps and stop")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between steps (default 2)")
        parser.add_argument("--seed", type=int, default=None, help="random seed")
        parser.add_argument(
            "--parent", type=int, default=None, help="stop when this process (the server) is gone"
        )

    def handle(self, *args, once, interval, seed, parent, **options):
        verbose = options["verbosity"] > 1 or once is not None
        say = self.stdout.write if verbose else None
        simulator = Simulator(seed=seed, say=say)
        if parent is not None:
            # The demo starts the simulator beside its server: it must not outlive it, and its every step's
            # log lines (the SMS a hotline caller would get…) would bury the server's in the terminal.
            simulator.alive = lambda: _alive(parent)
            logging.getLogger().setLevel(logging.WARNING)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(_("Simulating the county: a step every %(s).1f s.") % {"s": interval})
        try:
            outcomes = simulator.run(steps=once, interval=interval if once is None else 0)
        except KeyboardInterrupt:
            return
        if once is not None:
            self.stdout.write(_("%(n)d steps taken.") % {"n": len(outcomes)})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() == pid
