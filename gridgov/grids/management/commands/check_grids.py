"""`gridgov check-grids [--json]`: exit status 0 only when the tree is clean."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.grids.checks import check_tree


class Command(BaseCommand):
    help = (
        "Check that children tile their parent: gaps, overlaps, children outside their parent (above "
        "GRID_TOLERANCE_M2), invalid or missing boundaries. Exit status 0 only when the tree is clean."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--tolerance", type=float, help="m² (default: settings.GRID_TOLERANCE_M2)")

    def handle(self, *args, **options):
        report = check_tree(tolerance_m2=options["tolerance"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        else:
            for defect in report.defects:
                self.stdout.write(defect.message())
            summary = {"grids": report.grids, "seconds": report.seconds, "tolerance": report.tolerance_m2}
            if report.clean:
                self.stdout.write(
                    _("%(grids)d grids checked in %(seconds).2f s: clean (tolerance %(tolerance)s m²).")
                    % summary
                )
            else:
                self.stdout.write(
                    _(
                        "%(grids)d grids checked in %(seconds).2f s: %(count)d defect(s) (tolerance %(tolerance)s m²)."
                    )
                    % {**summary, "count": len(report.defects)}
                )
        if not report.clean:
            raise SystemExit(1)
