"""The export pages: the form lists the cameras by name with the range in the reader's zone, asks the reason
once and queues the export (audited); bad input comes back with each field's problem; a camera outside the
scope is refused with nothing queued; the export's page and the reader's list, in Turkish and Russian."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.exports.models import FootageExport
from kgys.runtime import Runtime
from tests import factories
from tests.web.conftest import browser_login
from tests.web.test_no_english import CODE_ATTRIBUTES, _catalogue, english_ids, english_on, stored_codes


def _world(session: Session, rt: Runtime) -> tuple[list[int], int]:
    """A school with cameras in TR-99-A, and a camera of a school in TR-99-B."""
    factories.tree(session)
    school = factories.site(session, "TR-99-A", name="Merkez İlkokulu")
    factories.compliant_system(session, rt.box, school.code)
    other = factories.site(session, "TR-99-B", name="Sahil Okulu")
    factories.compliant_system(session, rt.box, other.code)
    session.commit()
    mine = list(session.scalars(select(Camera.id).where(Camera.site_id == school.id).order_by(Camera.id)))
    theirs = session.scalars(select(Camera.id).where(Camera.site_id == other.id)).first()
    assert theirs is not None
    return mine[:2], theirs


def _login(client: TestClient, session: Session, rt: Runtime, role: str) -> str:
    user = factories.user(session, role, scope=["TR-99-A"], box=rt.box)
    session.commit()
    return browser_login(client, user)


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(FootageExport)) or 0)


def test_the_form_queues_an_export_read_in_the_reader_s_zone(client: TestClient, session: Session,
                                                               rt: Runtime) -> None:
    cams, theirs = _world(session, rt)
    csrf = _login(client, session, rt, "supervisor")
    page = client.get(f"/exports/new?cameras={cams[0]},{cams[1]},{theirs}"
                      "&from=2026-03-01T08:00:00Z&to=2026-03-01T08:10:00Z")
    assert page.status_code == 200
    names = [session.get(Camera, c).name for c in cams]  # type: ignore[union-attr]
    assert all(n in page.text for n in names) and "Sahil" not in page.text
    assert 'value="2026-03-01T11:00:00"' in page.text and 'value="2026-03-01T11:10:00"' in page.text  # Istanbul
    assert "Europe/Istanbul (UTC+03:00)" in page.text
    before = _count(session)
    form = {"csrf_token": csrf, "camera": [str(c) for c in cams], "from": "2026-03-01T11:00",
            "to": "2026-03-01T11:10", "reason": "dosya 2026/7"}
    r = client.post("/exports/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    export_id = int(r.headers["location"].rsplit("/", 1)[1])
    row = session.get(FootageExport, export_id)
    assert row is not None and row.cameras == cams and row.reason == "dosya 2026/7"
    assert (row.start, row.end) == (datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 8, 10, tzinfo=UTC))
    assert _count(session) == before + 1
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "footage_export.request", AuditEntry.object_id == str(export_id))) == 1

    shown = client.get(f"/exports/{export_id}?lang=ru")
    assert shown.status_code == 200 and 'id="export-progress"' in shown.text and "В очереди" in shown.text
    assert english_on(shown.text, english_ids(_catalogue("ru"))) == []
    listed = client.get("/exports?lang=tr")
    assert f'id="export-{export_id}"' in listed.text and "Sırada" in listed.text
    assert english_on(listed.text, stored_codes(), CODE_ATTRIBUTES) == []


def test_bad_input_comes_back_naming_each_field(client: TestClient, session: Session, rt: Runtime) -> None:
    cams, _theirs = _world(session, rt)
    csrf = _login(client, session, rt, "supervisor")
    before = _count(session)
    r = client.post("/exports/new?lang=en", data={"csrf_token": csrf, "shown": ",".join(map(str, cams)),
                                                  "from": "2026-03-01T11:00", "to": "2026-03-01T13:00",
                                                  "reason": "x"})
    assert r.status_code == 422
    assert 'id="err-cameras"' in r.text and 'id="err-to"' in r.text and 'id="err-reason"' in r.text
    assert "at most 60 minutes later" in r.text
    assert len(re.findall(r'name="camera" value="\d+" checked', r.text)) == 2  # the cameras are offered again
    r = client.post("/exports/new", data={"csrf_token": csrf, "camera": str(cams[0]), "from": "dün",
                                          "to": "2026-03-01T11:10", "reason": "dosya 7"})
    assert r.status_code == 422 and 'id="err-from"' in r.text
    assert _count(session) == before


def test_a_camera_outside_the_scope_or_a_role_without_export_is_refused(client: TestClient, session: Session,
                                                                         rt: Runtime) -> None:
    cams, theirs = _world(session, rt)
    csrf = _login(client, session, rt, "supervisor")
    before = _count(session)
    form = {"csrf_token": csrf, "camera": [str(cams[0]), str(theirs)], "from": "2026-03-01T11:00",
            "to": "2026-03-01T11:10", "reason": "dosya 2026/7"}
    assert client.post("/exports/new", data=form).status_code == 404
    assert _count(session) == before
    csrf = _login(client, session, rt, "operator")
    assert client.get(f"/exports/new?cameras={cams[0]}").status_code == 403
    assert client.post("/exports/new", data=form | {"csrf_token": csrf}).status_code == 403
    assert client.get("/exports").status_code == 403
