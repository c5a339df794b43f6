"""Rows of recorder and camera imports, matched by (``site_code``, ``name``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kgys.cameras import service as camera_service
from kgys.cameras.models import SiteDevice
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.errors import NotFound, PermissionDenied
from kgys.sites.import_messages import _
from kgys.sites.import_parse import Row
from kgys.sites.import_rows import Context, RowFailed, merge, save_row, service_problem, validate
from kgys.sites.import_summary import RowChange

RECORDER_FIELDS = ("name", "vendor", "model", "channels", "supported_storage_tb", "installed_storage_tb",
                   "remote_viewing", "continuous_recording", "retention_days", "host")
CAMERA_FIELDS = ("name", "recorder", "megapixels", "width", "height", "poe", "night_vision", "position",
                 "bitrate_kbps", "codec", "stream_url", "enabled")


def _system(ctx: Context, row: Row) -> camera_service.SiteSystem | None:
    """The row's site with its devices; None (and the problem recorded) when it cannot be had."""
    code = row.values.get("site_code", "")
    if not code:
        ctx.fail(row, "site_code", _("a value is required"))
        return None
    try:
        return camera_service.get_system(session=ctx.session, actor=ctx.actor, code=code)
    except NotFound:
        ctx.fail(row, "site_code", _("no site '%(code)s' within your scope", code=code))
    except PermissionDenied as exc:
        ctx.fail(row, "site_code", service_problem(ctx, exc))
    return None


def recorder_row(ctx: Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((r for r in system.recorders if r.name == name), None) if system else None
    base = {f: getattr(existing, f) for f in RECORDER_FIELDS} if existing else {}
    data: RecorderIn = validate(ctx, row, RecorderIn, merge(row, base, RECORDER_FIELDS))
    if system is None:
        raise RowFailed()
    if data.installed_storage_tb > data.supported_storage_tb:
        raise ctx.fail(row, "installed_storage_tb", _("more storage installed than the recorder supports"))
    return _save(ctx, row, system, existing, base, data, RECORDER_FIELDS, camera_service.save_recorder,
                 "recorder_id")


def camera_row(ctx: Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((c for c in system.cameras if c.name == name), None) if system else None
    base: dict[str, Any] = {}
    if system is not None and existing is not None:
        base = {f: getattr(existing, f) for f in CAMERA_FIELDS if f != "recorder"}
        base["recorder"] = next((r.name for r in system.recorders if r.id == existing.recorder_id), None)
    data: CameraIn = validate(ctx, row, CameraIn, merge(row, base, CAMERA_FIELDS))
    if system is None:
        raise RowFailed()
    if data.recorder and all(r.name != data.recorder for r in system.recorders):
        raise ctx.fail(row, "recorder", _("site '%(code)s' has no recorder '%(recorder)s'", code=system.site.code,
                                          recorder=data.recorder))
    return _save(ctx, row, system, existing, base, data, CAMERA_FIELDS, camera_service.save_camera, "camera_id")


def _save(ctx: Context, row: Row, system: camera_service.SiteSystem, existing: SiteDevice | None,
          base: dict[str, Any], data: RecorderIn | CameraIn, fields: tuple[str, ...],
          save: Callable[..., object], id_name: str) -> RowChange | None:
    code = system.site.code

    def run() -> None:
        save(session=ctx.session, actor=ctx.actor, box=ctx.box, code=code, data=data,
             **{id_name: existing.id if existing else None})

    return save_row(row, f"{code} / {data.name}", base if existing else None,
                    data.model_dump(include=set(fields)), fields, run)
