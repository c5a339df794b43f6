"""Units within one's scope: registering and changing them, their status by hand, their position reports, and
what the ranking needs to know of them.

Functions take keyword-only arguments and an explicit session and flush, never commit. A field login
(``units.report`` without ``dispatch.assign``) speaks for its own unit only: any other unit is answered as if it
did not exist. Every change of a unit is audited (:class:`~kgys.audit.mechanism.Audited`) and each status change
is kept in its history; positions are telemetry, kept as the last one per unit and not audited. Each change of
a unit, its status and each position it reports is published as a ``unit`` event (:func:`publish`) in the same
transaction.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kgys import geo
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction, User, UserScope
from kgys.accounts.permissions import Perm, Role
from kgys.audit.mechanism import acting_as
from kgys.config import DispatchSettings
from kgys.db import utcnow
from kgys.dispatch import events, ranking
from kgys.dispatch.models import Assignment, Unit, UnitPosition, UnitStatusChange
from kgys.dispatch.schemas import PositionIn, PositionOut, UnitIn, UnitOut, UnitPatch
from kgys.dispatch.states import MoveRefused, UnitStatus, unit_after
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.said import _

REGISTERED = _("registered")  # the first line of a unit's status history
OLDER_THAN = _("older than %(seconds)s s")
UNIT_TAKEN = _("A unit with call sign %(call_sign)s exists already, or the field login speaks for another unit.")
CHANGED = "This unit changed meanwhile: look again."
STALE_AFTER = timedelta(seconds=DispatchSettings.model_fields["stale_after_seconds"].default)


def flush_or_conflict(session: Session, message: str = CHANGED) -> None:
    """Flush; Conflict with ``message`` when a row changed since it was read (its version moved on)."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(message) from exc


def district_code(path: str) -> str:
    """The code of the district a jurisdiction path ends in."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def unit_out(unit: Unit, position: UnitPosition | None, field_user: str | None, *, now: datetime,
             stale_after: timedelta) -> UnitOut:
    """The API shape of a unit."""
    pos = None if position is None else PositionOut(
        latitude=position.latitude, longitude=position.longitude, accuracy_m=position.accuracy_m,
        reported_at=position.reported_at, received_at=position.received_at,
        stale=now - position.reported_at > stale_after)
    return UnitOut(call_sign=unit.call_sign, kind=unit.kind, district=district_code(unit.jurisdiction_path),
                   station=unit.station, capabilities=list(unit.capabilities), members=unit.members,
                   status=unit.status, status_since=unit.status_since, field_user=field_user, position=pos,
                   version=unit.version)


def publish(session: Session, unit: Unit, move: str, *, stale_after: timedelta = STALE_AFTER,
            now: datetime | None = None) -> None:
    """Publish the unit's ``move`` (created, updated, status, position) in its API shape, in the session's
    transaction (:mod:`kgys.dispatch.events`)."""
    out = unit_out(unit, session.get(UnitPosition, unit.id), field_user_name(session, unit), now=now or utcnow(),
                   stale_after=stale_after)
    events.unit_changed(session, out, move, scope_path=unit.jurisdiction_path)


def _district(session: Session, actor: Actor, code: str) -> Jurisdiction:
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code, Jurisdiction.kind == "district"))
    if node is None or not actor.scope.covers_path(node.path):
        raise ValidationFailed([FieldError("district", "no such district within your scope", value=code)])
    return node


def _field_user(session: Session, username: str, district_path: str) -> int:
    """The id of the field login ``username``, whose scope must cover the unit's district."""
    uid = session.scalar(select(User.id).where(User.username == username, User.role == Role.FIELD_UNIT))
    if uid is None:
        raise ValidationFailed([FieldError("field_user", "no field login (role field_unit) of that name",
                                           value=username)])
    paths = session.scalars(select(Jurisdiction.path).join(UserScope, UserScope.jurisdiction_id == Jurisdiction.id)
                            .where(UserScope.user_id == uid)).all()
    if not any(district_path.startswith(p) for p in paths):
        raise ValidationFailed([FieldError("field_user", "the login's scope does not cover the unit's district",
                                           value=username)])
    return uid


def field_user_name(session: Session, unit: Unit) -> str | None:
    """The username of the unit's field login, if it has one."""
    if unit.field_user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == unit.field_user_id))


def field_user_names(session: Session, units: list[Unit]) -> dict[int, str]:
    """The usernames of the units' field logins, by user id (one query)."""
    ids = {u.field_user_id for u in units if u.field_user_id is not None}
    if not ids:
        return {}
    return {uid: name for uid, name in session.execute(select(User.id, User.username).where(User.id.in_(ids)))}


def create_unit(*, session: Session, actor: Actor, data: UnitIn, now: datetime | None = None) -> Unit:
    """Register a unit in a district within the actor's scope, available from now."""
    actor.require(Perm.UNITS_MANAGE)
    district = _district(session, actor, data.district)
    user_id = _field_user(session, data.field_user, district.path) if data.field_user else None
    unit = Unit(call_sign=data.call_sign, kind=data.kind, station=data.station, jurisdiction_id=district.id,
                jurisdiction_path=district.path, capabilities=sorted(set(data.capabilities)), members=data.members,
                status=UnitStatus.AVAILABLE, status_since=now or utcnow(), field_user_id=user_id)
    try:
        with session.begin_nested(), acting_as(session, actor):
            session.add(unit)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(UNIT_TAKEN.english(call_sign=data.call_sign), call_sign=data.call_sign) from exc
    session.add(UnitStatusChange(unit_id=unit.id, at=unit.status_since, from_status=None, to_status=unit.status,
                                 by=actor.username, user_id=actor.id, note=REGISTERED.english()))
    publish(session, unit, "created")
    return unit


def _scoped(actor: Actor) -> Select[Unit, UnitPosition]:
    return select(Unit, UnitPosition).outerjoin(UnitPosition, UnitPosition.unit_id == Unit.id).where(
        actor.scope.clause(Unit.jurisdiction_path))


def list_units(*, session: Session, actor: Actor, status: UnitStatus | None = None,
               district: str | None = None) -> list[tuple[Unit, UnitPosition | None]]:
    """The units of the actor's scope with their last positions, by call sign."""
    actor.require(Perm.DISPATCH_READ)
    stmt = _scoped(actor)
    if status is not None:
        stmt = stmt.where(Unit.status == status)
    if district is not None:
        stmt = stmt.where(Unit.jurisdiction_path.endswith(f"/{district}/"))
    return [(u, p) for u, p in session.execute(stmt.order_by(Unit.call_sign)).all()]


def _find(session: Session, actor: Actor, call_sign: str) -> tuple[Unit, UnitPosition | None]:
    row = session.execute(_scoped(actor).where(Unit.call_sign == call_sign)).first()
    if row is None:
        raise NotFound("No such unit.", call_sign=call_sign)
    return row[0], row[1]


def get_unit(*, session: Session, actor: Actor, call_sign: str) -> tuple[Unit, UnitPosition | None]:
    """One unit of the actor's scope; NotFound otherwise (as if it did not exist)."""
    actor.require(Perm.DISPATCH_READ)
    return _find(session, actor, call_sign)


def unit_for(*, session: Session, actor: Actor, call_sign: str) -> tuple[Unit, UnitPosition | None]:
    """The unit the actor may speak for: any of its scope for a dispatcher, its own for a field login."""
    actor.require(Perm.UNITS_REPORT)
    unit, position = _find(session, actor, call_sign)
    if not actor.can(Perm.DISPATCH_ASSIGN) and (actor.id is None or unit.field_user_id != actor.id):
        raise NotFound("No such unit.", call_sign=call_sign)
    return unit, position


def update_unit(*, session: Session, actor: Actor, call_sign: str, patch: UnitPatch) -> Unit:
    """Change a unit of the actor's scope, if it is still at ``patch.version``."""
    actor.require(Perm.UNITS_MANAGE)
    unit, _ = _find(session, actor, call_sign)
    if patch.version != unit.version:
        raise Conflict(CHANGED, version=unit.version)
    with acting_as(session, actor):
        if patch.kind is not None:
            unit.kind = patch.kind
        if patch.station is not None:
            unit.station = patch.station
        if patch.capabilities is not None:
            unit.capabilities = sorted(set(patch.capabilities))
        if patch.members is not None:
            unit.members = patch.members
        if patch.field_user is not None:
            unit.field_user_id = (_field_user(session, patch.field_user, unit.jurisdiction_path) if patch.field_user
                                  else None)
        try:
            with session.begin_nested():
                flush_or_conflict(session)
        except IntegrityError as exc:
            raise Conflict("That field login speaks for another unit.", field_user=patch.field_user) from exc
    publish(session, unit, "updated")
    return unit


def active_assignment(session: Session, unit_id: int) -> Assignment | None:
    """The unit's active assignment, if it has one."""
    return session.scalar(select(Assignment).where(Assignment.active_unit_id == unit_id))


def change_status(session: Session, actor: Actor, unit: Unit, target: UnitStatus, *, note: str = "",
                  assignment_id: int | None = None, at: datetime | None = None) -> None:
    """Put the unit in ``target`` (compare-and-set on its version) and keep the step in its history."""
    at = at or utcnow()
    before = unit.status
    if before == target:
        return
    with acting_as(session, actor):
        unit.status, unit.status_since = target, at
        flush_or_conflict(session)
    session.add(UnitStatusChange(unit_id=unit.id, at=at, from_status=before, to_status=target, by=actor.username,
                                 user_id=actor.id, note=note, assignment_id=assignment_id))
    publish(session, unit, "status", now=at)


def set_status(*, session: Session, actor: Actor, call_sign: str, status: UnitStatus, note: str = "",
               version: int | None = None, now: datetime | None = None) -> Unit:
    """Set a unit's status by hand (available, busy, off duty); Conflict when out of order."""
    unit, _ = unit_for(session=session, actor=actor, call_sign=call_sign)
    if version is not None and version != unit.version:
        raise Conflict(CHANGED, version=unit.version)
    try:
        unit_after(UnitStatus(unit.status), status,
                   active_assignment=active_assignment(session, unit.id) is not None)
    except MoveRefused as exc:
        raise Conflict(f"Unit {unit.call_sign}: {exc}.", status=unit.status) from exc
    change_status(session, actor, unit, status, note=note, at=now)
    return unit


def report_position(*, session: Session, actor: Actor, call_sign: str, data: PositionIn, settings: DispatchSettings,
                    now: datetime | None = None) -> UnitPosition:
    """Take a unit's position report: inside Türkiye, not from the future beyond the allowed skew nor too old.
    A report older than the one kept is taken but does not replace it."""
    now = now or utcnow()
    unit, position = unit_for(session=session, actor=actor, call_sign=call_sign)
    problems: list[FieldError] = []
    if not geo.in_turkey(data.latitude, data.longitude):
        lat_ok = geo.LATITUDES[0] <= data.latitude <= geo.LATITUDES[1]
        problems.append(FieldError("longitude" if lat_ok else "latitude", "outside Türkiye"))
    if data.reported_at.tzinfo is None:
        problems.append(FieldError("reported_at", "give the time with its offset"))
    elif data.reported_at - now > timedelta(seconds=settings.position_skew_seconds):
        problems.append(FieldError("reported_at", "in the future"))
    elif now - data.reported_at > timedelta(seconds=settings.position_max_age_seconds):
        problems.append(FieldError.said("reported_at", OLDER_THAN, seconds=int(settings.position_max_age_seconds)))
    if problems:
        raise ValidationFailed(problems)
    if position is None:
        position = UnitPosition(unit_id=unit.id, latitude=data.latitude, longitude=data.longitude,
                                accuracy_m=data.accuracy_m, reported_at=data.reported_at, received_at=now)
        session.add(position)
    elif data.reported_at >= position.reported_at:
        position.latitude, position.longitude, position.accuracy_m = data.latitude, data.longitude, data.accuracy_m
        position.reported_at, position.received_at = data.reported_at, now
    else:
        return position  # an older report: taken, not kept, nothing to tell
    session.flush()
    publish(session, unit, "position", stale_after=timedelta(seconds=settings.stale_after_seconds), now=now)
    return position


def history(*, session: Session, actor: Actor, call_sign: str, limit: int = 200) -> list[UnitStatusChange]:
    """The unit's status history, newest first."""
    unit, _ = get_unit(session=session, actor=actor, call_sign=call_sign)
    return list(session.scalars(select(UnitStatusChange).where(UnitStatusChange.unit_id == unit.id)
                                .order_by(UnitStatusChange.at.desc(), UnitStatusChange.id.desc())
                                .limit(limit)).all())


def _candidate_rows(session: Session, actor: Actor, capabilities: bool) -> Any:
    caps_col = Unit.capabilities if capabilities else null().label("capabilities")
    return (select(Unit.call_sign, Unit.kind, Unit.status, caps_col, UnitPosition.latitude, UnitPosition.longitude,
                   UnitPosition.reported_at)
            .outerjoin(UnitPosition, UnitPosition.unit_id == Unit.id)
            .where(actor.scope.clause(Unit.jurisdiction_path), Unit.status == UnitStatus.AVAILABLE))


def _as_candidates(rows: Any) -> list[ranking.Candidate]:
    return [ranking.Candidate(
        call_sign=call_sign, kind=kind, status=status, capabilities=frozenset(caps or ()),
        position=None if lat is None or lon is None else ranking.Point(lat, lon), reported_at=reported_at)
        for call_sign, kind, status, caps, lat, lon, reported_at in rows]


def candidates(*, session: Session, actor: Actor, capabilities: bool = True) -> list[ranking.Candidate]:
    """The available units of the actor's scope as the ranking sees them (plain columns: thousands of units are
    read without building their rows); without their capabilities where none is required."""
    actor.require(Perm.DISPATCH_READ)
    return _as_candidates(session.execute(_candidate_rows(session, actor, capabilities)).all())


def nearest_candidates(*, session: Session, actor: Actor, place: ranking.Point, count: int, fresh_after: datetime,
                       others: int) -> tuple[list[ranking.Candidate], float | None]:
    """The ``count`` available units of the actor's scope with a fresh position nearest to ``place`` (by a flat
    approximation, the database's index work), and up to ``others`` without a fresh position (to show them left
    out); with the straight-line distance of the farthest of the nearest (None when there were no more than
    ``count``: then every fresh unit is in the list)."""
    actor.require(Perm.DISPATCH_READ)
    cos2 = math.cos(math.radians(place.latitude)) ** 2
    flat = ((UnitPosition.latitude - place.latitude) * (UnitPosition.latitude - place.latitude)
            + (UnitPosition.longitude - place.longitude) * (UnitPosition.longitude - place.longitude) * cos2)
    base = _candidate_rows(session, actor, False)
    near = _as_candidates(session.execute(base.where(UnitPosition.reported_at >= fresh_after).order_by(flat)
                                          .limit(count + 1)).all())
    rest = _as_candidates(session.execute(
        base.where((UnitPosition.reported_at.is_(None)) | (UnitPosition.reported_at < fresh_after))
        .order_by(Unit.call_sign).limit(others)).all())
    if len(near) <= count:
        return near + rest, None
    last = near[count].position
    assert last is not None
    return near[:count] + rest, ranking.haversine_m(place, last)
