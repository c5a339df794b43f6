"""HTTP API of devices: provisioning a panic button or door controller at a site, and the list of devices.

Provisioning answers the device's broker password once; the broker's password and ACL files are brought in
line by :mod:`kgys.devices.broker` before the request commits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kgys.devices import broker
from kgys.devices import service as device_service
from kgys.devices.flows import registry
from kgys.devices.schemas import DeviceIn, DeviceOut, Provisioned
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime

router = APIRouter(tags=["devices"])

SiteQuery = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9._-]+$",
                                        description="Institution code of the site")]


@router.get("/devices", response_model=list[DeviceOut], responses=errors(404))
def list_devices(session: DB, actor: CurrentActor, site: SiteQuery = None) -> list[DeviceOut]:
    """The devices of the sites within the caller's scope (of one site with ?site=)."""
    rows = registry.list_devices(session=session, actor=actor, site_code=site or None)
    return [device_service.device_out(row) for row in rows]


@router.post("/devices", response_model=Provisioned, status_code=201, responses=errors(409))
def add_device(body: DeviceIn, request: Request, session: DB, actor: CurrentActor) -> Provisioned:
    """Provision a device at a site; the answer carries its broker password, shown this once."""
    row, password = registry.provision(session=session, actor=actor, data=body)
    broker.sync(session, runtime(request).settings, add=(row.device.mqtt_username, password))
    return Provisioned(**device_service.device_out(row).model_dump(), mqtt_password=password)
