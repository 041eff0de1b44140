from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldworkConfig(AppConfig):
    name = "gridgov.fieldwork"
    label = "fieldwork"
    verbose_name = _("fieldwork")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.cases.overview import provide_figures
        from gridgov.core import housekeeping
        from gridgov.core.nav import provide_link

        from . import scoping  # noqa: F401  (registers the scoping rules of fieldwork)
        from .selectors import OverdueInspections
        from .services import generate_daily
        from .views import nav_link

        # `gridgov sweep` makes the day's inspection tasks.
        housekeeping.register(generate_daily)
        # The subtree overview counts the overdue inspections of each grid beside its cases.
        provide_figures(OverdueInspections())
        provide_link(nav_link)
