"""Refusing what no database column can hold: PostgreSQL text cannot contain NUL (U+0000), and a NUL reaching
a query is a server error there. An API call carrying one in its path, a query or a form value, or a JSON
string, is refused with 422 naming the field, before anything reads it. (The pages' forms refuse it themselves:
Django's form fields carry ProhibitNullCharactersValidator.)"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .errors import Invalid
from .schemas import error_body

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_field(request: HttpRequest) -> str | None:
    if NUL in request.path_info:
        return "path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in v for v in values):
            return key.replace(NUL, "")
    if request.method in ("POST", "PUT", "PATCH"):
        if request.content_type in FORM_TYPES:
            for key, values in request.POST.lists():
                if NUL in key or any(NUL in v for v in values):
                    return key.replace(NUL, "")
        elif request.content_type == "application/json" and b"\\u0000" in request.body:
            return "body"
    return None


class NulRefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            field = _nul_field(request)
            if field is not None:
                message = _("%(field)s holds a character that cannot be stored (NUL).") % {"field": field}
                return JsonResponse(error_body(Invalid(message, field=field)), status=Invalid.status)
        return self.get_response(request)
