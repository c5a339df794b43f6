"""Publishing and reading events, in the database that every process shares.

:func:`publish` adds the event to the caller's transaction: it is seen by others exactly when that transaction
commits, and never without what it tells of. Sequence numbers follow commit order: SQLite has one writer at a
time, and on PostgreSQL publishers take a transaction-scoped advisory lock before they number, so that a reader
that has seen number ``n`` never later finds a smaller one committed. Events are written as their transaction's
last step (at commit), so the lock is held only for that step and the commit. On PostgreSQL a notification
wakes listening servers at commit.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

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
            scope_path: str | None = None, now: datetime | None = None) -> None:
    """Add an event to the session's transaction. It is numbered and written as the transaction's last step,
    when it commits (or earlier, when the same session reads events), so that publishers hold the ordering lock
    only for that step and the commit; a transaction rolled back publishes nothing."""
    event = Event(id=uuid.uuid4().hex, topic=topic, site_id=site_id, scope_path=scope_path, payload=payload,
                  created_at=now or utcnow())
    if not session.in_transaction():
        session.begin()  # so that a rollback (or a close) before anything else drops the event
    session.info.setdefault(_PENDING, []).append(event)


_PENDING = "kgys_events_pending"

# One statement on PostgreSQL: take the ordering lock, number and insert the transaction's events in the order
# they were published, wake the listening servers.
_INSERT_PG = text("""
WITH lock AS (SELECT pg_advisory_xact_lock(:k)),
added AS (
    INSERT INTO events (id, topic, site_id, scope_path, payload, created_at)
    SELECT v.id, v.topic, v.site_id, v.scope_path, CAST(v.payload AS json), v.created_at
    FROM lock, unnest(CAST(:ids AS varchar[]), CAST(:topics AS varchar[]), CAST(:sites AS integer[]),
                      CAST(:scopes AS varchar[]), CAST(:payloads AS text[]), CAST(:ats AS timestamptz[]))
         WITH ORDINALITY AS v(id, topic, site_id, scope_path, payload, created_at, n)
    ORDER BY v.n
    RETURNING seq
)
SELECT pg_notify(:c, CAST(max(seq) AS text)) FROM added
""")


def flush_events(session: Session) -> int:
    """Write the events the session's transaction has published so far (after everything else it has to
    flush); how many. Inside a savepoint nothing is written: an event published before it must not be rolled back
    with it."""
    if session.in_nested_transaction():
        return 0
    pending: list[Event] | None = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_INSERT_PG, {
            "k": _LOCK_KEY, "c": CHANNEL, "ids": [e.id for e in pending], "topics": [e.topic for e in pending],
            "sites": [e.site_id for e in pending], "scopes": [e.scope_path for e in pending],
            "payloads": [json.dumps(e.payload, ensure_ascii=False) for e in pending],
            "ats": [e.created_at for e in pending]})
    else:  # one writer at a time: numbered in commit order as they are inserted
        session.add_all(pending)
        session.flush()
    return len(pending)


def _before_commit(session: Session) -> None:
    flush_events(session)  # also called as a savepoint is released: nothing is written then


_MARKS = "kgys_events_marks"


def _begun(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:  # a savepoint: what was published before it stays if it rolls back
        session.info.setdefault(_MARKS, {})[id(transaction)] = len(session.info.get(_PENDING, ()))


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (nothing is left then), rolled back or closed: nothing to publish
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)


def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)
        return
    mark = session.info.get(_MARKS, {}).pop(id(transaction), None)
    pending = session.info.get(_PENDING)
    if mark is not None and pending is not None:
        del pending[mark:]


def install(session_cls: Any = Session) -> None:
    """Register the hooks that write a transaction's events as it commits and drop them when it (or the
    savepoint they were published in) rolls back (idempotent)."""
    for name, fn in (("before_commit", _before_commit), ("after_transaction_create", _begun),
                     ("after_transaction_end", _ended), ("after_soft_rollback", _rolled_back)):
        if not sa_event.contains(session_cls, name, fn):
            sa_event.listen(session_cls, name, fn)


def read_after(session: Session, seq: int, *, limit: int = 500) -> list[Published]:
    """Up to ``limit`` events numbered after ``seq``, in order (the session's own unwritten ones written first)."""
    flush_events(session)
    rows = session.scalars(select(Event).where(Event.seq > seq).order_by(Event.seq).limit(limit)).all()
    return [_published(e) for e in rows]


def last_seq(session: Session) -> int:
    """The number of the newest event; 0 when there is none."""
    flush_events(session)
    return int(session.scalar(select(func.max(Event.seq))) or 0)


def purge(session: Session, *, keep: timedelta, now: datetime | None = None) -> int:
    """Delete events older than ``keep`` (what they told of is stored where it belongs); how many."""
    result = session.execute(delete(Event).where(Event.created_at < (now or utcnow()) - keep))
    return int(getattr(result, "rowcount", 0) or 0)
