from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    name = "gridgov.open311"
    label = "open311"
    verbose_name = _("Open311")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridgov.core.nav import provide_link

        from . import scoping  # noqa: F401  (registers the scoping rules of the app)
        from .views import nav_link

        provide_link(nav_link)
