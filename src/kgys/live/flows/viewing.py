"""Live view and playback as they build on other parts: a site's cameras and a camera found within the
caller's scope (:mod:`kgys.sites.service`, :func:`kgys.cameras.flows.systems.get_camera`), the audit entry of
each viewing, the sign-in a ticket was opened with still checked by accounts, and the recorded footage a
playback reaches, read through :mod:`kgys.recording.footage`.

Opening a stream (live or playback) is the one place that checks the role, the scope and the reason and
writes ``record_access`` in the caller's transaction. Playback is for the roles of operations
(``playback.view``); an investigator plays back only footage within the granted scope of one of their own
footage requests, approved under a decision still valid (:func:`playback_camera`,
:func:`kgys.evidence.service.within_approved_scope`), audited with the request and the decision as its legal
basis; its viewing ticket ends when the decision's validity does. A refused playback is written to the audit log
too (:func:`record_refusals`), whoever tried it. Flows flush, never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.errors import KgysError, NotFound, PermissionDenied
from kgys.evidence import service as evidence_service
from kgys.live import hls, refusals, service, tickets
from kgys.recording import footage
from kgys.sites import service as site_service
from kgys.sites.models import Site


def playback_camera(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime,
                    now: datetime) -> tuple[Camera, evidence_service.Grant | None]:
    """The camera the actor may play back from ``start`` to ``end``, and the approved footage request that allows
    it (None for operational playback). A role with ``playback.view`` plays back the cameras of its scope; one that
    requests footage (an investigator) only what an approved request of theirs grants, and still only within
    their scope. PermissionDenied otherwise (before any camera is looked up, so it says nothing of one)."""
    if actor.can(Perm.PLAYBACK) or not actor.can(Perm.EVIDENCE_REQUEST):
        return camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.PLAYBACK), None
    found = evidence_service.within_approved_scope(session, actor.id or 0, camera_id, start, end, now)
    if found is None:
        raise PermissionDenied(refusals.OUTSIDE_REQUEST.english(), perm=Perm.PLAYBACK.value)
    return camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id,
                                   perm=Perm.EVIDENCE_REQUEST), found


def record_refusals(*, session: Session, actor: Actor, refused: list[tuple[int, KgysError]], start: datetime,
                    end: datetime, reason: str | None = None) -> None:
    """Write refused playbacks to the audit log: which camera and range was asked for, the reason the caller gave
    (if any), and why it was refused (``why``: a camera outside the caller's scope, or footage outside their
    approved footage requests). The caller commits."""
    for camera_id, error in refused:
        details: dict[str, object] = {"from": start.isoformat(), "to": end.isoformat(), "error": type(error).__name__,
                                      "why": error.message[:500]}
        if not actor.can(Perm.PLAYBACK) and actor.can(Perm.EVIDENCE_REQUEST):
            details["under"] = "footage request"
        audit_service.append(session, actor=actor, action=AuditAction.CAMERA_PLAYBACK_REFUSED, object_type="camera",
                             object_id=camera_id, reason=(reason or "").strip()[:500] or None, details=details)


def site_cameras(*, session: Session, actor: Actor, code: str) -> tuple[Site, list[Camera]]:
    """A site in scope and its cameras, for the live grid (needs LIVE_VIEW)."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.LIVE_VIEW)
    cams = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)).all()
    return site, list(cams)


def stream_codecs(session: Session, cameras: list[Camera]) -> dict[int, str]:
    """Each camera's codec as last measured on its recordings, else as declared (``h264`` | ``h265``)."""
    measured = footage.measured_codecs(session=session, camera_ids=[c.id for c in cameras])
    return {c.id: measured.get(c.id) or c.codec for c in cameras}


def open_live(*, session: Session, actor: Actor, key: str, camera_id: int, reason: str | None,
              credential: service.Credential, now: datetime) -> service.Opened:
    """Start a live viewing session: check role and scope, audit it once, return its ticket."""
    cam = camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.LIVE_VIEW)
    text = (reason or "").strip()[:service.REASON_MAX] or "live monitoring"
    view = secrets.token_urlsafe(9)
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_LIVE_VIEW, object_type="camera",
                                object_id=cam.id, site_id=cam.site_id, reason=text, details={"view": view})
    ticket = tickets.Ticket(kind="live", view=view, camera_id=cam.id, user_id=actor.id,
                            binding=tickets.binding_of(credential.value), expires=service.expiry(credential, now),
                            version=service.credentials_version(session, actor))
    return service.issue(key, ticket)


def open_playback(*, session: Session, actor: Actor, key: str, camera_id: int, start: datetime, end: datetime,
                  reason: str | None, credential: service.Credential, now: datetime) -> service.Opened:
    """Start a playback of [start, end): check role, scope and reason, audit it with the range (and the footage
    request allowing it, with its decision as the legal basis), return a ticket."""
    cam, grant = playback_camera(session=session, actor=actor, camera_id=camera_id, start=start, end=end, now=now)
    text = service.require_reason(reason)
    view = secrets.token_urlsafe(9)
    details: dict[str, object] = {"view": view, "from": start.isoformat(), "to": end.isoformat()}
    basis = None
    expires = service.expiry(credential, now)
    if grant is not None:
        request = grant.request
        expires = min(expires, int(grant.valid_until.timestamp()))
        details["request"] = request.id
        text = f"footage request #{request.id} (investigation no. {request.investigation_no}): {text}"
        basis = evidence_service.legal_basis_of(session=session, request=request)
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_PLAYBACK_VIEW, object_type="camera",
                                object_id=cam.id, site_id=cam.site_id, reason=text, legal_basis=basis,
                                details=details)
    ticket = tickets.Ticket(kind="playback", view=view, camera_id=cam.id, user_id=actor.id,
                            binding=tickets.binding_of(credential.value), expires=expires,
                            start=int(start.timestamp()), end=int(end.timestamp()) + 1,
                            version=service.credentials_version(session, actor))
    return service.issue(key, ticket)


def check_viewer(*, session: Session, ticket: tickets.Ticket, credential: service.Credential) -> None:
    """The ticket's sign-in is still valid (not signed out, revoked or disabled): checked on every playlist."""
    service.check_signed_in(ticket, signed_in(session=session, credential=credential))


def signed_in(*, session: Session, credential: service.Credential) -> service.SignedIn | None:
    """The active user behind a sign-in (a session cookie or a bearer token) and their credentials version, or
    None when it has ended (signed out, revoked, expired, disabled)."""
    if credential.kind == "cookie":
        found = account_service.session_user(session=session, token=credential.value)
        user = found[1] if found else None
    else:
        user = account_service.token_user(session=session, token=credential.value)
    return service.SignedIn(user.id, user.credentials_version) if user is not None else None


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
    """Coverage and gaps (with their causes) of a camera over [start, end) (needs PLAYBACK, or an approved footage
    request covering it)."""
    cam, _request = playback_camera(session=session, actor=actor, camera_id=camera_id, start=start, end=end,
                                    now=now)
    rows = footage.recorded_intervals(session=session, camera_id=cam.id, start=start, end=end)
    gaps = footage.gaps(session=session, camera_id=cam.id, start=start, end=end)
    intervals = [(max(a, start), min(b, end)) for a, b in rows]
    recorded = sum((b - a).total_seconds() for a, b in hls.merge(intervals, tolerance=0.0))
    bars = hls.timeline(start, end, intervals, [(g.start, g.end, g.cause, g.detail) for g in gaps], now)
    return Timeline(cam, start, end, bars, gaps, recorded, len(rows))
