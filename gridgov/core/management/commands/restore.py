"""`gridgov restore ARCHIVE [--yes]`: put a `gridgov backup` archive back (database and evidence files), then
verify the audit chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from gridgov.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive over the database and the evidence files (MEDIA_ROOT), then verify the "
        "audit chain. Every checksum is checked before anything changes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="A .tar.gz archive written by `gridgov backup`.")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Replace a database that already holds data (and every evidence file).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_backup(options["archive"], overwrite=options["yes"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Archive checked: %(members)d members, every checksum matches.") % {"members": result.members}
        )
        self.stdout.write(
            _("Database restored (%(engine)s) from the backup made at %(created)s.")
            % {"engine": result.engine, "created": result.created_at}
        )
        if result.media_restored:
            self.stdout.write(
                _("Evidence files restored: %(count)d (%(size)s) into %(path)s.")
                % {
                    "count": result.media_files,
                    "size": filesizeformat(result.media_bytes),
                    "path": result.media_root,
                }
            )
        elif not result.media_in_archive:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "The archive holds no evidence files (they were in object storage when it was made): "
                        "%(path)s was left as it is; restore the bucket with its own tools."
                    )
                    % {"path": result.media_root}
                )
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "Evidence files are kept in object storage here and were not restored: restore the "
                        "bucket with its own tools."
                    )
                )
            )
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "The restored database lacks migrations of this code (%(names)s): run `gridgov migrate`."
                    )
                    % {"names": ", ".join(result.pending_migrations)}
                )
            )
        if result.chain_error:
            raise CommandError(
                _(
                    "The audit chain could not be read (%(error)s): run `gridgov migrate`, then `gridgov verify-audit`."
                )
                % {"error": result.chain_error}
            )
        report = result.chain
        assert report is not None  # restore_backup sets either chain or chain_error
        # The same messages as `gridgov verify-audit`, so operators (and translators) see one wording.
        if report.reason:
            where = _(" at audit record %(id)s") % {"id": report.broken_at} if report.broken_at else ""
            raise CommandError(
                _("Audit chain broken%(where)s: %(reason)s (%(checked)d records verified before it)")
                % {"where": where, "reason": _(report.reason), "checked": report.checked}
            )
        self.stdout.write(_("Audit chain intact: %(count)d records.") % {"count": report.checked})
