"""The outbox publisher of ``kgys worker intake``: lockdown orders taken from ``device_downlinks`` to the broker,
and every other outbox the worker gives it (:class:`Source`: the assignments for units' trackers).

Orders are published one at a time in the order they were written, at QoS 1, and each is marked sent only when the
broker acknowledged it (PUBACK); the next one waits for that, so the devices of a site hear their orders in order.
While the broker is away the order stays unsent, the attempt is noted on its row, and it is tried again after a
pause that doubles up to a few seconds (:func:`kgys.devices.lockdown.retry_after`). A message handed to the broker
link and not yet acknowledged is never handed over again by the same process (the link sends it again itself after
a reconnect), so a device hears an order once unless the intake restarts between the broker's acknowledgement and
the commit that marks it sent — then again, with the same ``msg_id``.

The outbox is read every ``poll_seconds`` (half a second by default), so an order reaches the broker promptly
after its transaction commits.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kgys.db import retrying, utcnow
from kgys.devices import lockdown
from kgys.devices import service as device_service
from kgys.devices.link import Link, Sent
from kgys.devices.service import Outgoing
from kgys.errors import Busy
from kgys.runtime import Runtime

log = logging.getLogger(__name__)

ACK_WAIT_SECONDS = 10.0
ACK_CHECK_SECONDS = 0.01


@dataclass(frozen=True)
class Source:
    """One outbox table: what is unsent in it (oldest first), and how to note a message sent or an attempt
    failed."""

    name: str
    unsent: Callable[[Session], list[Outgoing]]
    mark_sent: Callable[[Session, int, datetime], None]
    mark_failed: Callable[[Session, int, str], None]


LOCKDOWNS = Source(
    "lockdown", lambda s: device_service.unsent(session=s),
    lambda s, i, now: device_service.mark_sent(session=s, downlink_id=i, now=now),
    lambda s, i, error: device_service.mark_failed(session=s, downlink_id=i, error=error))


class Outbox:
    """Publishes the outbox until stopped; ``counts`` holds how many orders were sent and how many attempts
    failed."""

    def __init__(self, rt: Runtime, link: Link, stop: threading.Event, *, poll_seconds: float = 0.5,
                 ack_wait: float = ACK_WAIT_SECONDS, sources: Sequence[Source] = (LOCKDOWNS,)) -> None:
        self.rt, self.link, self.stop = rt, link, stop
        self.poll_seconds, self.ack_wait, self.sources = poll_seconds, ack_wait, tuple(sources)
        self.pending: dict[tuple[str, int], Sent] = {}  # handed to the link, not yet acknowledged
        self.counts: Counter[str] = Counter()

    def _acked(self, sent: Sent) -> bool:
        """Wait (at most ``ack_wait``, less if the link drops or the worker stops) for the acknowledgement."""
        waited = 0.0
        while not sent.acked():
            if self.stop.is_set() or not self.link.is_connected() or waited >= self.ack_wait:
                return False
            self.stop.wait(ACK_CHECK_SECONDS)
            waited += ACK_CHECK_SECONDS
        return True

    def _failed(self, source: Source, downlink_id: int, error: str) -> None:
        self.counts["failed"] += 1
        retrying(self.rt.sessions, lambda s: source.mark_failed(s, downlink_id, error))

    def drain(self) -> bool:
        """Publish what is unsent in each source, oldest first; whether all of it was taken by the broker."""
        return all(self._drain(source) for source in self.sources)

    def _drain(self, source: Source) -> bool:
        for out in retrying(self.rt.sessions, source.unsent):
            key = (source.name, out.id)
            sent = self.pending.get(key)
            if sent is None:
                if not self.link.is_connected():
                    self._failed(source, out.id, "broker not connected")
                    return False
                sent = self.pending[key] = self.link.publish(out.topic, out.body)
            if not self._acked(sent):
                self._failed(source, out.id, "no acknowledgement from the broker yet")
                return False
            retrying(self.rt.sessions, partial(_note_sent, source=source, downlink_id=out.id))
            del self.pending[key]
            self.counts["sent"] += 1
            log.info("%s %s published on %s", source.name, out.id, out.topic)
        return True

    def run(self) -> None:
        """Until stopped: drain the outbox, then look again after ``poll_seconds`` (after a growing pause while
        the broker or the database is away)."""
        failures = 0
        while not self.stop.is_set():
            try:
                done = self.drain()
            except (Busy, OperationalError) as exc:
                log.warning("database unavailable, outbox not read: %s", exc)
                done = False
            except Exception:
                log.exception("outbox publisher failed; trying again")
                done = False
            failures = 0 if done else failures + 1
            if failures == 1:
                log.warning("orders to devices and messages to trackers wait for the broker")
            self.stop.wait(self.poll_seconds if done else max(lockdown.retry_after(failures), 0.05))


def _note_sent(session: Session, *, source: Source, downlink_id: int) -> None:
    source.mark_sent(session, downlink_id, utcnow())


def start(rt: Runtime, link: Link, stop: threading.Event, *, poll_seconds: float = 0.5,
          sources: Sequence[Source] = (LOCKDOWNS,)) -> tuple[Outbox, threading.Thread]:
    """Run an outbox publisher of ``sources`` in a thread of its own until ``stop`` is set; it and its thread."""
    outbox = Outbox(rt, link, stop, poll_seconds=poll_seconds, sources=sources)
    thread = threading.Thread(target=outbox.run, name="outbox", daemon=True)
    thread.start()
    return outbox, thread
