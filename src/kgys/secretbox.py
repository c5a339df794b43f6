"""Secrets at rest: Fernet encryption under a key kept in a file outside the database.

One key file (``security.credentials_key_path``) seals every stored secret that kgys must read back:
device credentials (:class:`CredentialBox`) and the users' TOTP secrets (:mod:`kgys.accounts`).
A stolen database file alone gives none of them away.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from kgys.errors import ConfigurationError

PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80, then the timestamp's high bytes)


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens short secrets (text) with the installation's key."""

    fernet: Fernet

    def seal_text(self, text: str) -> str:
        """Encrypt ``text`` for storage."""
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open_text(self, token: str) -> str:
        """Decrypt a stored value; ConfigurationError when the key does not fit."""
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise ConfigurationError("a stored secret cannot be decrypted with the configured key") from exc


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing and make it readable by its owner only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def load_or_create_key(path: Path, create: bool = True) -> Fernet:
    """The Fernet key in the file at ``path``, creating it (mode 0600, folder 0700) when missing."""
    if not path.exists():
        if not create:
            raise ConfigurationError(f"credentials key not found at {path}")
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    try:
        return Fernet(path.read_bytes().strip())
    except ValueError as exc:
        raise ConfigurationError(f"credentials key at {path} is not a Fernet key") from exc


@dataclass(frozen=True)
class Credentials:
    """A username and password for a camera or recorder."""

    username: str
    password: str

    def masked(self) -> str:
        """What a person may see: the username's ends and no password."""
        u = self.username
        shown = u if len(u) <= 2 else f"{u[0]}{'*' * (len(u) - 2)}{u[-1]}"
        return f"{shown} / ••••••"


@dataclass(frozen=True)
class CredentialBox(SecretBox):
    """Encrypts and decrypts credentials (and, as a :class:`SecretBox`, any other stored secret)."""

    def seal(self, creds: Credentials) -> str:
        """Encrypt for storage."""
        return self.seal_text(json.dumps({"u": creds.username, "p": creds.password}))

    def open(self, token: str) -> Credentials:
        """Decrypt a stored value."""
        try:
            data = json.loads(self.open_text(token))
        except (ConfigurationError, ValueError) as exc:
            raise ConfigurationError("stored credentials cannot be decrypted with the configured key") from exc
        return Credentials(username=str(data["u"]), password=str(data["p"]))


def load_or_create_box(path: Path, create: bool = True) -> CredentialBox:
    """The box for the key file at ``path``, creating the key (mode 0600) when missing."""
    return CredentialBox(load_or_create_key(path, create))
