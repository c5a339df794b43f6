"""The ``kgys worker relay`` process: copies events from the database to NATS JetStream for the servers, when
``alerts.nats_url`` is set (:class:`kgys.events.nats.Relay`). Run one or two (for a spare): the stream drops a second
copy of an event by its id."""

from __future__ import annotations

import asyncio
import logging
import threading

from kgys.errors import ConfigurationError
from kgys.events.nats import Relay
from kgys.runtime import Runtime, stop_on_signals

log = logging.getLogger(__name__)


def run(rt: Runtime, stop: threading.Event | None = None) -> None:
    """Relay until ``stop`` is set or SIGTERM/SIGINT arrives."""
    cfg = rt.settings.alerts
    if not cfg.nats_url:
        raise ConfigurationError("set alerts.nats_url (KGYS_ALERTS__NATS_URL) to relay events to NATS JetStream")
    stop = stop_on_signals("relay", stop)
    relay = Relay(rt.sessions, cfg.nats_url, keep_days=cfg.events_keep_days, poll=cfg.event_poll_seconds)
    log.info("relaying events to %s", cfg.nats_url)
    asyncio.run(_relay(relay, stop))


async def _relay(relay: Relay, stop: threading.Event) -> None:
    done = asyncio.Event()

    async def watch() -> None:
        await asyncio.to_thread(stop.wait)
        done.set()

    watcher = asyncio.create_task(watch())
    try:
        await relay.run(done)
    finally:
        stop.set()
        await watcher
