"""`gridgov load-catalog`: load (or bring back) the packaged responsibility list."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.catalog.models import Department, Item, Module, TimeLimit
from gridgov.catalog.services import do_load_catalog


class Command(BaseCommand):
    help = (
        "Load the packaged responsibility list (32 departments, 10 modules, 145 items). Idempotent; rows are "
        "matched by code, and fields the package carries are set back to the packaged values."
    )

    def handle(self, *args, **options):
        report = do_load_catalog(actor=None)
        if not report.changed:
            self.stdout.write(_("The responsibility list is up to date; nothing changed."))
            return
        labels = {
            "department": Department._meta.verbose_name_plural,
            "module": Module._meta.verbose_name_plural,
            "item": Item._meta.verbose_name_plural,
            "assisting": Item._meta.get_field("assisting_departments").verbose_name,
            "timelimit": TimeLimit._meta.verbose_name_plural,
        }
        for name, label in labels.items():
            self.stdout.write(
                _("%(what)s: %(created)s created, %(updated)s updated")
                % {
                    "what": label,
                    "created": report.created.get(name, 0),
                    "updated": report.updated.get(name, 0),
                }
            )
