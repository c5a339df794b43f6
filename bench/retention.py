"""Over-retention: how long past its policy a segment lives while ``kgys worker jobs`` runs, next to a bare loop.

Each phase gets a throwaway database and segment store with one site and N cameras. Every camera's index
holds ``--hours`` of 10-second segments, laid out so that the oldest ``--backlog`` seconds are already past
the central default policy (10 days) when the phase starts and the next ``--minutes`` expire while it runs,
one segment per camera every 10 s, the cameras spread over the 10 s. Only the segments that expire during
the phase have files (``--file-kib`` each); the rest are index rows that are never touched. One camera in
eight has a legal hold over a stretch of what expires: those segments must survive.

Phase A runs ``kgys worker jobs`` (retention every ``recording.retention_interval_seconds``, its destruction
records, and the other periodic jobs). Phase B runs the bare minimum in a process of its own: at the same
interval, one SELECT of the expired, unheld segments, an ``unlink`` per file and one DELETE of their rows
(no checks, no destruction records, no audit). Both phases run for the same time.

Every 0.5 s the bench lists the expired segments still indexed; one that has gone was deleted by then. The
over-retention of a segment is that moment minus (its end + the policy), so it is known to within the
poll period; a segment still present at the end counts with its age then. Segments that had expired before
the phase started are left out of the figures (they measure the first run, not the steady state).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from bench import common
from bench.recording import KGYS, sample_tree, seed, stop_group
from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import set_actor
from kgys.cameras.models import Camera
from kgys.recording.models import LegalHold, Segment
from kgys.recording.retention import default_policy
from kgys.recording.storage import segment_key
from kgys.runtime import Runtime

SEGMENT = 10.0  # seconds
POLL = 0.5
HOLD_EVERY = 8  # one camera in eight has a hold
HELD = (6, 12)  # over its segments number 6 to 12, all of which expire during a phase


@dataclass
class Layout:
    """Where the seeded segments lie in time."""

    anchor: datetime  # the end of each camera's first expiring segment, before its spread
    policy: timedelta
    cameras: list[int]
    site_id: int
    hours: float
    backlog: float
    expiring: float  # seconds of segments (from the anchor) that get files

    def end_of(self, n: int, k: int) -> datetime:
        """End of camera number ``n``'s ``k``-th segment."""
        return self.anchor + timedelta(seconds=k * SEGMENT + SEGMENT * n / len(self.cameras))


def populate(rt: Runtime, layout: Layout, file_bytes: int) -> int:
    """Write the segment rows, the files of those that will expire, and the holds; returns the rows."""
    root = rt.settings.data_dir / "recordings"
    per_camera = int(layout.hours * 3600 / SEGMENT)
    with_files = int((layout.backlog + layout.expiring) / SEGMENT) + 1
    payload = b"\x47" + bytes(file_bytes - 1)
    rows = files = 0
    batch: list[dict[str, object]] = []
    with rt.engine.begin() as conn:
        for n, cam in enumerate(layout.cameras):
            for k in range(per_camera):
                end = layout.end_of(n, k) - timedelta(seconds=layout.backlog)
                start = end - timedelta(seconds=SEGMENT)
                key = segment_key(site_id=layout.site_id, camera_id=cam, start=start, filename=f"s{k:06d}.ts")
                if k < with_files:
                    path = root / key
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(payload)
                    files += 1
                batch.append(dict(camera_id=cam, site_id=layout.site_id, start=start, end=end, duration=SEGMENT,
                                  bytes=file_bytes, sha256="0" * 64, prev_sha256="0" * 64, path=key, codec="h264",
                                  width=1920, height=1080, indexed_at=start))
                if len(batch) >= 5000:
                    conn.execute(insert(Segment), batch)
                    rows += len(batch)
                    batch.clear()
        if batch:
            conn.execute(insert(Segment), batch)
            rows += len(batch)
    with Session(rt.engine) as session, session.begin():
        set_actor(session, system_actor("bench"))
        for n, cam in enumerate(layout.cameras):
            if n % HOLD_EVERY == 0:
                first = layout.end_of(n, HELD[0]) - timedelta(seconds=layout.backlog + SEGMENT)
                last = layout.end_of(n, HELD[1]) - timedelta(seconds=layout.backlog)
                session.add(LegalHold(camera_id=cam, site_id=layout.site_id, start=first + timedelta(seconds=1),
                                      end=last - timedelta(seconds=1), reason="bench", legal_basis="bench",
                                      created_by="bench"))
    return rows


def bare_loop(url: str, root: Path, policy_seconds: float, interval: float) -> None:
    """Phase B's process: select what expired and is not held, unlink the files, delete the rows."""
    engine = create_engine(url)
    while True:
        now = datetime.now(UTC)
        cut = now - timedelta(seconds=policy_seconds)
        held = exists().where(LegalHold.camera_id == Segment.camera_id, LegalHold.start <= Segment.end,
                              LegalHold.end >= Segment.start, LegalHold.released_at.is_(None),
                              or_(LegalHold.until.is_(None), LegalHold.until > now))
        with engine.begin() as conn:
            rows = conn.execute(select(Segment.id, Segment.path).where(Segment.end <= cut, ~held)).all()
            for row in rows:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(root / row.path)
            if rows:
                conn.execute(delete(Segment).where(Segment.id.in_([r.id for r in rows])))
        time.sleep(interval)


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    window: float = 0.0
    cpu: float = 0.0
    deleted: int = 0
    late: list[float] | None = None
    still_there: list[float] | None = None
    held_kept: int = 0
    held_total: int = 0
    early: int = 0  # deleted before their policy allowed: must be 0
    rows: int = 0


def run_phase(kind: str, name: str, *, cameras: int, hours: float, backlog: float, minutes: float,
              file_bytes: int, profile: Path | None = None) -> Phase:
    """Seed a fresh database and store, run the deleter for ``minutes`` and watch the segments go."""
    with common.throwaway_db(kind) as db:
        rt = db.rt
        seed(rt, [f"rtsp://127.0.0.1:9/cam{n}" for n in range(1, cameras + 1)])
        with Session(rt.engine) as session:
            cams = list(session.scalars(select(Camera.id).order_by(Camera.id)))
            site_id = session.scalars(select(Camera.site_id)).first()
        assert site_id is not None
        policy = default_policy(rt.settings.recording.role).keep
        seconds = minutes * 60
        layout = Layout(anchor=datetime.now(UTC) - policy, policy=policy, cameras=cams, site_id=site_id,
                        hours=hours, backlog=backlog, expiring=seconds + 300)
        print(f"{name}: seeding {cameras} cameras × {hours:g} h of segments", file=sys.stderr)
        rows = populate(rt, layout, file_bytes)
        with Session(rt.engine) as session:
            held_ids = set(session.scalars(select(Segment.id).join(LegalHold, LegalHold.camera_id == Segment.camera_id)
                                           .where(LegalHold.start <= Segment.end, LegalHold.end >= Segment.start)))
            horizon = datetime.now(UTC) - policy + timedelta(seconds=seconds + 120)
            expected = {r.id: r.end + policy for r in session.execute(
                select(Segment.id, Segment.end).where(Segment.start <= horizon)) if r.id not in held_ids}
        env = dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(db.data_dir), KGYS_DATABASE__URL=db.url)
        interval = rt.settings.recording.retention_interval_seconds
        if name == "kgys":
            cmd = [*KGYS, "worker", "jobs"]
            if profile is not None:
                cmd = [sys.executable, "-m", "bench.profiled", str(profile), "worker", "jobs"]
        else:
            cmd = [sys.executable, "-m", "bench.retention", "--bare-loop", db.url, str(db.data_dir / "recordings"),
                   str(policy.total_seconds()), str(interval)]
        log = (db.data_dir / "worker.log").open("wb")
        print(f"{name}: running for {seconds:.0f} s", file=sys.stderr)
        began = datetime.now(UTC)
        proc = subprocess.Popen(cmd, env=env, cwd=common.ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        ph = Phase(name, rows=rows, held_total=len(held_ids))
        late: list[float] = []
        ahead = timedelta(seconds=30)  # rows this far from expiring are watched too: none may go early
        try:
            c0, t0 = sample_tree(proc.pid), time.monotonic()
            last = c0
            while time.monotonic() - t0 < seconds:
                time.sleep(POLL)
                if proc.poll() is not None:
                    raise SystemExit(f"{name}: the deleting process ended early; see its log")
                last = sample_tree(proc.pid)
                now = datetime.now(UTC)
                with Session(rt.engine) as session:
                    found = set(session.scalars(select(Segment.id).where(Segment.start <= now - policy + ahead)))
                gone = [seg_id for seg_id, expiry in expected.items()
                        if expiry - timedelta(seconds=SEGMENT) <= now + ahead and seg_id not in found]
                for seg_id in gone:
                    expiry = expected.pop(seg_id)
                    if expiry > now:
                        ph.early += 1
                    elif expiry >= began:
                        late.append((now - expiry).total_seconds())
            ph.window = time.monotonic() - t0
            ph.cpu = (last.own + last.children) - (c0.own + c0.children)
        finally:
            stop_group(proc)
            log.close()
        now = datetime.now(UTC)
        ph.late = late
        ph.deleted = len(late)
        ph.still_there = [(now - expiry).total_seconds() for expiry in expected.values() if began <= expiry <= now]
        with Session(rt.engine) as session:
            ph.held_kept = len(set(session.scalars(select(Segment.id).where(Segment.id.in_(held_ids)))))
        return ph


def render(a: Phase, b: Phase) -> str:
    """The result tables."""
    def figures(ph: Phase) -> str:
        late = ph.late or []
        return (f"{common.percentile(late, 50):.1f} / {common.percentile(late, 99):.1f} / {max(late, default=0):.1f}")

    def pct(ph: Phase) -> str:
        return f"{ph.cpu / ph.window * 100:.2f} %" if ph.window else "—"

    def per(ph: Phase) -> str:
        return f"{ph.cpu / ph.deleted * 1000:.2f}" if ph.deleted else "—"

    rows = [
        ["segment rows in the index", f"{a.rows:,}", f"{b.rows:,}", ""],
        ["measured window (s)", f"{a.window:.0f}", f"{b.window:.0f}", ""],
        ["segments that expired and were deleted in it", f"{a.deleted:,}", f"{b.deleted:,}", ""],
        ["**over-retention p50 / p99 / max (s)**", figures(a), figures(b), ""],
        ["expired segments still there at the end (oldest, s)",
         f"{len(a.still_there or [])} ({max(a.still_there or [0]):.1f})",
         f"{len(b.still_there or [])} ({max(b.still_there or [0]):.1f})", ""],
        ["held segments kept", f"{a.held_kept} of {a.held_total}", f"{b.held_kept} of {b.held_total}", ""],
        ["segments deleted before their time", str(a.early), str(b.early), ""],
        ["CPU of the deleting process (% of one core)", pct(a), pct(b),
         f"{a.cpu / b.cpu:.2f}×" if b.cpu else ""],
        ["CPU per deleted segment (ms)", per(a), per(b),
         f"{(a.cpu / a.deleted) / (b.cpu / b.deleted):.2f}×" if a.deleted and b.deleted and b.cpu else ""],
    ]
    return common.table(["", "kgys worker jobs", "bare SELECT + unlink + DELETE", "kgys ÷ bare"], rows)


def main() -> None:
    """Parse options, run both phases and report."""
    if len(sys.argv) == 6 and sys.argv[1] == "--bare-loop":
        bare_loop(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
        return
    p = common.base_parser(__doc__.split("\n", 1)[0])
    p.set_defaults(engine="sqlite")
    p.add_argument("--cameras", type=int, default=128, help="cameras (default 128)")
    p.add_argument("--hours", type=float, default=24.0, help="hours of segments per camera in the index (default 24)")
    p.add_argument("--backlog", type=float, default=60.0,
                   help="seconds of segments already expired when a phase starts (default 60)")
    p.add_argument("--minutes", type=float, default=5.0, help="length of each phase (default 5)")
    p.add_argument("--file-kib", type=int, default=64, help="size of each expiring segment file (default 64 KiB)")
    p.add_argument("--profile", type=Path, default=None,
                   help="run the jobs worker under cProfile (every thread, in CPU time: bench/profiled.py) "
                        "and write its statistics to this file")
    args = p.parse_args()
    if args.engine == "both":
        p.error("--engine: choose sqlite or postgresql")
    if args.hours * 3600 < args.backlog + args.minutes * 60 + 120:
        p.error("--hours: the index must reach past the end of the run")
    common.install_signal_cleanup()
    a, b = (run_phase(args.engine, name, cameras=args.cameras, hours=args.hours, backlog=args.backlog,
                      minutes=args.minutes, file_bytes=args.file_kib * 1024, profile=args.profile)
            for name in ("kgys", "bare"))
    common.report(f"retention — {args.cameras} cameras, {args.hours:g} h indexed each, {args.minutes:g} min, "
                  f"{args.engine}", render(a, b), kinds=[args.engine], append=args.append_results,
                  notes=[f"Deletion moments are known to within {POLL} s (the poll period). The policy is the "
                         "central default (10 days); the bare loop runs at the same interval as the worker's "
                         "retention."])


if __name__ == "__main__":
    main()
