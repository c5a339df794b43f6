"""The server, the recorder and the jobs worker as real processes on one data folder holding footage.

Started at the same moment on an empty database, the server migrates and the workers wait for it; then all
three are stopped — cleanly (SIGTERM) or by ``kill -9`` — and started again, several times, on SQLite and on
PostgreSQL. After every start each camera records again, the server answers, every process stays up, and
no process ever met a locked database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from kgys import migrate
from kgys.config import Settings
from kgys.db import make_engine
from kgys.recording.models import Segment
from kgys.runtime import make_runtime
from kgys.sim.cameras import SimCameras
from tests.recording.conftest import ENGINES, _create_db, _drop_db, free_port, seed_cameras
from tests.waiting import wait_for

CAMERAS = 3
START = 90.0  # a generous bound for three Python processes to start on a loaded 2-core machine


@dataclass
class Processes:
    """``kgys serve``, ``kgys worker recorder`` and ``kgys worker jobs`` on one data folder."""

    env: dict[str, str]
    port: int
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]]

    def start(self) -> None:
        """Start all three at the same moment."""
        commands = {"serve": ["serve", "--port", str(self.port)], "recorder": ["worker", "recorder"],
                    "jobs": ["worker", "jobs"]}
        for name, args in commands.items():
            log = (self.logs / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "kgys", *args], stdout=log,
                                                stderr=subprocess.STDOUT, env=self.env)
            log.close()

    def stop(self, how: str) -> None:
        """Stop every process with SIGTERM (each must exit 0) or SIGKILL."""
        sig = signal.SIGTERM if how == "term" else signal.SIGKILL
        for proc in self.procs.values():
            proc.send_signal(sig)
        for name, proc in self.procs.items():
            code = proc.wait(60)
            if how == "term":  # uvicorn ends by re-raising the SIGTERM it handled, once shut down
                clean = code == 0 or (name == "serve" and code == -signal.SIGTERM
                                      and "Application shutdown complete" in self.log(name))
                assert clean, (name, code, self.log(name)[-3000:])

    def alive(self) -> bool:
        """Every process is still running."""
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        assert not dead, (dead, {n: self.log(n)[-3000:] for n in dead})
        return True

    def healthy(self) -> bool:
        """The server answers its health check."""
        self.alive()
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self, name: str) -> str:
        """What a process wrote so far."""
        return (self.logs / f"{name}.log").read_text(errors="replace")


def recorded_since(settings: Settings, camera_ids: list[int], since: datetime, count: int) -> bool:
    """Every camera has ``count`` segments that started after ``since``."""
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            for cam in camera_ids:
                n = conn.scalar(select(func.count()).select_from(Segment)
                                .where(Segment.camera_id == cam, Segment.start >= since)) or 0
                if n < count:
                    return False
        return True
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ENGINES)
def test_start_together_then_stop_and_start_again(kind: str, sim_h264: SimCameras, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url, pg_name = _create_db(kind, data_dir)
    env = dict(os.environ)
    env.update({"KGYS_MODE": "dev", "KGYS_DATA_DIR": str(data_dir), "KGYS_DATABASE__URL": url,
                "KGYS_DATABASE__SCHEMA_WAIT_SECONDS": str(START), "KGYS_SECURITY__COOKIE_SECURE": "false",
                "KGYS_RECORDING__SEGMENT_SECONDS": "2", "KGYS_RECORDING__POLL_SECONDS": "0.2",
                "KGYS_RECORDING__REFRESH_SECONDS": "1", "KGYS_RECORDING__BACKOFF_INITIAL_SECONDS": "0.5",
                "KGYS_RECORDING__BACKOFF_MAX_SECONDS": "1"})
    settings = Settings(mode="dev", data_dir=data_dir, database={"url": url})
    procs = Processes(env=env, port=free_port(), logs=tmp_path, procs={})
    try:
        # An empty database: the server migrates while the workers wait for the schema.
        engine = make_engine(settings)
        assert migrate.current(engine) is None
        engine.dispose()
        procs.start()
        wait_for("the server on a migrated database", procs.healthy, START)
        wait_for("the workers past the schema wait",
                 lambda: "recorder running" in procs.log("recorder") and "jobs running" in procs.log("jobs"), START)

        rt = make_runtime(settings)
        try:
            cams = seed_cameras(rt, [sim_h264.url(n) for n in range(1, CAMERAS + 1)])
        finally:
            rt.close()
        since = datetime.now(UTC)
        wait_for("every camera recording", lambda: recorded_since(settings, cams, since, 2), START)

        for how in ("kill", "term", "kill"):
            procs.stop(how)
            since = datetime.now(UTC)
            procs.start()
            wait_for(f"the server after {how}", procs.healthy, START)
            wait_for(f"every camera recording again after {how}",
                     partial(lambda t: procs.alive() and recorded_since(settings, cams, t, 2), since), START)
        procs.stop("term")
        for name in procs.procs:
            assert "database is locked" not in procs.log(name), procs.log(name)[-3000:]
            assert "could not start" not in procs.log(name), procs.log(name)[-3000:]
    finally:
        for proc in procs.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        if pg_name:
            _drop_db(pg_name)
