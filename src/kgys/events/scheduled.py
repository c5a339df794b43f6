"""Periodic work for events: those older than ``alerts.events_keep_days`` go (what they told of is stored where
it belongs; a console away for longer reloads the queue).

Run by the one scheduler of ``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kgys.events import bus
from kgys.scheduler import Task

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


def tasks(*, keep_days: int, purge_every: float = PURGE_EVERY_SECONDS) -> list[Task]:
    """The events tasks of the jobs worker."""

    def purge(session: Session, now: datetime) -> int:
        gone = bus.purge(session, keep=timedelta(days=keep_days), now=now)
        if gone:
            log.info("purged %s event(s) older than %s day(s)", gone, keep_days)
        return gone

    return [Task("events.purge", purge_every, work=purge)]
