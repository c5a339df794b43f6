"""Units, their status history and last position, and their assignments to incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class Unit(Audited, Base):
    """A team that can be sent: its kind, station, the district it answers in (``jurisdiction_path``, scope is a
    prefix match as for sites), capabilities, members and status. ``field_user_id`` is the field login that
    speaks for the unit (its status, position and assignments); ``version`` is raised by every change
    (compare-and-set)."""

    __tablename__ = "units"
    __audit_type__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # a UnitKind
    station: Mapped[str] = mapped_column(String(120), default="")
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    jurisdiction_path: Mapped[str] = mapped_column(String(400), index=True)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    members: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="available", index=True)  # a UnitStatus
    status_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    field_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE is a compare-and-set on it

    def audit_object_id(self) -> str:
        """A unit is named by its call sign."""
        return self.call_sign


class UnitPosition(Base):
    """A unit's last reported position (not audited: it changes every few seconds). ``reported_at`` is the
    device's clock, ``received_at`` ours."""

    __tablename__ = "unit_positions"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Audited, Base):
    """A unit sent to an incident and each step of its way there. ``active_unit_id`` holds the unit's id while
    the assignment is active and is unique: a unit is on one assignment at a time, whoever assigns at once."""

    __tablename__ = "assignments"
    __audit_type__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    active_unit_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(16), default="assigned", index=True)  # an AssignmentState
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cleared, declined or cancelled
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE is a compare-and-set on it


class UnitStatusChange(Base):
    """One step of a unit's status history: from, to, when, by whom, why, and the assignment it followed."""

    __tablename__ = "unit_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"))


class UnitTracker(Audited, Base):
    """The broker login of a unit's tracker (the vehicle's AVL box or a phone app): it publishes the unit's
    positions over MQTT and hears its assignments. ``username`` is ``unit.{call sign}``; kgys keeps a hash of the
    random password (the broker holds its own in its password file). A revoked tracker keeps its row, disabled."""

    __tablename__ = "unit_trackers"
    __audit_type__ = "unit_tracker"
    __audit_secret__ = frozenset({"password_hash"})

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(64), default="")

    def audit_object_id(self) -> str:
        """A tracker is named by its broker login."""
        return self.username


class UnitDownlink(Base):
    """A message to a unit's tracker (an assignment, or its cancellation), kept until the broker has taken it:
    the outbox. Written in the same transaction as the assignment; the intake publishes what is unsent at QoS 1
    on the unit's assignment topic and marks it sent."""

    __tablename__ = "unit_downlinks"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(16))  # assigned | cancelled
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
