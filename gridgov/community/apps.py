from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "gridgov.community"
    label = "community"
    verbose_name = _("community")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.cases.overview import provide_figures
        from gridgov.core.nav import provide_link

        from . import scoping  # noqa: F401  (registers the scoping rules of the community)
        from .selectors import VolunteerHours
        from .views import nav_link

        # The subtree overview shows the volunteer hours of each grid beside its cases.
        provide_figures(VolunteerHours())
        provide_link(nav_link)
