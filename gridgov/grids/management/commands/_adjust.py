"""What the three adjustment commands share: options, the grid lookup, errors as a report, the result."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.grids.coords import CRS_CHOICES
from gridgov.grids.models import Grid


class AdjustmentCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--effective", help="date the new tree holds from (YYYY-MM-DD; default today)")
        parser.add_argument("--reason", default="", help="why (kept in the change record and the audit log)")
        parser.add_argument(
            "--crs", default="wgs84", help=f"coordinates of the file: {', '.join(CRS_CHOICES)}"
        )

    def current(self, code: str) -> Grid:
        grid = Grid.objects.current().filter(code=code).first()
        if grid is None:
            raise CommandError(_("No current grid has the code %(code)s.") % {"code": code})
        return grid

    def adjust(self, options, effective: dt.date) -> list[Grid]:
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            effective = (
                dt.date.fromisoformat(options["effective"]) if options["effective"] else timezone.localdate()
            )
        except ValueError as exc:
            raise CommandError(
                _("--effective is not a date (YYYY-MM-DD): %(value)s") % {"value": options["effective"]}
            ) from exc
        try:
            grids = self.adjust(options, effective)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        for grid in grids:
            self.stdout.write(f"{grid.code} {grid.name}")
