"""Face redaction at 720p: kgys's detection pass + apply pass next to the ``deface`` command on the same clip.

The clip is made by ffmpeg for the run, without downloading anything: ``testsrc2`` (moving colour bars and
text) at 1280×720, 25 frames/s, with two copies of a real photograph of a face sliding across it
(scikit-image's ``astronaut``, which ships inside its wheel): one 360 px tall (the face about 65 × 85 px)
and one 200 px tall, mirrored (the face about 35 × 45 px). ``--content testsrc`` measures the bare test
pattern instead (no face: the detector runs, nothing is hidden).

In one run, each on the same clip, every one writing a blurred H.264 MP4:

- ``deface`` — the deface command from this environment as it comes (detector on the full frame, OpenCV);
- ``deface --scale 640x360`` — the same with the detector on frames scaled to 640 px across;
- ``kgys`` — :func:`detect_faces` then :func:`apply_redaction` as kgys runs them (detector at 640 px);
- ``kgys, full frame`` — the same with the detector on the full frame (``detect_width=0``).

Frames per second is frames ÷ wall-clock seconds of the whole job (deface's includes starting its Python,
~1 s); CPU is user + system of every process involved (ffmpeg included), per frame. The goal: kgys's rate
≥ the ``deface`` command's.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
from skimage import data as skdata

from bench import common
from kgys.evidence.redaction_video import apply_redaction, detect_faces

W, H, FPS = 1280, 720, 25


def make_clip(folder: Path, *, seconds: float, content: str) -> Path:
    """The 720p clip of the run (see the module's docstring)."""
    out = folder / f"{content}.mp4"
    base = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}"]
    if content == "testsrc":
        cmd = [*base, "-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
               "-pix_fmt", "yuv420p", str(out)]
    else:
        photo = folder / "astronaut.png"
        cv2.imwrite(str(photo), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
        graph = ("[1]split[a][b];[a]scale=360:360[big];[b]scale=200:200,hflip[small];"
                 f"[0][big]overlay=x='100+30*t':y=60[t];[t][small]overlay=x='{W - 320}-25*t':y=440:shortest=1,"
                 "format=yuv420p")
        cmd = [*base, "-loop", "1", "-framerate", str(FPS), "-i", str(photo), "-filter_complex", graph,
               "-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(out)]
    subprocess.run(cmd, check=True, timeout=600)
    return out


@dataclass
class Run:
    """One timed job: wall seconds, CPU seconds, and what it found (kgys only)."""

    wall: float
    cpu: float
    found: str


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(job: Callable[[], str]) -> Run:
    """Run ``job`` and measure it."""
    cpu0, t0 = _cpu(), time.perf_counter()
    found = job()
    return Run(time.perf_counter() - t0, _cpu() - cpu0, found)


def deface_job(clip: Path, out: Path, scale: str | None) -> Callable[[], str]:
    """The deface command on ``clip``."""
    exe = Path(sys.executable).parent / "deface"

    def job() -> str:
        cmd = [str(exe), str(clip), "-o", str(out), "--backend", "opencv", *(["--scale", scale] if scale else [])]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
        if not out.is_file():
            raise SystemExit(f"deface wrote no {out.name}")
        return "—"
    return job


def kgys_job(clip: Path, out: Path, detect_width: int) -> Callable[[], str]:
    """kgys's detection pass and apply pass on ``clip``."""
    def job() -> str:
        found = detect_faces(clip, detect_width=detect_width)
        result = apply_redaction(clip, out, detections=found)
        return f"{len(found.frames)} frames, {result.regions_applied} faces"
    return job


HEADERS = ["job", "seconds", "frames/s", "÷ deface", "CPU ms per frame", "kgys found"]
JOBS = ("deface", "deface --scale 640x360", "kgys (detector at 640 px)", "kgys, full frame")


def compare(folder: Path, *, seconds: float, content: str, rounds: int,
            only: str = "") -> tuple[list[list[str]], dict[str, float]]:
    """Make the clip in ``folder`` and run every job (those whose name contains one of the comma-separated
    ``only``, when given) ``rounds`` times, alternating; the table's rows (medians) and each job's frames/s."""
    clip = make_clip(folder, seconds=seconds, content=content)
    frames = round(seconds * FPS)
    jobs = {
        JOBS[0]: deface_job(clip, folder / "deface.mp4", None),
        JOBS[1]: deface_job(clip, folder / "deface-640.mp4", "640x360"),
        JOBS[2]: kgys_job(clip, folder / "kgys.mp4", 640),
        JOBS[3]: kgys_job(clip, folder / "kgys-full.mp4", 0),
    }
    if only:
        wanted = only.split(",")
        jobs = {name: job for name, job in jobs.items() if any(w.strip() in name for w in wanted)}
    runs: dict[str, list[Run]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            runs[name].append(timed(job))
            print(f"{name}: {runs[name][-1].wall:.1f} s", file=sys.stderr)
    rate = {name: frames / statistics.median(r.wall for r in rs) for name, rs in runs.items()}
    base = rate.get("deface")
    rows = []
    for name, rs in runs.items():
        wall, cpu = statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs)
        rows.append([name, f"{wall:.1f}", f"{rate[name]:.2f}", f"{rate[name] / base:.2f}×" if base else "—",
                     f"{cpu / frames * 1000:.0f}", rs[-1].found])
    return rows, rate


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="length of the clip (default 10 s, 250 frames)")
    p.add_argument("--content", choices=("faces", "testsrc"), default="faces",
                   help="faces: the test pattern with two photographs of a face (default); testsrc: no face")
    p.add_argument("--rounds", type=int, default=1, help="runs of every job, alternating; the median is kept")
    p.add_argument("--only", default="", help="comma-separated job names to run (default: all)")
    args = p.parse_args()
    common.install_signal_cleanup()
    with tempfile.TemporaryDirectory(prefix="kgys-bench-redact-") as tmp:
        rows, _ = compare(Path(tmp), seconds=args.seconds, content=args.content, rounds=args.rounds, only=args.only)
    frames = round(args.seconds * FPS)
    body = common.table(HEADERS, rows)
    common.report(f"face redaction — {args.seconds:g} s of {W}×{H} at {FPS} frames/s ({frames} frames, "
                  f"{args.content}), {os.cpu_count()} cores", body, kinds=(), append=args.append_results,
                  notes=["Goal: kgys's frames/s ≥ the deface command's (÷ deface ≥ 1). Median of "
                         f"{args.rounds} round(s); every job writes a blurred H.264 MP4 of the whole clip."])


if __name__ == "__main__":
    main()
