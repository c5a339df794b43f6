"""HTTP API of recording: legal holds (place, list, read, release); its alarms are in the alert queue.

The holds themselves are found, placed, checked, scoped and audited by :mod:`kgys.recording.holds`, which the
web pages in :mod:`kgys.recording.pages` and the command line use too; this module parses and shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query

from kgys.db import utcnow
from kgys.recording import holds as hold_service
from kgys.recording.flows import holds as hold_flows
from kgys.recording.holds import HoldRow
from kgys.recording.schemas import HoldIn, HoldOut, ReleaseIn
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, HandlerCaller
from kgys.web.paging import Page, PageQuery, PerPageQuery
from kgys.web.routing import Router

router = Router(tags=["recording"])

MAX_ID = 2_147_483_647
HoldId = Annotated[int, Path(ge=1, le=MAX_ID)]
SiteQuery = Annotated[str | None, Query(max_length=32, description="Institution code of the site")]


def utc(value: datetime | None) -> datetime | None:
    """A time in UTC, as every answer gives it (a hold just placed still carries the offset it was sent with)."""
    return value.astimezone(UTC) if value is not None else None


def hold_out(row: HoldRow, now: datetime) -> HoldOut:
    """The API shape of a hold."""
    hold, site, cam = row
    return HoldOut(id=hold.id, site=site.code, site_name=site.name, camera_id=cam.id, camera=cam.name,
                   start=hold.start.astimezone(UTC), end=hold.end.astimezone(UTC), reason=hold.reason,
                   legal_basis=hold.legal_basis, created_by=hold.created_by, created_at=hold.created_at,
                   until=utc(hold.until), released_at=utc(hold.released_at), released_by=hold.released_by,
                   state=hold_service.hold_state(hold, now))


@router.get("/holds", response_model=Page[HoldOut], responses=errors(404))  # ?site=, ?camera_id=
def list_holds(
    session: DB,
    actor: CurrentActor,
    site: SiteQuery = None,
    camera: Annotated[str | None, Query(max_length=120, description="Camera name (with site)")] = None,
    camera_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Camera number")] = None,
    active: Annotated[bool, Query(description="Only holds in force now")] = False,
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
) -> Page[HoldOut]:
    """Legal holds within the caller's scope, newest first."""
    now = utcnow()
    rows, total = hold_flows.find_holds(session=session, actor=actor, site=site or None, camera=camera or None,
                             camera_id=camera_id, active_only=active, now=now, page=page, per_page=per_page)
    return Page[HoldOut](items=[hold_out(row, now) for row in rows], total=total, page=page, per_page=per_page)


@router.post("/holds", response_model=HoldOut, status_code=201)
def add_hold(body: HoldIn, session: DB, caller: HandlerCaller) -> HoldOut:
    """Place a legal hold on a camera's footage over a time range (times with an offset)."""
    now = utcnow()
    row = hold_flows.place_hold(session=session, actor=caller.actor(), site=body.site, camera=body.camera,
                                camera_id=body.camera_id, start=body.start, end=body.end, reason=body.reason,
                                legal_basis=body.legal_basis, until=body.until, now=now)
    return hold_out(row, now)


@router.get("/holds/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: HoldId, session: DB, actor: CurrentActor) -> HoldOut:
    """One legal hold."""
    hold = hold_flows.get_hold(session=session, actor=actor, hold_id=hold_id)
    return hold_out(hold_flows.hold_row(session=session, actor=actor, hold=hold), utcnow())


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: HoldId, body: ReleaseIn, session: DB, caller: HandlerCaller) -> HoldOut:
    """Release a legal hold (reason required); its record stays and its footage falls back under retention."""
    now = utcnow()
    actor = caller.actor()
    hold = hold_flows.release_hold(session=session, actor=actor, hold_id=hold_id, reason=body.reason, now=now)
    return hold_out(hold_flows.hold_row(session=session, actor=actor, hold=hold), now)
