"""The alerts table and each alert's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kgys.db import Base, UTCDateTime, utcnow


class Alert(Base):
    """One alert of any source (see :mod:`kgys.alerts.states`).

    ``scope_path`` is the district the alert belongs to — its site's, or for an alert of no site (a protected
    person's press) the district given by its source; none for alerts of the whole installation.
    ``dedup_key`` names what repeats of the same alarm share (a device's press, a camera's stopped recording);
    ``open_key`` holds it while the alert takes repeats in, and is unique, so that two processes raising the
    same alarm at once open one alert between them. ``raised_at`` is the sender's clock, ``received_at`` ours.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state_priority", "state", "priority", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # a Source
    kind: Mapped[str] = mapped_column(String(40), index=True)
    priority: Mapped[int] = mapped_column(Integer)  # a Priority, 1 = most urgent
    state: Mapped[str] = mapped_column(String(16), default="new")  # a State
    details: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    # the district path the alert belongs to (its site's, or a protection order's): scope is a prefix match
    scope_path: Mapped[str | None] = mapped_column(String(400), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"), index=True)
    device: Mapped[str | None] = mapped_column(String(64), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    repeats: Mapped[int] = mapped_column(Integer, default=1)
    dedup_key: Mapped[str | None] = mapped_column(String(160), index=True)
    open_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_by_name: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AlertChange(Base):
    """One step of an alert's history: who did what, when, with a note."""

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    move: Mapped[str] = mapped_column(String(16))  # a Move
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(80))  # a user name, or the device or process that raised it
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")


class ConsoleSession(Base):
    """An operator's console connected to a server: who, where from, since when, last heard (the board's load).

    Opened when the console's live stream connects, touched at each heartbeat, closed when it disconnects; a
    session not touched for a few heartbeats is gone (its server died) whatever ``closed_at`` says.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    server: Mapped[str] = mapped_column(String(120), default="")  # host:pid of the server holding it
    remote: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
