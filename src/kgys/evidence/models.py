"""Tables of the evidence domain: footage requests, the footage they ask for and the decision grants, the judicial
decision, the second person's approval and each release. Every table is audited through
:class:`~kgys.audit.mechanism.Audited`: each change is an entry carrying the actor, the reason and the legal basis
the service puts on the session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class FootageRequest(Audited, Base):
    """An investigator's request for footage of an investigation (soruşturma no.), and where it stands.

    ``state``: awaiting (a decision) → granted or refused or expired; granted → approved or withheld (the second
    person's answer). ``hold_until`` is when the provisional holds lapse if no decision comes; ``version`` grows
    with every change of state, each made by a conditional update on it (two approvers at once: one wins)."""

    __tablename__ = "footage_requests"
    __audit_type__ = "footage_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    investigation_no: Mapped[str] = mapped_column(String(64), index=True)
    requesting_unit: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True, default="awaiting")
    hold_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE is a compare-and-set on it


class ScopeItem(Audited, Base):
    """One camera over one range: asked for by a request (``kind`` requested) or granted by its decision (``kind``
    granted), with the legal hold that keeps it."""

    __tablename__ = "evidence_scope_items"
    __audit_type__ = "evidence_scope"
    __table_args__ = (Index("ix_evidence_scope_items_camera_start", "camera_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("legal_holds.id"))

    def audit_site_id(self) -> int | None:
        """Scoped to the camera's site."""
        return self.site_id


class Decision(Audited, Base):
    """The judicial decision on a request: the authority (a court or a prosecutor's office), its number and date,
    the provision of law it rests on (``CMK 134``, say), the outcome, how long a grant is valid, a refusal's
    reason, and the scanned decision kept in ``DATA_DIR/evidence/decisions/<sha256>.<ext>`` (its hash, size and
    type recorded)."""

    __tablename__ = "evidence_decisions"
    __audit_type__ = "evidence_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), unique=True)
    authority_kind: Mapped[str] = mapped_column(String(16))
    authority_name: Mapped[str] = mapped_column(String(200))
    decision_no: Mapped[str] = mapped_column(String(64))
    provision: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    document_size: Mapped[int] = mapped_column(Integer)
    document_type: Mapped[str] = mapped_column(String(32))
    document_name: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def legal_basis(self) -> str:
        """The decision as the audit log names it: ``CMK 134 / <authority> decision no. <number> of <date>``."""
        return (f"{self.provision} / {self.authority_name} decision no. {self.decision_no} "
                f"of {self.decision_date:%Y-%m-%d}")


class Approval(Audited, Base):
    """The second person's answer to a granted request: approved (the release may go ahead) or withheld."""

    __tablename__ = "evidence_approvals"
    __audit_type__ = "evidence_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("evidence_decisions.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approver_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class Release(Audited, Base):
    """Footage released under an approved request: the ranges it covers (``items``: camera id, start and end in UTC,
    each within a granted scope item), the recipient, who approved it and who made it. The package builder makes its
    files from this record."""

    __tablename__ = "evidence_releases"
    __audit_type__ = "evidence_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id", ondelete="CASCADE"), index=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("evidence_approvals.id"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recipient: Mapped[str] = mapped_column(String(200))
    approved_by_name: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
