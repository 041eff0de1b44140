import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DemoError, demo_accounts, format_accounts, seed_demo
from gridgov.grids.models import Grid


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, load the demo county when the database holds no grids, print the demo "
        "accounts and their password, then serve on http://127.0.0.1:8000."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=DemoConfig.seed, help="random seed of the demo county"
        )
        parser.add_argument("--bind", default=os.environ.get("GRIDGOV_BIND", "127.0.0.1:8000"))
        parser.add_argument("--no-serve", action="store_true", help="prepare and print, but do not serve")
        parser.add_argument(
            "--no-simulator",
            action="store_true",
            help="do not start the simulator that keeps the county busy (also GRIDGOV_SIMULATOR=0)",
        )

    def handle(self, *args, seed: int, bind: str, no_serve: bool, no_simulator: bool = False, **options):
        self.stdout.write(_("Migrating the database…"))
        call_command("migrate", interactive=False, verbosity=0)
        existing = Grid.objects.current().count()
        if existing:
            self.stdout.write(
                _("The database holds %(count)d grids: the demo county is not loaded again.")
                % {"count": existing}
            )
        else:
            self.stdout.write(_("Loading the demo county (seed %(seed)d)…") % {"seed": seed})
            try:
                report = seed_demo(DemoConfig(seed=seed), progress=self.stdout.write)
            except DemoError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                _("Seeded %(grids)d grids and %(users)d people in %(seconds).1f s.")
                % {"grids": report.grids, "users": report.users, "seconds": report.seconds}
            )
        accounts = demo_accounts()
        if accounts:
            self.stdout.write("")
            self.stdout.write(_("Demo accounts:"))
            self.stdout.write(format_accounts(accounts))
        else:
            self.stdout.write(_("This database has no demo accounts."))
        self.stdout.write("")
        if not settings.TRIAGE_MODEL_PATH.exists():
            # Triage learns from the demo's closed cases; it takes a little while, so the server does not wait.
            self.stdout.write(_("Training the triage model in the background (gridgov train-triage)…"))
            subprocess.Popen([sys.executable, "-m", "gridgov.cli", "train-triage"], stdout=subprocess.DEVNULL)
        self.stdout.write(_("Open http://%(bind)s/ and sign in.") % {"bind": bind})
        self.stdout.write(
            _(
                "On a phone: http://%(bind)s/m/ (residents sign in with a phone number and a code from the log)."
            )
            % {"bind": bind}
        )
        simulator = None
        if not no_serve and not no_simulator and os.environ.get("GRIDGOV_SIMULATOR", "1") != "0":
            # The living demo: new reports and steps every few seconds, so the wall moves. It stops with the
            # server: it watches this process id, which gunicorn takes over (serve execs it).
            self.stdout.write(
                _(
                    "Starting the simulator (gridgov simulate; switch it off with --no-simulator or GRIDGOV_SIMULATOR=0)…"
                )
            )
            simulator = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "gridgov.cli", "simulate", "--parent", str(os.getpid())],
                stdout=subprocess.DEVNULL,
            )
        self.stdout.flush()
        if not no_serve:
            try:
                call_command("serve", bind=bind)
            finally:
                if simulator is not None:
                    simulator.terminate()
                    simulator.wait(timeout=10)
