"""Tables of the recording domain.

Segments form one SHA-256 chain per camera: each row carries its file's hash and the hash of the camera's
previous indexed segment (``GENESIS`` for the first). Files that fail the maintainer's checks never enter
the chain; they are kept in quarantine with the reason. Legal holds and destruction records are audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
BIGINT = BigInteger().with_variant(Integer(), "sqlite")



class Segment(Base):
    """One finished, verified recording file of one camera, in storage."""

    __tablename__ = "recording_segments"
    __table_args__ = (
        UniqueConstraint("camera_id", "start"),
        Index("ix_recording_segments_camera_end", "camera_id", "end"),
    )

    id: Mapped[int] = mapped_column(BIGINT, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    duration: Mapped[float] = mapped_column(Float)  # seconds
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500), unique=True)  # storage key
    codec: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuarantinedSegment(Base):
    """A spool file that failed the maintainer's checks: kept aside with the reason, never silently dropped."""

    __tablename__ = "recording_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))  # where the file was put aside
    reason: Mapped[str] = mapped_column(String(64))  # e.g. too_short, no_video, no_keyframe_at_start
    detail: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Gap(Base):
    """A stretch of time a camera has no recording for; ``end`` is empty while the gap is still open."""

    __tablename__ = "recording_gaps"
    __table_args__ = (Index("ix_recording_gaps_camera_start", "camera_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(String(24))  # a GapCause (kgys.recording.gaps)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LegalHold(Audited, Base):
    """Footage of one camera and time range kept for an investigation; no segment it touches is deleted."""

    __tablename__ = "legal_holds"
    __audit_type__ = "legal_hold"
    __table_args__ = (Index("ix_legal_holds_camera_start", "camera_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # empty: until released
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id


class Destruction(Audited, Base):
    """A record of footage deleted (imha tutanağı): which camera and range, how much, under which rule.

    Camera and site are plain numbers, not foreign keys, so the record outlives the camera.
    """

    __tablename__ = "destructions"
    __audit_type__ = "destruction"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer, index=True)
    site_id: Mapped[int] = mapped_column(Integer, index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(32))  # e.g. retention, disk_pressure
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id


class PendingDestruction(Base):
    """Footage deleted that no :class:`Destruction` record covers yet: one row per retention run and
    contiguous range of a camera, written in the transaction that deletes the index rows.

    About once an hour per camera the retention job seals a camera's pending rows into destruction records
    (one per contiguous range and rule) and removes them, so the audited record stays one per camera-hour
    instead of one per run. Chain verification counts these rows like destruction records.
    """

    __tablename__ = "destructions_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer, index=True)
    site_id: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200))  # the policy at the time of deleting, for the record
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetentionPolicy(Audited, Base):
    """How long a site's footage is kept: ``days`` normally, never less than ``min_days`` under disk pressure."""

    __tablename__ = "retention_policies"
    __audit_type__ = "retention_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), unique=True)
    days: Mapped[int] = mapped_column(Integer)
    min_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id
