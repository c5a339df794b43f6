"""A simulated school panic button on the real broker, with a device's own credentials: heartbeats, a press,
a drill press, a cancel with the PIN, and a cancel with the duress PIN (``kgys sim panic``)."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from kgys.devices.mqtt import DeviceClient
from kgys.sim.device import FIRMWARE, connect, heartbeat, now, send
from kgys.sim.device import msg_id as new_id

__all__ = ["Scenario", "cancel", "connect", "heartbeat", "play", "press"]

REPLY_SECONDS = 15.0


class Scenario(StrEnum):
    """What the simulated device does."""

    ALL = "all"              # heartbeats, press + cancel, drill press, press + duress
    HEARTBEAT = "heartbeat"
    PRESS = "press"
    DRILL = "drill"
    CANCEL = "cancel"        # a press, then a cancel with the cancel PIN
    DURESS = "duress"        # a press, then a cancel with the duress PIN


def press(device: DeviceClient, *, room: str = "", drill: bool = False, msg_id: str | None = None) -> str:
    """Send a press."""
    body: dict[str, Any] = {"msg_id": msg_id or new_id(), "at": now(), "press_type": "panic",
                            "firmware": FIRMWARE, "drill": drill}
    if room:
        body["room"] = room
    return send(device, "press", body)


def cancel(device: DeviceClient, pin: str) -> tuple[str, str]:
    """Send a cancel with ``pin``; what was sent and the device's reply (or that none came)."""
    sent = send(device, "cancel", {"msg_id": new_id(), "at": now(), "pin": pin})
    try:
        reply = device.replies.get(timeout=REPLY_SECONDS).decode()
    except queue.Empty:
        reply = "(no reply)"
    return sent, f"{device.serial} ← reply: {reply}"


def play(device: DeviceClient, scenario: Scenario, *, cancel_pin: str, duress_pin: str, room: str = "",
         heartbeats: int = 1, interval: float = 1.0) -> Iterator[str]:
    """Run ``scenario``, one line per message sent or reply heard."""
    for i in range(heartbeats if scenario in (Scenario.ALL, Scenario.HEARTBEAT) else 0):
        if i:
            time.sleep(interval)
        yield heartbeat(device)
    if scenario in (Scenario.PRESS, Scenario.CANCEL, Scenario.ALL):
        yield press(device, room=room)
    if scenario in (Scenario.CANCEL, Scenario.ALL):
        yield from cancel(device, cancel_pin)
    if scenario in (Scenario.DRILL, Scenario.ALL):
        yield press(device, room=room, drill=True)
    if scenario in (Scenario.DURESS, Scenario.ALL):
        yield press(device, room=room)
        yield from cancel(device, duress_pin)
