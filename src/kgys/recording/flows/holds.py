"""Legal holds as the API, the web pages and the command line place, find and release them: the camera and its
site found within the caller's scope (:mod:`kgys.cameras.flows.systems`, :mod:`kgys.sites.service`), the hold
itself checked and kept by :mod:`kgys.recording.holds`.

:func:`place_hold` and :func:`find_holds` name the camera by site and name or by its number, and report a site
or camera that cannot be found as bad input naming the field, under the names those faces use (``from`` and
``to`` for the range).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.db import page_of, utcnow
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.recording import holdrule, holds
from kgys.recording.holds import HoldRow
from kgys.recording.models import LegalHold
from kgys.said import _
from kgys.sites import service as site_service
from kgys.sites.models import Site

NOT_AT_SITE = _("camera %(camera)s is not at site '%(site)s'")


def find_camera(*, session: Session, actor: Actor, site_code: str, camera: str) -> tuple[Site, Camera]:
    """The camera named ``camera`` at site ``site_code``, within the actor's scope."""
    site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.SITES_READ)
    cam = session.scalar(select(Camera).where(Camera.site_id == site.id, Camera.name == camera))
    if cam is None:
        raise NotFound(f"site '{site_code}' has no camera '{camera}'", code=site_code, camera=camera)
    return site, cam


def add_hold(
    *,
    session: Session,
    actor: Actor,
    site_code: str,
    camera: str,
    start: datetime,
    end: datetime,
    reason: str,
    legal_basis: str,
    until: datetime | None = None,
    now: datetime | None = None,
) -> LegalHold:
    """Place a hold on a camera's footage from ``start`` to ``end``, until ``until`` or until released."""
    return _add(session=session, actor=actor, place=None, site_code=site_code, camera=camera, start=start, end=end,
                reason=reason, legal_basis=legal_basis, until=until, now=now)[0]


def _add(*, session: Session, actor: Actor, place: tuple[Site, Camera] | None, site_code: str, camera: str,
         start: datetime, end: datetime, reason: str, legal_basis: str, until: datetime | None,
         now: datetime | None) -> HoldRow:
    """The hold of :func:`add_hold`, with its site and camera: the ones of ``place`` when the caller found them
    already, else the camera named ``camera`` at ``site_code``, found after the hold's fields are checked."""
    holds.require_manage(actor)
    now = now or utcnow()
    reason, legal_basis = holds.check_new(start=start, end=end, reason=reason, legal_basis=legal_basis, until=until,
                                          now=now)
    site, cam = place or find_camera(session=session, actor=actor, site_code=site_code, camera=camera)
    hold = holds.create(session=session, actor=actor, site=site, camera=cam, start=start, end=end, reason=reason,
                        legal_basis=legal_basis, until=until, now=now)
    return hold, site, cam


def list_holds(
    *,
    session: Session,
    actor: Actor,
    site_code: str | None = None,
    camera: str | None = None,
    active_only: bool = False,
    now: datetime | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> tuple[list[tuple[LegalHold, Site, Camera]], int]:
    """Holds within the actor's scope, newest first, each with its site and camera; one page of them when
    ``per_page`` is given, else all; and how many there are in all."""
    holds.require_read(actor)
    stmt = (select(LegalHold, Site, Camera).join(Site, Site.id == LegalHold.site_id)
            .join(Camera, Camera.id == LegalHold.camera_id).where(site_service.scope_clause(actor)))
    if site_code is not None:
        site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.SITES_READ)
        stmt = stmt.where(LegalHold.site_id == site.id)
        if camera is not None:
            stmt = stmt.where(Camera.name == camera)
    elif camera is not None:
        raise ValidationFailed([FieldError("camera", "give the site as well")])
    if active_only:
        stmt = stmt.where(holdrule.in_force_clause(now or utcnow()))
    stmt = stmt.order_by(LegalHold.created_at.desc(), LegalHold.id.desc())
    if per_page is None:
        rows = [(hold, site, cam) for hold, site, cam in session.execute(stmt)]
        return rows, len(rows)
    result, total = page_of(session, stmt, page=page, per_page=per_page)
    return [(hold, site, cam) for hold, site, cam in result], total


def get_hold(*, session: Session, actor: Actor, hold_id: int) -> LegalHold:
    """One hold within the actor's scope."""
    holds.require_read(actor)
    hold = session.scalar(select(LegalHold).join(Site, Site.id == LegalHold.site_id)
                          .where(LegalHold.id == hold_id, site_service.scope_clause(actor)))
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}", hold_id=hold_id)
    return hold


def release_hold(*, session: Session, actor: Actor, hold_id: int, reason: str,
                 now: datetime | None = None) -> LegalHold:
    """End a hold; its row stays with who released it and when, and its footage falls back under retention."""
    holds.require_manage(actor)
    text = holds.check_release(reason=reason)
    hold = get_hold(session=session, actor=actor, hold_id=hold_id)
    return holds.release(session=session, actor=actor, hold=hold, reason=text, now=now or utcnow())


def camera_place(*, session: Session, actor: Actor, camera_id: int, perm: Perm) -> tuple[Site, Camera]:
    """A camera within the actor's scope and its site; NotFound for one outside it as for one that is absent."""
    cam = camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id, perm=perm)
    return site_service.get_site_by_id(session=session, actor=actor, site_id=cam.site_id, perm=perm), cam


def _camera_ref(session: Session, actor: Actor, *, site: str | None, camera: str | None, camera_id: int | None,
                perm: Perm, required: bool) -> tuple[str | None, str | None, tuple[Site, Camera] | None]:
    """The site code and camera name a request means, from ``site`` and ``camera`` or from ``camera_id`` (then with
    the site and camera found)."""
    if camera_id is None:
        missing = [FieldError(name, "is required") for name, value in (("site", site), ("camera", camera))
                   if required and not value]
        if missing:
            raise ValidationFailed(missing)
        return site, camera, None
    if camera:
        raise ValidationFailed([FieldError("camera", "give the camera's name or its number (camera_id), not both")])
    try:
        place, cam = camera_place(session=session, actor=actor, camera_id=camera_id, perm=perm)
    except NotFound as exc:
        if not required:
            raise
        raise ValidationFailed([FieldError("camera_id", exc.message, value=str(camera_id))]) from None
    if site and site != place.code:
        raise ValidationFailed([FieldError.said("camera_id", NOT_AT_SITE, value=str(camera_id),
                                                camera=camera_id, site=site)])
    return place.code, cam.name, (place, cam)


def find_holds(*, session: Session, actor: Actor, site: str | None = None, camera: str | None = None,
               camera_id: int | None = None, active_only: bool = False, now: datetime, page: int = 1,
               per_page: int | None = None) -> tuple[Sequence[HoldRow], int]:
    """The holds within the actor's scope, newest first (one page when ``per_page`` is given), and how many there
    are in all; the camera named by site and name or by number."""
    site_code, camera_name, _place = _camera_ref(session, actor, site=site, camera=camera, camera_id=camera_id,
                                                 perm=Perm.HOLDS_READ, required=False)
    try:
        return list_holds(session=session, actor=actor, site_code=site_code, camera=camera_name,
                          active_only=active_only, now=now, page=page, per_page=per_page)
    except ValidationFailed as exc:
        raise ValidationFailed(holds.face_errors(exc.errors)) from None


def place_hold(*, session: Session, actor: Actor, site: str | None, camera: str | None, camera_id: int | None = None,
               start: datetime, end: datetime, reason: str, legal_basis: str, until: datetime | None = None,
               now: datetime | None = None) -> HoldRow:
    """Place a hold on a camera named by site and name or by number; a site or camera that cannot be found is bad
    input naming its field."""
    actor.require(Perm.HOLDS_MANAGE)
    site_code, camera_name, place = _camera_ref(session, actor, site=site, camera=camera, camera_id=camera_id,
                                                perm=Perm.HOLDS_MANAGE, required=True)
    assert site_code is not None and camera_name is not None
    try:
        return _add(session=session, actor=actor, place=place, site_code=site_code, camera=camera_name, start=start,
                    end=end, reason=reason, legal_basis=legal_basis, until=until, now=now)
    except ValidationFailed as exc:
        raise ValidationFailed(holds.face_errors(exc.errors)) from None
    except NotFound as exc:
        field, value = ("camera", camera_name) if "camera" in exc.params else ("site", site_code)
        if camera_id is not None:
            field, value = "camera_id", str(camera_id)
        raise ValidationFailed([FieldError(field, exc.message, value=value)]) from None


def hold_row(*, session: Session, actor: Actor, hold: LegalHold) -> HoldRow:
    """A hold with its site and camera."""
    site = site_service.get_site_by_id(session=session, actor=actor, site_id=hold.site_id, perm=Perm.HOLDS_READ)
    cam = camera_flows.get_camera(session=session, actor=actor, camera_id=hold.camera_id, perm=Perm.HOLDS_READ)
    return hold, site, cam
