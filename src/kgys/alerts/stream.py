"""The live stream of changes to a console, over a WebSocket: ``/api/v1/alerts/stream?after=N`` (alert changes,
the operator's console) and ``/api/v1/events/stream?after=N&topics=unit,incident,assignment`` (any of the topics
``alert``, ``unit``, ``incident``, ``assignment``: the dispatch map, a unit's device). One implementation serves
both.

The console first reads its data (``GET /api/v1/alerts/queue``, the dispatch board), which names the newest event
number ``seq``, then opens the stream with ``after=seq``: it is sent, in order, every event after that number that
its user may see — first those already stored, then each as it comes — as ``{"type": "event", "seq": …, "topic": …,
"data": …}``. After a network blip it reconnects with the last number it saw and is sent what it missed; nothing is
lost and nothing is sent twice. When the events it missed are no longer kept it is told ``{"type": "resync"}`` and
reloads its data. Every heartbeat interval, whether or not events flow, it gets ``{"type": "heartbeat", "seq": …}``;
at each heartbeat the credential is checked again, and a user signed out, disabled or stripped of the right is cut
off (close code 4401/4403).

Who is sent what: ``alert`` events need ``alerts.read``; ``unit``, ``incident`` and ``assignment`` events need
``dispatch.read``; each only within the user's scope. A field login (``units.report`` without ``dispatch.read``)
is sent the ``unit`` and ``assignment`` events of its own unit only (the unit it is the field login of, looked up
at connect and again at every heartbeat). Asking for a topic the user may not read is refused (403); an unknown
topic is refused with 400 naming it (``topics``). Without ``topics`` the events stream sends the dispatch topics
the user may read.

While a console is connected its session is a row of ``console_sessions`` (:mod:`kgys.alerts.consoles`): opened
when it connects, touched at each heartbeat (also while events flow), closed when it goes; the supervisor's
board shows who is connected. The dispatch map counts as a console; a field login's device does not.

A browser is known by its session cookie and must come from this server's own pages (its ``Origin``); other
clients send a bearer token. A console that falls far behind is closed with 4408 and reconnects as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import consoles
from kgys.db import reading
from kgys.dispatch import events as dispatch_events
from kgys.dispatch.models import Unit
from kgys.errors import AuthenticationError
from kgys.events import bus
from kgys.events.bus import Published
from kgys.events.hub import Subscription
from kgys.events.models import Event
from kgys.runtime import Runtime
from kgys.web.contract import error_body
from kgys.web.deps import credential
from kgys.web.push import Push
from kgys.web.routing import Router

log = logging.getLogger(__name__)

router = Router()

ALERT = "alert"
DISPATCH_TOPICS = ("unit", "incident", "assignment")
TOPICS = (ALERT, *DISPATCH_TOPICS)
UNAUTHORISED, FORBIDDEN, LAGGING, BAD_REQUEST = 4401, 4403, 4408, 4400


def may_read(actor: Actor, topic: str) -> bool:
    """Whether ``actor`` may be sent events of ``topic`` at all (a field login: those of its own unit)."""
    if topic == ALERT:
        return actor.can(Perm.ALERTS_READ)
    if topic in dispatch_events.TOPICS:
        return actor.can(Perm.DISPATCH_READ) or actor.can(Perm.UNITS_REPORT)
    return actor.can(Perm.DISPATCH_READ)


@dataclass(frozen=True)
class Reader:
    """Who is connected and what they asked for: decides, event by event, what they are sent."""

    actor: Actor
    topics: frozenset[str]
    own_unit: str | None = None

    @property
    def is_console(self) -> bool:
        """An operator's screen (kept in ``console_sessions``), not a field login's device."""
        return self.actor.can(Perm.ALERTS_READ) or self.actor.can(Perm.DISPATCH_READ)

    def sees(self, event: Published) -> bool:
        """Whether the event goes to this reader (see the module)."""
        if event.topic not in self.topics:
            return False
        if event.topic == ALERT:
            return self.actor.can(Perm.ALERTS_READ) and event.visible_to(self.actor.scope)
        if self.actor.can(Perm.DISPATCH_READ):
            return event.visible_to(self.actor.scope)
        return (self.own_unit is not None and self.actor.can(Perm.UNITS_REPORT)
                and dispatch_events.unit_of(event.topic, event.payload) == self.own_unit)


def _own_unit(session: Session, actor: Actor) -> str | None:
    """The call sign of the unit a field login speaks for (None for everyone else)."""
    if actor.can(Perm.DISPATCH_READ) or not actor.can(Perm.UNITS_REPORT) or actor.id is None:
        return None
    return session.scalar(select(Unit.call_sign).where(Unit.field_user_id == actor.id))


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def _who(ws: WebSocket, rt: Runtime, topics: frozenset[str]) -> tuple[Reader | None, int]:
    """The reader behind the connection's credential, or None with the close code to send. No ``topics``: the
    dispatch topics the user may read."""
    try:
        with reading(rt.sessions) as session:
            found = credential(ws, session)
            own = None if found is None else _own_unit(session, found[0])
    except AuthenticationError:
        return None, UNAUTHORISED
    if found is None:
        return None, UNAUTHORISED
    actor, login = found
    if login is not None and not _same_origin(ws):
        return None, FORBIDDEN
    topics = topics or frozenset(t for t in DISPATCH_TOPICS if may_read(actor, t))
    if not topics or not all(may_read(actor, t) for t in topics):
        return None, FORBIDDEN
    return Reader(actor, topics, own), 0


def _server() -> str:
    """This server process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _opened(rt: Runtime, actor: Actor, remote: str) -> int:
    """Open the console's session; its id."""
    with rt.sessions.begin() as session:
        return consoles.open_session(session=session, actor=actor, server=_server(), remote=remote)


def _beat(ws: WebSocket, rt: Runtime, topics: frozenset[str], session_id: int | None) -> tuple[Reader | None, int]:
    """At a heartbeat: the credential checked again and, while it holds, the console's session touched."""
    reader, code = _who(ws, rt, topics)
    if reader is not None and session_id is not None:
        with rt.sessions.begin() as session:
            consoles.touch(session=session, session_id=session_id)
    return reader, code


def _closed(rt: Runtime, session_id: int) -> None:
    """Close the console's session."""
    with rt.sessions.begin() as session:
        consoles.close_session(session=session, session_id=session_id)


def _stored_after(rt: Runtime, after: int) -> tuple[list[Published], bool]:
    """Events after ``after`` still stored (a first batch), and whether some after it are no longer kept."""
    with reading(rt.sessions) as session:
        events = bus.read_after(session, after)
        oldest = session.scalar(select(func.min(Event.seq)))
    gone = after > 0 and oldest is not None and oldest > after + 1
    return events, gone


class _Console:
    def __init__(self, ws: WebSocket, reader: Reader, rt: Runtime, session_id: int | None) -> None:
        self.ws, self.reader, self.rt, self.session_id = ws, reader, rt, session_id
        self.sent = 0

    async def send(self, event: Published) -> None:
        if event.seq <= self.sent:
            return
        self.sent = event.seq
        if self.reader.sees(event):
            await self.ws.send_text(event.message)

    async def catch_up(self, after: int) -> None:
        """Send what is stored after ``after``, batch by batch."""
        self.sent = after
        events, gone = await asyncio.to_thread(_stored_after, self.rt, after)
        if gone:
            await self.ws.send_text(json.dumps({"type": "resync"}))
        while events:
            for event in events:
                await self.send(event)
            if len(events) < 500:
                return
            events, _ = await asyncio.to_thread(_stored_after, self.rt, self.sent)

    async def beat(self) -> int:
        """Check the credential again, touch the session and send a heartbeat; the close code (0: carry on)."""
        reader, code = await asyncio.to_thread(_beat, self.ws, self.rt, self.reader.topics, self.session_id)
        if reader is None:
            return code
        self.reader = reader
        await self.ws.send_text(json.dumps({"type": "heartbeat", "seq": self.sent}))
        return 0

    async def follow(self, sub: Subscription, heartbeat: float) -> int:
        """Send live events until the client goes or must go; the close code (0: it went). A heartbeat is due
        every ``heartbeat`` seconds whether or not events flow."""
        loop = asyncio.get_running_loop()
        due = loop.time() + heartbeat
        while True:
            try:
                event = await asyncio.wait_for(sub.queue.get(), max(0.0, due - loop.time()))
            except TimeoutError:
                event = None
            if event is not None:
                await self.send(event)
            if sub.lagging and (event is None or sub.queue.empty()):
                return LAGGING
            if loop.time() >= due:
                if code := await self.beat():
                    return code
                due = loop.time() + heartbeat


@router.websocket("/alerts/stream")
async def alert_stream(ws: WebSocket, after: int = 0) -> None:
    """The alert changes (see the module)."""
    await _serve(ws, after, frozenset({ALERT}))


@router.websocket("/events/stream")
async def event_stream(ws: WebSocket, after: int = 0, topics: str = "") -> None:
    """The changes of the topics asked for (see the module)."""
    asked = [t.strip() for t in topics.split(",") if t.strip()]
    unknown = [t for t in asked if t not in TOPICS]
    if len(topics) > 200:
        await _refuse(ws, "at most 200 characters", topics)
        return
    if unknown:
        await _refuse(ws, f"unknown topic {', '.join(unknown)[:100]}: give some of {', '.join(TOPICS)}", topics)
        return
    await _serve(ws, after, frozenset(asked))


async def _refuse(ws: WebSocket, message: str, value: str) -> None:
    """Refuse the connection as a bad request naming ``topics`` (HTTP 400 where the server can answer so before
    accepting, else accepted and closed with 4400)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse(error_body("ValidationFailed", message, [
            {"field": "topics", "message": message, "value": value[:200]}]), status_code=400))
        return
    await ws.accept()
    await ws.close(code=BAD_REQUEST, reason=message[:120])


async def _serve(ws: WebSocket, after: int, topics: frozenset[str]) -> None:
    rt: Runtime = ws.app.state.runtime
    push: Push = ws.app.state.push
    reader, code = await asyncio.to_thread(_who, ws, rt, topics)
    if reader is None:
        await ws.close(code=code)
        return
    await ws.accept()
    remote = f"{ws.client.host}:{ws.client.port}" if ws.client else ""
    hub = await push.hub()
    sub = hub.subscribe()  # before reading what is stored: what commits meanwhile comes through the queue
    receiver = asyncio.create_task(_drain(ws))
    session_id: int | None = None
    try:
        if reader.is_console:
            session_id = await asyncio.to_thread(_opened, rt, reader.actor, remote)
        console = _Console(ws, reader, rt, session_id)
        await console.catch_up(max(after, 0))
        follower = asyncio.create_task(console.follow(sub, rt.settings.alerts.stream_heartbeat_seconds))
        done, _ = await asyncio.wait({receiver, follower}, return_when=asyncio.FIRST_COMPLETED)
        if follower in done and (code := follower.result()):
            await ws.close(code=code)
        follower.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        hub.unsubscribe(sub)
        if session_id is not None:
            try:
                await asyncio.to_thread(_closed, rt, session_id)
            except Exception:  # noqa: BLE001 — the session then goes stale, which counts as gone
                log.warning("could not close console session %s", session_id, exc_info=True)
        with contextlib.suppress(Exception):
            await ws.close()


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, so that its going away is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
