"""Provisioning and listing devices by the institution code of their site: the site is looked up by the sites
domain, within the actor's scope (a site outside it is as one that does not exist)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.devices import service
from kgys.devices.schemas import DeviceIn
from kgys.devices.service import DeviceRow
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.sites import service as site_service


def provision(*, session: Session, actor: Actor, data: DeviceIn) -> tuple[DeviceRow, str]:
    """Register a device at the site ``data.site`` names; the row and its new broker password (shown once). A
    site outside the scope is refused as one that does not exist (422 naming ``site``)."""
    actor.require(Perm.CAMERAS_EDIT)
    try:
        site = site_service.get_site(session=session, actor=actor, code=data.site, perm=Perm.CAMERAS_EDIT)
    except NotFound as exc:
        raise ValidationFailed([FieldError("site", "no such site", value=data.site)]) from exc
    return service.provision(session=session, actor=actor, data=data, site=site)


def list_devices(*, session: Session, actor: Actor, site_code: str | None = None) -> list[DeviceRow]:
    """The devices of the sites within the actor's scope (of the site with ``site_code``: NotFound when it is not
    within scope), by site and serial."""
    actor.require(Perm.CAMERAS_READ)
    site = None
    if site_code is not None:
        site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.CAMERAS_READ)
    return service.list_devices(session=session, actor=actor, site=site)
