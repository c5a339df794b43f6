"""Clip export reads the segments through the storage interface: from a store with files on this machine, and
from one without (a remote store's test double), with the same result."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kgys.errors import ConfigurationError, NotFound
from kgys.live.flows import clip
from kgys.recording.footage import SegmentRef
from kgys.recording.storage import LocalStorage, Storage, segment_key
from tests.recording.conftest import make_ts_segments
from tests.recording.memstore import MemoryStorage

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
STAMPS = ("20250301T080000", "20250301T080001", "20250301T080002")


def _stores(clip_h264: Path, tmp_path: Path) -> tuple[MemoryStorage, LocalStorage, list[SegmentRef]]:
    files = make_ts_segments(clip_h264, tmp_path / "cut", run="r1", stamps=STAMPS)
    remote, local = MemoryStorage(), LocalStorage(tmp_path / "rec", fsync=False)
    refs, prev = [], "0" * 64
    for i, f in enumerate(files):
        start = T0 + timedelta(seconds=i)
        key = segment_key(site_id=1, camera_id=7, start=start, filename=f.name)
        data = f.read_bytes()
        remote.objects[key] = data
        local.put(key, f)
        digest = hashlib.sha256(data).hexdigest()
        refs.append(SegmentRef(id=i + 1, camera_id=7, start=start, end=start + timedelta(seconds=1), duration=1.0,
                               bytes=len(data), sha256=digest, prev_sha256=prev, key=key, codec="h264"))
        prev = digest
    return remote, local, refs


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


def test_a_segment_is_read_where_it_lies_or_streamed_into_a_copy(clip_h264: Path, tmp_path: Path) -> None:
    remote, local, refs = _stores(clip_h264, tmp_path)
    key = refs[0].key
    own = clip.local_file(local, key, tmp_path / "copy-local.ts")
    assert own == local.path(key) and not (tmp_path / "copy-local.ts").exists()
    assert remote.local_path(key) is None
    copy = clip.local_file(remote, key, tmp_path / "copy-remote.ts")
    assert copy == tmp_path / "copy-remote.ts" and copy.read_bytes() == remote.objects[key]
    assert remote.reads > 0
    with pytest.raises(NotFound):
        clip.local_file(remote, "1/7/gone.ts", tmp_path / "gone.ts")


@pytest.mark.parametrize("kind", ["remote", "local"])
def test_a_clip_joins_the_segments_of_any_store(clip_h264: Path, tmp_path: Path, kind: str) -> None:
    remote, local, refs = _stores(clip_h264, tmp_path)
    store: Storage = remote if kind == "remote" else local
    start, end = T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=2.5)
    plan = clip.ClipPlan(camera_id=7, site_id=1, site_code="OKUL-7", codec="h264", start=start, end=end,
                         reason="dosya 55", segments=refs)
    out = clip.build(plan=plan, storage=store, ffmpeg="ffmpeg", exported_by="savci", now=T0 + timedelta(days=1))
    try:
        with zipfile.ZipFile(out.path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            (tmp_path / "clip.mp4").write_bytes(zf.read("clip.mp4"))
        assert [(m["id"], m["sha256"]) for m in manifest["segments"]] == [(s.id, s.sha256) for s in refs]
        assert manifest["clip"]["sha256"] == out.sha256 == hashlib.sha256((tmp_path / "clip.mp4").read_bytes()
                                                                           ).hexdigest()
        assert abs(_duration(tmp_path / "clip.mp4") - 2.0) < 1.0
        if kind == "remote":
            assert remote.reads > 0
        else:
            assert all(local.path(s.key).is_file() for s in refs)  # read in place, left where they were
    finally:
        shutil.rmtree(out.workdir, ignore_errors=True)


@pytest.mark.parametrize(("line", "seconds"), [
    ("out_time_us=1500000\n", 1.5), ("out_time_ms=2000000", 2.0), ("out_time_us=N/A", None),
    ("out_time=00:00:01.500000", None), ("progress=end", None), ("out_time_us=-5", 0.0)])
def test_ffmpeg_progress_lines_are_read_as_seconds_written(line: str, seconds: float | None) -> None:
    assert clip.out_seconds(line) == seconds


def test_a_join_reports_its_progress_up_to_the_recorded_seconds(clip_h264: Path, tmp_path: Path) -> None:
    _remote, local, refs = _stores(clip_h264, tmp_path)
    start, end = T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=2.5)
    plan = clip.ClipPlan(camera_id=7, site_id=1, site_code="OKUL-7", codec="h264", start=start, end=end,
                         reason="dosya 55", segments=refs)
    assert clip.recorded_seconds(plan) == pytest.approx(2.0)
    seen: list[float] = []
    (tmp_path / "work").mkdir()
    out = tmp_path / "work" / "one.mp4"
    clip.join(plan=plan, storage=local, ffmpeg="ffmpeg", workdir=tmp_path / "work", out=out, on_progress=seen.append)
    assert seen and seen == sorted(seen) and abs(seen[-1] - 2.0) < 1.0
    assert abs(_duration(out) - 2.0) < 1.0
    with pytest.raises(ConfigurationError):
        clip.join(plan=plan, storage=local, ffmpeg="ffmpeg-that-is-not-there", workdir=tmp_path / "work",
                  out=tmp_path / "work" / "two.mp4")
