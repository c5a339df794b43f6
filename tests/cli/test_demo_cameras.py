"""``kgys demo`` with cameras: simulated streams recorded from two demo sites by a recorder and a jobs worker
running as child processes, which stop by process id with the demo; ``--no-cameras`` records nothing."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys import demo
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.cli.demo import gstreamer_missing
from kgys.demo import sim as demo_sim
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests.waiting import wait_for

URLS = [f"rtsp://127.0.0.1:5554/cam{n}" for n in range(1, 5)]


def _seed(rt: Runtime, session: Session) -> None:
    demo.seed(session, box=rt.box, settings=rt.settings, sites=30)


def test_sim_cameras_go_to_two_compliant_sites_and_move_with_the_port(rt: Runtime, session: Session) -> None:
    _seed(rt, session)
    assert session.scalars(select(Camera).where(Camera.stream_url != "")).all() == []  # seeded: nothing to record
    attached = demo_sim.attach_sim_cameras(session, URLS)
    assert [a.url for a in attached] == URLS
    assert len({a.site_code for a in attached}) == 2
    sites = session.scalars(select(Site).where(Site.code.in_({a.site_code for a in attached}))).all()
    assert {s.compliance_status for s in sites} == {"compliant"}
    recorded = session.scalars(select(Camera).where(Camera.stream_url != "")).all()
    assert sorted(c.stream_url for c in recorded) == URLS
    assert {(c.codec, c.width, c.height) for c in recorded} == {("h264", 1920, 1080)}
    assert session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "camera.update")).all()
    assert set(session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "camera.update"))) == {
        demo_sim.SIM_REASON}

    moved = [u.replace("5554", "6554") for u in URLS]
    again = demo_sim.attach_sim_cameras(session, moved)
    assert [(a.site_code, a.camera) for a in again] == [(a.site_code, a.camera) for a in attached]
    assert sorted(session.scalars(select(Camera.stream_url).where(Camera.stream_url != ""))) == moved
    assert demo_sim.detach_sim_cameras(session) == 4
    assert session.scalars(select(Camera).where(Camera.stream_url != "")).all() == []


def test_gstreamer_check_names_what_is_missing() -> None:
    assert gstreamer_missing("/usr/bin/python3") is None
    assert "cannot run" in (gstreamer_missing("/nonexistent/python3") or "")
    assert "gi" in (gstreamer_missing(sys.executable) or "")  # the venv has no GStreamer bindings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    out = data.with_suffix(f".{len(extra)}.out")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGYS_")}
    proc = subprocess.Popen([sys.executable, "-m", "kgys", "demo", "--data-dir", str(data), "--sites", "10",
                             "--port", str(_free_port()), *extra], stdout=out.open("w"), stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    return proc, out


def _wait(what: str, probe: Callable[[], object], timeout: float, out: Path) -> None:
    wait_for(what, probe, timeout, every=0.5, detail=lambda: out.read_text()[-3000:])


def _pids(out: Path) -> dict[str, int]:
    pids = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "pid" and parts[0] in ("sim", "recorder", "jobs"):
            pids[parts[0]] = int(parts[2])
    return pids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _processes_using(data: Path) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(data) in cmd:
                found.append(f"{entry}: {cmd}")
    return found


def test_demo_records_simulated_cameras_and_stops_its_children(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    proc, out = _start(data)
    try:
        _wait("the workers", lambda: len(_pids(out)) == 3, 240, out)
        pids = _pids(out)

        def recorded() -> bool:
            with sqlite3.connect(data / "kgys.db") as db:
                rows = db.execute("SELECT COUNT(DISTINCT camera_id) FROM recording_segments").fetchone()
                return bool(rows and rows[0] == 4)

        _wait("segments of all four cameras", recorded, 90, out)

        def measured() -> list[tuple[str, int, int]]:
            # The recorder measures one camera a poll, after indexing: the fourth may come a few polls later.
            with sqlite3.connect(data / "kgys.db") as db:
                return db.execute("SELECT state, width, height FROM camera_health WHERE width IS NOT NULL").fetchall()

        _wait("the streams of all four cameras measured", lambda: len(measured()) == 4, 60, out)
        assert measured() == [("online", 1920, 1080)] * 4
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = out.read_text()
    for name in ("recorder", "jobs", "sim"):
        assert f"stopped {name} (pid {pids[name]})" in text
        assert not _alive(pids[name])
    assert text.index("stopped recorder") < text.index("stopped sim")
    assert "demo stopped" in text
    # no ffmpeg or worker outlives the demo
    _wait("every process of the demo to end", lambda: _processes_using(data) == [], 30, out)
    recorder_log = (data / "logs" / "recorder.log").read_text()
    assert "recorder stopped" in recorder_log

    # Without cameras: no simulated streams, no recorder, and nothing left pointing at the old streams.
    proc, out = _start(data, "--no-cameras")
    try:
        _wait("the jobs worker", lambda: "jobs" in _pids(out), 120, out)
        assert "sim" not in _pids(out) and "recorder" not in _pids(out)
        with sqlite3.connect(data / "kgys.db") as db:
            assert db.execute("SELECT COUNT(*) FROM cameras WHERE stream_url != ''").fetchone() == (0,)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "stopped jobs" in out.read_text()


def test_a_signal_at_any_moment_after_seeding_stops_the_demo_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    seeded = subprocess.run([sys.executable, "-m", "kgys", "demo", "--data-dir", str(data), "--sites", "10",
                             "--no-serve"], capture_output=True, text=True, timeout=240)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    # The earliest moment (the logins just printed, the workers not yet started) and a later one.
    for sig, marker in ((signal.SIGINT, "open http"), (signal.SIGTERM, "jobs pid"), (signal.SIGINT, "jobs pid")):
        proc, out = _start(data, "--no-cameras")
        try:
            _wait(marker, lambda m=marker, o=out: m in o.read_text(), 120, out)  # type: ignore[misc]
            proc.send_signal(sig)
            assert proc.wait(60) == 0, out.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        text = out.read_text()
        assert "demo stopped" in text
        assert "Traceback" not in text
        for name, pid in _pids(out).items():
            assert not _alive(pid), name
