"""Web UI forms of the cameras domain: add, edit and remove a site's recorders and cameras.

Credentials are write-only: the forms never show them, and leaving both fields empty keeps what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera, Recorder
from kgys.cameras.schemas import CameraIn, CredentialsIn, RecorderIn
from kgys.errors import Conflict, NotFound
from kgys.sites import service as site_service
from kgys.sites.models import Site
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, blank, checked, pydantic_errors, submit
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

RECORDER_TEXT = ("name", "vendor", "model", "channels", "supported_storage_tb", "installed_storage_tb",
                 "retention_days", "host")
RECORDER_FLAGS = ("remote_viewing", "continuous_recording")
CAMERA_TEXT = ("name", "recorder", "megapixels", "width", "height", "position", "bitrate_kbps", "codec", "stream_url")
CAMERA_FLAGS = ("poe", "night_vision", "enabled")
KINDS = {"recorders": "recorder", "cameras": "camera"}


def _credentials(form: Mapping[str, str]) -> tuple[CredentialsIn | None, dict[str, str]]:
    """The credentials typed into the form: None when both fields are empty (keep what is stored)."""
    user, password = form.get("cred_username", ""), form.get("cred_password", "")
    if not user and not password:
        return None, {}
    if not user or not password:
        msg = i18n.gettext("Give both the username and the password, or leave both empty.")
        return None, {"cred_username" if not user else "cred_password": msg}
    try:
        return CredentialsIn(username=user, password=password), {}
    except ValidationError as exc:
        return None, {f"cred_{k}": v for k, v in pydantic_errors(exc).items()}


def _device(session: Session, p: Principal, code: str, kind: str, device_id: int | None
            ) -> tuple[Site, Recorder | Camera | None, list[Recorder]]:
    site = site_service.get_site(session=session, actor=p.actor, code=code, perm=Perm.CAMERAS_EDIT)
    system = camera_flows.get_system(session=session, actor=p.actor, code=code)
    device: Recorder | Camera | None = None
    if device_id is not None:
        if kind == "recorder":
            device = next((r for r in system.recorders if r.id == device_id), None)
        else:
            device = next((c for c in system.cameras if c.id == device_id), None)
        if device is None:
            raise NotFound(f"no {kind} {device_id} at site '{code}'")
    return site, device, list(system.recorders)


def _values(kind: str, device: Recorder | Camera | None, recorders: list[Recorder]) -> dict[str, Any]:
    text, flags = (RECORDER_TEXT, RECORDER_FLAGS) if kind == "recorder" else (CAMERA_TEXT, CAMERA_FLAGS)
    if device is None:
        defaults: dict[str, Any] = (
            {"channels": "16", "supported_storage_tb": "12", "installed_storage_tb": "12", "retention_days": "30",
             "remote_viewing": True, "continuous_recording": True} if kind == "recorder" else
            {"megapixels": "2", "width": "1920", "height": "1080", "bitrate_kbps": "4096", "codec": "h264",
             "position": "entrance", "poe": True, "night_vision": True, "enabled": True,
             "recorder": recorders[0].name if len(recorders) == 1 else ""}
        )
        return {k: "" for k in text} | defaults
    values: dict[str, Any] = {k: "" if getattr(device, k, None) is None else f"{getattr(device, k)}"
                              for k in text if k != "recorder"}
    values |= {k: bool(getattr(device, k)) for k in flags}
    if isinstance(device, Camera):
        values["recorder"] = next((r.name for r in recorders if r.id == device.recorder_id), "")
    values["has_credentials"] = bool(device.credentials)
    return values


def _form_values(kind: str, form: Mapping[str, str]) -> dict[str, Any]:
    text, flags = (RECORDER_TEXT, RECORDER_FLAGS) if kind == "recorder" else (CAMERA_TEXT, CAMERA_FLAGS)
    return {k: form.get(k, "") for k in text} | {k: checked(form, k) for k in flags}


def _page(request: Request, p: Principal, kind: str, site: Site, device: Recorder | Camera | None,
          recorders: list[Recorder], values: dict[str, Any], errors: dict[str, str], status_code: int = 200
          ) -> Response:
    return render(request, f"cameras/{kind}_form.html", {
        "site": site, "device": device, "values": values, "errors": errors,
        "recorders": [(r.name, r.name) for r in recorders],
    }, p, status_code=status_code)


def _parse(kind: str, form: Mapping[str, str]) -> tuple[RecorderIn | CameraIn | None, dict[str, str]]:
    """The device described by the form, or the problems with the typed values."""
    creds, errors = _credentials(form)
    values = _form_values(kind, form)
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "recorder"}
    parsed: RecorderIn | CameraIn | None = None
    try:
        if kind == "recorder":
            parsed = RecorderIn(**data)
        else:
            parsed = CameraIn(**data, recorder=blank(values["recorder"]))
    except ValidationError as exc:
        errors = pydantic_errors(exc) | errors
    if errors or parsed is None:
        return None, errors
    return parsed.model_copy(update={"credentials": creds}), {}


def _submit(request: Request, session: Session, p: Principal, kind: str, code: str, form: Mapping[str, str],
            device_id: int | None) -> Response:
    site, device, recorders = _device(session, p, code, kind, device_id)
    values = _form_values(kind, form) | {"has_credentials": bool(device and device.credentials)}
    parsed, errors = _parse(kind, form)
    if parsed is None:
        return _page(request, p, kind, site, device, recorders, values, errors, 422)
    box = runtime(request).box

    device_data: RecorderIn | CameraIn = parsed

    def save() -> None:
        if isinstance(device_data, RecorderIn):
            camera_flows.save_recorder(session=session, actor=p.actor, box=box, code=code, data=device_data,
                                       recorder_id=device_id)
        else:
            camera_flows.save_camera(session=session, actor=p.actor, box=box, code=code, data=device_data,
                                     camera_id=device_id)

    try:
        errors = submit(session, save)
    except Conflict:
        session.rollback()
        msg = i18n.gettext("This site already has a device with this name.")
        return _page(request, p, kind, site, device, recorders, values, {"name": msg}, 409)
    if errors:
        return _page(request, p, kind, site, device, recorders, values, errors, 422)
    return RedirectResponse(f"/sites/{code}?saved=device#system", status_code=303)


def _kind(request: Request) -> str:
    """'recorder' or 'camera', from the page's path (/sites/{code}/recorders/… or /sites/{code}/cameras/…)."""
    return KINDS[request.url.path.split("/")[3]]


@router.get("/sites/{code}/recorders/new")
@router.get("/sites/{code}/cameras/new")
def device_new_form(request: Request, code: str, session: DB, p: CurrentPrincipal) -> Response:
    """The form for adding a recorder or a camera to a site."""
    kind = _kind(request)
    site, _device_row, recorders = _device(session, p, code, kind, None)
    return _page(request, p, kind, site, None, recorders, _values(kind, None, recorders), {})


@router.post("/sites/{code}/recorders/new")
@router.post("/sites/{code}/cameras/new")
def device_create(request: Request, code: str, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Add a recorder or a camera to a site."""
    return _submit(request, session, p, _kind(request), code, form, None)


@router.get("/sites/{code}/recorders/{device_id}/edit")
@router.get("/sites/{code}/cameras/{device_id}/edit")
def device_edit_form(request: Request, code: str, device_id: int, session: DB, p: CurrentPrincipal) -> Response:
    """The form for changing a recorder's or camera's declared specs."""
    kind = _kind(request)
    site, device, recorders = _device(session, p, code, kind, device_id)
    return _page(request, p, kind, site, device, recorders, _values(kind, device, recorders), {})


@router.post("/sites/{code}/recorders/{device_id}/edit")
@router.post("/sites/{code}/cameras/{device_id}/edit")
def device_edit(request: Request, code: str, device_id: int, session: DB, p: CurrentPrincipal,
                form: FormFields) -> Response:
    """Save a recorder's or camera's declared specs."""
    return _submit(request, session, p, _kind(request), code, form, device_id)


@router.post("/sites/{code}/recorders/{device_id}/delete")
@router.post("/sites/{code}/cameras/{device_id}/delete")
def device_delete(request: Request, code: str, device_id: int, session: DB, p: CurrentPrincipal) -> Response:
    """Remove a recorder or a camera from a site."""
    camera_flows.delete_device(session=session, actor=p.actor, code=code, kind=_kind(request),
                               device_id=device_id)
    return RedirectResponse(f"/sites/{code}?saved=deleted#system", status_code=303)
