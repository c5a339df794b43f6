"""How the recorder worker says it is alive: a small JSON file it rewrites every few seconds.

``DATA_DIR/run/recorder.heartbeat`` holds the recorder's process id, the time of its last report and the
number of cameras it supervises. The file is replaced atomically, so a reader never sees half of it.
``kgys worker jobs`` reads it and opens ``recorder_down`` gaps when it goes stale.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "recorder.heartbeat"


@dataclass(frozen=True)
class Beat:
    """One report of the recorder."""

    pid: int
    at: datetime
    cameras: int
    stopped: bool = False


def path_for(data_dir: Path) -> Path:
    """Where the recorder of ``data_dir`` reports."""
    return data_dir / "run" / FILE_NAME


def write(path: Path, beat: Beat) -> None:
    """Replace the heartbeat file with ``beat``; an error is logged, never raised (recording goes on)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"pid": beat.pid, "at": beat.at.isoformat(), "cameras": beat.cameras,
                                   "stopped": beat.stopped}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write the recorder heartbeat %s: %s", path, exc)


def read(path: Path) -> Beat | None:
    """The last report, or None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            return None
        return Beat(pid=int(data["pid"]), at=at, cameras=int(data.get("cameras", 0)),
                    stopped=bool(data.get("stopped", False)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stale(beat: Beat | None, now: datetime, timeout_s: float) -> bool:
    """Whether the recorder has not reported for more than ``timeout_s`` seconds (or never has). Pure."""
    return beat is None or (now - beat.at).total_seconds() > timeout_s
