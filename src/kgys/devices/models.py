"""The device registry, each device's last signs of life, and the messages taken in (so none is stored twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class Device(Audited, Base):
    """A panic button or a door/turnstile controller at a site, with its MQTT login and its PINs (hashes only).

    ``drill_until``: until then every press counts as a drill. ``mqtt_username`` is the device's broker login
    (its serial); the broker holds its password's hash in its password file, kgys a hash of its own.
    """

    __tablename__ = "devices"
    __audit_type__ = "device"
    __audit_secret__ = frozenset({"cancel_pin_hash", "duress_pin_hash", "mqtt_password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # a DeviceKind
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    room: Mapped[str] = mapped_column(String(64), default="")
    firmware: Mapped[str] = mapped_column(String(64), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    heartbeat_seconds: Mapped[int] = mapped_column(Integer, default=60)
    drill_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_pin_hash: Mapped[str] = mapped_column(String(200), default="")
    duress_pin_hash: Mapped[str] = mapped_column(String(200), default="")
    mqtt_username: Mapped[str] = mapped_column(String(64), unique=True)
    mqtt_password_hash: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def audit_site_id(self) -> int | None:
        """Entries about a device belong to its site."""
        return self.site_id

    def audit_object_id(self) -> str:
        """A device is named by its serial."""
        return self.serial


class DeviceStatus(Base):
    """A device's last signs of life (not audited: it changes with every heartbeat)."""

    __tablename__ = "device_status"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    firmware: Mapped[str] = mapped_column(String(64), default="")
    battery: Mapped[int | None] = mapped_column(Integer)


class DeviceMessage(Base):
    """A message taken in from a device (press, cancel, access event), once: the broker may deliver it again."""

    __tablename__ = "device_messages"
    __table_args__ = (UniqueConstraint("device_id", "msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    msg_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(32), default="")  # what happened (duress included)
    reply: Mapped[str] = mapped_column(String(32), default="")  # what the device was told (duress: "cancelled")


class Downlink(Base):
    """A message to a site's devices (a lockdown order or its end), kept until the broker has taken it: the outbox.

    Written in the same transaction as what decided to send it (a CAP lockdown message, an operator's order);
    the intake, which holds the broker connection, publishes what is unsent at QoS 1 and marks it sent.
    """

    __tablename__ = "device_downlinks"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))  # lockdown | all_clear
    reason: Mapped[str] = mapped_column(String(200), default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
