"""Password hashing (argon2id) and TOTP (random tokens are :mod:`kgys.tokens`). Pure helpers, no database.

The password policy is in :mod:`kgys.accounts.passwords`.
"""

from __future__ import annotations

import hmac
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
TOTP_STEP = 30  # seconds
TOTP_DRIFT = 1  # steps accepted either side of now, for clock drift


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash."""
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the stored hash uses outdated parameters."""
    return _hasher.check_needs_rehash(stored)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str = "KGYS") -> str:
    """The otpauth:// URI an authenticator app imports."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer))


def totp_step(secret: str, code: str, *, now: float, after: int | None = None) -> int | None:
    """The time step (``now`` ± one step for clock drift) whose code ``code`` is, or None.

    A step at or before ``after`` (the user's last accepted one) is never matched: each code works once,
    and once a code is used no older one works.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP)
    for step in range(current - TOTP_DRIFT, current + TOTP_DRIFT + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def totp_valid(secret: str, code: str, now: float | None = None) -> bool:
    """Whether ``code`` is a TOTP code of now (±1 step), ignoring replay (see :func:`totp_step`)."""
    return totp_step(secret, code, now=time.time() if now is None else now) is not None
