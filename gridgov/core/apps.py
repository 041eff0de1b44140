from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gridgov.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # The calendar drops its process cache on changes of its rows: connect those signals everywhere.
        # audit registers the audit log's scoping rule; idempotency its housekeeping job.
        from . import audit, calendar, idempotency  # noqa: F401
