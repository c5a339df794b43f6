"""Request body limits, enforced while the body streams in.

:class:`BodyLimit` is a pure ASGI middleware: it refuses a request whose ``Content-Length`` is over the
limit before reading any of it, and counts the bytes of a body sent without one (chunked transfer) as the
application reads them, refusing it as soon as the count passes the limit. Nothing past the limit is read,
so nothing past it is held in memory.

The limits live in one place, :func:`body_limits`: ``web.max_body_mb`` for every request,
``web.max_upload_mb`` for the import uploads (:data:`UPLOAD_ROUTES`), ``web.max_floor_plan_mb`` (and a little
for the form around the image) for the floor plan uploads (:data:`FLOOR_PLAN_ROUTES`, paths with a site code), and
``web.max_decision_mb`` (and as little) for the scanned judicial decisions (:data:`DECISION_ROUTES`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException

from kgys.config import WebSettings
from kgys.web.contract import error_json

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MB = 1024 * 1024
UPLOAD_ROUTES = frozenset({("POST", "/api/v1/imports"), ("POST", "/import")})
FLOOR_PLAN_ROUTES = ("POST", re.compile(r"^(/api/v1)?/sites/[^/]+/floor-plans$"))
DECISION_ROUTES = ("POST", re.compile(r"^(/api/v1)?/evidence/requests/[0-9]+/decision$"))
FORM_ALLOWANCE = 64 * 1024  # the form fields and multipart boundaries around an uploaded file
# Close the connection after refusing: the client may still be sending the rest of the body.
CLOSE_HEADERS = {"Connection": "close"}


@dataclass(frozen=True)
class BodyLimits:
    """The largest body accepted, in bytes: ``default``, or ``routes[(method, path)]`` for those routes."""

    default: int
    routes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    patterns: tuple[tuple[str, re.Pattern[str], int], ...] = ()  # (method, path pattern, limit)

    def for_request(self, method: str, path: str) -> int:
        """The limit of one request."""
        method, path = method.upper(), path.rstrip("/") or "/"
        for verb, pattern, limit in self.patterns:
            if verb == method and pattern.match(path):
                return limit
        return self.routes.get((method, path), self.default)


def body_limits(web: WebSettings) -> BodyLimits:
    """Every body limit of the HTTP service, from the settings."""
    upload = int(web.max_upload_mb * MB)  # the whole form: the file and the few fields around it
    plan = int(web.max_floor_plan_mb * MB) + FORM_ALLOWANCE
    decision = int(web.max_decision_mb * MB) + FORM_ALLOWANCE
    return BodyLimits(default=int(web.max_body_mb * MB), routes={route: upload for route in UPLOAD_ROUTES},
                      patterns=((FLOOR_PLAN_ROUTES[0], FLOOR_PLAN_ROUTES[1], plan),
                                (DECISION_ROUTES[0], DECISION_ROUTES[1], decision)))


def too_large_message(limit: int) -> str:
    """What a refused client is told."""
    return f"the request body is larger than {size_text(limit)}"


def size_text(limit: int) -> str:
    """A limit in bytes as people read it."""
    if limit >= MB:
        return f"{limit / MB:g} MB"
    return f"{limit} bytes"


class BodyTooLarge(HTTPException):
    """The request body passed its limit while it was being read (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit), headers=dict(CLOSE_HEADERS))
        self.limit = limit
        self.size = size_text(limit)


def too_large_in(exc: BaseException | None) -> BodyTooLarge | None:
    """The :class:`BodyTooLarge` behind ``exc``: itself, its cause, or one in a group of errors (the
    middleware between here and the application may wrap what the body's reader raised)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BodyTooLarge):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((current.__cause__, current.__context__))
    return None


class BodyLimit:
    """Pure ASGI middleware refusing request bodies over their limit with 413, before buffering them."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an over-long declared body at once; count a streamed one as the application reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            log.info("refused %s %s: declared body of %s bytes over %s", scope["method"], scope["path"],
                     declared, limit)
            await self._refuse(send, limit)
            return
        if declared == 0 or (declared is None and not _chunked(scope)):
            await self.app(scope, receive, send)  # no body (a GET, say): nothing to count
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    log.info("refused %s %s: body passed %s bytes while streaming", scope["method"],
                             scope["path"], limit)
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception as exc:
            if started or too_large_in(exc) is None:
                raise
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = error_json("TooLarge", too_large_message(limit))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   *((k.lower().encode(), v.encode()) for k, v in CLOSE_HEADERS.items())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None



def _chunked(scope: Scope) -> bool:
    """Whether the body comes in chunks (its length unknown until its end)."""
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", ()))
