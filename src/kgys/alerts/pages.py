"""Web UI of the alert queue: the operator's console (live, :file:`static/console.js`), the list of alerts with
filters, and one alert with its history and the moves an operator makes (plain forms, no script needed), the
lockdown of its site included."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from kgys import localtime
from kgys.accounts.permissions import Perm
from kgys.alerts import reports, service
from kgys.alerts.flows import listing
from kgys.alerts.states import OUTCOMES, Move, Source, State
from kgys.alerts.views import AlertId, csv_answer, period_headers
from kgys.db import utcnow
from kgys.devices.flows import board as board_flow
from kgys.devices.flows import lockdown as lockdown_flow
from kgys.errors import Conflict, NotFound, ValidationFailed
from kgys.incidents import service as incident_service
from kgys.web import i18n, labels, server_text
from kgys.web.deps import DB, CurrentPrincipal
from kgys.web.forms import blank, local_time, service_errors
from kgys.web.paging import page_number, pager
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

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
        rows, total = listing.list_alerts(session=session, actor=p.actor, site_code=blank(filters["site"]),
                                          state=state, source=source or None, page=page, per_page=PER_PAGE)
    except NotFound:
        errors["site"] = i18n.gettext("No site with this institution code within your scope.")
    return render(request, "alerts/list.html", {
        "rows": rows, "filters": filters, "errors": errors, "sources": list(Source),
        **pager("/alerts", filters, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=422 if errors else 200)


def _report_of(request: Request, session: DB, p: CurrentPrincipal) -> tuple[
        reports.Report | None, dict[str, str], dict[str, str]]:
    """The report the query asks for (default: the last 7 days, per source), its errors and its filters."""
    q = request.query_params
    errors: dict[str, str] = {}
    where = reader_zone(request)
    end = local_time(q.get("to"), where, "to", errors) or utcnow().replace(second=0, microsecond=0)
    start = local_time(q.get("from"), where, "from", errors) or end - timedelta(days=reports.DEFAULT_DAYS)
    group: reports.Group = next((g for g in reports.GROUPS if g == q.get("group")), "source")
    result = None
    if not errors:
        try:
            result = reports.report(session=session, actor=p.actor, start=start, end=end, group=group)
        except ValidationFailed as exc:
            errors |= service_errors(exc.errors)
    filters = {"from": q.get("from", "") if "from" in errors else localtime.picker(start, where),
               "to": q.get("to", "") if "to" in errors else localtime.picker(end, where), "group": group}
    return result, errors, filters


@router.get("/alerts/report")
def report_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Alerts of a period per source, site or district: counts, false alarms, drills, times to acknowledge and
    close, devices offline. Default: the last 7 days, per source."""
    result, errors, filters = _report_of(request, session, p)
    return render(request, "alerts/report.html", {
        "report": result, "groups": reports.GROUPS, "errors": errors, "filters": filters,
        "csv_query": urlencode(filters),
    }, p, status_code=422 if errors else 200)


@router.get("/alerts/report.csv")
def report_csv(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The report as CSV for a spreadsheet, with the page's column names in the user's language."""
    result, errors, filters = _report_of(request, session, p)
    if result is None:
        return report_page(request, session, p)
    headers = {"key": i18n.gettext("Code"), "label": i18n.gettext("Name"), "total": i18n.gettext("Alerts"),
               "open": i18n.gettext("Open"), "false_alarms": i18n.gettext("False alarms"),
               "false_alarm_rate": i18n.gettext("False-alarm rate"), "drills": i18n.gettext("Drills"),
               "drill_rate": i18n.gettext("Drill rate"), "tests": i18n.gettext("Tests"),
               "ack_p50": i18n.gettext("Acknowledged within, p50 (s)"),
               "ack_p90": i18n.gettext("Acknowledged within, p90 (s)"),
               "close_p50": i18n.gettext("Closed within, p50 (s)"), "close_p90": i18n.gettext("Closed within, p90 (s)"),
               "offline_alerts": i18n.gettext("Devices offline"),
               "offline_seconds": i18n.gettext("Time offline (s)")}
    everything = result.total

    def label(line: reports.Line) -> str:
        if line is everything:
            return i18n.gettext("All")
        if result.group == "source":
            return labels.alert_source_label(line.key)
        return line.label or i18n.gettext("Whole installation")

    return csv_answer(reports.to_csv(result, label=label, headers=headers | period_headers(),
                                     where=reader_zone(request)),
                      f"alerts-{filters['group']}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.csv")


@router.get("/console/board")
def board_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The supervisor's board: what waits too long, what each operator holds and whether their console is
    connected, the devices offline."""
    settings = request.app.state.runtime.settings
    now = utcnow()
    b = board_flow.board(session=session, actor=p.actor, heartbeat_seconds=settings.alerts.stream_heartbeat_seconds,
                         offline_factor=settings.devices.offline_factor, now=now)
    return render(request, "alerts/board.html", {"b": b, "now": now}, p)


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
        "incident": incident_service.incident_of_alert(session, alert_id) if p.actor.can(Perm.DISPATCH_READ)
        else None, "values": {},
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
        return _alert_page(request, session, p, alert_id, errors={"move": server_text.text(exc.message)},
                           status_code=409)
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
        "wall": i18n.gettext("Video wall"),
        "lockdown": i18n.gettext("Lockdown"), "all_clear": i18n.gettext("All clear"),
        "reason": i18n.gettext("Reason"), "locked": i18n.gettext("Lockdown in force"),
        "unlocked": i18n.gettext("No lockdown in force"), "cleared": i18n.gettext("All clear given"),
        "pending": i18n.gettext("not yet delivered to the devices"), "floor_plans": i18n.gettext("Floor plans"),
    }
    settings = request.app.state.runtime.settings
    return render(request, "alerts/console.html", {
        "console": {"texts": texts, "tile_url": settings.web.tile_url,
                    "can_handle": p.actor.can(Perm.ALERTS_HANDLE), "me": p.actor.username,
                    "can_dispatch": p.actor.can(Perm.DISPATCH_ASSIGN)},
    }, p)
