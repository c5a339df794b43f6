"""The devices part of ``kgys demo``: a broker, the demo's devices and units' trackers, the intake, and the
simulated devices and trackers.

When no broker answers at the configured address (``devices.broker_host``/``broker_port``), the demo starts
Debian's ``mosquitto`` as a child on loopback (on ``devices.broker_port`` when it is configured, else on a free
port) with its configuration, password and ACL files and persistence in DATA_DIR/mosquitto. It registers its
devices and its units' tracker logins (once), then starts ``kgys worker intake``, one simulator per enabled demo
device (heartbeats, and now and then a door held open) and ``kgys sim units`` for the demo units' trackers of each
district (driving about, a position every few seconds). Without mosquitto the demo says that devices are off and
runs without them.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kgys.cli.children import Child, free_port, spawn, spawn_command, wait_port
from kgys.cli.common import console, err_console
from kgys.demo import devices as demo_devices
from kgys.demo import units as demo_units
from kgys.devices.kinds import DeviceKind
from kgys.errors import KgysError
from kgys.runtime import Runtime

HEARTBEAT_EVERY = 30  # seconds between the simulated devices' heartbeats (they are registered with 60)
HELD_OPEN_EVERY = 40  # a door held open every this many heartbeats: every 20 minutes
POSITION_EVERY = 5  # seconds between the simulated trackers' positions
BROKER_WAIT = 30.0
INSTALL = "apt-get install mosquitto"


@dataclass
class DevicesRun:
    """What the devices part of the demo started, for its summary (``off``: why devices are off)."""

    off: str = ""
    host: str = ""
    port: int = 0
    broker: Child | None = None
    intake: Child | None = None
    devices: list[demo_devices.DemoDevice] = field(default_factory=list)
    simulators: dict[str, Child] = field(default_factory=dict)
    units: list[demo_units.DemoUnit] = field(default_factory=list)
    trackers: dict[str, Child] = field(default_factory=dict)  # by call sign


def _register(rt: Runtime, run: DevicesRun) -> None:
    """Register the demo's devices and its units' tracker logins, and write the broker's files."""
    with rt.sessions.begin() as session:
        run.devices = demo_devices.register(session, rt.settings)
        run.units = demo_units.register_trackers(session, rt.settings, demo_units.ensure(session, rt.settings))


def mosquitto_binary() -> str | None:
    """Debian's mosquitto (in /usr/sbin, often not on a user's PATH), or None when it is not installed."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def _with_broker(rt: Runtime, *, host: str, port: int, pid_file: Path | None) -> Runtime:
    """The runtime with the devices settings of this run: the broker's address, the PID file of the broker the
    demo started (None for another's), the intake's password (derived from the secret key unless configured)."""
    s = rt.settings
    cfg = s.devices
    password = cfg.password or demo_devices.derived_password(s.security.secret_key, cfg.username)
    devices = cfg.model_copy(update={"broker_host": host, "broker_port": port, "password": password,
                                     "broker_pid_file": pid_file})
    return dataclasses.replace(rt, settings=s.model_copy(update={"devices": devices}))


def _env(rt: Runtime) -> dict[str, str]:
    """The devices settings of this run for a child process (the intake and simulators read them)."""
    cfg = rt.settings.devices
    env = {"KGYS_DEVICES__BROKER_HOST": cfg.broker_host, "KGYS_DEVICES__BROKER_PORT": str(cfg.broker_port),
           "KGYS_DEVICES__PASSWORD": cfg.password}
    if cfg.broker_pid_file is not None:
        env["KGYS_DEVICES__BROKER_PID_FILE"] = str(cfg.broker_pid_file)
    return env


def _start_broker(rt: Runtime, run: DevicesRun, children: list[Child]) -> Runtime | None:
    """Start the demo's own Mosquitto; the runtime pointed at it, or None (and ``run.off``) when it cannot be."""
    binary = mosquitto_binary()
    cfg = rt.settings.devices
    if binary is None or shutil.which(cfg.mosquitto_passwd) is None:
        run.off = f"mosquitto is not installed ({INSTALL})"
        return None
    port = cfg.broker_port if "broker_port" in cfg.model_fields_set else free_port()
    pid_file = rt.settings.data_dir / "mosquitto" / "mosquitto.pid"
    pid_file.unlink(missing_ok=True)  # of an earlier run: the broker reads its files when it starts
    rt = _with_broker(rt, host="127.0.0.1", port=port, pid_file=None)
    _register(rt, run)
    conf = demo_devices.write_broker_config(rt.settings, port)
    run.broker = spawn_command(rt.settings, "mosquitto", [binary, "-c", str(conf)])
    children.append(run.broker)
    if not wait_port(port, run.broker, BROKER_WAIT):
        run.off = f"mosquitto did not start on port {port} (see {rt.settings.data_dir / 'logs' / 'mosquitto.log'})"
        return None
    pid_file.write_text(f"{run.broker.proc.pid}\n")
    return _with_broker(rt, host="127.0.0.1", port=port, pid_file=pid_file)


def start_devices(rt: Runtime, children: list[Child], enabled: bool = True) -> tuple[Runtime, DevicesRun]:
    """Start the broker (unless one answers), register the demo's devices, start the intake and the simulated
    devices; the runtime with this run's devices settings, and what was started. Never fails the demo."""
    run = DevicesRun()
    if not enabled:
        run.off = "--no-devices"
        return rt, run
    cfg = rt.settings.devices
    try:
        if demo_devices.answers(cfg.broker_host, cfg.broker_port):
            rt = _with_broker(rt, host=cfg.broker_host, port=cfg.broker_port, pid_file=cfg.broker_pid_file)
            _register(rt, run)
        else:
            started = _start_broker(rt, run, children)
            if started is None:
                return rt, run
            rt = started
    except KgysError as exc:
        run.off = exc.message
        return rt, run
    except OSError as exc:
        run.off = f"cannot write the broker's files: {exc}"
        return rt, run
    run.host, run.port = rt.settings.devices.broker_host, rt.settings.devices.broker_port
    env = _env(rt)
    run.intake = spawn(rt.settings, "intake", "worker", "intake", env=env)
    children.append(run.intake)
    for d in run.devices:
        if d.password is None:
            continue
        args = ["sim", "panic" if d.kind == DeviceKind.PANIC else "access", d.serial, "--heartbeats", "0",
                "--forever", "--every", str(HEARTBEAT_EVERY)]
        if d.kind == DeviceKind.PANIC:
            args += ["--scenario", "heartbeat"]
        else:
            args += ["--door", d.room, "--held-open-every", str(HELD_OPEN_EVERY)]
        child = spawn(rt.settings, f"device-{d.serial}", *args, env=env | {"KGYS_SIM_DEVICE_PASSWORD": d.password})
        run.simulators[d.serial] = child
        children.append(child)
    _start_trackers(rt, run, children, env)
    return rt, run


def _start_trackers(rt: Runtime, run: DevicesRun, children: list[Child], env: dict[str, str]) -> None:
    """One ``kgys sim units --forever`` per district for the demo units with a tracker login."""
    by_district: dict[str, list[demo_units.DemoUnit]] = {}
    for u in run.units:
        if u.tracker_password is not None:
            by_district.setdefault(u.district, []).append(u)
    for district, units in sorted(by_district.items()):
        args = ["sim", "units", *(u.call_sign for u in units), "--forever", "--every", str(POSITION_EVERY),
                "--lat", str(units[0].latitude), "--lon", str(units[0].longitude)]
        passwords = " ".join(u.tracker_password or "" for u in units)
        child = spawn(rt.settings, f"device-units-{district}", *args,
                      env=env | {"KGYS_SIM_TRACKER_PASSWORD": passwords})
        children.append(child)
        run.trackers.update({u.call_sign: child for u in units})


def print_devices(run: DevicesRun, rt: Runtime) -> None:
    """The devices part of the demo's start-up summary."""
    if run.off:
        err_console.print(f"[yellow]devices are off: {run.off}.[/] The demo runs without panic buttons and door "
                          "controllers.")
        return
    logs = rt.settings.data_dir / "logs"
    table = Table(title="Simulated devices (heartbeats; a door held open now and then)")
    for header in ("serial", "kind", "site", "room", "simulator"):
        table.add_column(header, overflow="fold")
    for d in run.devices:
        sim = run.simulators.get(d.serial)
        table.add_row(d.serial, d.kind, f"{d.site_code} {d.site_name}", d.room,
                      f"pid {sim.proc.pid}" if sim else "disabled: not simulated")
    (console if console.is_terminal else Console(width=200)).print(table)
    if run.units:
        units = Table(title="Units with simulated trackers (a position every few seconds; assignments heard)")
        for header in ("unit", "district", "field login", "tracker"):
            units.add_column(header, overflow="fold")
        for u in run.units:
            sim = run.trackers.get(u.call_sign)
            units.add_row(u.call_sign, u.district, u.field_user,
                          f"pid {sim.proc.pid}" if sim else "no tracker login: not simulated")
        (console if console.is_terminal else Console(width=200)).print(units)
    who = f"mosquitto pid {run.broker.proc.pid}, started by the demo" if run.broker else "already running"
    console.print(f"devices: broker {run.host}:{run.port} ({who}); intake pid "
                  f"{run.intake.proc.pid if run.intake else '-'} (log {logs / 'intake.log'}); panic buttons' PINs "
                  f"{demo_devices.CANCEL_PIN} (cancel) / {demo_devices.DURESS_PIN} (duress)")
