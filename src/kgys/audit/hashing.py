"""Recomputing entry hashes from stored rows, with a shortcut for rows of plain values.

A row is a tuple in :data:`ENTRY_COLUMNS` order. :func:`entry_hash_of` gives the same hash as
``chain_hash(prev_hash, entry_payload(...))`` but builds the canonical text directly where every value is
of the plain type kgys stores; :func:`fast_path_agrees` guards that shortcut against format drift.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from kgys.audit.canonical import canonical_json, chain_hash, entry_payload
from kgys.audit.models import AuditEntry

ENTRY_COLUMNS = (
    AuditEntry.seq, AuditEntry.ts, AuditEntry.actor_id, AuditEntry.actor, AuditEntry.action,
    AuditEntry.object_type, AuditEntry.object_id, AuditEntry.site_id, AuditEntry.reason,
    AuditEntry.legal_basis, AuditEntry.before_digest, AuditEntry.after_digest, AuditEntry.details,
    AuditEntry.prev_hash, AuditEntry.entry_hash,
)


def payload_of(row: tuple[Any, ...]) -> dict[str, Any]:
    """The hashed payload of a row (``ts`` as an aware datetime or its canonical text)."""
    ts: datetime | str = row[1]
    return entry_payload(
        seq=row[0], ts=datetime.fromisoformat(ts) if isinstance(ts, str) else ts, actor_id=row[2], actor=row[3],
        action=row[4], object_type=row[5], object_id=row[6], site_id=row[7], reason=row[8], legal_basis=row[9],
        before_digest=row[10], after_digest=row[11], details=row[12],
    )


_NULLABLE_STR = frozenset({str, type(None)})
_NULLABLE_INT = frozenset({int, type(None)})
_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) applies to each string


def fast_payload_text(row: tuple[Any, ...] | Any) -> str | None:
    """The canonical payload text of a row built directly (same bytes as ``canonical_json(payload_of(row))``);
    None when a value is not of the plain type the shortcut covers. ``ts`` is an aware UTC datetime or
    already its text (``isoformat(timespec="microseconds")``)."""
    seq, ts, actor_id, actor, action, object_type, object_id, site_id, reason, legal, before, after, details = row[:13]
    if type(ts) is str:
        ts_text = ts
    elif type(ts) is datetime:
        ts_text = ts.isoformat(timespec="microseconds")
    else:
        return None
    if not (type(seq) is int and type(actor_id) in _NULLABLE_INT
            and type(site_id) in _NULLABLE_INT and type(actor) is str and type(action) is str
            and type(object_type) is str and type(object_id) is str and type(details) is str
            and type(reason) in _NULLABLE_STR and type(legal) in _NULLABLE_STR
            and type(before) in _NULLABLE_STR and type(after) in _NULLABLE_STR):
        return None
    enc = _encode_str
    return "".join((
        '{"action":', enc(action),
        ',"actor":', enc(actor),
        ',"actor_id":', "null" if actor_id is None else str(actor_id),
        ',"after":', "null" if after is None else enc(after),
        ',"before":', "null" if before is None else enc(before),
        ',"details":', enc(details),
        ',"legal_basis":', "null" if legal is None else enc(legal),
        ',"object_id":', enc(object_id),
        ',"object_type":', enc(object_type),
        ',"reason":', "null" if reason is None else enc(reason),
        ',"seq":', str(seq),
        ',"site_id":', "null" if site_id is None else str(site_id),
        ',"ts":"', ts_text, '"}',
    ))


@functools.cache
def fast_path_agrees() -> bool:
    """Whether the shortcut still produces exactly the canonical payload (guards against format drift)."""
    probes = [
        (7, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), 3, "ayşe", "site.update", "site", "S-1", 9,
         'gerekçe "alıntı" \\ \n', None, "a" * 64, None, '{"k":"v"}', "0" * 64, ""),
        (8, datetime(2026, 1, 2, tzinfo=UTC), None, "cli:root", "x", "y", "", None, None, "kanun\u2028", None,
         "b" * 64, "{}", "0" * 64, ""),
        (9, "2026-01-02T03:04:05.000006+00:00", 1, "a", "b", "c", "d", 2, None, None, None, None, "{}", "0" * 64, ""),
    ]
    return all(fast_payload_text(r) == canonical_json(payload_of(r)).decode("utf-8") for r in probes)


def slow_hash(row: tuple[Any, ...] | Any) -> str:
    """The entry hash of a row through the general canonical JSON (the reference the shortcut must match)."""
    return chain_hash(row[13], payload_of(row))


def entry_hash_of(row: tuple[Any, ...] | Any) -> str:
    """``chain_hash(row.prev_hash, payload)`` for a row, by the shortcut where its values are plain."""
    text = fast_payload_text(row)
    if text is None:
        return chain_hash(row[13], payload_of(row))
    h = hashlib.sha256(row[13].encode("ascii"))
    h.update(b"\n")
    h.update(text.encode("utf-8"))
    return h.hexdigest()
