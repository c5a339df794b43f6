"""A site's recorders and cameras as a caller sees them: the site found within the caller's scope by sites
(:func:`kgys.sites.service.get_site`), the devices read and written by :mod:`kgys.cameras.service`, and the
compliance status the change gives the site stored by sites (:func:`kgys.sites.service.set_compliance`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras import compliance as rules
from kgys.cameras import service
from kgys.cameras.models import Camera, Recorder
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.errors import NotFound
from kgys.secretbox import CredentialBox
from kgys.sites import service as site_service
from kgys.sites.models import Site


def get_system(*, session: Session, actor: Actor, code: str) -> service.SiteSystem:
    """A site's recorders and cameras, within scope."""
    actor.require(Perm.CAMERAS_READ)
    site = site_service.get_site(session=session, actor=actor, code=code)
    return service.load_system(session=session, site=site)


def get_camera(*, session: Session, actor: Actor, camera_id: int, perm: Perm = Perm.CAMERAS_READ) -> Camera:
    """A camera whose site lies in the actor's scope, the actor holding ``perm``; NotFound otherwise (a camera
    outside the scope is answered exactly like one that does not exist). The one scoped lookup of a camera."""
    actor.require(perm)
    cam = session.scalar(select(Camera).join(Site, Site.id == Camera.site_id)
                         .where(Camera.id == camera_id, site_service.scope_clause(actor)))
    if cam is None:
        raise NotFound(f"no camera {camera_id}", camera_id=camera_id)
    return cam


def compliance(*, session: Session, actor: Actor, code: str) -> tuple[service.SiteSystem, rules.ComplianceResult]:
    """A site's compliance with the ministry's minimum, within scope."""
    actor.require(Perm.COMPLIANCE_READ)
    site = site_service.get_site(session=session, actor=actor, code=code)
    system = service.load_system(session=session, site=site)
    return system, service.evaluate(system)


def refresh_compliance(*, session: Session, site: Site) -> str:
    """Recompute a site's compliance status after its system changed, and have sites store it."""
    session.flush()
    status = service.evaluate(service.load_system(session=session, site=site)).status
    site_service.set_compliance(session=session, site=site, status=status)
    return status


def save_recorder(*, session: Session, actor: Actor, box: CredentialBox, code: str, data: RecorderIn,
                  recorder_id: int | None = None) -> Recorder:
    """Add a recorder to a site, or replace the declared specs of an existing one."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_EDIT)
    rec = service.put_recorder(session=session, box=box, site=site, data=data, recorder_id=recorder_id)
    refresh_compliance(session=session, site=site)
    return rec


def save_camera(*, session: Session, actor: Actor, box: CredentialBox, code: str, data: CameraIn,
                camera_id: int | None = None) -> Camera:
    """Add a camera to a site, or replace the declared specs of an existing one."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_EDIT)
    cam = service.put_camera(session=session, box=box, site=site, data=data, camera_id=camera_id)
    refresh_compliance(session=session, site=site)
    return cam


def delete_device(*, session: Session, actor: Actor, code: str, kind: str, device_id: int) -> None:
    """Remove a recorder or camera from a site."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_EDIT)
    service.remove_device(session=session, site=site, kind=kind, device_id=device_id)
    refresh_compliance(session=session, site=site)
