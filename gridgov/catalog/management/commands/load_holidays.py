"""`gridgov load-holidays FILE.json`: load a year's public holidays and make-up working days."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.core.calendar import do_load_holidays, load_holidays_file


class Command(BaseCommand):
    help = (
        "Load public holidays and make-up working days from a JSON file (see "
        "gridgov/catalog/data/holidays/2026.json for the format). The listed years are replaced as a whole."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        try:
            report = do_load_holidays(load_holidays_file(options["file"]), actor=None)
        except ValidationError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError(
                _("Nothing was loaded: %(count)s problem(s) found.") % {"count": len(exc.messages)}
            ) from exc
        self.stdout.write(
            _("Years %(years)s: %(created)s day(s) added, %(updated)s updated, %(deleted)s removed.")
            % {
                "years": ", ".join(map(str, report.years)),
                "created": report.created,
                "updated": report.updated,
                "deleted": report.deleted,
            }
        )
