"""The one way entries enter the audit log.

``append`` writes an entry on the session's own connection, so it commits or rolls back with the
change it records. Appends are serialised per database (an advisory lock on PostgreSQL, the single
writer on SQLite) so the chain never forks. Changes to audited models are appended automatically by
:mod:`kgys.audit.mechanism`; reads of personal data call :func:`record_access`.

A signed checkpoint also signs the hash of the checkpoint before it (:mod:`kgys.audit.checkpoints`), and
is queued, in the same transaction, for every configured witness (:mod:`kgys.audit.witness` hands it over
once the transaction has committed).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, Connection, Select, event, func, insert, or_, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import checkpoints as cp_rules
from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash, entry_payload, normalise
from kgys.audit.models import AuditCheckpoint, AuditEntry, WitnessDelivery
from kgys.audit.report import VerifyReport
from kgys.audit.signing import Signer
from kgys.audit.verify import verify_database
from kgys.db import utcnow
from kgys.errors import PermissionDenied

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x6B677973  # "kgys"
_TAIL = "kgys.audit.tail"
SIGNER_KEY = "kgys.audit.signer"
CHECKPOINT_EVERY_KEY = "kgys.audit.checkpoint_every"
WITNESSES_KEY = "kgys.audit.witnesses"  # names of the configured witnesses, each gets every checkpoint


@dataclass
class _Tail:
    seq: int
    entry_hash: str
    checkpoint_seq: int
    checkpoint_hash: str | None = None  # hash of the newest checkpoint, read when the next one is signed


def _clear_tail(session: Session, *_args: Any) -> None:
    session.info.pop(_TAIL, None)


def install_session_hooks(session_cls: Any) -> None:
    """Forget the cached chain head whenever a transaction ends (idempotent)."""
    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        if not event.contains(session_cls, name, _clear_tail):
            event.listen(session_cls, name, _clear_tail)


@functools.cache
def _tail_statement() -> Select[int, str, int | None]:
    """The newest entry's seq and hash with the newest checkpoint's seq: one statement, one snapshot."""
    newest_checkpoint = select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1).scalar_subquery()
    return select(AuditEntry.seq, AuditEntry.entry_hash, newest_checkpoint).order_by(AuditEntry.seq.desc()).limit(1)


def _tail(session: Session, conn: Connection) -> _Tail:
    cached: _Tail | None = session.info.get(_TAIL)
    if cached is not None:
        return cached
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    row = conn.execute(_tail_statement()).first()  # (no entry: no checkpoint either)
    tail = _Tail(seq=row[0] if row else 0, entry_hash=row[1] if row else GENESIS_HASH,
                 checkpoint_seq=(row[2] or 0) if row else 0)
    session.info[_TAIL] = tail
    return tail


@dataclass(frozen=True)
class _EntryInsert:
    sql: str
    order: tuple[str, ...] | None  # column order for positional paramstyles, None for named
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]


@functools.lru_cache(maxsize=8)
def _entry_insert(dialect: Dialect) -> _EntryInsert:
    compiled = insert(AuditEntry).compile(dialect=dialect)
    processors = tuple((c.key, proc) for c in AuditEntry.__table__.columns
                       if (proc := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return _EntryInsert(sql=compiled.string, order=order, processors=processors)


def _bind(stmt: _EntryInsert, values: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
    for key, proc in stmt.processors:
        values[key] = proc(values[key])
    return values if stmt.order is None else tuple(values[k] for k in stmt.order)


def _insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """INSERT entries with the statement compiled once per dialect: one execute, or one executemany (which
    psycopg sends as one pipeline: a single round trip)."""
    stmt = _entry_insert(conn.dialect)
    params = [_bind(stmt, values) for values in rows]
    if len(params) == 1:
        conn.exec_driver_sql(stmt.sql, params[0])
    elif params:
        conn.exec_driver_sql(stmt.sql, params)


@dataclass(frozen=True)
class NewEntry:
    """What the caller says about one entry of :func:`append_many` (the chain fields are filled in)."""

    action: str
    object_type: str
    object_id: str | int
    site_id: int | None = None
    reason: str | None = None
    legal_basis: str | None = None
    before_digest: str | None = None
    after_digest: str | None = None
    details: dict[str, Any] | None = None


def _chain(tail: _Tail, actor: Actor, entry: NewEntry) -> dict[str, Any]:
    """The stored values of the entry after ``tail``, hashed onto it; advances ``tail``."""
    seq = tail.seq + 1
    ts = utcnow()
    object_id = str(entry.object_id)
    details_text = canonical_json(normalise(entry.details or {})).decode("utf-8")
    payload = entry_payload(
        seq=seq, ts=ts, actor_id=actor.id, actor=actor.username, action=entry.action,
        object_type=entry.object_type, object_id=object_id, site_id=entry.site_id, reason=entry.reason,
        legal_basis=entry.legal_basis, before_digest=entry.before_digest, after_digest=entry.after_digest,
        details=details_text,
    )
    h = chain_hash(tail.entry_hash, payload)
    values = {
        "seq": seq, "ts": ts, "actor_id": actor.id, "actor": actor.username, "action": entry.action,
        "object_type": entry.object_type, "object_id": object_id, "site_id": entry.site_id,
        "reason": entry.reason, "legal_basis": entry.legal_basis, "before_digest": entry.before_digest,
        "after_digest": entry.after_digest, "details": details_text, "prev_hash": tail.entry_hash, "entry_hash": h,
    }
    tail.seq, tail.entry_hash = seq, h
    return values


def append_many(session: Session, *, actor: Actor, entries: Sequence[NewEntry]) -> list[int]:
    """Append entries in order in the session's transaction with one executemany; return their seqs.

    The result is exactly that of calling :func:`append` for each in turn: the same hashes, and signed
    checkpoints at the same sequence numbers.
    """
    if not entries:
        return []
    conn = session.connection()
    tail = _tail(session, conn)
    signer: Signer | None = session.info.get(SIGNER_KEY)
    every: int = session.info.get(CHECKPOINT_EVERY_KEY, 1000)
    rows: list[dict[str, Any]] = []
    marks: list[tuple[int, str]] = []
    for entry in entries:
        values = _chain(tail, actor, entry)
        rows.append(values)
        if signer is not None and tail.seq - tail.checkpoint_seq >= every:
            marks.append((tail.seq, tail.entry_hash))
            tail.checkpoint_seq = tail.seq
    seqs = [values["seq"] for values in rows]
    _insert_entries(conn, rows)
    if signer is not None:
        for seq, h in marks:
            _write_checkpoint(session, conn, tail, signer, seq, h)
    return seqs


def append(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    site_id: int | None = None,
    reason: str | None = None,
    legal_basis: str | None = None,
    before_digest: str | None = None,
    after_digest: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry in the session's transaction and return its sequence number."""
    return append_many(session, actor=actor, entries=[NewEntry(
        action=action, object_type=object_type, object_id=object_id, site_id=site_id, reason=reason,
        legal_basis=legal_basis, before_digest=before_digest, after_digest=after_digest, details=details,
    )])[0]


def stored_checkpoint_head(conn: Connection) -> str:
    """The hash of the newest stored checkpoint (64 zeros when there is none)."""
    cols = (AuditCheckpoint.seq, AuditCheckpoint.entry_hash, AuditCheckpoint.created_at, AuditCheckpoint.key_id,
            AuditCheckpoint.signature, AuditCheckpoint.prev_checkpoint_hash)
    last = conn.execute(select(*cols).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(1)).first()
    if last is None:
        return GENESIS_HASH
    if last[5] is not None:
        return cp_rules.own_hash(cp_rules.Checkpoint(*last), GENESIS_HASH)
    # the newest was signed before checkpoints were chained: hash the whole unchained run in order
    return cp_rules.chain_head(cp_rules.Checkpoint(*r) for r in conn.execute(select(*cols)))


def _write_checkpoint(session: Session, conn: Connection, tail: _Tail, signer: Signer, seq: int,
                      entry_hash: str) -> None:
    prev = tail.checkpoint_hash if tail.checkpoint_hash is not None else stored_checkpoint_head(conn)
    cp = cp_rules.Checkpoint(seq=seq, entry_hash=entry_hash, created_at=utcnow(), key_id=signer.key_id,
                             signature="", prev_checkpoint_hash=prev)
    cp = cp._replace(signature=signer.sign(cp_rules.message(cp)))
    conn.execute(insert(AuditCheckpoint), {
        "seq": seq, "entry_hash": entry_hash, "created_at": cp.created_at, "key_id": cp.key_id,
        "signature": cp.signature, "prev_checkpoint_hash": prev,
    })
    own = cp_rules.own_hash(cp, prev)
    tail.checkpoint_hash = own
    witnesses: tuple[str, ...] = session.info.get(WITNESSES_KEY, ())
    if witnesses:
        payload = canonical_json(cp_rules.as_record(cp, own)).decode("utf-8")
        conn.execute(insert(WitnessDelivery), [
            {"witness": name, "checkpoint_seq": seq, "payload": payload, "created_at": cp.created_at,
             "attempts": 0, "next_attempt_at": cp.created_at} for name in witnesses
        ])


def checkpoint(session: Session, signer: Signer) -> int | None:
    """Sign the current chain head if entries were added since the last checkpoint; return its seq."""
    conn = session.connection()
    tail = _tail(session, conn)
    if tail.seq == 0 or tail.seq == tail.checkpoint_seq:
        return None
    _write_checkpoint(session, conn, tail, signer, tail.seq, tail.entry_hash)
    tail.checkpoint_seq = tail.seq
    return tail.seq


def record_access(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    site_id: int | None,
    reason: str | None,
    legal_basis: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Record a read of personal data (live view, playback, plate search, export)."""
    return append(
        session, actor=actor, action=action, object_type=object_type, object_id=object_id,
        site_id=site_id, reason=reason, legal_basis=legal_basis, details=details,
    )


@dataclass(frozen=True)
class EntryFilter:
    """What an audit reader asks for, before any site scope. ``action`` matches exactly or as a prefix before a
    dot ("site" finds "site.create" and "site.update"); ``start`` is included and ``end`` is not (aware times);
    ``text`` is found, ignoring case, in the details, reason, legal basis, object id or user; ``through_seq``
    leaves out entries appended after that one (an export of what a screen showed)."""

    action: str | None = None
    username: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    text: str | None = None
    through_seq: int | None = None


def entries_filter(*, actor: Actor, action: str | None = None, username: str | None = None,
                   match: EntryFilter | None = None) -> list[ColumnElement[bool]]:
    """The conditions on entries an audit reader asked for (``match``, or only ``action`` and ``username``), before
    any site scope (the sites domain adds it: :func:`kgys.sites.flows.audit.audit_entries`)."""
    actor.require(Perm.AUDIT_READ)
    m = match if match is not None else EntryFilter(action=action, username=username)
    where: list[ColumnElement[bool]] = []
    if m.action:
        where.append(or_(AuditEntry.action == m.action, AuditEntry.action.startswith(f"{m.action}.", autoescape=True)))
    if m.username:
        where.append(AuditEntry.actor == m.username)
    if m.object_type:
        where.append(AuditEntry.object_type == m.object_type)
    if m.object_id:
        where.append(AuditEntry.object_id == m.object_id)
    if m.start is not None:
        where.append(AuditEntry.ts >= m.start)
    if m.end is not None:
        where.append(AuditEntry.ts < m.end)
    if m.text:
        where.append(or_(*(col.icontains(m.text, autoescape=True) for col in (
            AuditEntry.details, AuditEntry.reason, AuditEntry.legal_basis, AuditEntry.object_id, AuditEntry.actor))))
    if m.through_seq is not None:
        where.append(AuditEntry.seq <= m.through_seq)
    return where


def head_seq(session: Session) -> int:
    """The sequence number of the newest entry (0 for an empty log)."""
    return int(session.scalar(select(func.max(AuditEntry.seq))) or 0)


def verify_log(
    *, session: Session, actor: Actor, public_key: Ed25519PublicKey | None, stop_at_first: bool = True,
    tail: cp_rules.TailPolicy | None = None,
) -> VerifyReport:
    """Recompute the whole chain and check the signed checkpoints (and the unsigned tail against ``tail``);
    needs a global scope."""
    actor.require(Perm.AUDIT_READ)
    if not actor.scope.is_global:
        raise PermissionDenied("verifying the whole audit log needs a country-wide scope")
    return verify_database(session.connection(), public_key, stop_at_first=stop_at_first, tail=tail)

