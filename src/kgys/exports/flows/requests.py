"""An export as its requester sees it: asked for (role, scope of every camera, reason; audited), looked at,
listed and downloaded (scope checked again, each download audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.errors import Conflict, NotFound
from kgys.exports import service
from kgys.exports.models import FootageExport
from kgys.sites.models import Site


@dataclass(frozen=True)
class CameraName:
    """A camera as the export pages list it."""

    id: int
    name: str
    site_code: str
    site_name: str


def _scoped(session: Session, actor: Actor, ids: list[int]) -> list[Camera]:
    """The cameras, each in the actor's scope with the export permission; NotFound for the first that is not."""
    return [camera_flows.get_camera(session=session, actor=actor, camera_id=i, perm=Perm.CLIP_EXPORT) for i in ids]


def request(*, session: Session, actor: Actor, cameras: list[int], start: datetime, end: datetime,
            reason: str | None, max_span: timedelta, now: datetime) -> FootageExport:
    """Queue an export of ``cameras`` over [start, end): the role may export, every camera lies in the scope (a
    camera outside it is answered as one that does not exist, and nothing is queued), the range and reason are
    sound. The request is audited with its reason, cameras and range."""
    actor.require(Perm.CLIP_EXPORT)
    text = service.check_request(cameras=cameras, start=start, end=end, reason=reason, max_span=max_span)
    ids = list(dict.fromkeys(cameras))
    cams = _scoped(session, actor, ids)
    if actor.id is None:
        raise NotFound("exports are asked for by a user")
    row = service.create(session=session, user_id=actor.id, username=actor.username, cameras=ids, start=start,
                         end=end, reason=text, now=now)
    sites = sorted({c.site_id for c in cams})
    codes = list(session.scalars(select(Site.code).where(Site.id.in_(sites)).order_by(Site.code)))
    audit_service.record_access(session, actor=actor, action=AuditAction.FOOTAGE_EXPORT_REQUEST,
                                object_type="footage_export", object_id=row.id,
                                site_id=sites[0] if len(sites) == 1 else None, reason=text,
                                details={"cameras": ids, "sites": codes, "from": start.isoformat(),
                                         "to": end.isoformat()})
    return row


def mine(*, session: Session, actor: Actor, export_id: int) -> FootageExport:
    """One of the actor's own exports."""
    actor.require(Perm.CLIP_EXPORT)
    return service.get_mine(session=session, export_id=export_id, user_id=actor.id or 0)


def listing(*, session: Session, actor: Actor) -> list[FootageExport]:
    """The actor's exports, newest first."""
    actor.require(Perm.CLIP_EXPORT)
    return service.list_mine(session=session, user_id=actor.id or 0)


def camera_names(*, session: Session, actor: Actor, ids: list[int]) -> list[CameraName]:
    """The cameras of ``ids`` the actor may export, by name (others are left out), in the order asked."""
    actor.require(Perm.CLIP_EXPORT)
    found: list[CameraName] = []
    for i in dict.fromkeys(ids):
        try:
            cam = camera_flows.get_camera(session=session, actor=actor, camera_id=i, perm=Perm.CLIP_EXPORT)
        except NotFound:
            continue
        site = session.get(Site, cam.site_id)
        assert site is not None
        found.append(CameraName(cam.id, cam.name, site.code, site.name))
    return found


def download(*, session: Session, actor: Actor, export_id: int, data_dir: Path) -> tuple[Path, FootageExport]:
    """The zip of one of the actor's finished exports, every camera still in the scope (audited with the zip's
    hash). Conflict while it is not built yet; NotFound once it expired."""
    row = mine(session=session, actor=actor, export_id=export_id)
    if row.state in ("queued", "running"):
        raise Conflict("the export is not ready yet", export_id=export_id)
    if row.state != "done":
        raise NotFound(f"export {export_id} has no file ({row.state})", export_id=export_id)
    cams = _scoped(session, actor, list(row.cameras))
    path = service.zip_path(data_dir, row.id)
    if not path.is_file():
        raise NotFound(f"the file of export {export_id} is gone", export_id=export_id)
    sites = sorted({c.site_id for c in cams})
    audit_service.record_access(session, actor=actor, action=AuditAction.FOOTAGE_EXPORT_DOWNLOAD,
                                object_type="footage_export", object_id=row.id,
                                site_id=sites[0] if len(sites) == 1 else None, reason=row.reason,
                                details={"cameras": list(row.cameras), "sha256": row.sha256, "bytes": row.bytes})
    return path, row
