"""Automatic audit of writes: every insert, update or delete of an :class:`Audited` model appends an
entry in the same flush, with the actor and reason the caller put on the session via
:func:`acting_as`. A flush of audited changes with no actor on the session is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from kgys.accounts.actor import Actor
from kgys.audit import service
from kgys.audit.actions import changed
from kgys.audit.canonical import digest, normalise
from kgys.errors import ConfigurationError

ACTOR_KEY = "kgys.actor"
REASON_KEY = "kgys.reason"
LEGAL_BASIS_KEY = "kgys.legal_basis"


class Audited:
    """Mixin for tables whose every change is written to the audit log.

    ``__audit_type__`` names the object in entries; ``__audit_secret__`` lists columns whose values are
    never copied into the log (only that they changed); ``__audit_derived__`` lists columns computed from
    others (a search form, say), left out of entries altogether.
    """

    __audit_type__: str = ""
    __audit_secret__: frozenset[str] = frozenset()
    __audit_derived__: frozenset[str] = frozenset()

    def audit_site_id(self) -> int | None:
        """The site this object belongs to, so entries can be scoped; None if not site-bound."""
        return None

    def audit_object_id(self) -> str:
        """The natural identifier shown in entries: the primary key (already set when a new row is flushed)."""
        key = inspect(self).mapper.primary_key_from_instance(self)
        return ",".join(str(v) for v in key if v is not None)


def set_actor(session: Session, actor: Actor, reason: str | None = None, legal_basis: str | None = None) -> None:
    """Attribute the session's coming changes to ``actor``."""
    session.info[ACTOR_KEY] = actor
    session.info[REASON_KEY] = reason
    session.info[LEGAL_BASIS_KEY] = legal_basis


@contextmanager
def acting_as(session: Session, actor: Actor, reason: str | None = None,
              legal_basis: str | None = None) -> Iterator[Session]:
    """Within the block, attribute changes to ``actor`` with ``reason`` (and ``legal_basis``); the one way
    code other than the request boundary names who is acting."""
    old = (session.info.get(ACTOR_KEY), session.info.get(REASON_KEY), session.info.get(LEGAL_BASIS_KEY))
    set_actor(session, actor, reason, legal_basis)
    try:
        yield session
    finally:
        session.info[ACTOR_KEY], session.info[REASON_KEY], session.info[LEGAL_BASIS_KEY] = old


def current_actor(session: Session) -> Actor | None:
    """The actor the session's changes are attributed to."""
    actor: Actor | None = session.info.get(ACTOR_KEY)
    return actor


def _snapshots(obj: Audited, op: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """Before and after snapshots and the changed column names, from one walk over the attribute histories.

    A column's after value is its current value; its before value is what the flush replaced (None for a
    column first set on a new row). Derived columns are left out of both.
    """
    state = inspect(obj)
    values = state.dict
    derived = obj.__audit_derived__
    before: dict[str, Any] | None = None if op == "create" else {}
    after: dict[str, Any] | None = None if op == "delete" else {}
    fields: list[str] = []
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in derived:
            continue
        hist = state.get_history(key, PASSIVE_NO_INITIALIZE)
        current = values[key] if key in values else getattr(obj, key)
        now = normalise(current)
        if after is not None:
            after[key] = now
        if before is not None:
            if hist.deleted:
                before[key] = normalise(hist.deleted[0])
            elif hist.added and not hist.unchanged:
                before[key] = None
            else:
                before[key] = now
        if op == "update" and (hist.added or hist.deleted):
            fields.append(key)
    fields.sort()
    return before, after, fields


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    items: list[tuple[str, Audited]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            items.append(("create", obj))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            items.append(("update", obj))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            items.append(("delete", obj))
    if not items:
        return
    actor = current_actor(session)
    if actor is None:
        raise ConfigurationError("audited change flushed without an actor on the session")
    reason = session.info.get(REASON_KEY)
    legal = session.info.get(LEGAL_BASIS_KEY)
    entries: list[service.NewEntry] = []
    for op, obj in items:
        before, after, fields = _snapshots(obj, op)
        if op == "update" and not fields:
            continue
        details: dict[str, Any] = {}
        if fields:
            secret = obj.__audit_secret__
            details["fields"] = fields
            details["changes"] = {
                f: {"from": (before or {}).get(f), "to": (after or {}).get(f)} for f in fields if f not in secret
            }
        entries.append(service.NewEntry(
            action=changed(obj.__audit_type__, op),
            object_type=obj.__audit_type__,
            object_id=obj.audit_object_id(),
            site_id=obj.audit_site_id(),
            reason=reason,
            legal_basis=legal,
            before_digest=digest(before) if before is not None else None,
            after_digest=digest(after) if after is not None else None,
            details=details,
        ))
    service.append_many(session, actor=actor, entries=entries)


def install(session_cls: Any = Session) -> None:
    """Register the audit hooks on a Session class (idempotent)."""
    if not event.contains(session_cls, "after_flush", _after_flush):
        event.listen(session_cls, "after_flush", _after_flush)
    service.install_session_hooks(session_cls)
