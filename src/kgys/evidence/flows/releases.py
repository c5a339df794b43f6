"""The people's steps of a release: ordering it, reviewing its redaction, the one-time download link, the download
and the hand-over receipt. Every step is audited with the decision as its legal basis and sealed
(:func:`kgys.evidence.package_audit.seal`) as the last act of its transaction. Flows flush, never commit.

Who may (four eyes): the request was made by an investigator, the decision recorded by the judicial liaison and the
release approved by a second person (``evidence.approve``, never the requester). The **release is ordered by the
requester** of the approved request, within the decision's grant: the requester asked for the footage and hands it
to the recipient, and can release nothing the second person did not approve. The **redaction is reviewed by the
requester or by a holder of** ``evidence.approve``; the reviewer is recorded in the audit log and in the package. The
link, the download and the receipt are the orderer's.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import mechanism
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.signing import Signer
from kgys.errors import Conflict, FieldError, Gone, NotFound, PermissionDenied, ValidationFailed
from kgys.evidence import package_audit, redaction, redaction_video, release_service, service
from kgys.evidence.flows import requests
from kgys.evidence.flows.decisions import is_requester, record_release
from kgys.evidence.flows.release_build import ffprobe_for
from kgys.evidence.models import FootageRequest, Release, ReleaseClip
from kgys.evidence.rules import Range

NOT_REQUESTER = ("only the investigator who made the request orders its release and hands it over "
                 "(field requester)")
NOT_REVIEWER = "the redaction is reviewed by the requester or by a holder of evidence.approve (field reviewer)"


def orderer(session: Session, actor: Actor, request_id: int) -> FootageRequest:
    """The request, when the actor made it (and so orders and hands over its releases); PermissionDenied for a role
    without ``evidence.request`` or another person, NotFound for a request the actor may not see."""
    actor.require(Perm.EVIDENCE_REQUEST)
    request = service.get(session=session, actor=actor, request_id=request_id)
    if not is_requester(request, actor):
        raise PermissionDenied(NOT_REQUESTER, field="requester")
    return request


def reviewer(session: Session, actor: Actor, request_id: int) -> FootageRequest:
    """The request, when the actor may review its redaction (its requester, or a holder of ``evidence.approve``)."""
    if not (actor.can(Perm.EVIDENCE_APPROVE) or actor.can(Perm.EVIDENCE_REQUEST)):
        raise PermissionDenied(NOT_REVIEWER, field="reviewer", perm=Perm.EVIDENCE_APPROVE.value)
    request = service.get(session=session, actor=actor, request_id=request_id)
    if not (is_requester(request, actor) or actor.can(Perm.EVIDENCE_APPROVE)):
        raise PermissionDenied(NOT_REVIEWER, field="reviewer")
    return request


def _basis(session: Session, request: FootageRequest) -> str:
    return service.legal_basis_of(session=session, request=request)


def order(*, session: Session, actor: Actor, request_id: int, items: Sequence[Range], recipient: str,
          organisation: str, redact: bool, watermark: bool, include_segments: bool, signer: Signer,
          now: datetime) -> Release:
    """Order a release of an approved request (queued for the jobs worker): every item within the decision's
    grant and of the actor's scope, named ``scope[i]`` when not."""
    orderer(session, actor, request_id)
    requests.scoped_cameras(session, actor, items, Perm.EVIDENCE_REQUEST)
    row = record_release(session=session, actor=actor, request_id=request_id, items=items, recipient=recipient,
                         organisation=organisation, redact=redact, watermark=watermark,
                         include_segments=include_segments, now=now)
    package_audit.seal(session, signer)
    return row


def visible(*, session: Session, actor: Actor, request_id: int, release_id: int) -> Release:
    """One release of a request the actor may see."""
    service.get(session=session, actor=actor, request_id=request_id)
    return release_service.get(session=session, request_id=request_id, release_id=release_id)


def listing(*, session: Session, actor: Actor, request_id: int) -> list[Release]:
    """The releases of a request the actor may see, newest first."""
    service.get(session=session, actor=actor, request_id=request_id)
    return release_service.listing(session=session, request_id=request_id)


def _clip(session: Session, release: Release, position: int) -> ReleaseClip:
    for row in release_service.clips(session=session, release_id=release.id):
        if row.position == position:
            return row
    raise NotFound(f"release {release.id} has no clip {position}", position=position)


def _awaiting(release: Release) -> None:
    if release.state != "awaiting_review":
        raise Conflict(f"release {release.id} is {release.state}: its faces are reviewed only while it awaits the "
                       "review (field state)", field="state", state=release.state)


def detections(*, data_dir: Path, row: ReleaseClip) -> redaction.DetectionList:
    """A clip's stored detection list, checked against the hash recorded when it was made."""
    path = release_service.detections_path(data_dir, row.release_id, row.position)
    text = path.read_bytes() if path.is_file() else b""
    if row.detections_sha256 is None or hashlib.sha256(text).hexdigest() != row.detections_sha256:
        raise Conflict(f"the detections of clip {row.position} are missing or changed", field="detections")
    return redaction.detections_from_json(json.loads(text))


def review(*, session: Session, actor: Actor, request_id: int, release_id: int,
           data_dir: Path) -> list[tuple[ReleaseClip, redaction.DetectionList | None]]:
    """The clips of a release with their detections (None before they are made), for the reviewer."""
    reviewer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    rows = release_service.clips(session=session, release_id=rel.id)
    return [(r, detections(data_dir=data_dir, row=r) if r.detections_sha256 else None) for r in rows]


def edit(*, session: Session, actor: Actor, request_id: int, release_id: int, position: int, edits: Any,
         data_dir: Path, signer: Signer) -> ReleaseClip:
    """Keep a reviewer's edits of one clip (regions added, detections removed; audited); ValidationFailed naming
    each field at fault, Conflict when the release is not awaiting its review."""
    request = reviewer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    _awaiting(rel)
    row = _clip(session, rel, position)
    parsed = redaction.edits_from_json(edits)
    redaction.check_edits(parsed, detections(data_dir=data_dir, row=row))
    with mechanism.acting_as(session, actor, reason="redaction review: regions added or removed",
                             legal_basis=_basis(session, request)):
        row.edits = parsed.as_json()
        session.flush()
    package_audit.seal(session, signer)
    return row


def confirm(*, session: Session, actor: Actor, request_id: int, release_id: int, signer: Signer,
            now: datetime) -> Release:
    """Confirm the review: the release is queued again to be redacted as reviewed and packaged (audited with the
    reviewer and the edits of each clip)."""
    request = reviewer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    _awaiting(rel)
    if not release_service.reviewed(session=session, release_id=rel.id, by=actor.username, now=now):
        raise Conflict(f"release {rel.id} changed meanwhile; reload it and try again", field="state")
    clips = [{"position": r.position, "faces": r.faces, "removed": len(r.edits.get("removed", [])),
              "added": len(r.edits.get("added", []))} for r in release_service.clips(session=session,
                                                                                       release_id=rel.id)]
    audit_service.append(session, actor=actor, action=AuditAction.EVIDENCE_RELEASE_REVIEW,
                         object_type="evidence_release", object_id=rel.id, reason="redaction reviewed",
                         legal_basis=_basis(session, request), details={"reviewer": actor.username, "clips": clips})
    package_audit.seal(session, signer)
    return release_service.get(session=session, request_id=request_id, release_id=release_id)


def frame(*, session: Session, actor: Actor, request_id: int, release_id: int, position: int, index: int,
          data_dir: Path, ffmpeg: str, signer: Signer) -> bytes:
    """One frame of a clip with its detections drawn (PNG), for the reviewer; the view is audited."""
    request = reviewer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    _awaiting(rel)
    row = _clip(session, rel, position)
    dets = detections(data_dir=data_dir, row=row)
    png = redaction_video.review_thumbnail(release_service.clip_path(data_dir, rel.id, position), detections=dets,
                                           frame_index=index, edits=redaction.edits_from_json(row.edits),
                                           ffmpeg=ffmpeg, ffprobe=ffprobe_for(ffmpeg))
    audit_service.record_access(session, actor=actor, action=AuditAction.EVIDENCE_RELEASE_FRAME_VIEW,
                                object_type="evidence_release", object_id=rel.id, site_id=row.site_id,
                                reason="redaction review", legal_basis=_basis(session, request),
                                details={"clip": position, "frame": index})
    package_audit.seal(session, signer)
    return png


def issue_link(*, session: Session, actor: Actor, request_id: int, release_id: int, signer: Signer, now: datetime,
               keep: timedelta) -> tuple[str, datetime]:
    """A one-time download link to a ready package: its token (shown once, only its hash kept) and its expiry."""
    request = orderer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    if rel.state != "ready":
        raise Conflict(f"release {rel.id} is {rel.state}: a link is made to a ready package only (field state)",
                       field="state", state=rel.state)
    token = secrets.token_urlsafe(32)
    expires = min(now + keep, rel.expires_at) if rel.expires_at is not None else now + keep
    link = release_service.add_link(session=session, release_id=rel.id, token=token, by=actor.username, now=now,
                                    keep=expires - now)
    audit_service.append(session, actor=actor, action=AuditAction.EVIDENCE_RELEASE_LINK,
                         object_type="evidence_release", object_id=rel.id, reason="one-time download link",
                         legal_basis=_basis(session, request),
                         details={"link": link.id, "expires_at": expires.isoformat()})
    package_audit.seal(session, signer)
    return token, expires


def download(*, session: Session, actor: Actor, request_id: int, release_id: int, token: str, data_dir: Path,
             signer: Signer, now: datetime) -> tuple[Path, Release]:
    """Use a one-time link: the package (the download audited with its SHA-256). Gone when the link was used
    already or has expired, or the package is gone; NotFound for a token that was never issued."""
    request = orderer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    link = release_service.link(session=session, release_id=rel.id, token=token)
    if link is None:
        raise NotFound("no such download link (field token)", field="token")
    if link.used_at is not None:
        raise Gone(f"this download link was used on {link.used_at:%Y-%m-%d %H:%M} UTC: it works once (field token)",
                   field="token")
    if link.expires_at <= now:
        raise Gone(f"this download link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC (field token)", field="token")
    path = release_service.package_path(data_dir, rel.id)
    if not path.is_file() or not release_service.use_link(session=session, link_id=link.id, by=actor.username,
                                                          now=now):
        raise Gone("this download link was used or has expired (field token)", field="token")
    if not release_service.downloaded(session=session, release_id=rel.id, by=actor.username, now=now):
        raise Gone(f"release {rel.id} is {rel.state}: its package was downloaded already (field state)",
                   field="state")
    audit_service.record_access(session, actor=actor, action=AuditAction.EVIDENCE_RELEASE_DOWNLOAD,
                                object_type="evidence_release", object_id=rel.id, site_id=None,
                                reason="signed package downloaded", legal_basis=_basis(session, request),
                                details={"sha256": rel.package_sha256, "bytes": rel.package_bytes, "link": link.id})
    package_audit.seal(session, signer)
    return path, rel


RECEIPT_LIMITS = {"name": 200, "id_no": 64, "note": 2000}


def receipt(*, session: Session, actor: Actor, request_id: int, release_id: int, name: str, id_no: str,
            at: datetime | None, note: str, signer: Signer, now: datetime) -> Release:
    """Record that the downloaded package was handed to the recipient: their name, ID or badge number, when, and a
    note (an audit entry; once per release)."""
    request = orderer(session, actor, request_id)
    rel = release_service.get(session=session, request_id=request_id, release_id=release_id)
    errors: list[FieldError] = []
    values = {}
    for field, value in (("name", name), ("id_no", id_no), ("note", note)):
        text = (value or "").strip()
        if field != "note" and not text:
            errors.append(FieldError(field, "is required"))
        elif len(text) > RECEIPT_LIMITS[field]:
            errors.append(FieldError(field, f"at most {RECEIPT_LIMITS[field]} characters"))
        values[field] = text
    when = at or now
    if when.tzinfo is None:
        errors.append(FieldError("at", "needs a time zone"))
    elif when > now + timedelta(minutes=5):
        errors.append(FieldError("at", "lies in the future"))
    if errors:
        raise ValidationFailed(errors)
    if rel.state != "downloaded" or rel.receipt:
        raise Conflict(f"release {rel.id} is {rel.state}: a receipt is recorded once, for a downloaded package "
                       "(field state)", field="state", state=rel.state)
    doc = {**values, "at": when.isoformat(), "by": actor.username, "recorded_at": now.isoformat()}
    release_service.set_receipt(session=session, release_id=rel.id, receipt=doc)
    audit_service.append(session, actor=actor, action=AuditAction.EVIDENCE_RELEASE_RECEIPT,
                         object_type="evidence_release", object_id=rel.id, reason="package handed over",
                         legal_basis=_basis(session, request), details=doc | {"sha256": rel.package_sha256})
    package_audit.seal(session, signer)
    return release_service.get(session=session, request_id=request_id, release_id=release_id)
