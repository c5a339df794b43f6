"""A visible per-recipient watermark (recipient, request number, time) burnt into a clip with ffmpeg ``drawtext``.

The text is handed to ffmpeg in a file (``textfile``, with ``expansion=none``), so no character of a name or a
number can be read as filter syntax or as a ``%{…}`` expansion; only the file's path is escaped, on both levels
ffmpeg reads a filter graph with (the option value, then the graph). Burning text in means encoding the video
again (H.264, ``-crf 18``): the clip released is then a new file, and :class:`~kgys.evidence.package.Watermark`
records the hash of the file it was burnt into, so the chain back to the recorded segments stays visible.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kgys import localtime
from kgys.errors import ConfigurationError
from kgys.evidence.package import FileDigest, Watermark
from kgys.evidence.package_build import file_sha256

_VALUE_SPECIAL = ("\\", "'", ":")
_GRAPH_SPECIAL = ("\\", "'", "[", "]", ",", ";")


def escape_value(text: str) -> str:
    """``text`` as one option value of a filter (``\\``, ``'`` and ``:`` escaped). Pure."""
    for c in _VALUE_SPECIAL:
        text = text.replace(c, "\\" + c)
    return text


def escape_graph(text: str) -> str:
    """A filter's description as part of a filter graph (``\\ ' [ ] , ;`` escaped). Pure."""
    out = []
    for c in text:
        out.append("\\" + c if c in _GRAPH_SPECIAL else c)
    return "".join(out)


def watermark_text(*, recipient: str, request_number: str, at: datetime, zone: ZoneInfo) -> str:
    """The lines burnt in: who receives the copy, for which request, and when it was made (local time with its
    offset). Pure."""
    when = localtime.to_local(at, zone).strftime("%Y-%m-%d %H:%M:%S %z")
    return f"{recipient}\n{request_number}\n{when}"


def drawtext_filter(*, textfile: Path, fontfile: Path | None = None) -> str:
    """The ``drawtext`` filter writing ``textfile``'s lines at the lower left, white on a half-dark box, sized to
    the picture's height. Pure."""
    opts = [f"textfile={escape_value(str(textfile))}", "expansion=none", "fontsize=h/24", "fontcolor=white",
            "box=1", "boxcolor=black@0.55", "boxborderw=6", "line_spacing=4", "x=w/40", "y=h-th-h/40"]
    if fontfile is not None:
        opts.insert(1, f"fontfile={escape_value(str(fontfile))}")
    return escape_graph("drawtext=" + ":".join(opts))


def watermark_args(*, ffmpeg: str, source: Path, out: Path, textfile: Path, fontfile: Path | None = None,
                   crf: int = 18, preset: str = "veryfast") -> list[str]:
    """The ffmpeg command burning the text into ``source``'s video and writing the MP4 ``out``. Pure."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-map", "0:v:0",
            "-vf", drawtext_filter(textfile=textfile, fontfile=fontfile), "-c:v", "libx264", "-preset", preset,
            "-crf", str(crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(out)]


def burn_watermark(*, ffmpeg: str, source: Path, out: Path, text: str, fontfile: Path | None = None,
                   timeout: float = 3600.0) -> Watermark:
    """Write ``out``: ``source`` with ``text`` burnt in; the record names the source file's hash. ConfigurationError
    with ffmpeg's last words when it fails."""
    textfile = out.with_name(out.name + ".txt")
    textfile.write_text(text, encoding="utf-8")
    try:
        done = subprocess.run(watermark_args(ffmpeg=ffmpeg, source=source, out=out, textfile=textfile,
                                             fontfile=fontfile), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"cannot run {ffmpeg} to burn the watermark in: {exc}") from exc
    finally:
        textfile.unlink(missing_ok=True)
    if done.returncode != 0 or not out.exists():
        raise ConfigurationError("ffmpeg could not burn the watermark in: "
                                 + done.stderr.decode(errors="replace")[-300:])
    return Watermark(text=text, source=FileDigest(file_sha256(source), source.stat().st_size))
