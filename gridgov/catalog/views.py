from django.http import HttpRequest, HttpResponse


def _pending(request: HttpRequest, **kwargs) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")


items = rules = calendar = _pending
