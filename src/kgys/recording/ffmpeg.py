"""ffmpeg argument lists for recording a camera. Pure.

One ffmpeg per camera reads RTSP over TCP and copies the video (H.264 or H.265, no re-encoding) into
segments of about ``segment_seconds`` in the camera's spool directory. ffmpeg cuts only at keyframes, so
every segment starts with one.

Segments are MPEG-TS, not MP4. An MP4 file is readable only once its index (``moov``) is written at
the end, so an ffmpeg that is killed mid-segment leaves an unreadable file and the seconds in it are
lost; fragmented MP4 loses the fragment being written. MPEG-TS has no index: every 188-byte packet
stands alone, so a file cut off at any byte is readable up to its last whole packet, and the footage
until the moment of a crash is kept. TS also carries H.265, and HLS players read it as it is.

Every frame is written to the file as soon as it arrives (``flush_packets=1`` on the segment's own muxer;
ffmpeg's top-level ``-flush_packets`` does not reach the files the segment muxer opens), so the live view can
follow the growing spool file as the camera sends it (:mod:`kgys.live.lowlat`). Without it the file grows in
256 KiB steps, about half a second at 4 Mbit/s. Each frame's PES packet states its length
(``omit_video_pes_length=0``; frames under 64 KiB), so the live view knows a frame is whole when its last byte
arrives instead of when the next frame begins.

File names are ``<run>_<UTC start, seconds>Z.ts`` (:mod:`kgys.media.segments` names and reads them).
ffmpeg's ``strftime`` uses local time, so the process must run with ``TZ=UTC`` (see :func:`record_env`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from kgys.media.segments import SEGMENT_SUFFIX


@dataclass(frozen=True)
class RecordSpec:
    """Everything needed to start recording one camera."""

    url: str
    spool_dir: Path
    run: str
    segment_seconds: float = 10.0
    timeout_seconds: float = 5.0
    ffmpeg_path: str = "ffmpeg"


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The stream URL with user and password inserted (both percent-encoded); unchanged without a user."""
    if not username:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password or '', safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact(url: str) -> str:
    """The URL without a password, for logs and stored reasons."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s:/@]*):([^\s@/]*)@")


def redact_text(text: str) -> str:
    """``text`` (an ffmpeg message, say) with the password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", text)


def record_args(spec: RecordSpec) -> list[str]:
    """The ffmpeg command line recording ``spec.url`` into segments in ``spec.spool_dir``."""
    pattern = spec.spool_dir / f"{spec.run}_%Y%m%dT%H%M%SZ{SEGMENT_SUFFIX}"
    return [
        spec.ffmpeg_path, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
        "-rtsp_transport", "tcp",
        "-timeout", str(int(spec.timeout_seconds * 1_000_000)),
        "-i", spec.url,
        "-map", "0:v:0",
        "-c", "copy",
        "-f", "segment",
        "-segment_format", "mpegts",
        "-segment_format_options", "flush_packets=1:omit_video_pes_length=0",
        "-segment_time", f"{spec.segment_seconds:g}",
        "-reset_timestamps", "1",
        "-strftime", "1",
        str(pattern),
    ]


def record_env(base: dict[str, str]) -> dict[str, str]:
    """The environment for a recording ffmpeg: ``base`` with ``TZ=UTC`` so file names carry UTC times."""
    env = dict(base)
    env["TZ"] = "UTC"
    return env
