"""`gridgov import-persons FILE [--as USERNAME]`: a persons file too large for a web request (the whole county).

All rows or none, as on the import page; the command exits non-zero when the file was refused."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.registry.imports import MAX_BYTES, import_persons


class Command(BaseCommand):
    help = (
        "Import persons from an .xlsx or .csv file in the template's columns. Every row is checked first; "
        "nothing is written while one cell is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--as",
            dest="username",
            help="import in this user's name (their grids only); the system's by default",
        )

    def handle(self, *args, **options):
        path = options["file"]
        actor = None
        if options["username"]:
            actor = get_user_model().objects.filter(username=options["username"]).first()
            if actor is None:
                raise CommandError(_("No user is named %(username)s.") % {"username": options["username"]})
        try:
            if os.path.getsize(path) > MAX_BYTES:
                raise CommandError(
                    _("The file is larger than %(mb)s MB: split it into smaller files.")
                    % {"mb": MAX_BYTES // 2**20}
                )
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}
            ) from exc
        report = import_persons(data, os.path.basename(path), actor=actor)
        if not report.ok:
            for message in report.messages:
                self.stderr.write(message)
            raise CommandError(
                _("Nothing was imported: %(count)s problem(s) found.") % {"count": report.problem_count}
            )
        self.stdout.write(
            _(
                "%(rows)s rows in %(seconds).1f s: %(created)s persons registered, %(updated)s updated, "
                "%(moved)s moved; %(households_created)s households created, %(households_updated)s updated."
            )
            % {
                "rows": report.rows,
                "seconds": report.seconds,
                "created": report.created,
                "updated": report.updated,
                "moved": report.moved,
                "households_created": report.households_created,
                "households_updated": report.households_updated,
            }
        )
        if report.ignored_columns:
            self.stdout.write(
                _("Columns not read: %(columns)s") % {"columns": ", ".join(report.ignored_columns)}
            )
