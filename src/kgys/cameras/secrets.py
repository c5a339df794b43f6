"""Device credentials at rest: Fernet-encrypted with a key kept in a file outside the database."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from kgys.errors import ConfigurationError


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
class CredentialBox:
    """Encrypts and decrypts credentials."""

    fernet: Fernet

    def seal(self, creds: Credentials) -> str:
        """Encrypt for storage."""
        data = json.dumps({"u": creds.username, "p": creds.password}).encode("utf-8")
        return self.fernet.encrypt(data).decode("ascii")

    def open(self, token: str) -> Credentials:
        """Decrypt a stored value."""
        try:
            data = json.loads(self.fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError) as exc:
            raise ConfigurationError("stored credentials cannot be decrypted with the configured key") from exc
        return Credentials(username=str(data["u"]), password=str(data["p"]))


def load_or_create_box(path: Path, create: bool = True) -> CredentialBox:
    """The box for the key file at ``path``, creating the key (mode 0600) when missing."""
    if not path.exists():
        if not create:
            raise ConfigurationError(f"credentials key not found at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    try:
        return CredentialBox(Fernet(path.read_bytes().strip()))
    except ValueError as exc:
        raise ConfigurationError(f"credentials key at {path} is not a Fernet key") from exc
