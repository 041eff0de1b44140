from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "gridgov.community"
    label = "community"
    verbose_name = _("community")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import reverse

        from gridgov.cases.notify import provide_kind
        from gridgov.cases.overview import provide_figures
        from gridgov.core.nav import provide_link

        from . import scoping  # noqa: F401  (registers the scoping rules of the community)
        from .selectors import VolunteerHours
        from .views import nav_link

        # The subtree overview shows the volunteer hours of each grid beside its cases.
        provide_figures(VolunteerHours())
        provide_link(nav_link)
        # What the inbox says of a task given to a volunteer's team: it leads to the phone's tasks.
        provide_kind(
            "team_task",
            _("New task for %(team)s: %(title)s"),
            lambda data: f"{reverse('mobile:shell')}#/volunteer",
        )
