"""HTTP API of devices: provisioning a panic button or door controller at a site, the list of devices, and lockdown
orders to a site's devices (with the site's lockdown state).

Provisioning answers the device's broker password once; the broker's password and ACL files are brought in
line by :mod:`kgys.devices.broker` before the request commits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from kgys.devices import broker
from kgys.devices import service as device_service
from kgys.devices.flows import lockdown as lockdown_flow
from kgys.devices.flows import registry
from kgys.devices.models import Downlink
from kgys.devices.schemas import DeviceIn, DeviceOut, LockdownIn, LockdownOut, LockdownStateOut, Provisioned
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime
from kgys.web.routing import Router

router = Router(tags=["devices"])

SiteCode = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9._-]+$", description="Institution code")]
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


def lockdown_out(row: Downlink, site_code: str) -> LockdownOut:
    """The API shape of a lockdown order."""
    return LockdownOut(id=row.id, site=site_code, action=row.action, reason=row.reason, alert_id=row.alert_id,
                       created_at=row.created_at, created_by=row.created_by, sent_at=row.sent_at,
                       attempts=row.attempts)


@router.post("/sites/{code}/lockdown", response_model=LockdownOut, status_code=202, responses=errors(404, 409))
def order_lockdown(code: SiteCode, body: LockdownIn, session: DB, actor: CurrentActor) -> LockdownOut:
    """Order the site's devices into lockdown (or out of it: all_clear), with a reason; sent by the intake once
    the broker is reachable. With ``alert_id`` the order is noted in that alert's history."""
    row = lockdown_flow.order(session=session, actor=actor, site_code=code, action=body.action, reason=body.reason,
                              alert_id=body.alert_id)
    return lockdown_out(row, code)


@router.get("/sites/{code}/lockdown", response_model=LockdownStateOut, responses=errors(404))
def lockdown_state(code: SiteCode, session: DB, actor: CurrentActor) -> LockdownStateOut:
    """The site's lockdown state (its latest order) and its latest orders, newest first."""
    st = lockdown_flow.state(session=session, actor=actor, site_code=code)
    orders = [lockdown_out(o, st.site.code) for o in st.orders]
    return LockdownStateOut(site=st.site.code, locked=st.locked, current=orders[0] if orders else None,
                            orders=orders)
