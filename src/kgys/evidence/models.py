"""Tables of the evidence domain: footage requests, the footage they ask for and the decision grants, the judicial
decision, the second person's approval and each release. Every table is audited through
:class:`~kgys.audit.mechanism.Audited`: each change is an entry carrying the actor, the reason and the legal basis
the service puts on the session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class FootageRequest(Audited, Base):
    """An investigator's request for footage of an investigation (soruşturma no.), and where it stands.

    ``state``: awaiting (a decision) → granted or refused or expired; granted → approved or withheld (the second
    person's answer). ``hold_until`` is when the provisional holds lapse if no decision comes; ``version`` grows
    with every change of state, each made by a conditional update on it (two approvers at once: one wins)."""

    __tablename__ = "footage_requests"
    __audit_type__ = "footage_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    investigation_no: Mapped[str] = mapped_column(String(64), index=True)
    requesting_unit: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True, default="awaiting")
    hold_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE is a compare-and-set on it


class ScopeItem(Audited, Base):
    """One camera over one range: asked for by a request (``kind`` requested) or granted by its decision (``kind``
    granted), with the legal hold that keeps it."""

    __tablename__ = "evidence_scope_items"
    __audit_type__ = "evidence_scope"
    __table_args__ = (Index("ix_evidence_scope_items_camera_start", "camera_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("legal_holds.id"))

    def audit_site_id(self) -> int | None:
        """Scoped to the camera's site."""
        return self.site_id


class Decision(Audited, Base):
    """The judicial decision on a request: the authority (a court or a prosecutor's office), its number and date,
    the provision of law it rests on (``CMK 134``, say), the outcome, how long a grant is valid, a refusal's
    reason, and the scanned decision kept in ``DATA_DIR/evidence/decisions/<sha256>.<ext>`` (its hash, size and
    type recorded)."""

    __tablename__ = "evidence_decisions"
    __audit_type__ = "evidence_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), unique=True)
    authority_kind: Mapped[str] = mapped_column(String(16))
    authority_name: Mapped[str] = mapped_column(String(200))
    decision_no: Mapped[str] = mapped_column(String(64))
    provision: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    document_size: Mapped[int] = mapped_column(Integer)
    document_type: Mapped[str] = mapped_column(String(32))
    document_name: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def legal_basis(self) -> str:
        """The decision as the audit log names it: ``CMK 134 / <authority> decision no. <number> of <date>``."""
        return (f"{self.provision} / {self.authority_name} decision no. {self.decision_no} "
                f"of {self.decision_date:%Y-%m-%d}")


class Approval(Audited, Base):
    """The second person's answer to a granted request: approved (the release may go ahead) or withheld."""

    __tablename__ = "evidence_approvals"
    __audit_type__ = "evidence_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("evidence_decisions.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class Release(Audited, Base):
    """Footage released under an approved request: the ranges it covers (``items``: camera id, start and end in UTC,
    each within a granted scope item), the recipient, who approved it and who ordered it, the options (faces
    redacted, a visible watermark for the recipient, the original segments included), and how far its package is.

    ``state``: queued → cutting → (detecting → awaiting_review → queued again once reviewed →) rendering →
    packaging → ready → downloaded or expired; failed with ``error_code``. The jobs worker claims a queued release
    by a conditional UPDATE on ``state`` and ``attempt`` and writes ``progress`` and ``heartbeat_at`` the same way:
    those columns move outside the audit mechanism (progress would flood the log), and each step of the release
    is an audit entry of its own (``evidence_release.step``, the review, the link, the download, the receipt)."""

    __tablename__ = "evidence_releases"
    __audit_type__ = "evidence_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), index=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("evidence_approvals.id"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recipient: Mapped[str] = mapped_column(String(200))
    approved_by_name: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    recipient_org: Mapped[str] = mapped_column(String(200), default="")
    redact: Mapped[bool] = mapped_column(Boolean, default=False)
    watermark: Mapped[bool] = mapped_column(Boolean, default=False)
    include_segments: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reviewed_by_name: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_bytes: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_by_name: Mapped[str | None] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReleaseClip(Audited, Base):
    """One clip of a release (one camera over one range) as the worker cut it from the recorded segments: the
    segments with their hashes and chain links, the clip's SHA-256, the faces found in it (a detection list kept
    as ``DATA_DIR/evidence/releases/<release>/detections-<position>.json``, named here by its SHA-256) and the
    reviewer's edits to them."""

    __tablename__ = "evidence_release_clips"
    __audit_type__ = "evidence_release_clip"
    __table_args__ = (UniqueConstraint("release_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("evidence_releases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    detections_sha256: Mapped[str | None] = mapped_column(String(64))
    faces: Mapped[int] = mapped_column(Integer, default=0)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def audit_site_id(self) -> int | None:
        """Scoped to the camera's site."""
        return self.site_id


class ReleaseLink(Base):
    """A one-time download link to a release's package: only the SHA-256 of its random token is kept; it is used
    once (a conditional UPDATE on ``used_at``) before ``expires_at``. Issuing and using it are audit entries."""

    __tablename__ = "evidence_release_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("evidence_releases.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_name: Mapped[str | None] = mapped_column(String(64))
