"""The kgys error tree.

Every domain raises one of these; the HTTP layer maps them to status codes and the CLI to messages.

    KgysError
    ├── NotFound            – no such object, or it is outside the caller's scope (404)
    ├── PermissionDenied    – the caller's role does not allow the action (403)
    ├── AuthenticationError – bad credentials, locked account, missing second factor (401)
    ├── ValidationFailed    – input is wrong; carries a list of FieldError (422)
    ├── Conflict            – the object changed meanwhile or a natural key is taken (409)
    ├── Busy                – the database or the server is overloaded now; retry later (503, Retry-After)
    ├── ConfigurationError  – settings or key material are wrong (500 at start, never per request)
    ├── IntegrityFailure    – stored data does not verify (audit chain, hashes)
    └── Unavailable         – an outside service (an audit witness) failed or did not answer in time
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kgys.said import Said


class KgysError(Exception):
    """Root of every error kgys raises on purpose."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class NotFound(KgysError):
    """No such object, or the caller may not know it exists."""


class PermissionDenied(KgysError):
    """The caller's role does not allow this action."""


class AuthenticationError(KgysError):
    """Bad credentials, a locked account or a missing second factor."""


class Conflict(KgysError):
    """The object changed meanwhile, or a natural key is already taken."""


class Gone(KgysError):
    """The object was there but is no more: a one-time link already used, or expired."""


class Busy(KgysError):
    """The database or the server is too busy to take this now; the same request may succeed later.

    ``retry_after`` (seconds) is what the client is told to wait.
    """

    def __init__(self, message: str, *, retry_after: int = 1, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class ConfigurationError(KgysError):
    """Settings or key material are unusable."""


class IntegrityFailure(KgysError):
    """Stored data does not verify."""


class Unavailable(KgysError):
    """An outside service (an audit witness) failed or did not answer in time; the caller retries later."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (and, for imports, one row)."""

    field: str
    message: str
    row: int | None = None
    value: str | None = None
    msgid: str | None = None  # a message built around values: its id in the catalogues, and the values
    params: dict[str, Any] | None = None

    @classmethod
    def said(cls, field: str, said: Said, *, row: int | None = None, value: str | None = None,
             **params: Any) -> FieldError:
        """A problem told by a sentence with values (:mod:`kgys.said`): the English message, and the sentence's
        id and values so that a page says it in its reader's language."""
        return cls(field, said.english(**params), row=row, value=value, msgid=said.msgid, params=params)

    def as_dict(self) -> dict[str, Any]:
        """Plain form for JSON and templates (the API's answer leaves ``msgid`` and ``params`` out)."""
        data: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.row is not None:
            data["row"] = self.row
        if self.value is not None:
            data["value"] = self.value
        if self.msgid is not None:
            data["msgid"], data["params"] = self.msgid, dict(self.params or {})
        return data

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field}: {self.message}"


@dataclass
class ValidationFailed(KgysError):
    """Input is wrong; ``errors`` names every field (and row) at fault."""

    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        summary = "; ".join(str(e) for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        KgysError.__init__(self, f"invalid input: {summary}{more}")

    def __str__(self) -> str:
        return self.message
