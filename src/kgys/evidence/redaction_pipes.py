"""ffmpeg and ffprobe for redaction: probing a clip, decoding it to raw RGB frames and encoding raw frames to
H.264 MP4, each ffmpeg behind a pipe served by its own thread so that decoding, detection and encoding overlap.

The argument lists are pure (:func:`decode_args`, :func:`encode_args`); failures become
:class:`~kgys.evidence.redaction.UnreadableVideo` (input) and :class:`~kgys.evidence.redaction.EncodeFailed`
(output), with the tail of ffmpeg's own message.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt

from kgys.evidence.redaction import EncodeFailed, UnreadableVideo

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
QUEUE_FRAMES = 6  # frames buffered between a pipe's thread and the caller
STALL_SECONDS = 120.0  # an ffmpeg that neither sends nor takes a frame for this long is given up


@dataclass(frozen=True)
class ClipInfo:
    """A clip's video stream: size, frame rate (ffmpeg's rational, e.g. ``25/1``) and packet times (seconds)."""

    width: int
    height: int
    rate: str
    pts: tuple[float, ...]

    @property
    def fps(self) -> float:
        """Frames per second."""
        return float(Fraction(self.rate))


def _rate(stream: dict[str, Any]) -> str | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        text = str(stream.get(key) or "")
        with contextlib.suppress(ValueError, ZeroDivisionError):
            if "/" in text and Fraction(text) > 0:
                return text
    return None


def parse_probe(doc: dict[str, Any]) -> ClipInfo:
    """Turn ffprobe's JSON (first video stream, its packets) into a :class:`ClipInfo`."""
    streams = [s for s in doc.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise UnreadableVideo("the file has no video stream")
    st = streams[0]
    width, height, rate = int(st.get("width") or 0), int(st.get("height") or 0), _rate(st)
    if width <= 0 or height <= 0 or rate is None:
        raise UnreadableVideo("the video stream has no size or frame rate")
    pts = tuple(float(p["pts_time"]) for p in doc.get("packets", []) if p.get("pts_time") not in (None, "N/A"))
    return ClipInfo(width=width, height=height, rate=rate, pts=pts)


def probe_clip(path: Path, *, ffprobe: str = "ffprobe", timeout: float = 60.0) -> ClipInfo:
    """Measure a clip's video stream without decoding it."""
    if not path.is_file():
        raise UnreadableVideo(f"no such file: {path.name}")
    cmd = [ffprobe, "-v", "error", "-select_streams", "v:0", "-of", "json",
           "-show_entries", "stream=codec_type,width,height,avg_frame_rate,r_frame_rate",
           "-show_entries", "packet=pts_time", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UnreadableVideo("ffprobe did not finish in time", timeout=timeout) from exc
    except OSError as exc:
        raise UnreadableVideo(f"ffprobe cannot run: {exc}") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-300:]
        raise UnreadableVideo(f"not a readable video: {tail or 'ffprobe failed'}")
    try:
        return parse_probe(json.loads(done.stdout))
    except ValueError as exc:
        raise UnreadableVideo("ffprobe printed no usable JSON") from exc


def decode_args(ffmpeg: str, src: Path, *, size: tuple[int, int] | None = None, seek: float | None = None,
                frames: int | None = None) -> list[str]:
    """ffmpeg decoding the first video stream of ``src`` to raw RGB frames on stdout, one per decoded frame,
    scaled to ``size`` (width, height) when given; from presentation time ``seek`` and at most ``frames``."""
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error"]
    if seek is not None:
        cmd += ["-seek_timestamp", "1", "-ss", f"{seek:.6f}"]
    cmd += ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn"]
    if size is not None:
        cmd += ["-vf", f"scale={size[0]}:{size[1]}:flags=area"]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    return cmd + ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]


def encode_args(ffmpeg: str, dst: Path, *, width: int, height: int, rate: str, crf: int = 18,
                preset: str = "veryfast") -> list[str]:
    """ffmpeg encoding raw RGB frames from stdin to an H.264 MP4 at ``dst`` with the given size and frame rate."""
    return [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", rate, "-i", "-",
            "-an", "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", str(dst)]


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read().decode("utf-8", "replace").strip()[-300:]


def _spawn(cmd: list[str], *, stdin: int | None, stdout: int | None, stderr: IO[bytes],
           error: type[UnreadableVideo] | type[EncodeFailed]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr)
    except OSError as exc:
        raise error(f"ffmpeg cannot run: {exc}") from exc


class FrameReader:
    """Raw RGB frames of ``width`` × ``height`` from an ffmpeg decoding ``cmd``, read ahead by a thread."""

    def __init__(self, cmd: list[str], *, width: int, height: int) -> None:
        self.shape = (height, width, 3)
        self._size = width * height * 3
        self._stderr = tempfile.TemporaryFile()
        self._proc = _spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                            error=UnreadableVideo)
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="redaction-decode", daemon=True)
        self._thread.start()
        self.count = 0

    def _pump(self) -> None:
        stdout = cast(io.BufferedReader, self._proc.stdout)
        try:
            while not self._stop.is_set():
                frame = np.empty(self.shape, np.uint8)
                view, got = frame.data.cast("B"), 0
                while got < self._size:
                    n = stdout.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got < self._size:
                    break  # the end (a partial frame at the end is ffmpeg's failure, reported by close)
                while not self._stop.is_set():
                    with contextlib.suppress(queue.Full):
                        self._queue.put(frame, timeout=0.5)
                        break
        except (OSError, ValueError):
            pass  # the pipe was closed by close()
        finally:
            while not self._stop.is_set():
                with contextlib.suppress(queue.Full):
                    self._queue.put(None, timeout=0.5)
                    break

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                frame = self._queue.get(timeout=STALL_SECONDS)
            except queue.Empty as exc:
                raise UnreadableVideo("ffmpeg stopped sending frames") from exc
            if frame is None:
                return
            self.count += 1
            yield frame

    def finish(self) -> None:
        """Wait for ffmpeg's end; a failed decode raises :class:`UnreadableVideo` with ffmpeg's message."""
        try:
            code = self._proc.wait(timeout=STALL_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise UnreadableVideo("ffmpeg did not finish decoding") from exc
        if code != 0 or self.count == 0:
            raise UnreadableVideo(f"not a readable video: {_tail(self._stderr) or 'no frame decoded'}")

    def close(self) -> None:
        """Stop ffmpeg and the thread (also when the frames were not all read)."""
        self._stop.set()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._thread.join(timeout=5)
        self._stderr.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class FrameWriter:
    """Raw RGB frames handed to an ffmpeg encoding ``cmd``, written by a thread."""

    def __init__(self, cmd: list[str]) -> None:
        self._stderr = tempfile.TemporaryFile()
        self._proc = _spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
                            error=EncodeFailed)
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._pump, name="redaction-encode", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (frame := self._queue.get()) is not None:
                stdin.write(frame.data.cast("B"))
        except (OSError, ValueError) as exc:
            self._failed = exc
            while self._queue.get() is not None:  # let write() and finish() go on to report it
                pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def write(self, frame: Frame) -> None:
        """Queue one frame (the writer keeps it until written: do not change it afterwards)."""
        if self._failed is not None:
            raise EncodeFailed(f"the redacted copy could not be encoded: {_tail(self._stderr) or self._failed}")
        try:
            self._queue.put(frame, timeout=STALL_SECONDS)
        except queue.Full as exc:
            raise EncodeFailed("ffmpeg stopped taking frames") from exc

    def finish(self) -> None:
        """Flush, wait for ffmpeg to finish the file; a failure raises :class:`EncodeFailed`."""
        self._queue.put(None)
        self._thread.join()
        try:
            code = self._proc.wait(timeout=STALL_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise EncodeFailed("ffmpeg did not finish encoding") from exc
        if code != 0 or self._failed is not None:
            raise EncodeFailed(f"the redacted copy could not be encoded: {_tail(self._stderr) or code}")

    def close(self) -> None:
        """Stop ffmpeg and the thread, whatever state they are in."""
        if self._thread.is_alive():
            if self._proc.poll() is None:
                self._proc.kill()
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=1)
            self._thread.join(timeout=5)
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._stderr.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
