"""The low-latency live WebSocket on a real recorder's spool: fMP4 that ffprobe reads, the ticket it needs, one
follower per camera for all its viewers, revocation closing it, no extra audit entry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from kgys.accounts import service as account_service
from kgys.live import stream
from kgys.live.feed import LiveHub
from kgys.media import fmp4
from tests import factories
from tests.live.conftest import Recorded
from tests.waiting import wait_for


def _viewer(w: Recorded, role: str = "operator") -> tuple[str, dict[str, str]]:
    with w.rt.sessions.begin() as session:
        u = factories.user(session, role, scope=["TR-99-A"])
        token = account_service.issue_token(session=session, settings=w.rt.settings.security, user=u)
    return u.username, {"Authorization": f"Bearer {token}"}


def _socket_url(w: Recorded, cam: int, headers: dict[str, str]) -> str:
    r = w.client.post(f"/api/v1/cameras/{cam}/live", json={"reason": "izleme"}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["playlist"].replace("index.m3u8", "ws")


def _hub(w: Recorded) -> LiveHub:
    found: LiveHub = w.client.app.state.live_hub  # type: ignore[attr-defined]
    return found


def split(message: bytes) -> list[bytes]:
    """A binary message cut into what it carries, each whole: an init segment (``ftyp``+``moov``) or a frame's
    fragment (``moof``+``mdat``); a message carries several (the frames written since the last one)."""
    out: list[bytes] = []
    i = 0
    while i < len(message):
        size, kind = int.from_bytes(message[i:i + 4], "big"), message[i + 4:i + 8]
        assert size >= 8 and i + size <= len(message), "a box cut by the message's end"
        if kind in (b"ftyp", b"moof"):
            out.append(message[i:i + size])
        else:
            assert out and kind in (b"moov", b"mdat"), kind
            out[-1] += message[i:i + size]
        i += size
    return out


class Pieces:
    """The init segments and fragments of a socket's binary messages, one by one."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.left: list[bytes] = []
        self.messages = 0

    def take(self, count: int) -> list[bytes]:
        while len(self.left) < count:
            self.left += split(self.ws.receive_bytes())
            self.messages += 1
        got, self.left = self.left[:count], self.left[count:]
        return got


def _start(ws: WebSocketTestSession) -> tuple[str, bytes, list[bytes], Pieces]:
    """The codec message, the init segment and the first five fragments."""
    codec = json.loads(ws.receive_text())["codec"]
    pieces = Pieces(ws)
    init, *frags = pieces.take(6)
    return codec, init, frags, pieces


def _sample_flags(frag: bytes) -> int:
    trun = frag.index(b"trun")
    return int.from_bytes(frag[trun + 24:trun + 28], "big")  # after version/flags, count, offset, duration, size


def test_the_socket_needs_a_ticket(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    headers = w.headers["operator"]
    for url in (f"/live/{cam}/ws", f"/live/{cam}/ws?t=forged.ticket"):
        with pytest.raises(WebSocketDisconnect) as refused, w.client.websocket_connect(url, headers=headers) as ws:
            ws.receive_bytes()
        assert refused.value.code == 4403
    other = _socket_url(w, recorded.camera_ids[1], headers).replace(f"/live/{recorded.camera_ids[1]}/",
                                                                       f"/live/{cam}/")
    with pytest.raises(WebSocketDisconnect) as refused, w.client.websocket_connect(other, headers=headers) as ws:
        ws.receive_bytes()
    assert refused.value.code == 4403 and "another stream" in refused.value.reason
    url = _socket_url(w, cam, headers)
    stranger = {"Authorization": "Bearer " + _viewer(w)[1]["Authorization"][7:]}
    with pytest.raises(WebSocketDisconnect) as refused, w.client.websocket_connect(url, headers=stranger) as ws:
        ws.receive_bytes()
    assert refused.value.code == 4403 and "another sign-in" in refused.value.reason
    with pytest.raises(WebSocketDisconnect) as refused, \
            w.client.websocket_connect(url, headers=headers | {"Origin": "https://elsewhere.example"}) as ws:
        ws.receive_bytes()
    assert refused.value.code == 4403


def test_live_video_arrives_as_fmp4_from_a_keyframe(recorded: Recorded, tmp_path: Path) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    _name, headers = _viewer(w)
    url = _socket_url(w, cam, headers)
    views = w.audit_count("camera.live.view")
    assert views >= 1
    with w.client.websocket_connect(url, headers=headers) as ws:
        codec, init, frags, pieces = _start(ws)
        frags += pieces.take(40)
    assert w.audit_count("camera.live.view") == views  # the viewing was audited when it was opened, once
    assert codec.startswith("avc1.64")  # the simulated cameras send H.264 High
    assert init[4:8] == b"ftyp" and all(f[4:8] == b"moof" for f in frags)
    assert _sample_flags(frags[0]) == fmp4.KEY_FLAGS
    assert pieces.messages < 1 + 40 // 2  # frames leave together, a batch a message (about 0.1 s of them)
    path = tmp_path / "live.mp4"
    path.write_bytes(init + b"".join(frags))
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_entries",
                          "stream=codec_name,width,height:packet=dts,flags", str(path)],
                         capture_output=True, check=True, timeout=30)
    info = json.loads(out.stdout)
    assert (info["streams"][0]["codec_name"], info["streams"][0]["width"]) == ("h264", 1920)
    dts = [p["dts"] for p in info["packets"]]
    assert len(dts) == 45 and info["packets"][0]["flags"].startswith("K")
    assert all(b > a for a, b in zip(dts, dts[1:], strict=False))  # in order (the steps are the camera's: a
    # simulated camera on a busy machine stamps frames unevenly)
    seq = [int.from_bytes(f[20:24], "big") for f in frags]  # mfhd: one number a frame, as the remuxer made them
    assert seq == list(range(seq[0], seq[0] + 45))  # no frame lost on the way


def test_two_viewers_share_one_follower(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[1]
    _n1, h1 = _viewer(w)
    _n2, h2 = _viewer(w)
    hub = _hub(w)
    with w.client.websocket_connect(_socket_url(w, cam, h1), headers=h1) as first, \
            w.client.websocket_connect(_socket_url(w, cam, h2), headers=h2) as second:
        a, b = _start(first), _start(second)
        assert a[0] == b[0] and a[1] == b[1]
        assert len([f for f in hub.lowlat.running.values() if f.cam_dir.name == str(cam)]) == 1
        assert len(hub.lowlat.running[cam].viewers) == 2
        assert _sample_flags(a[2][0]) == _sample_flags(b[2][0]) == fmp4.KEY_FLAGS  # each starts at a keyframe
        assert a[1][4:8] == b[1][4:8] == b"ftyp"
    wait_for("the follower to stop with its last viewer", lambda: cam not in hub.lowlat.running, 10)


def test_disabling_the_user_closes_the_socket(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    name, headers = _viewer(w)
    with w.client.websocket_connect(_socket_url(w, cam, headers), headers=headers) as ws:
        _start(ws)
        with w.rt.sessions.begin() as session:
            account_service.set_active(session=session, actor=factories.admin(), username=name, active=False)
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(25 * 60):  # frames keep coming until the next check, a few seconds at most
                ws.receive_bytes()
    assert closed.value.code == 4403 and "open the camera again" in closed.value.reason


def test_one_sign_in_is_checked_once_a_round_for_all_its_sockets(recorded: Recorded) -> None:
    w, (cam, other) = recorded, recorded.camera_ids[:2]
    _a, ha = _viewer(w)
    _b, hb = _viewer(w)
    app = w.client.app
    rechecks = app.state.live_rechecks = stream.Rechecks(interval=0.3)  # type: ignore[attr-defined]
    try:
        with w.client.websocket_connect(_socket_url(w, cam, ha), headers=ha) as one, \
                w.client.websocket_connect(_socket_url(w, other, ha), headers=ha) as two, \
                w.client.websocket_connect(_socket_url(w, cam, hb), headers=hb) as three:
            for ws in (one, two, three):
                _start(ws)
            wait_for("three rounds of checks", lambda: rechecks.rounds >= 3, 30)
            assert len(rechecks.open) == 3
            rounds, checks = rechecks.rounds, rechecks.sign_in_checks
            assert 2 * rounds <= checks <= 2 * rounds + 2  # two sign-ins a round (the next may be under way), not
            # one a socket (three a round)
        wait_for("the checks to stop with the last socket", lambda: not rechecks.open and rechecks.task is None, 10)
    finally:
        del app.state.live_rechecks  # type: ignore[attr-defined]
