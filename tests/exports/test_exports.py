"""Footage exports end to end on real recordings (SQLite and PostgreSQL): asked for through the API, built by
the jobs worker's exports loop with real ffmpeg, followed to done, downloaded and checked (each MP4 readable by
ffprobe, every hash in the manifest true); refused out of scope or role, with bad input named; a worker killed
mid-export has its export queued again; an expired export loses its file."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.config import ExportsSettings, Settings
from kgys.db import utcnow
from kgys.exports import service, worker
from kgys.exports.models import FootageExport
from kgys.recording import footage
from tests import factories
from tests.live.conftest import Recorded
from tests.waiting import wait_for

API = "/api/v1/exports"
REQUEST, DOWNLOAD = "footage_export.request", "footage_export.download"


def _settings(w: Recorded) -> Settings:
    return w.rt.settings.model_copy(update={"exports": ExportsSettings(progress_seconds=0.001)})


def _range(w: Recorded) -> tuple[datetime, datetime]:
    """Three seconds that both cameras recorded."""
    for cam in w.camera_ids:
        wait_for(f"camera {cam} to have 3 segments", lambda c=cam: len(w.segments(c)) >= 3, 45, every=0.5)
    start = max(w.segments(c)[0].start for c in w.camera_ids) + timedelta(seconds=0.5)
    return start, start + timedelta(seconds=3)


def _body(w: Recorded, **extra: Any) -> dict[str, Any]:
    start, end = _range(w)
    return {"cameras": w.camera_ids, "from": start.isoformat(), "to": end.isoformat(),
            "reason": "soruşturma 2026/41"} | extra


def _count(w: Recorded) -> int:
    with Session(w.rt.engine) as s:
        return int(s.scalar(select(func.count()).select_from(FootageExport)) or 0)


def _row(w: Recorded, export_id: int) -> FootageExport:
    with Session(w.rt.engine) as s:
        row = s.get(FootageExport, export_id)
        assert row is not None
        s.expunge(row)
        return row


@pytest.fixture
def exports_loop(recorded: Recorded) -> Iterator[None]:
    """The jobs worker's exports loop, running while the test runs."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(recorded.rt.sessions, _settings(recorded),
                                                       footage.open_storage(recorded.rt.settings), stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def _duration(data: bytes, tmp: Path) -> float:
    path = tmp / "probe.mp4"
    path.write_bytes(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
                          "-of", "json", str(path)], capture_output=True, text=True, timeout=30, check=True)
    info = json.loads(out.stdout)
    assert info["streams"][0]["codec_name"] == "h264"
    return float(info["format"]["duration"])


def test_an_export_of_two_cameras_is_built_followed_and_downloaded(recorded: Recorded, exports_loop: None,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    w, inv = recorded, recorded.headers["supervisor"]
    seen: list[float] = []
    real_report = service.report

    def spy(**kw: Any) -> bool:
        seen.append(kw["progress"])
        return real_report(**kw)

    monkeypatch.setattr(service, "report", spy)
    requests_before, downloads_before = w.audit_count(REQUEST), w.audit_count(DOWNLOAD)
    body = _body(w)
    r = w.client.post(API, json=body, headers=inv)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] in ("queued", "running") and made["cameras"] == w.camera_ids and made["download"] is None
    entry = w.audit_last(REQUEST)
    details = json.loads(entry.details)
    assert w.audit_count(REQUEST) == requests_before + 1
    assert entry.reason == "soruşturma 2026/41" and details["cameras"] == w.camera_ids
    assert details["from"] == datetime.fromisoformat(body["from"]).isoformat() and details["sites"] == [w.site_code]

    def finished() -> dict[str, Any] | None:
        got = w.client.get(f"{API}/{made['id']}", headers=inv).json()
        return got if got["state"] in ("done", "failed") else None

    done = wait_for("the export to be built", finished, 90)
    assert done["state"] == "done", done
    assert done["progress"] == 1.0 and done["download"] == f"{API}/{made['id']}/download"
    assert seen and seen == sorted(seen) and 0 < seen[-1] <= 1.0  # stored as ffmpeg went, never backwards
    assert [e["id"] for e in w.client.get(API, headers=inv).json()][:1] == [made["id"]]

    got = w.client.get(done["download"], headers=inv)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert hashlib.sha256(got.content).hexdigest() == done["sha256"] and len(got.content) == done["bytes"]
    assert w.audit_count(DOWNLOAD) == downloads_before + 1
    assert json.loads(w.audit_last(DOWNLOAD).details)["sha256"] == done["sha256"]
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        files = {name: zf.read(name) for name in zf.namelist() if name.endswith(".mp4")}
    assert manifest["reason"] == "soruşturma 2026/41" and manifest["requested_by"].startswith("supervisor")
    assert manifest["time_zone"] == "Europe/Istanbul" and manifest["from"]["local"].endswith("+03:00")
    assert manifest["sites"] == [w.site_code] and [c["camera_id"] for c in manifest["cameras"]] == w.camera_ids
    for cam in manifest["cameras"]:
        data = files[cam["file"]]
        assert hashlib.sha256(data).hexdigest() == cam["sha256"] and len(data) == cam["bytes"]
        assert abs(_duration(data, tmp_path) - 3.0) < 2.1
        indexed = {s.id: s.sha256 for s in w.segments(cam["camera_id"])}
        assert cam["segments"] and all(indexed[s["id"]] == s["sha256"] for s in cam["segments"])


def test_cameras_outside_the_scope_or_a_role_without_export_are_refused(recorded: Recorded) -> None:
    w = recorded
    with w.rt.sessions.begin() as s:
        other = factories.user(s, "supervisor", scope=["TR-99-B"])
        outside = {"Authorization": "Bearer " + account_service.issue_token(session=s, settings=w.rt.settings.security,
                                                                            user=other)}
    before, audited = _count(w), w.audit_count(REQUEST)
    body = _body(w)
    assert w.client.post(API, json=body, headers=outside).status_code == 404
    mixed = body | {"cameras": [w.camera_ids[0], 999_999]}
    assert w.client.post(API, json=mixed, headers=w.headers["supervisor"]).status_code == 404
    for role in ("operator", "school_admin", "auditor"):
        assert w.client.post(API, json=body, headers=w.headers[role]).status_code == 403, role
    assert w.client.post(API, json=body).status_code == 401
    assert _count(w) == before and w.audit_count(REQUEST) == audited  # nothing created, nothing logged

    mine = w.client.post(API, json=body, headers=w.headers["supervisor"]).json()
    assert w.client.get(f"{API}/{mine['id']}", headers=outside).status_code == 404  # another's export
    assert w.client.get(f"{API}/{mine['id']}/download", headers=outside).status_code == 404
    assert all(e["id"] != mine["id"] for e in w.client.get(API, headers=outside).json())


@pytest.mark.parametrize(("change", "field"), [
    ({"cameras": []}, "cameras"),
    ({"cameras": list(range(1, 18))}, "cameras"),
    ({"cameras": [0]}, "cameras"),
    ({"reason": ""}, "reason"),
    ({"reason": "x" * 501}, "reason"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2020-01-01T00:00:00Z"}, "to"),
    ({"to": None}, "to"),
    ({"extra": 1}, "extra"),
])
def test_bad_input_is_refused_naming_the_field(recorded: Recorded, change: dict[str, Any], field: str) -> None:
    w = recorded
    body = {k: v for k, v in (_body(w) | change).items() if v is not None}
    before = _count(w)
    r = w.client.post(API, json=body, headers=w.headers["supervisor"])
    assert r.status_code == 422, r.text
    assert any(f["field"].split(".")[0] == field for f in r.json()["error"]["fields"]), r.text
    assert _count(w) == before


def test_a_range_longer_than_the_setting_is_refused(recorded: Recorded) -> None:
    w = recorded
    start = datetime.fromisoformat(_body(w)["from"])
    body = _body(w) | {"to": (start + timedelta(minutes=61)).isoformat()}
    r = w.client.post(API, json=body, headers=w.headers["supervisor"])
    assert r.status_code == 422 and "60 minutes" in r.text


def _queued(w: Recorded) -> int:
    r = w.client.post(API, json=_body(w), headers=w.headers["supervisor"])
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _drain(w: Recorded) -> None:
    """Build whatever other tests left queued, so that the next claim is the test's own."""
    settings, store = _settings(w), footage.open_storage(w.rt.settings)
    while worker.run_once(sessions=w.rt.sessions, settings=settings, storage=store) is not None:
        pass


def test_an_export_whose_worker_was_killed_is_queued_again_and_built(recorded: Recorded) -> None:
    w = recorded
    _drain(w)
    export_id = _queued(w)
    long_ago = utcnow() - timedelta(minutes=10)
    with w.rt.sessions.begin() as s:  # a worker takes it, reports once, and is killed
        claim = service.claim(session=s, export_id=export_id, now=long_ago)
        assert claim is not None and service.report(session=s, claim=claim, progress=0.4, now=long_ago)
        assert service.claim(session=s, export_id=export_id, now=long_ago) is None  # never twice
    work = service.work_dir(w.rt.settings.data_dir, export_id)
    work.mkdir(parents=True, exist_ok=True)
    (work / "camera-1.mp4").write_bytes(b"half")  # what the killed run left
    stale = timedelta(seconds=w.rt.settings.exports.stale_seconds)
    with w.rt.sessions.begin() as s:
        assert worker.housekeeping(s, utcnow(), data_dir=w.rt.settings.data_dir,
                                   stale=stale)["requeued"] == [export_id]
    assert _row(w, export_id).state == "queued" and _row(w, export_id).progress == 0.0
    with w.rt.sessions.begin() as s:  # the killed worker's claim no longer holds: it could write nothing
        assert not service.report(session=s, claim=claim, progress=0.9, now=utcnow())
    assert worker.run_once(sessions=w.rt.sessions, settings=_settings(w),
                           storage=footage.open_storage(w.rt.settings)) == export_id
    row = _row(w, export_id)
    assert (row.state, row.progress, row.attempt) == ("done", 1.0, 2)
    assert service.zip_path(w.rt.settings.data_dir, export_id).is_file() and not work.exists()


def test_a_fresh_heartbeat_is_not_taken_away(recorded: Recorded) -> None:
    w = recorded
    _drain(w)
    export_id = _queued(w)
    now = utcnow()
    with w.rt.sessions.begin() as s:
        assert service.claim(session=s, export_id=export_id, now=now) is not None
    stale = timedelta(seconds=w.rt.settings.exports.stale_seconds)
    with w.rt.sessions.begin() as s:
        assert worker.housekeeping(s, now + stale - timedelta(seconds=1), data_dir=w.rt.settings.data_dir,
                                   stale=stale)["requeued"] == []
    assert _row(w, export_id).state == "running"
    with w.rt.sessions.begin() as s:
        assert worker.housekeeping(s, now + stale + timedelta(seconds=1), data_dir=w.rt.settings.data_dir,
                                   stale=stale)["requeued"] == [export_id]


def test_an_expired_export_loses_its_file(recorded: Recorded) -> None:
    w = recorded
    _drain(w)
    export_id = _queued(w)
    assert worker.run_once(sessions=w.rt.sessions, settings=_settings(w),
                           storage=footage.open_storage(w.rt.settings)) == export_id
    row, path = _row(w, export_id), service.zip_path(w.rt.settings.data_dir, export_id)
    assert row.state == "done" and path.is_file() and row.expires_at is not None
    assert row.expires_at - row.finished_at == timedelta(hours=w.rt.settings.exports.keep_hours)  # type: ignore[operator]
    stale = timedelta(minutes=2)
    with w.rt.sessions.begin() as s:
        assert export_id not in worker.housekeeping(s, row.expires_at - timedelta(seconds=1),
                                                    data_dir=w.rt.settings.data_dir, stale=stale)["expired"]
    assert path.is_file() and _row(w, export_id).state == "done"
    with w.rt.sessions.begin() as s:
        assert export_id in worker.housekeeping(s, row.expires_at, data_dir=w.rt.settings.data_dir,
                                                stale=stale)["expired"]
    assert not path.exists() and _row(w, export_id).state == "expired"
    r = w.client.get(f"{API}/{export_id}/download", headers=w.headers["supervisor"])
    assert r.status_code == 404


def test_an_export_with_nothing_recorded_fails_with_a_reason(recorded: Recorded) -> None:
    w = recorded
    _drain(w)
    start = w.segments(w.camera_ids[0])[0].start - timedelta(hours=2)
    body = _body(w) | {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()}
    r = w.client.post(API, json=body, headers=w.headers["supervisor"])
    export_id = r.json()["id"]
    assert worker.run_once(sessions=w.rt.sessions, settings=_settings(w),
                           storage=footage.open_storage(w.rt.settings)) == export_id
    got = w.client.get(f"{API}/{export_id}", headers=w.headers["supervisor"]).json()
    assert got["state"] == "failed" and got["error"]["code"] == "no_recording"
    assert got["error"]["message"] == "Bu aralıkta kameraların hiçbiri kayıt yapmamış."  # the reader's language
    got = w.client.get(f"{API}/{export_id}?lang=ru", headers=w.headers["supervisor"]).json()
    assert got["error"]["message"] == "Ни одна из камер ничего не записала в этом интервале."
    assert w.client.get(f"{API}/{export_id}/download", headers=w.headers["supervisor"]).status_code == 404


def test_two_workers_never_build_the_same_export(recorded: Recorded) -> None:
    w = recorded
    _drain(w)
    export_id = _queued(w)
    settings, store = _settings(w), footage.open_storage(w.rt.settings)
    start = threading.Barrier(2)
    results: list[int | None] = []

    def one() -> None:
        start.wait(timeout=30)
        results.append(worker.run_once(sessions=w.rt.sessions, settings=settings, storage=store))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert sorted(results, key=str) == [export_id, None]
    row = _row(w, export_id)
    assert (row.state, row.attempt) == ("done", 1)


def test_a_worker_that_lost_its_claim_stops_and_writes_nothing(recorded: Recorded,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    w = recorded
    _drain(w)
    export_id = _queued(w)

    def taken(**kw: Any) -> bool:  # meanwhile the export was queued again and claimed by another worker
        with Session(w.rt.engine) as s, s.begin():
            row = s.get(FootageExport, export_id)
            assert row is not None
            row.attempt += 1
        return False

    monkeypatch.setattr(service, "report", taken)
    assert worker.run_once(sessions=w.rt.sessions, settings=_settings(w),
                           storage=footage.open_storage(w.rt.settings)) == export_id
    row = _row(w, export_id)
    assert (row.state, row.attempt, row.finished_at, row.sha256) == ("running", 2, None, None)
    assert not service.zip_path(w.rt.settings.data_dir, export_id).exists()
    assert not service.work_dir(w.rt.settings.data_dir, export_id).exists()
