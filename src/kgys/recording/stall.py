"""When a camera's ffmpeg counts as stalled and must be restarted. Pure.

The recorder asks :func:`check_stall` each poll for each running ffmpeg. Progress is the newest segment
file of the ffmpeg's run growing (or a newer one appearing); the time since the last progress is compared
with the stall time, longer while ffmpeg is still connecting (no file yet: its own RTSP time-out comes
first). An ffmpeg blocked in the kernel on a slow disk is not a camera that stopped sending: the camera's
data waits in the socket meanwhile and a restart would lose it, so once it has been seen blocked on the
disk in a stall it gets ``disk_patience`` times the stall time.

The two facts that cost a system call are asked for through callables, and only when needed: the newest
file's name and size (not within a second of the last progress), whether ffmpeg is blocked on the disk
(only past the stall time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

NOTHING: tuple[str, int] = ("", -1)  # no segment file of the run yet
LOOK_EVERY = 1.0  # seconds after a progress before the file is looked at again


@dataclass(frozen=True)
class Progress:
    """What the stall check keeps of one ffmpeg between polls."""

    at: float  # monotonic seconds of the last progress (or of the ffmpeg's start)
    seen: tuple[str, int] = NOTHING  # the newest file of the run and its size then
    disk_wait: str | None = None  # seen blocked on the disk in this stall, in this kernel function ("" unnamed)


@dataclass(frozen=True)
class StallLimits:
    """How long an ffmpeg may go without progress."""

    stall_seconds: float
    connect_seconds: float = 0.0  # added while there is no file yet
    disk_patience: float = 3.0  # the stall time is multiplied by this once ffmpeg was seen blocked on the disk


@dataclass(frozen=True)
class StallDecision:
    """Whether to restart the ffmpeg, and what to keep until the next poll."""

    stalled: bool
    progress: Progress


def check_stall(*, now: float, progress: Progress, limits: StallLimits,
                newest: Callable[[], tuple[str, int]], disk_wait: Callable[[], str | None]) -> StallDecision:
    """Decide whether an ffmpeg is stalled at ``now``; ``newest`` gives its run's newest file and size
    (:data:`NOTHING` for none), ``disk_wait`` the kernel function it is blocked on the disk in (None: not)."""
    if now - progress.at < LOOK_EVERY:
        return StallDecision(False, progress)
    seen = newest()
    if seen != progress.seen:
        return StallDecision(False, Progress(at=now, seen=seen))
    limit = limits.stall_seconds + (limits.connect_seconds if seen == NOTHING else 0.0)
    quiet = now - progress.at
    if quiet <= limit:
        return StallDecision(False, progress)
    blocked = disk_wait()
    if blocked is not None:  # once seen blocked on the disk in this stall, the stall is the disk's
        progress = replace(progress, disk_wait=blocked)
    stalled = progress.disk_wait is None or quiet > limit * limits.disk_patience
    return StallDecision(stalled, progress)
