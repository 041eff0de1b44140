from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "gridgov.assessment"
    label = "assessment"
    verbose_name = _("assessment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The navigation's link to the ranking, for leaders, grid heads, operators and departments.
        from gridgov.core.nav import provide_link

        from .views import nav_link

        provide_link(nav_link)
