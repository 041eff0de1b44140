"""Under /open311/: discovery, the GeoReport v2 endpoint at v2/, and the workbench's page of keys and webhooks."""

from django.urls import path, re_path

from . import views

app_name = "open311"

FMT = r"\.(?P<fmt>[A-Za-z0-9]+)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    path("v2/", views.root, name="root"),
    re_path(r"^v2/services" + FMT, views.service_list, name="services"),
    # The singular is an alias an old, widely copied client uses (standards.md §A.6.2).
    re_path(r"^v2/services?/(?P<code>[^/]+?)" + FMT, views.service_definition, name="service"),
    re_path(r"^v2/requests" + FMT, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<number>[^/]+?)" + FMT, views.one_request, name="request"),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + FMT, views.token, name="token"),
    re_path(r"^v2/servicerequestupdates" + FMT, views.request_updates, name="updates"),
    path("v2/media/<int:pk>", views.media, name="media"),
    path("keys/", views.keys, name="keys"),
    path("keys/webhooks/<int:pk>/", views.deliveries, name="deliveries"),
]
