from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "gridgov.grids"
    label = "grids"
    verbose_name = _("Grids")

    def ready(self) -> None:
        from . import scoping  # noqa: F401  (registers the scoping rules of versions and adjustments)
