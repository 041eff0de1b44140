from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommandConfig(AppConfig):
    name = "gridgov.command"
    label = "command"
    verbose_name = _("command centre")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each part of the command centre registers its navigation links, case-page panels, inbox kinds and
        # subscribers to the outbox.
        from .views import incidents, video, wall

        wall.register()
        video.register()
        incidents.register()
