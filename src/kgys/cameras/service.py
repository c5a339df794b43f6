"""Reads and writes of the cameras domain: a site's recorders and cameras, and its compliance.

Functions here take a site already found within the caller's scope; finding it (and storing the site's
compliance status) is :mod:`kgys.cameras.flows.systems`.

Compliance judges the declared system and, for cameras the recorder has measured, what they really send
(:func:`kgys.cameras.compliance.stream_checks` on their :class:`~kgys.cameras.models.CameraHealth`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.cameras import compliance as rules
from kgys.cameras.models import Camera, CameraHealth, Recorder
from kgys.cameras.schemas import CameraIn, CameraOut, MeasuredCameraOut, RecorderIn, RecorderOut
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.said import _
from kgys.secretbox import CredentialBox, Credentials
from kgys.sites.models import Site

log = logging.getLogger(__name__)
NO_RECORDER = _("site '%(site)s' has no recorder '%(recorder)s'")


@dataclass(frozen=True)
class SiteSystem:
    """A site with its recorders and cameras."""

    site: Site
    recorders: Sequence[Recorder]
    cameras: Sequence[Camera]
    health: Mapping[int, CameraHealth] = field(default_factory=dict)


def load_system(*, session: Session, site: Site) -> SiteSystem:
    """A site's recorders and cameras with their measured health; the caller has checked scope."""
    recs = session.scalars(select(Recorder).where(Recorder.site_id == site.id).order_by(Recorder.name)).all()
    cams = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)).all()
    health = {h.camera_id: h for h in session.scalars(
        select(CameraHealth).where(CameraHealth.camera_id.in_([c.id for c in cams])))} if cams else {}
    return SiteSystem(site, recs, cams, health)


def specs(system: SiteSystem) -> tuple[list[rules.CameraSpec], list[rules.RecorderSpec]]:
    """The plain specs compliance judges."""
    rec_names = {r.id: r.name for r in system.recorders}
    cams = [
        rules.CameraSpec(name=c.name, megapixels=c.megapixels, width=c.width, height=c.height, poe=c.poe,
                         night_vision=c.night_vision, position=c.position, bitrate_kbps=c.bitrate_kbps,
                         recorder=rec_names.get(c.recorder_id) if c.recorder_id else None)
        for c in system.cameras if c.enabled
    ]
    recs = [
        rules.RecorderSpec(name=r.name, channels=r.channels, supported_storage_tb=r.supported_storage_tb,
                           installed_storage_tb=r.installed_storage_tb, remote_viewing=r.remote_viewing,
                           continuous_recording=r.continuous_recording, retention_days=r.retention_days)
        for r in system.recorders
    ]
    return cams, recs


def streams(system: SiteSystem) -> list[rules.StreamSpec]:
    """Each enabled camera's measured stream next to its declared specs, with the checks it fails."""
    out: list[rules.StreamSpec] = []
    for cam in system.cameras:
        if not cam.enabled:
            continue
        h = system.health.get(cam.id)
        checks = rules.stream_checks(
            declared_width=cam.width, declared_height=cam.height, declared_codec=cam.codec, measured=h,
            min_width=rules.MIN_WIDTH, min_height=rules.MIN_HEIGHT)
        failed = tuple(c.code for c in checks if not c.passed and c.code != "measured")
        if h is None:
            out.append(rules.StreamSpec(name=cam.name, declared_width=cam.width, declared_height=cam.height,
                                        declared_codec=cam.codec))
            continue
        out.append(rules.StreamSpec(
            name=cam.name, declared_width=cam.width, declared_height=cam.height, declared_codec=cam.codec,
            state=h.state, reason=h.reason, codec=h.codec, width=h.width, height=h.height, fps=h.fps,
            bitrate_kbps=h.bitrate_kbps, keyframe_interval=h.keyframe_interval, measured_at=h.measured_at,
            failed=failed))
    return out


def evaluate(system: SiteSystem) -> rules.ComplianceResult:
    """Compliance of a loaded system: declared specs, and measured streams where there are any."""
    cams, recs = specs(system)
    return rules.evaluate(cams, recs, streams(system))


def measured_out(result: rules.ComplianceResult) -> list[MeasuredCameraOut]:
    """API form of each camera's measured stream."""
    return [MeasuredCameraOut(
        name=s.name, state=s.state, reason=s.reason, measured=s.measured, codec=s.codec, width=s.width,
        height=s.height, fps=s.fps, bitrate_kbps=s.bitrate_kbps, keyframe_interval_s=s.keyframe_interval,
        measured_at=s.measured_at, declared_width=s.declared_width, declared_height=s.declared_height,
        declared_codec=s.declared_codec, passed=(not s.failed) if s.measured else None, problems=s.problems(),
    ) for s in result.streams]


def storage_figures(system: SiteSystem) -> tuple[float | None, float | None]:
    """Days achievable at declared bitrates and the per-camera bitrate that reaches 30 days."""
    cams, recs = specs(system)
    if not recs or not cams:
        return None, None
    installed = sum(r.installed_storage_tb for r in recs)
    days = rules.storage_days(installed, sum(c.bitrate_kbps for c in cams))
    return (None if math.isinf(days) else round(days, 1)), round(rules.bitrate_for_days(installed, len(cams)), 0)


def recorder_out(r: Recorder, box: CredentialBox) -> RecorderOut:
    """API form of a recorder."""
    return RecorderOut(id=r.id, name=r.name, vendor=r.vendor, model=r.model, channels=r.channels,
                       supported_storage_tb=r.supported_storage_tb, installed_storage_tb=r.installed_storage_tb,
                       remote_viewing=r.remote_viewing, continuous_recording=r.continuous_recording,
                       retention_days=r.retention_days, host=r.host,
                       credentials=box.open(r.credentials).masked() if r.credentials else None)


def camera_out(c: Camera, recorders: Sequence[Recorder], box: CredentialBox) -> CameraOut:
    """API form of a camera."""
    rec = next((r.name for r in recorders if r.id == c.recorder_id), None)
    return CameraOut(id=c.id, name=c.name, recorder=rec, megapixels=c.megapixels, width=c.width,
                     height=c.height, poe=c.poe, night_vision=c.night_vision, position=c.position,
                     bitrate_kbps=c.bitrate_kbps, codec=c.codec, stream_url=c.stream_url,
                     credentials=box.open(c.credentials).masked() if c.credentials else None, enabled=c.enabled)


def saved_camera_out(*, session: Session, box: CredentialBox, camera: Camera) -> CameraOut:
    """API form of a camera just saved, with its recorder's name."""
    rec = session.get(Recorder, camera.recorder_id) if camera.recorder_id is not None else None
    return camera_out(camera, [rec] if rec is not None else [], box)


Device = TypeVar("Device", Recorder, Camera)


def _place(session: Session, kind: type[Device], *, site: Site, device_id: int | None, data: RecorderIn | CameraIn,
           box: CredentialBox, exclude: set[str]) -> Device:
    """The device ``device_id`` of ``site`` (or a new one) with ``data``'s fields; a name used by another
    device of the site is a conflict."""
    label = kind.__audit_type__
    found: Device | None = None
    if device_id is not None:
        found = session.get(kind, device_id)
        if found is None or found.site_id != site.id:
            raise NotFound(f"no {label} {device_id} at site '{site.code}'")
    clash = session.scalar(select(kind.id).where(kind.site_id == site.id, kind.name == data.name))
    if clash is not None and (found is None or clash != found.id):
        raise Conflict(f"site '{site.code}' already has a {label} named '{data.name}'", field="name")
    device = found if found is not None else kind(site_id=site.id)
    session.add(device)
    for key, value in data.model_dump(exclude=exclude).items():
        setattr(device, key, value)
    if data.credentials is not None:
        device.credentials = box.seal(Credentials(data.credentials.username, data.credentials.password))
    return device


def put_recorder(*, session: Session, box: CredentialBox, site: Site, data: RecorderIn,
                 recorder_id: int | None = None) -> Recorder:
    """Add a recorder to a site, or replace the declared specs of an existing one (the site already checked)."""
    if data.installed_storage_tb > data.supported_storage_tb:
        raise ValidationFailed([FieldError("installed_storage_tb",
                                           "more storage installed than the recorder supports")])
    return _place(session, Recorder, site=site, device_id=recorder_id, data=data, box=box, exclude={"credentials"})


def put_camera(*, session: Session, box: CredentialBox, site: Site, data: CameraIn,
               camera_id: int | None = None) -> Camera:
    """Add a camera to a site, or replace the declared specs of an existing one (the site already checked)."""
    recorder_id: int | None = None
    if data.recorder:
        recorder_id = session.scalar(select(Recorder.id).where(Recorder.site_id == site.id,
                                                               Recorder.name == data.recorder))
        if recorder_id is None:
            raise ValidationFailed([FieldError.said("recorder", NO_RECORDER, site=site.code, recorder=data.recorder)])
    cam = _place(session, Camera, site=site, device_id=camera_id, data=data, box=box,
                 exclude={"credentials", "recorder"})
    cam.recorder_id = recorder_id
    return cam


def remove_device(*, session: Session, site: Site, kind: str, device_id: int) -> None:
    """Remove a recorder or camera from a site (the site already checked)."""
    obj: Recorder | Camera | None = (
        session.get(Recorder, device_id) if kind == "recorder" else session.get(Camera, device_id)
    )
    if obj is None or obj.site_id != site.id:
        raise NotFound(f"no {kind} {device_id} at site '{site.code}'")
    session.delete(obj)
