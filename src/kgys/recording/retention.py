"""Retention decisions, as pure functions: which segment may be deleted now, which to delete when the disk
is nearly full, and how many days of footage the free space will hold.

Rules, in the order they are applied:

1. A segment that an active legal hold touches (same camera, time ranges overlap, even by one instant)
   is never deleted — not by retention, not under disk pressure.
2. Without disk pressure a segment is deleted once its end is older than the policy's ``keep``.
3. Under disk pressure a segment may also go once its end is older than the policy's ``minimum`` (the
   legal floor, never above ``keep``); :func:`select_for_pressure` takes such segments oldest first, only
   as many as free the bytes asked for, and says so when nothing may be deleted.

Everything here takes and returns plain dataclasses; the job in :mod:`kgys.recording.retention_job`
does the I/O. Rule 1 is :mod:`kgys.recording.holdrule`, the one definition of held footage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kgys.recording import holdrule
from kgys.said import Said, _

EDGE_KEEP_DAYS = 30
CENTRAL_KEEP_DAYS = 10
SECONDS_PER_DAY = 86_400


class Rule(StrEnum):
    """Why a segment was (or was not) deleted; the rule is written into each destruction record."""

    HELD = "held"
    NOT_EXPIRED = "not_expired"
    BELOW_MINIMUM = "below_minimum"
    RETENTION = "retention"
    DISK_PRESSURE = "disk_pressure"


@dataclass(frozen=True)
class Policy:
    """How long a site keeps footage: ``keep`` normally, never less than ``minimum`` even when the disk is full."""

    keep: timedelta
    minimum: timedelta

    def __post_init__(self) -> None:
        if self.keep <= timedelta(0) or self.minimum <= timedelta(0):
            raise ValueError("retention periods must be positive")
        if self.minimum > self.keep:
            raise ValueError("the minimum retention cannot exceed the retention period")

    @classmethod
    def days(cls, keep: float, minimum: float | None = None) -> Policy:
        """A policy given in days; ``minimum`` defaults to ``keep``."""
        return cls(keep=timedelta(days=keep), minimum=timedelta(days=keep if minimum is None else minimum))


def default_policy(role: str) -> Policy:
    """The default for a recording node: a school edge keeps 30 days, the centre about 10."""
    if role == "edge":
        return Policy.days(EDGE_KEEP_DAYS)
    if role == "central":
        return Policy.days(CENTRAL_KEEP_DAYS)
    raise ValueError(f"unknown recording role '{role}' (edge or central)")


@dataclass(frozen=True)
class SegmentInfo:
    """What retention needs to know of one stored segment."""

    id: int
    camera_id: int
    start: datetime
    end: datetime
    bytes: int = 0


@dataclass(frozen=True)
class HoldInfo:
    """A legal hold on a camera and a time range, until a date or until released."""

    id: int
    camera_id: int
    start: datetime
    end: datetime
    until: datetime | None = None
    released_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the hold protects footage at ``now`` (not released, not lapsed)."""
        return holdrule.in_force(self, now)

    def touches(self, segment: SegmentInfo) -> bool:
        """Whether the hold covers any instant of the segment (partial overlap and shared edges included)."""
        return holdrule.touches(self, segment.camera_id, segment.start, segment.end)


@dataclass(frozen=True)
class Pressure:
    """The disk is nearly full: ``bytes_to_free`` should be released to get back to the target."""

    bytes_to_free: int


@dataclass(frozen=True)
class Decision:
    """May a segment be deleted now, and the rule that says so (or the hold that forbids it)."""

    delete: bool
    rule: Rule
    hold_id: int | None = None


def expires_at(segment: SegmentInfo, policy: Policy) -> datetime:
    """When the segment's retention period ends."""
    return segment.end + policy.keep


def may_delete(
    segment: SegmentInfo,
    policy: Policy,
    holds: Iterable[HoldInfo],
    now: datetime,
    pressure: Pressure | None = None,
) -> Decision:
    """Whether ``segment`` may be deleted at ``now`` under ``policy``, the given holds and disk pressure."""
    for hold in holds:
        if hold.active(now) and hold.touches(segment):
            return Decision(False, Rule.HELD, hold.id)
    age = now - segment.end
    if age >= policy.keep:
        return Decision(True, Rule.RETENTION)
    if pressure is None:
        return Decision(False, Rule.NOT_EXPIRED)
    if age >= policy.minimum:
        return Decision(True, Rule.DISK_PRESSURE)
    return Decision(False, Rule.BELOW_MINIMUM)


def oldest_first(segment: SegmentInfo) -> tuple[datetime, datetime, int, int]:
    """Sort key: the oldest footage first, ties broken by camera and id so the order is total."""
    return (segment.start, segment.end, segment.camera_id, segment.id)


@dataclass(frozen=True)
class PressureSelection:
    """What to delete under disk pressure, in order, and how far that falls short of the goal."""

    segments: tuple[tuple[SegmentInfo, Rule], ...]
    freed_bytes: int
    needed_bytes: int
    held_count: int
    below_minimum_count: int

    @property
    def short_bytes(self) -> int:
        """Bytes still missing after deleting everything selected."""
        return max(0, self.needed_bytes - self.freed_bytes)

    @property
    def nothing_deletable(self) -> bool:
        """True when space is needed and not one segment may be deleted: the case that must alarm loudly."""
        return self.needed_bytes > 0 and not self.segments


def select_for_pressure(
    segments: Iterable[SegmentInfo],
    policies: Mapping[int, Policy],
    holds: Sequence[HoldInfo],
    now: datetime,
    pressure: Pressure,
) -> PressureSelection:
    """The oldest unheld segments beyond their minimum policy, in order, until ``pressure.bytes_to_free`` is freed.

    ``policies`` maps a camera id to the policy of its site; a camera missing from it keeps everything.
    """
    by_camera: dict[int, list[HoldInfo]] = {}
    for hold in holds:
        by_camera.setdefault(hold.camera_id, []).append(hold)
    chosen: list[tuple[SegmentInfo, Rule]] = []
    freed = held = below = 0
    for seg in sorted(segments, key=oldest_first):
        if freed >= pressure.bytes_to_free:
            break
        policy = policies.get(seg.camera_id)
        if policy is None:
            below += 1
            continue
        decision = may_delete(seg, policy, by_camera.get(seg.camera_id, ()), now, pressure)
        if decision.delete:
            chosen.append((seg, decision.rule))
            freed += seg.bytes
        elif decision.rule is Rule.HELD:
            held += 1
        else:
            below += 1
    return PressureSelection(tuple(chosen), freed, pressure.bytes_to_free, held, below)


def pressure_for(free_bytes: int, *, low_bytes: int, target_bytes: int) -> Pressure | None:
    """Disk pressure when fewer than ``low_bytes`` are free; the aim is to get back to ``target_bytes`` free."""
    if free_bytes >= low_bytes:
        return None
    return Pressure(bytes_to_free=max(1, max(target_bytes, low_bytes) - free_bytes))


def free_marks(total_bytes: int, *, low_fraction: float = 0.05, target_fraction: float = 0.10) -> tuple[int, int]:
    """The low and target free-space marks, in bytes, for a disk of ``total_bytes``."""
    return math.ceil(total_bytes * low_fraction), math.ceil(total_bytes * target_fraction)


def days_achievable(free_bytes: int, measured_bytes_per_s: float, *, stored_bytes: int = 0,
                    reserve_bytes: int = 0) -> float:
    """Days of footage the disk can hold at the measured rate: what is stored plus what is free, less a reserve."""
    if measured_bytes_per_s <= 0:
        return math.inf
    usable = max(0, stored_bytes + free_bytes - reserve_bytes)
    return usable / (measured_bytes_per_s * SECONDS_PER_DAY)


class AlarmLevel(StrEnum):
    """How urgent a storage forecast is."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


FORECAST_CRITICAL = _("storage holds %(days)s days, below the minimum of %(minimum)s days")
FORECAST_WARNING = _("storage holds %(days)s days, close to or below the policy of %(keep)s days")
FORECAST_OK = _("storage holds %(days)s days for a policy of %(keep)s days")


@dataclass(frozen=True)
class Forecast:
    """The storage outlook: days achievable, days until the disk is full, and the alarm it calls for."""

    level: AlarmLevel
    days_achievable: float
    days_until_full: float
    said: Said
    params: dict[str, str]

    @property
    def message(self) -> str:
        """The forecast in English (the log's words)."""
        return self.said.english(**self.params)


def forecast_alarm(
    *,
    free_bytes: int,
    measured_bytes_per_s: float,
    policy: Policy,
    stored_bytes: int = 0,
    reserve_bytes: int = 0,
    margin: float = 1.2,
) -> Forecast:
    """Alarm well before the policy is breached: warn when the disk holds less than ``margin`` × the policy,
    and raise a critical alarm when it holds less than the minimum."""
    days = days_achievable(free_bytes, measured_bytes_per_s, stored_bytes=stored_bytes, reserve_bytes=reserve_bytes)
    until_full = days_achievable(free_bytes, measured_bytes_per_s, reserve_bytes=reserve_bytes)
    keep_days = policy.keep.total_seconds() / SECONDS_PER_DAY
    min_days = policy.minimum.total_seconds() / SECONDS_PER_DAY
    params = {"days": f"{days:.1f}", "minimum": f"{min_days:g}", "keep": f"{keep_days:g}"}
    if days < min_days:
        level, said = AlarmLevel.CRITICAL, FORECAST_CRITICAL
    elif days < keep_days * margin:
        level, said = AlarmLevel.WARNING, FORECAST_WARNING
    else:
        level, said = AlarmLevel.OK, FORECAST_OK
    return Forecast(level=level, days_achievable=days, days_until_full=until_full, said=said, params=params)
