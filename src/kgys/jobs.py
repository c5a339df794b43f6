"""The ``kgys worker jobs`` process: the periodic work no request waits for, from every domain.

Each domain declares its tasks in its ``scheduled.py``; this module puts them in the one
:class:`~kgys.scheduler.Scheduler` and ticks it about once a second:

- ``accounts.purge`` — expired browser sessions and expired or revoked API tokens
  (:mod:`kgys.accounts.scheduled`);
- ``audit.checkpoint`` and ``audit.witness`` — the chain head signed at start, every
  ``audit.checkpoint_every_minutes`` and when the worker stops; signed checkpoints handed to the configured
  witnesses every ``audit.witness_poll_seconds`` (:mod:`kgys.audit.scheduled`);
- ``cameras.measured_compliance`` — sites whose cameras were measured get their compliance status
  recomputed (:mod:`kgys.cameras.scheduled`);
- ``recording.recorder_watch`` — a silent recorder gets ``recorder_down`` gaps and an alert
  (:mod:`kgys.recording.scheduled`);
- ``events.purge`` — events older than ``alerts.events_keep_days`` (:mod:`kgys.events.scheduled`);
- ``alerts.console_purge`` — consoles' sessions closed longer ago than that (:mod:`kgys.alerts.scheduled`);
- ``devices.offline_watch`` — a device silent for ``devices.offline_factor`` heartbeat intervals gets a
  ``device_offline`` alert (:mod:`kgys.devices.scheduled`);
- ``dispatch.ack_escalation`` — an assignment not acknowledged within ``dispatch.ack_within_seconds`` raises a
  P2 alert (:mod:`kgys.dispatch.scheduled`);
- ``exports.housekeeping`` — footage exports whose worker went silent are queued again, expired ones lose their
  zip (:mod:`kgys.exports.scheduled`);
- ``evidence.expiry`` — footage requests with no judicial decision after ``evidence.decision_wait_days`` are
  marked expired; ``evidence.releases`` — releases whose worker went silent are queued again, expired or
  downloaded packages deleted (:mod:`kgys.evidence.scheduled`).

Retention runs in a thread of its own (:func:`kgys.recording.retention_job.run`) every
``recording.retention_interval_seconds``, so that nothing outlives its policy by more than a minute even
while the other tasks are busy. Footage exports are built one after another in a thread of their own too
(:func:`kgys.exports.worker.run`), and so are evidence releases (:func:`kgys.evidence.release_worker.run`). The
worker reports that it is alive in ``DATA_DIR/run/jobs.heartbeat``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from datetime import datetime

from kgys.accounts import scheduled as accounts_scheduled
from kgys.alerts import scheduled as alerts_scheduled
from kgys.audit import scheduled as audit_scheduled
from kgys.audit import witness as witness_mod
from kgys.cameras import scheduled as cameras_scheduled
from kgys.db import utcnow
from kgys.devices import scheduled as devices_scheduled
from kgys.dispatch import scheduled as dispatch_scheduled
from kgys.events import scheduled as events_scheduled
from kgys.evidence import release_worker
from kgys.evidence import scheduled as evidence_scheduled
from kgys.exports import scheduled as exports_scheduled
from kgys.exports import worker as exports_worker
from kgys.exports.flows import building
from kgys.recording import footage, heartbeat, retention_job
from kgys.recording import scheduled as recording_scheduled
from kgys.runtime import Runtime, stop_on_signals
from kgys.scheduler import Scheduler, Task

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "jobs.heartbeat"


def tasks(rt: Runtime, *, started: datetime, recorder_timeout: float = 30.0,
          witnesses: Mapping[str, witness_mod.Witness] | None = None) -> list[Task]:
    """Every domain's periodic tasks, on the runtime's database, signer and data directory."""
    return [
        *recording_scheduled.tasks(data_dir=rt.settings.data_dir, recorder_timeout=recorder_timeout,
                                   started=started),
        *accounts_scheduled.tasks(),
        *audit_scheduled.tasks(sessions=rt.sessions, signer=rt.signer, audit=rt.settings.audit,
                               witnesses=witnesses),
        *cameras_scheduled.tasks(sessions=rt.sessions),
        *events_scheduled.tasks(keep_days=rt.settings.alerts.events_keep_days),
        *alerts_scheduled.tasks(keep_days=rt.settings.alerts.events_keep_days),
        *devices_scheduled.tasks(factor=rt.settings.devices.offline_factor,
                                 every=rt.settings.devices.offline_check_seconds),
        *dispatch_scheduled.tasks(settings=rt.settings.dispatch),
        *exports_scheduled.tasks(settings=rt.settings.exports, data_dir=rt.settings.data_dir),
        *evidence_scheduled.tasks(settings=rt.settings.evidence, data_dir=rt.settings.data_dir),
    ]


def build(rt: Runtime, *, started: datetime, recorder_timeout: float = 30.0,
          witnesses: Mapping[str, witness_mod.Witness] | None = None) -> Scheduler:
    """The jobs worker's scheduler; each tick rewrites ``DATA_DIR/run/jobs.heartbeat``."""
    path = rt.settings.data_dir / "run" / HEARTBEAT_FILE

    def beat(now: datetime) -> None:
        heartbeat.write(path, heartbeat.Beat(pid=os.getpid(), at=now, cameras=0))

    return Scheduler(sessions=rt.sessions, tasks=tasks(rt, started=started, recorder_timeout=recorder_timeout,
                                                       witnesses=witnesses), on_beat=beat)


def run(rt: Runtime, stop: threading.Event | None = None, *, recorder_timeout: float = 30.0,
        tick_seconds: float = 1.0) -> None:
    """Run retention (in a thread) and the scheduled tasks until ``stop`` is set or SIGTERM/SIGINT arrives."""
    stop = stop_on_signals("jobs worker", stop)
    cfg = rt.settings.recording
    retention = threading.Thread(target=retention_job.run, args=(rt, stop),
                                 kwargs={"role": cfg.role, "interval_s": cfg.retention_interval_seconds},
                                 name="retention", daemon=True)
    retention.start()
    exports = threading.Thread(target=exports_worker.run, args=(rt.sessions, rt.settings,
                                                                footage.open_storage(rt.settings), stop),
                               name="exports", daemon=True)
    exports.start()
    releases = threading.Thread(target=release_worker.run, args=(rt.sessions, rt.settings,
                                                                 footage.open_storage(rt.settings), rt.signer,
                                                                 building.cut_release_clip, stop),
                                name="releases", daemon=True)
    releases.start()
    scheduler = build(rt, started=utcnow(), recorder_timeout=recorder_timeout)
    log.info("jobs running (%s node): retention every %s s, recorder watch after %s s of silence; tasks: %s",
             cfg.role, cfg.retention_interval_seconds, recorder_timeout, ", ".join(t.name for t in scheduler.tasks))
    try:
        while not stop.is_set():
            scheduler.tick(utcnow())
            stop.wait(tick_seconds)
    finally:
        stop.set()
        retention.join(timeout=30)
        exports.join(timeout=30)
        releases.join(timeout=30)
        scheduler.stop(utcnow())  # leave no unsigned tail behind a clean stop
        heartbeat.write(rt.settings.data_dir / "run" / HEARTBEAT_FILE,
                        heartbeat.Beat(pid=os.getpid(), at=utcnow(), cameras=0, stopped=True))
        log.info("jobs stopped")
