"""The exact byte rules kgys signs and hashes by, written out again so that this package needs nothing from kgys.

- canonical JSON: sorted keys, no whitespace, UTF-8 (RFC 8785 for the values kgys writes: strings, integers,
  booleans, null, lists and objects with ASCII keys; no floats);
- an audit entry's hash: ``SHA-256(prev_hash + "\\n" + canonical_json(payload))``;
- a checkpoint's signed bytes (the canonical JSON of its fields) and its place in the checkpoint chain:
  ``SHA-256(prev_checkpoint_hash + "\\n" + signed_bytes)``;
- a key's id: the first 16 hex digits of SHA-256 over the raw 32-byte Ed25519 public key;
- the bytes an evidence package's signature covers: ``PACKAGE_CONTEXT`` followed by the manifest's canonical JSON.

kgys keeps its own copy (``kgys.audit.canonical``, ``kgys.audit.signing``, ``kgys.evidence.package``); tests of
both run the same inputs through each and require the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_HASH = "0" * 64
PACKAGE_CONTEXT = b"kgys-evidence-package/1\n"
ENTRY_FIELDS = ("seq", "ts", "actor_id", "actor", "action", "object_type", "object_id", "site_id", "reason",
                "legal_basis", "before_digest", "after_digest", "details", "prev_hash", "entry_hash")
CHECKPOINT_FIELDS = ("seq", "entry_hash", "created_at", "key_id", "signature", "prev_checkpoint_hash")


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON value (sorted keys, no whitespace, non-ASCII kept as is)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash, a newline and the canonical payload, in hex."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical_json(payload))
    return h.hexdigest()


def entry_payload(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an audit entry (a record with :data:`ENTRY_FIELDS`) that its hash covers."""
    return {
        "seq": record["seq"], "ts": record["ts"], "actor_id": record["actor_id"], "actor": record["actor"],
        "action": record["action"], "object_type": record["object_type"], "object_id": record["object_id"],
        "site_id": record["site_id"], "reason": record["reason"], "legal_basis": record["legal_basis"],
        "before": record["before_digest"], "after": record["after_digest"], "details": record["details"],
    }


def entry_hash(record: Mapping[str, Any]) -> str:
    """An audit entry's hash recomputed from its content and the hash it names as the one before it."""
    return chain_hash(str(record["prev_hash"]), entry_payload(record))


def checkpoint_message(record: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers (checkpoints signed before chaining lack the previous hash)."""
    fields: dict[str, Any] = {"created_at": record["created_at"], "entry_hash": record["entry_hash"],
                              "key_id": record["key_id"], "seq": record["seq"]}
    if record.get("prev_checkpoint_hash") is not None:
        fields["prev_checkpoint_hash"] = record["prev_checkpoint_hash"]
    return canonical_json(fields)


def checkpoint_hash(prev: str, message: bytes) -> str:
    """A checkpoint's hash in the checkpoint chain."""
    h = hashlib.sha256(prev.encode("ascii"))
    h.update(b"\n")
    h.update(message)
    return h.hexdigest()


def package_message(manifest: Any) -> bytes:
    """The bytes an evidence package's signature covers."""
    return PACKAGE_CONTEXT + canonical_json(manifest)


def key_id(public: Ed25519PublicKey) -> str:
    """A public key's short name: the first 16 hex digits of SHA-256 over its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class BadKey(ValueError):
    """A file that is not an Ed25519 public key in PEM form."""


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text; :class:`BadKey` saying why not."""
    try:
        key: Any = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise BadKey(f"not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadKey("the public key is not an Ed25519 key")
    return key


def signature_valid(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` (base64) is a valid Ed25519 signature of ``message`` by ``public``."""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True
