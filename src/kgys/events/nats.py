"""Events through NATS JetStream, for installations with many servers: a relay copies the database's events to a
JetStream stream, and each server takes them from there instead of looking in the database.

The database stays the truth. The relay (``kgys worker relay``) reads events in order after the last one the stream
holds (its ``Kgys-Seq`` header), publishes each with its id as ``Nats-Msg-Id`` — JetStream drops a second copy within
its duplicate window, so a relay that restarts, or two relays, publish each event once — and waits for the stream's
acknowledgement before the next (at least once). A server subscribes with an ordered consumer from the newest
message on (:class:`Feed`); its hub drops what it has seen (by number), fills any gap from the database, and still
looks in the database now and then, so that events reach the consoles even while the relay or the broker is down.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import DeliverPolicy, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import Error as JetStreamError
from nats.js.errors import NotFoundError
from sqlalchemy.orm import Session, sessionmaker

from kgys.db import reading
from kgys.events import bus
from kgys.events.bus import Published
from kgys.events.hub import Hub, Subscription

log = logging.getLogger(__name__)

STREAM = "KGYS_EVENTS"
SUBJECTS = "kgys.events.>"
SEQ_HEADER = "Kgys-Seq"
DUPLICATE_WINDOW_SECONDS = 600.0


def subject(topic: str) -> str:
    """The subject an event of ``topic`` is published on."""
    return f"kgys.events.{topic}"


def encode(event: Published) -> bytes:
    """An event as a message body."""
    return json.dumps({"seq": event.seq, "id": event.id, "topic": event.topic, "site_id": event.site_id,
                       "scope_path": event.scope_path, "payload": event.payload,
                       "created_at": event.created_at.isoformat()}, ensure_ascii=False).encode()


def decode(data: bytes) -> Published:
    """A message body as an event."""
    d = json.loads(data)
    return Published(seq=int(d["seq"]), id=str(d["id"]), topic=str(d["topic"]), site_id=d["site_id"],
                     scope_path=d["scope_path"], payload=dict(d["payload"]),
                     created_at=datetime.fromisoformat(d["created_at"]))


async def connect(url: str) -> Client:
    """A connection that reconnects for ever."""
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=5,
                              name="kgys")


async def ensure_stream(js: JetStreamContext, *, keep_days: int) -> None:
    """The events stream, on disk, created when missing."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(name=STREAM, subjects=[SUBJECTS], storage=StorageType.FILE,
                            duplicate_window=DUPLICATE_WINDOW_SECONDS, max_age=keep_days * 86400.0)


async def last_relayed(js: JetStreamContext) -> int:
    """The number of the newest event the stream holds; 0 when it is empty."""
    info = await js.stream_info(STREAM)
    if not info.state.last_seq:
        return 0
    msg = await js.get_msg(STREAM, seq=info.state.last_seq)
    return int((msg.headers or {}).get(SEQ_HEADER, 0))


class Relay:
    """Copies the database's events to the stream, in order, each acknowledged before the next."""

    def __init__(self, sessions: sessionmaker[Session], url: str, *, keep_days: int, poll: float) -> None:
        self.sessions, self.url, self.keep_days, self.poll = sessions, url, keep_days, poll
        self.relayed = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set."""
        nc = await connect(self.url)
        try:
            js = nc.jetstream()
            await ensure_stream(js, keep_days=self.keep_days)
            while not stop.is_set():
                # a database restored from a backup numbers again from lower down: the stream drops by id what
                # it holds already
                after = min(await last_relayed(js), await asyncio.to_thread(self._newest))
                hub = Hub(self.sessions, poll=self.poll)
                await hub.start(after=after)
                sub = hub.subscribe()
                try:
                    await self._copy(js, sub, stop)
                finally:
                    await hub.stop()
        finally:
            await nc.close()

    def _newest(self) -> int:
        with reading(self.sessions) as session:
            return bus.last_seq(session)

    async def _copy(self, js: JetStreamContext, sub: Subscription, stop: asyncio.Event) -> None:
        while not stop.is_set() and not (sub.lagging and sub.queue.empty()):
            try:
                event = await asyncio.wait_for(sub.queue.get(), 0.5)
            except TimeoutError:
                continue
            while not stop.is_set():
                try:
                    await js.publish(subject(event.topic), encode(event), timeout=5,
                                     headers={"Nats-Msg-Id": event.id, SEQ_HEADER: str(event.seq)})
                    self.relayed += 1
                    break
                except (NatsError, JetStreamError, TimeoutError):
                    log.warning("publishing event %s failed; trying again", event.seq, exc_info=True)
                    await asyncio.sleep(0.5)


class Feed:
    """A server's subscription to the stream: each event handed to ``take`` as it arrives (duplicates and order
    are the hub's to handle)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._nc: Client | None = None

    async def start(self, take: Callable[[Published], None]) -> None:
        nc = await connect(self.url)
        self._nc = nc

        async def on(msg: Msg) -> None:
            try:
                take(decode(msg.data))
            except (ValueError, KeyError, TypeError):
                log.warning("an event message that cannot be read was dropped", exc_info=True)

        await nc.jetstream().subscribe(SUBJECTS, cb=on, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW,
                                       idle_heartbeat=5.0)

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None
