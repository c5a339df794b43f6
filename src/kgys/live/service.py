"""Live view and playback: who may open which camera, the audit entry of each viewing, the viewing tickets,
the timeline of coverage and gaps, and the recorded segments a playback ticket reaches.

Opening a stream (live or playback) is the one place that checks the role, the scope and the reason and
writes ``record_access`` in the caller's transaction; what the stream then fetches is checked against the
ticket issued here. Services flush, never commit. Footage is read through :mod:`kgys.recording.footage`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.accounts.models import User
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras import service as camera_service
from kgys.cameras.models import Camera
from kgys.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from kgys.live import hls, tickets
from kgys.recording import footage
from kgys.sites import service as site_service
from kgys.sites.models import Site
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


def site_cameras(*, session: Session, actor: Actor, code: str) -> tuple[Site, list[Camera]]:
    """A site in scope and its cameras, for the live grid (needs LIVE_VIEW)."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.LIVE_VIEW)
    cams = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)).all()
    return site, list(cams)


def stream_codecs(session: Session, cameras: list[Camera]) -> dict[int, str]:
    """Each camera's codec as last measured on its recordings, else as declared (``h264`` | ``h265``)."""
    measured = footage.measured_codecs(session=session, camera_ids=[c.id for c in cameras])
    return {c.id: measured.get(c.id) or c.codec for c in cameras}


def parse_range(raw_from: str | None, raw_to: str | None, *, now: datetime,
                limit: timedelta = MAX_PLAYBACK) -> tuple[datetime, datetime]:
    """[from, to) from query text: defaults to the last hour; ``to`` after ``from``; at most ``limit`` long."""
    end = parse_time(raw_to, "to") or now
    start = parse_time(raw_from, "from") or end - DEFAULT_SPAN
    if end <= start:
        raise ValidationFailed([FieldError("to", "must be after from")])
    if end - start > limit:
        raise ValidationFailed([FieldError("to", f"the range may be at most {int(limit.total_seconds() // 3600)} "
                                                 "hours long")])
    return start, end


def require_reason(reason: str | None) -> str:
    """The stated reason, trimmed; ValidationFailed naming ``reason`` when missing or too long."""
    text = (reason or "").strip()
    if len(text) < 3:
        raise ValidationFailed([FieldError("reason", "state why you open this footage (at least 3 characters)")])
    if len(text) > REASON_MAX:
        raise ValidationFailed([FieldError("reason", f"at most {REASON_MAX} characters")])
    return text


def _expiry(credential: Credential, now: datetime) -> int:
    cap = now + timedelta(hours=TICKET_HOURS)
    if credential.expires_at is not None:
        cap = min(cap, credential.expires_at)
    return int(cap.timestamp())


@dataclass(frozen=True)
class Opened:
    """A viewing session just opened: its signed ticket and when the ticket expires."""

    ticket: str
    expires: datetime


def _version(session: Session, actor: Actor) -> int:
    user = session.get(User, actor.id) if actor.id is not None else None
    return user.credentials_version if user is not None else 0


def _issue(key: str, ticket: tickets.Ticket) -> Opened:
    return Opened(tickets.encode(key, ticket), datetime.fromtimestamp(ticket.expires, UTC))


def open_live(*, session: Session, actor: Actor, key: str, camera_id: int, reason: str | None,
              credential: Credential, now: datetime) -> Opened:
    """Start a live viewing session: check role and scope, audit it once, return its ticket."""
    cam = camera_service.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.LIVE_VIEW)
    text = (reason or "").strip()[:REASON_MAX] or "live monitoring"
    view = secrets.token_urlsafe(9)
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_LIVE_VIEW, object_type="camera",
                                object_id=cam.id, site_id=cam.site_id, reason=text, details={"view": view})
    return _issue(key, tickets.Ticket(kind="live", view=view, camera_id=cam.id, user_id=actor.id,
                                      binding=tickets.binding_of(credential.value), expires=_expiry(credential, now),
                                      version=_version(session, actor)))


def open_playback(*, session: Session, actor: Actor, key: str, camera_id: int, start: datetime, end: datetime,
                  reason: str | None, credential: Credential, now: datetime) -> Opened:
    """Start a playback of [start, end): check role, scope and reason, audit it with the range, return a ticket."""
    cam = camera_service.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.PLAYBACK)
    text = require_reason(reason)
    view = secrets.token_urlsafe(9)
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_PLAYBACK_VIEW, object_type="camera",
                                object_id=cam.id, site_id=cam.site_id, reason=text,
                                details={"view": view, "from": start.isoformat(), "to": end.isoformat()})
    return _issue(key, tickets.Ticket(kind="playback", view=view, camera_id=cam.id, user_id=actor.id,
                                      binding=tickets.binding_of(credential.value), expires=_expiry(credential, now),
                                      start=int(start.timestamp()), end=int(end.timestamp()) + 1,
                                      version=_version(session, actor)))


def check_ticket(*, key: str, token: str, credential: Credential | None, kind: str, camera_id: int,
                 now: datetime) -> tickets.Ticket:
    """The ticket of a stream request (HMAC only: no database)."""
    return tickets.decode(key, token, now=now.timestamp(), credential=credential.value if credential else None,
                          kind=kind, camera_id=camera_id)


ENDED = "the sign-in this stream was opened with has ended; open the camera again"


def check_viewer(*, session: Session, ticket: tickets.Ticket, credential: Credential) -> None:
    """The ticket's sign-in is still valid (not signed out, revoked or disabled): checked on every playlist."""
    if credential.kind == "cookie":
        found = account_service.session_user(session=session, token=credential.value)
        user = found[1] if found else None
    else:
        user = account_service.token_user(session=session, token=credential.value)
    if user is None or user.id != ticket.user_id or user.credentials_version != ticket.version:
        raise PermissionDenied(ENDED)


def check_holder(*, session: Session, ticket: tickets.Ticket) -> None:
    """The ticket's user is still active and their sign-ins were not revoked since it was issued (a password
    reset, disable, role or scope change raises the credentials version): one primary-key read, for every
    segment request."""
    row = session.execute(select(User.is_active, User.credentials_version).where(User.id == ticket.user_id)).first() \
        if ticket.user_id is not None else None
    if row is None or not row[0] or row[1] != ticket.version:
        raise PermissionDenied(ENDED)


def ticket_segments(*, session: Session, ticket: tickets.Ticket) -> list[footage.SegmentRef]:
    """The recorded segments a playback ticket reaches, oldest first."""
    assert ticket.start is not None and ticket.end is not None
    start, end = datetime.fromtimestamp(ticket.start, UTC), datetime.fromtimestamp(ticket.end, UTC)
    return footage.segments(session=session, camera_id=ticket.camera_id, start=start, end=end)


def ticket_segment(*, session: Session, ticket: tickets.Ticket, segment_id: int) -> footage.SegmentRef:
    """One recorded segment, if the playback ticket reaches it."""
    seg = footage.segment(session=session, camera_id=ticket.camera_id, segment_id=segment_id)
    if (seg is None or ticket.start is None or ticket.end is None
            or seg.end.timestamp() <= ticket.start or seg.start.timestamp() >= ticket.end):
        raise NotFound(f"no segment {segment_id} in this playback")
    return seg


@dataclass(frozen=True)
class Timeline:
    """What the playback page and the timeline API show."""

    camera: Camera
    start: datetime
    end: datetime
    bars: list[hls.Bar]
    gaps: list[footage.GapRef]
    recorded_seconds: float
    segments: int

    @property
    def coverage(self) -> float:
        """Share of the range with footage (0..1)."""
        return min(1.0, self.recorded_seconds / max(1.0, (self.end - self.start).total_seconds()))


def timeline(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime,
             now: datetime) -> Timeline:
    """Coverage and gaps (with their causes) of a camera over [start, end) (needs PLAYBACK)."""
    cam = camera_service.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.PLAYBACK)
    rows = footage.recorded_intervals(session=session, camera_id=cam.id, start=start, end=end)
    gaps = footage.gaps(session=session, camera_id=cam.id, start=start, end=end)
    intervals = [(max(a, start), min(b, end)) for a, b in rows]
    recorded = sum((b - a).total_seconds() for a, b in hls.merge(intervals, tolerance=0.0))
    bars = hls.timeline(start, end, intervals, [(g.start, g.end, g.cause, g.detail) for g in gaps], now)
    return Timeline(cam, start, end, bars, gaps, recorded, len(rows))
