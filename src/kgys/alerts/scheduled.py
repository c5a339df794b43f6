"""Periodic work of the alerts domain: consoles' sessions closed (or silent) for longer than
``alerts.events_keep_days`` are deleted. Run by the one scheduler of ``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kgys.alerts import consoles
from kgys.scheduler import Task

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


def tasks(*, keep_days: int, purge_every: float = PURGE_EVERY_SECONDS) -> list[Task]:
    """The alerts tasks of the jobs worker."""

    def purge(session: Session, now: datetime) -> int:
        gone = consoles.purge(session=session, now=now, keep=timedelta(days=keep_days))
        if gone:
            log.info("purged %s console session(s) older than %s day(s)", gone, keep_days)
        return gone

    return [Task("alerts.console_purge", purge_every, work=purge)]
