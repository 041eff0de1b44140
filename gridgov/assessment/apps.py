from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "gridgov.assessment"
    label = "assessment"
    verbose_name = _("assessment")
    default_auto_field = "django.db.models.BigAutoField"
