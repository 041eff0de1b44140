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
        from gridgov.core.nav import provide_case_link, provide_link

        from .views import case_link, nav_link

        provide_link(nav_link)
        # A case of the disputes module is taken into mediation from its page.
        provide_case_link(case_link)
        # What the inbox says of a dispute assigned to a mediator, or referred up to a committee.
        from django.urls import reverse

        from gridgov.cases.notify import provide_kind

        def dispute_page(data: dict) -> str:
            return reverse("mediation:dispute", args=[data["number"]])

        provide_kind(
            "dispute_assigned", _("Dispute %(number)s is yours to mediate (%(committee)s)."), dispute_page
        )
        provide_kind(
            "dispute_referred",
            _("Dispute %(number)s was referred up to %(committee)s: please assign it."),
            dispute_page,
        )
