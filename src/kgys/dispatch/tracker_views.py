"""Units' trackers: the broker login a unit's vehicle tracker (or phone app) uses to report positions over MQTT
and hear its assignments — issued (or given a new password), read and revoked by whoever manages units
(``units.manage``), within scope. The password is answered once; every change is audited and the broker's
password and ACL files are brought in line (:mod:`kgys.devices.broker`) before the request commits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from kgys.devices import broker, payloads
from kgys.dispatch import trackers
from kgys.dispatch.models import Unit, UnitTracker
from kgys.dispatch.schemas import TrackerIssued, TrackerOut
from kgys.errors import NotFound
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime
from kgys.web.routing import Router

router = Router(tags=["dispatch"])

CallSign = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                               description="The unit's call sign")]


def tracker_out(unit: Unit, tracker: UnitTracker) -> TrackerOut:
    """The API shape of a unit's tracker login."""
    return TrackerOut(call_sign=unit.call_sign, username=tracker.username, enabled=tracker.enabled,
                      issued_at=tracker.issued_at, issued_by=tracker.issued_by,
                      position_topic=payloads.unit_position_topic(unit.call_sign),
                      assignment_topic=payloads.unit_assignment_topic(unit.call_sign))


@router.get("/units/{call_sign}/tracker", response_model=TrackerOut, responses=errors(404))
def get_tracker(call_sign: CallSign, session: DB, actor: CurrentActor) -> TrackerOut:
    """The unit's tracker login (404 when it never had one)."""
    unit, tracker = trackers.get(session=session, actor=actor, call_sign=call_sign)
    if tracker is None:
        raise NotFound("This unit has no tracker login.", call_sign=call_sign)
    return tracker_out(unit, tracker)


@router.post("/units/{call_sign}/tracker", response_model=TrackerIssued, status_code=201, responses=errors(404))
def issue_tracker(call_sign: CallSign, request: Request, session: DB, actor: CurrentActor) -> TrackerIssued:
    """Issue the unit's tracker login, or a new password for it (enabled again if revoked); the password is in
    this answer only (audited)."""
    unit, tracker, password = trackers.issue(session=session, actor=actor, call_sign=call_sign)
    broker.sync(session, runtime(request).settings, add=(tracker.username, password))
    return TrackerIssued(**tracker_out(unit, tracker).model_dump(), password=password)


@router.delete("/units/{call_sign}/tracker", response_model=TrackerOut, responses=errors(404))
def revoke_tracker(call_sign: CallSign, request: Request, session: DB, actor: CurrentActor) -> TrackerOut:
    """Revoke the unit's tracker login: the broker refuses it, the intake drops its positions (audited)."""
    unit, tracker = trackers.revoke(session=session, actor=actor, call_sign=call_sign)
    broker.sync(session, runtime(request).settings, remove=tracker.username)
    return tracker_out(unit, tracker)
