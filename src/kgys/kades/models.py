"""Protection orders, the phones registered against them, and the app messages already taken."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class ProtectionOrder(Audited, Base):
    """A court's protection order (koruma kararı): its number, court and validity, the protected person (to call
    back) and a description of the person it protects from, which only those who manage orders may read (every
    reading audited). ``jurisdiction_path`` is the district whose operations centre answers the person's alerts."""

    __tablename__ = "protection_orders"
    __audit_type__ = "protection_order"
    __audit_secret__ = frozenset({"person_phone", "aggressor"})

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    court: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    person_name: Mapped[str] = mapped_column(String(160))
    person_phone: Mapped[str] = mapped_column(String(40))
    aggressor: Mapped[str] = mapped_column(Text, default="")
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    jurisdiction_path: Mapped[str] = mapped_column(String(400), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KadesPhone(Base):
    """A phone registered against an order: it authenticates with a token kgys showed once (only its hash is
    kept). Its last known position is kept for the operator."""

    __tablename__ = "kades_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("protection_orders.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_latitude: Mapped[float | None] = mapped_column(Float)
    last_longitude: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)


class KadesMessage(Base):
    """A message of a phone already taken (its own id): the app sends again until answered, kgys stores once."""

    __tablename__ = "kades_messages"
    __table_args__ = (UniqueConstraint("phone_id", "msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_id: Mapped[int] = mapped_column(ForeignKey("kades_phones.id", ondelete="CASCADE"))
    msg_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
