"""HTTP API of the alert queue: list, the open queue, one alert with its history, the operator's moves, and the
live stream of changes (WebSocket, :mod:`kgys.alerts.stream`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from kgys import localtime
from kgys.alerts import cap, reports, schemas, service
from kgys.alerts.flows import listing
from kgys.alerts.schemas import (
    AlertOut,
    BoardOut,
    CapOut,
    ChangeOut,
    LineOut,
    LoadOut,
    MoveIn,
    OfflineDeviceOut,
    QueueOut,
    ReportOut,
    ResolveIn,
    WaitingOut,
)
from kgys.alerts.service import AlertRow
from kgys.alerts.states import Move, Source, State
from kgys.db import utcnow
from kgys.devices.flows import board as board_flow
from kgys.devices.flows import lockdown as lockdown_flow
from kgys.validation import IsoDateTime
from kgys.web import alert_text, i18n
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime
from kgys.web.paging import Page, PageQuery, PerPageQuery
from kgys.web.render import reader_zone
from kgys.web.routing import Router

router = Router(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def alert_out(row: AlertRow) -> AlertOut:
    """The API shape of an alert, with its details in the reader's language."""
    out = schemas.alert_out(row.alert, row.site, row.camera)
    out.text = alert_text.details(row.alert)
    return out


@router.get("/alerts", response_model=Page[AlertOut], responses=errors(404))
def list_alerts(
    session: DB,
    actor: CurrentActor,
    site: Annotated[str | None, Query(max_length=32, description="Institution code of the site")] = None,
    state: Annotated[Literal["open", "closed", "all"], Query(description="Open, closed or all alerts")] = "open",
    source: Annotated[Source | None, Query(description="Only alerts of this source")] = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
) -> Page[AlertOut]:
    """Alerts of sites within the caller's scope (and, for country-wide users, of the whole installation),
    newest first."""
    rows, total = listing.list_alerts(session=session, actor=actor, site_code=site or None, state=state,
                                      source=source, page=page, per_page=per_page)
    return Page[AlertOut](items=[alert_out(r) for r in rows], total=total, page=page, per_page=per_page)


@router.get("/alerts/queue", response_model=QueueOut)
def alert_queue(session: DB, actor: CurrentActor) -> QueueOut:
    """The open alerts, most urgent and oldest first, and the event number to follow the stream after."""
    seq, rows = service.queue(session=session, actor=actor)
    return QueueOut(seq=seq, items=[alert_out(r) for r in rows])


def line_out(line: reports.Line) -> LineOut:
    """The API shape of a report line."""
    return LineOut(key=line.key, label=line.label, total=line.total, open=line.open, false_alarms=line.false_alarms,
                   drills=line.drills, tests=line.tests, false_alarm_rate=line.false_alarm_rate,
                   drill_rate=line.drill_rate, ack_p50=line.ack_p(50), ack_p90=line.ack_p(90),
                   close_p50=line.close_p(50), close_p90=line.close_p(90), offline_alerts=line.offline_alerts,
                   offline_seconds=line.offline_seconds)


StartQuery = Annotated[IsoDateTime | None, Query(alias="from", description="Start (with offset); default 7 days "
                                                                         "before the end")]
EndQuery = Annotated[IsoDateTime | None, Query(alias="to", description="End, exclusive (with offset); default now")]
GroupQuery = Annotated[reports.Group, Query(description="Group by source, site, district or priority")]


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or utcnow()
    return start or end - timedelta(days=reports.DEFAULT_DAYS), end


@router.get("/alerts/report", response_model=ReportOut, response_model_by_alias=True, responses=errors(422))
def alert_report(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                 end: EndQuery = None, group: GroupQuery = "source") -> ReportOut:
    """Counts, false-alarm and drill rates, times to acknowledge and close (p50, p90, seconds) and devices offline
    of the alerts received in the period (default: the last 7 days), per group."""
    start, end = _period(start, end)
    r = reports.report(session=session, actor=actor, start=start, end=end, group=group)
    return ReportOut(start=r.start, end=r.end, **localtime.local_period(r.start, r.end, reader_zone(request)),
                     group=r.group, lines=[line_out(x) for x in r.lines],
                     total=line_out(r.total))


CSV_ANSWER: dict[int | str, dict[str, Any]] = {200: {"description": "The report as CSV (UTF-8 with a byte-order "
                                                                    "mark), a line per group and one for all",
                                                     "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("/alerts/report.csv", response_class=Response, responses={**CSV_ANSWER, **errors(422)})
def alert_report_csv(request: Request, session: DB, actor: CurrentActor, start: StartQuery = None,
                     end: EndQuery = None, group: GroupQuery = "source") -> Response:
    """The report as CSV, for a spreadsheet (columns named as the JSON report's fields)."""
    start, end = _period(start, end)
    r = reports.report(session=session, actor=actor, start=start, end=end, group=group)
    return csv_answer(reports.to_csv(r, where=reader_zone(request)), f"alerts-{group}-{start:%Y%m%d}-{end:%Y%m%d}.csv")


def period_headers() -> dict[str, str]:
    """The names of an export's period columns (kgys.localtime.PERIOD_COLUMNS) in the request's language."""
    return {"from_utc": i18n.gettext("From (UTC)"), "to_utc": i18n.gettext("To (UTC)"),
            "from_local": i18n.gettext("From (local time)"), "to_local": i18n.gettext("To (local time)"),
            "time_zone": i18n.gettext("Time zone")}


def csv_answer(body: bytes, filename: str) -> Response:
    """A CSV download."""
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/alerts/board", response_model=BoardOut)
def alert_board(request: Request, session: DB, actor: CurrentActor) -> BoardOut:
    """The supervisor's board: open alerts, those unclaimed longer than their priority allows first; each
    operator's load and consoles; the devices offline in scope."""
    settings = runtime(request).settings
    b = board_flow.board(session=session, actor=actor, heartbeat_seconds=settings.alerts.stream_heartbeat_seconds,
                         offline_factor=settings.devices.offline_factor)
    return BoardOut(open_by_priority=b.queue.open_by_priority,
                    waiting=[WaitingOut(alert=schemas.alert_out(w.alert, w.site, None),
                                        waited_seconds=w.waited.total_seconds(), overdue=w.overdue)
                             for w in b.queue.waiting],
                    loads=[LoadOut(operator=o.load.operator, holding=o.load.holding, claimed=o.load.claimed,
                                   acknowledged=o.load.acknowledged, oldest_held_at=o.load.oldest_held_at,
                                   last_action_at=o.load.last_action_at, closed_last_hour=o.load.closed_last_hour,
                                   ack_p50_seconds=o.load.ack_p50_seconds, consoles=o.consoles,
                                   connected_since=o.since, unattended=o.unattended) for o in b.operators],
                    devices_offline=[OfflineDeviceOut(serial=d.serial, kind=d.kind, site=d.site_code,
                                                      site_name=d.site_name, last_seen_at=d.last_seen_at,
                                                      since=d.since) for d in b.devices_offline],
                    devices_by_state=b.devices_by_state)


CAP_BODY = {"requestBody": {"required": True, "content": {
    "application/cap+xml": {"schema": {"type": "string", "description": "A CAP 1.2 <alert>"}},
    "application/xml": {"schema": {"type": "string"}}}}}


@router.post("/alerts/cap", response_model=CapOut, status_code=202, responses=errors(422),
             openapi_extra=CAP_BODY)
async def submit_cap(request: Request, session: DB, actor: CurrentActor) -> CapOut:
    """Take an OASIS CAP 1.2 message from another system: Alert and Update raise or refresh an alert, Cancel closes
    the one it references; a message that orders a lockdown of sites writes the orders to their devices (see the
    alerts and devices documentation for the mapping)."""
    message = cap.parse(await request.body())
    alert, cleared, sites = await run_in_threadpool(lockdown_flow.take_cap, session=session, actor=actor,
                                                    message=message)
    return CapOut(identifier=message.identifier, alert_id=alert.id if alert else None, cleared=cleared,
                  lockdown_sites=sites)


@router.get("/alerts/{alert_id:int}", response_model=AlertOut, responses=errors(404))  # not /alerts/cap
def get_alert(alert_id: AlertId, session: DB, actor: CurrentActor) -> AlertOut:
    """One alert."""
    return alert_out(service.get_alert(session=session, actor=actor, alert_id=alert_id))


@router.get("/alerts/{alert_id}/history", response_model=list[ChangeOut], responses=errors(404))
def alert_history(alert_id: AlertId, session: DB, actor: CurrentActor) -> list[ChangeOut]:
    """Every step of the alert, oldest first."""
    return [ChangeOut(at=c.at, move=c.move, from_state=c.from_state, to_state=c.to_state, by=c.by, note=c.note)
            for c in service.history(session=session, actor=actor, alert_id=alert_id)]


def _act(alert_id: int, body: MoveIn, session: DB, actor: CurrentActor, move: Move) -> AlertOut:
    return alert_out(service.act(session=session, actor=actor, alert_id=alert_id, move=move, note=body.note,
                                 version=body.version))


@router.post("/alerts/{alert_id}/claim", response_model=AlertOut, responses=errors(404, 409))
def claim_alert(alert_id: AlertId, body: MoveIn, session: DB, actor: CurrentActor) -> AlertOut:
    """Take the alert on, so that no other operator works it (409, naming who has it, if someone was first)."""
    return _act(alert_id, body, session, actor, Move.CLAIM)


@router.post("/alerts/{alert_id}/release", response_model=AlertOut, responses=errors(404, 409))
def release_alert(alert_id: AlertId, body: MoveIn, session: DB, actor: CurrentActor) -> AlertOut:
    """Hand a taken alert back to the queue."""
    return _act(alert_id, body, session, actor, Move.RELEASE)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=errors(404, 409))
def acknowledge_alert(alert_id: AlertId, body: MoveIn, session: DB, actor: CurrentActor) -> AlertOut:
    """Acknowledge the alert (taking it on if nobody has)."""
    return _act(alert_id, body, session, actor, Move.ACKNOWLEDGE)


@router.post("/alerts/{alert_id}/note", response_model=AlertOut, responses=errors(404, 409))
def note_alert(alert_id: AlertId, body: MoveIn, session: DB, actor: CurrentActor) -> AlertOut:
    """Add a note to the alert's history."""
    return _act(alert_id, body, session, actor, Move.NOTE)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=errors(404, 409))
def resolve_alert(alert_id: AlertId, body: ResolveIn, session: DB, actor: CurrentActor) -> AlertOut:
    """Close the alert with its outcome: resolved, false alarm, drill or test."""
    return alert_out(service.act(session=session, actor=actor, alert_id=alert_id, move=Move.RESOLVE,
                                 note=body.note, outcome=State(body.outcome), version=body.version))
