"""The demo's child processes: started in their own sessions with their output in DATA_DIR/logs, told to die with
the demo, and stopped by process id in an order that lets each finish its work (the recorder before the streams
it records, the simulated devices before the intake, the intake before the broker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

import pyprctl

from kgys.cli.common import STATE, console, err_console
from kgys.config import Settings

STOP_ORDER = ("recorder", "jobs", "sim", "device", "intake", "mosquitto")  # by the name's part before a "-"
STOP_WAIT = 20.0


@dataclass
class Child:
    """A process the demo started."""

    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the demo dies."""
    try:
        pyprctl.set_pdeathsig(signal.SIGTERM)
    except OSError:
        pass


def free_port() -> int:
    """A TCP port on loopback that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kgys_command(s: Settings, *args: str) -> list[str]:
    """The command line of a ``kgys`` child process on the demo's settings."""
    cmd = [sys.executable, "-m", "kgys", "--mode", "demo", "--data-dir", str(s.data_dir)]
    if STATE.config is not None:
        cmd += ["--config", str(STATE.config)]
    if STATE.database_url is not None:
        cmd += ["--database-url", STATE.database_url]
    return [*cmd, *args]


def spawn_command(s: Settings, name: str, cmd: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
    """Start ``cmd`` as the child ``name``, its output appended to DATA_DIR/logs/{name}.log; ``env`` is added to
    the demo's environment."""
    logs = s.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = (logs / f"{name}.log").open("ab")
    environ = {**os.environ, **env} if env else None
    proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=environ,
                            start_new_session=True, preexec_fn=_die_with_parent)
    return Child(name, proc, log)


def spawn(s: Settings, name: str, *args: str, env: Mapping[str, str] | None = None) -> Child:
    """Start ``kgys ARGS`` on the demo's settings as the child ``name``."""
    return spawn_command(s, name, kgys_command(s, *args), env)


def wait_port(port: int, child: Child, timeout: float) -> bool:
    """Wait until something listens on loopback ``port`` while ``child`` runs; whether it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.proc.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def _order(child: Child) -> int:
    group = child.name.split("-", 1)[0]
    return STOP_ORDER.index(group) if group in STOP_ORDER else len(STOP_ORDER)


def stop_children(children: list[Child]) -> None:
    """SIGTERM each child by its process id, in order, and wait for it; kill one that does not stop."""
    for child in sorted(children, key=_order):
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                err_console.print(f"{child.name} (pid {child.proc.pid}) did not stop; killing it")
                child.proc.kill()
                child.proc.wait()
        child.log.close()
        console.print(f"stopped {child.name} (pid {child.proc.pid})")
