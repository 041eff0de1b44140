"""`gridgov import-registry KIND FILE [--as USERNAME]`: a register file too large for a web request. KIND is
persons, households, buildings, organisations or components.

All rows or none, as on the import page; the command exits non-zero when the file was refused."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.registry.imports import KINDS, MAX_BYTES, ImportReport, import_file


class Command(BaseCommand):
    help = (
        "Import a register file (.xlsx or .csv) of one kind in its template's columns. Every row is checked "
        "first; nothing is written while one cell is wrong."
    )
    kind = ""  # a fixed kind (import-persons); empty: the first argument names it

    def add_arguments(self, parser: Any) -> None:
        if not self.kind:
            parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file")
        parser.add_argument(
            "--as",
            dest="username",
            help="import in this user's name (their grids only); the system's by default",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = self.kind or options["kind"]
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
        report = import_file(kind, data, os.path.basename(path), actor=actor)
        if not report.ok:
            for message in report.messages:
                self.stderr.write(message)
            raise CommandError(
                _("Nothing was imported: %(count)s problem(s) found.") % {"count": report.problem_count}
            )
        self.stdout.write(self.summary(report))
        if report.ignored_columns:
            self.stdout.write(
                _("Columns not read: %(columns)s") % {"columns": ", ".join(report.ignored_columns)}
            )

    def summary(self, report: ImportReport) -> str:
        if report.kind == "persons":
            return _(
                "%(rows)s rows in %(seconds).1f s: %(created)s persons registered, %(updated)s updated, "
                "%(moved)s moved; %(households_created)s households created, %(households_updated)s updated."
            ) % {
                "rows": report.rows,
                "seconds": report.seconds,
                "created": report.created,
                "updated": report.updated,
                "moved": report.moved,
                "households_created": report.households_created,
                "households_updated": report.households_updated,
            }
        counts = "; ".join(f"{n} {words}" for n, words in report.counts)
        return _("%(rows)s rows in %(seconds).1f s: %(counts)s.") % {
            "rows": report.rows,
            "seconds": report.seconds,
            "counts": counts,
        }
