from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobileConfig(AppConfig):
    name = "gridgov.mobile"
    label = "mobile"
    verbose_name = _("phone app")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.core import housekeeping

        from .phone import purge_codes

        housekeeping.register(purge_codes)
