from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from gridgov.api import api
from gridgov.cases.views.lists import home

admin.site.site_header = _("gridgov administration")
admin.site.site_title = _("gridgov")
admin.site.index_title = _("Administration")


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and monitors: the process answers (no database, no session)."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", home, name="home"),
    path("accounts/", include("gridgov.accounts.urls")),
    path("grids/", include("gridgov.grids.urls")),
    path("cases/", include("gridgov.cases.urls")),
    path("catalog/", include("gridgov.catalog.urls")),
    path("registry/", include("gridgov.registry.urls")),
    path("fieldwork/", include("gridgov.fieldwork.urls")),
    path("mediation/", include("gridgov.mediation.urls")),
    path("community/", include("gridgov.community.urls")),
    path("command/", include("gridgov.command.urls")),
    path("assessment/", include("gridgov.assessment.urls")),
    path("open311/", include("gridgov.open311.urls")),
    path("m/", include("gridgov.mobile.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
