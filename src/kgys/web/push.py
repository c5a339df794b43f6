"""The server's reader of events (:class:`kgys.events.hub.Hub`), one per process, started by the first console
that follows events and stopped with the server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kgys.events.hub import Hub
from kgys.events.nats import Feed
from kgys.runtime import Runtime


@dataclass
class Push:
    """Holds the process's hub (see the module)."""

    rt: Runtime
    _hub: Hub | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def hub(self) -> Hub:
        """The hub, started on first use."""
        if self._hub is None:
            async with self._lock:
                if self._hub is None:
                    cfg = self.rt.settings.alerts
                    if cfg.nats_url:  # the broker brings the events; the database is looked at less often
                        hub = Hub(self.rt.sessions, poll=max(cfg.event_poll_seconds, 1.0), feed=Feed(cfg.nats_url))
                    else:
                        hub = Hub(self.rt.sessions, poll=cfg.event_poll_seconds)
                    await hub.start()
                    self._hub = hub
        return self._hub

    async def stop(self) -> None:
        """Stop the hub, if it was started."""
        if self._hub is not None:
            await self._hub.stop()
            self._hub = None
