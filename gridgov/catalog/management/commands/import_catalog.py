"""`gridgov import-catalog FILE --module 01 --department ZF [--kind component|event]`"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.catalog.services import CatalogDataError, do_import_items_csv


class Command(BaseCommand):
    help = (
        "Add items to the responsibility list from a CSV in the GB/T 47678.5-2026 transcription's format "
        "(matter_kind,standard_code,major_code,major_name,name; UTF-8 or GB18030). All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--module", required=True, help="module code, e.g. 01")
        parser.add_argument("--department", required=True, help="code of the lead department, e.g. ZF")
        parser.add_argument("--kind", choices=["component", "event"], help="import only rows of this kind")

    def handle(self, *args, **options):
        try:
            report = do_import_items_csv(
                options["file"],
                actor=None,
                module_code=options["module"],
                lead_department_code=options["department"],
                kind=options["kind"],
            )
        except CatalogDataError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError(
                _("Nothing was imported: %(count)s problem(s) found.") % {"count": len(exc.messages)}
            ) from exc
        for item in report.created:
            self.stdout.write(f"+ {item.code} {item.standard_code} {item.name}")
        self.stdout.write(
            _(
                "%(created)s item(s) added, %(skipped)s row(s) skipped (already in the list or of another kind)."
            )
            % {"created": len(report.created), "skipped": len(report.skipped)}
        )
