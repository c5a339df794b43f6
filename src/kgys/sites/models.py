"""Tables of the sites domain."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kgys.accounts.models import Jurisdiction
from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class Site(Audited, Base):
    """A school, kindergarten, college, municipal point or other place with cameras."""

    __tablename__ = "sites"
    __audit_type__ = "site"
    __audit_derived__ = frozenset({"search_text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # institution code (kurum kodu)
    name: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(400), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    jurisdiction_path: Mapped[str] = mapped_column(String(400), index=True)
    student_count: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=3, index=True)  # 1 = highest
    contact_name: Mapped[str] = mapped_column(String(160), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    rollout_status: Mapped[str] = mapped_column(String(16), default="none", index=True)
    rollout_since: Mapped[date] = mapped_column(Date, default=date.today)
    compliance_status: Mapped[str] = mapped_column(String(16), default="no_system", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # name, code and address in search form (sites.service.search_text), kept by the service
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_sites_priority_name_id", "priority", "name", "id"),)

    def audit_site_id(self) -> int | None:
        """A site is its own scope."""
        return self.id

    def audit_object_id(self) -> str:
        """Sites are named by institution code."""
        return self.code


class RolloutEvent(Audited, Base):
    """One dated step of a site's roll-out (none → planned → … → verified)."""

    __tablename__ = "rollout_events"
    __audit_type__ = "rollout"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id


class Commission(Audited, Base):
    """A provincial or district commission that follows the school camera roll-out."""

    __tablename__ = "commissions"
    __audit_type__ = "commission"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), unique=True)
    chair: Mapped[str] = mapped_column(String(160), default="")  # deputy governor / district governor
    police_member: Mapped[str] = mapped_column(String(160), default="")
    gendarmerie_member: Mapped[str] = mapped_column(String(160), default="")
    education_member: Mapped[str] = mapped_column(String(160), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")


class FloorPlan(Audited, Base):
    """A floor plan image of a site (one per floor or building), kept in the data folder under its SHA-256."""

    __tablename__ = "site_floor_plans"
    __audit_type__ = "floor_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120), default="")  # "Zemin kat", "B blok 1. kat"
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the site's card
    content_type: Mapped[str] = mapped_column(String(32))  # image/png, image/jpeg, image/webp
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64), default="")

    def audit_site_id(self) -> int | None:
        """Scoped to its site."""
        return self.site_id
