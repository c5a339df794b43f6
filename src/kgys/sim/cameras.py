"""Simulated cameras: a looping 1080p test clip made once with ffmpeg, served as N RTSP streams.

The clip (``DATA_DIR/sim/clip-<codec>-<seconds>s.mp4``) is testsrc2 with a running clock, 25 fps, one
keyframe a second, no B-frames, about 4 Mbit/s, H.264 (libx264) or H.265 (libx265). The server is
:mod:`kgys.sim.rtsp_server`, run under the system Python because it needs GStreamer's ``gi`` bindings;
one process serves every stream, ``rtsp://127.0.0.1:PORT/cam1`` … ``camN``.
"""

from __future__ import annotations

import logging
import os
import selectors
import subprocess
import time
from pathlib import Path
from types import TracebackType

from kgys.errors import ConfigurationError

log = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
FPS = 25
DEBIAN_PACKAGES = ("gir1.2-gst-rtsp-server-1.0", "python3-gi", "gstreamer1.0-plugins-good",
                   "gstreamer1.0-plugins-bad", "gstreamer1.0-libav")


def clip_args(*, ffmpeg: str, codec: str, seconds: int, out: Path, clock: bool) -> list[str]:
    """The ffmpeg command that makes the looping test clip."""
    vf = ["-vf", "drawtext=text='KGYS SIM %{pts\\:hms}':x=40:y=40:fontsize=56:fontcolor=white:"
                 "box=1:boxcolor=black@0.6"] if clock else []
    if codec == "h264":
        enc = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "0",
               "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0"]
    elif codec == "h265":
        enc = ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
               "-x265-params", f"bframes=0:keyint={FPS}:min-keyint={FPS}:scenecut=0:log-level=error"]
    else:
        raise ConfigurationError(f"unknown codec {codec!r}; use h264 or h265", codec=codec)
    return [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}:duration={seconds}",
            *vf, *enc, "-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(out)]


def has_drawtext(ffmpeg: str) -> bool:
    """Whether this ffmpeg can draw text (needs libfreetype)."""
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-filters"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b" drawtext " in out.stdout


def ensure_clip(*, data_dir: Path, codec: str = "h264", seconds: int = 10, ffmpeg: str = "ffmpeg") -> Path:
    """The test clip for ``codec``, generated on first use."""
    path = data_dir / "sim" / f"clip-{codec}-{seconds}s.mp4"
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.mp4")
    cmd = clip_args(ffmpeg=ffmpeg, codec=codec, seconds=seconds, out=tmp, clock=has_drawtext(ffmpeg))
    log.info("generating the %s test clip (%d s) in %s", codec, seconds, path)
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"cannot generate the test clip with {ffmpeg}: {exc}") from exc
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ConfigurationError(f"ffmpeg could not make the test clip: {proc.stderr.decode(errors='replace')[-400:]}")
    os.replace(tmp, path)
    return path


class SimCameras:
    """A running RTSP server with ``count`` looping streams; stop and start single cameras."""

    def __init__(self, *, clip: Path, codec: str, count: int, port: int, python: str = SYSTEM_PYTHON) -> None:
        self.clip, self.codec, self.count, self.port, self.python = clip, codec, count, port, python
        self.proc: subprocess.Popen[str] | None = None

    def url(self, n: int) -> str:
        """The stream URL of camera ``n`` (1-based)."""
        return f"rtsp://127.0.0.1:{self.port}/cam{n}"

    def start(self, timeout: float = 30.0) -> SimCameras:
        """Start the server and wait until it listens."""
        if not Path(self.python).exists():
            raise ConfigurationError(f"{self.python} not found; the RTSP server needs the system Python")
        self.proc = subprocess.Popen(
            [self.python, str(SERVER_SCRIPT), str(self.clip), self.codec, str(self.port), str(self.count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)
        line = self._read_line(timeout)
        if not line.startswith("ready"):
            self.close()
            raise ConfigurationError(
                f"the RTSP server did not start (is GStreamer installed? apt-get install {' '.join(DEBIAN_PACKAGES)})")
        return self

    def _read_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    return self.proc.stdout.readline().strip()
                if self.proc.poll() is not None:
                    return ""
            return ""
        finally:
            sel.close()

    def _command(self, text: str) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.poll() is not None:
            raise ConfigurationError("the RTSP server is not running")
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        self._read_line(10.0)

    def stop_camera(self, n: int) -> None:
        """Take camera ``n`` offline: its stream ends and new connections are refused."""
        self._command(f"stop cam{n}")

    def start_camera(self, n: int) -> None:
        """Bring camera ``n`` back."""
        self._command(f"start cam{n}")

    def pause_camera(self, n: int) -> None:
        """Hang camera ``n``: connections stay open, no data flows."""
        self._command(f"pause cam{n}")

    def resume_camera(self, n: int) -> None:
        """Let camera ``n`` send again."""
        self._command(f"resume cam{n}")

    def wait(self) -> int:
        """Block until the server exits; its exit status."""
        assert self.proc is not None
        return self.proc.wait()

    def close(self) -> None:
        """Stop the server."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> SimCameras:
        return self.start() if self.proc is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
