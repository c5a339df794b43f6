"""Revoking a user's sign-ins reaches their open streams: a ticket that worked stops working, segments too."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from kgys.accounts import service as account_service
from tests import factories
from tests.live.conftest import Recorded

JSON = {"Accept": "application/json"}


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _viewer(w: Recorded, role: str) -> tuple[str, dict[str, str]]:
    with w.rt.sessions.begin() as session:
        u = factories.user(session, role, scope=["TR-99-A"])
        token = account_service.issue_token(session=session, settings=w.rt.settings.security, user=u)
    return u.username, {"Authorization": f"Bearer {token}"}


def _uris(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_a_password_reset_stops_an_open_playback(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    name, headers = _viewer(w, "supervisor")
    segs = w.segments(cam)
    r = w.client.post(f"/api/v1/cameras/{cam}/playback", headers=headers,
                      json={"from": _iso(segs[0].start), "to": _iso(segs[-1].end), "reason": "olay incelemesi"})
    assert r.status_code == 200, r.text
    playlist = r.json()["playlist"]
    text = w.client.get(playlist, headers=headers).text
    base = playlist.split("?")[0].rsplit("/", 1)[0]
    segment = f"{base}/{_uris(text)[0]}"
    assert w.client.get(segment, headers=headers).status_code == 200

    with w.rt.sessions.begin() as session:
        account_service.reset_password(session=session, actor=factories.admin(), username=name,
                                       password="fresh-granite-83-harbour")

    refused = w.client.get(segment, headers=headers | JSON)
    assert refused.status_code == 403
    assert "open the camera again" in refused.json()["error"]["message"]
    assert w.client.get(playlist, headers=headers).status_code in (401, 403)


def test_disabling_a_user_stops_their_live_segments(recorded: Recorded) -> None:
    w, cam = recorded, recorded.camera_ids[0]
    name, headers = _viewer(w, "operator")
    r = w.client.post(f"/api/v1/cameras/{cam}/live", json={"reason": "izleme"}, headers=headers)
    assert r.status_code == 200, r.text
    playlist = r.json()["playlist"]
    deadline = time.monotonic() + 15
    listing = w.client.get(playlist, headers=headers)
    while listing.status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.3)
        listing = w.client.get(playlist, headers=headers)
    assert listing.status_code == 200, listing.text
    segment = f"{playlist.rsplit('/', 1)[0]}/{_uris(listing.text)[-1]}"
    assert w.client.get(segment, headers=headers).status_code == 200

    with w.rt.sessions.begin() as session:
        account_service.set_active(session=session, actor=factories.admin(), username=name, active=False)

    refused = w.client.get(segment, headers=headers | JSON)
    assert refused.status_code == 403
    assert "open the camera again" in refused.json()["error"]["message"]
