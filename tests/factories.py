"""Factories for test data: a small jurisdiction tree, sites, systems, devices and users of every role."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts import signin
from kgys.accounts.actor import Actor, system_actor
from kgys.accounts.models import Jurisdiction, User
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.devices.flows import registry as device_registry
from kgys.devices.models import Device
from kgys.devices.schemas import DeviceIn
from kgys.secretbox import CredentialBox, SecretBox
from kgys.sites import service as site_service
from kgys.sites.models import Site
from kgys.sites.schemas import SiteCreate

PASSWORD = "correct-horse-42"
TOTP_SECRETS: dict[str, str] = {}  # username → clear TOTP secret of users enrolled by user(box=…)
_seq = itertools.count(1)


def admin() -> Actor:
    """A global administrator actor for setting up data."""
    return system_actor("test-setup")


def tree(session: Session) -> dict[str, Jurisdiction]:
    """TR → TR-99 (two districts A, B) and TR-98 (one district C)."""
    nodes: dict[str, Jurisdiction] = {}

    def add(code: str, name: str, kind: str, parent: str | None) -> None:
        p = nodes[parent] if parent else None
        node = Jurisdiction(code=code, name=name, kind=kind, parent_id=p.id if p else None,
                            path=f"{p.path if p else '/'}{code}/")
        session.add(node)
        session.flush()
        nodes[code] = node

    add("TR", "Türkiye", "country", None)
    add("TR-99", "Deneme İli", "province", "TR")
    add("TR-99-A", "Merkez", "district", "TR-99")
    add("TR-99-B", "Sahil", "district", "TR-99")
    add("TR-98", "Örnek İli", "province", "TR")
    add("TR-98-C", "Dağ", "district", "TR-98")
    return nodes


def site(session: Session, district: str = "TR-99-A", **kw: Any) -> Site:
    """A site in ``district`` (created by a global admin)."""
    n = next(_seq)
    actor = admin()
    set_actor(session, actor)
    data: dict[str, Any] = {"code": f"S{n:05d}", "name": f"Test Okulu {n}", "type": "primary_school",
                            "district": district, "latitude": 39.9, "longitude": 32.8, "priority": 2}
    data.update(kw)
    return site_service.create_site(session=session, actor=actor, data=SiteCreate(**data))


def compliant_system(session: Session, box: CredentialBox, code: str) -> None:
    """A recorder and two cameras meeting the ministry's minimum."""
    actor = admin()
    set_actor(session, actor)
    camera_flows.save_recorder(session=session, actor=actor, box=box, code=code, data=RecorderIn(
        name="NVR-1", channels=16, supported_storage_tb=16, installed_storage_tb=12, remote_viewing=True,
        continuous_recording=True, retention_days=30))
    for name, pos in (("Giriş", "entrance"), ("Çevre", "perimeter")):
        camera_flows.save_camera(session=session, actor=actor, box=box, code=code, data=CameraIn(
            name=name, recorder="NVR-1", megapixels=2.0, width=1920, height=1080, poe=True, night_vision=True,
            position=pos, bitrate_kbps=4096))


def user(session: Session, role: str, scope: list[str] | None = None, username: str | None = None,
         box: SecretBox | None = None) -> User:
    """A user of ``role`` scoped to ``scope`` (default district TR-99-A); with ``box`` also enrolled in TOTP
    (the secret sealed with ``box``, in clear in :data:`TOTP_SECRETS`)."""
    name = username or f"{role}{next(_seq)}"
    u = account_service.create_user(session=session, actor=admin(), username=name, password=PASSWORD,
                                    role=role, jurisdiction_codes=scope or ["TR-99-A"])
    if box is not None:
        TOTP_SECRETS[name] = pyotp.random_base32()
        signin.set_totp_secret(session=session, box=box, user=u, secret=TOTP_SECRETS[name],
                                        confirmed=True)
    return u


def totp_code(user: User, step: int = 0) -> str:
    """A TOTP code of ``user`` (enrolled by :func:`user`) for now, or ``step`` time steps from now."""
    return pyotp.TOTP(TOTP_SECRETS[user.username]).at(time.time() + 30 * step)


def device(session: Session, site_code: str, serial: str | None = None, kind: str = "panic",
           cancel_pin: str = "1234", duress_pin: str = "9999", **kw: Any) -> tuple[Device, str]:
    """A provisioned device at the site and its broker password."""
    actor = admin()
    set_actor(session, actor)
    pins = {"cancel_pin": cancel_pin, "duress_pin": duress_pin} if kind == "panic" else {}
    row, password = device_registry.provision(session=session, actor=actor, data=DeviceIn(
        site=site_code, serial=serial or f"PB-{next(_seq):05d}", kind=kind, **pins, **kw))
    return row.device, password
