"""The stored events: one row per event, numbered in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kgys.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One event: a topic, whom it concerns (a site and its district's path, or the whole installation) and
    a JSON payload. ``seq`` orders events in commit order; ``id`` is unique across relays and brokers."""

    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}  # a number is never given twice, even after a purge

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    topic: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(Integer)
    scope_path: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
