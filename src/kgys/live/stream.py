"""The low-latency live WebSocket's I/O: its ticket checked when it opens and again while it plays, and the
viewer's queue (:mod:`kgys.live.lowlat`) pumped into it. The route itself is in :mod:`kgys.live.pages`.

A socket is checked like a playlist when it opens: its ``Origin`` (a browser's cookie counts only from this
server's own pages), the ticket's signature and expiry, then, in the database, the sign-in the ticket was issued
to. While it plays, every ``RECHECK_SECONDS``, :class:`Rechecks` checks every open socket of the process
again: each ticket on its own (a signature, no database) and each sign-in once for all the sockets it opened —
a wall of 16 tiles in one browser is one database check every two seconds, not 16. A socket whose ticket or
sign-in no longer holds ends with 4403.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from kgys.db import reading, utcnow
from kgys.errors import KgysError, PermissionDenied
from kgys.live import lowlat, service
from kgys.live.flows import viewing
from kgys.live.tickets import Ticket
from kgys.live.views import request_credential

log = logging.getLogger(__name__)

RECHECK_SECONDS = 2.0
DENIED = 4403


def _ticket(conn: HTTPConnection, camera_id: int, token: str) -> tuple[Ticket, service.Credential]:
    """The socket's live ticket, checked without the database: origin, signature, expiry, bound sign-in."""
    origin = conn.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != conn.headers.get("host", ""):
        raise PermissionDenied("the live stream opens only from this server's pages")
    cred = request_credential(conn)
    ticket = service.check_ticket(key=conn.app.state.runtime.settings.security.secret_key, token=token,
                                  credential=cred, kind="live", camera_id=camera_id, now=utcnow())
    assert cred is not None  # a ticket is bound to a sign-in: check_ticket refuses one without
    return ticket, cred


def socket_ticket(ws: WebSocket, camera_id: int, token: str) -> Ticket:
    """The live ticket of a WebSocket, checked as a playlist request (HMAC, then the sign-in it was issued to)."""
    ticket, cred = _ticket(ws, camera_id, token)
    with reading(ws.app.state.runtime.sessions) as session:
        viewing.check_viewer(session=session, ticket=ticket, credential=cred)
    return ticket


@dataclass(frozen=True)
class _Open:
    ws: WebSocket
    camera_id: int
    token: str


class Rechecks:
    """The open live sockets of this process, checked again every ``interval`` seconds (see the module text)."""

    def __init__(self, interval: float = RECHECK_SECONDS) -> None:
        self.interval = interval
        self.open: dict[lowlat.Viewer, _Open] = {}
        self.task: asyncio.Task[None] | None = None
        self.rounds = self.sign_in_checks = 0  # rounds done, and the database checks made

    def add(self, viewer: lowlat.Viewer, ws: WebSocket, camera_id: int, token: str) -> None:
        """Check this socket from now on, until :meth:`remove`."""
        self.open[viewer] = _Open(ws, camera_id, token)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, viewer: lowlat.Viewer) -> None:
        """The socket closed; the checks stop with the last one."""
        self.open.pop(viewer, None)
        if not self.open and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.open:
            await asyncio.sleep(self.interval)
            watched = [(v, o) for v, o in self.open.items() if v.ended is None]
            if not watched:
                continue
            try:
                refused = await asyncio.to_thread(self._check, watched)
            except Exception:  # the database is away: tried again at the next round, the sockets play on
                log.exception("live sockets: the recheck of %s sockets failed", len(watched))
                continue
            self.rounds += 1
            for viewer, reason in refused:
                viewer.end(DENIED, reason)

    def _check(self, watched: list[tuple[lowlat.Viewer, _Open]]) -> list[tuple[lowlat.Viewer, str]]:
        """The viewers whose ticket or sign-in no longer holds, with the reason (in a worker thread)."""
        refused: list[tuple[lowlat.Viewer, str]] = []
        holders: dict[tuple[str, str], service.SignedIn | None] = {}
        sessions = watched[0][1].ws.app.state.runtime.sessions
        with reading(sessions) as session:
            for viewer, item in watched:
                try:
                    ticket, cred = _ticket(item.ws, item.camera_id, item.token)
                    key = (cred.kind, cred.value)
                    if key not in holders:
                        holders[key] = viewing.signed_in(session=session, credential=cred)
                        self.sign_in_checks += 1
                    service.check_signed_in(ticket, holders[key])
                except KgysError as exc:
                    refused.append((viewer, str(exc)))
        return refused


def rechecks(conn: HTTPConnection) -> Rechecks:
    """The process's checks of its open live sockets (made with the first socket)."""
    found: Rechecks | None = getattr(conn.app.state, "live_rechecks", None)
    if found is None:
        found = conn.app.state.live_rechecks = Rechecks()
    return found


async def pump(ws: WebSocket, viewer: lowlat.Viewer) -> tuple[int, str]:
    """Send the viewer's queue until the stream ends, the peer goes or the ticket stops holding (the viewer is
    ended then); the close code and reason."""
    gone = asyncio.ensure_future(ws.receive())  # the browser sends nothing; this ends when it goes
    gone.add_done_callback(lambda _done: viewer.end(0, ""))
    try:
        while (item := await viewer.take()) is not None:
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_text(item)
        assert viewer.ended is not None
        return viewer.ended
    finally:
        gone.cancel()
