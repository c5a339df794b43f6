"""A server process's reader of events: one loop that reads what followed, many subscribers it hands it to.

The loop wakes when PostgreSQL notifies a commit (a listening connection on its own thread), on SQLite when the
database's write-ahead log changes (the kernel tells, through inotify: any process's commit writes it), and, as a
safety net, every ``poll`` seconds; it reads the events after the last it saw and puts each into every
subscriber's queue. A subscriber that falls ``limit`` events behind is cut off (``lagging``): its client
reconnects naming the last number it saw and is sent the rest from the database, so a slow console costs
memory of no one and misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psycopg
from inotify_simple import INotify, flags  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from kgys.db import reading
from kgys.events import bus
from kgys.events.bus import Published

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscription:
    """One consumer's queue of events, in order."""

    queue: asyncio.Queue[Published]
    limit: int
    lagging: bool = False
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: Published) -> None:
        if self.lagging:
            return
        if self.queue.qsize() >= self.limit:
            self.lagging = True
            self.woken.set()
            return
        self.queue.put_nowait(event)


class Feed(Protocol):
    """Where events arrive from besides the database (a broker): each handed to ``take`` as it comes."""

    async def start(self, take: Callable[[Published], None]) -> None: ...

    async def stop(self) -> None: ...


class Hub:
    """Reads events after the last it saw and fans them out to subscribers (see the module). With a ``feed``
    (NATS JetStream, :mod:`kgys.events.nats`) events come from it; what it repeats is dropped by number, what it
    misses is read from the database, which is also still looked at every ``poll`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], *, poll: float = 0.1, limit: int = 5000,
                 feed: Feed | None = None) -> None:
        self.sessions = sessions
        self.poll = poll
        self.limit = limit
        self.feed = feed
        self.last = 0
        self.counts = {"feed": 0, "database": 0}  # how many events came which way
        self._incoming: list[Published] = []
        self._subs: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()

    async def start(self, after: int | None = None) -> None:
        """Start reading after event number ``after`` (default: the newest event now stored)."""
        self.last = after if after is not None else await asyncio.to_thread(self._last)
        loop = asyncio.get_running_loop()
        engine = self.sessions.kw.get("bind")
        if self.feed is not None:
            await self.feed.start(self._take)
        elif isinstance(engine, Engine) and engine.dialect.name == "postgresql":
            self._listener = threading.Thread(target=self._listen, args=(engine, loop), name="kgys-events-listen",
                                              daemon=True)
            self._listener.start()
        elif isinstance(engine, Engine) and engine.url.database not in (None, "", ":memory:"):
            self._listener = threading.Thread(target=self._watch_wal, args=(Path(str(engine.url.database)), loop),
                                              name="kgys-events-wal", daemon=True)
            self._listener.start()
        self._task = asyncio.create_task(self._run(), name="kgys-events-hub")

    async def stop(self) -> None:
        """Stop reading; subscribers are left to their owners."""
        self._stopping.set()
        if self.feed is not None:
            await self.feed.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, 5)

    def subscribe(self) -> Subscription:
        """A new subscriber, handed every event read from now on."""
        sub = Subscription(queue=asyncio.Queue(), limit=self.limit)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def poke(self) -> None:
        """Read now (something was published in this process)."""
        self._wake.set()

    def _last(self) -> int:
        with reading(self.sessions) as s:
            return bus.last_seq(s)

    def _read(self, after: int) -> list[Published]:
        with reading(self.sessions) as s:
            return bus.read_after(s, after)

    def _take(self, event: Published) -> None:
        """An event from the feed (on the event loop)."""
        self._incoming.append(event)
        self._wake.set()

    def _hand_out(self, event: Published, way: str) -> None:
        for sub in list(self._subs):
            sub.offer(event)
        self.last = event.seq
        self.counts[way] += 1

    async def _read_database(self) -> None:
        while True:
            events = await asyncio.to_thread(self._read, self.last)
            for event in events:
                self._hand_out(event, "database")
            if len(events) < 500:
                return

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()
            incoming, self._incoming = sorted(self._incoming, key=lambda e: e.seq), []
            try:
                if not incoming:
                    await self._read_database()
                for event in incoming:
                    if event.seq > self.last + 1:  # the feed skipped some: the database has them
                        await self._read_database()
                    if event.seq == self.last + 1:
                        self._hand_out(event, "feed")
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: read again at the next wake
                log.exception("reading events failed; retrying")

    def _watch_wal(self, db: Path, loop: asyncio.AbstractEventLoop) -> None:
        """On its own thread: wake the loop whenever the SQLite database's write-ahead log is written."""
        wal = db.name + "-wal"
        try:
            watch = INotify()
            watch.add_watch(str(db.parent), flags.MODIFY | flags.CREATE)
        except OSError:
            log.warning("cannot watch %s; polling every %s s", db.parent, self.poll, exc_info=True)
            return
        with watch:
            while not self._stopping.is_set():
                if any(e.name == wal for e in watch.read(timeout=1000)):
                    loop.call_soon_threadsafe(self._wake.set)

    def _listen(self, engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
        """On its own thread: LISTEN on PostgreSQL and wake the loop at every notification."""
        wake: Callable[[], None] = self._wake.set
        while not self._stopping.is_set():
            try:
                url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {bus.CHANNEL}")
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            loop.call_soon_threadsafe(wake)
            except psycopg.Error:
                log.warning("listening for events failed; polling until it is back", exc_info=True)
                self._stopping.wait(1.0)
