"""Tables of the exports domain: one row per requested export, its state and progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kgys.db import Base, UTCDateTime, utcnow


class FootageExport(Base):
    """An export of ``cameras`` over [``start``, ``end``) asked for by ``requested_by`` with ``reason``.

    ``state`` goes queued → running → done (or failed), and done → expired when its zip is deleted. ``progress``
    runs from 0 to 1 while it is built; ``attempt`` counts the claims (a worker writes only while its own claim
    holds) and ``heartbeat_at`` is when the worker building it last reported. A failure is stored as a code with
    its parameters (``error_code``, ``error_params``), translated when shown. The request and each download
    are audited (not the row's own changes: progress would flood the log)."""

    __tablename__ = "footage_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_name: Mapped[str] = mapped_column(String(64))
    cameras: Mapped[list[int]] = mapped_column(JSON, default=list)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
