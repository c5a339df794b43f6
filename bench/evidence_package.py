"""The package half of ``bench/evidence.py``: recorded footage made for the run, a bare ``ffmpeg -c copy`` concat of
it, and kgys building a signed evidence package from the same segments.

The footage: one short base clip of ffmpeg's ``testsrc2`` pattern (moving colour bars, a clock and text) at
1920×1080, 25 frames/s, H.264 from libx264 (``ultrafast``, constant bit rate with filler, a keyframe every 2 s),
encoded once; then, per camera, one ``ffmpeg -stream_loop -1 … -c copy -f segment`` repeats it for the run's
length and cuts MPEG-TS segments of ``recording.segment_seconds`` as the recorder's ffmpeg does (timestamps keep
running from one segment to the next, and each camera's stream carries its own service name and number, so every
segment's bytes differ). Each segment is hashed and chained to the one before (``GENESIS`` for the first) exactly
as the recording's index holds them; the chain is real and the package builder checks it.

The two sides, each timed as wall-clock seconds and CPU (user + system of this process and its children):

- bare: per camera, ``ffmpeg -f concat -safe 0 -i LIST -map 0:v:0 -c copy OUT.mp4``, one camera after another;
- kgys: the audit proof of the release read from a database (:func:`kgys.evidence.package_audit.collect`), each
  camera's clip cut by :func:`kgys.live.flows.clip.join` (what exports use: concat ``-c copy`` with
  ``+faststart`` and progress), then :func:`kgys.evidence.package_build.build_package` signing the zip with the
  runtime's audit key (copying and hashing each clip, checking the chain, fsync, hashing the finished package).

The database is a throwaway SQLite one with the release's steps written by the audit service, each sealed by a
signed checkpoint, with other matters' entries between them, as the release flow leaves them.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit import service as audit_service
from kgys.evidence import package_audit
from kgys.evidence.package import (
    Approval,
    AuditProof,
    ClipIn,
    DecisionRef,
    PackageIn,
    Recipient,
    RequestRef,
    SegmentLink,
)
from kgys.evidence.package_build import BuiltPackage, build_package, file_sha256
from kgys.live.flows import clip
from kgys.recording.footage import SegmentRef
from kgys.recording.models import GENESIS
from kgys.recording.storage import LocalStorage
from kgys.runtime import Runtime

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
W, H, FPS, GOP = 1920, 1080, 25, 50
ZONE = ZoneInfo("Europe/Istanbul")


@dataclass(frozen=True)
class Camera:
    """One camera's recorded segments, as the index lists them."""

    camera_id: int
    segments: list[SegmentRef]

    @property
    def bytes(self) -> int:
        """The bytes of all its segments."""
        return sum(s.bytes for s in self.segments)


@dataclass
class Phase:
    """One timed phase: wall seconds, CPU seconds, the 1-minute load average when it began, its parts, and the
    seconds of the ``sync`` right after it (writing back what it left in the page cache; not in ``wall``)."""

    wall: float = 0.0
    cpu: float = 0.0
    load: float = 0.0
    sync_after: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(job: Callable[[Phase], None]) -> Phase:
    """Flush dirty pages first (so that neither side pays for the other's writes), then run and measure ``job``."""
    os.sync()
    phase = Phase(load=os.getloadavg()[0])
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    job(phase)
    phase.wall, phase.cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    t1 = time.perf_counter()
    os.sync()
    phase.sync_after = time.perf_counter() - t1
    return phase


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, timeout=7200)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} … exited with {done.returncode}: {done.stderr.decode()[-1500:]}")


def make_footage(root: Path, *, cameras: int, minutes: float, mbps: float, segment_seconds: float,
                 base_seconds: float) -> list[Camera]:
    """Write each camera's segments under ``root`` (the segment store) and return them with their hash chain."""
    base = root / "base.ts"
    rate = f"{mbps:g}M"
    _run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}", "-t", f"{base_seconds:g}",
          "-c:v", "libx264", "-preset", "ultrafast", "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0",
          "-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate, "-x264-params", "nal-hrd=cbr",
          "-pix_fmt", "yuv420p", "-f", "mpegts", str(base)])
    out = []
    for cam in range(1, cameras + 1):
        folder = root / f"cam{cam}"
        folder.mkdir()
        _run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(base), "-t", f"{minutes * 60:g}",
              "-map", "0:v:0", "-c", "copy", "-metadata", f"service_name=camera {cam}", "-mpegts_service_id",
              str(cam), "-f", "segment", "-segment_time", f"{segment_seconds:g}", "-reset_timestamps", "0",
              "-segment_format", "mpegts", str(folder / "%05d.ts")])
        refs: list[SegmentRef] = []
        prev = GENESIS
        for i, path in enumerate(sorted(folder.iterdir())):
            start = T0 + timedelta(seconds=i * segment_seconds)
            sha = file_sha256(path)
            refs.append(SegmentRef(id=cam * 100_000 + i, camera_id=cam, start=start,
                                   end=start + timedelta(seconds=segment_seconds), duration=segment_seconds,
                                   bytes=path.stat().st_size, sha256=sha, prev_sha256=prev,
                                   key=path.relative_to(root).as_posix(), codec="h264"))
            prev = sha
        out.append(Camera(cam, refs))
    base.unlink()
    return out


def bare_concat(cameras: list[Camera], root: Path, work: Path) -> Phase:
    """Time the bare ``ffmpeg -f concat -c copy`` of each camera's segments into an MP4; the MP4s are removed
    afterwards (outside the timing)."""
    work.mkdir(parents=True, exist_ok=True)
    lists = []
    for cam in cameras:
        listing = work / f"cam{cam.camera_id}.txt"
        listing.write_text("".join(f"file '{root / s.key}'\n" for s in cam.segments))
        lists.append(listing)

    def job(_phase: Phase) -> None:
        for listing in lists:
            _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                  "-i", str(listing), "-map", "0:v:0", "-c", "copy", str(listing.with_suffix(".mp4"))])

    phase = timed(job)
    shutil.rmtree(work)
    return phase


RELEASE_STEPS = (("evidence.request", "footage_request", 1), ("legal_hold.create", "legal_hold", 1),
                 ("evidence_decision.create", "evidence_decision", 1),
                 ("evidence_approval.create", "evidence_approval", 1),
                 ("evidence_release.create", "evidence_release", 1))


def write_release(session: Session, rt: Runtime) -> None:
    """The release's steps in the audit log, each sealed, with another matter's entries before and between."""
    actor = system_actor("bench")
    for action, otype, oid in RELEASE_STEPS:
        for n in range(3):
            audit_service.append(session, actor=actor, action="camera.update", object_type="camera", object_id=90 + n,
                                 reason="another matter")
        audit_service.append(session, actor=actor, action=action, object_type=otype, object_id=oid,
                             reason="soruşturma 2026/1234", legal_basis="İstanbul 3. SCH 2026/455")
        package_audit.seal(session, rt.signer)


def package_in(cameras: list[Camera], clips: dict[int, Path], proof: AuditProof) -> PackageIn:
    """The package's contents: every camera's clip with its segments' chain links."""
    ins = []
    for cam in cameras:
        segs = cam.segments
        ins.append(ClipIn(path=clips[cam.camera_id], camera_id=cam.camera_id, camera_name=f"Camera {cam.camera_id}",
                          site_code="IST-0001", site_name="Bench square", start=segs[0].start, end=segs[-1].end,
                          segments=[SegmentLink(s.id, s.start, s.end, s.bytes, s.sha256, s.prev_sha256)
                                    for s in segs]))
    return PackageIn(package_id="bench-1", request=RequestRef("2026-1", "2026/1234", "Bench unit", "bench"),
                     decision=DecisionRef("İstanbul 3. SCH", "2026/455", date(2026, 3, 2)),
                     approvals=[Approval("supervisor", "supervisor", T0 + timedelta(days=2))],
                     recipient=Recipient("Prosecutor", "İstanbul Cumhuriyet Başsavcılığı"), clips=ins, audit=proof,
                     zone=ZONE, created_at=T0 + timedelta(days=3))


def kgys_package(cameras: list[Camera], *, rt: Runtime, root: Path, work: Path,
                 out: Path) -> tuple[Phase, BuiltPackage, dict[int, Path]]:
    """Time kgys building the signed package of every camera's whole range; the clips are kept (for the verify
    comparison: the same bytes as the package's clips)."""
    work.mkdir(parents=True, exist_ok=True)
    storage = LocalStorage(root, fsync=False)
    with rt.sessions() as session:
        write_release(session, rt)
        session.commit()
    clips: dict[int, Path] = {}
    built: list[BuiltPackage] = []

    def job(phase: Phase) -> None:
        t0 = time.perf_counter()
        with rt.sessions() as session:
            proof = package_audit.collect(session=session, objects=[(o, i) for _, o, i in RELEASE_STEPS],
                                          signer=rt.signer)
            session.commit()
        t1 = time.perf_counter()
        for cam in cameras:
            segs = cam.segments
            plan = clip.ClipPlan(cam.camera_id, 1, "IST-0001", "h264", segs[0].start, segs[-1].end, "bench", segs)
            mp4 = work / f"camera-{cam.camera_id}.mp4"
            clip.join(plan=plan, storage=storage, ffmpeg="ffmpeg", workdir=work, out=mp4, on_progress=lambda s: None)
            clips[cam.camera_id] = mp4
        t2 = time.perf_counter()
        copied = [t2]

        def progress(share: float) -> None:
            if share >= 1.0:
                copied[0] = time.perf_counter()

        built.append(build_package(package=package_in(cameras, clips, proof), signer=rt.signer, out=out,
                                   on_progress=progress))
        t3 = time.perf_counter()
        phase.parts = {"audit proof (collect)": t1 - t0, "clip cutting (clip.join)": t2 - t1,
                       "package: copy + hash of the clips": copied[0] - t2,
                       "package: manifest, signature, fsync, package SHA-256": t3 - copied[0]}

    phase = timed(job)
    t0 = time.perf_counter()
    if file_sha256(out) != built[0].sha256:
        raise SystemExit("the package's SHA-256 differs from what build_package returned")
    phase.parts["(the package's SHA-256 alone, again)"] = time.perf_counter() - t0
    return phase, built[0], clips


def faststart_cost(cameras: list[Camera], root: Path, work: Path) -> Phase:
    """What-if: the clip cutting's exact ffmpeg command without ``+faststart`` (moving the index to the front
    rewrites the whole MP4 once more)."""
    work.mkdir(parents=True, exist_ok=True)
    cmds = []
    for cam in cameras:
        listing = work / f"cam{cam.camera_id}.ffconcat"
        listing.write_text(clip.concat_list([(root / s.key, None, None) for s in cam.segments]))
        args = clip.clip_args(ffmpeg="ffmpeg", concat=listing, out=listing.with_suffix(".mp4"), codec="h264")
        at = args.index("-movflags")
        cmds.append(args[:at] + args[at + 2:])

    def job(_phase: Phase) -> None:
        for cmd in cmds:
            _run(cmd)

    phase = timed(job)
    shutil.rmtree(work)
    return phase


def digest_check(built: BuiltPackage, clips: dict[int, Path]) -> None:
    """Make sure the kept clips are the package's clips byte for byte (sizes, and one SHA-256 recomputed)."""
    sizes = sorted(d.bytes for name, d in built.files.items() if name.endswith(".mp4"))
    if sizes != sorted(p.stat().st_size for p in clips.values()):
        raise SystemExit("the kept clips are not the package's clips")
    first = next(iter(clips.values()))
    if file_sha256(first) not in {d.sha256 for d in built.files.values()}:
        raise SystemExit(f"{first.name} is not in the package")
