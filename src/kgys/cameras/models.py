"""Tables of the cameras domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class SiteDevice:
    """What recorders and cameras share: a named device at a site, with encrypted credentials."""

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    credentials: Mapped[str | None] = mapped_column(Text, sort_order=10)  # Fernet token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, sort_order=10)

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id


class Recorder(SiteDevice, Audited, Base):
    """A network video recorder (NVR) at a site."""

    __tablename__ = "recorders"
    __audit_type__ = "recorder"
    __audit_secret__ = frozenset({"credentials"})
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    vendor: Mapped[str] = mapped_column(String(80), default="")
    model: Mapped[str] = mapped_column(String(80), default="")
    channels: Mapped[int] = mapped_column(Integer)
    supported_storage_tb: Mapped[float] = mapped_column(Float)
    installed_storage_tb: Mapped[float] = mapped_column(Float)
    remote_viewing: Mapped[bool] = mapped_column(Boolean, default=False)
    continuous_recording: Mapped[bool] = mapped_column(Boolean, default=True)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    host: Mapped[str] = mapped_column(String(255), default="")


class Camera(SiteDevice, Audited, Base):
    """A camera at a site, with the specs its owner declared."""

    __tablename__ = "cameras"
    __audit_type__ = "camera"
    __audit_secret__ = frozenset({"credentials"})
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    recorder_id: Mapped[int | None] = mapped_column(ForeignKey("recorders.id", ondelete="SET NULL"), index=True)
    megapixels: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    poe: Mapped[bool] = mapped_column(Boolean, default=False)
    night_vision: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[str] = mapped_column(String(32), default="other")
    bitrate_kbps: Mapped[int] = mapped_column(Integer, default=4096)
    codec: Mapped[str] = mapped_column(String(16), default="h264")
    stream_url: Mapped[str] = mapped_column(String(500), default="")  # without credentials
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


HEALTH_STATES = ("online", "offline", "unknown")


class CameraHealth(Base):
    """A camera's health: whether it is being recorded, and the stream properties the recorder measured."""

    __tablename__ = "camera_health"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="unknown")  # one of HEALTH_STATES
    reason: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    codec: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float)
    keyframe_interval: Mapped[float | None] = mapped_column(Float)  # seconds between keyframes
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_segment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
