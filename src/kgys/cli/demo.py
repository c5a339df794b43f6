"""``kgys demo``: seed a data directory with demo data, print the logins and serve the web UI.

While it serves, the demo runs as child processes ``kgys sim cameras`` (four simulated cameras on a free
port, recorded from two demo sites), ``kgys worker recorder`` and ``kgys worker jobs``. They run in
their own sessions, get SIGTERM from the demo by process id when it stops (Ctrl-C or SIGTERM), and die
with it if it is killed. Without GStreamer's RTSP server or ffmpeg the demo says so and runs without
cameras; ``--no-cameras`` skips them. The devices part — a Mosquitto of its own when no broker answers, the
demo's panic buttons and door controller, the units' trackers, ``kgys worker intake`` and the simulated devices
and trackers — is in :mod:`kgys.cli.demo_devices`; ``--no-devices`` skips it. The demo's units and their field
logins are registered with the demo data (:mod:`kgys.demo.units`), their logins printed with the others.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated

import pyotp
import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kgys import demo as demo_data
from kgys.cli import demo_devices
from kgys.cli.children import Child, free_port, spawn, stop_children, wait_port
from kgys.cli.common import console, err_console, exit_on_error, settings, web_app
from kgys.config import Settings
from kgys.demo import sim as demo_sim
from kgys.demo import units as demo_units
from kgys.errors import KgysError
from kgys.runtime import Runtime, make_runtime
from kgys.sim.cameras import DEBIAN_PACKAGES, SYSTEM_PYTHON, ensure_clip


def _reset(s: Settings) -> None:
    """Remove the embedded database and keys of a demo data directory."""
    if not s.is_sqlite:
        err_console.print("[red]error:[/] --reset only works on the embedded SQLite database; "
                          "drop the PostgreSQL database yourself")
        raise typer.Exit(2)
    db = s.data_dir / "kgys.db"
    for path in (db, db.with_name("kgys.db-wal"), db.with_name("kgys.db-shm")):
        path.unlink(missing_ok=True)
    keys = s.data_dir / "keys"
    if keys.is_dir():
        shutil.rmtree(keys)
    console.print(f"reset [bold]{s.data_dir}[/]")


def _seed(rt: Runtime, sites: int, seed: int) -> demo_data.DemoLogins:
    with rt.sessions.begin() as session:
        if demo_data.exists(session):
            console.print("demo data already present; nothing added")
            logins = demo_data.seed(session, box=rt.box, settings=rt.settings)
        else:
            with Progress(TextColumn("seeding demo data"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=False) as bar:
                task = bar.add_task("sites", total=sites)
                logins = demo_data.seed(session, box=rt.box, settings=rt.settings, sites=sites, seed=seed,
                                        progress=lambda done, _total: bar.update(task, completed=done))
    with rt.sessions.begin() as session:  # the units and their field logins, also in a folder seeded before them
        return demo_units.with_logins(logins, demo_units.ensure(session, rt.settings))


SIM_CAMERAS = 4


def gstreamer_missing(python: str) -> str | None:
    """Why simulated cameras cannot run (GStreamer's RTSP server for ``python`` is missing), or None."""
    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import Gst, GstRtspServer")
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} cannot run: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "the gi bindings cannot be imported"
    return None


def _start_cameras(rt: Runtime, children: list[Child]) -> list[demo_sim.SimCamera]:
    """Start the simulated cameras and point demo cameras at them; [] (and a message) when that cannot be."""
    s = rt.settings
    why = gstreamer_missing(SYSTEM_PYTHON)
    if why is not None:
        err_console.print(f"[yellow]GStreamer's RTSP server is not installed ({why}); the demo runs without "
                          f"cameras.[/] Install: apt-get install {' '.join(DEBIAN_PACKAGES)}")
        return []
    try:
        console.print("preparing the simulated camera clip (first run only)…")
        ensure_clip(data_dir=s.data_dir, codec="h264", seconds=s.recording.sim_clip_seconds,
                    ffmpeg=s.recording.ffmpeg_path)
    except KgysError as exc:
        err_console.print(f"[yellow]{exc.message}; the demo runs without cameras.[/]")
        return []
    port = free_port()
    sim = spawn(s, "sim", "sim", "cameras", str(SIM_CAMERAS), "--port", str(port))
    children.append(sim)
    if not wait_port(port, sim, 60.0):
        err_console.print(f"[yellow]the simulated cameras did not start (see {s.data_dir / 'logs' / 'sim.log'}); "
                          "the demo runs without cameras.[/]")
        return []
    with rt.sessions.begin() as session:
        return demo_sim.attach_sim_cameras(session, [f"rtsp://127.0.0.1:{port}/cam{n}"
                                                      for n in range(1, SIM_CAMERAS + 1)])


def start_workers(rt: Runtime, cameras: bool) -> tuple[list[Child], list[demo_sim.SimCamera]]:
    """Start the simulated cameras (unless ``cameras`` is off), the recorder and the jobs worker."""
    children: list[Child] = []
    try:
        sims = _start_cameras(rt, children) if cameras else []
        if not sims:
            with rt.sessions.begin() as session:
                demo_sim.detach_sim_cameras(session)
            stop_children([c for c in children if c.name == "sim"])
            children = [c for c in children if c.name != "sim"]
        else:
            children.append(spawn(rt.settings, "recorder", "worker", "recorder"))
        children.append(spawn(rt.settings, "jobs", "worker", "jobs"))
    except BaseException:
        stop_children(children)
        raise
    return children, sims


class _Stopper:
    """The demo's SIGINT/SIGTERM handler once the data is seeded: the first signal asks the web server to shut
    down (or, before it runs, keeps it from starting), a second one forces it; the children are stopped after.
    No exception is raised from the handler, so a signal at any moment ends the demo the same orderly way."""

    def __init__(self) -> None:
        self.requested = False
        self.server: uvicorn.Server | None = None

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        if self.server is not None:
            self.server.force_exit = self.requested
            self.server.should_exit = True
        self.requested = True


class _Server(uvicorn.Server):
    """uvicorn's server leaving the signals to :class:`_Stopper` (uvicorn's own handling re-raises them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _print_workers(children: list[Child], sims: list[demo_sim.SimCamera], s: Settings) -> None:
    if sims:
        table = Table(title="Simulated cameras, recorded 24/7")
        for header in ("site", "camera", "stream"):
            table.add_column(header, overflow="fold")
        for cam in sims:
            table.add_row(f"{cam.site_code} {cam.site_name}", cam.camera, cam.url)
        (console if console.is_terminal else Console(width=200)).print(table)
    for child in children:
        console.print(f"{child.name} pid {child.proc.pid} (log {s.data_dir / 'logs' / (child.name + '.log')})")


def _print_logins(logins: demo_data.DemoLogins, url: str | None) -> None:
    table = Table(title="Demo logins (demo data only — never use these anywhere else)")
    for header in ("username", "role", "scope", "password", "TOTP secret", "code now"):
        table.add_column(header, overflow="fold")
    for x in logins.logins:
        code = pyotp.TOTP(x.totp_secret).now() if x.totp_secret else ""
        table.add_row(x.username, x.role, x.scope, x.password, x.totp_secret or "-", code)
    # Written to a file or pipe, keep each login on one line so it can be copied whole.
    (console if console.is_terminal else Console(width=200)).print(table)
    if any(x.totp_secret for x in logins.logins):
        console.print("Roles with a TOTP secret need a code from an authenticator app (add the secret as a "
                      "time-based key); the code shown is valid for about 30 seconds.")
    console.print(f"{logins.sites} sites in the demo database")
    if url:
        console.print(f"open [bold]{url}[/] — Ctrl-C stops the server")


def demo(
    port: Annotated[int, typer.Option(help="Listen port")] = 8155,
    host: Annotated[str, typer.Option(help="Listen address")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Demo data directory (created if missing)")] = Path(
        "./kgys-demo"),
    sites: Annotated[int, typer.Option(min=10, max=100_000, help="How many sites to create")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data")] = 155,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the demo database and keys first")] = False,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the web UI after seeding")] = True,
    cameras: Annotated[bool, typer.Option("--cameras/--no-cameras",
                                          help="Run simulated cameras and record them while serving")] = True,
    devices: Annotated[bool, typer.Option("--devices/--no-devices",
                                          help="Run a broker, the intake and simulated devices while serving")] = True,
) -> None:
    """Start kgys on embedded defaults with demo data: a fictional province, schools, users of every role.

    Runs in demo mode with cookies allowed over plain HTTP (cookie_secure off), because the demo serves
    http://127.0.0.1 without TLS; never expose a demo to a network.
    """
    s = settings(mode="demo", data_dir=data_dir, security={"cookie_secure": False})
    if reset:
        _reset(s)
    rt = make_runtime(s, upgrade=True)
    try:
        try:
            with exit_on_error():
                logins = _seed(rt, sites, seed)
        except KeyboardInterrupt as exc:
            err_console.print("interrupted; the demo data was not written")
            raise typer.Exit(130) from exc
        if serve:
            _serve(rt, logins, host, port, cameras, devices)
        else:
            _print_logins(logins, None)
    finally:
        rt.close()


def _serve(rt: Runtime, logins: demo_data.DemoLogins, host: str, port: int, cameras: bool, devices: bool) -> None:
    stopper = _Stopper()
    previous = {sig: signal.signal(sig, stopper) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[Child] = []
    try:
        _print_logins(logins, f"http://{host}:{port}/")
        children, sims = start_workers(rt, cameras)
        rt, devices_run = demo_devices.start_devices(rt, children, devices)
        _print_workers(children, sims, rt.settings)
        demo_devices.print_devices(devices_run, rt)
        server = _Server(uvicorn.Config(web_app(rt), host=host, port=port, log_level="info",
                                        ws_per_message_deflate=False))  # as kgys.web.serving.WS_DEFLATE
        stopper.server = server
        if stopper.requested:
            server.should_exit = True
        server.run()
    finally:
        stop_children(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("demo stopped")
