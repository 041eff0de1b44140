from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "gridgov.mediation"
    label = "mediation"
    verbose_name = _("people's mediation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.cases.overview import provide_figures

        from . import receivers, scoping  # noqa: F401  (scoping rules; disputes follow grid adjustments)
        from .selectors import DisputesReceived, DisputesSettled

        # The subtree overview counts, per child grid, the disputes received and settled this month.
        provide_figures(DisputesReceived())
        provide_figures(DisputesSettled())
        # The navigation's link to the pages, for those who work on or oversee mediation.
        from gridgov.core.nav import provide_link

        from .views import nav_link

        provide_link(nav_link)
