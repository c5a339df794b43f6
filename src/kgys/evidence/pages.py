"""The web pages of footage requests: the list (with the report by month and unit), the new request form (cameras ×
ranges, typed in the reader's zone), and a request's page with the decision form for the judicial liaison and the
approve and withhold buttons for the second person. Refused steps are audited as in the API
(:func:`kgys.evidence.views.audited_refusal`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.evidence import documents, reports, service, texts
from kgys.evidence.flows import decisions, releases, requests
from kgys.evidence.models import FootageRequest
from kgys.evidence.rules import Range
from kgys.evidence.schemas import DecisionForm
from kgys.evidence.views import RequestId, audited_refusal, report_row
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, local_time, pydantic_errors, service_errors
from kgys.web.limits import MB
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

ROWS = 4  # camera × range rows on the new request form
Raw = Annotated[str, Query(max_length=200)]
REQUEST_FIELDS = ("investigation_no", "requesting_unit", "purpose")
RUNNING = ("queued", "cutting", "detecting", "rendering", "packaging")


def _tr(mapping: dict[str, str]) -> dict[str, str]:
    return {k: i18n.gettext(v) for k, v in mapping.items()}


@router.get("/evidence/requests")
def request_list(request: Request, session: DB, p: CurrentPrincipal,
                 state: Annotated[str, Query(max_length=16)] = "") -> Response:
    """The footage requests the reader may see, and (for those who read every request of their scope) the report
    of the last twelve months by month and unit."""
    rows = service.listing(session=session, actor=p.actor, state=state or None)
    now = utcnow()
    report = None
    if p.actor.can(Perm.EVIDENCE_READ):
        report = [report_row(r) for r in reports.report(session=session, actor=p.actor, start=now - timedelta(days=365),
                                                         end=now, period="month", where=reader_zone(request))]
    return render(request, "evidence/list.html", {"rows": rows, "state": state, "states": _tr(texts.STATES),
                                                  "report": report}, p)


def order_names(count: int) -> dict[str, str]:
    """The labels of the release order form's fields in the request's language."""
    out = {"recipient": i18n.gettext("Recipient"), "organisation": i18n.gettext("Organisation"),
           "scope": i18n.gettext("Footage released")}
    for i in range(count):
        out[f"rfrom_{i}"] = i18n.gettext("%(field)s, row %(row)s", field=i18n.gettext("From"), row=i + 1)
        out[f"rto_{i}"] = i18n.gettext("%(field)s, row %(row)s", field=i18n.gettext("To"), row=i + 1)
    return out


def row_names(count: int) -> dict[str, str]:
    """The labels of the rows' fields in the request's language (``camera_0`` → *Camera, row 1*)."""
    out: dict[str, str] = {}
    for i in range(count):
        for prefix, label in (("camera", i18n.gettext("Camera")), ("from", i18n.gettext("From")),
                              ("to", i18n.gettext("To"))):
            out[f"{prefix}_{i}"] = i18n.gettext("%(field)s, row %(row)s", field=label, row=i + 1)
    return out


def _new_form(request: Request, session: Session, p: Principal, values: dict[str, Any], errors: dict[str, str],
              status_code: int = 200) -> Response:
    cams = requests.camera_names(session=session, actor=p.actor)
    names = row_names(ROWS) | {"investigation_no": i18n.gettext("Investigation no."),
                               "requesting_unit": i18n.gettext("Requesting unit"), "purpose": i18n.gettext("Purpose")}
    return render(request, "evidence/new.html", {"cameras": list(cams.values()), "values": values, "errors": errors,
                                                 "rows": range(ROWS), "names": names}, p, status_code=status_code)


@router.get("/evidence/requests/new")
def request_form(request: Request, session: DB, p: CurrentPrincipal, cameras: Raw = "",
                 start: Annotated[str, Query(alias="from", max_length=64)] = "",
                 end: Annotated[str, Query(alias="to", max_length=64)] = "") -> Response:
    """The new request form, its rows filled from ``?cameras=1,2&from=…&to=…`` (local times) when given."""
    p.actor.require(Perm.EVIDENCE_REQUEST)
    values: dict[str, Any] = {}
    ids = [int(c) for c in cameras.split(",") if c.strip().isdigit()][:ROWS]
    for i, cam in enumerate(ids):
        values[f"camera_{i}"], values[f"from_{i}"], values[f"to_{i}"] = str(cam), start, end
    return _new_form(request, session, p, values, {})


def _rows(form: dict[str, str], request: Request, errors: dict[str, str]) -> tuple[list[Range], list[int]]:
    """The filled rows of the form as ranges, and the row each came from; a row half filled or a time that is not
    one leaves a message for its field."""
    where = reader_zone(request)
    items: list[Range] = []
    origin: list[int] = []
    for i in range(ROWS):
        cam = form.get(f"camera_{i}", "").strip()
        start = local_time(form.get(f"from_{i}"), where, f"from_{i}", errors)
        end = local_time(form.get(f"to_{i}"), where, f"to_{i}", errors)
        if not cam and start is None and end is None:
            continue
        if not cam.isdigit():
            errors.setdefault(f"camera_{i}", i18n.gettext("Choose a camera."))
        for name, value in ((f"from_{i}", start), (f"to_{i}", end)):
            if value is None:
                errors.setdefault(name, i18n.gettext("Enter a date and time."))
        if cam.isdigit() and start is not None and end is not None:
            items.append(Range(int(cam), start, end))
            origin.append(i)
    return items, origin


def _row_errors(exc: ValidationFailed, origin: list[int]) -> dict[str, str]:
    """The service's errors under the form's names: ``scope[k].end`` of the k-th filled row as ``to_<row>``."""
    renamed = []
    for e in exc.errors:
        name = e.field
        if name.startswith("scope[") and "]" in name:
            k = int(name[6:name.index("]")])
            part = name[name.index("]") + 2:] if "." in name else "camera_id"
            row = origin[k] if k < len(origin) else 0
            name = {"camera_id": f"camera_{row}", "start": f"from_{row}", "end": f"to_{row}"}.get(part, f"to_{row}")
        elif name == "scope":
            name = "camera_0"
        renamed.append(FieldError(name, e.message, msgid=e.msgid, params=e.params))
    return service_errors(renamed)


@router.post("/evidence/requests/new")
def request_create(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Open the request (audited) and go to its page; the form again, with every problem named, when it is not
    sound (the refusal audited too)."""
    errors: dict[str, str] = {}
    items, origin = _rows(form, request, errors)
    wait = timedelta(days=runtime(request).settings.evidence.decision_wait_days)
    try:
        if errors:
            raise ValidationFailed([FieldError(k, v) for k, v in errors.items()])
        with audited_refusal(session, p.actor, "request", None, runtime(request).signer):
            row = requests.open_request(session=session, actor=p.actor, investigation_no=form.get("investigation_no",
                                        ""), requesting_unit=form.get("requesting_unit", ""),
                                        purpose=form.get("purpose", ""), items=items, wait=wait, now=utcnow())
    except ValidationFailed as exc:
        shown = errors or _row_errors(exc, origin)
        return _new_form(request, session, p, dict(form), shown, status_code=422)
    return RedirectResponse(f"/evidence/requests/{row.id}", status_code=303)


def release_context(session: Session, p: Principal, request: FootageRequest, valid: bool) -> dict[str, Any]:
    """What the request's page shows of its releases: the list, whether the reader may order one (the requester
    of an approved request, while the decision is valid) and review one."""
    rows = releases.listing(session=session, actor=p.actor, request_id=request.id)
    mine = decisions.is_requester(request, p.actor)
    return {"releases": rows, "release_states": {k: i18n.gettext(v) for k, v in texts.RELEASE_STATES.items()},
            "may_order": mine and p.actor.can(Perm.EVIDENCE_REQUEST) and request.state == "approved" and valid,
            "may_review": mine or p.actor.can(Perm.EVIDENCE_APPROVE),
            "release_running": any(r.state in RUNNING for r in rows)}


def show_page(request: Request, session: Session, p: Principal, request_id: int,
              errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
              status_code: int = 200) -> Response:
    """A request's page: what was asked, the decision, the approval, the releases and the forms the reader may use."""
    d = service.detail(session=session, actor=p.actor, request_id=request_id)
    ids = [i.camera_id for i in d.requested + d.granted]
    names = requests.camera_names(session=session, actor=p.actor, ids=ids)
    now = utcnow()
    mine = decisions.is_requester(d.request, p.actor)
    ctx = {"d": d, "r": d.request, "names": names, "errors": errors or {}, "values": values or {},
           "state_label": i18n.gettext(texts.STATES.get(d.request.state, d.request.state)),
           "outcomes": _tr(texts.OUTCOMES), "authorities": _tr(texts.AUTHORITIES),
           "may_decide": p.actor.can(Perm.EVIDENCE_DECIDE) and d.request.state == "awaiting",
           "may_approve": p.actor.can(Perm.EVIDENCE_APPROVE) and d.request.state == "granted" and not mine,
           "valid": service.decision_valid(d.decision, now), "mine": mine,
           "max_mb": runtime(request).settings.web.max_decision_mb, "playback_link": playback_link,
           "row_names": row_names(len(d.requested)), "order_names": order_names(len(d.granted)),
           **release_context(session, p, d.request, service.decision_valid(d.decision, now))}
    return render(request, "evidence/show.html", ctx, p, status_code=status_code)


@router.get("/evidence/requests/{request_id}")
def request_page(request: Request, request_id: RequestId, session: DB, p: CurrentPrincipal) -> Response:
    """One request: what was asked, the holds, the decision, the approval, and the forms the reader may use."""
    return show_page(request, session, p, request_id)


def _decision_form(form: dict[str, str], request: Request, asked: list[Range],
                   errors: dict[str, str]) -> DecisionForm | None:
    """The decision form read: the granted rows (ticked, with their narrowed times in the reader's zone) as the
    scope; None with messages in ``errors`` when a field is not sound."""
    where = reader_zone(request)
    scope = []
    for i, item in enumerate(asked):
        if form.get(f"grant_{i}") and form.get("outcome") == "granted":
            start = local_time(form.get(f"from_{i}"), where, f"from_{i}", errors) or item.start
            end = local_time(form.get(f"to_{i}"), where, f"to_{i}", errors) or item.end
            scope.append({"camera_id": item.camera_id, "from": start.isoformat(), "to": end.isoformat()})
    valid = local_time(form.get("valid_until"), where, "valid_until", errors)
    fields = {k: form[k] for k in ("outcome", "authority_kind", "authority_name", "decision_no", "decision_date",
                                   "provision", "refusal_reason") if k in form}
    try:
        data = DecisionForm.model_validate(fields | {"valid_until": valid, "scope": json.dumps(scope)})
    except ValidationError as exc:
        errors.update({k: v for k, v in pydantic_errors(exc).items() if k not in errors})
        return None
    return None if errors else data


@router.post("/evidence/requests/{request_id}/decision")
def decision_submit(request: Request, request_id: RequestId, session: DB, p: CurrentPrincipal, form: FormFields,
                    document: Annotated[UploadFile | None, File()] = None) -> Response:
    """Record the decision from the request's page (audited; a refusal too), then show the page again."""
    settings = runtime(request).settings
    errors: dict[str, str] = {}
    try:
        with audited_refusal(session, p.actor, "decision", request_id, runtime(request).signer):
            p.actor.require(Perm.EVIDENCE_DECIDE)
            asked = service.ranges(service.detail(session=session, actor=p.actor, request_id=request_id).requested)
            data = _decision_form(form, request, asked, errors)
            if document is None or not document.filename:
                errors.setdefault("document", i18n.gettext("Choose the scanned decision (PDF, JPEG or PNG)."))
            if data is None or document is None or errors:
                raise ValidationFailed([FieldError(k, v) for k, v in errors.items()])
            upload = documents.Upload.receive(document.file, name=document.filename or "", data_dir=settings.data_dir,
                                              limit=int(settings.web.max_decision_mb * MB))
            decisions.record_decision(session=session, actor=p.actor, request_id=request_id, data=_decision_in(data),
                                      upload=upload, data_dir=settings.data_dir, version=None, now=utcnow())
    except ValidationFailed as exc:
        shown = errors or service_errors(exc.errors)
        return show_page(request, session, p, request_id, errors=shown, values=dict(form), status_code=422)
    return RedirectResponse(f"/evidence/requests/{request_id}?saved=decision", status_code=303)


def _decision_in(data: DecisionForm) -> decisions.DecisionIn:
    return decisions.DecisionIn(
        outcome=data.outcome, authority_kind=data.authority_kind, authority_name=data.authority_name,
        decision_no=data.decision_no, decision_date=data.decision_date, provision=data.provision,
        valid_until=data.valid_until, refusal_reason=data.refusal_reason,
        scope=[Range(s.camera_id, s.start, s.end) for s in data.scope])


def _answer(request: Request, request_id: int, session: Session, p: Principal, note: str,
            approve: bool) -> Response:
    try:
        with audited_refusal(session, p.actor, "approve" if approve else "withhold", request_id,
                             runtime(request).signer):
            decisions.answer(session=session, actor=p.actor, request_id=request_id, approve=approve, note=note,
                             version=None, now=utcnow())
    except ValidationFailed as exc:
        return show_page(request, session, p, request_id, errors=service_errors(exc.errors), status_code=422)
    return RedirectResponse(f"/evidence/requests/{request_id}?saved=answer", status_code=303)


@router.post("/evidence/requests/{request_id}/approve")
def approve_submit(request: Request, request_id: RequestId, session: DB, p: CurrentPrincipal,
                   form: FormFields) -> Response:
    """Approve the release (the second person; audited)."""
    return _answer(request, request_id, session, p, form.get("note", ""), approve=True)


@router.post("/evidence/requests/{request_id}/refuse")
def refuse_submit(request: Request, request_id: RequestId, session: DB, p: CurrentPrincipal,
                  form: FormFields) -> Response:
    """Withhold the release, with a note (the second person; audited)."""
    return _answer(request, request_id, session, p, form.get("note", ""), approve=False)


def playback_link(camera_id: int, start: datetime, end: datetime) -> str:
    """The playback page of one granted camera × range."""
    return "/playback?" + urlencode({"cameras": camera_id, "from": start.isoformat(), "to": end.isoformat()})
