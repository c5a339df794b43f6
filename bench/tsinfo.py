"""The segment reader: kgys's own MPEG-TS/H.264/H.265 reader (``kgys.media.tsinfo``) against PyAV.

Real segments are cut by ffmpeg (``-c copy -f segment``, as the recorder's ffmpeg writes them) from the
simulated cameras' 1080p clips, looped to the wanted length. On each segment, in the same run:

- the check every segment gets (``inspect``: codec, resolution, keyframe at the start, duration), by hand
  from the segment's first and last 256 KiB, and with PyAV opening the file (FFmpeg's probing as it comes,
  and with the smallest probe that still names the codec and the size);
- the measurement a camera gets every ten minutes (``measure``: frame rate, bit rate, keyframe interval
  too, over the whole segment), by hand and with PyAV demuxing every packet.

Each is timed in CPU seconds of this process (the fastest of ``--repeat``), and its result is compared with
the hand-written one field by field. The last column projects the CPU onto the target load: 128 cameras,
one segment every ``--seconds`` per camera for the check, one measurement per camera every 600 s.

PyAV is not a dependency of kgys: ``pip install -e '.[bench]'`` (it pins the version measured).
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from bench import common
from kgys.media.probe import StreamInfo
from kgys.media.tsinfo import frame_rate, inspect_file, measure
from kgys.sim.cameras import ensure_clip

CAMERAS = 128
MEASURE_EVERY = 600.0


@dataclass(frozen=True)
class Checked:
    """The fields of a segment's check that kgys stores or decides on."""

    codec: str | None
    width: int
    height: int
    keyframe_at_start: bool
    duration: float  # rounded to the millisecond


CODECS = {"h264": "h264", "hevc": "h265"}


def hand_inspect(path: Path) -> Checked:
    """kgys's own check reader."""
    info = inspect_file(path)
    return Checked(info.codec, info.width, info.height, info.keyframe_at_start, round(info.duration, 3))


def av_inspect(path: Path, **options: str) -> Checked:
    """The same facts through PyAV: the container's probe, the first packet, the duration FFmpeg estimates."""
    with av.open(str(path), options=options) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        first = next((p for p in container.demux(stream) if p.pts is not None), None)
        duration = container.duration / 1_000_000 if container.duration else 0.0
        return Checked(CODECS.get(ctx.name, ctx.name), ctx.width, ctx.height,
                       bool(first and first.is_keyframe), round(duration, 3))


def hand_measure(path: Path) -> StreamInfo:
    """kgys's own measurement, over the whole segment."""
    return measure(path.read_bytes())


def av_measure(path: Path) -> StreamInfo:
    """The same measurement from every packet PyAV demuxes: its time, size and keyframe flag."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        base = float(stream.time_base or 0)
        packets = [(p.pts * base, p.size, p.is_keyframe) for p in container.demux(stream) if p.pts is not None]
        times = sorted(t for t, _s, _k in packets)
        steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
        step = statistics.median(steps) if steps else 0.0
        duration = times[-1] - times[0] + step if step else None
        keys = sorted(t for t, _s, k in packets if k)
        key_steps = [b - a for a, b in zip(keys, keys[1:], strict=False)]
        es = sum(s for _t, s, _k in packets)
        return StreamInfo(
            codec=CODECS.get(ctx.name, ctx.name), width=ctx.width, height=ctx.height,
            fps=frame_rate(len(times), times[-1] - times[0]),
            bitrate_kbps=round(es * 8 / duration / 1000, 1) if duration else None,
            keyframe_interval=round(sum(key_steps) / len(key_steps), 3) if key_steps else None,
            duration=duration, keyframe_at_start=bool(packets and packets[0][2]))


def same_stream(a: StreamInfo, b: StreamInfo) -> list[str]:
    """The fields in which two measurements differ (durations within a millisecond count as equal)."""
    out = [f for f in ("codec", "width", "height", "fps", "bitrate_kbps", "keyframe_interval", "keyframe_at_start")
           if getattr(a, f) != getattr(b, f)]
    if (a.duration is None) != (b.duration is None) or abs((a.duration or 0) - (b.duration or 0)) > 0.001:
        out.append("duration")
    return out


def same_check(a: Checked, b: Checked) -> list[str]:
    """The fields in which two checks differ (durations within a millisecond count as equal)."""
    out = [f for f in ("codec", "width", "height", "keyframe_at_start") if getattr(a, f) != getattr(b, f)]
    if abs(a.duration - b.duration) > 0.001:
        out.append("duration")
    return out


def cpu(fn: Callable[[Path], Any], path: Path, repeat: int) -> tuple[float, Any]:
    """The fewest CPU seconds of ``repeat`` calls, and the result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn(path)
        best = min(best, time.process_time() - t0)
    return best, result


def cut(clip: Path, out_dir: Path, *, seconds: float, count: int) -> list[Path]:
    """``count`` segments of about ``seconds`` cut from ``clip`` looped, as the recorder's ffmpeg cuts them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip),
                    "-t", f"{seconds * count:g}", "-map", "0:v:0", "-c", "copy", "-f", "segment",
                    "-segment_format", "mpegts", "-segment_time", f"{seconds:g}", "-reset_timestamps", "1",
                    str(out_dir / "s%04d.ts")], check=True, timeout=600)
    return sorted(out_dir.glob("s*.ts"))[:count]


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0])
    p.add_argument("--codecs", default="h264,h265", help="clips to cut segments from (default h264,h265)")
    p.add_argument("--seconds", type=float, default=10.0, help="segment length (default 10, the recorder's)")
    p.add_argument("--segments", type=int, default=12, help="segments per codec (default 12)")
    p.add_argument("--repeat", type=int, default=5, help="timings per segment, the fastest kept (default 5)")
    p.add_argument("--clip-dir", type=Path, default=None, help="keep the generated clips here between runs")
    args = p.parse_args()
    paths: dict[str, Callable[[Path], Any]] = {
        "check — kgys (head and tail)": hand_inspect,
        "check — PyAV, FFmpeg's default probe": av_inspect,
        "check — PyAV, smallest probe": lambda path: av_inspect(path, probesize="32768", analyzeduration="0"),
        "measure — kgys (every packet)": hand_measure,
        "measure — PyAV (every packet)": av_measure,
    }
    baseline = {"check": "check — kgys (head and tail)", "measure": "measure — kgys (every packet)"}
    with tempfile.TemporaryDirectory(prefix="kgys-bench-ts-") as tmp:
        clip_dir = args.clip_dir or Path(tmp)
        segments: list[Path] = []
        for codec in args.codecs.split(","):
            clip = ensure_clip(data_dir=clip_dir, codec=codec, seconds=10)
            segments += cut(clip, Path(tmp) / codec, seconds=args.seconds, count=args.segments)
        times: dict[str, list[float]] = {name: [] for name in paths}
        differ: dict[str, dict[str, int]] = {name: {} for name in paths}
        for seg in segments:
            results = {}
            for name, fn in paths.items():
                spent, results[name] = cpu(fn, seg, args.repeat)
                times[name].append(spent)
            for name in paths:
                ref = results[baseline[name.split(" ")[0]]]
                diff = same_check(ref, results[name]) if name.startswith("check") \
                    else same_stream(ref, results[name])
                for field in diff:
                    differ[name][field] = differ[name].get(field, 0) + 1
        size = statistics.mean(s.stat().st_size for s in segments) / 1e6
    rows = []
    for name, spent in times.items():
        kind = name.split(" ")[0]
        per_second = CAMERAS / args.seconds if kind == "check" else CAMERAS / MEASURE_EVERY
        median = statistics.median(spent)
        base = statistics.median(times[baseline[kind]])
        diff = ", ".join(f"{f} ({n})" for f, n in sorted(differ[name].items())) or "none"
        rows.append([name, f"{median * 1000:.2f}", f"{common.percentile(spent, 95) * 1000:.2f}",
                     f"{median / base:.1f}×", f"{median * per_second * 100:.1f} %", diff])
    body = common.table(["reader", "CPU ms per segment p50", "p95", "÷ kgys", f"% of one core at {CAMERAS} cameras",
                         "fields that differ from kgys (segments)"], rows)
    common.report(f"segment reader — {len(segments)} segments of {args.seconds:g} s ({args.codecs}, "
                  f"{size:.1f} MB on average), PyAV {av.__version__}", body, kinds=(), append=args.append_results,
                  notes=[f"The check runs on every segment ({CAMERAS} cameras ÷ {args.seconds:g} s = "
                         f"{CAMERAS / args.seconds:g} a second), the measurement once per camera every "
                         f"{MEASURE_EVERY:g} s. CPU is this process's (user + system), the fastest of "
                         f"{args.repeat} runs per segment."])


if __name__ == "__main__":
    main()
