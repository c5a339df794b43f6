"""The retention loop: runs every few seconds, deletes what its policy no longer keeps, and never held footage.

One run, at the time the injected clock gives:

1. **Retention.** Segments whose end is older than their site's policy and that no active legal hold
   touches are deleted from storage, then from the index, in batches; each camera's contiguous range
   becomes a pending destruction row in the same transaction, sealed about once an hour per camera into an
   audited destruction record (:mod:`kgys.recording.destruction`).
2. **Disk pressure.** When free space falls below the low mark, the oldest unheld segments beyond their
   site's *minimum* policy are deleted, in order, until the target is reached. When nothing may be
   deleted, a critical alarm is raised (an alert in the queue, :mod:`kgys.alerts`, and an
   error in the log) and nothing held or below the minimum is touched.
3. **Forecast.** Every few minutes the days the disk can hold at the measured rate are compared with the
   policy, and a warning is raised well before the policy would be breached.

The SQL narrows the candidates (held footage by :func:`kgys.recording.holdrule.held_clause`);
:func:`kgys.recording.retention.may_delete` decides each one, by the same rule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from kgys.accounts.actor import Actor, system_actor
from kgys.alerts.models import Alert
from kgys.db import transaction, utcnow
from kgys.recording import alerts, destruction, holdrule, retention
from kgys.recording import holds as hold_service
from kgys.recording.alerts import INSTALLATION, AlertKind, Severity, raise_alert, resolve_alerts
from kgys.recording.models import RetentionPolicy, Segment
from kgys.recording.retention import HoldInfo, Policy, Pressure, Rule, SegmentInfo
from kgys.recording.storage import Storage, StorageError, open_storage
from kgys.runtime import Runtime
from kgys.said import Said

log = logging.getLogger(__name__)

ALERT_BLOCKED = AlertKind.STORAGE_FULL_HELD
ALERT_PRESSURE = AlertKind.STORAGE_PRESSURE
ALERT_FORECAST = AlertKind.STORAGE_FORECAST
ALERT_DELETE_FAILED = AlertKind.STORAGE_DELETE_FAILED
KEEP_ALL = Policy.days(36_500)  # what a site with an unusable policy row gets: nothing is deleted


@dataclass(frozen=True)
class JobConfig:
    """How the job runs; the defaults suit a recorder writing 10-second segments.

    Disk pressure starts when fewer than ``low_free_bytes`` are free and deletes towards
    ``target_free_bytes``; :meth:`for_disk` derives both from the disk's size.
    """

    default_policy: Policy
    low_free_bytes: int
    target_free_bytes: int
    batch_size: int = 500
    max_batches: int = 40
    forecast_every: timedelta = timedelta(minutes=5)
    forecast_window: timedelta = timedelta(hours=1)
    forecast_margin: float = 1.2
    seal_after: timedelta = timedelta(hours=1)  # a camera's deletions are sealed into records this often

    @classmethod
    def for_disk(cls, total_bytes: int, default_policy: Policy, *, low_fraction: float = 0.05,
                 target_fraction: float = 0.10, **kw: Any) -> JobConfig:
        """Marks at fractions of a disk of ``total_bytes`` (5 % free starts pressure, 10 % ends it)."""
        low, target = retention.free_marks(total_bytes, low_fraction=low_fraction, target_fraction=target_fraction)
        return cls(default_policy=default_policy, low_free_bytes=low, target_free_bytes=target, **kw)


@dataclass
class RunReport:
    """What one run did."""

    now: datetime
    deleted: int = 0
    deleted_bytes: int = 0
    destructions: int = 0  # destruction records sealed in this run
    failed: int = 0
    pressure: Pressure | None = None
    pressure_deleted: int = 0
    short_bytes: int = 0
    blocked: bool = False
    forecast: retention.Forecast | None = None
    rules: dict[str, int] = field(default_factory=dict)


def info(seg: Segment) -> SegmentInfo:
    """The plain form of an indexed segment."""
    return SegmentInfo(id=seg.id, camera_id=seg.camera_id, start=seg.start, end=seg.end, bytes=seg.bytes)


def site_policies(session: Session) -> dict[int, Policy]:
    """Each site's own policy row, by site id; sites without one use the default.

    A row that makes no sense (zero days, a minimum above the period) keeps that site's footage: an error is
    logged and nothing of the site is deleted until the row is fixed.
    """
    policies: dict[int, Policy] = {}
    for row in session.scalars(select(RetentionPolicy)):
        try:
            policies[row.site_id] = Policy.days(row.days, row.min_days)
        except ValueError as exc:
            log.error("retention policy of site %s is invalid (%s days, minimum %s): %s; keeping its footage",
                      row.site_id, row.days, row.min_days, exc)
            policies[row.site_id] = KEEP_ALL
    return policies


def _older_than(now: datetime, overrides: Mapping[int, Policy], default: Policy,
                period: Callable[[Policy], timedelta]) -> ColumnElement[bool]:
    """Segments whose end is at least ``period(policy)`` before ``now``, each by its own site's policy.

    Also bounds the start by the shortest period (a segment starts before it ends): the scans that take the
    oldest segments first walk the start index and stop there, instead of reading every later row when
    fewer than a batch have expired.
    """
    by_period: dict[timedelta, list[int]] = {}
    for site_id, policy in overrides.items():
        by_period.setdefault(period(policy), []).append(site_id)
    parts = [and_(Segment.site_id.in_(sorted(ids)), Segment.end <= now - p) for p, ids in by_period.items()]
    default_part = Segment.end <= now - period(default)
    if overrides:
        default_part = and_(default_part, Segment.site_id.not_in(sorted(overrides)))
    parts.append(default_part)
    shortest = min([period(default), *by_period])
    return and_(Segment.start <= now - shortest, or_(*parts))


def _held(now: datetime) -> ColumnElement[bool]:
    """Some active hold touches the segment (same camera, ranges meet)."""
    return holdrule.held_clause(now, camera_id=Segment.camera_id, start=Segment.start, end=Segment.end)


class RetentionJob:
    """Deletes expired footage continuously and handles disk pressure; ``clock`` can be injected for tests."""

    def __init__(self, *, sessions: sessionmaker[Session], storage: Storage, config: JobConfig,
                 clock: Callable[[], datetime] = utcnow, actor: Actor | None = None) -> None:
        self.sessions = sessions
        self.storage = storage
        self.config = config
        self.clock = clock
        self.actor = actor or system_actor("retention")
        self._last_forecast: datetime | None = None

    def run_once(self) -> RunReport:
        """One pass: retention, then disk pressure, then (now and then) the forecast."""
        now = self.clock()
        report = RunReport(now=now)
        for _ in range(self.config.max_batches):
            with transaction(self.sessions) as session:
                fetched = self._retention_batch(session, now, report)
            if fetched < self.config.batch_size:
                break
        report.pressure = retention.pressure_for(self.storage.free_space(), low_bytes=self.config.low_free_bytes,
                                                 target_bytes=self.config.target_free_bytes)
        with transaction(self.sessions) as session:
            if report.pressure is not None:
                self._relieve(session, now, report.pressure, report)
            else:
                _resolve(session, now, ALERT_BLOCKED, ALERT_PRESSURE)
            report.destructions += destruction.seal(session, now=now, seal_after=self.config.seal_after,
                                                    actor=self.actor)
            if self._last_forecast is None or now - self._last_forecast >= self.config.forecast_every:
                report.forecast = self._forecast(session, now)
                self._last_forecast = now
        if report.deleted:
            log.info("retention deleted %s segment(s), %s bytes", report.deleted, report.deleted_bytes)
        if report.destructions:
            log.info("sealed %s destruction record(s)", report.destructions)
        return report

    def run_forever(self, stop: threading.Event, interval_s: float = 10.0) -> None:
        """Run every ``interval_s`` seconds until ``stop`` is set; an error in one run does not end the loop."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("retention run failed; retrying in %s s", interval_s)
            stop.wait(interval_s)

    # --- retention ----------------------------------------------------------------------------------------

    def _retention_batch(self, session: Session, now: datetime, report: RunReport) -> int:
        policies = site_policies(session)
        default = self.config.default_policy
        rows = session.scalars(
            select(Segment).where(_older_than(now, policies, default, lambda p: p.keep), ~_held(now))
            .order_by(Segment.start, Segment.id).limit(self.config.batch_size)
        ).all()
        if not rows:
            return 0
        holds = hold_service.active_for_cameras(session=session, camera_ids={s.camera_id for s in rows}, now=now)
        chosen: list[tuple[Segment, Rule]] = []
        for seg in rows:
            decision = retention.may_delete(info(seg), policies.get(seg.site_id, default),
                                            [h for h in holds if h.camera_id == seg.camera_id], now)
            if decision.delete:
                chosen.append((seg, decision.rule))
        self._destroy(session, now, chosen, holds, policies, report)
        return len(rows)

    # --- disk pressure ------------------------------------------------------------------------------------

    def _relieve(self, session: Session, now: datetime, pressure: Pressure, report: RunReport) -> None:
        policies = site_policies(session)
        default = self.config.default_policy
        need = pressure.bytes_to_free
        start_count, start_bytes = report.deleted, report.deleted_bytes
        for _ in range(self.config.max_batches):
            freed = report.deleted_bytes - start_bytes
            rows = session.scalars(
                select(Segment).where(_older_than(now, policies, default, lambda p: p.minimum), ~_held(now))
                .order_by(Segment.start, Segment.end, Segment.camera_id, Segment.id).limit(self.config.batch_size)
            ).all()
            if not rows:
                break
            by_id = {s.id: s for s in rows}
            holds = hold_service.active_for_cameras(session=session, camera_ids={s.camera_id for s in rows},
                                                    now=now)
            cam_policy = {s.camera_id: policies.get(s.site_id, default) for s in rows}
            sel = retention.select_for_pressure([info(s) for s in rows], cam_policy, holds, now,
                                                Pressure(need - freed))
            chosen = [(by_id[s.id], rule) for s, rule in sel.segments]
            before = report.deleted
            self._destroy(session, now, chosen, holds, policies, report)
            if report.deleted == before or report.deleted_bytes - start_bytes >= need \
                    or len(rows) < self.config.batch_size:
                break
        report.pressure_deleted = report.deleted - start_count
        freed = report.deleted_bytes - start_bytes
        report.short_bytes = max(0, need - freed)
        report.blocked = report.short_bytes > 0
        free = self.storage.free_space()
        if report.blocked:
            held_n, held_bytes = session.execute(
                select(func.count(Segment.id), func.coalesce(func.sum(Segment.bytes), 0)).where(_held(now))
            ).one()
            said = alerts.DISK_BLOCKED if report.pressure_deleted == 0 else alerts.DISK_BLOCKED_SOME
            params = {"free": free, "need": need, "freed": freed, "deleted": report.pressure_deleted,
                      "held_n": held_n, "held_bytes": held_bytes}
            log.error("STORAGE ALARM: %s", said.english(**params))
            _raise(session, now, ALERT_BLOCKED, "critical", said, params)
        else:
            _resolve(session, now, ALERT_BLOCKED)
        if report.pressure_deleted:
            params = {"n": report.pressure_deleted, "freed": freed, "free": free}
            log.warning("%s", alerts.DISK_PRESSURE.english(**params))
            _raise(session, now, ALERT_PRESSURE, "warning", alerts.DISK_PRESSURE, params)

    # --- shared -------------------------------------------------------------------------------------------

    def _destroy(self, session: Session, now: datetime, chosen: Sequence[tuple[Segment, Rule]],
                 holds: Sequence[HoldInfo], policies: Mapping[int, Policy], report: RunReport) -> None:
        """Delete files, then their index rows, and write one destruction record per contiguous range."""
        if not chosen:
            return
        # a hold placed since the candidates were read still wins: look again just before deleting
        fresh = hold_service.active_for_cameras(session=session, camera_ids={s.camera_id for s, _ in chosen},
                                                now=now)
        holds = [*holds, *fresh]
        chosen = [(s, r) for s, r in chosen if not holdrule.held(fresh, s.camera_id, s.start, s.end, now)]
        done: list[tuple[Segment, Rule]] = []
        failed: list[Segment] = []
        for seg, rule in chosen:
            try:
                self.storage.delete(seg.path)
            except (StorageError, OSError) as exc:
                failed.append(seg)
                log.error("could not delete segment %s (%s): %s", seg.id, seg.path, exc)
                continue
            done.append((seg, rule))
        if failed:
            report.failed += len(failed)
            _raise(session, now, ALERT_DELETE_FAILED, "critical", alerts.DELETE_FAILED,
                   {"n": len(failed), "path": failed[0].path})
        if not done:
            return
        session.execute(delete(Segment).where(Segment.id.in_([s.id for s, _ in done])))
        counts = destruction.note(session, now=now, done=done, holds=holds, failed=failed, policies=policies,
                                  default=self.config.default_policy)
        for rule, n in counts.items():
            report.rules[rule.value] = report.rules.get(rule.value, 0) + n
        report.deleted += len(done)
        report.deleted_bytes += sum(s.bytes for s, _ in done)

    def _forecast(self, session: Session, now: datetime) -> retention.Forecast | None:
        since = now - self.config.forecast_window
        recent = session.execute(
            select(func.coalesce(func.sum(Segment.bytes), 0), func.min(Segment.start))
            .where(Segment.end > since, Segment.end <= now)
        ).one()
        recent_bytes, first = int(recent[0]), recent[1]
        if not recent_bytes or first is None:
            return None
        span = max((now - max(first, since)).total_seconds(), 1.0)
        stored = int(session.scalar(select(func.coalesce(func.sum(Segment.bytes), 0))) or 0)
        sites = session.scalars(select(Segment.site_id).where(Segment.end > since).distinct()).all()
        policies = site_policies(session)
        chosen = [policies.get(s, self.config.default_policy) for s in sites] or [self.config.default_policy]
        policy = Policy(keep=max(p.keep for p in chosen), minimum=max(p.minimum for p in chosen))
        fc = retention.forecast_alarm(free_bytes=self.storage.free_space(), measured_bytes_per_s=recent_bytes / span,
                                      policy=policy, stored_bytes=stored, reserve_bytes=self.config.low_free_bytes,
                                      margin=self.config.forecast_margin)
        if fc.level is retention.AlarmLevel.OK:
            _resolve(session, now, ALERT_FORECAST)
        else:
            log.warning("storage forecast %s: %s", fc.level.value, fc.message)
            _raise(session, now, ALERT_FORECAST, fc.level.value, fc.said, fc.params)
        return fc


def _raise(session: Session, now: datetime, kind: AlertKind, severity: str, said: Said,
           params: dict[str, Any]) -> Alert:
    """Open an alarm of ``kind`` saying ``said``, or refresh the one already open."""
    return raise_alert(session, kind=kind, severity=Severity(severity), subject=INSTALLATION, said=said,
                       params=params, dedup=True, now=now)


def _resolve(session: Session, now: datetime, *kinds: AlertKind) -> None:
    """Close open storage alarms of these kinds."""
    resolve_alerts(session, kinds=kinds, subject=INSTALLATION, at=now)


def build(rt: Runtime, *, role: str = "central", storage: Storage | None = None,
          clock: Callable[[], datetime] = utcnow, **config: Any) -> RetentionJob:
    """A job on the runtime's database and segment store; ``role`` (edge or central) picks the default policy."""
    store = storage or open_storage(rt.settings)
    cfg = JobConfig.for_disk(store.capacity(), retention.default_policy(role), **config)
    return RetentionJob(sessions=rt.sessions, storage=store, config=cfg, clock=clock)


def run(rt: Runtime, stop: threading.Event | None = None, *, role: str = "central", interval_s: float = 10.0) -> None:
    """Run retention every ``interval_s`` seconds until ``stop`` is set (the body of ``kgys worker jobs``)."""
    job = build(rt, role=role)
    log.info("retention running every %s s, default policy %s days", interval_s, job.config.default_policy.keep.days)
    job.run_forever(stop or threading.Event(), interval_s)
