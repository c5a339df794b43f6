"""Web UI of devices: the panic buttons and door controllers of the sites within the user's scope (with their
last signs of life), the form that registers one (its broker password shown once), and the moves on a device:
disable, enable again (with a new password, shown once), drill mode.

Reading needs what ``GET /api/v1/devices`` needs, changing what ``POST`` does (``cameras.edit``); a device or
site outside the user's scope is answered as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.devices import broker
from kgys.devices import service as device_service
from kgys.devices.flows import registry
from kgys.devices.kinds import DeviceKind
from kgys.devices.payloads import SERIAL_PATTERN
from kgys.devices.schemas import DeviceIn
from kgys.errors import Conflict, ValidationFailed
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, blank, pydantic_errors, service_errors
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

FIELDS = ("site", "serial", "kind", "room", "heartbeat_seconds", "cancel_pin", "duress_pin")
MAX_DRILL_MINUTES = 24 * 60
SerialPath = Annotated[str, Path(pattern=f"^{SERIAL_PATTERN}$")]


def online(row: device_service.DeviceRow, now: datetime, factor: float) -> bool | None:
    """Whether the device was heard within ``factor`` of its heartbeat intervals (None: never heard)."""
    last = row.status.last_seen_at if row.status else None
    if last is None:
        return None
    return now - last <= timedelta(seconds=row.device.heartbeat_seconds * factor)


def _list_page(request: Request, session: Session, p: Principal, *, errors: Mapping[str, str] | None = None,
               minutes: Mapping[str, str] | None = None, status_code: int = 200) -> Response:
    q = request.query_params
    site = blank(q.get("site", "")[:32])
    rows = registry.list_devices(session=session, actor=p.actor, site_code=site)
    now, factor = utcnow(), runtime(request).settings.devices.offline_factor
    return render(request, "devices/list.html", {
        "rows": [{"row": r, "online": online(r, now, factor)} for r in rows], "filters": {"site": site or ""},
        "saved": q.get("saved", ""), "errors": errors or {}, "minutes": minutes or {},
    }, p, status_code=status_code)


def _back(site_code: str, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/devices?{urlencode({'site': site_code, 'saved': saved})}", status_code=303)


@router.get("/devices")
def devices_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The devices of the sites within the user's scope (of one site with ?site=), with their signs of life."""
    return _list_page(request, session, p)


def _form_page(request: Request, p: Principal, values: Mapping[str, Any], errors: Mapping[str, str],
               status_code: int = 200) -> Response:
    return render(request, "devices/form.html", {"values": values, "errors": errors, "kinds": list(DeviceKind)},
                  p, status_code=status_code)


def _created_page(request: Request, p: Principal, row: device_service.DeviceRow, password: str, *,
                  enabled_again: bool = False) -> Response:
    response = render(request, "devices/created.html", {
        "out": device_service.device_out(row), "password": password, "enabled_again": enabled_again}, p)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/devices/new")
def device_new_form(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The form that registers a panic button or door controller at a site."""
    p.actor.require(Perm.CAMERAS_EDIT)
    return _form_page(request, p, {"site": request.query_params.get("site", "")[:32], "kind": DeviceKind.PANIC.value,
                                   "heartbeat_seconds": "60"}, {})


def _parse(values: Mapping[str, str]) -> tuple[DeviceIn | None, dict[str, str]]:
    """The device the form describes, or field → message for what is wrong with it."""
    errors: dict[str, str] = {}
    if values["kind"] == DeviceKind.PANIC.value:
        for name in ("cancel_pin", "duress_pin"):
            if not values[name]:
                errors[name] = i18n.gettext("Required.")
        if values["cancel_pin"] and values["cancel_pin"] == values["duress_pin"]:
            errors["duress_pin"] = i18n.gettext("The duress PIN must differ from the cancel PIN.")
    try:
        data = DeviceIn(site=values["site"], serial=values["serial"], kind=values["kind"], room=values["room"],
                        heartbeat_seconds=values["heartbeat_seconds"] or 60,
                        cancel_pin=blank(values["cancel_pin"]), duress_pin=blank(values["duress_pin"]))
    except ValidationError as exc:
        return None, {k: v for k, v in pydantic_errors(exc).items() if k != "form"} | errors
    return (None, errors) if errors else (data, {})


@router.post("/devices/new")
def device_create(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Register a device; its broker password is shown on the answer, this once."""
    p.actor.require(Perm.CAMERAS_EDIT)
    values = {k: form.get(k, "").strip() for k in FIELDS}
    shown = {k: v for k, v in values.items() if not k.endswith("_pin")}  # PINs are not sent back
    data, errors = _parse(values)
    if data is None:
        return _form_page(request, p, shown, errors, 422)
    try:
        row, password = registry.provision(session=session, actor=p.actor, data=data)
    except ValidationFailed as exc:
        session.rollback()
        return _form_page(request, p, shown, service_errors(exc.errors), 422)
    except Conflict:
        session.rollback()
        return _form_page(request, p, shown, {"serial": i18n.gettext("A device with this serial is already "
                                                                     "registered.")}, 409)
    broker.sync(session, runtime(request).settings, add=(row.device.mqtt_username, password))
    return _created_page(request, p, row, password)


@router.post("/devices/{serial}/disable")
def device_disable(request: Request, serial: SerialPath, session: DB, p: CurrentPrincipal) -> Response:
    """Disable a device: its broker login goes and the intake refuses its messages."""
    row = device_service.set_enabled(session=session, actor=p.actor, serial=serial, enabled=False)
    broker.sync(session, runtime(request).settings, remove=row.device.mqtt_username)
    return _back(row.site.code, "disabled")


@router.post("/devices/{serial}/enable")
def device_enable(request: Request, serial: SerialPath, session: DB, p: CurrentPrincipal) -> Response:
    """Enable a device again, with a new broker password shown this once."""
    row = device_service.set_enabled(session=session, actor=p.actor, serial=serial, enabled=True)
    password = device_service.new_password(session=session, device=row.device)
    broker.sync(session, runtime(request).settings, add=(row.device.mqtt_username, password))
    return _created_page(request, p, row, password, enabled_again=True)


@router.post("/devices/{serial}/drill")
def device_drill(request: Request, serial: SerialPath, session: DB, p: CurrentPrincipal,
                 form: FormFields) -> Response:
    """Put a device in drill mode for the minutes given (0 ends it)."""
    text = form.get("minutes", "").strip()
    row = device_service.get_device(session=session, actor=p.actor, serial=serial, perm=Perm.CAMERAS_EDIT)
    minutes = int(text) if text.isdigit() and len(text) <= 5 else None
    if minutes is None or minutes > MAX_DRILL_MINUTES:
        message = (i18n.gettext("Enter a whole number.") if minutes is None
                   else i18n.gettext("Must be at most %(max)s.", max=MAX_DRILL_MINUTES))
        return _list_page(request, session, p, errors={serial: message}, minutes={serial: text[:12]},
                          status_code=422)
    device_service.set_drill(session=session, actor=p.actor, serial=serial, minutes=minutes)
    return _back(row.site.code, "drill")
