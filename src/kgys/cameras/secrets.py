"""Device credentials at rest, sealed with the installation's key (see :mod:`kgys.secretbox`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kgys.errors import ConfigurationError
from kgys.secretbox import SecretBox, load_or_create_key


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
