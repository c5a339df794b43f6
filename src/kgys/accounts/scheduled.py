"""Periodic work of the accounts domain: expired browser sessions and expired or revoked API tokens go.

Run by the one scheduler of ``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.scheduler import Task

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 300.0


def purge(session: Session, now: datetime) -> int:
    """Delete the sessions and tokens no longer valid at ``now``; how many rows went."""
    gone = account_service.purge_expired(session=session, now=now)
    if gone:
        log.info("purged %s expired session(s) and token(s)", gone)
    return gone


def tasks(*, purge_every: float = PURGE_EVERY_SECONDS) -> list[Task]:
    """The accounts tasks of the jobs worker."""
    return [Task("accounts.purge", purge_every, work=purge)]
