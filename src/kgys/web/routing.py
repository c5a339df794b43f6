"""Routes that finish their request on the worker thread their handler runs on.

FastAPI runs a plain (``def``) handler on a worker thread, then validates its return value against the response
model on another, serialises it on the event loop, and ends the request's unit of work (:func:`kgys.web.deps.db`)
on a third worker thread when it writes, or on the event loop when it reads. Each hand-off costs the interpreter
lock twice, and a writing request holds the database's write lock (SQLite) or its row locks (PostgreSQL) across
all of them.

:class:`Router` makes a plain handler do the rest itself, in the order FastAPI would: the value is checked and
serialised as the route's response model says, then the unit of work ends (committed), all on the handler's thread,
and the answer goes back as a finished :class:`~starlette.responses.Response`. The OpenAPI document is unchanged:
the route keeps its response model. A handler that raises ends nothing; its unit of work is rolled back as
before. Routes this cannot serialise alike (another response class, include/exclude options) commit early only when
their handler answers with a Response of its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import get_typed_return_annotation, get_typed_signature
from fastapi.exceptions import ResponseValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from kgys.web.deps import finish_unit_of_work

_PLAIN_OPTIONS = (("response_model_include", None), ("response_model_exclude", None),
                  ("response_model_by_alias", True), ("response_model_exclude_unset", False),
                  ("response_model_exclude_defaults", False), ("response_model_exclude_none", False))
_NO_BODY = frozenset({204, 304})


def _model(endpoint: Callable[..., Any], response_model: Any) -> Any:
    """The response model FastAPI gives the route: the one named, else the handler's return annotation unless that
    is a Response (None: no model)."""
    if not isinstance(response_model, DefaultPlaceholder):
        return response_model
    annotation = get_typed_return_annotation(endpoint)
    if annotation is None or (inspect.isclass(annotation) and issubclass(annotation, Response)):
        return None
    return annotation


def _serialiser(endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[[Any, Any], Response] | None:
    """How the route's return value becomes its answer as FastAPI would make it, or None when the route's options
    ask for more than the plain case (FastAPI then does it after the handler, as always)."""
    if not isinstance(kwargs.get("response_class", DefaultPlaceholder(None)), DefaultPlaceholder):
        return None
    if any(kwargs.get(name, default) != default for name, default in _PLAIN_OPTIONS):
        return None
    model = _model(endpoint, kwargs.get("response_model", DefaultPlaceholder(None)))
    status = kwargs.get("status_code")
    if model is None or status in _NO_BODY:
        return None
    adapter: TypeAdapter[Any] = TypeAdapter(model)

    def serialise(value: Any, sub: Any) -> Response:
        try:
            checked = adapter.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            raise ResponseValidationError(errors=exc.errors(include_url=False), body=value) from None
        code = sub.status_code if isinstance(sub, Response) and sub.status_code else status
        response = Response(adapter.dump_json(checked, by_alias=True), media_type="application/json",
                            status_code=code or 200)
        if isinstance(sub, Response):
            response.headers.raw.extend(sub.headers.raw)
        return response

    return serialise


def finishing(endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[..., Any]:
    """``endpoint`` made to serialise its answer and end the request's unit of work on its own thread."""
    serialise = _serialiser(endpoint, kwargs)
    sub_name = next((p.name for p in get_typed_signature(endpoint).parameters.values()
                     if inspect.isclass(p.annotation) and issubclass(p.annotation, Response)), None)

    @functools.wraps(endpoint)
    def run(*args: Any, **params: Any) -> Any:
        value = endpoint(*args, **params)
        if not isinstance(value, Response):
            if serialise is None:
                return value
            value = serialise(value, params.get(sub_name) if sub_name else None)
        finish_unit_of_work()
        return value

    return run


class Router(APIRouter):
    """An APIRouter whose plain handlers finish their requests on their own thread (see the module)."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not (inspect.iscoroutinefunction(endpoint) or inspect.isgeneratorfunction(endpoint)
                or inspect.isasyncgenfunction(endpoint)):
            endpoint = finishing(endpoint, kwargs)
        super().add_api_route(path, endpoint, **kwargs)
