"""Bringing the broker's files in line with the registry after a device (or a unit's tracker) is added, enabled or
disabled: the login's password added (or the login removed), the ACL rewritten — every enabled device and unit
tracker — and the broker told to read them again."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from kgys.config import Settings
from kgys.devices import mosquitto
from kgys.devices import service as device_service
from kgys.devices.flows import tracking

log = logging.getLogger(__name__)


def sync(session: Session, settings: Settings, *, add: tuple[str, str] | None = None,
         remove: str | None = None) -> Path:
    """Write the password file (``add``: a username and its new password; ``remove``: a username) and the ACL
    of every enabled device and unit tracker as ``session`` sees them; the ACL file's path."""
    cfg = settings.devices
    passwd, acl = cfg.password_path(settings.data_dir), cfg.acl_path(settings.data_dir)
    if cfg.password:
        mosquitto.set_password(passwd, cfg.username, cfg.password, binary=cfg.mosquitto_passwd)
    if add is not None:
        mosquitto.set_password(passwd, add[0], add[1], binary=cfg.mosquitto_passwd)
    if remove is not None:
        mosquitto.remove_user(passwd, remove, binary=cfg.mosquitto_passwd)
    mosquitto.write_acl(acl, mosquitto.acl_text(cfg.username, device_service.broker_logins(session=session),
                                                tracking.tracker_logins(session=session)))
    if mosquitto.reload_broker(cfg.broker_pid_file):
        log.info("broker told to read %s and %s again", passwd, acl)
    return acl
