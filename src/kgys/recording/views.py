"""HTTP API of recording: legal holds (place, list, read, release) and recording alerts.

The holds themselves are checked, scoped and audited by :mod:`kgys.recording.holds`; this module names the
camera by its number as well as by site and name, and reports a site or camera that cannot be found in a
request body as bad input naming the field (a site outside the caller's scope is answered like one that
does not exist). The web pages in :mod:`kgys.recording.pages` use the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras import service as camera_service
from kgys.cameras.models import Camera
from kgys.db import utcnow
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.recording import alerts as alert_service
from kgys.recording import holds as hold_service
from kgys.recording.models import LegalHold
from kgys.recording.schemas import AlertOut, HoldIn, HoldOut, HoldState, ReleaseIn
from kgys.sites import service as site_service
from kgys.sites.models import Site
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor
from kgys.web.paging import Page, PageQuery, PerPageQuery

router = APIRouter(tags=["recording"])

MAX_ID = 2_147_483_647
HoldId = Annotated[int, Path(ge=1, le=MAX_ID)]
SiteQuery = Annotated[str | None, Query(max_length=32, description="Institution code of the site")]
# the service names the range start and end; the API and the forms call them from and to
API_FIELDS = {"start": "from", "end": "to"}

HoldRow = tuple[LegalHold, Site, Camera]


def api_errors(errors: Sequence[FieldError]) -> list[FieldError]:
    """The service's field errors under the names the API and the forms use."""
    return [FieldError(API_FIELDS.get(e.field, e.field), e.message, row=e.row, value=e.value) for e in errors]


def utc(value: datetime | None) -> datetime | None:
    """A time in UTC, as every answer gives it (a hold just placed still carries the offset it was sent with)."""
    return value.astimezone(UTC) if value is not None else None


def hold_state(hold: LegalHold, now: datetime) -> HoldState:
    """Whether a hold is in force, was released, or has lapsed."""
    if hold.released_at is not None and hold.released_at <= now:
        return "released"
    return "active" if hold_service.is_active(hold, now) else "expired"


def camera_place(*, session: Session, actor: Actor, camera_id: int, perm: Perm) -> tuple[Site, Camera]:
    """A camera within the actor's scope and its site; NotFound for one outside it as for one that is absent."""
    cam = camera_service.get_camera(session=session, actor=actor, camera_id=camera_id, perm=perm)
    return site_service.get_site_by_id(session=session, actor=actor, site_id=cam.site_id, perm=perm), cam


def _camera_ref(session: Session, actor: Actor, *, site: str | None, camera: str | None, camera_id: int | None,
                perm: Perm, required: bool) -> tuple[str | None, str | None]:
    """The site code and camera name a request means, from ``site`` and ``camera`` or from ``camera_id``."""
    if camera_id is None:
        missing = [FieldError(name, "is required") for name, value in (("site", site), ("camera", camera))
                   if required and not value]
        if missing:
            raise ValidationFailed(missing)
        return site, camera
    if camera:
        raise ValidationFailed([FieldError("camera", "give the camera's name or its number (camera_id), not both")])
    try:
        place, cam = camera_place(session=session, actor=actor, camera_id=camera_id, perm=perm)
    except NotFound as exc:
        if not required:
            raise
        raise ValidationFailed([FieldError("camera_id", exc.message, value=str(camera_id))]) from None
    if site and site != place.code:
        raise ValidationFailed([FieldError("camera_id", f"camera {camera_id} is not at site '{site}'",
                                           value=str(camera_id))])
    return place.code, cam.name


def find_holds(*, session: Session, actor: Actor, site: str | None = None, camera: str | None = None,
               camera_id: int | None = None, active_only: bool = False, now: datetime, page: int = 1,
               per_page: int) -> tuple[Sequence[HoldRow], int]:
    """One page of the holds within the actor's scope, newest first, and how many there are in all; the camera
    named by site and name or by number."""
    site_code, camera_name = _camera_ref(session, actor, site=site, camera=camera, camera_id=camera_id,
                                         perm=Perm.HOLDS_READ, required=False)
    try:
        return hold_service.list_holds(session=session, actor=actor, site_code=site_code, camera=camera_name,
                                       active_only=active_only, now=now, page=page, per_page=per_page)
    except ValidationFailed as exc:
        raise ValidationFailed(api_errors(exc.errors)) from None


def place_hold(*, session: Session, actor: Actor, site: str | None, camera: str | None, camera_id: int | None,
               start: datetime, end: datetime, reason: str, legal_basis: str, until: datetime | None,
               now: datetime) -> HoldRow:
    """Place a hold; a site or camera that cannot be found is bad input naming its field."""
    actor.require(Perm.HOLDS_MANAGE)
    site_code, camera_name = _camera_ref(session, actor, site=site, camera=camera, camera_id=camera_id,
                                         perm=Perm.HOLDS_MANAGE, required=True)
    assert site_code is not None and camera_name is not None
    try:
        hold = hold_service.add_hold(session=session, actor=actor, site_code=site_code, camera=camera_name,
                                     start=start, end=end, reason=reason, legal_basis=legal_basis, until=until,
                                     now=now)
    except ValidationFailed as exc:
        raise ValidationFailed(api_errors(exc.errors)) from None
    except NotFound as exc:
        field, value = ("camera", camera_name) if "camera" in exc.params else ("site", site_code)
        if camera_id is not None:
            field, value = "camera_id", str(camera_id)
        raise ValidationFailed([FieldError(field, exc.message, value=value)]) from None
    return hold_row(session=session, actor=actor, hold=hold)


def hold_row(*, session: Session, actor: Actor, hold: LegalHold) -> HoldRow:
    """A hold with its site and camera."""
    site = site_service.get_site_by_id(session=session, actor=actor, site_id=hold.site_id, perm=Perm.HOLDS_READ)
    cam = camera_service.get_camera(session=session, actor=actor, camera_id=hold.camera_id, perm=Perm.HOLDS_READ)
    return hold, site, cam


def hold_out(row: HoldRow, now: datetime) -> HoldOut:
    """The API shape of a hold."""
    hold, site, cam = row
    return HoldOut(id=hold.id, site=site.code, site_name=site.name, camera_id=cam.id, camera=cam.name,
                   start=hold.start.astimezone(UTC), end=hold.end.astimezone(UTC), reason=hold.reason,
                   legal_basis=hold.legal_basis, created_by=hold.created_by, created_at=hold.created_at,
                   until=utc(hold.until), released_at=utc(hold.released_at), released_by=hold.released_by,
                   state=hold_state(hold, now))


def alert_out(row: alert_service.AlertRow) -> AlertOut:
    """The API shape of a recording alert."""
    a = row.alert
    return AlertOut(id=a.id, kind=a.kind, severity=a.severity, message=a.message,
                    site=row.site.code if row.site else None, site_name=row.site.name if row.site else None,
                    camera_id=a.camera_id, camera=row.camera.name if row.camera else None,
                    created_at=a.created_at, resolved_at=a.resolved_at)


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
    rows, total = find_holds(session=session, actor=actor, site=site or None, camera=camera or None,
                             camera_id=camera_id, active_only=active, now=now, page=page, per_page=per_page)
    return Page[HoldOut](items=[hold_out(row, now) for row in rows], total=total, page=page, per_page=per_page)


@router.post("/holds", response_model=HoldOut, status_code=201)
def add_hold(body: HoldIn, session: DB, actor: CurrentActor) -> HoldOut:
    """Place a legal hold on a camera's footage over a time range (times with an offset)."""
    now = utcnow()
    row = place_hold(session=session, actor=actor, site=body.site, camera=body.camera, camera_id=body.camera_id,
                     start=body.start, end=body.end, reason=body.reason, legal_basis=body.legal_basis,
                     until=body.until, now=now)
    return hold_out(row, now)


@router.get("/holds/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: HoldId, session: DB, actor: CurrentActor) -> HoldOut:
    """One legal hold."""
    hold = hold_service.get_hold(session=session, actor=actor, hold_id=hold_id)
    return hold_out(hold_row(session=session, actor=actor, hold=hold), utcnow())


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: HoldId, body: ReleaseIn, session: DB, actor: CurrentActor) -> HoldOut:
    """Release a legal hold (reason required); its record stays and its footage falls back under retention."""
    now = utcnow()
    hold = hold_service.release_hold(session=session, actor=actor, hold_id=hold_id, reason=body.reason, now=now)
    return hold_out(hold_row(session=session, actor=actor, hold=hold), now)


@router.get("/recording/alerts", response_model=Page[AlertOut], responses=errors(404))  # ?site=
def list_alerts(
    session: DB,
    actor: CurrentActor,
    site: SiteQuery = None,
    include_resolved: Annotated[bool, Query(alias="all", description="Resolved alerts as well")] = False,
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
) -> Page[AlertOut]:
    """Recording alerts of sites within the caller's scope, newest first; open ones unless ``all=true``."""
    rows, total = alert_service.list_alerts(session=session, actor=actor, site_code=site or None,
                                            include_resolved=include_resolved, page=page, per_page=per_page)
    return Page[AlertOut](items=[alert_out(r) for r in rows], total=total, page=page, per_page=per_page)
