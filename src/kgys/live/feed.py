"""Live segments from the recorder's spool: the I/O shell around :mod:`kgys.live.hls`.

One :class:`CameraFeed` per camera being watched follows the newest spool files of that camera, cuts them
at keyframes and numbers the pieces; all viewers of a camera share it. A file the maintainer has already
moved into storage is read from there (``fallback``). The feed lives in the web process
(:class:`LiveHub`); it needs the spool on a file system the web process can read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kgys.live import hls, lowlat
from kgys.media.segments import SEGMENT_SUFFIX, parse_segment_name

log = logging.getLogger(__name__)

Fallback = Callable[[str, int, int | None], bytes | None]  # (file name, offset, length) → bytes from storage
READ_LIMIT = 16 << 20


@dataclass(frozen=True)
class Served:
    """A live segment handed out: where its bytes are."""

    seg: hls.LiveSegment
    name: str
    offset: int
    length: int
    header: bytes  # program tables to prepend (empty when the piece starts the file)


@dataclass
class _File:
    name: str
    key: tuple[str, datetime, str]
    scan: hls.TsScanner = field(default_factory=hls.TsScanner)
    emitted: int = 0
    anchor: float | None = None  # wall-clock time (unix) of timestamp 0 in this file
    done: bool = False
    grew_at: float = 0.0


class CameraFeed:
    """The live segments of one camera."""

    def __init__(self, cam_dir: Path, *, window: int = 6, keep: int = 40, stale_seconds: float = 15.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.cam_dir = cam_dir
        self.window = window
        self.stale_seconds = stale_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.files: list[_File] = []
        self.served: deque[Served] = deque(maxlen=keep)
        self.next_sn = 0
        self.cc = 0

    def _names(self) -> list[tuple[tuple[str, datetime, str], str]]:
        out = []
        try:
            entries = os.listdir(self.cam_dir)
        except OSError:
            return []
        for name in entries:
            parsed = parse_segment_name(name) if name.endswith(SEGMENT_SUFFIX) else None
            if parsed:
                out.append(((parsed[0], parsed[1], name), name))
        return sorted(out)

    def refresh(self, fallback: Fallback) -> list[hls.LiveSegment]:
        """Read what the recorder wrote since the last call; the current window (empty: no live video)."""
        with self.lock:
            names = self._names()
            newest = self.files[-1].key if self.files else None
            fresh = [(k, n) for k, n in names if newest is None or k > newest]
            if newest is None:
                fresh = fresh[-2:]
            self.files += [_File(n, k, grew_at=self.clock()) for k, n in fresh]
            latest = names[-1][1] if names else None
            for f in self.files:
                if not f.done:
                    self._advance(f, is_latest=f.name == latest, fallback=fallback)
            self.files = [f for f in self.files if not f.done] or self.files[-1:]
            last = self.files[-1] if self.files else None
            if last is None or self.clock() - last.grew_at > self.stale_seconds:
                return []
            return [s.seg for s in list(self.served)[-self.window:]]

    def _advance(self, f: _File, *, is_latest: bool, fallback: Fallback) -> None:
        path = self.cam_dir / f.name
        try:
            st = path.stat()
            with path.open("rb") as fh:
                fh.seek(f.scan.consumed)
                data = fh.read(min(READ_LIMIT, max(0, st.st_size - f.scan.consumed)))
            in_spool, size, mtime = True, st.st_size, st.st_mtime
        except FileNotFoundError:  # moved into storage by the maintainer
            data = fallback(f.name, f.scan.consumed, None) or b""
            in_spool, size, mtime = False, f.scan.consumed + len(data), None
        if data:
            f.scan.feed(data)
            f.grew_at = self.clock()
        finished = not in_spool or not is_latest
        if f.anchor is None and f.scan.last_pts is not None:
            if mtime is not None:
                f.anchor = mtime - f.scan.last_pts - (f.scan.frame_interval if finished else 0.0)
            else:
                start = parse_segment_name(f.name)
                f.anchor = (start[1].timestamp() if start else self.clock()) - (
                    f.scan.keyframes[0].pts if f.scan.keyframes else 0.0)
        pieces = hls.chunks(f.scan, finished=finished, size=size)
        for piece in pieces[f.emitted:]:
            if self.served and self.served[-1].name != f.name:
                self.cc += 1
            wall = datetime.fromtimestamp((f.anchor or 0.0) + piece.pts, UTC)
            seg = hls.LiveSegment(sn=self.next_sn, cc=self.cc, duration=piece.duration, wall=wall)
            self.served.append(Served(seg, f.name, piece.offset, piece.length,
                                      f.scan.header if piece.needs_header else b""))
            self.next_sn += 1
        f.emitted = len(pieces)
        if finished:
            f.done = True

    def segment_bytes(self, sn: int, fallback: Fallback) -> bytes | None:
        """The bytes of live segment ``sn`` while it is still held; None once it has left the window."""
        with self.lock:
            item = next((s for s in self.served if s.seg.sn == sn), None)
        if item is None:
            return None
        path = self.cam_dir / item.name
        try:
            with path.open("rb") as fh:
                fh.seek(item.offset)
                body = fh.read(item.length)
        except FileNotFoundError:
            body = fallback(item.name, item.offset, item.length) or b""
        if len(body) < item.length:
            return None
        return item.header + body


class LiveHub:
    """Every camera feed of this web process: the HLS feeds and the low-latency followers."""

    def __init__(self, spool_dir: Path, **options: float) -> None:
        self.spool_dir = spool_dir
        self.options = options
        self.lowlat = lowlat.Followers(spool_dir)
        self._feeds: dict[int, CameraFeed] = {}
        self._lock = threading.Lock()

    def feed(self, camera_id: int) -> CameraFeed:
        """The feed of one camera (created on first use)."""
        with self._lock:
            found = self._feeds.get(camera_id)
            if found is None:
                found = CameraFeed(self.spool_dir / str(camera_id), **self.options)  # type: ignore[arg-type]
                self._feeds[camera_id] = found
            return found
