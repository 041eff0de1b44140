"""`gridgov backup [--output PATH]`: one archive of the database and the evidence files, made while the
server keeps running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from gridgov.core.backup import BackupError, create_backup, media_backend


class Command(BaseCommand):
    help = (
        "Write a consistent backup of the database and the evidence files (MEDIA_ROOT) to one .tar.gz "
        "archive while the server runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            help="Archive to write (default: var/backups/gridgov-<UTC time>.tar.gz under GRIDGOV_VAR_DIR).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = create_backup(options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Backup written: %(path)s (%(size)s)")
            % {"path": result.path, "size": filesizeformat(result.size)}
        )
        self.stdout.write(
            _("Database: %(engine)s, %(size)s, audit records: %(records)d")
            % {
                "engine": result.engine,
                "size": filesizeformat(result.database_size),
                "records": result.audit_records,
            }
        )
        if result.media_included:
            self.stdout.write(
                _("Evidence files: %(count)d (%(size)s)")
                % {"count": result.media_files, "size": filesizeformat(result.media_bytes)}
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "Evidence files are kept in object storage (%(backend)s) and are not in this archive: "
                        "back up the bucket with its own tools."
                    )
                    % {"backend": media_backend()}
                )
            )
