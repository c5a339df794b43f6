"""Working the alert queue: reading it within one's scope, and an operator's moves on an alert.

Every move is a compare-and-set on the alert's version, so that of two operators who press "claim" on the same
alert at the same moment exactly one wins and the other is told who has it. An alert claimed by one operator is
worked by that operator; a supervisor may take it over. Each move is written to the alert's history, to the
audit log and to the consoles, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import raising
from kgys.alerts.models import Alert, AlertChange
from kgys.alerts.states import CLOSED, OPEN, OUTCOMES, Move, MoveRefused, State, after
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.models import Camera
from kgys.db import page_of, utcnow
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.events import bus
from kgys.said import _
from kgys.sites.models import Site

QUEUE_LIMIT = 500
NOTE_MAX = 2000
AT_MOST = _("at most %(max_length)s characters")
TAKEN_BY = _("This alert is taken on by %(name)s.")
UNKNOWN_MOVE = _("unknown move %(move)s")

_AUDIT = {Move.CLAIM: AuditAction.ALERT_CLAIM, Move.RELEASE: AuditAction.ALERT_RELEASE,
          Move.ACKNOWLEDGE: AuditAction.ALERT_ACKNOWLEDGE, Move.DISPATCH: AuditAction.ALERT_DISPATCH,
          Move.NOTE: AuditAction.ALERT_NOTE, Move.RESOLVE: AuditAction.ALERT_RESOLVE}
OPERATOR_MOVES = frozenset(_AUDIT)


@dataclass(frozen=True)
class AlertRow:
    """An alert with the site and camera it is about (None for alerts of the whole installation)."""

    alert: Alert
    site: Site | None
    camera: Camera | None


def scope_clause(actor: Actor) -> ColumnElement[bool]:
    """The alerts within the actor's scope: of its districts and sites; those of no district (the whole
    installation) to country-wide actors only."""
    return actor.scope.clause(Alert.scope_path, Alert.site_id)


def _scoped(actor: Actor) -> Select[Alert, Site, Camera]:
    """Alerts the actor may see: of sites within its scope; those of no site to country-wide readers only."""
    return (select(Alert, Site, Camera)
            .outerjoin(Site, Site.id == Alert.site_id)
            .outerjoin(Camera, Camera.id == Alert.camera_id)
            .where(scope_clause(actor)))


def list_alerts(*, session: Session, actor: Actor, site: Site | None = None, state: str = "open",
                source: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[AlertRow], int]:
    """One page of the alerts the actor may see (of ``site``, loaded within scope), newest first: ``state``
    "open", "closed" or "all"; and how many there are in all."""
    actor.require(Perm.ALERTS_READ)
    stmt = _scoped(actor)
    if site is not None:
        stmt = stmt.where(Alert.site_id == site.id)
    if state in ("open", "closed"):
        stmt = stmt.where(Alert.state.in_(sorted(OPEN if state == "open" else CLOSED)))
    if source is not None:
        stmt = stmt.where(Alert.source == source)
    rows, total = page_of(session, stmt.order_by(Alert.received_at.desc(), Alert.id.desc()), page=page,
                          per_page=per_page)
    return [AlertRow(a, s, c) for a, s, c in rows], total


def queue(*, session: Session, actor: Actor) -> tuple[int, list[AlertRow]]:
    """The open alerts the actor may see, most urgent and oldest first (at most :data:`QUEUE_LIMIT`), and the
    number of the newest event at the time: a console that follows events after it misses nothing."""
    actor.require(Perm.ALERTS_READ)
    seq = bus.last_seq(session)
    stmt = (_scoped(actor).where(Alert.state.in_(sorted(OPEN)))
            .order_by(Alert.priority, Alert.received_at, Alert.id).limit(QUEUE_LIMIT))
    return seq, [AlertRow(a, s, c) for a, s, c in session.execute(stmt).all()]


def get_alert(*, session: Session, actor: Actor, alert_id: int) -> AlertRow:
    """One alert the actor may see; NotFound otherwise."""
    actor.require(Perm.ALERTS_READ)
    row = session.execute(_scoped(actor).where(Alert.id == alert_id)).first()
    if row is None:
        raise NotFound("No such alert.", alert_id=alert_id)
    alert, site, camera = row
    return AlertRow(alert, site, camera)


def history(*, session: Session, actor: Actor, alert_id: int) -> list[AlertChange]:
    """The alert's history, oldest first."""
    get_alert(session=session, actor=actor, alert_id=alert_id)
    return list(session.scalars(select(AlertChange).where(AlertChange.alert_id == alert_id)
                                .order_by(AlertChange.at, AlertChange.id)).all())


def _check(actor: Actor, alert: Alert, move: Move, note: str, outcome: State | None) -> State:
    if move not in OPERATOR_MOVES:
        raise ValidationFailed([FieldError.said("move", UNKNOWN_MOVE, move=repr(move))])
    if len(note) > NOTE_MAX:
        raise ValidationFailed([FieldError.said("note", AT_MOST, max_length=NOTE_MAX)])
    if move is Move.NOTE and not note.strip():
        raise ValidationFailed([FieldError("note", "empty")])
    if move is Move.RESOLVE and outcome not in OUTCOMES:
        raise ValidationFailed([FieldError("outcome", "one of " + ", ".join(o.value for o in OUTCOMES))])
    holder = alert.claimed_by
    if (holder is not None and holder != actor.id and move is not Move.NOTE
            and not actor.can(Perm.ALERTS_SUPERVISE)):
        raise Conflict(TAKEN_BY.english(name=alert.claimed_by_name), claimed_by=alert.claimed_by_name)
    try:
        return after(State(alert.state), move, outcome)
    except MoveRefused as exc:
        raise Conflict(f"This alert is {alert.state}: it cannot be {move}ed now.", state=alert.state) from exc


def act(*, session: Session, actor: Actor, alert_id: int, move: Move, note: str = "", outcome: State | None = None,
        version: int | None = None, now: datetime | None = None) -> AlertRow:
    """Make ``move`` on the alert as ``actor`` (see the module); with ``version``, only if the alert is still at
    that version (what the operator saw). Conflict when someone else got there first."""
    actor.require(Perm.ALERTS_HANDLE)
    row = get_alert(session=session, actor=actor, alert_id=alert_id)
    alert, now = row.alert, now or utcnow()
    if version is not None and version != alert.version:
        raise Conflict("This alert changed meanwhile: look again.", version=alert.version)
    before = alert.state
    target = _check(actor, alert, move, note, outcome)
    values: dict[str, Any] = {"state": target, "version": alert.version + 1}
    if move in (Move.CLAIM, Move.ACKNOWLEDGE, Move.DISPATCH) and alert.claimed_by != actor.id:
        values.update(claimed_by=actor.id, claimed_by_name=actor.username, claimed_at=now)
    if move is Move.RELEASE:
        values.update(claimed_by=None, claimed_by_name=None, claimed_at=None)
    if move is Move.ACKNOWLEDGE:
        values["acknowledged_at"] = now
    if move is Move.RESOLVE:
        values.update(closed_at=now, open_key=None)
        if alert.acknowledged_at is None:
            values["acknowledged_at"] = now
    done = session.execute(update(Alert).where(Alert.id == alert.id, Alert.version == alert.version)
                           .values(**values).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        session.refresh(alert)
        raise Conflict(f"Someone else changed this alert first ({alert.state}"
                       + (f", {alert.claimed_by_name}" if alert.claimed_by_name else "") + ").",
                       claimed_by=alert.claimed_by_name, state=alert.state)
    session.refresh(alert)
    raising.record(session, alert, move, by=actor.username, user_id=actor.id, before=before, note=note, at=now)
    audit_service.append(session, actor=actor, action=_AUDIT[move], object_type="alert", object_id=alert.id,
                         site_id=alert.site_id, reason=note or None,
                         details={"from": before, "to": alert.state, "kind": alert.kind, "source": alert.source})
    raising.tell(session, alert, move)
    return AlertRow(alert, row.site, row.camera)
