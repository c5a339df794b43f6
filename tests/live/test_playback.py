"""Playback of several cameras together against a real recorder: one reason opens them all, bookmarks, snapshots
(audited) and keyframe thumbnails made by a real ffmpeg, refusals outside the scope and for bad input."""

from __future__ import annotations

import json
import re
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.live.models import Bookmark
from tests import factories
from tests.live.conftest import Recorded


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def more(recorded: Recorded) -> dict[str, dict[str, str]]:
    """Bearer headers of a second school administrator of the same district (playback, no supervising), one of
    another district and a supervisor."""
    out: dict[str, dict[str, str]] = {}
    with recorded.rt.sessions.begin() as session:
        for label, role, scope in (("viewer2", "school_admin", "TR-99-A"),
                                   ("viewer_out", "school_admin", "TR-99-B"),
                                   ("supervisor", "supervisor", "TR-99-A")):
            u = factories.user(session, role, scope=[scope])
            out[label] = {"Authorization": "Bearer " + account_service.issue_token(
                session=session, settings=recorded.rt.settings.security, user=u)}
    return out


def _data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S)
    assert found, html[:2000]
    loaded: dict[str, object] = json.loads(found.group(1))
    return loaded


def _recorded_moment(w: Recorded, cam: int) -> datetime:
    segs = w.segments(cam)
    return segs[1].start + timedelta(seconds=0.5)


def test_one_reason_opens_every_camera_and_the_range_is_read_in_the_readers_zone(recorded: Recorded) -> None:
    w = recorded
    a, b = w.camera_ids
    segs = w.segments(a)
    start, end = segs[0].start, segs[-1].end
    istanbul = timedelta(hours=3)  # Europe/Istanbul, the default reader's zone
    q = {"cameras": f"{a},{b}", "from": (start + istanbul).strftime("%Y-%m-%dT%H:%M:%S"),
         "to": (end + istanbul + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")}
    page = w.client.get("/playback", params=q, headers=w.headers["supervisor"])
    assert page.status_code == 200, page.text[:500]
    data = _data(page.text)
    assert data["from"] == int(start.timestamp()) and data["zone"] == "Europe/Istanbul"
    assert [c["id"] for c in data["cameras"]] == [a, b]  # type: ignore[index]
    assert 'id="reason-form"' in page.text and "data-playlist" not in page.text
    assert 'type="datetime-local" step="1"' in page.text and "Europe/Istanbul (UTC+03:00)" in page.text
    assert "/exports/new?cameras=" in page.text

    before = w.audit_count("camera.playback.view")
    form = {"cameras": f"{a},{b}", "from": _iso(start), "to": _iso(end), "reason": "ihbar 155 çoklu"}
    opened = w.client.post("/playback", data=form, headers=w.headers["supervisor"])
    assert opened.status_code == 200, opened.text[:500]
    playlists = [c["playlist"] for c in _data(opened.text)["cameras"]]  # type: ignore[index]
    assert all(p and p.startswith(f"/cameras/{cam}/playback.m3u8?t=") for p, cam in zip(playlists, (a, b), strict=True))
    assert w.audit_count("camera.playback.view") == before + 2
    assert w.audit_last("camera.playback.view").reason == "ihbar 155 çoklu"
    for p in playlists:
        assert w.client.get(p, headers=w.headers["supervisor"]).status_code == 200

    missing = w.client.post("/playback", data=form | {"reason": ""}, headers=w.headers["supervisor"])
    assert missing.status_code == 422 and 'id="reason-error"' in missing.text
    assert w.audit_count("camera.playback.view") == before + 2
    # the one-camera address shows the same page
    single = w.client.get(f"/cameras/{a}/playback", params={"from": _iso(start), "to": _iso(end)},
                          headers=w.headers["supervisor"])
    assert single.status_code == 200 and [c["id"] for c in _data(single.text)["cameras"]] == [a]  # type: ignore[index]


def test_instant_replay_and_refusals(recorded: Recorded, more: dict[str, dict[str, str]]) -> None:
    w = recorded
    a = w.camera_ids[0]
    replay = w.client.get("/playback", params={"cameras": str(a), "replay": "30"}, headers=w.headers["school_admin"])
    assert replay.status_code == 200
    data = _data(replay.text)
    assert data["to"] - data["from"] == pytest.approx(30, abs=0.01)  # type: ignore[operator]
    assert w.client.get("/playback", params={"cameras": str(a)},
                        headers=more["viewer_out"]).status_code == 404
    assert w.client.get("/playback", params={"cameras": str(a)}, headers=w.headers["operator"]).status_code == 403
    for params, field in (({"cameras": "x"}, "cameras"), ({"cameras": ""}, "cameras"),
                          ({"cameras": str(a), "from": "dün"}, "from"), ({"cameras": str(a), "replay": "0"}, "replay"),
                          ({"cameras": ",".join(str(i) for i in range(1, 11))}, "cameras"),
                          ({"cameras": str(a), "from": "2026-12-01T10:00:00", "to": "2026-12-01T09:00:00"}, "to")):
        r = w.client.get("/playback", params=params,
                         headers={**w.headers["school_admin"], "Accept": "application/json"})
        assert r.status_code == 422, (params, r.text[:300])
        assert field in r.text, (params, r.text[:300])


def test_bookmarks_are_scoped_audited_and_deleted_by_their_author(recorded: Recorded,
                                                                   more: dict[str, dict[str, str]]) -> None:
    w = recorded
    a = w.camera_ids[0]
    at = _recorded_moment(w, a)
    before = w.audit_count("bookmark.create")
    r = w.client.post("/api/v1/bookmarks", json={"camera_id": a, "at": _iso(at), "note": "beyaz araç"},
                      headers=w.headers["school_admin"])
    assert r.status_code == 201, r.text
    mark = r.json()
    assert mark["note"] == "beyaz araç" and mark["mine"] and mark["to"] is None
    assert w.audit_count("bookmark.create") == before + 1
    span = w.client.post("/api/v1/bookmarks", json={"camera_id": a, "at": _iso(at),
                                                    "to": _iso(at + timedelta(seconds=3)), "note": ""},
                         headers=more["viewer2"])
    assert span.status_code == 201, span.text

    q = {"cameras": str(a), "from": _iso(at - timedelta(minutes=1)), "to": _iso(at + timedelta(minutes=1))}
    listed = w.client.get("/api/v1/bookmarks", params=q, headers=w.headers["school_admin"])
    assert listed.status_code == 200
    assert {m["id"] for m in listed.json()} >= {mark["id"], span.json()["id"]}
    page = w.client.get("/playback", params={"cameras": str(a), "from": q["from"], "to": q["to"]},
                        headers=w.headers["school_admin"])
    notes = [m["note"] for m in _data(page.text)["cameras"][0]["bookmarks"]]  # type: ignore[index]
    assert "beyaz araç" in notes

    assert w.client.get("/api/v1/bookmarks", params=q, headers=more["viewer_out"]).status_code == 404
    assert w.client.post("/api/v1/bookmarks", json={"camera_id": a, "at": _iso(at)},
                         headers=more["viewer_out"]).status_code == 404
    assert w.client.delete(f"/api/v1/bookmarks/{mark['id']}", headers=more["viewer_out"]).status_code == 404
    assert w.client.delete(f"/api/v1/bookmarks/{mark['id']}", headers=more["viewer2"]).status_code == 404
    for body, field in (({"camera_id": a, "at": "yarın"}, "at"),
                        ({"camera_id": a, "at": _iso(at), "to": _iso(at - timedelta(seconds=1))}, "to"),
                        ({"camera_id": a, "at": _iso(at), "note": "x" * 501}, "note")):
        bad = w.client.post("/api/v1/bookmarks", json=body, headers=w.headers["school_admin"])
        assert bad.status_code == 422 and field in {f["field"] for f in bad.json()["error"]["fields"]}, bad.text
    assert w.client.get("/api/v1/bookmarks", params={"cameras": "a,b"},
                        headers=w.headers["school_admin"]).json()["error"]["fields"][0]["field"] == "cameras"

    deleted = w.audit_count("bookmark.delete")
    assert w.client.delete(f"/api/v1/bookmarks/{mark['id']}", headers=w.headers["school_admin"]).status_code == 204
    assert w.client.delete(f"/api/v1/bookmarks/{span.json()['id']}", headers=more["supervisor"]).status_code == 204
    assert w.audit_count("bookmark.delete") == deleted + 2
    with Session(w.rt.engine) as s:
        assert s.scalars(select(Bookmark).where(Bookmark.id == mark["id"])).first() is None


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def test_a_snapshot_is_the_recorded_frame_as_png_and_is_audited(recorded: Recorded,
                                                                 more: dict[str, dict[str, str]]) -> None:
    w = recorded
    a = w.camera_ids[0]
    at = _recorded_moment(w, a)
    before = w.audit_count("camera.snapshot")
    r = w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": _iso(at), "reason": "ihbar 155"},
                      headers=w.headers["school_admin"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and "attachment" in r.headers["content-disposition"]
    assert _png_size(r.content) == (1920, 1080)  # the recorded frame itself, full size
    assert w.audit_count("camera.snapshot") == before + 1
    entry = w.audit_last("camera.snapshot")
    assert entry.reason == "ihbar 155" and entry.object_id == str(a)
    assert json.loads(str(entry.details))["at"] == _iso(at)

    # the exact frame: the same moment gives the same picture, a moment five frames on (25 fps: 200 ms; not the
    # next frame, as a camera's timestamps arrive unevenly under load and two moments 40 ms apart may fall on one
    # frame) another one, though both lie in one group of pictures
    def shot(moment: datetime) -> bytes:
        got = w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": _iso(moment), "reason": "kare karşılaştırma"},
                            headers=w.headers["school_admin"])
        assert got.status_code == 200, got.text
        return got.content

    assert shot(at) == r.content
    assert shot(at + timedelta(milliseconds=200)) != r.content

    assert w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": _iso(at), "reason": "x"},
                         headers=w.headers["school_admin"]).json()["error"]["fields"][0]["field"] == "reason"
    assert w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": _iso(at), "reason": "ihbar"},
                         headers=more["viewer_out"]).status_code == 404
    assert w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": "2001-01-01T00:00:00Z", "reason": "ihbar"},
                         headers=w.headers["school_admin"]).status_code == 404
    assert w.client.post(f"/api/v1/cameras/{a}/snapshot", json={"at": _iso(at), "reason": "ihbar"},
                         headers=w.headers["operator"]).status_code == 403
    assert w.audit_count("camera.snapshot") == before + 3  # the refusals are not logged as snapshots


def test_thumbnails_under_the_playback_ticket_and_cached(recorded: Recorded, more: dict[str, dict[str, str]]) -> None:
    w = recorded
    a = w.camera_ids[0]
    segs = w.segments(a)
    form = {"cameras": str(a), "from": _iso(segs[0].start), "to": _iso(segs[-1].end), "reason": "önizleme"}
    opened = w.client.post("/playback", data=form, headers=w.headers["school_admin"])
    playlist = _data(opened.text)["cameras"][0]["playlist"]  # type: ignore[index]
    ticket = playlist.split("t=", 1)[1]
    at = int(_recorded_moment(w, a).timestamp())
    url = f"/cameras/{a}/playback/thumb.jpg"
    cache = Path(w.rt.settings.data_dir) / "cache" / "thumbs" / str(a)
    before = set(cache.glob("*.jpg"))  # what other tests of this camera left
    r = w.client.get(f"{url}?at={at}&t={ticket}", headers=w.headers["school_admin"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    cached = set(cache.glob("*.jpg"))
    assert len(cached - before) <= 1 and any(p.read_bytes() == r.content for p in cached)
    again = w.client.get(f"{url}?at={at}&t={ticket}", headers=w.headers["school_admin"])  # from the cache
    assert again.status_code == 200 and again.content == r.content
    assert set(cache.glob("*.jpg")) == cached
    # only under an audited playback: no ticket, or another's, is refused
    assert w.client.get(f"{url}?at={at}", headers=w.headers["school_admin"]).status_code == 403
    assert w.client.get(f"{url}?at={at}&t={ticket}", headers=more["viewer2"]).status_code == 403
    assert w.client.get(f"{url}?at={int(segs[0].start.timestamp()) - 3600}&t={ticket}",
                        headers=w.headers["school_admin"]).status_code == 404
    assert w.client.get(f"{url}?at=soon", headers=w.headers["school_admin"]).status_code == 422


def test_the_default_range_opens_as_the_form_sends_it_back(recorded: Recorded) -> None:
    """Without a range the page shows the last hour up to now; its reason form sends that range and the start moment
    back in whole seconds, and they open (nothing falls outside the range by a fraction of a second)."""
    import re

    w = recorded
    a = w.camera_ids[0]
    shown = w.client.get(f"/cameras/{a}/playback", headers=w.headers["school_admin"])
    assert shown.status_code == 200, shown.text
    form = shown.text[shown.text.index('id="reason-form"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    assert {"cameras", "from", "to", "at"} <= set(fields)
    fields["reason"] = "son bir saat"
    opened = w.client.post("/playback", data=fields, headers=w.headers["school_admin"])
    assert opened.status_code == 200, opened.text
    assert 'id="player"' in opened.text
