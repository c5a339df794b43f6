"""Web UI of incidents: the list, making one of an alert, one incident with its place, alerts, timeline, response
times, the units recommended (quickest first, with the reasons) and the assignments, and the operator's moves —
assign, a step on behalf of a unit, cancel, close — as plain forms. A refused move is shown on the page."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.alerts import service as alert_service
from kgys.alerts.states import OPEN
from kgys.dispatch import assignments, roads
from kgys.dispatch.flows import sending
from kgys.dispatch.ranking import Exclusion
from kgys.dispatch.schemas import AssignIn, AssignmentMoveIn
from kgys.dispatch.states import AssignmentMove, AssignmentState
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.events import bus
from kgys.incidents import service
from kgys.incidents.flows import from_alerts
from kgys.incidents.models import Incident
from kgys.incidents.schemas import CloseIn, IncidentIn
from kgys.incidents.states import EntryKind, IncidentState, Outcome
from kgys.incidents.views import Number
from kgys.said import marked as _
from kgys.web import i18n, server_text
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, pydantic_errors, service_errors
from kgys.web.paging import page_number, pager
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

PER_PAGE = 50
STATES = ("open", "closed", "all", *(s.value for s in IncidentState))
RECOMMENDED = 25
NUMBER = re.compile(r"[0-9]{4}-[0-9]{6}")



EXCLUDED_LABELS: dict[Exclusion, str] = {
    Exclusion.NOT_AVAILABLE: _("Not available"),
    Exclusion.MISSING_CAPABILITY: _("Lacks a capability the incident needs"),
    Exclusion.NO_POSITION: _("No position reported"),
    Exclusion.STALE: _("Position too old"),
    Exclusion.NO_ROUTE: _("No way there"),
}
MODEL_LABELS = {"straight_line": _("Straight line × detour"), "road": _("By road")}
# the steps an operator makes for a unit (told by radio), by the assignment's state; cancel is the operator's own
STEPS: dict[AssignmentState, tuple[AssignmentMove, ...]] = {
    AssignmentState.ASSIGNED: (AssignmentMove.ACKNOWLEDGE, AssignmentMove.DECLINE),
    AssignmentState.ACKNOWLEDGED: (AssignmentMove.EN_ROUTE,),
    AssignmentState.EN_ROUTE: (AssignmentMove.ON_SCENE,),
    AssignmentState.ON_SCENE: (AssignmentMove.CLEAR,),
}
ENTRY_LABELS: dict[EntryKind, str] = {
    EntryKind.CREATED: _("Opened"),
    EntryKind.ASSIGNED: _("Unit assigned"),
    EntryKind.ASSIGNMENT: _("Step of an assignment"),
    EntryKind.ESCALATED: _("Escalated"),
    EntryKind.NOTE: _("Note"),
    EntryKind.CLOSED: _("Closed"),
}
MOVE_LABELS: dict[AssignmentMove, str] = {
    AssignmentMove.ACKNOWLEDGE: _("Acknowledged (by radio)"),
    AssignmentMove.EN_ROUTE: _("En route"),
    AssignmentMove.ON_SCENE: _("On scene"),
    AssignmentMove.CLEAR: _("Clear"),
    AssignmentMove.DECLINE: _("Declined"),
    AssignmentMove.CANCEL: _("Cancel the assignment"),
}


def _capabilities(text: str) -> list[str]:
    """Capabilities typed as words separated by commas or spaces."""
    return [c for c in text.replace(",", " ").split() if c]


def _alert_field(errors: dict[str, str]) -> dict[str, str]:
    """Problems with the incident's alerts are the form's ``alert`` field's."""
    return {("alert" if k.startswith("alerts") else k): v for k, v in errors.items()}


def _conflict(exc: Conflict) -> str:
    """A refused move in the request's language, with the reason the service gave."""
    return i18n.gettext("Not done: %(reason)s", reason=server_text.text(exc.message))


@router.get("/incidents")
def incidents_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The incidents of the user's scope, open ones unless asked otherwise; filters state, priority, district."""
    q = request.query_params
    state = q.get("state", "open") if q.get("state") in STATES else "open"
    priority = q.get("priority", "") if q.get("priority") in {"1", "2", "3", "4"} else ""
    filters = {"state": state, "priority": priority, "district": q.get("district", "").strip()[:32]}
    page = page_number(q.get("page"))
    rows, total = service.page_incidents(session=session, actor=p.actor, state=state,
                                         priority=int(priority) if priority else None,
                                         district=filters["district"] or None, page=page, per_page=PER_PAGE)
    return render(request, "incidents/list.html", {
        "rows": [(i, service.site_code(session, i), service.response_seconds(i)) for i in rows],
        "filters": filters, "states": STATES,
        **pager("/incidents", filters, page=page, total=total, per_page=PER_PAGE),
    }, p)


def _new_page(request: Request, session: Session, p: Principal, alert_id: int, *, values: dict[str, str] | None = None,
              errors: dict[str, str] | None = None, conflict: str | None = None, status_code: int = 200) -> Response:
    row = alert_service.get_alert(session=session, actor=p.actor, alert_id=alert_id)
    return render(request, "incidents/new.html", {
        "row": row, "incident": service.incident_of_alert(session, alert_id), "values": values or {},
        "errors": errors or {}, "conflict": conflict, "open": row.alert.state in OPEN,
        "open_incidents": service.list_incidents(session=session, actor=p.actor, state="open", limit=100),
    }, p, status_code=status_code)


@router.get("/incidents/new")
def new_incident_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The form making an incident of an alert (``?alert=ID``), or a link to the open incident it is in."""
    p.actor.require(Perm.DISPATCH_ASSIGN)
    raw = request.query_params.get("alert", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
        raise ValidationFailed([FieldError("alert", "choose an alert first", value=raw[:20])])
    return _new_page(request, session, p, int(raw))


@router.post("/incidents/new")
def new_incident(request: Request, session: DB, p: CurrentPrincipal, form: FormFields,
                 alert: Annotated[int, Form(ge=1, le=2_147_483_647)]) -> Response:
    """Make an incident of the alert and go to it; the form again, with what was refused, otherwise."""
    p.actor.require(Perm.DISPATCH_ASSIGN)
    values = {k: form.get(k, "") for k in ("category", "priority", "details", "capabilities")}
    try:
        data = IncidentIn(alerts=[alert], category=values["category"], details=values["details"],
                          priority=values["priority"].strip() or None,
                          capabilities=_capabilities(values["capabilities"]))
        incident = from_alerts.create_from_alerts(session=session, actor=p.actor, data=data)
    except ValidationError as exc:
        session.rollback()
        return _new_page(request, session, p, alert, values=values, errors=_alert_field(pydantic_errors(exc)),
                         status_code=422)
    except ValidationFailed as exc:
        session.rollback()
        return _new_page(request, session, p, alert, values=values, errors=_alert_field(service_errors(exc.errors)),
                         status_code=422)
    except Conflict as exc:
        session.rollback()
        return _new_page(request, session, p, alert, values=values, conflict=_conflict(exc), status_code=409)
    return RedirectResponse(f"/incidents/{incident.number}", status_code=303)


@router.post("/incidents/add-alert")
def add_alert(request: Request, session: DB, p: CurrentPrincipal, form: FormFields,
              alert: Annotated[int, Form(ge=1, le=2_147_483_647)]) -> Response:
    """Add the alert to the open incident chosen and go to it; the alert's form again, with what was refused,
    otherwise."""
    number = form.get("incident", "").strip()
    try:
        if not NUMBER.fullmatch(number):
            raise ValidationFailed([FieldError("incident", "choose an open incident", value=number[:20])])
        from_alerts.add_alerts(session=session, actor=p.actor, number=number, alert_ids=[alert])
    except ValidationFailed as exc:
        session.rollback()
        return _new_page(request, session, p, alert, errors=_alert_field(service_errors(exc.errors)),
                         status_code=422)
    except NotFound:
        session.rollback()
        return _new_page(request, session, p, alert, status_code=422,
                         errors={"incident": i18n.gettext("No such open incident within your scope.")})
    except Conflict as exc:
        session.rollback()
        return _new_page(request, session, p, alert, conflict=_conflict(exc), status_code=409)
    return RedirectResponse(f"/incidents/{number}", status_code=303)


def _recommendation(request: Request, session: Session, p: Principal,
                    incident: Incident) -> sending.Recommendation | None:
    if incident.state == IncidentState.CLOSED:
        return None
    settings = runtime(request).settings
    return sending.recommend(session=session, actor=p.actor, number=incident.number, settings=settings.dispatch,
                             travel=roads.model_for(session=session, settings=settings), limit=RECOMMENDED)


def _incident_page(request: Request, session: Session, p: Principal, number: str, *,
                   errors: dict[str, str] | None = None, conflict: str | None = None,
                   status_code: int = 200) -> Response:
    incident = service.get(session=session, actor=p.actor, number=number)
    settings = runtime(request).settings
    rec = _recommendation(request, session, p, incident)
    units = [{"call_sign": r.candidate.call_sign, "rank": r.rank, "lat": r.candidate.position.latitude,
              "lon": r.candidate.position.longitude} for r in (rec.ranked if rec else []) if r.candidate.position]
    return render(request, "incidents/detail.html", {
        "i": incident, "site": service.site_code(session, incident),
        "alerts": service.alert_ids(session, incident.id), "timeline": service.timeline(session, incident.id),
        "response": service.response_seconds(incident), "rec": rec,
        "assignments": assignments.for_incident(session, incident.id), "steps": STEPS,
        "move_labels": MOVE_LABELS, "entry_labels": ENTRY_LABELS, "excluded_labels": EXCLUDED_LABELS,
        "model_labels": MODEL_LABELS,
        "outcomes": list(Outcome), "errors": errors or {}, "conflict": conflict,
        "place": {"lat": incident.latitude, "lon": incident.longitude, "accuracy": incident.accuracy_m,
                  "tile_url": settings.web.tile_url, "number": incident.number, "units": units,
                  "seq": bus.last_seq(session)},
    }, p, status_code=status_code)


@router.get("/incidents/{number}")
def incident_page(request: Request, number: Number, session: DB, p: CurrentPrincipal) -> Response:
    """One incident: its place, alerts, timeline, response times, the units recommended and the assignments."""
    return _incident_page(request, session, p, number)


def _refused(request: Request, session: Session, p: Principal, number: str, exc: Exception) -> Response:
    """The incident's page again, saying why the move was refused (nothing of it kept)."""
    session.rollback()
    if isinstance(exc, ValidationError):
        return _incident_page(request, session, p, number, errors=pydantic_errors(exc), status_code=422)
    if isinstance(exc, ValidationFailed):
        return _incident_page(request, session, p, number, errors=service_errors(exc.errors), status_code=422)
    if not isinstance(exc, Conflict):
        raise exc
    return _incident_page(request, session, p, number, conflict=_conflict(exc), status_code=409)


@router.post("/incidents/{number}/assign")
def assign(request: Request, number: Number, session: DB, p: CurrentPrincipal,
           form: FormFields) -> Response:
    """Send a unit to the incident from its page."""
    try:
        data = AssignIn(unit=form.get("unit", ""), note=form.get("note", ""))
        sending.assign(session=session, actor=p.actor, number=number, call_sign=data.unit, note=data.note)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        return _refused(request, session, p, number, exc)
    return RedirectResponse(f"/incidents/{number}#assignments", status_code=303)


@router.post("/incidents/{number}/assignments/{assignment_id}")
def move_assignment(request: Request, number: Number, assignment_id: int, session: DB, p: CurrentPrincipal,
                    form: FormFields) -> Response:
    """A step of an assignment made by the operator for its unit (told by radio), or its cancelling."""
    move = form.get("move", "")
    if move not in {m.value for m in AssignmentMove} or not 1 <= assignment_id <= 2_147_483_647:
        service.get(session=session, actor=p.actor, number=number)
        return _incident_page(request, session, p, number, errors={"move": i18n.gettext("Unknown action.")},
                              status_code=422)
    try:
        data = AssignmentMoveIn(note=form.get("note", ""), version=form.get("version") or None)
        sending.move_assignment(session=session, actor=p.actor, number=number, assignment_id=assignment_id,
                                step=AssignmentMove(move), note=data.note, version=data.version)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        return _refused(request, session, p, number, exc)
    return RedirectResponse(f"/incidents/{number}#assignments", status_code=303)


@router.post("/incidents/{number}/close")
def close(request: Request, number: Number, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Close the incident with its outcome from its page."""
    try:
        data = CloseIn(outcome=form.get("outcome", ""), note=form.get("note", ""),
                       version=form.get("version") or None)
        sending.close_incident(session=session, actor=p.actor, number=number, outcome=data.outcome,
                               note=data.note, version=data.version)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        return _refused(request, session, p, number, exc)
    return RedirectResponse(f"/incidents/{number}", status_code=303)
