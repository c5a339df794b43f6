"""A simulated protected person's phone: it presses the panic button in the app and then sends its position as it
moves, through the real API (``/api/v1/kades/app/...``) with a registered phone's token."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx


@dataclass
class Walk:
    """Where the simulated person is: a start and a step each time (metres, heading in degrees)."""

    latitude: float
    longitude: float
    step_m: float = 40.0
    heading: float = 60.0

    def next(self) -> tuple[float, float]:
        """Move one step and return the new position."""
        d_lat = self.step_m * math.cos(math.radians(self.heading)) / 111_000
        d_lon = self.step_m * math.sin(math.radians(self.heading)) / (111_000 * math.cos(math.radians(self.latitude)))
        self.latitude, self.longitude = self.latitude + d_lat, self.longitude + d_lon
        return self.latitude, self.longitude


def run(url: str, token: str, *, walk: Walk, positions: int = 5, every: float = 2.0, accuracy_m: float = 30.0,
        say: Callable[[str], None] = print, client: httpx.Client | None = None) -> int:
    """Press, then send ``positions`` updates ``every`` seconds; how many messages the server took."""
    http = client or httpx.Client(base_url=url, timeout=10)
    headers = {"Authorization": f"Device {token}"}
    taken = 0
    battery = 80

    def send(path: str, lat: float, lon: float) -> None:
        nonlocal taken
        body = {"msg_id": uuid.uuid4().hex, "at": datetime.now(UTC).isoformat(), "latitude": round(lat, 6),
                "longitude": round(lon, 6), "accuracy_m": accuracy_m, "battery": battery}
        for attempt in range(5):  # the app sends again until it is answered
            try:
                r = http.post(f"/api/v1/kades/app/{path}", json=body, headers=headers)
            except httpx.TransportError as exc:
                say(f"{path}: {exc}; again")
                time.sleep(min(2.0, 0.2 * (attempt + 1)))
                continue
            if r.status_code == 202:
                taken += 1
                say(f"{path} {lat:.5f},{lon:.5f} → received")
            else:
                say(f"{path} refused: {r.status_code} {r.text[:200]}")
            return

    send("press", walk.latitude, walk.longitude)
    for _ in range(positions):
        time.sleep(every)
        battery = max(1, battery - 1)
        send("position", *walk.next())
    if client is None:
        http.close()
    return taken
