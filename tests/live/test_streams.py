"""Live view, playback and clips against a real recorder: tickets, refusals, audit entries, valid video."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from kgys.recording.models import Gap
from tests.live.conftest import Recorded
from tests.recording.memstore import MemoryStorage
from tests.waiting import wait_for


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _probe(path: Path) -> dict[str, object]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,width,height:format=duration,format_name", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30, check=True)
    data = json.loads(out.stdout)
    return {**data["streams"][0], **data["format"]}


def _get_playlist(w: Recorded, url: str, who: str, timeout: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        r = w.client.get(url, headers=w.headers[who])
        if r.status_code != 404 or time.monotonic() > deadline:
            return r
        time.sleep(0.3)


def _uris(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_live_stream_is_audited_once_and_bound_to_the_viewer(recorded: Recorded, tmp_path: Path) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    before = w.audit_count("camera.live.view")
    r = w.client.post(f"/api/v1/cameras/{cam}/live", json={"reason": "olay takibi"}, headers=w.headers["operator"])
    assert r.status_code == 200, r.text
    playlist = r.json()["playlist"]
    assert w.audit_count("camera.live.view") == before + 1
    entry = w.audit_last("camera.live.view")
    assert entry.reason == "olay takibi" and entry.object_id == str(cam)

    first = _get_playlist(w, playlist, "operator")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert "#EXT-X-ENDLIST" not in first.text and "#EXT-X-PROGRAM-DATE-TIME" in first.text
    ages: list[float] = []
    texts: list[str] = []

    def live_edge_is_near() -> bool:
        # the playlist follows the recorder: its newest piece started less than 4 s ago (a loaded machine may
        # deliver a piece late now and then, so the playlist is asked again until it holds, within a bound)
        again = w.client.get(playlist, headers=w.headers["operator"])
        assert again.status_code == 200
        texts.append(again.text)
        newest = [ln for ln in again.text.splitlines() if ln.startswith("#EXT-X-PROGRAM-DATE-TIME:")][-1]
        wall = datetime.fromisoformat(newest.split(":", 1)[1].replace("Z", "+00:00"))
        ages.append((datetime.now(UTC) - wall).total_seconds())
        return ages[-1] < 4.0

    wait_for("a live playlist whose newest piece started less than 4 s ago", live_edge_is_near, timeout=60,
             every=0.5, detail=lambda: f"ages seen: {[round(a, 1) for a in ages[-20:]]}")
    assert w.audit_count("camera.live.view") == before + 1  # one entry per viewing session, not per request

    base = playlist.rsplit("/", 1)[0]
    seg_url = f"{base}/{_uris(texts[-1])[-1]}"
    seg = w.client.get(seg_url, headers=w.headers["operator"])
    assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t"
    (tmp_path / "live.ts").write_bytes(seg.content)
    info = _probe(tmp_path / "live.ts")
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 1920, 1080)
    assert 0.5 < float(str(info["duration"])) < 3.0

    # the ticket is useless with another credential, without one, or altered
    assert w.client.get(seg_url, headers=w.headers["investigator"]).status_code == 403
    assert w.client.get(playlist, headers=w.headers["investigator"]).status_code == 403
    assert w.client.get(seg_url).status_code == 403
    path, _, query = seg_url.partition("?t=")
    assert w.client.get(f"{path}?t={query[:-3]}abc", headers=w.headers["operator"]).status_code == 403
    other = seg_url.replace(f"/live/{cam}/", f"/live/{w.camera_ids[1]}/")
    assert w.client.get(other, headers=w.headers["operator"]).status_code == 403


def test_live_refused_without_permission_or_scope(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    before = w.audit_count("camera.live.view")
    url = f"/api/v1/cameras/{cam}/live"
    assert w.client.post(url, json={}).status_code == 401
    for role in ("investigator", "auditor"):
        assert w.client.post(url, json={}, headers=w.headers[role]).status_code == 403, role
    outside = w.client.post(url, json={}, headers=w.headers["operator_out"])
    missing = w.client.post("/api/v1/cameras/999999/live", json={}, headers=w.headers["operator_out"])
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["error"]["message"] == missing.json()["error"]["message"].replace("999999", str(cam))
    assert w.client.post(url, json={}, headers=w.headers["school_admin"]).status_code == 200
    assert w.audit_count("camera.live.view") == before + 1  # only the allowed opening


def test_playback_needs_a_reason_and_plays_the_index(recorded: Recorded, tmp_path: Path) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    segs = w.segments(cam)
    start, end = segs[0].start, segs[-1].end
    url = f"/api/v1/cameras/{cam}/playback"
    body = {"from": _iso(start), "to": _iso(end)}
    before = w.audit_count("camera.playback.view")
    r = w.client.post(url, json=body | {"reason": " "}, headers=w.headers["school_admin"])
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reason"
    assert w.client.post(url, json=body | {"reason": "soruşturma 2026/12"},
                         headers=w.headers["operator"]).status_code == 403
    assert w.audit_count("camera.playback.view") == before

    r = w.client.post(url, json=body | {"reason": "soruşturma 2026/12"}, headers=w.headers["school_admin"])
    assert r.status_code == 200, r.text
    entry = w.audit_last("camera.playback.view")
    assert entry.reason == "soruşturma 2026/12"
    details = json.loads(entry.details)
    assert details["from"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    assert details["to"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S"))

    playlist = r.json()["playlist"]
    text = w.client.get(playlist, headers=w.headers["school_admin"]).text
    lines = text.splitlines()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines and lines[-1] == "#EXT-X-ENDLIST"
    uris = _uris(text)
    assert len(uris) == len(segs)
    assert [float(ln[8:-1]) for ln in lines if ln.startswith("#EXTINF:")] == [round(s.duration, 3) for s in segs]
    assert lines.count("#EXT-X-DISCONTINUITY") == len(segs) - 1
    base = playlist.split("?")[0].rsplit("/", 1)[0]
    got = w.client.get(f"{base}/{uris[0]}", headers=w.headers["school_admin"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == segs[0].sha256
    # a store with no file on this machine (a remote one) serves the same bytes, streamed through the interface
    local = w.client.app.state.footage_storage  # type: ignore[attr-defined]
    remote = MemoryStorage()
    remote.objects[segs[0].path] = local.get_range(segs[0].path)
    w.client.app.state.footage_storage = remote  # type: ignore[attr-defined]
    try:
        again = w.client.get(f"{base}/{uris[0]}", headers=w.headers["school_admin"])
        assert again.status_code == 200 and again.content == got.content and remote.reads > 0
        missing = w.client.get(f"{base}/{uris[1]}", headers=w.headers["school_admin"])
        assert missing.status_code == 404
    finally:
        w.client.app.state.footage_storage = local  # type: ignore[attr-defined]
    # a segment of another camera is not reachable with this ticket
    other = w.segments(w.camera_ids[1])[0]
    path = urlsplit(f"{base}/{uris[0]}")
    stolen = f"{path.path.rsplit('/', 1)[0]}/{other.id}.ts?{path.query}"
    assert w.client.get(stolen, headers=w.headers["school_admin"]).status_code == 404


def test_clip_is_a_valid_mp4_with_a_matching_manifest(recorded: Recorded, tmp_path: Path) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    segs = w.segments(cam)[:3]
    start, end = segs[0].start + timedelta(seconds=0.5), segs[-1].end - timedelta(seconds=0.5)
    q = {"from": _iso(start), "to": _iso(end)}
    assert w.client.get(f"/cameras/{cam}/clip", params=q, headers=w.headers["supervisor"]).status_code == 422
    assert w.client.get(f"/cameras/{cam}/clip", params=q | {"reason": "dosya 55"},
                        headers=w.headers["school_admin"]).status_code == 403
    before = w.audit_count("camera.clip.export")
    r = w.client.get(f"/cameras/{cam}/clip", params=q | {"reason": "dosya 55"}, headers=w.headers["supervisor"])
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == ["clip.mp4", "manifest.json"]
        manifest = json.loads(zf.read("manifest.json"))
        (tmp_path / "clip.mp4").write_bytes(zf.read("clip.mp4"))
    assert [(m["id"], m["sha256"], m["prev_sha256"]) for m in manifest["segments"]] == \
        [(s.id, s.sha256, s.prev_sha256) for s in segs]
    assert manifest["clip"]["sha256"] == hashlib.sha256((tmp_path / "clip.mp4").read_bytes()).hexdigest()
    info = _probe(tmp_path / "clip.mp4")
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 1920, 1080)
    assert "mp4" in str(info["format_name"])
    want = (end - start).total_seconds()
    assert abs(float(str(info["duration"])) - want) < 1.5, (info["duration"], want)
    assert w.audit_count("camera.clip.export") == before + 1
    entry = w.audit_last("camera.clip.export")
    assert entry.reason == "dosya 55" and json.loads(entry.details)["clip_sha256"] == manifest["clip"]["sha256"]


def test_timeline_shows_coverage_and_gaps_with_cause(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[1]
    segs = w.segments(cam)
    with Session(w.rt.engine) as s, s.begin():
        s.add(Gap(camera_id=cam, site_id=segs[0].site_id, start=segs[0].start - timedelta(seconds=30),
                  end=segs[0].start, cause="camera_offline", detail="camera unreachable: test"))
    q = {"from": _iso(segs[0].start - timedelta(seconds=60)), "to": _iso(segs[-1].end)}
    r = w.client.get(f"/api/v1/cameras/{cam}/timeline", params=q, headers=w.headers["school_admin"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["segments"] >= len(segs) and 0 < body["coverage"] < 1
    assert [(g["cause"], g["detail"]) for g in body["gaps"]] == [("camera_offline", "camera unreachable: test")]
    assert w.client.get(f"/api/v1/cameras/{cam}/timeline", params=q,
                        headers=w.headers["operator"]).status_code == 403
    bad = w.client.get(f"/api/v1/cameras/{cam}/timeline", params={"from": "yesterday"},
                       headers=w.headers["school_admin"])
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "from"
    page = w.client.get(f"/cameras/{cam}/playback", params=q, headers=w.headers["school_admin"])
    assert page.status_code == 200
    assert 'class="bar gap"' in page.text and 'data-cause="camera_offline"' in page.text
    assert 'id="reason-form"' in page.text and "data-playlist" not in page.text


def test_pages(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    grid = w.client.get(f"/sites/{w.site_code}/live", headers=w.headers["operator"])
    assert grid.status_code == 200
    assert grid.text.count('class="video-tile"') == 2 and "/static/vendor/hls/hls.min.js" in grid.text
    assert "media-src 'self' blob:" in grid.headers["content-security-policy"]
    assert w.client.get("/static/vendor/hls/hls.min.js").status_code == 200
    assert w.client.get(f"/sites/{w.site_code}/live", headers=w.headers["investigator"]).status_code == 403
    segs = w.segments(cam)
    form = {"from": _iso(segs[0].start), "to": _iso(segs[-1].end)}
    missing = w.client.post(f"/cameras/{cam}/playback", data=form | {"reason": ""}, headers=w.headers["school_admin"])
    assert missing.status_code == 422 and 'id="reason-error"' in missing.text
    ok = w.client.post(f"/cameras/{cam}/playback", data=form | {"reason": "ihbar 155"},
                       headers=w.headers["school_admin"])
    assert ok.status_code == 200 and f'data-playlist="/cameras/{cam}/playback.m3u8?t=' in ok.text
