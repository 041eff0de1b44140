from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "gridgov.accounts"
    label = "accounts"
    verbose_name = _("People and roles")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import scoping  # noqa: F401  (registers the scoping rules)
        from .middleware import mark_renewed

        user_logged_in.connect(mark_renewed, dispatch_uid="gridgov.session_renewed")
