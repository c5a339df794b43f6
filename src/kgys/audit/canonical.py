"""Canonical JSON (RFC 8785 for the values kgys puts in audit entries) and hashing.

Audit payloads hold strings, integers, booleans, null, lists and objects with ASCII keys; floats and
datetimes are turned into strings first. For that domain, sorted keys, no whitespace and UTF-8 output
is exactly the JSON Canonicalization Scheme, and the standard library does it at C speed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64


def normalise(value: Any) -> Any:
    """Turn a value into the canonical domain: floats, decimals and dates become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [normalise(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of an already normalised value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical form of ``value`` (normalised first)."""
    return hashlib.sha256(canonical_json(normalise(value))).hexdigest()


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """The hash of an entry: SHA-256 over the previous hash, a newline and the canonical payload."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical_json(payload))
    return h.hexdigest()


def entry_payload(
    *,
    seq: int,
    ts: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    site_id: int | None,
    reason: str | None,
    legal_basis: str | None,
    before_digest: str | None,
    after_digest: str | None,
    details: str,
) -> dict[str, Any]:
    """The fields an entry's hash covers, in canonical form."""
    return {
        "seq": seq,
        "ts": ts.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "site_id": site_id,
        "reason": reason,
        "legal_basis": legal_basis,
        "before": before_digest,
        "after": after_digest,
        "details": details,
    }
