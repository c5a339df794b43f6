"""Admission: how many requests the server takes at once, and a prompt 503 for the rest.

Requests wait for a place among ``max_in_flight``; one that has waited ``queue_seconds`` is answered
``503 Service Unavailable`` with ``Retry-After`` instead of hanging, so an overloaded server sheds load
visibly and keeps answering the requests it took. Static files do not count.

The server admits as many requests as it has worker threads (``web.threads``), and its database pool holds
more connections than that (:func:`kgys.db.make_engine`). Admitting more would starve it: a request holds
its connection from its first query to its end but needs a thread for each step between, so with more
requests than threads every thread can end up waiting for a connection held by a request that waits for a
thread. Waiting here costs no thread and no connection.

A request leaves its place when its answer starts: its unit of work has ended by then, and the body of a long
answer (a recorded segment, an export) is sent at the pace of the client's connection, which must not keep
other requests out. An answer whose body is read from the database as it is sent (the audit log's export)
holds a database connection meanwhile, so it keeps its place to the end (:func:`keep_place`).
"""

from __future__ import annotations

import asyncio
import json
import logging

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

EXEMPT_PREFIXES = ("/static/",)
KEEP_PLACE = "kgys.keep_place"


def keep_place(scope: Scope) -> None:
    """Keep the request's place until its answer's body has been sent, not only until the answer starts."""
    scope[KEEP_PLACE] = True


def busy_body(message: str) -> bytes:
    """The JSON error body of a 503."""
    return json.dumps({"error": {"type": "Busy", "message": message}}).encode()


class Admission:
    """Pure ASGI middleware: at most ``max_in_flight`` requests inside, the others wait up to ``queue_seconds``."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, queue_seconds: float, retry_after: int = 1) -> None:
        self.app = app
        self.queue_seconds = queue_seconds
        self.retry_after = retry_after
        self._places = asyncio.Semaphore(max_in_flight)
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            if self._places.locked():  # only a request that must wait pays for a timer
                await asyncio.wait_for(self._places.acquire(), self.queue_seconds)
            else:
                await self._places.acquire()
        except TimeoutError:
            self.shed += 1
            log.warning("server busy: request to %s answered 503 after %.1f s in the queue (%s so far)",
                        scope.get("path"), self.queue_seconds, self.shed)
            body = busy_body("the server is busy; try again shortly")
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(self.retry_after).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        held = True

        async def send_then_leave(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start" and not scope.get(KEEP_PLACE):
                held = False
                self._places.release()
            await send(message)

        try:
            await self.app(scope, receive, send_then_leave)
        finally:
            if held:
                self._places.release()


def size_thread_pool(threads: int) -> None:
    """Run request handlers on ``threads`` worker threads (call inside the running event loop)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
