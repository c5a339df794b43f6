"""HTTP API of footage requests: open one, list and read them, record the judicial decision (multipart, with the
scanned decision), approve or withhold the release, download the scanned decision (audited), and the report.

Every refusal of a step (a role without the permission, a camera outside the scope, a grant wider than asked,
self-approval, an expired decision) is written to the audit log (:func:`audited_refusal`) before the error is
answered: what the step had begun is rolled back, the refusal's entry committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts.actor import Actor
from kgys.audit.signing import Signer
from kgys.db import utcnow
from kgys.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationFailed
from kgys.evidence import documents, package_audit, reports, service
from kgys.evidence.flows import decisions, requests
from kgys.evidence.models import ScopeItem
from kgys.evidence.rules import Range
from kgys.evidence.schemas import (
    AnswerIn,
    ApprovalOut,
    DecisionForm,
    DecisionOut,
    ReportOut,
    ReportRow,
    RequestIn,
    RequestOut,
    ScopeIn,
    ScopeOut,
    Timing,
)
from kgys.validation import parse_time
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime, writes
from kgys.web.limits import MB
from kgys.web.render import reader_zone
from kgys.web.routing import Router

router = Router(tags=["evidence"])

RequestId = Annotated[int, Path(ge=1, le=2_147_483_647)]
REFUSALS = (PermissionDenied, ValidationFailed, Conflict, NotFound, Gone)


@contextmanager
def audited_refusal(session: Session, actor: Actor, step: str, request_id: int | None,
                    signer: Signer | None = None) -> Iterator[None]:
    """Run an evidence step and seal its audit entries (:func:`kgys.evidence.package_audit.seal`, with ``signer``);
    when it is refused, roll back what it began, write the refusal to the audit log, seal and commit that entry and
    answer the refusal."""
    try:
        yield
    except REFUSALS as exc:
        session.rollback()
        requests.record_refusal(session=session, actor=actor, step=step, request_id=request_id, error=exc)
        if signer is not None:
            package_audit.seal(session, signer)
        session.commit()
        raise
    if signer is not None:
        package_audit.seal(session, signer)


class DecisionUpload(DecisionForm):
    """The decision form with its scanned decision."""

    document: UploadFile = Field(description="The scanned decision: PDF, JPEG or PNG (told by its bytes), at most "
                                 "web.max_decision_mb")


def ranges(items: list[ScopeIn]) -> list[Range]:
    """The API's scope items as UTC ranges (a time without an offset is UTC)."""
    return [Range(i.camera_id, localtime.as_utc(i.start), localtime.as_utc(i.end)) for i in items]


def _scope_out(rows: list[ScopeItem]) -> list[ScopeOut]:
    return [ScopeOut(id=r.id, camera_id=r.camera_id, site_id=r.site_id, start=r.start, end=r.end, hold_id=r.hold_id)
            for r in rows]


def request_out(d: service.Detail) -> RequestOut:
    """The API shape of a request and what was decided on it."""
    r, dec, app = d.request, d.decision, d.approval
    return RequestOut(
        id=r.id, investigation_no=r.investigation_no, requesting_unit=r.requesting_unit, purpose=r.purpose,
        requested_by=r.requested_by_name, state=r.state, version=r.version, hold_until=r.hold_until,
        created_at=r.created_at, updated_at=r.updated_at, requested=_scope_out(d.requested),
        granted=_scope_out(d.granted),
        decision=None if dec is None else DecisionOut(
            outcome=dec.outcome, authority_kind=dec.authority_kind, authority_name=dec.authority_name,
            decision_no=dec.decision_no, decision_date=dec.decision_date, provision=dec.provision,
            valid_until=dec.valid_until, refusal_reason=dec.refusal_reason, document_sha256=dec.document_sha256,
            document_size=dec.document_size, document_type=dec.document_type, recorded_by=dec.recorded_by_name,
            recorded_at=dec.recorded_at, legal_basis=dec.legal_basis()),
        approval=None if app is None else ApprovalOut(outcome=app.outcome, approver=app.approver_name, at=app.at,
                                                      note=app.note))


@router.post("/evidence/requests", response_model=RequestOut, response_model_by_alias=True, status_code=201,
             responses=errors(403, 422))
def create_request(body: RequestIn, request: Request, session: DB, actor: CurrentActor) -> RequestOut:
    """Open a footage request for cameras × ranges of your scope (``evidence.request``): the footage is held at once
    until `evidence.decision_wait_days` have passed (audited with the investigation number)."""
    wait = timedelta(days=runtime(request).settings.evidence.decision_wait_days)
    with audited_refusal(session, actor, "request", None, runtime(request).signer):
        row = requests.open_request(session=session, actor=actor, investigation_no=body.investigation_no,
                                    requesting_unit=body.requesting_unit, purpose=body.purpose,
                                    items=ranges(body.scope), wait=wait, now=utcnow())
    return request_out(service.detail(session=session, actor=actor, request_id=row.id))


@router.get("/evidence/requests", response_model=list[RequestOut], response_model_by_alias=True)
def list_requests(session: DB, actor: CurrentActor,
                  state: Annotated[str | None, Query(max_length=16, pattern="^[a-z]+$")] = None) -> list[RequestOut]:
    """The footage requests you may see, newest first: your own, or every one of your scope when you decide,
    approve or audit."""
    rows = service.listing(session=session, actor=actor, state=state)
    return [request_out(service.detail(session=session, actor=actor, request_id=r.id)) for r in rows]


@router.get("/evidence/requests/{request_id}", response_model=RequestOut, response_model_by_alias=True,
            responses=errors(404))
def get_request(request_id: RequestId, session: DB, actor: CurrentActor) -> RequestOut:
    """One footage request with its scope, decision and approval."""
    return request_out(service.detail(session=session, actor=actor, request_id=request_id))


@router.post("/evidence/requests/{request_id}/decision", response_model=RequestOut, response_model_by_alias=True,
             responses=errors(403, 404, 409, 413, 422))
def record_decision(request_id: RequestId, request: Request, session: DB, actor: CurrentActor,
                    form: Annotated[DecisionUpload, Form(media_type="multipart/form-data")]) -> RequestOut:
    """Record the court's or prosecutor's decision (``evidence.decide``): granted with its scope (within what was
    asked, never wider) and validity, or refused with its reason; the provisional holds give way to the decision's."""
    settings = runtime(request).settings
    with audited_refusal(session, actor, "decision", request_id, settings_signer(request)):
        upload = documents.Upload.receive(form.document.file, name=form.document.filename or "",
                                          data_dir=settings.data_dir,
                                          limit=int(settings.web.max_decision_mb * MB))
        data = decisions.DecisionIn(
            outcome=form.outcome, authority_kind=form.authority_kind, authority_name=form.authority_name,
            decision_no=form.decision_no, decision_date=form.decision_date, provision=form.provision,
            valid_until=localtime.as_utc(form.valid_until) if form.valid_until else None,
            refusal_reason=form.refusal_reason, scope=ranges(form.scope))
        decisions.record_decision(session=session, actor=actor, request_id=request_id, data=data, upload=upload,
                                  data_dir=settings.data_dir, version=form.version, now=utcnow())
    return request_out(service.detail(session=session, actor=actor, request_id=request_id))


def settings_signer(request: Request) -> Signer:
    """The audit signing key the steps of a release are sealed with."""
    return runtime(request).signer


def _answer(request: Request, session: Session, actor: Actor, request_id: int, body: AnswerIn,
            approve: bool) -> RequestOut:
    with audited_refusal(session, actor, "approve" if approve else "withhold", request_id, settings_signer(request)):
        decisions.answer(session=session, actor=actor, request_id=request_id, approve=approve, note=body.note,
                         version=body.version, now=utcnow())
    return request_out(service.detail(session=session, actor=actor, request_id=request_id))


@router.post("/evidence/requests/{request_id}/approve", response_model=RequestOut, response_model_by_alias=True,
             responses=errors(403, 404, 409, 422))
def approve_request(request_id: RequestId, body: AnswerIn, request: Request, session: DB,
                    actor: CurrentActor) -> RequestOut:
    """Approve the release of a granted request (``evidence.approve``; a second person, never the requester; only
    while the decision is valid)."""
    return _answer(request, session, actor, request_id, body, approve=True)


@router.post("/evidence/requests/{request_id}/refuse", response_model=RequestOut, response_model_by_alias=True,
             responses=errors(403, 404, 409, 422))
def refuse_request(request_id: RequestId, body: AnswerIn, request: Request, session: DB,
                   actor: CurrentActor) -> RequestOut:
    """Withhold the release of a granted request, with a note (``evidence.approve``; never the requester)."""
    return _answer(request, session, actor, request_id, body, approve=False)


@router.get("/evidence/requests/{request_id}/document", response_class=FileResponse, responses=errors(404))
@writes  # each download is audited
def download_document(request_id: RequestId, request: Request, session: DB, actor: CurrentActor) -> FileResponse:
    """The scanned decision of a request (audited with the decision as its legal basis)."""
    with audited_refusal(session, actor, "document", request_id, settings_signer(request)):
        path, decision = decisions.document(session=session, actor=actor, request_id=request_id,
                                            data_dir=runtime(request).settings.data_dir)
    ext = path.suffix
    return FileResponse(path, media_type=decision.document_type, filename=f"karar-{request_id}{ext}")


@router.get("/evidence/report", response_model=ReportOut, response_model_by_alias=True, responses=errors(422))
def evidence_report(request: Request, session: DB, actor: CurrentActor,
                    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
                    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
                    period: Literal["month", "week", "day"] = "month") -> ReportOut:
    """Footage requests, decisions, refusals, approvals and releases per period (month, week or day, in your time
    zone) and requesting unit, with the median and 90th percentile of request → decision and decision → approval
    (hours); default: the year up to now."""
    b = parse_time(end, "to") or utcnow()
    a = parse_time(start, "from") or b - timedelta(days=365)
    rows = reports.report(session=session, actor=actor, start=a, end=b, period=period, where=reader_zone(request))
    return ReportOut(start=a, end=b, period=period, rows=[report_row(r) for r in rows])


def report_row(r: reports.Row) -> ReportRow:
    """The API shape of one row of the report."""
    dn, dmed, dp90 = reports.timing(r.to_decision)
    an, amed, ap90 = reports.timing(r.to_approval)
    return ReportRow(period=r.period, unit=r.unit, requests=r.requests, decisions=r.decisions, granted=r.granted,
                     refusals=r.refusals, expired=r.expired, approvals=r.approvals, releases=r.releases,
                     request_to_decision=Timing(count=dn, median_hours=dmed, p90_hours=dp90),
                     decision_to_approval=Timing(count=an, median_hours=amed, p90_hours=ap90))
