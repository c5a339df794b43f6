"""HTTP API of the alert queue: list, the open queue, one alert with its history, the operator's moves, and the
live stream of changes (WebSocket, :mod:`kgys.alerts.stream`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from kgys.alerts import schemas, service
from kgys.alerts.schemas import AlertOut, ChangeOut, MoveIn, QueueOut, ResolveIn
from kgys.alerts.service import AlertRow
from kgys.alerts.states import Move, Source, State
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor
from kgys.web.paging import Page, PageQuery, PerPageQuery

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def alert_out(row: AlertRow) -> AlertOut:
    """The API shape of an alert."""
    return schemas.alert_out(row.alert, row.site, row.camera)


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
    rows, total = service.list_alerts(session=session, actor=actor, site_code=site or None, state=state,
                                      source=source, page=page, per_page=per_page)
    return Page[AlertOut](items=[alert_out(r) for r in rows], total=total, page=page, per_page=per_page)


@router.get("/alerts/queue", response_model=QueueOut)
def alert_queue(session: DB, actor: CurrentActor) -> QueueOut:
    """The open alerts, most urgent and oldest first, and the event number to follow the stream after."""
    seq, rows = service.queue(session=session, actor=actor)
    return QueueOut(seq=seq, items=[alert_out(r) for r in rows])


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=errors(404))
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
