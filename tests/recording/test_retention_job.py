"""The retention job against a real database and real files, with a clock the test controls."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope, system_actor
from kgys.alerts.models import Alert
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.recording.flows import holds as hold_flows
from kgys.recording.flows import reads as recording_reads
from kgys.recording.models import GENESIS, Destruction, PendingDestruction, RetentionPolicy, Segment
from kgys.recording.retention import HoldInfo, Policy, Rule
from kgys.recording.retention_job import (
    ALERT_BLOCKED,
    ALERT_DELETE_FAILED,
    ALERT_FORECAST,
    ALERT_PRESSURE,
    JobConfig,
    RetentionJob,
    RunReport,
    build,
)
from kgys.recording.storage import LocalStorage, StorageError, segment_key
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SEC = timedelta(seconds=1)
SIZE = 1000
EDGE = Policy.days(30)


@dataclass(frozen=True)
class Rec:
    """What a test remembers of a segment it recorded (the row itself may be deleted)."""

    id: int
    camera_id: int
    start: datetime
    end: datetime
    path: str


@dataclass
class Clock:
    """A clock that moves only when told."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


class QuotaStorage(LocalStorage):
    """Real files under a root, on a 'disk' of ``size`` bytes: free space is what the files leave."""

    def __init__(self, root: Path, size: int) -> None:
        super().__init__(root, fsync=False)
        self.size = size
        self.refuse: set[str] = set()

    def free_space(self) -> int:
        used = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        return self.size - used

    def capacity(self) -> int:
        return self.size

    def delete(self, key: str) -> None:
        if key in self.refuse:
            raise StorageError(f"cannot delete {key}: device busy", key=key)
        super().delete(key)


@dataclass
class World:
    """Two sites with two cameras each, storage, and the job under test."""

    rt: Runtime
    session: Session
    storage: QuotaStorage
    clock: Clock
    a: Site
    b: Site
    cams: dict[str, Camera] = field(default_factory=dict)

    def job(self, **kw: object) -> RetentionJob:
        cfg: dict[str, object] = {"default_policy": EDGE, "low_free_bytes": 0, "target_free_bytes": 0,
                                  "seal_after": timedelta(0)}
        cfg.update(kw)
        return RetentionJob(sessions=self.rt.sessions, storage=self.storage, config=JobConfig(**cfg),  # type: ignore[arg-type]
                            clock=self.clock)

    def record(self, cam: str, start: datetime, n: int = 1, seconds: int = 10, size: int = SIZE) -> list[Rec]:
        """``n`` back-to-back segments of ``cam`` from ``start``, as real files and index rows."""
        camera = self.cams[cam]
        prev = self.session.scalar(select(Segment.sha256).where(Segment.camera_id == camera.id)
                                   .order_by(Segment.start.desc()).limit(1)) or GENESIS
        made = []
        for i in range(n):
            s = start + timedelta(seconds=i * seconds)
            data = hashlib.sha256(f"{camera.id}-{s.isoformat()}".encode()).digest() * (size // 32 + 1)
            data = data[:size]
            key = segment_key(site_id=camera.site_id, camera_id=camera.id, start=s, filename=f"{s:%H%M%S}.ts")
            path = self.storage.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            seg = Segment(camera_id=camera.id, site_id=camera.site_id, start=s, end=s + timedelta(seconds=seconds),
                          duration=float(seconds), bytes=size, sha256=digest, prev_sha256=prev, path=key,
                          codec="h264", width=1920, height=1080, indexed_at=s + timedelta(seconds=seconds + 1))
            prev = digest
            self.session.add(seg)
            made.append(seg)
        self.session.flush()
        return [Rec(s.id, s.camera_id, s.start, s.end, s.path) for s in made]

    def remaining(self) -> set[int]:
        return set(self.session.scalars(select(Segment.id)))

    def destructions(self) -> list[Destruction]:
        self.session.expire_all()
        return list(self.session.scalars(select(Destruction).order_by(Destruction.camera_id, Destruction.start)))

    def alerts(self, kind: str, open_only: bool = True) -> list[Alert]:
        self.session.expire_all()
        stmt = select(Alert).where(Alert.kind == kind)
        if open_only:
            stmt = stmt.where(Alert.closed_at.is_(None))
        return list(self.session.scalars(stmt))

    def hold(self, cam: str, start: datetime, end: datetime, **kw: object) -> int:
        site = self.a if cam.startswith("a") else self.b
        actor = Actor(id=None, username="savci-irtibat", role="judicial_liaison", scope=Scope(is_global=True))
        h = hold_flows.add_hold(session=self.session, actor=actor, site_code=site.code, camera=self.cams[cam].name,
                                start=start, end=end, reason="Soruşturma 2025/9", legal_basis="Savcılık yazısı 2025/9",
                                now=self.clock.now, **kw)  # type: ignore[arg-type]
        return h.id


@pytest.fixture
def world(rt: Runtime, session: Session, tmp_path: Path) -> Iterator[World]:
    factories.tree(session)
    a = factories.site(session, "TR-99-A")
    b = factories.site(session, "TR-99-B")
    factories.compliant_system(session, rt.box, a.code)
    factories.compliant_system(session, rt.box, b.code)
    w = World(rt=rt, session=session, storage=QuotaStorage(tmp_path / "recordings", size=10**9),
              clock=Clock(T0), a=a, b=b)
    for site, prefix in ((a, "a"), (b, "b")):
        for cam in session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)):
            w.cams[f"{prefix}{'1' if cam.name == 'Giriş' else '2'}"] = cam
    yield w


def test_expired_segments_go_with_their_files_and_younger_ones_stay(world: World) -> None:
    old = world.record("a1", T0, n=6)  # T0 .. T0+60s
    young = world.record("a1", T0 + DAY, n=3)
    other = world.record("a2", T0, n=2)
    world.clock.now = T0 + 30 * DAY + 40 * SEC  # the first four of `old` and both of `other` have expired
    report = world.job().run_once()
    gone = {s.id for s in old[:4] + other}
    assert world.remaining() == {s.id for s in old[4:] + young}
    assert report.deleted == 6 and report.deleted_bytes == 6 * SIZE
    for seg in old[:4] + other:
        assert not world.storage.path(seg.path).exists()
    for seg in old[4:] + young:
        assert world.storage.path(seg.path).read_bytes()
    records = world.destructions()
    assert [(d.camera_id, d.start, d.end, d.count, d.bytes, d.rule) for d in records] == [
        (world.cams["a1"].id, T0, T0 + 40 * SEC, 4, 4 * SIZE, "retention"),
        (world.cams["a2"].id, T0, T0 + 20 * SEC, 2, 2 * SIZE, "retention"),
    ]
    assert all(d.site_id == world.a.id and d.at == world.clock.now for d in records)
    assert sum(d.count for d in records) == len(gone)


def test_every_destruction_is_in_the_audit_log(world: World) -> None:
    world.record("a1", T0, n=3)
    world.record("b1", T0, n=2)
    world.clock.now = T0 + 31 * DAY
    world.job().run_once()
    records = world.destructions()
    entries = list(world.session.scalars(select(AuditEntry).where(AuditEntry.action == "destruction.create")
                                         .order_by(AuditEntry.seq)))
    assert sorted(e.object_id for e in entries) == sorted(str(d.id) for d in records)
    assert {e.actor for e in entries} == {"retention"}
    assert {e.site_id for e in entries} == {world.a.id, world.b.id}
    assert all(e.reason == "retention: retention 30 days" and e.after_digest for e in entries)


def test_nothing_is_deleted_a_moment_before_its_policy(world: World) -> None:
    segs = world.record("a1", T0, n=2)
    world.clock.now = segs[0].end + 30 * DAY - SEC
    assert world.job().run_once().deleted == 0
    world.clock.now += SEC
    assert world.job().run_once().deleted == 1
    assert world.remaining() == {segs[1].id}


def test_a_held_segment_stays_however_old_and_splits_the_destruction_record(world: World) -> None:
    segs = world.record("a1", T0, n=9)
    # the hold touches only one second in the middle of the fifth segment
    world.hold("a1", segs[4].start + 3 * SEC, segs[4].start + 4 * SEC)
    world.clock.now = T0 + 400 * DAY
    world.job().run_once()
    assert world.remaining() == {segs[4].id}
    assert world.storage.path(segs[4].path).exists()
    records = world.destructions()
    assert [(d.start, d.end, d.count) for d in records] == [(T0, segs[3].end, 4), (segs[5].start, segs[8].end, 4)]


def test_a_hold_touching_a_segment_edge_protects_it(world: World) -> None:
    segs = world.record("a1", T0, n=3)
    world.hold("a1", segs[2].end, segs[2].end + DAY)  # starts at the very end of the last segment
    world.clock.now = T0 + 40 * DAY
    world.job().run_once()
    assert world.remaining() == {segs[2].id}


def test_released_and_lapsed_holds_let_retention_resume(world: World) -> None:
    a = world.record("a1", T0, n=2)
    b = world.record("a2", T0, n=2)
    world.clock.now = T0 + DAY
    released = world.hold("a1", T0, T0 + 20 * SEC)
    world.hold("a2", T0, T0 + 20 * SEC, until=T0 + 45 * DAY)
    world.clock.now = T0 + 40 * DAY
    world.job().run_once()
    assert world.remaining() == {s.id for s in a + b}
    actor = Actor(id=None, username="savci-irtibat", role="judicial_liaison", scope=Scope(is_global=True))
    hold_flows.release_hold(session=world.session, actor=actor, hold_id=released, reason="Takipsizlik kararı",
                            now=world.clock.now)
    world.clock.now += 10 * SEC
    world.job().run_once()
    assert world.remaining() == {s.id for s in b}
    world.clock.now = T0 + 45 * DAY
    world.job().run_once()
    assert world.remaining() == set()


def test_a_site_policy_overrides_the_default(world: World) -> None:
    world.session.add(RetentionPolicy(site_id=world.b.id, days=60, min_days=30))
    world.session.flush()
    a = world.record("a1", T0, n=1)
    b = world.record("b1", T0, n=1)
    world.clock.now = T0 + 31 * DAY
    world.job().run_once()
    assert world.remaining() == {b[0].id}
    world.clock.now = T0 + 60 * DAY + 10 * SEC
    world.job().run_once()
    assert world.remaining() == set()
    assert [d.camera_id for d in world.destructions()] == [a[0].camera_id, b[0].camera_id]


def test_a_site_policy_shorter_than_the_default_deletes_sooner(world: World) -> None:
    world.session.add(RetentionPolicy(site_id=world.b.id, days=7, min_days=7))
    world.session.flush()
    a = world.record("a1", T0, n=1)
    b = world.record("b1", T0, n=2)
    world.clock.now = T0 + 7 * DAY + 15 * SEC  # b's segments end 10 s and 20 s after T0
    world.job().run_once()
    assert world.remaining() == {a[0].id, b[1].id}
    world.clock.now += 10 * SEC
    world.job().run_once()
    assert world.remaining() == {a[0].id}


def test_central_default_is_ten_days(world: World) -> None:
    world.record("a1", T0, n=1)
    world.clock.now = T0 + 10 * DAY + 10 * SEC
    assert world.job(default_policy=Policy.days(10)).run_once().deleted == 1


@pytest.mark.parametrize("interval", [5, 30, 60])
def test_over_retention_is_at_most_the_run_interval(world: World, interval: int) -> None:
    """Run the job every `interval` seconds of the controlled clock: after every run nothing expired is left,
    and nothing was deleted before its time, so no segment outlives its policy by more than the interval."""
    segs = world.record("a1", T0, n=30, seconds=10) + world.record("b2", T0 + 7 * SEC, n=30, seconds=10)
    expiry = {s.id: s.end + EDGE.keep for s in segs}
    job = world.job(batch_size=8)
    world.clock.now = T0 + EDGE.keep - 13 * SEC
    worst = timedelta(0)
    left = world.remaining()
    while left:
        job.run_once()
        now = world.clock.now
        after = world.remaining()
        for sid in left - after:
            assert expiry[sid] <= now, "deleted before its policy"
            worst = max(worst, now - expiry[sid])
        assert all(expiry[sid] > now for sid in after), "an expired segment survived a run"
        left = after
        world.clock.now += timedelta(seconds=interval)
    assert worst <= timedelta(seconds=interval) <= timedelta(seconds=60)


def test_deletion_runs_in_batches_and_catches_up_on_the_next_run(world: World) -> None:
    world.record("a1", T0, n=25)
    world.clock.now = T0 + 31 * DAY
    job = world.job(batch_size=5, max_batches=3)
    assert job.run_once().deleted == 15
    assert job.run_once().deleted == 10
    assert job.run_once().deleted == 0
    assert sum(d.count for d in world.destructions()) == 25


def test_disk_pressure_deletes_oldest_unheld_beyond_minimum_in_order(world: World) -> None:
    world.session.add(RetentionPolicy(site_id=world.a.id, days=60, min_days=30))
    world.session.flush()
    now = T0 + 100 * DAY
    s50 = world.record("a1", now - 50 * DAY)[0]
    s45 = world.record("a2", now - 45 * DAY)[0]
    held = world.record("a1", now - 40 * DAY)[0]
    s35 = world.record("a2", now - 35 * DAY)[0]
    young = world.record("a1", now - 20 * DAY)[0]
    world.clock.now = now
    world.hold("a1", held.start, held.end)
    # 5 files of 1000 bytes on a 5,500-byte disk: 500 free, below the 1,000 mark; back to 2,400 needs 2 files
    world.storage.size = 5 * SIZE + 500
    report = world.job(low_free_bytes=1000, target_free_bytes=2400).run_once()
    assert report.pressure is not None and report.pressure.bytes_to_free == 1900
    assert world.remaining() == {held.id, s35.id, young.id}
    records = world.destructions()
    assert sorted((d.start, d.rule) for d in records) == [(s50.start, "disk_pressure"), (s45.start, "disk_pressure")]
    assert [a.priority for a in world.alerts(ALERT_PRESSURE)] == [4]
    assert world.alerts(ALERT_BLOCKED) == []
    # more pressure: the next oldest goes, but never the held one or the one within the minimum
    world.storage.size = 3 * SIZE + 100
    world.clock.now += 10 * SEC
    report = world.job(low_free_bytes=1000, target_free_bytes=10**6).run_once()
    assert world.remaining() == {held.id, young.id}
    assert world.storage.path(held.path).exists() and world.storage.path(young.path).exists()
    # it could not free enough: that is a loud alarm too
    assert report.blocked and report.pressure_deleted == 1 and report.short_bytes == 10**6 - 100 - SIZE
    [alarm] = world.alerts(ALERT_BLOCKED)
    assert alarm.priority == 3 and "only 1000 bytes could be deleted" in alarm.details


def test_a_full_disk_with_nothing_deletable_alarms_loudly_and_deletes_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    now = T0 + 100 * DAY
    held = world.record("a1", now - 90 * DAY, n=3)
    recent = world.record("a2", now - 5 * DAY, n=3)
    world.clock.now = now
    world.hold("a1", held[0].start, held[-1].end)
    world.storage.size = 6 * SIZE
    with caplog.at_level(logging.ERROR):
        report = world.job(low_free_bytes=1000, target_free_bytes=2000).run_once()
    assert report.blocked and report.deleted == 0
    assert world.remaining() == {s.id for s in held + recent}
    [alert] = world.alerts(ALERT_BLOCKED)
    assert alert.priority == 3
    assert "nothing may be deleted" in alert.details and "segments under legal hold: 3 (3000 bytes)" in alert.details
    assert any("STORAGE ALARM" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert world.destructions() == []
    # the alarm stays one row while the condition lasts, and closes when space returns
    world.clock.now += 10 * SEC
    world.job(low_free_bytes=1000, target_free_bytes=2000).run_once()
    assert len(world.alerts(ALERT_BLOCKED, open_only=False)) == 1
    world.storage.size = 10**6
    world.clock.now += 10 * SEC
    world.job(low_free_bytes=1000, target_free_bytes=2000).run_once()
    assert world.alerts(ALERT_BLOCKED) == []
    [closed] = world.alerts(ALERT_BLOCKED, open_only=False)
    assert closed.closed_at == world.clock.now


def test_a_segment_storage_refuses_to_delete_stays_indexed_and_alarms(world: World) -> None:
    segs = world.record("a1", T0, n=5)
    world.storage.refuse.add(segs[2].path)
    world.clock.now = T0 + 31 * DAY
    report = world.job().run_once()
    assert report.failed == 1
    assert world.remaining() == {segs[2].id}
    assert [(d.start, d.count) for d in world.destructions()] == [(T0, 2), (segs[3].start, 2)]
    [alert] = world.alerts(ALERT_DELETE_FAILED)
    assert alert.priority == 3 and segs[2].path in alert.details
    world.storage.refuse.clear()
    world.clock.now += 5 * SEC
    world.job().run_once()
    assert world.remaining() == set()


def test_the_forecast_warns_before_the_policy_would_be_breached(world: World) -> None:
    # one hour of one camera at 1,000 bytes per 10 s = 100 B/s = 8.64 MB a day
    now = T0 + 2 * DAY
    world.record("a1", now - timedelta(hours=1), n=360)
    world.clock.now = now
    per_day = 100 * 86400
    world.storage.size = 360 * SIZE + 40 * per_day  # 40 days free: more than 1.2 × 30
    job = world.job()
    report = job.run_once()
    assert report.forecast is not None and report.forecast.level.value == "ok"
    assert report.forecast.days_achievable == pytest.approx(40 + 360 * SIZE / per_day)
    assert world.alerts(ALERT_FORECAST) == []
    world.storage.size = 360 * SIZE + 31 * per_day  # 31 days: the policy still holds, but only just
    world.clock.now += timedelta(minutes=1)
    assert job.run_once().forecast is None  # not due yet
    world.clock.now += timedelta(minutes=5)
    assert job.run_once().forecast.level.value == "warning"  # type: ignore[union-attr]
    [alert] = world.alerts(ALERT_FORECAST)
    assert alert.priority == 4 and "policy of 30 days" in alert.details
    world.storage.size = 360 * SIZE + 20 * per_day
    world.clock.now += timedelta(minutes=5)
    assert job.run_once().forecast.level.value == "critical"  # type: ignore[union-attr]
    assert [a.priority for a in world.alerts(ALERT_FORECAST)] == [3]



def test_the_worker_job_takes_its_marks_from_the_disk_and_its_default_from_the_role(world: World) -> None:
    edge = build(world.rt, role="edge", storage=world.storage)
    central = build(world.rt, storage=world.storage)
    total = world.storage.capacity()
    assert edge.config.default_policy == Policy.days(30)
    assert central.config.default_policy == Policy.days(10)
    assert (edge.config.low_free_bytes, edge.config.target_free_bytes) == (math.ceil(total * 0.05),
                                                                           math.ceil(total * 0.10))


def test_the_loop_survives_a_failed_run_and_stops_when_told(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.record("a1", T0, n=2)
    stop = threading.Event()
    calls = []

    def clock() -> datetime:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("clock source unavailable")
        stop.set()
        return T0 + 31 * DAY

    job = world.job()
    job.clock = clock
    with caplog.at_level(logging.ERROR):
        job.run_forever(stop, interval_s=0)
    assert len(calls) == 2
    assert world.remaining() == set()
    assert any("retention run failed" in r.getMessage() for r in caplog.records)


def test_a_hold_placed_while_a_run_is_deciding_still_wins(world: World) -> None:
    segs = world.record("a1", T0, n=3)
    world.clock.now = T0 + 31 * DAY

    class Racing(RetentionJob):
        """Places a hold on the middle segment after the candidates were read, before anything is deleted."""

        def _destroy(self, session: Session, now: datetime, chosen: Sequence[tuple[Segment, Rule]],
                     holds: Sequence[HoldInfo], policies: Mapping[int, Policy], report: RunReport) -> None:
            if chosen and not placed:
                placed.append(world.hold("a1", segs[1].start + 2 * SEC, segs[1].start + 3 * SEC))
            super()._destroy(session, now, chosen, holds, policies, report)

    placed: list[int] = []
    base = world.job()
    job = Racing(sessions=base.sessions, storage=base.storage, config=base.config, clock=base.clock)
    job.run_once()
    assert placed
    assert world.remaining() == {segs[1].id}
    assert [(d.start, d.count) for d in world.destructions()] == [(T0, 1), (segs[2].start, 1)]


def test_an_unusable_site_policy_keeps_that_sites_footage(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.session.add(RetentionPolicy(site_id=world.b.id, days=0, min_days=0))
    world.session.flush()
    a = world.record("a1", T0)
    b = world.record("b1", T0)
    world.clock.now = T0 + 400 * DAY
    with caplog.at_level(logging.ERROR):
        world.job().run_once()
    assert world.remaining() == {b[0].id}
    assert a[0].id not in world.remaining()
    assert any("retention policy of site" in r.getMessage() for r in caplog.records)


def test_an_hour_of_runs_is_sealed_into_one_audited_record_per_camera_and_range(world: World) -> None:
    segs = world.record("a1", T0, n=400)  # a little over an hour of 10-second segments
    other = world.record("b1", T0, n=30)
    world.hold("a1", segs[200].start + SEC, segs[200].start + 2 * SEC)  # one segment in the middle is held
    job = world.job(seal_after=timedelta(hours=1))
    start = T0 + 30 * DAY
    runs = 0
    world.clock.now = start
    while world.clock.now < start + 70 * 60 * SEC:  # a run every 10 s for 70 minutes
        world.clock.now += 10 * SEC
        job.run_once()
        runs += 1
        if world.clock.now < start + 60 * 60 * SEC:
            assert world.destructions() == []  # nothing sealed within the first hour: the deletions are pending
    assert world.remaining() == {segs[200].id}
    records = world.destructions()
    a1, b1 = world.cams["a1"].id, world.cams["b1"].id
    # Sealed an hour after the first deletion: everything pending then, split where the held segment is.
    assert [(d.camera_id, d.start, d.end, d.count, d.bytes) for d in records] == [
        (a1, T0, segs[199].end, 200, 200 * SIZE),
        (a1, segs[201].start, segs[360].end, 160, 160 * SIZE),
        (b1, T0, other[-1].end, 30, 30 * SIZE),
    ]
    pending = world.session.scalars(select(PendingDestruction)).all()
    assert {p.camera_id for p in pending} == {a1} and sum(p.count for p in pending) == 39
    world.clock.now += 60 * 60 * SEC  # an hour later the rest is sealed too
    job.run_once()
    assert [(d.start, d.end, d.count) for d in world.destructions()][2] == (segs[361].start, segs[399].end, 39)
    entries = world.session.scalars(select(AuditEntry).where(AuditEntry.action == "destruction.create")).all()
    assert len(entries) == 4 and runs == 420  # four audited records for 421 runs that deleted 429 segments
    assert world.session.scalars(select(PendingDestruction)).all() == []


def test_verification_accepts_a_link_to_footage_deleted_but_not_yet_sealed(world: World) -> None:
    segs = world.record("a1", T0, n=6)
    world.clock.now = segs[2].end + 30 * DAY + SEC
    world.job(seal_after=timedelta(hours=1)).run_once()
    assert world.remaining() == {s.id for s in segs[3:]} and world.destructions() == []
    assert len(world.session.scalars(select(PendingDestruction)).all()) == 1
    report = recording_reads.verify(session=world.session, actor=system_actor(), storage=world.storage,
                                    camera_id=world.cams["a1"].id, start=T0, end=T0 + DAY)
    assert report.ok and report.checked == 3, report.problems
    world.session.execute(delete(PendingDestruction))  # without the record of the deletion it is a break
    broken = recording_reads.verify(session=world.session, actor=system_actor(), storage=world.storage,
                                    camera_id=world.cams["a1"].id, start=T0, end=T0 + DAY)
    assert [p.kind for p in broken.problems] == ["chain_break"]
