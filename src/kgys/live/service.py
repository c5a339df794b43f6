"""Live view and playback within the live domain: the viewing tickets, their expiry and checks, the reason a
viewer states and the range a playback asks for.

Opening a stream, the timeline and the segments a playback reaches build on cameras, accounts and recording:
they are :mod:`kgys.live.flows.viewing`. What a stream fetches is checked against the ticket issued there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import User
from kgys.errors import FieldError, PermissionDenied, ValidationFailed
from kgys.live import refusals, tickets
from kgys.validation import parse_time

TICKET_HOURS = 8
MAX_PLAYBACK = timedelta(hours=24)
MAX_TIMELINE = timedelta(days=7)
DEFAULT_SPAN = timedelta(hours=1)
REASON_MAX = 500


@dataclass(frozen=True)
class Credential:
    """What the caller signed in with: the raw value (to bind tickets) and when it stops being valid."""

    value: str
    kind: str  # cookie | bearer
    expires_at: datetime | None


def parse_range(raw_from: str | None, raw_to: str | None, *, now: datetime,
                limit: timedelta = MAX_PLAYBACK) -> tuple[datetime, datetime]:
    """[from, to) from query text: defaults to the last hour; ``to`` after ``from``; at most ``limit`` long."""
    end = parse_time(raw_to, "to") or now
    start = parse_time(raw_from, "from") or end - DEFAULT_SPAN
    if end <= start:
        raise ValidationFailed([FieldError("to", "must be after from")])
    if end - start > limit:
        raise ValidationFailed([FieldError.said("to", refusals.RANGE_HOURS,
                                                 hours=int(limit.total_seconds() // 3600))])
    return start, end


def require_reason(reason: str | None) -> str:
    """The stated reason, trimmed; ValidationFailed naming ``reason`` when missing or too long."""
    text = (reason or "").strip()
    if len(text) < 3:
        raise ValidationFailed([FieldError("reason", "state why you open this footage (at least 3 characters)")])
    if len(text) > REASON_MAX:
        raise ValidationFailed([FieldError.said("reason", refusals.AT_MOST, max_length=REASON_MAX)])
    return text


def expiry(credential: Credential, now: datetime) -> int:
    """When a ticket issued now for ``credential`` expires (epoch seconds): at most TICKET_HOURS, never after
    the credential itself."""
    cap = now + timedelta(hours=TICKET_HOURS)
    if credential.expires_at is not None:
        cap = min(cap, credential.expires_at)
    return int(cap.timestamp())


@dataclass(frozen=True)
class Opened:
    """A viewing session just opened: its signed ticket and when the ticket expires."""

    ticket: str
    expires: datetime


def credentials_version(session: Session, actor: Actor) -> int:
    """The actor's credentials version, which a ticket carries so that a revoked sign-in ends it."""
    user = session.get(User, actor.id) if actor.id is not None else None
    return user.credentials_version if user is not None else 0


def issue(key: str, ticket: tickets.Ticket) -> Opened:
    """A ticket signed with ``key``, with its expiry."""
    return Opened(tickets.encode(key, ticket), datetime.fromtimestamp(ticket.expires, UTC))


def check_ticket(*, key: str, token: str, credential: Credential | None, kind: str, camera_id: int,
                 now: datetime) -> tickets.Ticket:
    """The ticket of a stream request (HMAC only: no database)."""
    return tickets.decode(key, token, now=now.timestamp(), credential=credential.value if credential else None,
                          kind=kind, camera_id=camera_id)


ENDED = "the sign-in this stream was opened with has ended; open the camera again"


@dataclass(frozen=True)
class SignedIn:
    """Who a sign-in stands for now: the user and their credentials version."""

    user_id: int
    version: int


def check_signed_in(ticket: tickets.Ticket, holder: SignedIn | None) -> None:
    """The ticket was issued to this sign-in's user at their current credentials version (else 4403)."""
    if holder is None or holder.user_id != ticket.user_id or holder.version != ticket.version:
        raise PermissionDenied(ENDED)


def check_holder(*, session: Session, ticket: tickets.Ticket) -> None:
    """The ticket's user is still active and their sign-ins were not revoked since it was issued (a password
    reset, disable, role or scope change raises the credentials version): one primary-key read, for every
    segment request."""
    row = session.execute(select(User.is_active, User.credentials_version).where(User.id == ticket.user_id)).first() \
        if ticket.user_id is not None else None
    if row is None or not row[0] or row[1] != ticket.version:
        raise PermissionDenied(ENDED)
