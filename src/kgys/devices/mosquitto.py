"""Mosquitto's password and ACL files, written from the registry (the broker's side of each device's login).

Each device may publish only on its own uplink topics and read only its replies and its site's downlink; a unit's
tracker may publish only its unit's positions and read only its unit's assignments; the intake reads every
device's uplink and every unit's positions, and writes replies, lockdowns and assignments. Passwords are added
with Mosquitto's own ``mosquitto_passwd -b`` (the broker's hash format), removed with ``-D``. After a change the
broker must read its files again: it is sent SIGHUP when a PID file is configured.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kgys.devices import payloads
from kgys.errors import ConfigurationError

log = logging.getLogger(__name__)

CHANNELS = ("press", "heartbeat", "cancel", "access")
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Login:
    """A device's broker login and where it may publish and read."""

    username: str
    serial: str
    site_code: str


@dataclass(frozen=True)
class TrackerLogin:
    """A unit tracker's broker login and the unit it reports for."""

    username: str
    call_sign: str


def acl_text(intake_user: str, logins: Iterable[Login], trackers: Iterable[TrackerLogin] = ()) -> str:
    """The ACL file for the intake, these (enabled) devices and these (enabled) units' trackers."""
    lines = ["# written by kgys from its device registry: do not edit by hand", "", f"user {intake_user}"]
    lines += [f"topic read {payloads.uplink('+', ch)}" for ch in CHANNELS]
    lines += [f"topic write {payloads.reply_topic('+')}", f"topic write {payloads.lockdown_topic('+')}"]
    lines += [f"topic read {payloads.unit_position_topic('+')}", f"topic write {payloads.unit_assignment_topic('+')}"]
    for login in sorted(logins, key=lambda x: x.username):
        lines += ["", f"user {login.username}"]
        lines += [f"topic write {payloads.uplink(login.serial, ch)}" for ch in CHANNELS]
        lines += [f"topic read {payloads.reply_topic(login.serial)}",
                  f"topic read {payloads.lockdown_topic(login.site_code)}"]
    for tracker in sorted(trackers, key=lambda x: x.username):
        lines += ["", f"user {tracker.username}", f"topic write {payloads.unit_position_topic(tracker.call_sign)}",
                  f"topic read {payloads.unit_assignment_topic(tracker.call_sign)}"]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_acl(path: Path, text: str) -> None:
    """Replace the ACL file with ``text`` (atomically, private to its owner)."""
    _write_private(path, text)


def _passwd(binary: str, args: list[str]) -> None:
    try:
        done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"cannot run {binary}: {exc}") from exc
    if done.returncode != 0:
        raise ConfigurationError(f"{binary} failed: {(done.stderr or done.stdout).strip()[:200]}")


def set_password(path: Path, username: str, password: str, *, binary: str = "mosquitto_passwd") -> None:
    """Add or replace ``username``'s password in the broker's password file (made when missing)."""
    if not path.exists():
        _write_private(path, "")
    _passwd(binary, ["-b", str(path), username, password])


def remove_user(path: Path, username: str, *, binary: str = "mosquitto_passwd") -> None:
    """Remove ``username`` from the broker's password file (nothing when it is not there)."""
    if not path.exists() or not any(line.split(":", 1)[0] == username for line in path.read_text().splitlines()):
        return
    _passwd(binary, ["-D", str(path), username])


def reload_broker(pid_file: Path | None) -> bool:
    """Tell the broker named by ``pid_file`` to read its files again; whether it was told."""
    if pid_file is None:
        return False
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.warning("could not tell the broker (%s) to reload its files: %s", pid_file, exc)
        return False
    return True
