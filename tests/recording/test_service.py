"""Reads of recordings: chain verification, coverage, gaps, scope, measured-stream checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope, system_actor
from kgys.audit.mechanism import set_actor
from kgys.cameras.compliance import stream_checks
from kgys.cameras.models import CameraHealth
from kgys.errors import NotFound, ValidationFailed
from kgys.recording.flows import reads
from kgys.recording.models import GENESIS, Destruction, Gap
from kgys.recording.service import ChainItem, chain_problems
from kgys.runtime import Runtime
from tests.recording.test_maintainer import Setup

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
A, B, C, D = "a" * 64, "b" * 64, "c" * 64, "d" * 64


def item(i: int, sha: str, prev: str, actual: str | None = "same") -> ChainItem:
    return ChainItem(i, T0 + timedelta(seconds=10 * i), sha, prev, sha if actual == "same" else actual)


@pytest.mark.parametrize(
    ("items", "anchor", "destroyed", "kinds"),
    [
        ([item(1, A, GENESIS), item(2, B, A), item(3, C, B)], None, [], []),
        ([item(1, A, GENESIS), item(2, B, A, actual=D)], None, [], ["hash_mismatch"]),
        ([item(1, A, GENESIS), item(2, B, A, actual=None)], None, [], ["missing_file"]),
        ([item(1, A, GENESIS), item(2, B, C)], None, [], ["chain_break"]),  # a segment was removed
        ([item(2, B, A), item(3, C, B)], A, [], []),
        ([item(2, B, D)], A, [], ["chain_break"]),
        # the segments before were deleted under retention and a destruction record says so
        ([item(5, B, A), item(6, C, B)], None, [(T0, T0 + timedelta(seconds=45))], []),
        ([item(5, B, A)], None, [], ["chain_break"]),
    ],
)
def test_chain_problems(items: list[ChainItem], anchor: str | None, destroyed: list[tuple[datetime, datetime]],
                        kinds: list[str]) -> None:
    assert [p.kind for p in chain_problems(items, anchor, destroyed)] == kinds


def health(w: int | None, h: int | None, codec: str = "h264") -> CameraHealth:
    return CameraHealth(camera_id=1, width=w, height=h, codec=codec)


@pytest.mark.parametrize(
    ("declared", "measured", "failed"),
    [
        ((1920, 1080, "h264"), health(1920, 1080), []),
        ((1920, 1080, "h264"), health(640, 480), ["resolution_declared", "resolution_minimum"]),
        ((1280, 720, "h264"), health(1280, 720), ["resolution_minimum"]),
        ((1920, 1080, "h265"), health(1920, 1080, "h264"), ["codec_declared"]),
        ((1920, 1080, "h264"), None, ["measured"]),
        ((1920, 1080, "h264"), health(None, None), ["measured"]),
    ],
)
def test_stream_checks(declared: tuple[int, int, str], measured: CameraHealth | None, failed: list[str]) -> None:
    checks = stream_checks(declared_width=declared[0], declared_height=declared[1], declared_codec=declared[2],
                           measured=measured)
    assert [c.code for c in checks if not c.passed] == failed


@pytest.fixture
def setup(rt: Runtime, session: Session, tmp_path: Path, clip_h264: Path) -> Setup:
    s = Setup(rt, session, tmp_path, clip_h264)
    s.segments(stamps=("20250301T080000", "20250301T080001"))
    s.segments(run="r000000000000002", stamps=("20250301T080010", "20250301T080011"))
    s.m.scan({})
    return s


def test_verify_finds_tampering(setup: Setup) -> None:
    actor = system_actor()
    cam = setup.camera.id
    ok = reads.verify(session=setup.session, actor=actor, storage=setup.storage, camera_id=cam,
                      start=T0, end=T0 + timedelta(minutes=1))
    assert ok.ok and ok.checked == 4 and ok.bytes > 0
    rows = setup.rows()
    path = setup.storage.path(rows[2].path)
    path.write_bytes(path.read_bytes()[:-188])
    setup.storage.delete(rows[3].path)
    bad = reads.verify(session=setup.session, actor=actor, storage=setup.storage, camera_id=cam,
                       start=T0, end=T0 + timedelta(minutes=1))
    assert [(p.segment_id, p.kind) for p in bad.problems] == [(rows[2].id, "hash_mismatch"),
                                                             (rows[3].id, "missing_file")]
    # a row removed from the index breaks the chain, unless a destruction record accounts for it
    setup.session.delete(rows[1])
    setup.session.flush()
    part = reads.verify(session=setup.session, actor=actor, storage=setup.storage, camera_id=cam,
                        start=T0 + timedelta(seconds=5), end=T0 + timedelta(seconds=11))
    assert [(p.segment_id, p.kind) for p in part.problems] == [(rows[2].id, "hash_mismatch"),
                                                                (rows[2].id, "chain_break")]
    setup.session.add(Destruction(camera_id=cam, site_id=rows[1].site_id, start=rows[1].start, end=rows[1].end,
                                  count=1, bytes=rows[1].bytes, rule="retention"))
    set_actor(setup.session, actor)
    setup.session.flush()
    part = reads.verify(session=setup.session, actor=actor, storage=setup.storage, camera_id=cam,
                        start=T0 + timedelta(seconds=5), end=T0 + timedelta(seconds=11))
    assert [p.kind for p in part.problems] == ["hash_mismatch"]


def test_reads_coverage_and_gaps(setup: Setup) -> None:
    actor = system_actor()
    cam = setup.camera.id
    setup.session.add(Gap(camera_id=cam, site_id=setup.camera.site_id, start=T0 + timedelta(seconds=2),
                          end=T0 + timedelta(seconds=10), cause="camera_offline", detail=""))
    setup.session.flush()
    segs = reads.segments(session=setup.session, actor=actor, camera_id=cam, start=T0, end=T0 + timedelta(hours=1))
    assert len(segs) == 4
    gaps = reads.gaps(session=setup.session, actor=actor, camera_id=cam, start=T0, end=T0 + timedelta(hours=1))
    assert [g.cause for g in gaps] == ["camera_offline"]
    [(hour, frac)] = reads.coverage(session=setup.session, actor=actor, camera_id=cam, start=T0,
                                    end=T0 + timedelta(seconds=12))
    assert hour == T0 and frac == pytest.approx(3.8 / 12, abs=0.02)
    with pytest.raises(ValidationFailed):
        reads.segments(session=setup.session, actor=actor, camera_id=cam, start=T0, end=T0)


def test_reads_respect_scope(setup: Setup) -> None:
    outsider = Actor(id=None, username="x", role="operator", scope=Scope(paths=("/TR/TR-98/",)))
    with pytest.raises(NotFound):
        reads.segments(session=setup.session, actor=outsider, camera_id=setup.camera.id, start=T0,
                       end=T0 + timedelta(hours=1))
    insider = Actor(id=None, username="y", role="operator", scope=Scope(paths=("/TR/TR-99/",)))
    assert len(reads.segments(session=setup.session, actor=insider, camera_id=setup.camera.id, start=T0,
                              end=T0 + timedelta(hours=1))) == 4
