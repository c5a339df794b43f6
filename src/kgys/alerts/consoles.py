"""Which operators' consoles are connected: a row of ``console_sessions`` per live stream.

The stream opens a session when a console connects, touches it at each heartbeat (one UPDATE) and closes it when
the console goes. A server that dies (kill -9, power) closes nothing: a session not touched for
:data:`STALE_BEATS` heartbeats counts as gone whatever ``closed_at`` says. Old rows are purged by the jobs worker
(:mod:`kgys.alerts.scheduled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.alerts.models import ConsoleSession
from kgys.db import utcnow

STALE_BEATS = 3


@dataclass(frozen=True)
class Present:
    """A connected console: whose, since when, last heard."""

    user_id: int | None
    username: str
    opened_at: datetime
    seen_at: datetime
    server: str
    remote: str


def open_session(*, session: Session, actor: Actor, server: str, remote: str, now: datetime | None = None) -> int:
    """Note that ``actor``'s console connected to ``server`` from ``remote``; the session's id."""
    now = now or utcnow()
    row = ConsoleSession(user_id=actor.id, username=actor.username[:64], server=server[:120], remote=remote[:64],
                         opened_at=now, seen_at=now)
    session.add(row)
    session.flush()
    return row.id


def touch(*, session: Session, session_id: int, now: datetime | None = None) -> None:
    """Note that the console is still connected (one UPDATE)."""
    session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id)
                    .values(seen_at=now or utcnow()).execution_options(synchronize_session=False))


def close_session(*, session: Session, session_id: int, now: datetime | None = None) -> None:
    """Note that the console went."""
    now = now or utcnow()
    session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id)
                    .values(seen_at=now, closed_at=now).execution_options(synchronize_session=False))


def gone_before(now: datetime, heartbeat_seconds: float) -> datetime:
    """A session last touched before this moment is gone (its server died)."""
    return now - timedelta(seconds=heartbeat_seconds * STALE_BEATS)


def present(*, session: Session, now: datetime, heartbeat_seconds: float) -> list[Present]:
    """The consoles connected now, oldest first (every user's: the caller filters by scope)."""
    rows = session.scalars(select(ConsoleSession)
                           .where(ConsoleSession.closed_at.is_(None),
                                  ConsoleSession.seen_at >= gone_before(now, heartbeat_seconds))
                           .order_by(ConsoleSession.opened_at, ConsoleSession.id)).all()
    return [Present(user_id=r.user_id, username=r.username, opened_at=r.opened_at, seen_at=r.seen_at,
                    server=r.server, remote=r.remote) for r in rows]


def purge(*, session: Session, now: datetime, keep: timedelta) -> int:
    """Delete sessions closed, or last touched, longer than ``keep`` ago; how many."""
    cut = now - keep
    done = session.execute(delete(ConsoleSession)
                           .where(or_(ConsoleSession.closed_at < cut, ConsoleSession.seen_at < cut))
                           .execution_options(synchronize_session=False))
    return int(getattr(done, "rowcount", 0) or 0)
