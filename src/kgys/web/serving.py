"""``kgys serve``: one process, or several on the same port (``web.workers``).

Python runs one thread at a time per process, so one process uses about one core however many threads it
has. With ``workers`` > 1 the parent brings the database schema up to date once, opens one listening socket
per worker on the same address and port (``SO_REUSEPORT``: the kernel spreads new connections over them
evenly), and forks a worker per socket. Each worker builds its own runtime (engine, pool, keys) and serves
its socket with uvicorn. The parent only watches: a worker that dies is started again on the same socket,
so the connections waiting in its queue are not lost; SIGTERM or SIGINT to the parent stops every worker
(each finishes the requests it has) and then the parent.

Nothing is shared between workers but the database: sessions, tokens and state are there already. Writes of
the workers to one SQLite file take turns (each worker queues its own writers, which then take a file lock
every kgys process takes, :class:`kgys.db.WriteGate`); a wait past ``database.busy_seconds`` is answered 503
with Retry-After.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from kgys.config import Settings
from kgys.runtime import make_runtime
from kgys.web.app import create_app

log = logging.getLogger(__name__)

BACKLOG = 2048

# WebSocket messages are not compressed: live video (kgys.live.lowlat) does not shrink and compressing every frame
# cost more CPU than following, remuxing and sending it together; the alert stream's small JSON gains little.
WS_DEFLATE = False


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the HTTP API and the web UI on ``host``:``port`` with ``workers`` processes (1: this one)."""
    if workers <= 1:
        rt = make_runtime(settings, upgrade=True)
        uvicorn.run(create_app(rt), host=host, port=port, log_level="info", proxy_headers=True,
                    ws_per_message_deflate=WS_DEFLATE)
        return
    make_runtime(settings, upgrade=True).close()  # migrate once, before any worker starts
    sockets = [listening_socket(host, port) for _ in range(workers)]
    Supervisor(sockets, functools.partial(run_worker, settings)).run()


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` that other sockets may share (``SO_REUSEPORT``)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """The parent of the worker processes: starts one per socket, each running ``target`` on its socket;
    starts a dead one again; stops them all."""

    def __init__(self, sockets: list[socket.socket], target: Callable[[socket.socket], None]) -> None:
        self.sockets = sockets
        self.target = target
        self.workers: dict[int, int] = {}  # pid → index of its socket
        self.stopping = False

    def run(self) -> None:
        """Start the workers and watch them until told to stop."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for index in range(len(self.sockets)):
            self._start(index)
        log.info("serving with %s worker processes", len(self.sockets))
        while self.workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - Python retries wait() itself (PEP 475)
                continue
            if pid not in self.workers:
                continue
            index = self.workers.pop(pid)
            if not self.stopping:
                log.error("worker %s ended (status %s); starting it again", pid, status)
                self._start(index)
        for sock in self.sockets:
            sock.close()

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _start(self, index: int) -> None:
        pid = os.fork()
        if pid:
            self.workers[pid] = index
            return
        code = 1
        try:  # the worker: never returns into the parent's code
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            for i, other in enumerate(self.sockets):
                if i != index:
                    other.close()
            self.target(self.sockets[index])
            code = 0
        except BaseException:
            log.exception("worker failed")
        finally:
            os._exit(code)


def run_worker(settings: Settings, sock: socket.socket) -> None:
    """Serve ``sock`` in this process with a runtime of its own."""
    rt = make_runtime(settings)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(create_app(rt), host=host, port=port, log_level="info", proxy_headers=True,
                            ws_per_message_deflate=WS_DEFLATE)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        rt.close()
