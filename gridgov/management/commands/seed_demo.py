from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.demo.config import DemoConfig
from gridgov.demo.seed import DemoError, demo_accounts, format_accounts, seed_demo


class Command(BaseCommand):
    help = (
        "Load the synthetic demo county (Dalad Banner's reference numbers: 15 / 158 / 1,675 grids and their "
        "people) into an empty database. The same --seed always gives the same county."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=DemoConfig.seed, help="random seed (default %(default)s)"
        )
        parser.add_argument(
            "--small", action="store_true", help="a tiny county (4 / 10 / 44 grids) for trying things out"
        )

    def handle(self, *args, seed: int, small: bool, verbosity: int = 1, **options):
        config = DemoConfig.small(seed) if small else DemoConfig(seed=seed)

        def progress(message: str) -> None:
            if verbosity >= 2:
                self.stdout.write(message)

        try:
            report = seed_demo(config, progress=progress)
        except DemoError as exc:
            # Refusing is the safe answer: a county in use is never overwritten by a demo.
            raise CommandError(str(exc)) from exc
        if verbosity >= 1:
            stages = {
                "catalog": _("responsibility list"),
                "geometry": _("drawing"),
                "grids": _("writing grids"),
                "people": _("planning people"),
                "users": _("writing people"),
                "registry": _("register"),
                "mediation": _("mediation"),
                "community": _("volunteer teams"),
            }
            parts = ", ".join(f"{stages.get(k, k)} {seconds:.1f} s" for k, seconds in report.timings.items())
            self.stdout.write(
                _(
                    "Seeded the demo county (seed %(seed)d): %(grids)d grids, %(users)d people in %(seconds).1f s (%(parts)s)."
                )
                % {
                    "seed": report.seed,
                    "grids": report.grids,
                    "users": report.users,
                    "seconds": report.seconds,
                    "parts": parts,
                }
            )
            for part in (report.registry, report.mediation, report.community):
                if part is not None:
                    self.stdout.write(part.summary())
            self.stdout.write(format_accounts(demo_accounts()))
