"""The API's contract: the one shape of every error, and the error statuses the OpenAPI document declares.

Every error of the API is an :class:`ErrorOut`. :func:`install` makes the app's OpenAPI document declare,
on every operation under ``/api/v1``, each error status it can answer, with that schema:

- 405, 413 and 503 on every operation: they come from the transport (routing, the body limit, a busy
  database), whatever the operation does;
- 401 and 403 where the caller must be signed in (the operation depends on the caller's identity);
- 404 where the path names an object (a list filtering by an object declares it on its route);
- 409 on the operations that change something;
- 422 where the operation takes parameters or a body.

An operation that can answer something more declares it on its route with ``responses=errors(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.requests import Request

from kgys.web.deps import caller, optional_principal

API_PREFIX = "/api/v1/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class FieldProblem(BaseModel):
    """One problem with one input field (for imports, of one row)."""

    field: str = Field(description="The field (or import column) at fault; `body` for the body as a whole")
    message: str
    row: int | None = Field(default=None, description="Import files only: the row, counting the header as 1")
    value: str | None = Field(default=None, description="The value found, where it helps to show it")


class ErrorDetail(BaseModel):
    """What went wrong."""

    type: str = Field(description="The kind of error: AuthenticationError, PermissionDenied, NotFound, "
                                  "MethodNotAllowed, Conflict, TooLarge, ValidationFailed, Unavailable")
    message: str
    fields: list[FieldProblem] | None = Field(default=None, description="Invalid input: every field at fault")


class ErrorOut(BaseModel):
    """The body of every error answer of the API."""

    error: ErrorDetail


def error_body(kind: str, message: str, fields: Iterable[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of every API error (validated against :class:`ErrorOut`)."""
    problems = [FieldProblem.model_validate(f) for f in fields or ()]
    out = ErrorOut(error=ErrorDetail(type=kind, message=message, fields=problems or None))
    return out.model_dump(mode="json", exclude_none=True)


def error_json(kind: str, message: str) -> bytes:
    """An error body as JSON bytes, for answers sent below the application (the body limit)."""
    return ErrorOut(error=ErrorDetail(type=kind, message=message)).model_dump_json(exclude_none=True).encode()


# The ``type`` of errors raised by routing and the HTTP machinery rather than by kgys itself.
HTTP_TYPES = {
    400: "BadRequest",
    401: "AuthenticationError",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "TooLarge",
    422: "ValidationFailed",
    503: "Unavailable",
}


def http_type(status: int) -> str:
    """The error ``type`` of an HTTP status raised outside kgys's own error tree."""
    if status in HTTP_TYPES:
        return HTTP_TYPES[status]
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "HTTPError"


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


# status → (description, response headers)
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("Not signed in: no token, or an invalid or expired one (or, for a token request, wrong credentials)",
          {"WWW-Authenticate": _header("`Bearer`")}),
    403: ("The caller's role does not allow this, or a cookie session sent no CSRF token", {}),
    404: ("No such object, or one outside the caller's scope: the two are answered alike", {}),
    405: ("The path does not support this method", {"Allow": _header("The methods the path supports")}),
    409: ("A natural key is already taken, or the object changed meanwhile (a stale `version`)", {}),
    410: ("Gone: a one-time link used already or expired, or what it led to deleted", {}),
    413: ("The request body is over its limit (`web.max_body_mb`; imports `web.max_upload_mb`)",
          {"Connection": _header("`close`")}),
    422: ("Invalid input: `error.fields` names every field at fault", {}),
    503: ("The service is busy or its database unavailable; try again later",
          {"Retry-After": _header("Seconds to wait before trying again")}),
}
TRANSPORT = (405, 413, 503)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer ``statuses`` beyond those :func:`install` works out."""
    return {status: {"model": ErrorOut, "description": ERRORS[status][0]} for status in statuses}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def route_errors(route: APIRoute, method: str) -> set[int]:
    """The error statuses one operation can answer, told from its method, parameters and dependencies."""
    found = set(TRANSPORT)
    dependant = route.dependant
    calls = set(_calls(dependant))
    if optional_principal in calls or caller in calls:
        found |= {401, 403}
        if method not in SAFE_METHODS:
            found.add(409)
    if dependant.path_params:
        found.add(404)
    if dependant.path_params or dependant.query_params or dependant.header_params or route.body_field:
        found.add(422)
    return found


def _response(status: int) -> dict[str, Any]:
    description, headers = ERRORS[status]
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    if headers:
        out["headers"] = headers
    return out


def declare_errors(app: FastAPI, doc: dict[str, Any]) -> None:
    """Add the error answers of every ``/api/v1`` operation to the OpenAPI document ``doc``, in place."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _error_schemas().items():
        schemas.setdefault(name, schema)
    security = doc["components"].setdefault("securitySchemes", {})
    security.setdefault("bearer", {"type": "http", "scheme": "bearer",
                                   "description": "A token from `POST /api/v1/auth/token`"})
    security.setdefault("device", {"type": "http", "scheme": "device",
                                   "description": "A registered device's token (`Authorization: Device …`)"})
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        path = ctx.path_format or ""
        if not (isinstance(route, APIRoute) and route.include_in_schema and path.startswith(API_PREFIX)):
            continue
        for method in sorted(ctx.methods or ()):
            operation = doc["paths"][path][method.lower()]
            statuses = route_errors(route, method)
            if 401 in statuses:
                operation.setdefault("security", [{"bearer": []}])
            responses = operation["responses"]
            for status in sorted(statuses | {int(s) for s in responses if s.isdigit() and int(s) in ERRORS}):
                responses[str(status)] = _response(status)
    used = repr(doc["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in used:
            schemas.pop(name, None)


def _error_schemas() -> dict[str, Any]:
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})
    return {**defs, "ErrorOut": schema}


def install(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document declare the error answers of its API operations."""
    declared: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        doc = FastAPI.openapi(app)
        if not declared or declared[0] is not doc:
            declare_errors(app, doc)
            declared[:] = [doc]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(request: Request) -> list[str]:
    """Every method the requested path supports, over all the routes that match it."""
    path = request.url.path
    methods: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        regex = getattr(ctx, "path_regex", None)
        if ctx.methods and regex is not None and regex.match(path):
            methods |= ctx.methods
    return sorted(methods)

