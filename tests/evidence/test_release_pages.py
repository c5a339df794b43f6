"""Releases through the web pages (SQLite and PostgreSQL), on real footage and the real worker: the order form on
the request's page (a bad one answered naming its field), the list with state and progress, the review page
(frames with detections, a face left unblurred, a region added, the review confirmed), the one-time link shown
once, the package downloaded and verified, the hand-over receipt; no English on the Turkish and Russian pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kgys_verify.package import verify_package
from sqlalchemy import func, select

from kgys.accounts import service as account_service
from kgys.audit.signing import public_pem
from kgys.db import utcnow
from kgys.evidence.models import Release, ReleaseClip
from kgys.evidence.rules import Range
from kgys.web.app import create_app
from tests import factories
from tests.evidence.conftest import Ev
from tests.evidence.release_material import approved, face_segments, record_footage  # noqa: F401
from tests.evidence.test_release_api import run_worker
from tests.recording.test_retention_job import T0
from tests.web.conftest import browser_login
from tests.web.test_no_english import _catalogue, english_ids, english_on

S = timedelta(seconds=1)


@pytest.fixture
def browsers(ev: Ev) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """Signed-in browser sessions (with their CSRF tokens) of the requester, liaison and second person, who also
    act in the world's flows."""
    out: dict[str, tuple[TestClient, str]] = {}
    for label, role in (("inv", "investigator"), ("liaison", "judicial_liaison"), ("sup", "supervisor")):
        user = factories.user(ev.session, role, scope=["TR-99-A"], username=f"web-{label}", box=ev.w.rt.box)
        ev.actors[label] = account_service.actor_for(user)
        ev.session.commit()
        c = TestClient(create_app(ev.w.rt), base_url="http://127.0.0.1")
        c.__enter__()
        out[label] = (c, browser_login(c, user))
    yield out
    for c, _ in out.values():
        c.__exit__(None, None, None)


def no_english(html: str) -> None:
    """Neither a Turkish nor a Russian rendering of the page's texts shows an English sentence."""
    assert english_on(html, english_ids(_catalogue("tr"))) == []


def test_a_release_through_the_pages(ev: Ev, browsers: dict[str, tuple[TestClient, str]],
                                     face_segments: list[Path], tmp_path: Path) -> None:  # noqa: F811
    record_footage(ev, "a1", T0, face_segments)
    req = approved(ev, [Range(ev.cam("a1"), T0, T0 + 4 * S)], valid=utcnow() - ev.now + timedelta(days=30))
    inv, csrf = browsers["inv"]
    page = inv.get(f"/evidence/requests/{req.id}?lang=tr")
    assert page.status_code == 200 and 'id="release-form"' in page.text
    no_english(page.text)
    assert english_on(inv.get(f"/evidence/requests/{req.id}?lang=ru").text, english_ids(_catalogue("ru"))) == []
    form = {"csrf_token": csrf, "release_0": "1", "recipient": "", "redact": "1"}
    r = inv.post(f"/evidence/requests/{req.id}/releases", data=form)
    assert r.status_code == 422 and 'id="f-recipient"' in r.text and "has-error" in r.text
    assert ev.session.scalar(select(func.count()).select_from(Release)) == 0
    r = inv.post(f"/evidence/requests/{req.id}/releases", data=form | {"recipient": "Av. Zeynep Kaya"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    page = inv.get(f"/evidence/requests/{req.id}")
    assert 'data-state="queued"' in page.text and 'http-equiv="refresh"' in page.text

    run_worker(ev)
    rel = ev.session.scalars(select(Release)).one()
    assert rel.state == "awaiting_review"
    sup, sup_csrf = browsers["sup"]
    page = sup.get(f"/evidence/requests/{req.id}")
    assert f'id="review-{rel.id}"' in page.text
    review = sup.get(f"/evidence/requests/{req.id}/releases/{rel.id}/review?lang=ru")
    assert review.status_code == 200 and 'id="confirm-review"' in review.text
    assert english_on(review.text, english_ids(_catalogue("ru"))) == []
    frames = re.findall(r'src="(/api/v1/[^"]+\.png)"', review.text)
    assert frames and sup.get(frames[0]).content.startswith(b"\x89PNG")
    first = re.search(r'name="remove:([^"]+)"', review.text)
    assert first is not None
    edits = f"/evidence/requests/{req.id}/releases/{rel.id}/clips/1/edits"
    r = sup.post(edits, data={"csrf_token": sup_csrf, "first_frame": "0"})
    assert r.status_code == 422 and 'id="f-last_frame"' in r.text
    r = sup.post(edits, data={"csrf_token": sup_csrf, f"shown:{first.group(1)}": "1",
                              f"remove:{first.group(1)}": "1", "first_frame": "0", "last_frame": "3",
                              "x1": "500", "y1": "200", "x2": "600", "y2": "300"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    ev.session.expire_all()
    clip = ev.session.scalars(select(ReleaseClip)).one()
    assert clip.edits["removed"] == [first.group(1)] and clip.edits["added"][0]["box"] == [500, 200, 600, 300]
    r = sup.post(f"/evidence/requests/{req.id}/releases/{rel.id}/confirm", data={"csrf_token": sup_csrf},
                 follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]

    run_worker(ev)
    page = inv.get(f"/evidence/requests/{req.id}")
    assert f'id="link-{rel.id}"' in page.text
    shown = inv.post(f"/evidence/requests/{req.id}/releases/{rel.id}/link", data={"csrf_token": csrf})
    assert shown.status_code == 200
    no_english(shown.text)
    url = re.search(r'id="download-package" href="([^"]+)"', shown.text)
    assert url is not None
    pkg = tmp_path / "package.zip"
    pkg.write_bytes(inv.get(url.group(1)).content)
    assert verify_package(pkg, published_key=public_pem(ev.w.rt.signer.public).encode()).exit_code == 0
    assert inv.get(url.group(1)).status_code == 410
    page = inv.get(f"/evidence/requests/{req.id}")
    assert f'id="receipt-form-{rel.id}"' in page.text
    r = inv.post(f"/evidence/requests/{req.id}/releases/{rel.id}/receipt",
                 data={"csrf_token": csrf, "name": "Av. Zeynep Kaya", "id_no": "Baro sicil 12345",
                       "at": "2099-01-01T10:00"})
    assert r.status_code == 422 and 'id="f-at"' in r.text
    r = inv.post(f"/evidence/requests/{req.id}/releases/{rel.id}/receipt",
                 data={"csrf_token": csrf, "name": "Av. Zeynep Kaya", "id_no": "Baro sicil 12345"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    assert f'id="receipt-{rel.id}"' in inv.get(f"/evidence/requests/{req.id}").text
