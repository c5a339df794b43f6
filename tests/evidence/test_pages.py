"""The footage request pages, each person in their own browser session: the investigator's form (cameras × ranges
typed in the reader's zone) opens a request and holds the footage; the liaison's decision form takes the scanned
decision and a narrowed range; the supervisor approves; the investigator then sees the play-back links. Bad input
comes back naming each field, in Turkish and Russian, with no English left on the pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.cameras.models import Camera
from kgys.evidence import service
from kgys.evidence.models import FootageRequest
from kgys.recording.models import LegalHold
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests import factories
from tests.evidence.conftest import PDF
from tests.web.conftest import browser_login
from tests.web.test_no_english import _catalogue, english_ids, english_on

Login = Callable[[str], tuple[TestClient, str]]


@pytest.fixture
def cams(session: Session, rt: Runtime) -> tuple[list[int], int]:
    """Two cameras of a school in TR-99-A, and one of a school in TR-99-B."""
    factories.tree(session)
    school = factories.site(session, "TR-99-A", name="Merkez İlkokulu")
    factories.compliant_system(session, rt.box, school.code)
    other = factories.site(session, "TR-99-B", name="Sahil Okulu")
    factories.compliant_system(session, rt.box, other.code)
    session.commit()
    mine = list(session.scalars(select(Camera.id).where(Camera.site_id == school.id).order_by(Camera.id)))
    theirs = session.scalars(select(Camera.id).where(Camera.site_id == other.id)).first()
    assert theirs is not None
    return mine, theirs


@pytest.fixture
def login(session: Session, rt: Runtime) -> Iterator[Login]:
    """A browser session of a fresh user of ``role`` (TR-99-A), and its CSRF token."""
    opened: list[TestClient] = []

    def make(role: str) -> tuple[TestClient, str]:
        user = factories.user(session, role, scope=["TR-99-A"], box=rt.box)
        session.commit()
        c = TestClient(create_app(rt), base_url="http://127.0.0.1")
        c.__enter__()
        opened.append(c)
        return c, browser_login(c, user)

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_request_decision_and_approval_through_the_pages(cams: tuple[list[int], int], login: Login,
                                                         session: Session) -> None:
    (a, b), _theirs = cams
    inv, csrf = login("investigator")
    page = inv.get(f"/evidence/requests/new?cameras={a}")
    assert page.status_code == 200 and f'<option value="{a}" selected>' in page.text and "Sahil" not in page.text
    form = {"csrf_token": csrf, "investigation_no": "2026/77", "requesting_unit": "Merkez Asayiş",
            "purpose": "okul önünde kavga", "camera_0": str(a), "from_0": "2026-03-01T11:00",
            "to_0": "2026-03-01T12:00", "camera_1": str(b), "from_1": "2026-03-01T11:30", "to_1": "2026-03-01T11:45"}
    r = inv.post("/evidence/requests/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    req = session.get(FootageRequest, rid)
    assert req is not None and req.state == "awaiting"
    asked = service.ranges(service.items(session=session, request_id=rid, kind="requested"))
    assert [(x.camera_id, x.start, x.end) for x in asked] == [  # typed in Istanbul time (UTC+3)
        (a, datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 9, tzinfo=UTC)),
        (b, datetime(2026, 3, 1, 8, 30, tzinfo=UTC), datetime(2026, 3, 1, 8, 45, tzinfo=UTC))]
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 2
    shown = inv.get(f"/evidence/requests/{rid}?lang=ru")
    assert shown.status_code == 200 and "Ожидает решения" in shown.text and 'id="decision-form"' not in shown.text
    assert english_on(shown.text, english_ids(_catalogue("ru"))) == []

    liaison, csrf = login("judicial_liaison")
    shown = liaison.get(f"/evidence/requests/{rid}")
    assert 'id="decision-form"' in shown.text and 'id="approve-form"' not in shown.text
    decision = {"csrf_token": _csrf(shown.text), "outcome": "granted", "authority_kind": "court",
                "authority_name": "Merkez 2. Sulh Ceza Hâkimliği", "decision_no": "2026/501 D.İş",
                "decision_date": "2026-03-02", "provision": "CMK 134", "valid_until": "2099-01-01T00:00",
                "grant_0": "1", "from_0": "2026-03-01T11:10", "to_0": "2026-03-01T11:20"}  # the second not granted
    r = liaison.post(f"/evidence/requests/{rid}/decision", data=decision,
                     files={"document": ("karar.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    session.expire_all()
    granted = service.ranges(service.items(session=session, request_id=rid, kind="granted"))
    assert [(x.camera_id, x.start, x.end) for x in granted] == [
        (a, datetime(2026, 3, 1, 8, 10, tzinfo=UTC), datetime(2026, 3, 1, 8, 20, tzinfo=UTC))]

    sup, csrf = login("supervisor")
    shown = sup.get(f"/evidence/requests/{rid}?lang=tr")
    assert 'id="approve-form"' in shown.text and "Merkez 2. Sulh Ceza Hâkimliği" in shown.text
    assert english_on(shown.text, english_ids(_catalogue("tr"))) == []
    r = sup.post(f"/evidence/requests/{rid}/approve", data={"csrf_token": csrf, "note": "uygun"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    session.expire_all()
    assert session.get(FootageRequest, rid).state == "approved"  # type: ignore[union-attr]
    shown = inv.get(f"/evidence/requests/{rid}")
    assert f"/playback?cameras={a}&amp;from=2026-03-01T08%3A10%3A00%2B00%3A00" in shown.text
    listed = sup.get("/evidence/requests?lang=ru")
    assert f'id="request-{rid}"' in listed.text and 'class="report-row"' in listed.text
    assert english_on(listed.text, english_ids(_catalogue("ru"))) == []


def test_bad_input_comes_back_naming_each_field(cams: tuple[list[int], int], login: Login, session: Session) -> None:
    (a, _b), theirs = cams
    inv, csrf = login("investigator")
    form = {"csrf_token": csrf, "investigation_no": "", "requesting_unit": "Asayiş", "purpose": "x",
            "camera_0": str(a), "from_0": "2026-03-01T11:00", "to_0": "dün", "camera_1": str(theirs),
            "from_1": "2026-03-01T11:00", "to_1": "2026-03-01T12:00"}
    r = inv.post("/evidence/requests/new?lang=tr", data=form)
    assert r.status_code == 422 and 'id="err-to_0"' in r.text
    form["to_0"] = "2026-03-01T12:00"
    r = inv.post("/evidence/requests/new?lang=tr", data=form)
    assert r.status_code == 422 and 'id="err-investigation_no"' in r.text and 'id="err-camera_1"' in r.text
    assert english_on(r.text, english_ids(_catalogue("tr"))) == []
    assert session.scalar(select(func.count()).select_from(FootageRequest)) == 0
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 0
