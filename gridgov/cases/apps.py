from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _text_search_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """A migration that remade `cases_case` (SQLite's ALTER TABLE by copy) dropped the text index's triggers:
    put them back and rebuild the index."""
    from django.db import connections

    from . import text_search

    text_search.ensure(connections[using])


class CasesConfig(AppConfig):
    name = "gridgov.cases"
    label = "cases"
    verbose_name = _("cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers, scoping  # noqa: F401  (registers the receivers and the scoping rules)

        post_migrate.connect(_text_search_triggers, sender=self, dispatch_uid="cases.text_search_triggers")
