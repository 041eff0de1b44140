from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "gridgov.registry"
    label = "registry"
    verbose_name = _("registry")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.grids.signals import provide_map_figures

        from . import receivers, scoping  # noqa: F401  (registers the grid receiver and the scoping rules)
        from .api import FiguresForMap

        # The grid map shows the registry's figures without knowing the registry (grids sit below it).
        provide_map_figures(FiguresForMap())
