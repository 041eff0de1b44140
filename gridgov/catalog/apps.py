from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "gridgov.catalog"
    label = "catalog"
    verbose_name = _("Responsibility list")

    def ready(self) -> None:
        from . import receivers, scoping  # noqa: F401  (connects the receivers, registers the scoping rules)
