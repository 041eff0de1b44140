from django.contrib import admin
from django.urls import include, path

from gridgov.accounts.views import home
from gridgov.api import api

admin.site.site_header = admin.site.site_title = "gridgov"

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("gridgov.accounts.urls")),
    path("grids/", include("gridgov.grids.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
