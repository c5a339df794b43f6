"""The cameras service: scope, audited writes, credentials at rest, and compliance kept up to date."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope
from kgys.audit.mechanism import set_actor
from kgys.audit.models import AuditEntry
from kgys.cameras import service
from kgys.cameras.flows import systems as flows
from kgys.cameras.models import Camera, Recorder
from kgys.cameras.schemas import CameraIn, CredentialsIn, RecorderIn
from kgys.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories

SECRET = "Gizli-Parola-73"


def school_admin(path: str = "/TR/TR-99/TR-99-A/") -> Actor:
    return Actor(id=None, username="okul-muduru", role="school_admin", scope=Scope(paths=(path,)))


def recorder(name: str = "NVR-1", **kw: object) -> RecorderIn:
    data: dict[str, object] = {"name": name, "channels": 16, "supported_storage_tb": 16, "installed_storage_tb": 12,
                               "remote_viewing": True, "continuous_recording": True, "retention_days": 30}
    data.update(kw)
    return RecorderIn.model_validate(data)


def camera(name: str, **kw: object) -> CameraIn:
    data: dict[str, object] = {"name": name, "recorder": "NVR-1", "megapixels": 2.0, "width": 1920,
                               "height": 1080, "poe": True, "night_vision": True, "position": "entrance",
                               "bitrate_kbps": 4096}
    data.update(kw)
    return CameraIn.model_validate(data)


@pytest.fixture
def site(session: Session) -> Site:
    factories.tree(session)
    s = factories.site(session, "TR-99-A")
    set_actor(session, school_admin())
    return s


def test_credentials_are_stored_encrypted_and_shown_masked(rt: Runtime, session: Session, site: Site) -> None:
    rec = flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code,
                              data=recorder(credentials=CredentialsIn(username="admin", password=SECRET)))
    cam = flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=site.code,
                            data=camera("Giriş", stream_url="rtsp://10.0.0.5/Streaming/101",
                                        credentials=CredentialsIn(username="viewer", password=SECRET)))
    for table in ("recorders", "cameras"):
        raw = session.execute(text(f"SELECT credentials FROM {table}")).scalar_one()
        assert SECRET not in raw and "admin" not in raw and "viewer" not in raw
        assert raw.startswith("gAAAAA")  # a Fernet token
    assert rt.box.open(rec.credentials or "").password == SECRET
    shown = [service.recorder_out(rec, rt.box).credentials, service.camera_out(cam, [rec], rt.box).credentials]
    assert shown == ["a***n / ••••••", "v****r / ••••••"]
    log = " ".join(e.details for e in session.scalars(select(AuditEntry)))
    assert SECRET not in log and (rec.credentials or "") not in log


def test_replacing_specs_keeps_credentials_unless_new_ones_are_given(rt: Runtime, session: Session,
                                                                      site: Site) -> None:
    rec = flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code,
                              data=recorder(credentials=CredentialsIn(username="admin", password=SECRET)))
    sealed = rec.credentials
    flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code,
                        data=recorder(channels=32), recorder_id=rec.id)
    assert rec.channels == 32 and rec.credentials == sealed
    flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code,
                        data=recorder(credentials=CredentialsIn(username="root", password="Yeni-Parola-1")),
                        recorder_id=rec.id)
    assert rt.box.open(rec.credentials or "").username == "root"


def test_changes_are_audited_with_the_site(rt: Runtime, session: Session, site: Site) -> None:
    rec = flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code, data=recorder())
    cam = flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=site.code,
                            data=camera("Giriş"))
    flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=site.code,
                      data=camera("Giriş", megapixels=4.0), camera_id=cam.id)
    flows.delete_device(session=session, actor=school_admin(), code=site.code, kind="camera", device_id=cam.id)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_type.in_(["camera", "recorder"]))
                              .order_by(AuditEntry.seq)).all()
    assert [(e.action, e.object_id) for e in entries] == [
        ("recorder.create", str(rec.id)), ("camera.create", str(cam.id)), ("camera.update", str(cam.id)),
        ("camera.delete", str(cam.id))]
    assert all(e.site_id == site.id and e.actor == "okul-muduru" for e in entries)
    assert json.loads(entries[2].details)["changes"]["megapixels"] == {"from": "2.0", "to": "4.0"}


def test_compliance_status_follows_the_system(rt: Runtime, session: Session, site: Site) -> None:
    def status() -> str:
        return session.scalar(select(Site.compliance_status).where(Site.id == site.id)) or ""

    admin = school_admin()
    assert status() == "no_system"
    rec = flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder())
    assert status() == "non_compliant"  # a recorder but no cameras
    front = flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code, data=camera("Giriş"))
    flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code,
                      data=camera("Bahçe", position="yard"))
    assert status() == "compliant"
    flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code,
                      data=camera("Giriş", megapixels=1.3), camera_id=front.id)
    assert status() == "non_compliant"
    _, result = flows.compliance(session=session, actor=admin, code=site.code)
    assert [c.code for c in result.failed] == ["camera.megapixels"]
    flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code,
                      data=camera("Giriş", megapixels=1.3, enabled=False), camera_id=front.id)
    _, result = flows.compliance(session=session, actor=admin, code=site.code)
    assert [c.code for c in result.failed] == ["coverage.front"]  # a disabled camera is not judged at all
    for cam in session.scalars(select(Camera).where(Camera.site_id == site.id)).all():
        flows.delete_device(session=session, actor=admin, code=site.code, kind="camera", device_id=cam.id)
    flows.delete_device(session=session, actor=admin, code=site.code, kind="recorder", device_id=rec.id)
    assert status() == "no_system"


def test_storage_figures(rt: Runtime, session: Session, site: Site) -> None:
    flows.save_recorder(session=session, actor=school_admin(), box=rt.box, code=site.code,
                        data=recorder(installed_storage_tb=8))
    for i in range(16):
        flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=site.code,
                          data=camera(f"K{i}", position="perimeter" if i else "entrance"))
    system, result = flows.compliance(session=session, actor=school_admin(), code=site.code)
    assert service.storage_figures(system) == (11.3, 1543)
    assert [c.code for c in result.failed] == ["recorder.storage_days"]


def test_bad_declarations_are_refused_naming_the_field(rt: Runtime, session: Session, site: Site) -> None:
    admin = school_admin()
    with pytest.raises(ValidationFailed) as err:
        flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code,
                            data=recorder(supported_storage_tb=8, installed_storage_tb=12))
    assert err.value.errors[0].field == "installed_storage_tb"
    with pytest.raises(ValidationFailed) as err:
        flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code,
                          data=camera("Giriş", recorder="NVR-9"))
    assert err.value.errors[0].field == "recorder"
    assert session.scalar(select(Recorder.id)) is None and session.scalar(select(Camera.id)) is None


def test_names_are_unique_per_site(rt: Runtime, session: Session, site: Site) -> None:
    admin = school_admin()
    rec = flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder())
    other = flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder("NVR-2"))
    with pytest.raises(Conflict, match="already has a recorder named 'NVR-1'"):
        flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder())
    with pytest.raises(Conflict):
        flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder("NVR-1"),
                            recorder_id=other.id)
    flows.save_recorder(session=session, actor=admin, box=rt.box, code=site.code, data=recorder("NVR-1"),
                        recorder_id=rec.id)  # keeping its own name is fine
    flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code, data=camera("Giriş"))
    with pytest.raises(Conflict, match="already has a camera named 'Giriş'"):
        flows.save_camera(session=session, actor=admin, box=rt.box, code=site.code, data=camera("Giriş"))
    assert len(session.scalars(select(Camera)).all()) == 1


def test_scope_and_permission(rt: Runtime, session: Session, site: Site) -> None:
    other = factories.site(session, "TR-99-B")
    set_actor(session, school_admin())
    theirs = flows.save_camera(session=session, actor=factories.admin(), box=rt.box, code=other.code,
                               data=camera("Giriş", recorder=None))
    with pytest.raises(NotFound):
        flows.get_system(session=session, actor=school_admin(), code=other.code)
    with pytest.raises(NotFound):
        flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=other.code,
                          data=camera("X", recorder=None))
    with pytest.raises(NotFound):  # a device of another site, reached through one's own site
        flows.save_camera(session=session, actor=school_admin(), box=rt.box, code=site.code,
                          data=camera("X", recorder=None), camera_id=theirs.id)
    with pytest.raises(NotFound):
        flows.delete_device(session=session, actor=school_admin(), code=site.code, kind="camera",
                            device_id=theirs.id)
    operator = Actor(id=None, username="op", role="operator", scope=Scope(paths=("/TR/",)))
    with pytest.raises(PermissionDenied):
        flows.save_recorder(session=session, actor=operator, box=rt.box, code=site.code, data=recorder())
    auditor = Actor(id=None, username="au", role="auditor", scope=Scope(is_global=True))
    with pytest.raises(PermissionDenied):
        flows.get_system(session=session, actor=auditor, code=site.code)
    assert flows.compliance(session=session, actor=auditor, code=site.code)[1].status == "no_system"
