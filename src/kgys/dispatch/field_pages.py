"""The field page: a field unit's own assignments and status, for a phone's browser.

``GET /field`` shows the unit of the signed-in field login (a dispatcher names one of its scope with
``?unit=CALL-SIGN``): its status, its active assignment with the incident's place, site and call-back number,
and buttons for the next moves only. The moves are plain forms with the CSRF token (no script needed);
:file:`static/field.js` sends them without a reload, follows the event stream (or polls ``/field/state.json``
when the stream is not there) and shares the phone's position through the units API.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from kgys.accounts.permissions import Perm
from kgys.dispatch import service as unit_service
from kgys.dispatch.flows import field, sending
from kgys.dispatch.models import Unit, UnitPosition
from kgys.dispatch.states import (
    BY_HAND,
    ENDED,
    FIELD_MOVES,
    AssignmentMove,
    AssignmentState,
    MoveRefused,
    UnitStatus,
    assignment_after,
)
from kgys.errors import Conflict, NotFound
from kgys.events import bus
from kgys.said import marked as _
from kgys.web import i18n, labels
from kgys.web.deps import DB, CurrentPrincipal, Principal
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

CALL_SIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
POLL_SECONDS = 10



MOVE_LABELS = {AssignmentMove.ACKNOWLEDGE: _("Acknowledge"), AssignmentMove.EN_ROUTE: _("Set off (en route)"),
               AssignmentMove.ON_SCENE: _("Arrived (on scene)"), AssignmentMove.CLEAR: _("Task done (clear)"),
               AssignmentMove.DECLINE: _("Decline")}
FIRST_STEP = {AssignmentMove.EN_ROUTE: _("Acknowledge the assignment first."),
              AssignmentMove.ON_SCENE: _("Report en route first."),
              AssignmentMove.CLEAR: _("Report on scene first."),
              AssignmentMove.DECLINE: _("Only an assignment not yet acknowledged can be declined.")}


def category_label(category: str) -> str:
    """An incident's category, in the request's language."""
    message = next((v for k, v in labels.INCIDENT_CATEGORY_LABELS.items() if k == category), None)
    return i18n.gettext(message) if message else category


def move_label(move: str) -> str:
    """The button text of a move, in the request's language."""
    message = MOVE_LABELS.get(AssignmentMove(move)) if move in MOVE_LABELS else None
    return i18n.gettext(message) if message else move


def refusal(state: AssignmentState, move: AssignmentMove) -> str | None:
    """Why ``move`` cannot be made from ``state``, in the request's language (None: it can)."""
    try:
        assignment_after(state, move)
    except MoveRefused:
        label = labels.assignment_state_label(state)
        if state in ENDED:
            return i18n.gettext("This assignment is %(state)s: it cannot be moved any more.", state=label)
        first = FIRST_STEP.get(move)
        return i18n.gettext("Not possible now: the assignment is %(state)s.", state=label) + (
            " " + i18n.gettext(first) if first else "")
    return None


def _call_sign(value: str | None) -> str | None:
    """The call sign asked for; NotFound when it could not be one."""
    value = (value or "").strip()
    if not value:
        return None
    if not CALL_SIGN.match(value):
        raise NotFound("No such unit.", call_sign=value[:40])
    return value


def _poll_seconds(request: Request) -> int:
    raw = request.query_params.get("poll", "")
    return max(1, min(60, int(raw))) if raw.isdigit() else POLL_SECONDS


def _back(call_sign: str | None, p: Principal) -> str:
    """Where a move sends the browser back to: the field page of the same unit."""
    if call_sign and p.actor.can(Perm.DISPATCH_ASSIGN):
        return "/field?" + urlencode({"unit": call_sign})
    return "/field"


def _texts() -> dict[str, Any]:
    return {
        "new_assignment": i18n.gettext("New assignment"), "incident": i18n.gettext("Incident"),
        "live": i18n.gettext("Live"), "polling": i18n.gettext("Checking every few seconds"),
        "offline": i18n.gettext("No connection: retrying…"),
        "sharing_on": i18n.gettext("Sharing my position"), "sharing_off": i18n.gettext("Position not shared"),
        "last_sent": i18n.gettext("Last sent"), "waiting_fix": i18n.gettext("Waiting for the phone's position…"),
        "denied": i18n.gettext("Location permission denied: allow it for this site in the browser's settings."),
        "unavailable": i18n.gettext("The phone cannot find its position now."),
        "timeout": i18n.gettext("The phone took too long to find its position."),
        "unsupported": i18n.gettext("This browser cannot share a position."),
        "outside": i18n.gettext("Your position is outside Türkiye: not sent."),
        "rejected": i18n.gettext("The position was not accepted"), "failed": i18n.gettext("Could not send"),
    }


def _view(request: Request, session: DB, p: Principal, call_sign: str | None, *, errors: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    found = field.unit_of(session=session, actor=p.actor, call_sign=call_sign)
    st = None if found is None else field.state(session=session, actor=p.actor, unit=found[0], position=found[1])
    return render(request, "field/field.html", {
        "st": st, "errors": errors or {}, "asked": call_sign or "", "move_label": move_label,
        "category_label": category_label,
        "own": found is not None and p.actor.id is not None and found[0].field_user_id == p.actor.id,
        "is_dispatcher": p.actor.can(Perm.DISPATCH_ASSIGN), "poll_seconds": _poll_seconds(request),
        "texts": _texts(),
    }, p, status_code=status_code)


@router.get("/field")
def field_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The unit's field page: status, the active assignment and the next moves."""
    p.actor.require(Perm.UNITS_REPORT)
    return _view(request, session, p, _call_sign(request.query_params.get("unit")))


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _unit_json(unit: Unit, position: UnitPosition | None) -> dict[str, Any]:
    return {"call_sign": unit.call_sign, "kind": unit.kind, "kind_label": labels.unit_kind_label(unit.kind),
            "status": unit.status, "status_label": labels.unit_status_label(unit.status),
            "status_since": _iso(unit.status_since), "version": unit.version,
            "position": None if position is None else {
                "latitude": position.latitude, "longitude": position.longitude,
                "reported_at": _iso(position.reported_at), "received_at": _iso(position.received_at)}}


def _task_json(t: field.Task) -> dict[str, Any]:
    a, inc = t.assignment, t.incident
    return {"id": a.id, "incident": inc.number, "state": a.state,
            "state_label": labels.assignment_state_label(a.state), "category": inc.category,
            "category_label": category_label(inc.category), "priority": inc.priority,
            "details": inc.details, "latitude": inc.latitude, "longitude": inc.longitude,
            "site": t.site_code, "site_name": t.site_name, "address": t.address, "call_back": t.call_back,
            "assigned_at": _iso(a.assigned_at), "version": a.version, "moves": [m.value for m in t.moves]}


@router.get("/field/state.json")
def field_state(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The unit and its active assignments as JSON, with a version that changes with either (sent as the ETag;
    ``If-None-Match`` with it is answered 304)."""
    p.actor.require(Perm.UNITS_REPORT)
    found = field.unit_of(session=session, actor=p.actor, call_sign=_call_sign(request.query_params.get("unit")))
    if found is None:
        body: dict[str, Any] = {"unit": None, "assignments": [], "version": "none"}
    else:
        st = field.state(session=session, actor=p.actor, unit=found[0], position=found[1])
        body = {"unit": _unit_json(st.unit, st.position), "assignments": [_task_json(t) for t in st.tasks],
                "statuses": [s.value for s in st.statuses], "version": st.version}
    etag = f'"{body["version"]}"'
    headers = {"ETag": etag, "Cache-Control": "no-store"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body["seq"] = bus.last_seq(session)
    return JSONResponse(body, headers=headers)


@router.post("/field/assignments/{assignment_id}/{move}")
def field_move(request: Request, assignment_id: int, move: str, session: DB, p: CurrentPrincipal,
               unit: Annotated[str, Form(max_length=32)] = "", note: Annotated[str, Form(max_length=2000)] = "",
               version: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None) -> Response:
    """A step of the unit's own assignment from the field page (acknowledge, en route, on scene, clear, decline
    with a reason); another unit's assignment is 404, a step out of order 409 with nothing written."""
    p.actor.require(Perm.UNITS_REPORT)
    if move not in {m.value for m in FIELD_MOVES} or not 1 <= assignment_id <= 2_147_483_647:
        raise NotFound("No such move.", move=move[:20])
    step = AssignmentMove(move)
    call_sign = _call_sign(unit)
    found = field.unit_of(session=session, actor=p.actor, call_sign=call_sign)
    if found is None:
        raise NotFound("No such assignment.", assignment_id=assignment_id)
    assignment, number = field.task_of(session=session, unit=found[0], assignment_id=assignment_id)
    note = note.strip()
    if step is AssignmentMove.DECLINE and not note:
        return _view(request, session, p, call_sign, status_code=422,
                     errors={"note": i18n.gettext("Say why the unit declines.")})
    why = refusal(AssignmentState(assignment.state), step)
    if why is not None:
        return _view(request, session, p, call_sign, errors={"move": why}, status_code=409)
    try:
        sending.move_assignment(session=session, actor=p.actor, number=number, assignment_id=assignment_id,
                                step=step, note=note, version=version)
    except Conflict:
        session.rollback()
        return _view(request, session, p, call_sign, status_code=409, errors={
            "move": i18n.gettext("This assignment changed meanwhile: look again.")})
    return RedirectResponse(_back(found[0].call_sign, p), status_code=303)


def _status_problem(st: field.FieldState, status: str) -> tuple[int, str] | None:
    """Why the unit cannot be set to ``status`` by hand now (HTTP status and message), None when it can."""
    if st.tasks:
        return 409, i18n.gettext("The unit is on an assignment: report the next step on it.")
    if status not in {s.value for s in BY_HAND}:
        return 422, i18n.gettext("Choose one of the listed values.")
    if status == st.unit.status:
        return 409, i18n.gettext("The unit is %(status)s already.", status=labels.unit_status_label(status))
    return None


@router.post("/field/status")
def field_status(request: Request, session: DB, p: CurrentPrincipal, status: Annotated[str, Form(max_length=16)],
                 unit: Annotated[str, Form(max_length=32)] = "",
                 version: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None) -> Response:
    """The unit's status by hand from the field page (available, busy, off duty), when it is on no assignment."""
    p.actor.require(Perm.UNITS_REPORT)
    call_sign = _call_sign(unit)
    found = field.unit_of(session=session, actor=p.actor, call_sign=call_sign)
    if found is None:
        raise NotFound("No such unit.", call_sign=unit[:32])
    st = field.state(session=session, actor=p.actor, unit=found[0], position=found[1])
    problem = _status_problem(st, status)
    if problem is not None:
        return _view(request, session, p, call_sign, errors={"status": problem[1]}, status_code=problem[0])
    try:
        unit_service.set_status(session=session, actor=p.actor, call_sign=found[0].call_sign,
                                status=UnitStatus(status), version=version)
    except Conflict:
        session.rollback()
        return _view(request, session, p, call_sign, status_code=409, errors={
            "status": i18n.gettext("This unit changed meanwhile: look again.")})
    return RedirectResponse(_back(found[0].call_sign, p), status_code=303)
