"""Video wall layouts through the API on both engines: saved, listed, changed with their version, deleted,
audited; grids and tiles checked naming the field; cameras only of the saver's scope, and a layout shared with
a role showing each viewer only the cameras they may watch. Also the camera tree and the camera states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera, CameraHealth
from kgys.db import utcnow
from kgys.errors import ValidationFailed
from kgys.live import layouts
from kgys.live.flows.wall import camera_state
from kgys.live.layouts import Tile
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests import factories

Headers = dict[str, str]


@dataclass
class World:
    """Two districts' sites with cameras and users of several roles."""

    client: TestClient
    a_cams: list[int]
    b_cams: list[int]
    a_code: str
    h: dict[str, Headers]
    session: Session

    def audited(self, action: str) -> int:
        """How many audit entries of ``action`` exist."""
        return int(self.session.scalar(select(func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.action == action)) or 0)


@pytest.fixture
def world(rt: Runtime, session: Session) -> Iterator[World]:
    """Sites in TR-99-A and TR-99-B with two cameras each; operators of A, of B and of both, a supervisor of
    A, an auditor."""
    factories.tree(session)
    a, b = factories.site(session, "TR-99-A"), factories.site(session, "TR-99-B")
    factories.compliant_system(session, rt.box, a.code)
    factories.compliant_system(session, rt.box, b.code)
    cams = {s.id: list(session.scalars(select(Camera.id).where(Camera.site_id == s.id).order_by(Camera.id)))
            for s in (a, b)}
    offline = session.get(Camera, cams[a.id][1])
    assert offline is not None
    offline.stream_url = "rtsp://127.0.0.1:9/cam1"
    session.add(CameraHealth(camera_id=cams[a.id][1], state="offline", reason="connection refused", since=utcnow(),
                             restarts=0))
    users: dict[str, User] = {
        "op_a": factories.user(session, "operator", ["TR-99-A"]),
        "op_b": factories.user(session, "operator", ["TR-99-B"]),
        "op_ab": factories.user(session, "operator", ["TR-99"]),
        "sup_a": factories.user(session, "supervisor", ["TR-99-A"]),
        "auditor": factories.user(session, "auditor", ["TR-99-A"]),
    }
    headers = {k: {"Authorization": "Bearer " + account_service.issue_token(
        session=session, settings=rt.settings.security, user=u)} for k, u in users.items()}
    session.commit()
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
        yield World(client, cams[a.id], cams[b.id], a.code, headers, session)


def _layout(cams: list[int | None], rows: int = 2, cols: int = 2, **kw: object) -> dict[str, object]:
    tiles = [{"row": i // cols, "col": i % cols, "camera_id": c} for i, c in enumerate(cams)]
    return {"name": "Giriş kapıları", "rows": rows, "cols": cols, "tiles": tiles, **kw}


def _fields(r: object) -> list[str]:
    body = r.json()  # type: ignore[attr-defined]
    return [f["field"] for f in body["error"]["fields"]]


def test_save_list_change_and_delete_a_layout(world: World) -> None:
    w, h = world, world.h["op_a"]
    before = w.audited("wall_layout.create")
    r = w.client.post("/api/v1/live/layouts", json=_layout([w.a_cams[0], w.a_cams[1], None]), headers=h)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["mine"] and saved["version"] == 1 and saved["rows"] == saved["cols"] == 2
    assert [t["camera_id"] for t in saved["tiles"]] == [w.a_cams[0], w.a_cams[1], None]
    assert all(t["available"] for t in saved["tiles"])
    assert w.audited("wall_layout.create") == before + 1

    listed = w.client.get("/api/v1/live/layouts", headers=h).json()
    assert [x["id"] for x in listed] == [saved["id"]]
    url = f"/api/v1/live/layouts/{saved['id']}"
    big = {"row": 0, "col": 0, "rows": 2, "cols": 2, "camera_id": w.a_cams[1]}
    changed = w.client.put(url, json={**_layout([]), "rows": 3, "cols": 3, "name": "Büyük",
                                      "tiles": [big, {"row": 2, "col": 2, "camera_id": w.a_cams[0]}],
                                      "version": 1}, headers=h)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["tiles"][0]["rows"] == 2
    # a change made on the old version is refused, and changes nothing
    stale = w.client.put(url, json={**_layout([w.a_cams[0]]), "version": 1}, headers=h)
    assert stale.status_code == 409, stale.text
    assert w.client.get(url, headers=h).json()["name"] == "Büyük"
    assert w.audited("wall_layout.update") >= 1

    assert w.client.delete(url + "?version=1", headers=h).status_code == 409
    assert w.client.delete(url + "?version=2", headers=h).status_code == 204
    assert w.client.get(url, headers=h).status_code == 404
    assert w.audited("wall_layout.delete") == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"rows": 0}, "rows"),
    ({"cols": 7}, "cols"),
    ({"tiles": [{"row": 1, "col": 1, "rows": 2, "cols": 1}]}, "tiles[0]"),
    ({"tiles": [{"row": 0, "col": 0, "cols": 2}, {"row": 0, "col": 1}]}, "tiles[1]"),
    ({"tiles": [{"row": 0, "col": 0, "camera_id": 999999}]}, "tiles[0].camera_id"),
    ({"shared_role": "auditor"}, "shared_role"),
    ({"name": ""}, "name"),
])
def test_a_bad_layout_is_refused_naming_the_field(world: World, body: dict[str, object], field: str) -> None:
    w = world
    before = w.audited("wall_layout.create")
    r = w.client.post("/api/v1/live/layouts", json={**_layout([]), **body}, headers=w.h["op_a"])
    assert r.status_code == 422, r.text
    assert any(f == field or f.endswith("." + field) or f.startswith(field) for f in _fields(r)), (field, r.text)
    assert w.audited("wall_layout.create") == before
    assert w.client.get("/api/v1/live/layouts", headers=w.h["op_a"]).json() == []


def test_another_districts_camera_is_refused_as_unknown(world: World) -> None:
    w = world
    theirs = w.client.post("/api/v1/live/layouts", json=_layout([w.b_cams[0]]), headers=w.h["op_a"])
    unknown = w.client.post("/api/v1/live/layouts", json=_layout([999999]), headers=w.h["op_a"])
    assert theirs.status_code == unknown.status_code == 422
    assert theirs.json()["error"]["fields"][0]["message"] == f"no camera {w.b_cams[0]}"
    assert _fields(theirs) == _fields(unknown)


def test_a_layout_shared_with_a_role_shows_each_viewer_only_their_cameras(world: World) -> None:
    w = world
    body = _layout([w.a_cams[0], w.b_cams[0]], shared_role="operator")
    r = w.client.post("/api/v1/live/layouts", json=body, headers=w.h["op_ab"])
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    mine = w.client.post("/api/v1/live/layouts", json=_layout([w.b_cams[1]]), headers=w.h["op_ab"]).json()["id"]
    # an operator of district A sees the shared layout, with B's camera not available and not named
    seen = w.client.get("/api/v1/live/layouts", headers=w.h["op_a"]).json()
    assert [x["id"] for x in seen] == [lid]
    tiles = seen[0]["tiles"]
    assert not seen[0]["mine"]
    assert (tiles[0]["camera_id"], tiles[0]["available"]) == (w.a_cams[0], True)
    assert (tiles[1]["camera_id"], tiles[1]["available"]) == (None, False)
    assert f"\"camera_id\":{w.b_cams[0]}" not in w.client.get(f"/api/v1/live/layouts/{lid}", headers=w.h["op_a"]).text
    # the operator of B sees it the other way round
    seen_b = w.client.get(f"/api/v1/live/layouts/{lid}", headers=w.h["op_b"]).json()
    assert [t["available"] for t in seen_b["tiles"]] == [False, True]
    # only its owner changes it; the other role does not see it; the owner's own layout stays theirs
    put = w.client.put(f"/api/v1/live/layouts/{lid}", json={**body, "version": 1}, headers=w.h["op_a"])
    assert put.status_code == 403
    assert w.client.delete(f"/api/v1/live/layouts/{lid}", headers=w.h["op_a"]).status_code == 403
    assert w.client.get(f"/api/v1/live/layouts/{lid}", headers=w.h["sup_a"]).status_code == 404
    assert w.client.get(f"/api/v1/live/layouts/{mine}", headers=w.h["op_a"]).status_code == 404
    assert w.client.get("/api/v1/live/layouts", headers=w.h["auditor"]).status_code == 403


def test_the_camera_tree_and_states_cover_the_scope_only(world: World) -> None:
    w = world
    tree = w.client.get("/api/v1/live/tree", headers=w.h["op_a"]).json()
    assert [s[0] for s in tree["sites"]] == [w.a_code]
    assert [d[0] for d in tree["districts"]] == ["TR-99-A"] and [p[0] for p in tree["provinces"]] == ["TR-99"]
    assert sorted(c[0] for c in tree["cameras"]) == sorted(w.a_cams)
    offline = next(c for c in tree["cameras"] if c[0] == w.a_cams[1])
    assert offline[2] == 0 and offline[3:5] == ["offline", "connection refused"]
    both = w.client.get("/api/v1/live/tree", headers=w.h["op_ab"]).json()
    assert len(both["sites"]) == 2 and len(both["districts"]) == 2

    ids = ",".join(str(i) for i in [*w.a_cams, *w.b_cams])
    states = w.client.get(f"/api/v1/live/cameras?ids={ids}", headers=w.h["op_a"]).json()
    assert sorted(s["camera_id"] for s in states) == sorted(w.a_cams)
    assert {s["camera_id"]: s["state"] for s in states}[w.a_cams[1]] == "offline"
    bad = w.client.get("/api/v1/live/cameras?ids=1,x", headers=w.h["op_a"])
    assert bad.status_code == 422 and _fields(bad) == ["ids"]
    assert w.client.get("/api/v1/live/tree", headers=w.h["auditor"]).status_code == 403


def test_the_wall_page_opens_a_sites_cameras(world: World) -> None:
    w = world
    page = w.client.get(f"/wall?site={w.a_code}", headers=w.h["op_a"])
    assert page.status_code == 200, page.text
    assert f'data-initial="{w.a_cams[0]},{w.a_cams[1]}"' in page.text
    assert w.client.get(f"/wall?site={w.a_code}", headers=w.h["op_b"]).status_code == 404
    chosen = w.client.get(f"/wall?cameras={w.b_cams[0]},{w.a_cams[0]}", headers=w.h["op_a"])
    assert f'data-initial="{w.a_cams[0]}"' in chosen.text and 'data-unavailable="1"' in chosen.text
    # instant replay on the tiles only for those who may play recordings back
    assert 'data-t-replay=""' in page.text
    supervisor = w.client.get(f"/wall?site={w.a_code}", headers=w.h["sup_a"])
    assert 'data-t-replay="Tekrar izle"' in supervisor.text


@pytest.mark.parametrize(("rows", "cols", "tiles", "fields"), [
    (1, 1, [Tile(0, 0)], []),
    (4, 4, [Tile(r, c) for r in range(4) for c in range(4)], []),
    (3, 3, [Tile(0, 0, 2, 2), Tile(0, 2), Tile(2, 0, 1, 3)], []),
    (0, 3, [], ["rows"]),
    (3, 7, [], ["cols"]),
    (2, 2, [Tile(1, 1, 1, 2)], ["tiles[0]"]),
    (2, 2, [Tile(0, 0, 2, 2), Tile(1, 1)], ["tiles[1]"]),
    (2, 2, [Tile(0, 0), Tile(0, 0), Tile(2, 0)], ["tiles[1]", "tiles[2]"]),
])
def test_grid_rules(rows: int, cols: int, tiles: list[Tile], fields: list[str]) -> None:
    if not fields:
        layouts.check_grid(rows, cols, tiles)
        return
    with pytest.raises(ValidationFailed) as err:
        layouts.check_grid(rows, cols, tiles)
    assert [e.field for e in err.value.errors] == fields


@pytest.mark.parametrize(("enabled", "url", "health", "reason", "expected"), [
    (True, "rtsp://x", "online", "recording", ("recording", "")),
    (True, "rtsp://x", "offline", "connection refused", ("offline", "connection refused")),
    (True, "rtsp://x", None, None, ("unknown", "")),
    (True, "", "online", "", ("unconnected", "")),
    (False, "rtsp://x", "offline", "recorder down", ("disabled", "")),
])
def test_camera_state(enabled: bool, url: str, health: str | None, reason: str | None,
                      expected: tuple[str, str]) -> None:
    assert camera_state(enabled=enabled, stream_url=url, health=health, reason=reason) == expected
