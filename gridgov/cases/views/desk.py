from django.http import HttpRequest, HttpResponse
from django.urls import path


def _pending(request: HttpRequest, **kwargs) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")


urlpatterns: list = []
urlpatterns += [
    path("new/", _pending, name="new"),
    path("dispatch/", _pending, name="batch_dispatch"),
    path("merge/", _pending, name="merge"),
    path("overview/", _pending, name="overview"),
]
