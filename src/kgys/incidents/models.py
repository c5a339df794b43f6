"""Incidents, the alerts they were made of, and their timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class Incident(Audited, Base):
    """Something to send a unit to: numbered ``2026-000123``, with a category, a priority (1 most urgent), a
    place, the district it belongs to (``scope_path``), the capabilities a unit needs to go, and the times of
    its response: ``reported_at`` (its first alert's receipt, or its making), first unit ``dispatched_at``,
    ``acknowledged_at``, ``arrived_at``, last unit ``cleared_at`` and ``closed_at``."""

    __tablename__ = "incidents"
    __audit_type__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    category: Mapped[str] = mapped_column(String(32))  # a Category
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)  # an IncidentState
    details: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    scope_path: Mapped[str] = mapped_column(String(400), index=True)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(24))  # an Outcome
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE is a compare-and-set on it

    def audit_site_id(self) -> int | None:
        """Entries about an incident at a site belong to the site."""
        return self.site_id

    def audit_object_id(self) -> str:
        """An incident is named by its number."""
        return self.number


class IncidentAlert(Base):
    """An alert an incident was made of. ``open_alert_id`` holds the alert's id while the incident is open and
    is unique: an alert belongs to at most one open incident."""

    __tablename__ = "incident_alerts"
    __table_args__ = (UniqueConstraint("incident_id", "alert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    open_alert_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class IncidentEntry(Base):
    """One line of an incident's timeline: when, who, what kind, in words, and the data behind it."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(24))  # an EntryKind
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
