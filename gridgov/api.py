"""The JSON API (django-ninja, OpenAPI at /api/docs). Each app contributes a router.

Session authentication: ninja enforces CSRF on unsafe methods for cookie-authenticated calls.

Every refusal answers `{code, message, field, detail}` (`message` translated, `detail` the same text, as
django-ninja's default shape has it): the case engine's refusals (`CaseError`) with their own status, bad input
(422) naming the first bad field, and 401/403/404 from authentication, CSRF and scoping."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError, ValidationErrorContext
from ninja.security import django_auth

from gridgov.assessment.api import router as assessment_router
from gridgov.cases.api import error_body
from gridgov.cases.api import router as cases_router
from gridgov.cases.errors import CaseError
from gridgov.cases.workflow import FIELD_LABELS
from gridgov.command.api import router as command_router
from gridgov.community.api import router as community_router
from gridgov.fieldwork.api import router as fieldwork_router
from gridgov.grids.api import router as grids_router
from gridgov.mediation.api import router as mediation_router
from gridgov.mobile.api import router as mobile_router
from gridgov.registry.api import router as registry_router


class GridgovAPI(NinjaAPI):
    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        """Locations as the client sent them: django-ninja names a query or form field without the schema
        parameter holding it only when the error is on the field itself (`("query", "state")`), not inside
        it (`("query", "filters", "state", 0)`); do it for those too."""
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            flat = getattr(context.model, "__ninja_flatten_map_reverse__", {})
            for error in super().validation_error_from_error_contexts([context]).errors:
                source, *rest = error["loc"]
                for n in range(len(rest) - 1, 1, -1):
                    if tuple(rest[:n]) in flat:
                        rest = [*flat[tuple(rest[:n])], *rest[n:]]
                        break
                errors.append({**error, "loc": (source, *rest)})
        return ValidationError(errors)


api = GridgovAPI(title="gridgov API", version="1", auth=django_auth, urls_namespace="api")
api.add_router("/grids/", grids_router)
api.add_router("/cases/", cases_router)
api.add_router("/fieldwork/", fieldwork_router)
api.add_router("/mediation/", mediation_router)
api.add_router("/command/", command_router)
api.add_router("/assessment/", assessment_router)
api.add_router("/community/", community_router)
api.add_router("/mobile/", mobile_router)
api.add_router("/registry/", registry_router)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "field": "", "detail": message, **extra}, status=status
    )


@api.exception_handler(CaseError)
def case_error(request: HttpRequest, exc: CaseError) -> HttpResponse:
    return api.create_response(request, error_body(exc), status=exc.status)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError) or exc.status_code == 401:
        return _error(request, 401, "unauthorized", _("Sign in first."))
    if exc.status_code == 403 and "CSRF" in exc.message:
        return _error(
            request, 403, "csrf", _("The form's security token is missing or wrong: reload the page.")
        )
    if exc.status_code == 403:
        return _error(request, 403, "forbidden", _("You may not do this."))
    if exc.status_code == 400:
        return _error(request, 400, "bad_request", _("The request could not be read."))
    if exc.status_code == 429:
        return _error(request, 429, "throttled", _("Too many requests: try again later."))
    return _error(request, exc.status_code, "error", str(exc))


def _problem(error: dict[str, Any]) -> str:
    """A translated sentence for one of pydantic's error types."""
    kind = str(error.get("type", ""))
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_too_long", "too_long"):
        return _("This value is too long.")
    if kind in ("string_too_short", "too_short"):
        return _("This value is too short.")
    if kind in ("enum", "literal_error"):
        return _("This value is not one of the allowed choices.")
    if kind.startswith(("greater_than", "less_than")) or kind == "finite_number":
        return _("This value is out of range.")
    if kind.endswith(("_parsing", "_type")):
        return _("This value has the wrong type.")
    return _("This value is not valid.")


def _field(loc: list[Any]) -> str:
    """The input named by an error's location: `(source, name, …)`, where a JSON body adds the name of the
    operation's parameter first (`("body", "payload", "ids", 0)`). What follows the name is an index or
    pydantic's tag of a union member (`constrained-int`), not an input."""
    names = [part for part in loc[1:3] if isinstance(part, str)]
    if not names:
        return ""
    return names[1] if loc[0] == "body" and len(names) > 1 else names[0]


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [
        {
            "field": _field(list(e.get("loc", ()))),
            "message": _problem(e),
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "type": str(e.get("type", "")),
        }
        for e in exc.errors
    ]
    first = problems[0] if problems else {"field": "", "message": _("This value is not valid.")}
    label = FIELD_LABELS.get(str(first["field"]), first["field"])
    message = (
        _("%(field)s: %(problem)s") % {"field": label, "problem": first["message"]}
        if first["field"]
        else first["message"]
    )
    return api.create_response(
        request,
        {
            "code": "invalid",
            "message": message,
            "field": first["field"],
            "detail": message,
            "errors": problems,
        },
        status=422,
    )
