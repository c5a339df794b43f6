"""A footage request as it builds on cameras, sites and legal holds: opened by an investigator on cameras of the
investigator's scope, with a provisional hold on exactly that footage at once (lapsing by itself after
``evidence.decision_wait_days``), expired by the jobs worker when no decision came; and every refusal of an
evidence step written to the audit log (:func:`record_refusal`). Flows flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, system_actor
from kgys.accounts.permissions import Perm
from kgys.audit import mechanism
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.errors import FieldError, KgysError, NotFound, ValidationFailed
from kgys.evidence import service
from kgys.evidence.models import FootageRequest, ScopeItem
from kgys.evidence.rules import Range
from kgys.recording import holds
from kgys.recording.models import LegalHold
from kgys.said import _
from kgys.sites import service as site_service
from kgys.sites.models import Site

log = logging.getLogger(__name__)

NO_CAMERA = _("no camera %(camera)s within your scope")


def awaiting_basis(request: FootageRequest) -> str:
    """The legal basis of a request's steps before its decision: the investigation it serves."""
    return f"investigation no. {request.investigation_no} / footage request #{request.id}: judicial decision awaited"


def scoped_cameras(session: Session, actor: Actor, items: Sequence[Range], perm: Perm) -> list[Camera]:
    """The camera of every item, each within the actor's scope; ValidationFailed naming ``scope[i].camera_id`` for
    each that is not (a camera of another district is answered as one that does not exist)."""
    found: list[Camera] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        try:
            found.append(camera_flows.get_camera(session=session, actor=actor, camera_id=item.camera_id, perm=perm))
        except NotFound:
            errors.append(FieldError.said(f"scope[{i}].camera_id", NO_CAMERA, value=str(item.camera_id),
                                          camera=item.camera_id))
    if errors:
        raise ValidationFailed(errors)
    return found


def place_holds(session: Session, actor: Actor, request: FootageRequest, kind: str, items: Sequence[Range],
                cameras: Sequence[Camera], *, reason: str, legal_basis: str, until: datetime,
                now: datetime) -> list[ScopeItem]:
    """A scope item of ``kind`` and a legal hold lapsing at ``until`` for each item (audited with the legal
    basis)."""
    rows = []
    for item, cam in zip(items, cameras, strict=True):
        site = session.get(Site, cam.site_id)
        assert site is not None
        hold = holds.create(session=session, actor=actor, site=site, camera=cam, start=item.start, end=item.end,
                            reason=reason, legal_basis=legal_basis, until=until, now=now)
        with mechanism.acting_as(session, actor, reason=reason, legal_basis=legal_basis):
            rows.append(service.add_item(session=session, request=request, kind=kind, item=item, site_id=site.id,
                                         hold_id=hold.id))
    return rows


def release_holds(session: Session, actor: Actor, rows: Sequence[ScopeItem], *, reason: str, now: datetime) -> int:
    """Release the holds of ``rows`` still in place (audited); how many were released."""
    count = 0
    for row in rows:
        hold = session.get(LegalHold, row.hold_id) if row.hold_id is not None else None
        if hold is not None and hold.released_at is None:
            holds.release(session=session, actor=actor, hold=hold, reason=reason, now=now)
            count += 1
    return count


def open_request(*, session: Session, actor: Actor, investigation_no: str, requesting_unit: str, purpose: str,
                 items: Sequence[Range], wait: timedelta, now: datetime) -> FootageRequest:
    """Open a request for ``items`` (cameras × ranges) of the actor's scope and hold exactly that footage until
    ``now + wait``, when the holds lapse unless a decision came. Audited at every step with the investigation."""
    actor.require(Perm.EVIDENCE_REQUEST)
    errors: list[FieldError] = []
    try:
        number, unit, text = service.check_request(investigation_no=investigation_no,
                                                   requesting_unit=requesting_unit, purpose=purpose, items=items)
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        cams = scoped_cameras(session, actor, items, Perm.EVIDENCE_REQUEST)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    basis = f"investigation no. {number}: judicial decision awaited"
    with mechanism.acting_as(session, actor, reason=text, legal_basis=basis):
        row = service.add_request(session=session, actor=actor, investigation_no=number, requesting_unit=unit,
                                  purpose=text, hold_until=now + wait, now=now)
    place_holds(session, actor, row, "requested", items, cams, reason=text, legal_basis=awaiting_basis(row),
                until=row.hold_until, now=now)
    log.info("footage request %s opened by %s: %s items held until %s", row.id, actor.username, len(items),
             row.hold_until)
    return row


def expire_due(session: Session, now: datetime) -> list[int]:
    """Mark expired the requests whose wait for a decision is over (their provisional holds lapsed by themselves);
    run by the jobs worker, audited as the system."""
    actor = system_actor("evidence.expiry")
    done = []
    for request_id in service.due_to_expire(session=session, now=now):
        request = session.get(FootageRequest, request_id)
        assert request is not None
        with mechanism.acting_as(session, actor, reason="no judicial decision came within the wait",
                                 legal_basis=awaiting_basis(request)):
            service.move(session=session, request=request, event="expire", now=now)
        done.append(request_id)
    return done


def record_refusal(*, session: Session, actor: Actor, step: str, request_id: int | None,
                   error: KgysError) -> int:
    """Write a refused evidence step to the audit log: what was tried, on which request, and why (the fields at
    fault). The caller commits it after rolling back what the step had begun."""
    details: dict[str, Any] = {"step": step, "error": type(error).__name__, "message": error.message[:500]}
    if isinstance(error, ValidationFailed):
        details["fields"] = [{"field": e.field, "message": e.message[:300]} for e in error.errors[:20]]
    elif "field" in error.params or "perm" in error.params:
        details["field"] = str(error.params.get("field") or error.params.get("perm"))
    return audit_service.append(session, actor=actor, action=AuditAction.EVIDENCE_REFUSED,
                                object_type="footage_request", object_id=request_id or "-",
                                reason=error.message[:500], details=details)


@dataclass(frozen=True)
class CameraName:
    """A camera as the evidence pages name it."""

    id: int
    name: str
    site_code: str
    site_name: str


def camera_names(*, session: Session, actor: Actor, ids: Sequence[int] | None = None,
                 limit: int = 500) -> dict[int, CameraName]:
    """The cameras of the actor's scope (those of ``ids`` when given) by id, ordered by site and name; a camera
    outside the scope is left out."""
    service.require_any(actor)
    stmt = (select(Camera.id, Camera.name, Site.code, Site.name).join(Site, Site.id == Camera.site_id)
            .where(site_service.scope_clause(actor)).order_by(Site.code, Camera.name).limit(limit))
    if ids is not None:
        stmt = stmt.where(Camera.id.in_(sorted(set(ids))))
    return {row[0]: CameraName(*row) for row in session.execute(stmt)}
