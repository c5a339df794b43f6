"""Low-latency live view: the recorder's growing spool file, remuxed to fragmented MP4 frame by frame, sent to
every viewer of the camera over its WebSocket. The I/O shell around :mod:`kgys.media.fmp4`.

One :class:`Follower` per camera being watched, shared by all its viewers in this web process. It follows the
newest spool file of the camera as the recorder's ffmpeg writes it (every frame is flushed at once, see
:mod:`kgys.recording.ffmpeg`) and moves on to the next file when the recorder starts one. It keeps the frames
since the last keyframe, so a viewer who joins starts at once, at that keyframe, after the init segment.

Wakeups are what a follower costs beyond the remux, so it is paced: while the file grows it is read every
``batch`` seconds (a tenth: two or three frames), by a timer, and inotify's news of each write is not listened
to — only read at each step, for a new file; once a step finds nothing new, inotify wakes it at the next write
(no sooner than ``batch`` after the last step), and every ``poll`` seconds it steps in any case (the only
wakeup where inotify is not available). The frames of a step reach a viewer's queue together, and
:meth:`Viewer.take` hands them to the WebSocket as one message: a tenth of a second more delay at most, and
two and a half times fewer wakeups, reads and WebSocket messages.

Each viewer has a queue of at most ``queue_frames`` frames (two seconds at 25 fps): a viewer who cannot take
them as fast as they come (a slow network) loses what is queued and resumes at the next keyframe, so no queue
grows without bound and the viewer stays near the live edge. When the camera sends nothing for ``stale_seconds``
its viewers are told so (:data:`NO_VIDEO`), and a camera that sends H.265 is refused (:data:`NOT_H264`): its
tiles play HLS.

Nothing here knows HTTP: :mod:`kgys.live.stream` checks the viewing ticket and pumps a viewer's queue into its
WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from inotify_simple import INotify  # type: ignore[import-untyped]

from kgys.media import fmp4
from kgys.media.segments import SEGMENT_SUFFIX, parse_segment_name

log = logging.getLogger(__name__)

NO_VIDEO = (4404, "no live video from this camera right now")
NOT_H264 = (4415, "this camera sends H.265; it is played over HLS")
WATCH_MASK = 0x00000002 | 0x00000100 | 0x00000080  # IN_MODIFY | IN_CREATE | IN_MOVED_TO
GOP_LIMIT = 600  # frames kept since the last keyframe, at most
BATCH_SECONDS = 0.1  # a follower steps at most this often: the frames written meanwhile leave together

Message = bytes | str


class Viewer:
    """One WebSocket's queue: text (the codec, first) and binary messages (init segment, fragments)."""

    def __init__(self, queue_frames: int) -> None:
        self.queue: deque[Message] = deque()
        self.queue_frames = queue_frames
        self.allowance = queue_frames  # raised for the burst a viewer starts with
        self.started = False  # has been given the init segment and the frames since the last keyframe
        self.needs_key = False  # dropped behind: waits for the next keyframe
        self.dropped = 0
        self.ended: tuple[int, str] | None = None
        self.ready = asyncio.Event()

    def put(self, item: Message) -> None:
        """Queue one message."""
        self.queue.append(item)
        self.ready.set()

    def frame(self, frag: fmp4.Fragment) -> None:
        """Queue a frame, or drop what is queued when the viewer has fallen too far behind."""
        if self.needs_key and not frag.key:
            return
        if len(self.queue) >= self.allowance:
            self.dropped += len(self.queue)
            self.queue.clear()
            self.allowance = self.queue_frames
            if not frag.key:
                self.needs_key = True
                return
        self.needs_key = False
        if len(self.queue) < self.queue_frames:
            self.allowance = self.queue_frames
        self.put(frag.data)

    def end(self, code: int, reason: str) -> None:
        """End the stream at once (what is queued is dropped), with a close code and reason; the first one holds."""
        if self.ended is None:
            self.ended = (code, reason)
            self.queue.clear()
        self.ready.set()

    async def take(self) -> Message | None:
        """The next message, waiting for it: a text message alone, or every binary message queued (the init
        segment, fragments) joined into one — a browser appends several fragments at once as well as one, and
        one WebSocket message costs the server the same for one frame as for several. None once the stream has
        ended."""
        while not self.queue:
            if self.ended is not None:
                return None
            self.ready.clear()
            await self.ready.wait()
        first = self.queue.popleft()
        if isinstance(first, str):
            return first
        parts = [first]
        while self.queue and not isinstance(nxt := self.queue[0], str):
            parts.append(nxt)
            self.queue.popleft()
        return b"".join(parts) if len(parts) > 1 else first


READ_CHUNK = 1 << 18
_EVENT = struct.Struct("iIII")


def _rest_of(fh: IO[bytes]) -> bytes:
    """What the file has past where it was read to: one read (two at most in a step, at 4 Mbit/s)."""
    chunks = []
    while len(data := fh.read(READ_CHUNK)) == READ_CHUNK:
        chunks.append(data)
    return b"".join([*chunks, data]) if chunks else data


def _newest(cam_dir: Path) -> list[str]:
    try:
        names = os.listdir(cam_dir)
    except OSError:
        return []
    found = []
    for name in names:
        parsed = parse_segment_name(name) if name.endswith(SEGMENT_SUFFIX) else None
        if parsed:
            found.append(((parsed[0], parsed[1], name), name))
    return [n for _k, n in sorted(found)]


class Follower:
    """Follows one camera's spool and feeds its viewers (see the module text)."""

    def __init__(self, cam_dir: Path, *, queue_frames: int = 50, stale_seconds: float = 10.0, poll: float = 0.5,
                 batch: float = BATCH_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.cam_dir = cam_dir
        self.queue_frames = queue_frames
        self.stale_seconds = stale_seconds
        self.poll = poll
        self.batch = batch
        self.clock = clock
        self.viewers: set[Viewer] = set()
        self.remux = fmp4.Remuxer()
        self.gop: list[fmp4.Fragment] = []
        self.task: asyncio.Task[None] | None = None
        self._name: str | None = None
        self._fh: IO[bytes] | None = None
        self._grew = clock()
        self._list = True  # look for a newer file at the next step
        self._listed = 0.0
        self._pending: list[fmp4.Fragment] = []
        self._opened: float | None = None  # when the file just opened last grew, by its mtime
        self._head_of: bytes | None = None
        self._head_msg = ""
        self._polling = True  # no inotify: an idle step also looks for a newer file
        self._stopped: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stepped = float("-inf")  # when the last step was
        self._due: asyncio.TimerHandle | None = None  # the next step of a growing file, or one a change waits for
        self._ino: INotify | None = None
        self._watching = False

    def join(self) -> Viewer:
        """A new viewer; it starts with the next step (at the last keyframe)."""
        viewer = Viewer(self.queue_frames)
        self.viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        """A viewer went away."""
        self.viewers.discard(viewer)

    def step(self) -> bool:
        """Read what the recorder wrote since the last step and hand it to the viewers; whether the file grew.
        The directory is listed (a newer file?) when inotify tells of a new file, at least once a second, and,
        without inotify, whenever the file had nothing new."""
        now = self.clock()
        self._stepped = now
        frags, grew = self._read(now)
        if self._list or now - self._listed >= 1.0 or (self._polling and not frags):
            self._list, self._listed = False, now
            if self._switch(_newest(self.cam_dir)):
                more, grew_too = self._read(now)
                frags += more
                grew = grew or grew_too
        self._deliver(frags)
        if self.remux.codec == "h265":
            self._end_all(*NOT_H264)
        elif self._fh is None or now - self._grew > self.stale_seconds:
            self._end_all(*NO_VIDEO)
        return grew

    def _read(self, now: float) -> tuple[list[fmp4.Fragment], bool]:
        frags, self._pending = self._pending, []
        data = _rest_of(self._fh) if self._fh is not None else b""
        if data:
            self._grew = now if self._opened is None else self._opened  # a file's age counts from its mtime
            self._opened = None
            frags += self.remux.feed(data)
        return frags, bool(data)

    def _switch(self, names: list[str]) -> bool:
        """Move on to the newest file (True) once the recorder has started it."""
        if not names or names[-1] == self._name:
            return False
        if self._fh is not None:  # finish the old file (it is closed once the next one exists), then go on
            self._pending += self.remux.feed(_rest_of(self._fh)) + self.remux.restart()
            self._fh.close()
        self._fh = None
        try:
            path = self.cam_dir / names[-1]
            self._fh = path.open("rb", buffering=0)
            age = time.time() - path.stat().st_mtime  # a file the recorder left long ago is no live video
        except OSError:
            return False
        self._name = names[-1]
        self._opened = self.clock() - max(0.0, age)
        return True

    def _deliver(self, frags: list[fmp4.Fragment]) -> None:
        for frag in frags:
            if frag.key:
                self.gop = []
            if len(self.gop) < GOP_LIMIT:
                self.gop.append(frag)
        head = self._head()
        for viewer in list(self.viewers):
            if viewer.ended is not None:
                continue
            if not viewer.started:
                if head is None or not self.gop or not self.gop[0].key:
                    continue
                viewer.started = True
                viewer.put(head[0])
                viewer.put(head[1])
                viewer.allowance = len(self.gop) + self.queue_frames
                for frag in self.gop:
                    viewer.put(frag.data)
                continue
            for frag in frags:
                if frag.init and head is not None:
                    viewer.put(head[1])
                viewer.frame(frag)

    def _head(self) -> tuple[str, bytes] | None:
        """The codec message and the init segment a viewer starts with (None before the first SPS)."""
        init = self.remux.init
        if init is None or self.remux.mime_codec is None:
            return None
        if self._head_of is not init:
            self._head_of, self._head_msg = init, json.dumps({"codec": self.remux.mime_codec})
        return self._head_msg, init

    def _end_all(self, code: int, reason: str) -> None:
        for viewer in self.viewers:
            if viewer.ended is None:
                viewer.end(code, reason)

    async def run(self) -> None:
        """Step until cancelled (the last viewer left): every ``batch`` seconds while the file grows; once it
        does not, when the camera's spool directory changes (inotify), at most every ``batch`` seconds; and every
        ``poll`` seconds in any case."""
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        try:
            self._ino = INotify(nonblocking=True)
            self._ino.add_watch(str(self.cam_dir), WATCH_MASK)
            self._polling = False
        except OSError as exc:  # no directory yet, no inotify: poll
            log.debug("live follower of %s polls: %s", self.cam_dir, exc)
            if self._ino is not None:
                self._ino.close()
            self._ino = None
        try:
            self._tick()
            await self._stopped
        finally:
            for timer in (self._timer, self._due):
                if timer is not None:
                    timer.cancel()
            self._watch(False)
            if self._ino is not None:
                self._ino.close()
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def _watch(self, on: bool) -> None:
        """Be woken by the directory's changes (a follower waiting for the file to grow) or not (one whose file
        grows: its timer steps it, and what inotify tells meanwhile is read at each step)."""
        if self._ino is not None and on != self._watching:
            if on:
                asyncio.get_running_loop().add_reader(self._ino.fileno(), self._changed)
            else:
                asyncio.get_running_loop().remove_reader(self._ino.fileno())
            self._watching = on

    def _events(self) -> None:
        """Read what inotify has told (it queues while not watched): a new file to look for?"""
        while self._ino is not None:
            try:
                data = os.read(self._ino.fileno(), 1 << 16)
            except OSError:  # nothing more (non-blocking)
                return
            pos = 0
            while pos + 16 <= len(data):  # struct inotify_event: wd, mask, cookie, len, then the name
                _wd, mask, _cookie, size = _EVENT.unpack_from(data, pos)
                self._list = self._list or bool(mask & 0x180)  # created or moved in: look for a newer file
                pos += 16 + size
            if len(data) < 1 << 15:
                return

    def _changed(self) -> None:
        """The directory changed: step now, or where the last step was less than ``batch`` ago, then."""
        self._events()
        if self._due is None:
            wait = self._stepped + self.batch - self.clock()
            if wait > 0:
                self._due = asyncio.get_running_loop().call_later(wait, self._paced)
            else:
                self._paced()

    def _paced(self) -> None:
        """A step; while the file grows, the next one ``batch`` seconds later: the recorder writes a frame at a
        time, and 25 wakeups a second, each with a frame, become ten with two or three frames each."""
        self._due = None
        self._events()
        if self.step():
            self._watch(False)
            self._due = asyncio.get_running_loop().call_later(self.batch, self._paced)
        else:
            self._watch(True)

    def _tick(self) -> None:
        if self._due is None:
            self._paced()
        self._timer = asyncio.get_running_loop().call_later(self.poll, self._tick)


class Followers:
    """The followers of this web process, one per camera being watched."""

    def __init__(self, spool_dir: Path, **options: float) -> None:
        self.spool_dir = spool_dir
        self.options = options
        self.running: dict[int, Follower] = {}

    def join(self, camera_id: int) -> tuple[Follower, Viewer]:
        """A new viewer of the camera, starting the camera's follower if it is the first."""
        found = self.running.get(camera_id)
        if found is None or found.task is None or found.task.done():
            found = Follower(self.spool_dir / str(camera_id), **self.options)  # type: ignore[arg-type]
            self.running[camera_id] = found
        viewer = found.join()
        if found.task is None:
            found.task = asyncio.get_running_loop().create_task(found.run())
        return found, viewer

    def leave(self, camera_id: int, follower: Follower, viewer: Viewer) -> None:
        """A viewer went away; the camera's follower stops with its last viewer."""
        follower.leave(viewer)
        if not follower.viewers:
            if follower.task is not None:
                follower.task.cancel()
            if self.running.get(camera_id) is follower:
                del self.running[camera_id]
