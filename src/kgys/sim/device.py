"""What every simulated device does on the real broker, whatever it is: connect with its own credentials, send
JSON at QoS 1 (paho keeps what the broker has not acknowledged and sends it again after a reconnect), send
heartbeats, and keep sending them until told to stop (``--forever``, as the demo runs them)."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from kgys.devices.mqtt import DeviceClient

FIRMWARE = "kgys-sim-1.0"


@contextmanager
def connect(*, host: str, port: int, serial: str, password: str) -> Iterator[DeviceClient]:
    """A connected device client (BrokerError if the broker refuses it); disconnected after what it sent went."""
    device = DeviceClient(host=host, port=port, serial=serial, password=password).start()
    try:
        yield device
    finally:
        device.flush()
        device.close()


@contextmanager
def connect_all(*, host: str, port: int, logins: Sequence[tuple[str, str]]) -> Iterator[list[DeviceClient]]:
    """Connected clients of several devices, given (serial, password) each; all disconnected after."""
    with ExitStack() as stack:
        yield [stack.enter_context(connect(host=host, port=port, serial=s, password=p)) for s, p in logins]


def now() -> str:
    """The device's clock, ISO 8601 with its offset."""
    return datetime.now(UTC).isoformat()


def msg_id() -> str:
    """A new id of a message, unique per device."""
    return uuid.uuid4().hex


def send(device: DeviceClient, channel: str, body: dict[str, Any]) -> str:
    """Publish ``body`` on the device's ``channel``; the line saying what was sent."""
    device.send(channel, json.dumps(body).encode())
    return f"{device.serial} → {channel}: {json.dumps(body, ensure_ascii=False)}"


def heartbeat(device: DeviceClient, battery: int = 97) -> str:
    """Send a heartbeat."""
    return send(device, "heartbeat", {"at": now(), "firmware": FIRMWARE, "battery": battery})


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (so a device running forever still flushes and disconnects)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stop.set())
    return stop


def keep_alive(devices: Sequence[DeviceClient], *, every: float, stop: threading.Event,
               now_and_then: Callable[[DeviceClient], str] | None = None, then_every: int = 0) -> Iterator[str]:
    """A heartbeat of each device every ``every`` seconds until ``stop`` is set; every ``then_every``-th round
    (0: never) ``now_and_then`` of each device as well. One line per message sent."""
    rounds = 0
    while not stop.is_set():
        rounds += 1
        for device in devices:
            yield heartbeat(device)
            if now_and_then is not None and then_every and rounds % then_every == 0:
                yield now_and_then(device)
        stop.wait(every)
