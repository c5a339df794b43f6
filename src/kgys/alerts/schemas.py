"""Request and response shapes of the alert API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kgys.accounts.actor import district_of
from kgys.alerts.models import Alert
from kgys.cameras.models import Camera
from kgys.sites.models import Site
from kgys.validation import SafeText

Outcome = Literal["resolved", "false_alarm", "drill", "test"]


class AlertOut(BaseModel):
    """An alert; ``site`` and ``camera`` are empty for alerts of the whole installation."""

    id: int
    source: str
    kind: str
    priority: int = Field(description="1 = a life in danger … 4 = technical")
    state: str
    details: str
    site: str | None
    site_name: str | None
    district: str | None = Field(description="Code of the district the alert belongs to")
    camera_id: int | None
    camera: str | None
    device: str | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None = Field(description="Radius in metres the position is sure within")
    drill: bool
    repeats: int = Field(description="How many times the alarm came in (repeats merged into this alert)")
    raised_at: datetime = Field(description="When the sender says it happened (its clock)")
    received_at: datetime
    last_at: datetime
    claimed_by: str | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    version: int
    data: dict[str, Any]
    text: str | None = Field(default=None, description="The details in the reader's language (in answers; the "
                                                       "events of the stream carry the English details only)")


class QueueOut(BaseModel):
    """The open alerts, most urgent first, and the number of the newest event: follow events after it."""

    seq: int
    items: list[AlertOut]


class ChangeOut(BaseModel):
    """One step of an alert's history."""

    at: datetime
    move: str
    from_state: str | None
    to_state: str
    by: str
    note: str


class MoveIn(BaseModel):
    """A note, and (optional) the version of the alert the operator saw: the move is refused if it changed."""

    model_config = ConfigDict(extra="forbid")

    note: SafeText = Field(default="", max_length=2000)
    version: int | None = Field(default=None, ge=1)


class ResolveIn(MoveIn):
    """Closing an alert: how it ended."""

    outcome: Outcome


class CapOut(BaseModel):
    """What became of a CAP message: the alert it raised or refreshed, or how many alerts its Cancel closed."""

    identifier: str
    alert_id: int | None
    cleared: int
    lockdown_sites: list[str] = []  # the sites whose devices the message ordered into lockdown (or all clear)


class LineOut(BaseModel):
    """One group's figures in a report (times in seconds from receipt)."""

    key: str
    label: str
    total: int
    open: int
    false_alarms: int
    drills: int
    tests: int
    false_alarm_rate: float | None = Field(description="False alarms among the closed alerts")
    drill_rate: float | None
    ack_p50: float | None
    ack_p90: float | None
    close_p50: float | None
    close_p90: float | None
    offline_alerts: int = Field(description="device_offline alerts among them")
    offline_seconds: float = Field(description="How long their devices were silent in all (to now if still)")


class ReportOut(BaseModel):
    """Alerts received in [from, to) that the caller may see, grouped."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    from_local: str = Field(description="The period's start in the reader's zone (local_time_zone)")
    to_local: str = Field(description="The period's end in the reader's zone (local_time_zone)")
    local_time_zone: str = Field(description="The reader's zone, with its offset from UTC")
    group: str
    lines: list[LineOut]
    total: LineOut


class WaitingOut(BaseModel):
    """An open alert on the supervisor's board."""

    alert: AlertOut
    waited_seconds: float
    overdue: bool


class LoadOut(BaseModel):
    """One operator's load and consoles."""

    operator: str
    holding: int = Field(description="Open alerts the operator holds")
    claimed: int = Field(description="… of them taken on, not yet acknowledged")
    acknowledged: int = Field(description="… of them acknowledged or dispatched, not closed")
    oldest_held_at: datetime | None = Field(description="When the operator took on the oldest of them")
    last_action_at: datetime | None = Field(description="The operator's last move on any alert")
    closed_last_hour: int
    ack_p50_seconds: float | None
    consoles: int = Field(description="Consoles of the operator connected now")
    connected_since: datetime | None
    unattended: bool = Field(description="Holding alerts with no console connected")


class OfflineDeviceOut(BaseModel):
    """A device of the scope silent for too long."""

    serial: str
    kind: str
    site: str
    site_name: str
    last_seen_at: datetime | None = Field(description="Last sign of life (none: never heard)")
    since: datetime = Field(description="Silent since (its last sign of life, or its registration)")


class BoardOut(BaseModel):
    """The supervisor's board: open alerts (overdue unclaimed first), each operator's load and consoles, and the
    devices offline."""

    open_by_priority: dict[int, int]
    waiting: list[WaitingOut]
    loads: list[LoadOut]
    devices_offline: list[OfflineDeviceOut]
    devices_by_state: dict[str, int] = Field(description="How many devices are online, offline, unknown (never "
                                                         "heard yet) and disabled")


def alert_out(a: Alert, site: Site | None, camera: Camera | None) -> AlertOut:
    """The shape of an alert in answers and in the events consoles are sent."""
    return AlertOut(
        id=a.id, source=a.source, kind=a.kind, priority=a.priority, state=a.state, details=a.details,
        site=site.code if site else None, site_name=site.name if site else None,
        district=district_of(a.scope_path), camera_id=a.camera_id,
        camera=camera.name if camera else None, device=a.device, latitude=a.latitude, longitude=a.longitude,
        accuracy_m=a.accuracy_m, drill=a.drill, repeats=a.repeats, raised_at=a.raised_at,
        received_at=a.received_at, last_at=a.last_at, claimed_by=a.claimed_by_name,
        acknowledged_at=a.acknowledged_at, closed_at=a.closed_at, version=a.version, data=a.data)
