"""Releases through the HTTP API (SQLite and PostgreSQL), on real recorded segments, real ffmpeg and the real face
detector: ordered by the requester, built by the jobs worker, its redaction reviewed by a second person (frames,
edits, confirmation), a one-time link, the package downloaded and accepted by ``kgys-verify``, the link refused the
second time (410, audited) and the hand-over receipt; bad bodies answered with the field at fault, nothing
written."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kgys_verify.package import verify_package
from sqlalchemy import func, select

from kgys.accounts.models import User
from kgys.audit.signing import public_pem
from kgys.db import utcnow
from kgys.evidence import release_worker
from kgys.evidence.models import Release
from kgys.evidence.rules import Range
from kgys.exports.flows import building
from tests.evidence.conftest import Ev
from tests.evidence.release_material import approved, face_segments, record_footage  # noqa: F401
from tests.recording.test_retention_job import T0
from tests.web.conftest import client, token_for  # noqa: F401  (fixtures)

API = "/api/v1/evidence/requests"
S = timedelta(seconds=1)
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def auth(ev: Ev, token_for: Callable[[User], dict[str, str]]) -> Headers:  # noqa: F811
    """Bearer headers of the world's users by label."""
    def headers(label: str) -> dict[str, str]:
        user = ev.session.get(User, ev.actors[label].id)
        assert user is not None
        return token_for(user)
    return headers


def run_worker(ev: Ev) -> int | None:
    """One pass of the releases loop on the test's world, at the wall clock the API answers by."""
    ev.session.commit()
    done = release_worker.run_once(sessions=ev.w.rt.sessions, settings=ev.w.rt.settings, storage=ev.w.storage,
                                   signer=ev.w.rt.signer, cutter=building.cut_release_clip, clock=utcnow)
    ev.session.expire_all()
    return done


def granted(ev: Ev, segments: list[Path]) -> tuple[int, list[dict[str, Any]]]:
    """An approved request over the recorded footage of camera a1, valid for a month from now; its id and the
    release scope of its first four seconds."""
    record_footage(ev, "a1", T0, segments)
    valid = utcnow() - ev.now + timedelta(days=30)
    req = approved(ev, [Range(ev.cam("a1"), T0, T0 + 10 * S)], valid=valid)
    scope = [{"camera_id": ev.cam("a1"), "from": T0.isoformat(), "to": (T0 + 4 * S).isoformat()}]
    return req.id, scope


def refusals(ev: Ev, step: str) -> list[dict[str, Any]]:
    """The details of the refused steps ``step``, oldest first."""
    ev.session.expire_all()
    out = [json.loads(e.details) if isinstance(e.details, str) else dict(e.details or {})
           for e in ev.entries("evidence.refused")]
    return [d for d in out if d["step"] == step]


def test_a_release_ordered_reviewed_downloaded_and_handed_over(ev: Ev, client: TestClient,  # noqa: F811
                                                               auth: Headers, face_segments: list[Path],  # noqa: F811
                                                               tmp_path: Path) -> None:
    rid, scope = granted(ev, face_segments)
    body = {"scope": scope, "recipient": "Av. Zeynep Kaya", "organisation": "Kadıköy Cumhuriyet Başsavcılığı",
            "redact": True, "watermark": True}
    r = client.post(f"{API}/{rid}/releases", json=body, headers=auth("admin"))
    assert r.status_code == 403 and "(field requester)" in r.json()["error"]["message"]
    assert refusals(ev, "release")[0]["field"] == "requester"
    r = client.post(f"{API}/{rid}/releases", json=body, headers=auth("inv"))
    assert r.status_code == 201, r.text
    rel = r.json()
    assert (rel["state"], rel["ordered_by"], rel["approved_by"]) == ("queued", "inv-investigator", "sup-supervisor")
    base = f"{API}/{rid}/releases/{rel['id']}"
    assert [x["id"] for x in client.get(f"{API}/{rid}/releases", headers=auth("liaison")).json()] == [rel["id"]]

    assert run_worker(ev) == rel["id"]
    assert client.get(base, headers=auth("inv")).json()["state"] == "awaiting_review"
    r = client.get(f"{base}/review", headers=auth("sup"))
    assert r.status_code == 200, r.text
    (clip,) = r.json()
    assert clip["faces"] >= 1 and clip["frames"] and clip["width"] == 640
    first = clip["frames"][0]
    png = client.get(f"{base}/clips/1/frames/{first['index']}.png", headers=auth("sup"))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert ev.entries("evidence_release.frame.view")[-1].actor == "sup-supervisor"
    edits = {"added": [{"first_frame": 0, "last_frame": 3, "box": [500, 200, 600, 300]}],
             "removed": [first["detections"][0]["id"]]}
    r = client.put(f"{base}/clips/1/edits", json=edits, headers=auth("sup"))
    assert r.status_code == 200, r.text
    assert r.json()["edits"]["removed"] == edits["removed"] and len(r.json()["edits"]["added"]) == 1
    r = client.post(f"{base}/confirm", headers=auth("sup"))
    assert r.status_code == 200 and r.json()["state"] == "queued" and r.json()["reviewed_by"] == "sup-supervisor"

    r = client.post(f"{base}/link", headers=auth("inv"))
    assert r.status_code == 409 and "(field state)" in r.json()["error"]["message"]
    assert run_worker(ev) == rel["id"]
    ready = client.get(base, headers=auth("inv")).json()
    assert ready["state"] == "ready", ready
    r = client.post(f"{base}/link", headers=auth("inv"))
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    got = client.get(url, headers=auth("inv"))
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    pkg = tmp_path / "package.zip"
    pkg.write_bytes(got.content)
    report = verify_package(pkg, published_key=public_pem(ev.w.rt.signer.public).encode())
    assert report.exit_code == 0, report.text()
    downloads = ev.entries("evidence_release.download")
    assert len(downloads) == 1 and json.loads(downloads[0].details)["sha256"] == ready["package_sha256"]

    again = client.get(url, headers=auth("inv"))
    assert again.status_code == 410 and "(field token)" in again.json()["error"]["message"]
    assert refusals(ev, "download")[-1]["field"] == "token"

    r = client.post(f"{base}/receipt", json={"name": "Av. Zeynep Kaya", "id_no": "Baro sicil 12345",
                                             "note": "USB bellek ile"}, headers=auth("inv"))
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "downloaded" and done["receipt"]["id_no"] == "Baro sicil 12345"
    assert len(ev.entries("evidence_release.receipt")) == 1


def test_bad_bodies_are_named_by_field_and_write_nothing(ev: Ev, client: TestClient,  # noqa: F811
                                                        auth: Headers, face_segments: list[Path]) -> None:  # noqa: F811
    rid, scope = granted(ev, face_segments)

    def fields(r: Any) -> list[str]:
        assert r.status_code == 422, r.text
        return [f["field"] for f in r.json()["error"]["fields"]]

    assert fields(client.post(f"{API}/{rid}/releases", json={"scope": scope}, headers=auth("inv"))) == ["recipient"]
    assert "colour" in fields(client.post(f"{API}/{rid}/releases", json={"scope": scope, "recipient": "X",
                                                                         "colour": 1}, headers=auth("inv")))
    wide = [{**scope[0], "to": (T0 + 20 * S).isoformat()}]
    assert fields(client.post(f"{API}/{rid}/releases", json={"scope": wide, "recipient": "X"},
                              headers=auth("inv"))) == ["scope[0]"]
    assert fields(client.post(f"{API}/{rid}/releases", json={"scope": scope, "recipient": "X\x00"},
                              headers=auth("inv"))) == ["recipient"]
    assert ev.session.scalar(select(func.count()).select_from(Release)) == 0
    assert refusals(ev, "release")[-1]["fields"][0]["field"] == "scope[0]"

    r = client.post(f"{API}/{rid}/releases", json={"scope": scope, "recipient": "X", "redact": True},
                    headers=auth("inv"))
    base = f"{API}/{rid}/releases/{r.json()['id']}"
    run_worker(ev)
    bad = {"added": [{"first_frame": 0, "last_frame": 1, "box": [1, 2, 3]}], "removed": []}
    assert fields(client.put(f"{base}/clips/1/edits", json=bad, headers=auth("sup"))) == ["added.0.box"]
    outside = {"added": [{"first_frame": 0, "last_frame": 99999, "box": [1, 2, 3, 4]}], "removed": ["nope"]}
    assert set(fields(client.put(f"{base}/clips/1/edits", json=outside, headers=auth("sup")))) == {
        "removed", "added[0].last_frame"}
    ev.session.expire_all()
    assert client.get(f"{base}/review", headers=auth("sup")).json()[0]["edits"] == {"added": [], "removed": []}
    assert fields(client.post(f"{base}/receipt", json={"name": "X"}, headers=auth("inv"))) == ["id_no"]
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert fields(client.post(f"{base}/receipt", json={"name": "X", "id_no": "1", "at": future},
                              headers=auth("inv"))) == ["at"]
