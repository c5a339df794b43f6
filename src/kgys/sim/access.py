"""Simulated door and turnstile controllers on the real broker, each with its own credentials: heartbeats and
the events a controller reports — a forced door, a door held open, an entry out of hours, a burst of denied
cards (``kgys sim access``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from kgys.devices.kinds import AccessEvent
from kgys.devices.mqtt import DeviceClient
from kgys.sim.device import heartbeat, keep_alive, msg_id, now, send

DOOR = "Ana giriş"
CARD_COUNT = 7


def event(device: DeviceClient, kind: AccessEvent, *, door: str = DOOR, card_count: int | None = None) -> str:
    """Send an access event (a burst of denied cards carries ``card_count``, :data:`CARD_COUNT` if not given)."""
    body: dict[str, Any] = {"msg_id": msg_id(), "at": now(), "event": kind.value, "door": door}
    if kind is AccessEvent.DENIED_BURST:
        body["card_count"] = CARD_COUNT if card_count is None else card_count
    elif card_count is not None:
        body["card_count"] = card_count
    return send(device, "access", body)


def play(devices: Sequence[DeviceClient], events: Sequence[AccessEvent], *, door: str = DOOR,
         card_count: int | None = None, heartbeats: int = 1, interval: float = 1.0,
         stop: threading.Event | None = None) -> Iterator[str]:
    """Each device's heartbeats, then each of ``events`` from each device; one line per message sent."""
    stop = stop or threading.Event()
    for i in range(heartbeats):
        if i and stop.wait(interval):
            return
        for device in devices:
            yield heartbeat(device)
    for kind in events:
        for device in devices:
            yield event(device, kind, door=door, card_count=card_count)


def forever(devices: Sequence[DeviceClient], *, every: float, stop: threading.Event, door: str = DOOR,
            held_open_every: int = 0) -> Iterator[str]:
    """Heartbeats every ``every`` seconds until ``stop``; a door held open every ``held_open_every``-th round
    (0: never), as the demo runs its door controllers."""

    def held_open(device: DeviceClient) -> str:
        return event(device, AccessEvent.DOOR_HELD_OPEN, door=door)

    return keep_alive(devices, every=every, stop=stop, now_and_then=held_open, then_every=held_open_every)
