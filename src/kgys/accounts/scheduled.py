"""Periodic work of the accounts domain: expired browser sessions and expired or revoked API tokens go.

Run by the one scheduler of ``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import ApiToken, LoginSession
from kgys.scheduler import Task

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 300.0


def purge(session: Session, now: datetime) -> int:
    """Delete the browser sessions expired at ``now`` and the API tokens expired or revoked; how many rows went."""
    expired: list[LoginSession | ApiToken] = [
        *session.scalars(select(LoginSession).where(LoginSession.expires_at <= now)),
        *session.scalars(select(ApiToken).where((ApiToken.expires_at <= now) | ApiToken.revoked.is_(True)))]
    for row in expired:
        session.delete(row)
    session.flush()
    gone = len(expired)
    if gone:
        log.info("purged %s expired session(s) and token(s)", gone)
    return gone


def tasks(*, purge_every: float = PURGE_EVERY_SECONDS) -> list[Task]:
    """The accounts tasks of the jobs worker."""
    return [Task("accounts.purge", purge_every, work=purge)]
