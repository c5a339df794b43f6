"""Viewing tickets: short-lived, signed, bound to the viewer's credential. Pure.

Opening a live stream or a playback checks the role, the scope and (for playback) the reason, writes one
audit entry and issues a ticket. The ticket names the viewing session (``view``), the camera and, for
playback, the range. It travels in the playlist's and segments' URLs, so a segment request is checked
with one HMAC and no database query. It is bound to the hash of the caller's session cookie or bearer
token: a copied URL is useless without the credential it was issued to. It expires with that credential
at the latest. It also carries the user's credentials version (``version``): a password reset, a disable or
a change of role or scope raises that version, and every request of a stream (segments too) compares it
with the user's current one in one primary-key read, so revoking a user stops their open streams at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any

from kgys.errors import PermissionDenied

LABEL = b"kgys-view-ticket-v1"


@dataclass(frozen=True)
class Ticket:
    """What a ticket grants."""

    kind: str  # live | playback
    view: str  # the viewing session this ticket belongs to
    camera_id: int
    user_id: int | None
    binding: str  # hash of the credential it was issued to
    expires: int  # unix seconds
    start: int | None = None  # playback range, unix seconds
    end: int | None = None
    version: int = 0  # the user's credentials version when the ticket was issued


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(hashlib.sha256(LABEL + key.encode()).digest(), body.encode(), hashlib.sha256).digest())


def binding_of(credential: str) -> str:
    """The part of a credential a ticket is bound to (a hash; the credential itself is never in a URL)."""
    return hashlib.sha256(b"kgys-ticket-binding:" + credential.encode()).hexdigest()[:32]


def encode(key: str, ticket: Ticket) -> str:
    """The signed, URL-safe form of ``ticket``."""
    body = _b64(json.dumps(asdict(ticket), separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key, body)}"


def decode(key: str, token: str, *, now: float, credential: str | None, kind: str, camera_id: int) -> Ticket:
    """The ticket in ``token`` if it is genuine, unexpired, of ``kind``, for ``camera_id`` and presented with
    the credential it was issued to; PermissionDenied otherwise."""
    body, _, mac = (token or "").partition(".")
    if not body or not hmac.compare_digest(mac, _mac(key, body)):
        raise PermissionDenied("invalid viewing ticket; open the camera again")
    try:
        data: dict[str, Any] = json.loads(_unb64(body))
        ticket = Ticket(**data)
    except (ValueError, TypeError) as exc:
        raise PermissionDenied("invalid viewing ticket; open the camera again") from exc
    if ticket.expires <= now:
        raise PermissionDenied("the viewing ticket has expired; open the camera again")
    if ticket.kind != kind or ticket.camera_id != camera_id:
        raise PermissionDenied("this viewing ticket is for another stream")
    if credential is None or not hmac.compare_digest(ticket.binding, binding_of(credential)):
        raise PermissionDenied("this viewing ticket was issued to another sign-in")
    return ticket
