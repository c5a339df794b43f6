"""Ed25519 key material for audit checkpoints. The private key lives in a file, never in the database."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kgys.audit.canonical import canonical_json
from kgys.errors import ConfigurationError


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of SHA-256 over its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(seq: int, entry_hash: str, created_at: str, kid: str,
                       prev_checkpoint_hash: str | None = None) -> bytes:
    """The exact bytes a checkpoint signature covers.

    Checkpoints signed since checkpoints are chained also cover ``prev_checkpoint_hash``; those signed
    before (``None``) cover the four other fields only.
    """
    fields: dict[str, Any] = {"created_at": created_at, "entry_hash": entry_hash, "key_id": kid, "seq": seq}
    if prev_checkpoint_hash is not None:
        fields["prev_checkpoint_hash"] = prev_checkpoint_hash
    return canonical_json(fields)


def checkpoint_hash(prev: str, message: bytes) -> str:
    """A checkpoint's place in the checkpoint chain: SHA-256 over the hash before, a newline and its signed bytes."""
    h = hashlib.sha256(prev.encode("ascii"))
    h.update(b"\n")
    h.update(message)
    return h.hexdigest()


@dataclass(frozen=True)
class Signer:
    """Signs checkpoints with the configured private key."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        """The matching public key."""
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        """Name of the public key."""
        return key_id(self.public)

    def sign(self, message: bytes) -> str:
        """Base64 signature over ``message``."""
        return base64.b64encode(self.private.sign(message)).decode("ascii")


def load_or_create_signer(path: Path, create: bool = True) -> Signer:
    """Load the PEM private key at ``path``; create it (mode 0600) when missing and ``create``."""
    if not path.exists():
        if not create:
            raise ConfigurationError(f"audit signing key not found at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return Signer(private)
    try:
        loaded: Any = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"audit signing key at {path} is not a PEM private key: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"audit signing key at {path} is not an Ed25519 key")
    return Signer(loaded)


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM text, for publishing."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Read a published PEM public key."""
    try:
        key: Any = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ConfigurationError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError("public key is not Ed25519")
    return key


def signature_valid(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is a valid signature of ``message``."""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
