"""Floor plans through the API and the site's page, on both engines: upload, list, serve (as stored, never sniffed),
remove; the same image kept once; bad files (text named .png, a PNG cut short, nothing, too large, SVG) refused
naming the field with nothing written; a site out of scope answered as one that does not exist."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.config import WebSettings
from kgys.runtime import Runtime
from kgys.sites import floorplans
from kgys.sites.models import FloorPlan
from kgys.web.limits import MB, body_limits
from tests import factories
from tests.sites.test_floorplans_images import JPEG, WEBP_LOSSY, png
from tests.web.conftest import browser_login, client, token_for  # noqa: F401  (the web fixtures)

API = "/api/v1/sites/{}/floor-plans"


@pytest.fixture
def world(session: Session, token_for: Callable[[User], dict[str, str]]) -> dict[str, object]:  # noqa: F811
    factories.tree(session)
    site = factories.site(session)
    other = factories.site(session, district="TR-98-C")
    editor = factories.user(session, "school_admin", scope=["TR-99-A"])
    reader = factories.user(session, "operator", scope=["TR-99-A"])
    session.commit()
    return {"site": site.code, "other": other.code, "editor": editor, "h": token_for(editor),
            "reader": token_for(reader)}


def _files(rt: Runtime) -> set[str]:
    where = floorplans.folder(rt.settings.data_dir)
    return {p.name for p in where.iterdir()} if where.exists() else set()


def _upload(client: TestClient, code: str, headers: dict[str, str], data: bytes, name: str = "plan.png",  # noqa: F811
            title: str = "Zemin kat", ctype: str = "image/png") -> tuple[int, dict[str, object]]:
    r = client.post(API.format(code), data={"title": title}, files={"image": (name, data, ctype)}, headers=headers)
    return r.status_code, r.json() if r.content else {}


def test_upload_list_serve_and_remove(client: TestClient, session: Session, rt: Runtime,  # noqa: F811
                                      world: dict[str, object]) -> None:
    code, h = str(world["site"]), world["h"]
    image = png(40, 30)
    status, out = _upload(client, code, h, image, title="B blok 1. kat")  # type: ignore[arg-type]
    assert status == 201, out
    assert (out["title"], out["content_type"], out["width"], out["height"], out["size"], out["position"]) == (
        "B blok 1. kat", "image/png", 40, 30, len(image), 1)
    status, second = _upload(client, code, h, JPEG, name="kat.PNG", title="Bodrum", ctype="image/png")  # type: ignore[arg-type]
    assert status == 201 and second["content_type"] == "image/jpeg", second  # the bytes decide, not the name
    listed = client.get(API.format(code), headers=world["reader"]).json()  # type: ignore[arg-type]
    assert [(p["title"], p["position"]) for p in listed] == [("B blok 1. kat", 1), ("Bodrum", 2)]
    served = client.get(str(out["url"]), headers=world["reader"])  # type: ignore[arg-type]
    assert served.status_code == 200 and served.content == image
    assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"
    assert client.get(str(second["url"]), headers=h).headers["content-type"] == "image/jpeg"  # type: ignore[arg-type]
    sha = hashlib.sha256(image).hexdigest()
    assert f"{sha}.png" in _files(rt) and not any(n.startswith(".upload-") for n in _files(rt))
    # the same image again is kept once
    status, again = _upload(client, code, h, image, title="Kopya")  # type: ignore[arg-type]
    assert status == 201 and again["id"] != out["id"]
    assert sorted(n for n in _files(rt) if n.startswith(sha)) == [f"{sha}.png"]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "floor_plan.create")).all()
    assert len(entries) == 3 and {e.site_id for e in entries} == {session.scalar(
        select(FloorPlan.site_id).where(FloorPlan.id == out["id"]))}
    # a reader may not upload or remove
    assert _upload(client, code, world["reader"], image)[0] == 403  # type: ignore[arg-type]
    assert client.delete(f"{API.format(code)}/{out['id']}", headers=world["reader"]).status_code == 403  # type: ignore[arg-type]
    # removing one of the two plans with that image keeps the file; removing the other removes it
    assert client.delete(f"{API.format(code)}/{out['id']}", headers=h).status_code == 204  # type: ignore[arg-type]
    assert client.get(str(out["url"]), headers=h).status_code == 404  # type: ignore[arg-type]
    assert f"{sha}.png" in _files(rt)
    assert client.delete(f"{API.format(code)}/{again['id']}", headers=h).status_code == 204  # type: ignore[arg-type]
    assert f"{sha}.png" not in _files(rt)
    assert [p["title"] for p in client.get(API.format(code), headers=h).json()] == ["Bodrum"]  # type: ignore[arg-type]
    deleted = session.scalars(select(AuditEntry).where(AuditEntry.action == "floor_plan.delete")).all()
    assert len(deleted) == 2 and json.loads(deleted[0].details) is not None


@pytest.mark.parametrize(("data", "name", "field", "words"), [
    (b"plain text, not an image\n", "plan.png", "image", "not a PNG, JPEG or WebP"),
    (png(40, 30)[:-20], "plan.png", "image", "cut short"),
    (b"", "plan.png", "image", "empty"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "plan.svg", "image", "SVG"),
    (b"\x00" * (10 * MB + 1), "big.png", "image", "larger than 10 MB"),
    (png(4, 4), "plan.png", "title", "give the plan a title"),
])
def test_bad_files_are_refused_and_nothing_is_written(client: TestClient, session: Session, rt: Runtime,  # noqa: F811
                                                      world: dict[str, object], data: bytes, name: str,
                                                      field: str, words: str) -> None:
    before = _files(rt)
    title = "   " if field == "title" else "Zemin kat"
    status, out = _upload(client, str(world["site"]), world["h"], data, name=name, title=title)  # type: ignore[arg-type]
    assert status == 422, out
    problem = out["error"]["fields"][0]  # type: ignore[index]
    assert problem["field"] == field and words in problem["message"], problem
    assert _files(rt) == before
    assert session.scalars(select(FloorPlan)).all() == []


def test_a_body_past_the_limit_is_refused_before_it_is_read(client: TestClient, rt: Runtime,  # noqa: F811
                                                            world: dict[str, object]) -> None:
    before = _files(rt)
    status, out = _upload(client, str(world["site"]), world["h"], b"\x89PNG" + b"\x00" * (11 * MB))  # type: ignore[arg-type]
    assert status == 413, out
    assert _files(rt) == before


def test_out_of_scope_is_not_found(client: TestClient, session: Session, rt: Runtime,  # noqa: F811
                                   token_for: Callable[[User], dict[str, str]],  # noqa: F811
                                   world: dict[str, object]) -> None:
    code, other, h = str(world["site"]), str(world["other"]), world["h"]
    status, out = _upload(client, code, h, WEBP_LOSSY, name="p.webp", ctype="image/webp")  # type: ignore[arg-type]
    assert status == 201 and out["content_type"] == "image/webp"
    theirs = token_for(factories.user(session, "school_admin", scope=["TR-98-C"]))
    before = _files(rt)
    assert _upload(client, code, theirs, png(2, 2))[0] == 404
    assert _upload(client, other, h, png(2, 2))[0] == 404  # type: ignore[arg-type]
    assert _files(rt) == before
    assert client.get(API.format(code), headers=theirs).status_code == 404
    assert client.get(str(out["url"]), headers=theirs).status_code == 404
    assert client.delete(f"{API.format(code)}/{out['id']}", headers=theirs).status_code == 404
    assert client.get(f"/sites/{other}/floor-plans/{out['id']}", headers=h).status_code == 404  # type: ignore[arg-type]
    assert client.get(f"/sites/{code}/floor-plans/999999", headers=h).status_code == 404  # type: ignore[arg-type]


def test_the_site_page_shows_and_takes_floor_plans(client: TestClient, session: Session, rt: Runtime,  # noqa: F811
                                                   world: dict[str, object]) -> None:
    code = str(world["site"])
    browser_login(client, world["editor"])  # type: ignore[arg-type]
    page = client.get(f"/sites/{code}")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert 'id="floor-plan-form"' in page.text and 'id="floor-plan-list"' in page.text
    r = client.post(f"/sites/{code}/floor-plans", data={"title": "Zemin kat", "csrf_token": csrf},
                    files={"image": ("plan.png", png(12, 8), "image/png")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    [plan] = session.scalars(select(FloorPlan)).all()
    page = client.get(f"/sites/{code}")
    assert f'src="/sites/{code}/floor-plans/{plan.id}"' in page.text and "Zemin kat" in page.text
    bad = client.post(f"/sites/{code}/floor-plans", data={"title": "Kat", "csrf_token": csrf},
                      files={"image": ("x.svg", b"<svg/>", "image/svg+xml")}, follow_redirects=False)
    assert bad.status_code == 422 and "SVG" in bad.text
    r = client.post(f"/sites/{code}/floor-plans/{plan.id}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.scalars(select(FloorPlan)).all() == []


def test_the_image_folder_holds_no_half_written_file(tmp_path: Path) -> None:
    chunks = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
    with pytest.raises(Exception, match="larger than"):
        floorplans.Upload.receive(iter(chunks), data_dir=tmp_path, limit=2500)
    assert list(floorplans.folder(tmp_path).iterdir()) == []
    up = floorplans.Upload.receive(iter(chunks), data_dir=tmp_path, limit=3000)
    assert up.size == 3000 and up.path.name.startswith(".upload-")
    up.discard()
    assert list(floorplans.folder(tmp_path).iterdir()) == []


@pytest.mark.parametrize(("method", "path", "limit"), [
    ("POST", "/api/v1/sites/S00001/floor-plans", 10 * MB + 64 * 1024),
    ("post", "/sites/S00001/floor-plans/", 10 * MB + 64 * 1024),
    ("POST", "/api/v1/sites/S00001/floor-plans/3", MB),
    ("GET", "/api/v1/sites/S00001/floor-plans", MB),
    ("POST", "/api/v1/sites/a/b/floor-plans", MB),
    ("POST", "/api/v1/imports", 20 * MB),
])
def test_floor_plan_uploads_have_a_limit_of_their_own(method: str, path: str, limit: int) -> None:
    assert body_limits(WebSettings()).for_request(method, path) == limit


def test_plans_are_renamed_and_put_in_order(client: TestClient, session: Session,  # noqa: F811
                                            world: dict[str, object]) -> None:
    code, h = str(world["site"]), world["h"]
    ids = [_upload(client, code, h, png(i + 1, 1), title=f"Kat {i}")[1]["id"] for i in range(3)]  # type: ignore[arg-type]
    url = f"{API.format(code)}/{{}}"
    r = client.patch(url.format(ids[2]), json={"position": 1, "title": "Çatı"}, headers=h)  # type: ignore[arg-type]
    assert r.status_code == 200 and r.json()["position"] == 1, r.text
    listed = client.get(API.format(code), headers=h).json()  # type: ignore[arg-type]
    assert [(p["title"], p["position"]) for p in listed] == [("Çatı", 1), ("Kat 0", 2), ("Kat 1", 3)]
    bad = client.patch(url.format(ids[0]), json={"position": 4}, headers=h)  # type: ignore[arg-type]
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "position"
    bad = client.patch(url.format(ids[0]), json={"title": " "}, headers=h)  # type: ignore[arg-type]
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "title"
    assert client.patch(url.format(ids[0]), json={"position": 1}, headers=world["reader"]).status_code == 403  # type: ignore[arg-type]
    updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "floor_plan.update")).all()
    assert len(updates) >= 2


def test_a_broken_form_is_invalid_input_naming_the_body(client: TestClient, rt: Runtime,  # noqa: F811
                                                        world: dict[str, object]) -> None:
    before = _files(rt)
    r = client.post(API.format(world["site"]), content=b"--x\r\nnot a part header\r\n\r\n",
                    headers=world["h"] | {"Content-Type": "multipart/form-data; boundary=x"})  # type: ignore[operator]
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == "body"
    assert _files(rt) == before
