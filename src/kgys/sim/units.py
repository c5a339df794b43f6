"""Simulated trackers of units on the real broker (``kgys sim units``), each with its unit's own tracker login:
each drives round a loop about its start point (a circle of a few hundred metres, placed apart for each call
sign), publishes its position every few seconds at QoS 1, and prints the assignments (and cancellations) it
hears on its unit's assignment topic."""

from __future__ import annotations

import hashlib
import json
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kgys.devices.mqtt import TrackerClient
from kgys.dispatch.trackers import username_for

EARTH_M_PER_DEG = 111_320.0
RADIUS_M = 600.0
SPREAD_M = 1500.0
SPEED_KMH = 30.0


@dataclass
class Route:
    """A loop about a centre: where the tracker is on it (``angle``, radians) and how fast it goes."""

    latitude: float
    longitude: float
    radius_m: float = RADIUS_M
    speed_kmh: float = SPEED_KMH
    angle: float = 0.0
    heading: float = field(default=0.0)

    def point(self) -> tuple[float, float]:
        """The position now."""
        north = self.radius_m * math.cos(self.angle)
        east = self.radius_m * math.sin(self.angle)
        lat = self.latitude + north / EARTH_M_PER_DEG
        lon = self.longitude + east / (EARTH_M_PER_DEG * math.cos(math.radians(self.latitude)))
        return round(lat, 6), round(lon, 6)

    def advance(self, seconds: float) -> None:
        """Drive on for ``seconds`` (clockwise, as seen from above)."""
        self.angle = (self.angle + self.speed_kmh / 3.6 * seconds / self.radius_m) % (2 * math.pi)
        self.heading = (math.degrees(self.angle) + 90.0) % 360.0


def route_for(call_sign: str, latitude: float, longitude: float) -> Route:
    """The loop of a unit: about a point up to :data:`SPREAD_M` from the given one, the same for a call sign at
    every start (so that units do not all drive the same circle)."""
    digest = hashlib.sha256(call_sign.encode()).digest()
    bearing = digest[0] / 255 * 2 * math.pi
    distance = digest[1] / 255 * SPREAD_M
    lat = latitude + distance * math.cos(bearing) / EARTH_M_PER_DEG
    lon = longitude + distance * math.sin(bearing) / (EARTH_M_PER_DEG * math.cos(math.radians(latitude)))
    return Route(lat, lon, angle=digest[2] / 255 * 2 * math.pi)


@contextmanager
def connect_all(*, host: str, port: int, logins: Sequence[tuple[str, str]]) -> Iterator[list[TrackerClient]]:
    """Connected trackers, given (call sign, password) each (BrokerError if the broker refuses one); all
    disconnected after what they sent went."""
    with ExitStack() as stack:
        clients: list[TrackerClient] = []
        for call_sign, password in logins:
            client = TrackerClient(host=host, port=port, call_sign=call_sign,
                                   username=username_for(call_sign), password=password).start()
            stack.callback(client.close)
            stack.callback(client.flush)
            clients.append(client)
        yield clients


def position(client: TrackerClient, route: Route, *, accuracy_m: float = 8.0) -> str:
    """Publish the tracker's position on its route; the line saying what was sent."""
    lat, lon = route.point()
    body: dict[str, Any] = {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "at": datetime.now(UTC).isoformat(),
                            "speed_kmh": route.speed_kmh, "heading": round(route.heading, 1)}
    client.publish(json.dumps(body).encode())
    return f"{client.call_sign} → position: {lat:.6f}, {lon:.6f}"


def heard(client: TrackerClient) -> Iterator[str]:
    """A line for each assignment (or cancellation) the tracker heard since last asked."""
    while True:
        try:
            raw = client.assignments.get_nowait()
        except queue.Empty:
            return
        try:
            msg = json.loads(raw)
            yield (f"{client.call_sign} ← {msg.get('event', '?')}: incident {msg.get('incident')} "
                   f"({msg.get('category')}, P{msg.get('priority')}) assignment {msg.get('assignment_id')} — "
                   f"{msg.get('details', '')}")
        except (ValueError, AttributeError):
            yield f"{client.call_sign} ← (not JSON) {raw[:200]!r}"


def drive(clients: Sequence[TrackerClient], *, latitude: float, longitude: float, every: float,
          positions: int | None, stop: threading.Event) -> Iterator[str]:
    """Each tracker's position every ``every`` seconds along its loop, ``positions`` times (None: until ``stop``),
    with what each heard meanwhile; one line per message."""
    routes = {c.call_sign: route_for(c.call_sign, latitude, longitude) for c in clients}
    rounds = 0
    while not stop.is_set() and (positions is None or rounds < positions):
        if rounds:
            stop.wait(every)
            if stop.is_set():
                break
            for route in routes.values():
                route.advance(every)
        rounds += 1
        for client in clients:
            yield position(client, routes[client.call_sign])
            yield from heard(client)
    for client in clients:
        client.flush()
        yield from heard(client)
