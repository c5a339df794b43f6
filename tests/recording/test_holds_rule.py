"""The held-footage rule written once: the pure check and the SQL clause agree on the same rows, on SQLite and
PostgreSQL; every list of holds labels them by it; and the retention job deletes exactly the footage it does
not hold, even when the disk is full and the store is not a local directory."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.audit.mechanism import acting_as
from kgys.cameras.models import Camera
from kgys.recording import holdrule, holds
from kgys.recording.models import GENESIS, LegalHold, Segment
from kgys.recording.retention import HoldInfo, Policy, SegmentInfo
from kgys.recording.retention_job import JobConfig, RetentionJob
from kgys.recording.storage import segment_key
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories
from tests.recording.memstore import MemoryStorage

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
H = timedelta(hours=1)
MARKS = [None, NOW - H, NOW - US, NOW, NOW + US, NOW + H]  # around now, equality included


@pytest.fixture
def cams(rt: Runtime, session: Session) -> tuple[Site, Camera, Camera]:
    factories.tree(session)
    site = factories.site(session, "TR-99-A")
    factories.compliant_system(session, rt.box, site.code)
    first, second = session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.name)).all()
    return site, first, second


def _hold(session: Session, site: Site, cam: Camera, start: datetime, end: datetime, *,
          until: datetime | None = None, released_at: datetime | None = None) -> LegalHold:
    with acting_as(session, factories.admin(), reason="rule table"):
        hold = LegalHold(camera_id=cam.id, site_id=site.id, start=start, end=end, reason="r", legal_basis="b",
                         created_by="test", created_at=T0, until=until, released_at=released_at,
                         released_by="test" if released_at else None)
        session.add(hold)
        session.flush()
    return hold


def _segment(session: Session, site: Site, cam: Camera, start: datetime, end: datetime) -> Segment:
    name = f"{start:%H%M%S%f}-{end:%H%M%S%f}.ts"
    seg = Segment(camera_id=cam.id, site_id=site.id, start=start, end=end, duration=(end - start).total_seconds(),
                  bytes=100, sha256=hashlib.sha256(name.encode()).hexdigest(), prev_sha256=GENESIS,
                  path=segment_key(site_id=site.id, camera_id=cam.id, start=start, filename=name), codec="h264",
                  width=1920, height=1080)
    session.add(seg)
    session.flush()
    return seg


def test_in_force_is_the_same_in_python_and_in_sql(session: Session, cams: tuple[Site, Camera, Camera]) -> None:
    site, cam, _ = cams
    made = [_hold(session, site, cam, T0, T0 + H, until=until, released_at=released)
            for released, until in itertools.product(MARKS, MARKS)]
    session.expire_all()  # compare what the database gives back
    rows = session.scalars(select(LegalHold)).all()
    in_sql = set(session.scalars(select(LegalHold.id).where(holdrule.in_force_clause(NOW))))
    in_python = {h.id for h in rows if holdrule.in_force(h, NOW)}
    assert in_sql == in_python
    assert {h.id for h in rows if holdrule.in_force(holds.to_info(h), NOW)} == in_python  # the plain copy too
    # and the table says what the rule means: in force while neither mark has come
    expected = {h.id for h in made if (h.released_at is None or h.released_at > NOW)
                and (h.until is None or h.until > NOW)}
    assert in_sql == expected and 0 < len(expected) < len(made)


def test_the_state_every_list_shows_follows_the_rule(session: Session, cams: tuple[Site, Camera, Camera]) -> None:
    site, cam, _ = cams
    for released, until in itertools.product(MARKS, MARKS):
        hold = _hold(session, site, cam, T0, T0 + H, until=until, released_at=released)
        state = holds.hold_state(hold, NOW)
        assert (state == "active") == holdrule.in_force(hold, NOW) == holds.is_active(hold, NOW)
        assert (state == "released") == (released is not None and released <= NOW)
        assert state in ("active", "released", "expired")


def test_held_footage_is_the_same_in_python_and_in_sql(session: Session, cams: tuple[Site, Camera, Camera]) -> None:
    site, cam, other = cams
    a, b = T0, T0 + H
    hold_states = [dict(), dict(until=NOW + H), dict(until=NOW), dict(released_at=NOW - US),
                   dict(released_at=NOW + H)]
    for i, kw in enumerate(hold_states):
        _hold(session, site, cam, a + i * 2 * H, b + i * 2 * H, **kw)  # type: ignore[arg-type]
    ten = timedelta(seconds=10)
    for i in range(len(hold_states)):
        lo, hi = a + i * 2 * H, b + i * 2 * H
        for start, end in [(lo - ten, lo), (lo - 2 * ten, lo - US), (hi, hi + ten), (hi + US, hi + ten),
                           (lo + ten, lo + 2 * ten), (lo - 3 * ten, hi + ten)]:
            _segment(session, site, cam, start, end)
            _segment(session, site, other, start, end)
    session.expire_all()
    hold_rows = session.scalars(select(LegalHold)).all()
    segs = session.scalars(select(Segment)).all()
    in_sql = set(session.scalars(select(Segment.id).where(
        holdrule.held_clause(NOW, camera_id=Segment.camera_id, start=Segment.start, end=Segment.end))))
    in_python = {s.id for s in segs if holdrule.held(hold_rows, s.camera_id, s.start, s.end, NOW)}
    assert in_sql == in_python
    # edges touch, a microsecond apart does not; the other camera is never held; lapsed and released holds hold
    # nothing
    assert len(in_python) == 4 * 3  # three holds in force, four touching segments each
    assert all(s.camera_id == cam.id for s in segs if s.id in in_python)


def test_retention_deletes_exactly_what_is_not_held_even_on_a_full_remote_store(
        rt: Runtime, session: Session, cams: tuple[Site, Camera, Camera]) -> None:
    site, cam, other = cams
    store = MemoryStorage(size=10**6)
    old = NOW - 40 * timedelta(days=1)
    lo = old + H
    held_kw = [dict(), dict(until=NOW + H), dict(until=NOW), dict(released_at=NOW - US), dict(released_at=NOW + H)]
    for i, kw in enumerate(held_kw):
        _hold(session, site, cam, lo + i * 2 * H, lo + i * 2 * H + H, **kw)  # type: ignore[arg-type]
    for i in range(len(held_kw)):
        a, b = lo + i * 2 * H, lo + i * 2 * H + H
        for start in (a - timedelta(seconds=10), a - timedelta(seconds=20), b, b + US, a + H / 2):
            for c in (cam, other):
                seg = _segment(session, site, c, start, start + timedelta(seconds=10))
                store.objects[seg.path] = b"x" * seg.bytes
    session.flush()
    hold_info = [holds.to_info(h) for h in session.scalars(select(LegalHold))]
    expect_kept = {s.id for s in session.scalars(select(Segment))
                   if holdrule.held(hold_info, s.camera_id, s.start, s.end, NOW)}
    assert expect_kept
    store.size = sum(len(v) for v in store.objects.values())  # the disk is full
    job = RetentionJob(sessions=rt.sessions, storage=store, clock=lambda: NOW, config=JobConfig(
        default_policy=Policy.days(60, 1), low_free_bytes=10**5, target_free_bytes=10**6))
    report = job.run_once()
    session.expire_all()
    left = {s.id: s.path for s in session.scalars(select(Segment))}
    assert set(left) == expect_kept
    assert set(store.objects) == set(left.values())
    assert report.pressure is not None and report.pressure_deleted == report.deleted > 0  # only the full disk
    assert report.blocked  # what is held stays, so the disk stays full: the alarm says so


@pytest.mark.parametrize(("released", "until"), list(itertools.product(MARKS, MARKS)))
def test_the_plain_hold_and_the_pure_retention_rule_agree(released: datetime | None, until: datetime | None) -> None:
    info = HoldInfo(id=1, camera_id=1, start=T0, end=T0 + H, until=until, released_at=released)
    seg = SegmentInfo(id=1, camera_id=1, start=T0 + H, end=T0 + H + timedelta(seconds=10))
    assert info.active(NOW) == holdrule.in_force(info, NOW)
    assert info.touches(seg) and not info.touches(SegmentInfo(id=2, camera_id=2, start=seg.start, end=seg.end))
