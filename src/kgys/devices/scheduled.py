"""Periodic work of the devices domain: a device silent for more than ``devices.offline_factor`` of its heartbeat
intervals gets a P4 ``device_offline`` alert (once, while it stays silent); the intake clears it when the device
is heard again. Run by the one scheduler of ``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority
from kgys.devices import service as device_service
from kgys.devices.intake import source_of
from kgys.devices.kinds import DeviceAlertKind
from kgys.scheduler import Task

log = logging.getLogger(__name__)


def offline_key(serial: str) -> str:
    """The dedup key of a device's offline alert."""
    return f"offline:{serial}"


def watch_devices(session: Session, now: datetime, *, factor: float) -> list[str]:
    """Raise an offline alert for each silent device that has none open; the serials newly alerted."""
    raised = []
    for device, since in device_service.silent(session=session, now=now, factor=factor):
        key = offline_key(device.serial)
        if raising.open_alert(session, key) is not None:
            continue
        raising.raise_alert(session, Alarm(
            source=source_of(device), kind=DeviceAlertKind.DEVICE_OFFLINE, priority=Priority.P4,
            details=f"{device.serial} silent since {since.isoformat(timespec='seconds')}", site_id=device.site_id,
            device=device.serial, dedup_key=key, data={"last_seen_at": since.isoformat()}), by="jobs", now=now)
        log.info("device %s silent since %s: offline alert raised", device.serial, since)
        raised.append(device.serial)
    return raised


def tasks(*, factor: float, every: float) -> list[Task]:
    """The devices tasks of the jobs worker."""
    return [Task("devices.offline_watch", every, work=lambda session, now: watch_devices(session, now,
                                                                                        factor=factor))]
