"""The ``kgys worker recorder`` loop: the recorder and its maintainer, polled until told to stop."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from kgys.db import utcnow
from kgys.recording import heartbeat, storage
from kgys.recording.maintainer import Limits, Maintainer
from kgys.recording.recorder import Recorder
from kgys.runtime import Runtime, stop_on_signals

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0  # how often the recorder reports that it is alive


def spool_dir(rt: Runtime) -> Path:
    """Where ffmpeg writes segments."""
    return storage.spool_dir(rt.settings)


def storage_for(rt: Runtime) -> storage.Storage:
    """The segment store the runtime's settings name (see :func:`kgys.recording.storage.open_storage`)."""
    return storage.open_storage(rt.settings)


def build(rt: Runtime) -> Recorder:
    """A recorder wired to the runtime's database, storage and spool."""
    cfg = rt.settings.recording
    spool = spool_dir(rt)
    spool.mkdir(parents=True, exist_ok=True)
    spool.chmod(0o700)  # ffmpeg's logs there name the camera URLs with their passwords
    maintainer = Maintainer(
        sessions=rt.sessions, storage=storage_for(rt), spool_dir=spool,
        quarantine_dir=rt.settings.data_dir / "quarantine",
        limits=Limits(max_seconds=max(60.0, cfg.segment_seconds * 3 + 10)), fsync=cfg.fsync)
    return Recorder(cfg=cfg, sessions=rt.sessions, box=rt.box, maintainer=maintainer, spool_dir=spool)


def run(rt: Runtime, stop: threading.Event | None = None) -> None:
    """Record until ``stop`` is set or the process gets SIGTERM/SIGINT; then stop ffmpeg and index the rest."""
    stop = stop_on_signals("recorder", stop)
    recorder = build(rt)
    delay = 1.0
    while not stop.is_set():
        try:
            recorder.start()
            break
        except Exception:  # a busy or unreachable database at start: wait and try again, never give up
            log.exception("the recorder could not start; trying again in %.0f s", delay)
            stop.wait(delay)
            delay = min(delay * 2, 30.0)
    log.info("recorder running: %d camera(s), spool %s", len(recorder.runs), recorder.spool_dir)
    beat_path, last_beat = heartbeat.path_for(rt.settings.data_dir), -1e9
    try:
        while not stop.is_set():
            try:
                recorder.poll()
            except Exception:
                log.exception("recorder poll failed; continuing")
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                heartbeat.write(beat_path, heartbeat.Beat(pid=os.getpid(), at=utcnow(), cameras=len(recorder.runs)))
                last_beat = time.monotonic()
            stop.wait(rt.settings.recording.poll_seconds)
    finally:
        recorder.shutdown()
        heartbeat.write(beat_path, heartbeat.Beat(pid=os.getpid(), at=utcnow(), cameras=0, stopped=True))
        log.info("recorder stopped")
