"""Bearer secrets handed out once (API tokens, browser sessions, device tokens): made at random, kept only as their
hash, so that the database alone lets no one in."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh random token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
