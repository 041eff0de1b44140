from django.http import HttpRequest, HttpResponse
from django.urls import path


def _pending(request: HttpRequest, **kwargs) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")


urlpatterns: list = []
home = _pending
urlpatterns += [
    path("", _pending, name="list"),
    path("export.xlsx", _pending, name="export"),
    path("inbox/", _pending, name="inbox"),
]
