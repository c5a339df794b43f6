"""The intake's link to the broker, as an interface with a fake: messages in (to be acknowledged once stored),
replies and lockdown orders out (each with a :class:`Sent` that tells when the broker acknowledged it).
The MQTT implementation is :mod:`kgys.devices.mqtt`; :class:`FakeLink` serves tests.

Errors from the broker library never leave the adapter: they become :class:`BrokerError`.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kgys.errors import Unavailable


class BrokerError(Unavailable):
    """The broker could not be reached or refused the login."""


@dataclass(frozen=True)
class Received:
    """One message from the broker: its topic and bytes, and what acknowledging it needs (``session``: which
    connection it came over; an acknowledgement for an older connection is not sent — the broker delivers the
    message again)."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    session: int = 0


@dataclass(frozen=True)
class Sent:
    """A message handed to the broker link: ``acked()`` tells whether the broker has acknowledged it (PUBACK)."""

    check: Callable[[], bool] = field(default=lambda: True)

    def acked(self) -> bool:
        """Whether the broker has taken the message."""
        return self.check()


class Link(Protocol):
    """What the intake needs of a broker."""

    def start(self) -> None:
        """Connect (and keep reconnecting) and subscribe to the uplink."""

    def get(self, timeout: float) -> Received | None:
        """The next message, waiting at most ``timeout`` seconds."""

    def ack(self, msg: Received) -> None:
        """Acknowledge ``msg`` to the broker: it is stored and need not be delivered again."""

    def publish(self, topic: str, payload: bytes) -> Sent:
        """Send ``payload`` on ``topic`` (QoS 1); what tells when the broker took it."""

    def is_connected(self) -> bool:
        """Whether the link is connected to the broker now."""

    def close(self) -> None:
        """Disconnect."""


@dataclass
class FakeLink:
    """An in-memory broker link: tests put messages in and read what was acknowledged and published."""

    inbox: queue.Queue[Received] = field(default_factory=queue.Queue)
    acked: list[Received] = field(default_factory=list)
    published: list[tuple[str, bytes]] = field(default_factory=list)
    started: bool = False
    up: bool = True  # connected; a test sets it False to play a broker that is away

    def start(self) -> None:
        """Nothing to connect to."""
        self.started = True

    def put(self, topic: str, payload: bytes) -> None:
        """Deliver a message to the intake."""
        self.inbox.put(Received(topic, payload, mid=self.inbox.qsize() + len(self.acked) + 1))

    def get(self, timeout: float) -> Received | None:
        """The next message put in."""
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, msg: Received) -> None:
        """Remember the acknowledgement."""
        self.acked.append(msg)

    def publish(self, topic: str, payload: bytes) -> Sent:
        """Remember what was sent (acknowledged at once)."""
        self.published.append((topic, payload))
        return Sent()

    def is_connected(self) -> bool:
        """Whether the test has the broker up."""
        return self.up

    def close(self) -> None:
        """Nothing to disconnect."""
        self.started = False
