"""Importing recorder and camera inventories: the cameras domain's rows of a registry import.

The file, its checks and the all-or-nothing rule are the sites importer's (:mod:`kgys.sites.imports`);
each recorder or camera row is checked with the schemas the API uses (``RecorderIn``, ``CameraIn``) and
written through :mod:`kgys.cameras.flows.systems`, so scope, permissions and the audit log apply as for single
edits. Recorders and cameras are matched by (``site_code``, ``name``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.cameras import service
from kgys.cameras.flows import systems
from kgys.cameras.models import SiteDevice
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.errors import NotFound, PermissionDenied
from kgys.secretbox import CredentialBox
from kgys.sites import imports
from kgys.sites.import_messages import _
from kgys.sites.import_parse import Row
from kgys.sites.import_summary import ImportSummary, RowChange

RECORDER_FIELDS = ("name", "vendor", "model", "channels", "supported_storage_tb", "installed_storage_tb",
                   "remote_viewing", "continuous_recording", "retention_days", "host")
CAMERA_FIELDS = ("name", "recorder", "megapixels", "width", "height", "poe", "night_vision", "position",
                 "bitrate_kbps", "codec", "stream_url", "enabled")


def import_file(*, session: Session, actor: Actor, box: CredentialBox, data: bytes, filename: str = "",
                kind: str | None = None, dry_run: bool = False, progress: imports.Progress | None = None,
                today: date | None = None) -> ImportSummary:
    """Validate and apply a CSV or XLSX file of sites, recorders or cameras, all rows or none (see
    :func:`kgys.sites.imports.import_file`); device credentials are sealed with ``box``."""
    devices: dict[str, imports.RowApply] = {"recorders": functools.partial(_recorder_row, box),
                                            "cameras": functools.partial(_camera_row, box)}
    return imports.import_file(session=session, actor=actor, data=data, devices=devices, filename=filename,
                               kind=kind, dry_run=dry_run, progress=progress, today=today)


def _system(ctx: imports.Context, row: Row) -> service.SiteSystem | None:
    """The row's site with its devices; None (and the problem recorded) when it cannot be had."""
    code = row.values.get("site_code", "")
    if not code:
        ctx.fail(row, "site_code", _("a value is required"))
        return None
    try:
        return systems.get_system(session=ctx.session, actor=ctx.actor, code=code)
    except NotFound:
        ctx.fail(row, "site_code", _("no site '%(code)s' within your scope", code=code))
    except PermissionDenied as exc:
        ctx.fail(row, "site_code", imports.service_problem(ctx, exc))
    return None


def _recorder_row(box: CredentialBox, ctx: imports.Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((r for r in system.recorders if r.name == name), None) if system else None
    base = {f: getattr(existing, f) for f in RECORDER_FIELDS} if existing else {}
    data: RecorderIn = imports.validate_row(ctx, row, RecorderIn, imports.merge(row, base, RECORDER_FIELDS))
    if system is None:
        raise imports.RowFailed()
    if data.installed_storage_tb > data.supported_storage_tb:
        raise ctx.fail(row, "installed_storage_tb", _("more storage installed than the recorder supports"))
    return _save(ctx, row, system, existing, base, data, RECORDER_FIELDS,
                 functools.partial(systems.save_recorder, box=box, recorder_id=existing.id if existing else None))


def _camera_row(box: CredentialBox, ctx: imports.Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((c for c in system.cameras if c.name == name), None) if system else None
    base: dict[str, Any] = {}
    if system is not None and existing is not None:
        base = {f: getattr(existing, f) for f in CAMERA_FIELDS if f != "recorder"}
        base["recorder"] = next((r.name for r in system.recorders if r.id == existing.recorder_id), None)
    data: CameraIn = imports.validate_row(ctx, row, CameraIn, imports.merge(row, base, CAMERA_FIELDS))
    if system is None:
        raise imports.RowFailed()
    if data.recorder and all(r.name != data.recorder for r in system.recorders):
        raise ctx.fail(row, "recorder", _("site '%(code)s' has no recorder '%(recorder)s'", code=system.site.code,
                                          recorder=data.recorder))
    return _save(ctx, row, system, existing, base, data, CAMERA_FIELDS,
                 functools.partial(systems.save_camera, box=box, camera_id=existing.id if existing else None))


def _save(ctx: imports.Context, row: Row, system: service.SiteSystem, existing: SiteDevice | None,
          base: dict[str, Any], data: RecorderIn | CameraIn, fields: tuple[str, ...],
          save: Callable[..., object]) -> RowChange | None:
    code = system.site.code
    return imports.save_change(
        row, f"{code} / {data.name}", base if existing else None, data.model_dump(include=set(fields)), fields,
        lambda: save(session=ctx.session, actor=ctx.actor, code=code, data=data))
