"""PINs and broker passwords of devices: made at random, kept only as scrypt hashes, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1


def new_password() -> str:
    """A random broker password for a device (shown once)."""
    return secrets.token_urlsafe(24)


def hash_secret(value: str) -> str:
    """``scrypt$n$r$p$salt$hash`` of ``value``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(value.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_secret(value: str, stored: str) -> bool:
    """Whether ``value`` is the secret ``stored`` is the hash of (False for an empty or unknown hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(value.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))
