from django.http import HttpRequest, HttpResponse
from django.urls import path


def _pending(request: HttpRequest, **kwargs) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")


urlpatterns: list = []
urlpatterns += [
    path("<str:number>/", _pending, name="detail"),
]
