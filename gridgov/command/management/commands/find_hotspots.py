import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.command.hotspots import find_hotspots, settings_value
from gridgov.core.errors import Refusal


class Command(BaseCommand):
    help = (
        "Find the hotspots: places where cases of one item keep coming back (DBSCAN per item over the window). "
        "Safe to run again: a hotspot found before is brought up to date, a resolved one that came back is "
        "reopened."
    )

    def add_arguments(self, parser):
        parser.add_argument("--eps", type=float, default=None, help="metres between neighbouring cases (100)")
        parser.add_argument("--min-cases", type=int, default=None, help="cases that make a hotspot (5)")
        parser.add_argument("--days", type=int, default=None, help="the window, in days back from now (90)")
        parser.add_argument("--item", action="append", default=None, help="only this item (code); repeatable")

    def handle(self, *args, eps, min_cases, days, item, **options):
        started = time.monotonic()
        try:
            report = find_hotspots(eps_m=eps, min_cases=min_cases, days=days, item_codes=item)
        except Refusal as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _(
                "Hotspots: %(cases)d cases of %(items)d items in the last %(days)d days, %(clusters)d clusters: "
                "%(found)d new, %(grown)d grown, %(reopened)d reopened, %(unchanged)d unchanged, in %(seconds).1f s."
            )
            % {
                "cases": report.cases,
                "items": report.items,
                "days": days or settings_value("days"),
                "clusters": report.clusters,
                "found": report.found,
                "grown": report.grown,
                "reopened": report.reopened,
                "unchanged": report.unchanged,
                "seconds": time.monotonic() - started,
            }
        )
