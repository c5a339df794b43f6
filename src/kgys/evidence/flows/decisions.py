"""The judicial decision, the second approval and each release of a footage request, as they build on legal holds.

A granted decision holds the footage it grants until its validity ends and releases the provisional holds (what it
did not grant falls back under retention); a refused one releases them all. The approval is given by a second
person holding ``evidence.approve``, never the requester, and only while the decision is valid. A release covers
nothing the decision did not grant. Every step is audited with the decision as its legal basis. Flows flush, never
commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import mechanism
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from kgys.evidence import documents, service
from kgys.evidence.flows import requests
from kgys.evidence.models import Approval, Decision, FootageRequest, Release
from kgys.evidence.rules import Range, beyond_errors, range_errors

log = logging.getLogger(__name__)

AUTHORITIES = ("court", "prosecutor")
OUTCOMES = ("granted", "refused")
SELF_APPROVAL = "the requester may not approve their own request: a second person must (four eyes; field approver)"


@dataclass(frozen=True)
class DecisionIn:
    """A judicial decision as the liaison enters it (scope: what it grants; empty for a refusal)."""

    outcome: str
    authority_kind: str
    authority_name: str
    decision_no: str
    decision_date: date
    provision: str
    valid_until: datetime | None
    refusal_reason: str
    scope: Sequence[Range]


def check_decision(data: DecisionIn, asked: Sequence[Range], upload: documents.Upload, now: datetime) -> list[str]:
    """The trimmed authority name, number, provision and refusal reason once the decision is sound;
    ValidationFailed naming every field at fault: a grant wider than the request (``scope[i]``), a validity
    already over, a refusal without its reason, a document that is not a PDF, JPEG or PNG."""
    errors: list[FieldError] = []
    if data.authority_kind not in AUTHORITIES:
        errors.append(FieldError("authority_kind", "court or prosecutor"))
    if data.outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "granted or refused"))
    name = service.clean("authority_name", data.authority_name, errors)
    number = service.clean("decision_no", data.decision_no, errors)
    provision = service.clean("provision", data.provision, errors)
    reason = service.clean("refusal_reason", data.refusal_reason, errors, required=data.outcome == "refused")
    if data.decision_date > (now + timedelta(hours=14)).date():  # today anywhere on Earth is not the future
        errors.append(FieldError("decision_date", "lies in the future"))
    if data.outcome == "granted":
        if data.valid_until is None:
            errors.append(FieldError("valid_until", "is required for a granted decision"))
        elif data.valid_until.tzinfo is None:
            errors.append(FieldError("valid_until", "needs a time zone"))
        elif data.valid_until <= now:
            errors.append(FieldError("valid_until", "must be in the future", value=data.valid_until.isoformat()))
        scope_errors = range_errors(data.scope)
        errors += scope_errors or beyond_errors(data.scope, asked)
    elif data.outcome == "refused" and data.scope:
        errors.append(FieldError("scope", "a refusal grants no footage"))
    errors += upload.problems()
    if errors:
        raise ValidationFailed(errors)
    return [name, number, provision, reason]


def record_decision(*, session: Session, actor: Actor, request_id: int, data: DecisionIn, upload: documents.Upload,
                    data_dir: Path, version: int | None, now: datetime) -> Decision:
    """Record the decision on a request awaiting one, keep its scanned document, and move the holds: a grant holds
    what it grants until ``valid_until`` and releases the provisional holds; a refusal releases them. The upload is
    removed when anything is refused."""
    try:
        actor.require(Perm.EVIDENCE_DECIDE)
        request = service.get(session=session, actor=actor, request_id=request_id)
        service.require_version(request, version)
        asked = service.items(session=session, request_id=request.id, kind="requested")
        name, number, provision, reason = check_decision(data, service.ranges(asked), upload, now)
        cams = requests.scoped_cameras(session, actor, data.scope, Perm.EVIDENCE_DECIDE)
        if actor.id is None:
            raise NotFound("decisions are recorded by a user")
        assert upload.content_type is not None
        decision = Decision(request_id=request.id, authority_kind=data.authority_kind, authority_name=name,
                            decision_no=number, decision_date=data.decision_date, provision=provision,
                            valid_until=data.valid_until if data.outcome == "granted" else None,
                            outcome=data.outcome, refusal_reason=reason or None, document_sha256=upload.sha256,
                            document_size=upload.size, document_type=upload.content_type,
                            document_name=upload.name, recorded_by=actor.id, recorded_by_name=actor.username[:64],
                            recorded_at=now)
        basis = decision.legal_basis()
        with mechanism.acting_as(session, actor, reason=f"judicial decision: {data.outcome}", legal_basis=basis):
            service.move(session=session, request=request, event="grant" if data.outcome == "granted" else "refuse",
                         now=now)
            session.add(decision)
            session.flush()
        if data.outcome == "granted":
            assert data.valid_until is not None
            requests.place_holds(session, actor, request, "granted", data.scope, cams, reason=request.purpose,
                                 legal_basis=basis, until=data.valid_until, now=now)
        requests.release_holds(session, actor, asked, reason=f"provisional hold replaced by the decision "
                               f"({data.outcome})", now=now)
        upload.keep(data_dir)
    except BaseException:
        upload.discard()
        raise
    log.info("decision on footage request %s recorded by %s: %s", request.id, actor.username, data.outcome)
    return decision


def answer(*, session: Session, actor: Actor, request_id: int, approve: bool, note: str, version: int | None,
           now: datetime) -> Approval:
    """The second person's answer to a granted request: approved (the release may go ahead) or withheld.
    PermissionDenied for the requester (four eyes); Conflict when the decision is not a grant still valid."""
    actor.require(Perm.EVIDENCE_APPROVE)
    request = service.get(session=session, actor=actor, request_id=request_id)
    if actor.id is None or actor.id == request.requested_by:
        raise PermissionDenied(SELF_APPROVAL, field="approver")
    service.require_version(request, version)
    decision = service.decision_of(session=session, request_id=request.id)
    if decision is None or decision.outcome != "granted":
        raise Conflict("there is no granted decision to approve a release under (field decision)", field="decision")
    if not service.decision_valid(decision, now):
        raise Conflict(f"the decision's validity ended on {decision.valid_until:%Y-%m-%d %H:%M} UTC "
                       "(field valid_until): it releases nothing any more", field="valid_until")
    errors: list[FieldError] = []
    text = service.clean("note", note, errors, required=not approve)
    if errors:
        raise ValidationFailed(errors)
    row = Approval(request_id=request.id, decision_id=decision.id, outcome="approved" if approve else "withheld",
                   approver_id=actor.id, approver_name=actor.username[:64], at=now, note=text)
    with mechanism.acting_as(session, actor, reason=text or "second approval", legal_basis=decision.legal_basis()):
        service.move(session=session, request=request, event="approve" if approve else "withhold", now=now)
        session.add(row)
        session.flush()
    return row


def record_release(*, session: Session, actor: Actor, request_id: int, items: Sequence[Range], recipient: str,
                   now: datetime, organisation: str = "", redact: bool = False, watermark: bool = False,
                   include_segments: bool = False) -> Release:
    """Record footage released under an approved request to ``recipient`` (for the package builder). Refused
    (ValidationFailed naming ``scope[i]``) when any of it lies beyond the decision's grant, and (Conflict) when the
    request is not approved or the decision no longer valid."""
    service.require_any(actor)
    request = service.get(session=session, actor=actor, request_id=request_id)
    decision = service.decision_of(session=session, request_id=request.id)
    approval = service.approval_of(session=session, request_id=request.id)
    if request.state != "approved" or approval is None or decision is None:
        raise Conflict(f"footage request {request.id} is {request.state}: only an approved request is released",
                       field="state")
    if not service.decision_valid(decision, now):
        raise Conflict("the decision's validity is over (field valid_until)", field="valid_until")
    errors: list[FieldError] = []
    who = service.clean("recipient", recipient, errors)
    org = service.clean("organisation", organisation, errors, required=False)
    granted = service.ranges(service.items(session=session, request_id=request.id, kind="granted"))
    errors += range_errors(items) or beyond_errors(items, granted)
    if errors:
        raise ValidationFailed(errors)
    if actor.id is None:
        raise NotFound("releases are made by a user")
    row = Release(request_id=request.id, approval_id=approval.id, recipient=who,
                  items=[{"camera_id": r.camera_id, "start": r.start.isoformat(), "end": r.end.isoformat()}
                         for r in items], approved_by_name=approval.approver_name, created_by=actor.id,
                  created_by_name=actor.username[:64], created_at=now, recipient_org=org, redact=redact,
                  watermark=watermark, include_segments=include_segments, state="queued", progress=0.0, attempt=0)
    with mechanism.acting_as(session, actor, reason=f"release to {who}", legal_basis=decision.legal_basis()):
        session.add(row)
        session.flush()
    return row


def document(*, session: Session, actor: Actor, request_id: int, data_dir: Path) -> tuple[Path, Decision]:
    """The scanned decision of a request the actor may see (each download audited with the decision)."""
    request = service.get(session=session, actor=actor, request_id=request_id)
    decision = service.decision_of(session=session, request_id=request.id)
    if decision is None:
        raise NotFound(f"footage request {request_id} has no decision yet", request_id=request_id)
    path = documents.path_of(data_dir, decision.document_sha256, decision.document_type)
    if not path.is_file():
        raise NotFound(f"the scanned decision of request {request_id} is missing from storage")
    audit_service.record_access(session, actor=actor, action=AuditAction.EVIDENCE_DOCUMENT_VIEW,
                                object_type="footage_request", object_id=request.id, site_id=None,
                                reason="scanned decision read", legal_basis=decision.legal_basis(),
                                details={"sha256": decision.document_sha256, "bytes": decision.document_size})
    return path, decision


def is_requester(request: FootageRequest, actor: Actor) -> bool:
    """Whether the actor made the request (and so may not approve it)."""
    return actor.id is not None and actor.id == request.requested_by
