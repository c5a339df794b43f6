"""The ``kgys worker jobs`` loop: the periodic work no request waits for.

- **Retention** runs in a thread of its own (:func:`kgys.recording.retention_job.run`) every
  ``recording.retention_interval_seconds``, so that nothing outlives its policy by more than a minute
  even while the other tasks are busy.
- **Recorder watch**: the recorder rewrites a heartbeat file (:mod:`kgys.recording.heartbeat`) every
  few seconds. When it has not reported for ``recorder_timeout`` seconds, every recording camera without
  an open gap gets one with cause ``recorder_down`` from where its footage ends, a per-camera
  ``recording_stopped`` alert, and one critical ``recorder_down`` alert; the recorder's first new segment
  of each camera closes its gap, and a fresh heartbeat resolves the alert.
- **Purge** of expired browser sessions and expired or revoked API tokens.
- **Audit checkpoints**: the chain head is signed at start, every ``audit.checkpoint_every_minutes`` and
  when the worker stops.
- **Audit witnesses**: signed checkpoints waiting in the outbox are handed to the configured witnesses
  every ``audit.witness_poll_seconds`` (:mod:`kgys.audit.witness`).
- **Measured compliance**: sites whose cameras were measured since the last pass get their stored
  compliance status recomputed (a camera that sends less than declared makes its site non-compliant).

Each task runs in its own transaction; an error in one is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor, system_actor
from kgys.audit import mechanism
from kgys.audit import scheduled as audit_scheduled
from kgys.audit import witness as witness_mod
from kgys.audit.signing import Signer
from kgys.cameras import service as camera_service
from kgys.cameras.models import Camera
from kgys.db import transaction, utcnow
from kgys.recording import gaps as rules
from kgys.recording import heartbeat, index, retention_job
from kgys.recording.models import CameraHealth, Gap, RecordingAlert
from kgys.runtime import Runtime
from kgys.sites.models import Site

log = logging.getLogger(__name__)

ALERT_RECORDER_DOWN = "recorder_down"


@dataclass(frozen=True)
class JobsConfig:
    """How often each task runs, in seconds."""

    recorder_timeout: float = 30.0
    recorder_check_every: float = 5.0
    purge_every: float = 300.0
    checkpoint_every: float = 600.0
    witness_every: float = 5.0
    compliance_every: float = 60.0


@dataclass
class TickReport:
    """What one pass of the loop did; ``None`` marks a task that was not due."""

    recorder_down: bool | None = None
    gaps_opened: list[int] = field(default_factory=list)
    purged: int | None = None
    checkpoint: int | None = None
    witnessed: int | None = None
    compliance_refreshed: int | None = None


class Jobs:
    """The periodic tasks other than retention; ``clock`` and ``mono`` can be injected for tests."""

    def __init__(self, *, sessions: sessionmaker[Session], signer: Signer, heartbeat_path: Path,
                 config: JobsConfig, clock: Callable[[], datetime] = utcnow,
                 mono: Callable[[], float] = time.monotonic, actor: Actor | None = None,
                 witnesses: Mapping[str, witness_mod.Witness] | None = None,
                 retry: witness_mod.RetryPolicy | None = None) -> None:
        self.sessions = sessions
        self.witnesses = dict(witnesses or {})
        self.retry = retry or witness_mod.RetryPolicy()
        self.signer = signer
        self.heartbeat_path = heartbeat_path
        self.config = config
        self.clock = clock
        self.mono = mono
        self.actor = actor or system_actor("jobs")
        self.started = mono()
        self._last: dict[str, float] = {}
        self._measured_since: datetime | None = None

    def _due(self, task: str, every: float) -> bool:
        now = self.mono()
        last = self._last.get(task)
        if last is not None and now - last < every:
            return False
        self._last[task] = now
        return True

    def tick(self) -> TickReport:
        """Run every task that is due; errors are logged per task."""
        report = TickReport()
        cfg = self.config
        tasks: list[tuple[str, float, Callable[[TickReport], None]]] = [
            ("recorder", cfg.recorder_check_every, self._recorder_task),
            ("purge", cfg.purge_every, self._purge_task),
            ("checkpoint", cfg.checkpoint_every, self._checkpoint_task),
            ("witness", cfg.witness_every, self._witness_task),
            ("compliance", cfg.compliance_every, self._compliance_task),
        ]
        for name, every, task in tasks:
            if not self._due(name, every):
                continue
            try:
                task(report)
            except Exception:
                log.exception("job %s failed; it runs again in %s s", name, every)
        return report

    # --- recorder watch -------------------------------------------------------------------------------

    def _recorder_task(self, report: TickReport) -> None:
        if self.mono() - self.started < self.config.recorder_timeout:
            return  # a recorder started with us has not had the time to report yet
        now = self.clock()
        with transaction(self.sessions) as session:
            down, opened = check_recorder(session, beat=heartbeat.read(self.heartbeat_path), now=now,
                                          timeout_s=self.config.recorder_timeout)
        report.recorder_down, report.gaps_opened = down, opened

    # --- housekeeping ---------------------------------------------------------------------------------

    def _purge_task(self, report: TickReport) -> None:
        with transaction(self.sessions) as session:
            report.purged = account_service.purge_expired(session=session, now=self.clock())
        if report.purged:
            log.info("purged %s expired session(s) and token(s)", report.purged)

    def _checkpoint_task(self, report: TickReport) -> None:
        report.checkpoint = audit_scheduled.sign_checkpoint(self.sessions, self.signer)

    def _witness_task(self, report: TickReport) -> None:
        if not self.witnesses:
            return
        done = witness_mod.deliver_pending(sessions=self.sessions, witnesses=self.witnesses, retry=self.retry)
        report.witnessed = done.delivered

    def _compliance_task(self, report: TickReport) -> None:
        now = self.clock()
        since = self._measured_since
        with transaction(self.sessions) as session:
            report.compliance_refreshed = refresh_measured_compliance(session, since=since, actor=self.actor)
        self._measured_since = now


def _recording_cameras(session: Session) -> list[tuple[int, int]]:
    """(camera id, site id) of every camera the recorder should be recording."""
    rows = session.execute(select(Camera.id, Camera.site_id).where(Camera.enabled.is_(True), Camera.stream_url != "")
                           .order_by(Camera.id)).all()
    return [(int(cam_id), int(site_id)) for cam_id, site_id in rows]


def check_recorder(session: Session, *, beat: heartbeat.Beat | None, now: datetime,
                   timeout_s: float) -> tuple[bool, list[int]]:
    """Whether the recorder is down, and the cameras a ``recorder_down`` gap was opened for now."""
    cameras = _recording_cameras(session)
    open_alert = session.scalar(select(RecordingAlert).where(
        RecordingAlert.kind == ALERT_RECORDER_DOWN, RecordingAlert.resolved_at.is_(None),
        RecordingAlert.camera_id.is_(None)).limit(1))
    if not heartbeat.stale(beat, now, timeout_s) or not cameras:
        if open_alert is not None:
            open_alert.resolved_at = now
            session.flush()
            log.info("the recorder reports again; recorder_down resolved")
        return False, []
    if beat is None:
        detail = "the recorder worker is not running (it has never reported)"
    elif beat.stopped:
        detail = f"the recorder worker stopped at {beat.at.isoformat()} and has not been restarted"
    else:
        detail = f"the recorder worker (pid {beat.pid}) has not reported since {beat.at.isoformat()}"
    opened: list[int] = []
    gapped = set(session.scalars(select(Gap.camera_id).where(Gap.end.is_(None))))  # one query, not one a camera
    for cam_id, site_id in cameras:
        if cam_id in gapped:
            continue
        last = index.last_segment(session, cam_id)
        start = last.end if last is not None else (beat.at if beat is not None else now)
        index.open_gap(session, camera_id=cam_id, site_id=site_id, start=min(start, now),
                       cause=rules.RECORDER_DOWN, detail=detail)
        index.set_state(session, camera_id=cam_id, state="offline", reason="recorder down")
        opened.append(cam_id)
    if open_alert is None:
        session.add(RecordingAlert(kind=ALERT_RECORDER_DOWN, severity="critical", created_at=now,
                                   message=f"{detail}; {len(cameras)} camera(s) are not being recorded"))
        session.flush()
        log.error("RECORDER DOWN: %s; %s camera(s) are not being recorded", detail, len(cameras))
    return True, opened


def refresh_measured_compliance(session: Session, *, since: datetime | None, actor: Actor) -> int:
    """Recompute the stored compliance status of sites with cameras measured after ``since`` (all if None)."""
    stmt = select(Site).join(Camera, Camera.site_id == Site.id).join(CameraHealth, CameraHealth.camera_id == Camera.id)
    stmt = stmt.where(CameraHealth.measured_at.is_not(None))
    if since is not None:
        stmt = stmt.where(CameraHealth.measured_at > since)
    sites = session.scalars(stmt.distinct()).all()
    changed = 0
    with mechanism.acting_as(session, actor, reason="measured stream properties"):
        for site in sites:
            before = site.compliance_status
            if camera_service.refresh_compliance(session=session, site=site) != before:
                changed += 1
                log.info("site %s compliance %s → %s after measuring its streams", site.code, before,
                         site.compliance_status)
    return changed


def build(rt: Runtime, *, recorder_timeout: float = 30.0, **config: float) -> Jobs:
    """Jobs on the runtime's database, signer and data directory."""
    audit = rt.settings.audit
    cfg = JobsConfig(recorder_timeout=recorder_timeout, checkpoint_every=audit.checkpoint_every_minutes * 60,
                     witness_every=audit.witness_poll_seconds, **config)
    return Jobs(sessions=rt.sessions, signer=rt.signer, heartbeat_path=heartbeat.path_for(rt.settings.data_dir),
                config=cfg, witnesses=witness_mod.build(audit.witnesses),
                retry=witness_mod.RetryPolicy.from_settings(audit))


def run(rt: Runtime, stop: threading.Event | None = None, *, recorder_timeout: float = 30.0,
        tick_seconds: float = 1.0) -> None:
    """Run retention (in a thread) and the other jobs until ``stop`` is set or SIGTERM/SIGINT arrives."""
    stop = stop or threading.Event()

    def _signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping the jobs worker", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
    cfg = rt.settings.recording
    retention = threading.Thread(target=retention_job.run, args=(rt, stop),
                                 kwargs={"role": cfg.role, "interval_s": cfg.retention_interval_seconds},
                                 name="retention", daemon=True)
    retention.start()
    jobs = build(rt, recorder_timeout=recorder_timeout)
    log.info("jobs running (%s node): retention every %s s, recorder watch after %s s of silence",
             cfg.role, cfg.retention_interval_seconds, recorder_timeout)
    try:
        while not stop.is_set():
            jobs.tick()
            stop.wait(tick_seconds)
    finally:
        stop.set()
        retention.join(timeout=30)
        try:  # leave no unsigned tail behind a clean stop
            audit_scheduled.sign_checkpoint(rt.sessions, rt.signer)
        except Exception:
            log.exception("audit checkpoint at shutdown failed")
        log.info("jobs stopped")
