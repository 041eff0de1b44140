"""`gridgov import-grids FILE [--crs gcj02] [--effective DATE] [--dry-run] [--json]`"""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.grids.coords import CRS_CHOICES
from gridgov.grids.importers import import_grids
from gridgov.grids.validation import GridInputError, Problem


class Command(BaseCommand):
    help = (
        "Import grids from a GeoJSON file (FeatureCollection or array of features; Polygon/MultiPolygon) or a "
        "CSV of division codes and names (UTF-8 or GB18030). A bad file is rejected whole; nothing is half-imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--crs", default="wgs84", help=f"coordinates of a GeoJSON file: {', '.join(CRS_CHOICES)}"
        )
        parser.add_argument("--effective", help="date the grids take effect (YYYY-MM-DD; default today)")
        parser.add_argument(
            "--format", choices=["geojson", "csv"], help="default: from the file name or content"
        )
        parser.add_argument("--reason", default="", help="why (kept in the change record and the audit log)")
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        effective = None
        if options["effective"]:
            try:
                effective = dt.date.fromisoformat(options["effective"])
            except ValueError as exc:
                raise CommandError(
                    _("--effective %(value)s is not a date (YYYY-MM-DD)") % {"value": options["effective"]}
                ) from exc
        try:
            report = import_grids(
                options["file"],
                crs=options["crs"],
                effective=effective,
                dry_run=options["dry_run"],
                fmt=options["format"],
                reason=options["reason"],
            )
        except ValidationError as exc:
            problems = (
                exc.problems if isinstance(exc, GridInputError) else [Problem("", m) for m in exc.messages]
            )
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {"ok": False, "problems": [p.as_dict() for p in problems]},
                        ensure_ascii=False,
                        indent=1,
                    )
                )
            else:
                self.stderr.write(_("The file was rejected; nothing was imported. Problems:"))
                for problem in problems:
                    self.stderr.write(f"  - {problem}")
            raise SystemExit(1) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"ok": True, **report.as_dict()}, ensure_ascii=False, indent=1))
            return
        for warning in report.warnings:
            self.stdout.write(_("note: %(warning)s") % {"warning": warning})
        self.stdout.write(report.summary())
        if not report.dry_run:
            self.stdout.write(
                _("Run `gridgov check-grids` to check that the grids tile without gaps or overlaps.")
            )
