"""The recorder: one ffmpeg per enabled camera, restarted with back-off, with health and gaps.

Each poll, in this order: notice ffmpegs that ended or stalled; let the maintainer index every finished
spool file (so a dead ffmpeg's last file is indexed before anything else happens); open a gap for each
camera that stopped, starting where its last indexed segment ends, with the cause and the reason; start
the ffmpegs that are due. The maintainer closes a camera's gap with the first segment after it.

On start, files left in the spool by a previous recorder are indexed first; then each camera that has
recorded before gets a gap with cause ``recorder_down`` from its last segment (unless one is open), which
its first new segment closes. ffmpeg children are bound to the recorder's life (they get SIGTERM when it
dies), so a killed recorder leaves no orphan writing into the spool; they run in their own session, so a
Ctrl-C meant for the recorder reaches them once, from the recorder, and they close their last file cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO

import pyprctl
from sqlalchemy.orm import Session, sessionmaker

from kgys.config import RecordingSettings
from kgys.db import reading, retrying, transaction, utcnow
from kgys.media.segments import run_name
from kgys.recording import gaps as rules
from kgys.recording import index
from kgys.recording.ffmpeg import RecordSpec, record_args, record_env, redact, redact_text
from kgys.recording.maintainer import Indexed, Maintainer
from kgys.recording.stall import NOTHING, Progress, StallLimits, check_stall
from kgys.secretbox import CredentialBox

log = logging.getLogger(__name__)

STOP_GRACE = 3.0  # seconds a stalled ffmpeg gets to close its file before it is killed
DISK_PATIENCE = 3.0  # an ffmpeg blocked on the disk gets this many times the stall time before it is restarted


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the recorder dies."""
    try:
        pyprctl.set_pdeathsig(signal.SIGTERM)
    except OSError:
        pass


@dataclass
class CameraRun:
    """The supervision state of one camera."""

    conf: index.CameraConf
    proc: subprocess.Popen[bytes] | None = None
    run: str = ""
    log_file: IO[bytes] | None = None
    started_at: datetime | None = None
    progress: Progress = Progress(at=0.0)  # of the ffmpeg's file, for the stall check
    failures: int = 0
    next_start: float = 0.0
    kill_at: float | None = None  # a stalled ffmpeg was asked to stop; kill it if still running then


def child_exited() -> bool:
    """Whether any child of this process has ended and waits to be reaped: one system call instead of one
    per camera (the child is left for :meth:`subprocess.Popen.poll` to reap)."""
    try:
        return os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # no children at all
        return False


def disk_wait(pid: int) -> str | None:
    """If process ``pid`` is blocked in the kernel waiting on the disk (state ``D``), the kernel function it
    waits in (empty when the kernel does not say); None when it is not, or cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split(None, 1)[0]
    except (OSError, IndexError):
        return None
    if state != b"D":
        return None
    try:
        with open(f"/proc/{pid}/wchan", "rb") as fh:
            wchan = fh.read().decode("ascii", "replace").strip()
    except OSError:
        wchan = ""
    return "" if wchan == "0" else wchan


def _tail(path: Path, size: int = 4096) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Recorder:
    """Supervises the ffmpegs of every enabled camera."""

    def __init__(self, *, cfg: RecordingSettings, sessions: sessionmaker[Session], box: CredentialBox,
                 maintainer: Maintainer, spool_dir: Path, mono: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.box = box
        self.maintainer = maintainer
        self.spool_dir = spool_dir
        self.mono = mono
        self.runs: dict[int, CameraRun] = {}
        self._refreshed = -1e9
        self._start_budget = max(1.0, cfg.starts_per_second * cfg.poll_seconds)
        self._budget_at = mono()
        self._polled_all = -1e9
        self._stall = StallLimits(stall_seconds=cfg.stall_seconds, connect_seconds=2 * cfg.rtsp_timeout_seconds,
                                  disk_patience=DISK_PATIENCE)  # still connecting: ffmpeg's own time-out comes first

    # ---- life cycle -------------------------------------------------------------------------------
    def start(self) -> list[Indexed]:
        """Index what a previous recorder left, mark the time it was down, and start recording."""
        leftovers = self.maintainer.scan({})
        self.refresh(force=True)
        last_ends = {cam_id: self.maintainer.last_end(cam_id) for cam_id in self.runs}  # read before writing

        def mark_down(session: Session) -> None:
            for cam_id, run in self.runs.items():
                last_end = last_ends[cam_id]
                if last_end is not None and index.open_gap_of(session, cam_id) is None:
                    index.open_gap(session, camera_id=cam_id, site_id=run.conf.site_id, start=last_end,
                                   cause=rules.GapCause.RECORDER_DOWN, detail=rules.NOT_RUNNING.english())
                    index.set_state(session, camera_id=cam_id, state="offline",
                                    reason=rules.RECORDER_WAS_DOWN.english())

        retrying(self.sessions, mark_down)
        return leftovers + self.poll()

    def refresh(self, force: bool = False) -> None:
        """Re-read the camera list: start new cameras, stop removed or disabled ones, restart changed URLs."""
        now = self.mono()
        if not force and now - self._refreshed < self.cfg.refresh_seconds:
            return
        self._refreshed = now
        with reading(self.sessions) as session:
            confs = {c.id: c for c in index.recording_cameras(session, self.box)}
        for cam_id in list(self.runs):
            if cam_id not in confs:
                self._stop(self.runs.pop(cam_id))
                self._mark_stopped(cam_id, rules.REMOVED.english())
        for cam_id, conf in confs.items():
            run = self.runs.get(cam_id)
            if run is None:
                self.runs[cam_id] = CameraRun(conf=conf, next_start=now)
            elif run.conf != conf:
                log.info("camera %s changed; restarting its recording", cam_id)
                self._stop(run)
                run.conf, run.failures, run.next_start = conf, 0, now

    def poll(self) -> list[Indexed]:
        """One round of supervision; returns the segments indexed in it."""
        self.refresh()
        now = self.mono()
        ended: list[tuple[CameraRun, str, str]] = []
        exited = child_exited() or now - self._polled_all >= 1.0  # and once a second whatever it says
        if exited:
            self._polled_all = now
        for run in self.runs.values():
            if run.proc is None:
                continue
            code = run.proc.poll() if exited else None
            if code is not None:
                ended.append((run, *self._finish(run, code, stalled=run.kill_at is not None)))
                run.proc, run.kill_at, run.progress = None, None, Progress(at=now)
            elif run.kill_at is not None:
                if now >= run.kill_at:
                    run.proc.kill()
            elif self._stalled(run, now):
                log.warning("camera %s: no data for %.0f s%s; restarting ffmpeg", run.conf.id, now - run.progress.at,
                            "" if run.progress.disk_wait is None else " (blocked on the disk)")
                run.proc.send_signal(signal.SIGTERM)
                run.kill_at = now + STOP_GRACE
        active = {cam_id: r.run for cam_id, r in self.runs.items() if r.proc is not None}
        indexed = self.maintainer.scan(active)
        for item in indexed:
            cam_run = self.runs.get(item.camera_id)
            if cam_run is not None and item.run == cam_run.run:
                cam_run.failures = 0
                cam_run.progress = replace(cam_run.progress, at=now)
        if ended:
            with transaction(self.sessions) as session:
                for run, cause, reason in ended:
                    start = self.maintainer.last_end(run.conf.id) or run.started_at or utcnow()
                    index.open_gap(session, camera_id=run.conf.id, site_id=run.conf.site_id, start=start,
                                   cause=cause, detail=reason)
                    index.set_state(session, camera_id=run.conf.id, state="offline", reason=reason, restarted=True)
                    run.failures += 1
                    delay = rules.backoff(run.failures, self.cfg.backoff_initial_seconds, self.cfg.backoff_max_seconds)
                    run.next_start = now + delay
                    log.warning("camera %s stopped recording (%s): %s; retry in %.1f s",
                                run.conf.id, cause, reason, delay)
        self._start_due(now)
        self.maintainer.measure_next()
        return indexed

    def _start_due(self, now: float) -> None:
        """Start the ffmpegs that are due, longest waiting first, at most ``starts_per_second`` a second: a
        recorder start or a network coming back does not hit the cameras (often one NVR) all at once."""
        rate = self.cfg.starts_per_second
        self._start_budget = min(rate, self._start_budget + (now - self._budget_at) * rate)
        self._budget_at = now
        due = sorted((r for r in self.runs.values() if r.proc is None and now >= r.next_start),
                     key=lambda r: r.next_start)
        for run in due:
            if self._start_budget < 1:
                break
            self._start_budget -= 1
            self._spawn(run)

    def shutdown(self, timeout: float = 5.0) -> list[Indexed]:
        """Stop every ffmpeg cleanly and index the files they finished."""
        for run in self.runs.values():
            if run.proc is not None and run.proc.poll() is None:
                run.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for run in self.runs.values():
            self._stop(run, deadline=deadline, signalled=True)
            run.proc = None
        try:
            return self.maintainer.scan({})
        finally:
            self.maintainer.close()

    # ---- one camera -------------------------------------------------------------------------------
    def _spawn(self, run: CameraRun) -> None:
        cam_dir = self.spool_dir / str(run.conf.id)
        cam_dir.mkdir(parents=True, exist_ok=True)
        run.started_at = utcnow()
        run.run = run_name(run.started_at)
        for old in cam_dir.glob("*.log"):
            old.unlink(missing_ok=True)
        spec = RecordSpec(url=run.conf.url, spool_dir=cam_dir, run=run.run,
                          segment_seconds=self.cfg.segment_seconds, timeout_seconds=self.cfg.rtsp_timeout_seconds,
                          ffmpeg_path=self.cfg.ffmpeg_path)
        run.log_file = (cam_dir / f"{run.run}.log").open("wb")
        try:
            run.proc = subprocess.Popen(record_args(spec), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=run.log_file, env=record_env(dict(os.environ)),
                                        start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            run.log_file.write(f"cannot start ffmpeg: {exc}\n".encode())
            run.log_file.close()
            run.proc = None
            run.failures += 1
            run.next_start = self.mono() + rules.backoff(run.failures, self.cfg.backoff_initial_seconds,
                                                         self.cfg.backoff_max_seconds)
            log.error("camera %s: cannot start %s: %s", run.conf.id, self.cfg.ffmpeg_path, exc)
            return
        run.progress = Progress(at=self.mono())
        log.info("camera %s: recording %s (run %s, pid %s)", run.conf.id, redact(run.conf.url), run.run, run.proc.pid)

    def _stalled(self, run: CameraRun, now: float) -> bool:
        """Whether the camera's ffmpeg is stalled (see :func:`check_stall`); keeps what the check learnt."""
        proc = run.proc
        decision = check_stall(now=now, progress=run.progress, limits=self._stall, newest=lambda: self._newest(run),
                               disk_wait=lambda: disk_wait(proc.pid) if proc is not None else None)
        run.progress = decision.progress
        return decision.stalled

    def _newest(self, run: CameraRun) -> tuple[str, int]:
        """The newest segment file of the camera's current run and its size; the file the kernel named as
        created last if it did (one ``stat``), else from a listing of the camera's spool directory."""
        cam_dir = self.spool_dir / str(run.conf.id)
        told = self.maintainer.watch.newest(run.conf.id)
        if told is not None and told.startswith(run.run):
            try:
                return told, (cam_dir / told).stat().st_size
            except OSError:
                pass
        newest = NOTHING
        try:
            for entry in os.scandir(cam_dir):
                if entry.name.startswith(run.run) and entry.name.endswith(".ts") and entry.name >= newest[0]:
                    newest = (entry.name, entry.stat().st_size)
        except OSError:
            pass
        return newest

    def _stop(self, run: CameraRun, deadline: float | None = None, signalled: bool = False) -> None:
        proc = run.proc
        if proc is not None and proc.poll() is None:
            if not signalled:
                proc.send_signal(signal.SIGTERM)  # once: a second signal makes ffmpeg drop its buffers
            try:
                proc.wait(timeout=max(0.1, (deadline or time.monotonic() + 3.0) - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if run.log_file is not None:
            run.log_file.close()
            run.log_file = None

    def _finish(self, run: CameraRun, code: int | None, *, stalled: bool) -> tuple[str, str]:
        if run.log_file is not None:
            run.log_file.close()
            run.log_file = None
        tail = redact_text(_tail(self.spool_dir / str(run.conf.id) / f"{run.run}.log"))  # ffmpeg names the URL
        return rules.classify_exit(code, tail, stalled=stalled, disk_wait=run.progress.disk_wait)

    def _mark_stopped(self, camera_id: int, reason: str) -> None:
        with transaction(self.sessions) as session:
            last_end = self.maintainer.last_end(camera_id)
            if last_end is not None:
                gap = index.open_gap_of(session, camera_id)
                if gap is None:
                    cam = self.maintainer.site_of(session, camera_id)
                    if cam is not None:
                        index.open_gap(session, camera_id=camera_id, site_id=cam, start=last_end,
                                       cause=rules.GapCause.SCHEDULED, detail=reason, alert=False)
            index.set_state(session, camera_id=camera_id, state="offline", reason=reason)
