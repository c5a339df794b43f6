"""The password policy: long enough, not blank, not the user's own name, and hard to guess. Pure.

Guessability is zxcvbn's score (0 = guessed at once … 4 = very hard), which knows common passwords,
dictionary words, keyboard walks, dates and repeats; the lowest score accepted is a setting
(``security.password_min_score``). The messages are UI texts: pages show them in the user's language.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import zxcvbn

MAX_LENGTH = 256
GENERATED_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0, i)
SCORED_PREFIX = 72  # zxcvbn refuses longer input (ValueError); a 72-character prefix scores the same as the whole


def _(text: str) -> str:
    """Marks a UI text for the catalogues; pages translate it where they show it."""
    return text


BLANK = _("The password must not be empty or only spaces.")
TOO_SHORT = _("The password is too short; choose a longer one.")
TOO_LONG = _("The password is too long (at most 256 characters).")
HAS_NAME = _("The password must not contain the username or e-mail address.")
WEAK = _("The password is too easy to guess; use several unrelated words, or mix in digits and symbols.")


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must satisfy."""

    min_length: int = 10
    min_score: int = 3


def _personal_parts(username: str, email: str) -> list[str]:
    parts = [username.strip().lower(), email.strip().lower()]
    local = email.partition("@")[0].strip().lower()
    if local:
        parts.append(local)
    return [p for p in parts if len(p) >= 3]


def password_problem(password: str, *, policy: PasswordPolicy, username: str = "", email: str = "") -> str | None:
    """Why ``password`` is refused for the user ``username`` (with ``email``), or None when it is acceptable."""
    if not password.strip():
        return BLANK
    if len(password) < policy.min_length:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    parts = _personal_parts(username, email)
    lowered = password.lower()
    if any(p in lowered for p in parts):
        return HAS_NAME
    if zxcvbn.zxcvbn(password[:SCORED_PREFIX], user_inputs=parts)["score"] < policy.min_score:
        return WEAK
    return None


def generate_password(*, policy: PasswordPolicy, username: str = "", email: str = "") -> str:
    """A random password the policy accepts for ``username`` (with ``email``): groups of four letters and digits
    joined by hyphens, long enough for the policy's minimum (at least four groups, about 80 bits)."""
    groups = max(4, -(-policy.min_length // 5))
    while True:
        password = "-".join("".join(secrets.choice(GENERATED_ALPHABET) for _ in range(4)) for _ in range(groups))
        if password_problem(password, policy=policy, username=username, email=email) is None:
            return password
