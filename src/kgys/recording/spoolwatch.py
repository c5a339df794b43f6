"""Which camera spool directories changed, told by the kernel (inotify) instead of listing them all.

The maintainer needs to look at a camera's spool directory only when ffmpeg created or closed a segment
file there, or when the camera's ffmpeg ended. :class:`SpoolWatch` keeps one inotify watch on the spool
and one on each camera directory, and reports the cameras with news since the last call, plus the newest
segment file each camera's ffmpeg created (the recorder's stall check reads that one file's size instead
of listing the directory). It is a hint, never the only source: every ``full_every`` seconds, after an
event queue overflow, and wherever inotify is not available (another OS, the watch limit reached) every
camera counts as changed, so a missed event delays a segment by at most that long and loses nothing.

The kernel interface is ``inotify_simple``. ``bench/spoolwatch.py`` measures it against reading the
descriptor by hand (the same system calls through ``ctypes``) on the recorder's load, 128 camera directories
polled four times a second: 3.9 µs a quiet poll and 40 µs a poll with events against 5.0 and 38.5 µs by
hand, 0.009 % of one core either way (2 cores, AMD EPYC, 2026-12-06; see ``bench/RESULTS.md``).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from inotify_simple import INotify  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000

# a file leaving a directory makes no work, so removals and moves out are not asked for: the maintainer's
# own moves into storage do not bring a camera back
CAMERA_MASK = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
SPOOL_MASK = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR


class SpoolWatch:
    """Reports the camera directories of a spool that changed; see the module text."""

    def __init__(self, spool_dir: Path, *, suffix: str = ".ts", full_every: float = 30.0, enabled: bool = True,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self.spool_dir = spool_dir
        self.suffix = suffix
        self.full_every = full_every
        self.mono = mono
        self._ino: INotify | None = None
        self._wds: dict[int, int | None] = {}  # watch -> camera (None: the spool itself)
        self._cams: dict[int, int] = {}  # camera -> watch
        self._changed: set[int] = set()
        self._everything = True  # the next call reports every camera
        self._full_at = mono()
        self._newest: dict[int, str] = {}
        if enabled:
            self._open()

    @property
    def active(self) -> bool:
        """Whether the kernel is telling (otherwise every call reports every camera)."""
        return self._ino is not None

    def _open(self) -> None:
        try:
            self._ino = INotify(nonblocking=True)
        except (OSError, AttributeError) as exc:  # AttributeError: a C library without inotify
            log.warning("inotify is not available (%s); the spool is listed every poll", exc)

    def close(self) -> None:
        """Release the inotify descriptor; from then on every call reports every camera."""
        if self._ino is not None:
            self._ino.close()
            self._ino = None
        self._wds.clear()
        self._cams.clear()

    def __del__(self) -> None:
        self.close()

    def _watch(self, path: Path, mask: int) -> int | None:
        assert self._ino is not None
        try:
            return int(self._ino.add_watch(path, mask))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                log.warning("cannot watch %s (%s); it is listed every poll", path, exc.strerror)
            return None

    def watch_camera(self, camera_id: int, *, mark: bool = True) -> None:
        """Make sure the camera's directory is watched; with ``mark``, report it once (files may have come
        before the watch)."""
        if self._ino is None or camera_id in self._cams:
            return
        wd = self._watch(self.spool_dir / str(camera_id), CAMERA_MASK)
        if wd is None:
            self._everything = True  # cannot be told: keep listing
            return
        self._wds[wd] = camera_id
        self._cams[camera_id] = wd
        if mark:
            self._changed.add(camera_id)

    def watch_all(self, cameras: Iterable[int]) -> None:
        """Make sure the spool and each of these camera directories are watched (call before listing them)."""
        if self._ino is None:
            return
        if None not in self._wds.values():
            wd = self._watch(self.spool_dir, SPOOL_MASK)
            if wd is not None:
                self._wds[wd] = None
        for camera_id in cameras:
            self.watch_camera(camera_id, mark=False)

    def _read(self) -> None:
        assert self._ino is not None
        try:
            events = self._ino.read(timeout=0)
        except OSError as exc:
            log.warning("reading inotify events failed (%s); listing every camera", exc)
            self._everything = True
            return
        for event in events:
            self._event(event.wd, event.mask, event.name)

    def _event(self, wd: int, mask: int, name: str) -> None:
        if mask & IN_Q_OVERFLOW:
            log.warning("inotify queue overflowed; listing every camera")
            self._everything = True
            return
        if wd not in self._wds:
            return
        camera_id = self._wds[wd]
        if mask & IN_IGNORED:  # the directory went away: watched again when it comes back
            del self._wds[wd]
            if camera_id is None:
                self._everything = True
            else:
                self._cams.pop(camera_id, None)
                self._changed.add(camera_id)
            return
        if camera_id is None:  # a new camera directory in the spool
            if name.isdigit() and mask & IN_ISDIR:
                self.watch_camera(int(name))
            return
        if mask & IN_ISDIR or not name.endswith(self.suffix):  # ffmpeg's log, the maintainer's journals
            return
        self._changed.add(camera_id)
        if mask & IN_CREATE:
            self._newest[camera_id] = name

    def changed(self) -> set[int] | None:
        """The cameras whose directories changed since the last call, or None for "all of them": the first
        call, a periodic full listing, an overflow, no inotify. After None the caller lists the spool and
        passes the camera directories it found to :meth:`watch_all`."""
        now = self.mono()
        if self._ino is not None:
            self._read()
        if self._ino is None or self._everything or now - self._full_at >= self.full_every:
            self._everything = False
            self._full_at = now
            self._changed.clear()
            return None
        out, self._changed = self._changed, set()
        return out

    def again(self, cameras: Iterable[int]) -> None:
        """Report these cameras as changed next time too (something in them is still to do)."""
        self._changed.update(cameras)

    def newest(self, camera_id: int) -> str | None:
        """The name of the newest segment file created in the camera's directory, as far as events told."""
        return self._newest.get(camera_id) if self._ino is not None else None
