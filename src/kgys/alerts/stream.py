"""The live stream of alert changes to a console, over a WebSocket: ``/api/v1/alerts/stream?after=N``.

The console first reads the queue (``GET /api/v1/alerts/queue``, which names the newest event number ``seq``),
then opens the stream with ``after=seq``: it is sent, in order, every event after that number that its user may
see — first those already stored, then each as it comes — as ``{"type": "event", "seq": …, "data": …}``. After a
network blip it reconnects with the last number it saw and is sent what it missed; nothing is lost and nothing
is sent twice. When the events it missed are no longer kept it is told ``{"type": "resync"}`` and reloads the
queue. Every heartbeat interval, whether or not events flow, it gets ``{"type": "heartbeat", "seq": …}``; at each
heartbeat the credential is checked again, and a user signed out, disabled or stripped of the right is cut off
(close code 4401/4403).

While a console is connected its session is a row of ``console_sessions`` (:mod:`kgys.alerts.consoles`): opened
when it connects, touched at each heartbeat (also while events flow), closed when it goes; the supervisor's
board shows who is connected.

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
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import func, select

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import consoles
from kgys.db import reading
from kgys.errors import AuthenticationError
from kgys.events import bus
from kgys.events.bus import Published
from kgys.events.hub import Subscription
from kgys.events.models import Event
from kgys.runtime import Runtime
from kgys.web.deps import credential
from kgys.web.push import Push

log = logging.getLogger(__name__)

router = APIRouter()

TOPICS = frozenset({"alert"})
UNAUTHORISED, FORBIDDEN, LAGGING = 4401, 4403, 4408


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def _who(ws: WebSocket, rt: Runtime) -> tuple[Actor | None, int]:
    """The actor behind the connection's credential, or None with the close code to send."""
    try:
        with reading(rt.sessions) as session:
            found = credential(ws, session)
    except AuthenticationError:
        return None, UNAUTHORISED
    if found is None:
        return None, UNAUTHORISED
    actor, login = found
    if login is not None and not _same_origin(ws):
        return None, FORBIDDEN
    if not actor.can(Perm.ALERTS_READ):
        return None, FORBIDDEN
    return actor, 0


def _server() -> str:
    """This server process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _opened(rt: Runtime, actor: Actor, remote: str) -> int:
    """Open the console's session; its id."""
    with rt.sessions.begin() as session:
        return consoles.open_session(session=session, actor=actor, server=_server(), remote=remote)


def _beat(ws: WebSocket, rt: Runtime, session_id: int) -> tuple[Actor | None, int]:
    """At a heartbeat: the credential checked again and, while it holds, the console's session touched."""
    actor, code = _who(ws, rt)
    if actor is not None:
        with rt.sessions.begin() as session:
            consoles.touch(session=session, session_id=session_id)
    return actor, code


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
    def __init__(self, ws: WebSocket, actor: Actor, rt: Runtime, session_id: int) -> None:
        self.ws, self.actor, self.rt, self.session_id = ws, actor, rt, session_id
        self.sent = 0

    async def send(self, event: Published) -> None:
        if event.seq <= self.sent:
            return
        self.sent = event.seq
        if event.topic in TOPICS and event.visible_to(self.actor.scope):
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
        actor, code = await asyncio.to_thread(_beat, self.ws, self.rt, self.session_id)
        if actor is None:
            return code
        self.actor = actor
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
    """See the module."""
    rt: Runtime = ws.app.state.runtime
    push: Push = ws.app.state.push
    actor, code = await asyncio.to_thread(_who, ws, rt)
    if actor is None:
        await ws.close(code=code)
        return
    await ws.accept()
    remote = f"{ws.client.host}:{ws.client.port}" if ws.client else ""
    hub = await push.hub()
    sub = hub.subscribe()  # before reading what is stored: what commits meanwhile comes through the queue
    receiver = asyncio.create_task(_drain(ws))
    session_id: int | None = None
    try:
        session_id = await asyncio.to_thread(_opened, rt, actor, remote)
        console = _Console(ws, actor, rt, session_id)
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
