"""Publishing and reading events, in the database that every process shares.

:func:`publish` adds the event to the caller's transaction: it is seen by others exactly when that transaction
commits, and never without what it tells of. Sequence numbers follow commit order: SQLite has one writer at a
time, and on PostgreSQL publishers take a transaction-scoped advisory lock before they number, so that a reader
that has seen number ``n`` never later finds a smaller one committed. Publish as the last step of a
transaction: the lock is held until it commits. On PostgreSQL a notification wakes listening servers at commit.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from kgys.accounts.actor import Scope
from kgys.db import utcnow
from kgys.events.models import Event

CHANNEL = "kgys_events"
_LOCK_KEY = 0x6B677973  # "kgys": the advisory lock that orders publishers on PostgreSQL


@dataclass(frozen=True)
class Published:
    """An event as readers see it."""

    seq: int
    id: str
    topic: str
    site_id: int | None
    scope_path: str | None
    payload: dict[str, Any]
    created_at: datetime

    def visible_to(self, scope: Scope) -> bool:
        """Whether a reader with ``scope`` may see it: events of a site or district to those whose scope covers it,
        events of the whole installation to country-wide readers only."""
        if scope.is_global or (self.site_id is not None and self.site_id in scope.site_ids):
            return True
        return self.scope_path is not None and scope.covers_path(self.scope_path)

    @cached_property
    def message(self) -> str:
        """The event as sent to a console (JSON text, made once however many consoles it goes to)."""
        return json.dumps({"type": "event", "seq": self.seq, "id": self.id, "topic": self.topic,
                           "site_id": self.site_id, "at": self.created_at.isoformat(), "data": self.payload},
                          ensure_ascii=False, separators=(",", ":"))


def _published(e: Event) -> Published:
    return Published(seq=e.seq, id=e.id, topic=e.topic, site_id=e.site_id, scope_path=e.scope_path,
                     payload=dict(e.payload), created_at=e.created_at)


def publish(session: Session, topic: str, payload: dict[str, Any], *, site_id: int | None = None,
            scope_path: str | None = None, now: datetime | None = None) -> Event:
    """Add an event to the session's transaction and flush it, numbered."""
    is_pg = session.get_bind().dialect.name == "postgresql"
    if is_pg:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    event = Event(id=uuid.uuid4().hex, topic=topic, site_id=site_id, scope_path=scope_path, payload=payload,
                  created_at=now or utcnow())
    session.add(event)
    session.flush()
    if is_pg:
        session.execute(text("SELECT pg_notify(:c, :s)"), {"c": CHANNEL, "s": str(event.seq)})
    return event


def read_after(session: Session, seq: int, *, limit: int = 500) -> list[Published]:
    """Up to ``limit`` events numbered after ``seq``, in order."""
    rows = session.scalars(select(Event).where(Event.seq > seq).order_by(Event.seq).limit(limit)).all()
    return [_published(e) for e in rows]


def last_seq(session: Session) -> int:
    """The number of the newest event; 0 when there is none."""
    return int(session.scalar(select(func.max(Event.seq))) or 0)


def purge(session: Session, *, keep: timedelta, now: datetime | None = None) -> int:
    """Delete events older than ``keep`` (what they told of is stored where it belongs); how many."""
    result = session.execute(delete(Event).where(Event.created_at < (now or utcnow()) - keep))
    return int(getattr(result, "rowcount", 0) or 0)
