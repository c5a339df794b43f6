"""Recording's alarms in the alert queue: the kinds it raises, and how the recorder, the maintainer,
retention and the periodic jobs raise and clear them.

:func:`raise_alert` puts an alarm about a subject (a camera, a site, or the whole installation) into the one
alert queue (:mod:`kgys.alerts.raising`) as a technical alert: critical ones at P3, the rest at P4. With
``dedup`` an open alert of the same kind and subject takes the repeat (counted, details refreshed) instead of a
second one being opened. :func:`resolve_alerts` closes them when what they told of is over.

An alarm's details are one of the sentences below with its values: stored in English as the alert's details and
as a code with its values in its data (``data["said"]``), from which a page says it in its reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.states import Priority, Source
from kgys.said import Said, _, ngettext


class AlertKind(StrEnum):
    """What an alert is about (the stored value)."""

    RECORDING_STOPPED = "recording_stopped"
    SEGMENT_QUARANTINED = "segment_quarantined"
    STORAGE_ERROR = "storage_error"
    RECORDER_DOWN = "recorder_down"
    STORAGE_PRESSURE = "storage_pressure"
    STORAGE_FULL_HELD = "storage_full_held"
    STORAGE_FORECAST = "storage_forecast"
    STORAGE_DELETE_FAILED = "storage_delete_failed"


QUARANTINED = _("segment quarantined (%(reason)s): %(detail)s")
STOPPED = _("camera stopped recording (%(cause)s): %(detail)s")
IN_SPOOL = _("segments stay in the spool: %(message)s")
NOT_RECORDED = ngettext("%(detail)s; %(n)s camera is not being recorded",
                        "%(detail)s; %(n)s cameras are not being recorded")
NEVER_REPORTED = _("the recorder worker is not running (it has never reported)")
STOPPED_AT = _("the recorder worker stopped at %(at)s and has not been restarted")
SILENT_SINCE = _("the recorder worker (pid %(pid)s) has not reported since %(at)s")
DISK_BLOCKED = _("disk nearly full (%(free)s bytes free, %(need)s more needed) and nothing may be deleted: "
                 "segments under legal hold: %(held_n)s (%(held_bytes)s bytes), the rest within the minimum "
                 "retention; recording continues to the spool")
DISK_BLOCKED_SOME = _("disk nearly full (%(free)s bytes free, %(need)s more needed) and only %(freed)s bytes could "
                      "be deleted (segments: %(deleted)s): segments under legal hold: %(held_n)s (%(held_bytes)s "
                      "bytes), the rest within the minimum retention; recording continues to the spool")
DISK_PRESSURE = ngettext("disk nearly full: deleted %(n)s segment, %(freed)s bytes beyond the minimum retention; "
                         "%(free)s bytes free",
                         "disk nearly full: deleted %(n)s segments, %(freed)s bytes beyond the minimum retention; "
                         "%(free)s bytes free")
DELETE_FAILED = ngettext("%(n)s expired segment could not be deleted from storage, e.g. %(path)s",
                         "%(n)s expired segments could not be deleted from storage, e.g. %(path)s")


class Severity(StrEnum):
    """How urgent a recording alarm is; it sets the alert's priority."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


PRIORITY = {Severity.CRITICAL: Priority.P3, Severity.WARNING: Priority.P4, Severity.INFO: Priority.P4}


@dataclass(frozen=True)
class Subject:
    """What an alert is raised about: a camera (with its site), a site, or — both None — the installation."""

    camera_id: int | None = None
    site_id: int | None = None

    def key(self, kind: AlertKind) -> str:
        """The dedup key of this subject's alarms of ``kind``."""
        return f"recorder:{kind}:c{self.camera_id or ''}:s{self.site_id or ''}"


INSTALLATION = Subject()


def raise_alert(session: Session, *, kind: AlertKind, severity: Severity, subject: Subject, said: Said | None = None,
                params: dict[str, Any] | None = None, details: str = "", dedup: bool = False,
                now: datetime | None = None) -> Alert:
    """Raise a recording alarm into the queue (see the module); its details are ``said`` with ``params`` (or,
    without a sentence, the text ``details`` as it is)."""
    values = params or {}
    return raising.raise_alert(session, raising.Alarm(
        source=Source.RECORDER, kind=kind, priority=PRIORITY[severity],
        details=said.english(**values) if said is not None else details,
        data={"said": said.code(**values)} if said is not None else {}, site_id=subject.site_id,
        camera_id=subject.camera_id,
        dedup_key=subject.key(kind) if dedup else None), by="recorder", now=now)


def resolve_alerts(session: Session, *, kinds: Iterable[AlertKind], subject: Subject,
                   at: datetime | None = None) -> int:
    """Close the subject's open alerts of these kinds; how many were open."""
    return raising.clear(session, kinds=[str(k) for k in kinds], site_id=subject.site_id,
                         camera_id=subject.camera_id, source=Source.RECORDER, now=at)
