"""Web UI of the alert queue: the operator's console (live, :file:`static/console.js`), the list of alerts with
filters, and one alert with its history and the moves an operator makes (plain forms, no script needed), the
lockdown of its site included."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kgys.accounts.permissions import Perm
from kgys.alerts import reports, service
from kgys.alerts.states import OUTCOMES, Move, Source, State
from kgys.alerts.views import AlertId
from kgys.db import utcnow
from kgys.devices.flows import lockdown as lockdown_flow
from kgys.errors import Conflict, NotFound, ValidationFailed
from kgys.validation import parse_time
from kgys.web import i18n, labels
from kgys.web.deps import DB, CurrentPrincipal
from kgys.web.forms import blank, service_errors
from kgys.web.paging import page_number, pager
from kgys.web.render import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 100
STATES = ("open", "closed", "all")


@router.get("/alerts")
def alerts_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Alerts of the sites within the user's scope, newest first; open ones unless asked otherwise."""
    q = request.query_params
    state = q.get("state", "open") if q.get("state") in STATES else "open"
    source = q.get("source", "") if q.get("source") in {s.value for s in Source} else ""
    filters = {"site": q.get("site", "").strip()[:32], "state": state, "source": source}
    page = page_number(q.get("page"))
    errors: dict[str, str] = {}
    rows: list[service.AlertRow] = []
    total = 0
    try:
        rows, total = service.list_alerts(session=session, actor=p.actor, site_code=blank(filters["site"]),
                                          state=state, source=source or None, page=page, per_page=PER_PAGE)
    except NotFound:
        errors["site"] = i18n.gettext("No site with this institution code within your scope.")
    return render(request, "alerts/list.html", {
        "rows": rows, "filters": filters, "errors": errors, "sources": list(Source),
        **pager("/alerts", filters, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=422 if errors else 200)


@router.get("/alerts/report")
def report_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Alerts of a period per source, site, district or priority: counts, false alarms, drills, times to
    acknowledge and close. Default: the last 30 days, per source."""
    q = request.query_params
    now = utcnow()
    errors: dict[str, str] = {}
    start, end = now - timedelta(days=30), now
    try:
        start = parse_time(q.get("from"), "from") or start
        end = parse_time(q.get("to"), "to") or end
    except ValidationFailed as exc:
        errors = service_errors(exc.errors)
    group: reports.Group = next((g for g in reports.GROUPS if g == q.get("group")), "source")
    result = None
    try:
        result = reports.report(session=session, actor=p.actor, start=start, end=end, group=group)
    except ValidationFailed as exc:
        errors |= service_errors(exc.errors)
    return render(request, "alerts/report.html", {
        "report": result, "groups": reports.GROUPS, "errors": errors,
        "filters": {"from": start.strftime("%Y-%m-%dT%H:%MZ"), "to": end.strftime("%Y-%m-%dT%H:%MZ"), "group": group},
    }, p, status_code=422 if errors else 200)


@router.get("/console/board")
def board_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The supervisor's board: what waits too long, and what each operator holds."""
    return render(request, "alerts/board.html", {"board": reports.board(session=session, actor=p.actor)}, p)


def _alert_page(request: Request, session: DB, p: CurrentPrincipal, alert_id: int, *,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    row = service.get_alert(session=session, actor=p.actor, alert_id=alert_id)
    changes = service.history(session=session, actor=p.actor, alert_id=alert_id)
    lockdown = None
    if row.site is not None:
        try:
            lockdown = lockdown_flow.state(session=session, actor=p.actor, site_code=row.site.code)
        except NotFound:
            lockdown = None
    return render(request, "alerts/alert.html", {
        "row": row, "changes": changes, "outcomes": OUTCOMES, "errors": errors or {}, "lockdown": lockdown,
        "open": State(row.alert.state) not in (State.RESOLVED, State.FALSE_ALARM, State.DRILL, State.TEST),
    }, p, status_code=status_code)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: AlertId, session: DB, p: CurrentPrincipal) -> Response:
    """One alert: where, what, its history, and the moves the user may make."""
    return _alert_page(request, session, p, alert_id)


@router.post("/alerts/{alert_id}")
def alert_move(request: Request, alert_id: AlertId, session: DB, p: CurrentPrincipal,
               move: Annotated[str, Form(max_length=16)], note: Annotated[str, Form(max_length=2000)] = "",
               outcome: Annotated[str, Form(max_length=16)] = "",
               version: Annotated[int | None, Form(ge=1)] = None) -> Response:
    """Make a move on the alert from its page (claim, release, acknowledge, note, resolve)."""
    try:
        chosen = Move(move)
        service.act(session=session, actor=p.actor, alert_id=alert_id, move=chosen, note=note.strip(),
                    outcome=State(outcome) if outcome in {o.value for o in OUTCOMES} else None, version=version)
    except ValueError:
        session.rollback()
        return _alert_page(request, session, p, alert_id, errors={"move": i18n.gettext("Unknown action.")},
                           status_code=422)
    except ValidationFailed as exc:
        session.rollback()
        return _alert_page(request, session, p, alert_id, errors=service_errors(exc.errors), status_code=422)
    except Conflict as exc:
        session.rollback()
        return _alert_page(request, session, p, alert_id, errors={"move": exc.message}, status_code=409)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/lockdown")
def alert_lockdown(request: Request, alert_id: AlertId, session: DB, p: CurrentPrincipal,
                   action: Annotated[str, Form(max_length=16)], reason: Annotated[str, Form(max_length=400)] = ""
                   ) -> Response:
    """Order the alert's site into lockdown (or out of it) from the alert's page, with a reason."""
    row = service.get_alert(session=session, actor=p.actor, alert_id=alert_id)
    if row.site is None:
        raise NotFound("This alert is about no site.", alert_id=alert_id)
    try:
        lockdown_flow.order(session=session, actor=p.actor, site_code=row.site.code, action=action, reason=reason,
                            alert_id=alert_id)
    except ValidationFailed as exc:
        session.rollback()
        return _alert_page(request, session, p, alert_id, errors=service_errors(exc.errors), status_code=422)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.get("/console")
def console_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The operator's console: the queue live, the map, the selected alert's site and its cameras."""
    p.actor.require(Perm.ALERTS_READ)
    texts: dict[str, Any] = {
        "states": {s.value: labels.alert_state_label(s) for s in State},
        "sources": {s.value: labels.alert_source_label(s) for s in Source},
        "kinds": {k: labels.alert_kind_label(k) for k in labels.KIND_LABELS},
        "outcomes": {o.value: labels.alert_state_label(o) for o in OUTCOMES},
        "connected": i18n.gettext("Live"), "reconnecting": i18n.gettext("Reconnecting…"),
        "empty": i18n.gettext("No open alerts."), "taken_by": i18n.gettext("Taken on by"),
        "installation": i18n.gettext("Whole installation"), "repeats": i18n.gettext("times"),
        "conflict": i18n.gettext("Someone else got there first."), "live": i18n.gettext("Live view"),
        "lockdown": i18n.gettext("Lockdown"), "all_clear": i18n.gettext("All clear"),
        "reason": i18n.gettext("Reason"), "locked": i18n.gettext("Lockdown in force"),
        "unlocked": i18n.gettext("No lockdown in force"), "cleared": i18n.gettext("All clear given"),
        "pending": i18n.gettext("not yet delivered to the devices"), "floor_plans": i18n.gettext("Floor plans"),
    }
    settings = request.app.state.runtime.settings
    return render(request, "alerts/console.html", {
        "console": {"texts": texts, "tile_url": settings.web.tile_url,
                    "can_handle": p.actor.can(Perm.ALERTS_HANDLE), "me": p.actor.username},
    }, p)
