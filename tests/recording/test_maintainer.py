"""The maintainer on real segment files and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert
from kgys.cameras.models import Camera, CameraHealth
from kgys.media.segments import run_name
from kgys.media.tsinfo import PACKET, TsInfo
from kgys.recording import index
from kgys.recording.indexing import Indexer, LastSegment, Verified
from kgys.recording.journal import Journal
from kgys.recording.maintainer import Limits, Maintainer, Verdict, check, in_ready_order
from kgys.recording.measuring import Measuring
from kgys.recording.models import GENESIS, Gap, QuarantinedSegment, Segment
from kgys.recording.storage import LocalStorage, Storage, StorageError
from kgys.runtime import Runtime
from tests import factories
from tests.recording.conftest import make_ts_segments

RUN = "r000000000000001"


def info(**kw: object) -> TsInfo:
    base: dict[str, object] = dict(synced=True, codec="h264", video_pid=256, first_pts=1.4, last_pts=11.36,
                                   frame_interval=0.04, keyframe_at_start=True, frames_seen=250, width=1920,
                                   height=1080)
    base.update(kw)
    return TsInfo(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ts", "size", "verdict"),
    [
        (info(), 5_000_000, Verdict(True)),
        (info(), 0, Verdict(False, "empty")),
        (info(synced=False), 1000, Verdict(False, "not_mpegts")),
        (info(codec=None), 1000, Verdict(False, "no_video")),
        (info(first_pts=None, last_pts=None, frames_seen=0), 1000, Verdict(False, "no_frames")),
        (info(keyframe_at_start=False), 5_000_000, Verdict(False, "no_keyframe_at_start")),
        (info(last_pts=100.0), 5_000_000, Verdict(False, "too_long")),
        (info(), 2_000_000_000, Verdict(False, "implausible_bitrate")),
        (info(last_pts=1.4, frames_seen=1), 60_000, Verdict(True)),  # one frame cut off by a kill still counts
    ],
)
def test_check(ts: TsInfo, size: int, verdict: Verdict) -> None:
    got = check(ts, size, Limits(max_seconds=60))
    assert (got.ok, got.reason) == (verdict.ok, verdict.reason)


class Setup:
    def __init__(self, rt: Runtime, session: Session, tmp_path: Path, clip: Path) -> None:
        factories.tree(session)
        site = factories.site(session)
        factories.compliant_system(session, rt.box, site.code)
        session.flush()
        camera = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.id)).first()
        assert camera is not None
        self.camera: Camera = camera
        self.session = session
        self.spool = tmp_path / "spool"
        self.cam_dir = self.spool / str(self.camera.id)
        self.storage = LocalStorage(tmp_path / "recordings")
        self.quarantine = tmp_path / "quarantine"
        self.clip = clip
        self.tmp = tmp_path
        self.sessions = rt.sessions
        self.m = self.maintainer()

    def maintainer(self, storage: Storage | None = None) -> Maintainer:
        """A maintainer of this spool (a fresh one is what a restarted recorder has)."""
        return Maintainer(sessions=self.sessions, storage=storage or self.storage, spool_dir=self.spool,
                          quarantine_dir=self.quarantine, limits=Limits())

    def segments(self, run: str = RUN, stamps: tuple[str, ...] = ("20250301T080000", "20250301T080001")) -> list[Path]:
        return make_ts_segments(self.clip, self.cam_dir, run=run, stamps=stamps)

    def journal_lines(self) -> list[str]:
        """The lines of the maintainer's journal (empty: nothing is being stored)."""
        return (self.spool / "storing").read_text().split()

    def rows(self) -> list[Segment]:
        self.session.expire_all()
        return list(self.session.scalars(select(Segment).where(Segment.camera_id == self.camera.id)
                                         .order_by(Segment.id)))


@pytest.fixture
def setup(rt: Runtime, session: Session, tmp_path: Path, clip_h264: Path) -> Setup:
    return Setup(rt, session, tmp_path, clip_h264)


def test_finished_segments_are_hashed_chained_stored_and_indexed(setup: Setup) -> None:
    files = setup.segments()
    hashes = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    done = setup.m.scan({})
    assert len(done) == 2
    rows = setup.rows()
    assert [r.sha256 for r in rows] == hashes
    assert [r.prev_sha256 for r in rows] == [GENESIS, hashes[0]]
    assert rows[0].start == datetime(2025, 3, 1, 8, 0, 0, 200_000, tzinfo=UTC)
    assert rows[1].start == rows[0].end  # same run: contiguous
    for r in rows:
        assert (r.codec, r.width, r.height) == ("h264", 1920, 1080)
        assert r.duration == pytest.approx(1.0, abs=0.05)
        assert hashlib.sha256(setup.storage.get_range(r.path)).hexdigest() == r.sha256
        assert r.path.startswith(f"{r.site_id}/{r.camera_id}/2025-03-01/08/")
    assert list(setup.cam_dir.glob("*.ts")) == []
    health = setup.session.get(CameraHealth, setup.camera.id)
    assert health is not None and health.state == "online" and health.last_segment_at == rows[-1].end


def test_the_file_ffmpeg_is_writing_waits(setup: Setup) -> None:
    files = setup.segments()
    assert [d.run for d in setup.m.scan({setup.camera.id: RUN})] == [RUN]
    assert files[1].exists() and not files[0].exists()
    setup.m.scan({setup.camera.id: "r999"})  # ffmpeg moved on to a new run: the last file is finished
    assert not files[1].exists() and len(setup.rows()) == 2


def test_corrupt_segments_are_quarantined_and_reported(setup: Setup) -> None:
    good = setup.segments(stamps=("20250301T080000", "20250301T080003"))
    setup.cam_dir.mkdir(parents=True, exist_ok=True)
    garbage = setup.cam_dir / f"{RUN}_20250301T080001Z.ts"
    garbage.write_bytes(bytes(range(256)) * 4000)
    data = good[1].read_bytes()
    mid = setup.cam_dir / f"{RUN}_20250301T080002Z.ts"
    mid.write_bytes(data[(len(data) // PACKET // 2) * PACKET:])  # starts in the middle of a GOP
    empty = setup.cam_dir / f"{RUN}_20250301T080004Z.ts"
    empty.write_bytes(b"")
    setup.m.scan({})
    q = setup.session.scalars(select(QuarantinedSegment).order_by(QuarantinedSegment.id)).all()
    assert [(x.reason, Path(x.path).name) for x in q] == [("not_mpegts", garbage.name),
                                                          ("no_keyframe_at_start", mid.name)]
    assert all(Path(x.path).exists() and Path(x.path).parent == setup.quarantine / str(setup.camera.id) for x in q)
    assert q[0].sha256 == hashlib.sha256(bytes(range(256)) * 4000).hexdigest()
    alerts = setup.session.scalars(select(Alert).where(Alert.kind == index.ALERT_QUARANTINED)).all()
    assert len(alerts) == 2 and all(a.camera_id == setup.camera.id for a in alerts)
    rows = setup.rows()
    assert len(rows) == 2 and rows[1].prev_sha256 == rows[0].sha256  # the chain skips what was put aside
    assert list(setup.cam_dir.iterdir()) == []  # the empty file is simply gone


class BrokenStorage(LocalStorage):
    broken = True

    def put(self, key: str, source: Path) -> int:
        if self.broken:
            raise StorageError("disk unavailable")
        return super().put(key, source)


def test_storage_failure_keeps_segments_in_the_spool(setup: Setup) -> None:
    store = BrokenStorage(setup.tmp / "recordings")
    setup.m = setup.maintainer(storage=store)
    files = setup.segments()
    assert setup.m.scan({}) == [] and setup.m.scan({}) == []
    assert all(f.exists() for f in files) and setup.rows() == []
    alerts = setup.session.scalars(select(Alert).where(Alert.kind == index.ALERT_STORAGE)).all()
    assert len(alerts) == 1 and alerts[0].closed_at is None  # reported once, not per file
    store.broken = False
    assert len(setup.m.scan({})) == 2
    setup.session.expire_all()
    assert alerts[0].closed_at is not None


def test_only_a_later_run_closes_a_gap(setup: Setup) -> None:
    later = run_name(datetime.now(UTC) + timedelta(seconds=5))
    with setup.m.sessions.begin() as s:
        index.open_gap(s, camera_id=setup.camera.id, site_id=setup.camera.site_id,
                       start=datetime(2025, 3, 1, 7, 59, tzinfo=UTC), cause="camera_offline", detail="test")
    setup.segments(run=RUN)  # written by an ffmpeg from before the gap opened
    setup.m.scan({})
    gap = setup.session.scalars(select(Gap)).one()
    assert gap.end is None
    setup.segments(run=later, stamps=("20250301T080100",))
    setup.m.scan({})
    setup.session.expire_all()
    assert gap.end == datetime(2025, 3, 1, 8, 1, 0, 200_000, tzinfo=UTC)
    alerts = setup.session.scalars(select(Alert).where(Alert.kind == index.ALERT_STOPPED)).all()
    assert len(alerts) == 1 and alerts[0].closed_at is not None


def test_a_segment_stored_but_not_indexed_when_the_maintainer_died_is_indexed_after(
        setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    files = setup.segments()
    hashes = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    real_put = setup.storage.put
    calls: list[str] = []

    def put_then_die(key: str, source: Path) -> int:
        size = real_put(key, source)
        calls.append(key)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies after the move, before the commit
        return size

    monkeypatch.setattr(setup.storage, "put", put_then_die)
    with pytest.raises(KeyboardInterrupt):
        setup.m.scan({})
    assert len(setup.rows()) == 1 and not files[1].exists()  # stored, not indexed, gone from the spool
    assert setup.storage.path(calls[1]).exists()
    assert setup.journal_lines() == [f"{setup.camera.id}/{files[1].name}", calls[1]]

    monkeypatch.setattr(setup.storage, "put", real_put)
    fresh = setup.maintainer()
    assert len(fresh.scan({})) == 1
    rows = setup.rows()
    assert [r.sha256 for r in rows] == hashes and rows[1].prev_sha256 == hashes[0]
    assert rows[1].path == calls[1] and setup.storage.path(rows[1].path).exists()
    assert list(setup.cam_dir.glob("*")) == [] and setup.journal_lines() == []  # nothing is left over


def test_a_journal_of_a_committed_segment_is_just_cleared(setup: Setup) -> None:
    files = setup.segments()
    setup.m.scan({})
    key = setup.rows()[0].path
    # as a maintainer that died just after the commit leaves it
    (setup.spool / "storing").write_text(f"{setup.camera.id}/{files[0].name}\n{key}\n".ljust(4096))
    fresh = setup.maintainer()
    assert fresh.scan({}) == []
    assert setup.journal_lines() == [] and setup.storage.path(key).exists() and len(setup.rows()) == 2
    assert not files[0].exists()


def test_only_camera_directories_with_news_are_listed(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.segments()
    assert len(setup.m.scan({})) == 2
    listed: list[str] = []
    real = os.scandir

    def counting(path: Any) -> Any:
        listed.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    assert setup.m.scan({}) == [] and listed == []  # nothing happened: nothing listed
    setup.segments(stamps=("20250301T080005",))
    assert len(setup.m.scan({})) == 1 and listed == [str(setup.cam_dir)]


def test_a_slow_file_holds_back_only_its_own_camera() -> None:
    release = threading.Event()

    def read(name: str) -> str:
        if name == "slow":
            assert release.wait(10)  # a flush to disk that takes long
        return name.upper()

    order = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for camera_id, name, got in in_ready_order(pool, [(1, "slow"), (1, "next"), (2, "other")], read):
            order.append((camera_id, name, got))
            release.set()  # the slow one finishes once another camera's file went through
    assert order == [(2, "other", "OTHER"), (1, "slow", "SLOW"), (1, "next", "NEXT")]


def test_a_file_that_cannot_be_read_comes_with_none() -> None:
    def read(name: str) -> str:
        if name == "gone":
            raise FileNotFoundError(name)
        return name

    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(in_ready_order(pool, [(1, "gone"), (1, "here")], read))
    assert got == [(1, "gone", None), (1, "here", "here")]


def test_the_journal_names_the_file_in_flight_until_cleared(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    (spool / "7").mkdir(parents=True)
    journal = Journal(spool)
    assert journal.entry() is None  # a new spool: nothing in flight
    journal.note(spool / "7" / "a.ts", "1/7/2025-03-01/08/a.ts")
    assert Journal(spool).entry() == (spool / "7" / "a.ts", "1/7/2025-03-01/08/a.ts")  # read by the next process
    journal.clear()
    assert Journal(spool).entry() is None
    with pytest.raises(StorageError):
        journal.note(spool / "7" / "a.ts", "k" * 5000)
    journal.close()


def test_a_camera_is_measured_on_its_first_segment_each_run_and_then_every_so_often(
        setup: Setup) -> None:
    measuring = Measuring(sessions=setup.sessions, storage=setup.storage, every=600)
    t = datetime(2025, 3, 1, 8, tzinfo=UTC)
    measuring.indexed(1, "a", t, new_run=True)
    measuring.indexed(1, "b", t + timedelta(seconds=10), new_run=False)
    assert measuring.due() == {1: "a"}  # not yet measured: the first one stays due
    measuring.indexed(2, "c", t, new_run=True)
    assert measuring.due() == {1: "a", 2: "c"}
    measuring.indexed(1, "d", t + timedelta(seconds=600), new_run=False)
    assert measuring.due()[1] == "d"  # ten minutes on: due again, on the newer segment
    measuring.indexed(1, "e", t + timedelta(seconds=610), new_run=True)
    assert measuring.due()[1] == "e"  # a new ffmpeg run is measured at once


def test_measuring_stores_the_stream_of_a_stored_segment(setup: Setup) -> None:
    setup.segments()
    done = setup.m.scan({})
    assert done and setup.m.measuring.due() == {setup.camera.id: setup.rows()[0].path}
    assert setup.m.measure_next() and not setup.m.measure_next()  # one camera due, measured once
    setup.session.expire_all()
    health = setup.session.get(CameraHealth, setup.camera.id)
    assert health is not None and health.measured_at is not None
    assert (health.codec, health.width, health.height, health.fps) == ("h264", 1920, 1080, 25.0)


def test_the_indexer_stores_a_verified_segment_and_chains_the_next_to_it(setup: Setup) -> None:
    files = setup.segments()
    indexer = Indexer(sessions=setup.sessions, storage=setup.storage, journal=Journal(setup.spool),
                      quarantine_dir=setup.quarantine)
    assert indexer.last(setup.camera.id) is None and indexer.site(setup.camera.id) == setup.camera.site_id
    t = datetime(2025, 3, 1, 8, tzinfo=UTC)
    sha = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    for n, (path, digest) in enumerate(zip(files, sha, strict=True)):
        seg = Verified(camera_id=setup.camera.id, site_id=setup.camera.site_id, path=path, run=RUN,
                       start=t + timedelta(seconds=n), end=t + timedelta(seconds=n + 1), duration=1.0,
                       size=path.stat().st_size, sha256=digest, codec="h264", width=1920, height=1080)
        indexer.store(seg)
        assert indexer.last(setup.camera.id) == LastSegment(digest, seg.end, RUN)
    rows = setup.rows()
    assert [(r.sha256, r.prev_sha256) for r in rows] == [(sha[0], GENESIS), (sha[1], sha[0])]
    assert not any(f.exists() for f in files) and all(setup.storage.path(r.path).exists() for r in rows)
    assert setup.journal_lines() == []


def test_the_indexer_raises_a_storage_alert_once_per_camera(setup: Setup) -> None:
    indexer = Indexer(sessions=setup.sessions, storage=setup.storage, journal=Journal(setup.spool),
                      quarantine_dir=setup.quarantine)
    assert indexer.storage_trouble(setup.camera.id, "disk unavailable")
    assert not indexer.storage_trouble(setup.camera.id, "disk unavailable")
    alerts = setup.session.scalars(select(Alert).where(Alert.kind == index.ALERT_STORAGE)).all()
    assert len(alerts) == 1 and "disk unavailable" in alerts[0].details
