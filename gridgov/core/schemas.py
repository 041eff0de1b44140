"""The API's answer to a refusal, for every app: `Error`, and the 422 of bad input (`ValidationError`). The
exception handlers in gridgov/api.py send them; routers declare them with `READ_ERRORS` / `WRITE_ERRORS`, so
the OpenAPI document names every answer a client can get."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from .errors import Refusal

# Database ids: positive and within a signed 64-bit integer.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A grid code as a client names one (a filter, a form field): never a NUL, which PostgreSQL text cannot hold.
GridCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00]*$")]


def _no_null(schema: dict[str, Any]) -> None:
    """Drop the `null` branch from a field's JSON schema."""
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def optional(**constraints: Any) -> Any:
    """An optional input: left out, never null, as a form or a query string cannot say null. (Validation
    still takes None, so errors keep their plain location: `("form", "lat")`.)"""
    return Field(None, json_schema_extra=_no_null, **constraints)


class PageQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
    # Keyset paging: the `next_before` of the previous page.
    before: Id | None = optional()


class Error(Schema):
    """Every refusal: a stable `code`, a translated `message`, and the input at fault in `field` (may be
    empty). `detail` repeats the message for clients written against django-ninja's default shape."""

    code: str
    message: str
    field: str = ""
    detail: str


class FieldProblem(Schema):
    field: str
    message: str
    loc: list[str | int]
    type: str


class ValidationError(Error):
    """422: bad input. From the case engine (one field) or from request parsing (`errors`, one per problem)."""

    errors: list[FieldProblem] = []


READ_ERRORS: dict[int, Any] = {401: Error, 403: Error, 404: Error, 422: ValidationError}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: Error}


def error_body(exc: Refusal) -> dict[str, Any]:
    """The answer to a refusal (the API's exception handler sends it with `exc.status`)."""
    message = str(exc.message)
    return {"code": exc.code, "message": message, "field": exc.field, "detail": message}
