"""The audit screen as a reader uses it: each change shown old → new (secrets never), filters (a time range typed
in local time maps to exact UTC bounds), the pager, scope, bad filters named; and the CSV and JSON Lines exports
holding exactly the rows the screen shows for the same filters, formula-safe, themselves audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit import screen
from kgys.audit import service as audit_service
from kgys.audit.mechanism import set_actor
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.runtime import Runtime
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories
from tests.web.test_pages import Node, html, signed_in

ISTANBUL = ZoneInfo("Europe/Istanbul")


@dataclass
class Sites:
    a1: Site  # TR-99-A, with a recorder and two cameras
    c1: Site  # TR-98-C, another province


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def sites(session: Session, rt: Runtime) -> Sites:
    factories.tree(session)
    a1 = factories.site(session, "TR-99-A", priority=1)
    c1 = factories.site(session, "TR-98-C", priority=3)
    factories.compliant_system(session, rt.box, a1.code)
    session.commit()
    return Sites(a1, c1)


def _append(session: Session, at: datetime | None = None, **kw: Any) -> int:
    """One entry by the actor ``clock``, appended at ``at`` (UTC) when given."""
    values: dict[str, Any] = {"action": "login.success", "object_type": "user", "object_id": "someone"} | kw
    if at is None:
        seq = audit_service.append(session, actor=system_actor("clock"), **values)
    else:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(audit_service, "utcnow", lambda: at)
            seq = audit_service.append(session, actor=system_actor("clock"), **values)
    session.commit()
    return seq


def _rows(text: str) -> list[Node]:
    return [tr for tr in html(text).one(id="audit-table").all("tr") if "data-seq" in tr.attrs]


def _seqs(text: str) -> list[int]:
    return [int(tr.attrs["data-seq"]) for tr in _rows(text)]


def _changes(tr: Node) -> dict[str, tuple[str, str] | None]:
    out: dict[str, tuple[str, str] | None] = {}
    for li in tr.all("li"):
        if "data-field" in li.attrs:
            old, new = li.all("span", cls="old"), li.all("span", cls="new")
            out[li.attrs["data-field"]] = (old[0].text(), new[0].text()) if old else None
    return out


def _changes_line(tr: Node) -> str:
    """A row's changes as the CSV writes them, from what the screen shows."""
    parts = []
    for li in tr.all("li"):
        if "data-field" in li.attrs:
            old, new = li.all("span", cls="old"), li.all("span", cls="new")
            shown = f"{old[0].text()} → {new[0].text()}" if old else li.one("span", cls="secret").text()
            parts.append(f"{li.attrs['data-field']}: {shown}")
    return "; ".join(parts)


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # a byte-order mark, so that spreadsheets read Turkish letters
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _exports(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")
                                .order_by(AuditEntry.seq)))


# --- what a row shows ---


def test_a_change_is_shown_old_to_new_and_secrets_never(client: TestClient, session: Session, sites: Sites,
                                                        rt: Runtime) -> None:
    set_actor(session, factories.admin())
    sites.a1.priority = 4
    cam = session.scalars(select(Camera).where(Camera.site_id == sites.a1.id).order_by(Camera.id)).first()
    assert cam is not None
    cam.credentials = rt.box.seal_text("root:Gizli-Parola-42")
    cam.name = "Bahçe kapısı"
    session.commit()
    signed_in(client, session, "auditor", ["TR"])

    r = client.get("/audit", params={"action": "site.update", "object_id": sites.a1.code})
    assert r.status_code == 200
    row = _rows(r.text)[0]  # the newest
    assert _changes(row)["priority"] == ("1", "4")
    assert row.one("span", cls="action-label").text() == "Kurum değiştirildi"  # in the reader's language
    assert row.one("td", cls="object").one("a").attrs["href"] == f"/sites/{sites.a1.code}"

    r = client.get("/audit", params={"action": "camera.update"})
    [row] = _rows(r.text)
    changes = _changes(row)
    assert changes["name"] == ("Giriş", "Bahçe kapısı")
    assert changes["credentials"] is None  # listed as changed, its value never copied into the log
    assert "Gizli-Parola-42" not in r.text and cam.credentials not in r.text
    assert row.one("td", cls="object").one("a").attrs["href"] == f"/sites/{sites.a1.code}#camera-table"

    created = _rows(client.get("/audit", params={"action": "site.create", "object_id": sites.a1.code}).text)
    assert created[0].all("span", cls="digest-only")  # a created row is logged by its digest only, and says so


def test_changes_recorded_by_domains_are_shown_too() -> None:
    """An alert's move records its state from and to; a change of access, before and after; a field naming a
    secret is never shown, whatever recorded it."""
    changes, rest = screen._changes("alert.claim", {"from": "new", "to": "claimed", "kind": "panic"})
    assert changes == [screen.Change("state", "new", "claimed")] and rest == {"kind": "panic"}
    changes, _ = screen._changes("user.change_access", {"before": {"role": "operator", "scope": "TR-99"},
                                                        "after": {"role": "supervisor", "scope": "TR-99"}})
    assert changes == [screen.Change("role", "operator", "supervisor")]
    changes, _ = screen._changes("unit_tracker.update", {"fields": ["password_hash"],
                                                         "changes": {"password_hash": {"from": "a", "to": "b"}}})
    assert changes == [screen.Change("password_hash", "", "", shown=False)]
    _, rest = screen._changes("device.note", {"cancel_pin": "1234", "tokens": 3})
    assert rest == {"cancel_pin": screen.not_recorded(), "tokens": 3}


# --- the time range ---


def test_a_local_range_holds_exactly_its_utc_range(client: TestClient, session: Session, sites: Sites) -> None:
    # Istanbul is UTC+3: 1 December 2026 local is [30 Nov 21:00, 1 Dec 21:00) UTC
    tick = timedelta(microseconds=1)
    start, end = datetime(2026, 11, 30, 21, tzinfo=UTC), datetime(2026, 12, 1, 21, tzinfo=UTC)
    before, first, last, after = (_append(session, at, object_id=f"t{i}")
                                  for i, at in enumerate((start - tick, start, end - tick, end)))
    signed_in(client, session, "auditor", ["TR"])

    day = {"from": "2026-12-01T00:00", "to": "2026-12-02T00:00", "actor": "clock"}
    page = client.get("/audit", params=day)
    assert page.status_code == 200
    assert _seqs(page.text) == [last, first]
    assert html(page.text).all("span", cls="zone", data_zone="Europe/Istanbul")  # the zone next to the fields
    rows = _rows(page.text)
    assert rows[1].all("td")[1].attrs["data-utc"] == "2026-11-30T21:00:00.000000+00:00"
    assert rows[1].all("td")[1].text().startswith("2026-12-01 00:00:00")  # shown in local time

    utc = {"from": "2026-11-30T21:00:00", "to": "2026-12-01T21:00:00", "tz": "UTC", "actor": "clock"}
    assert _seqs(client.get("/audit", params=utc).text) == [last, first]
    seconds = {"from": "2026-12-01T23:59:59", "tz": "Europe/Istanbul", "actor": "clock"}
    assert _seqs(client.get("/audit", params=seconds).text) == [after, last]
    assert _seqs(client.get("/audit", params={"to": "2026-12-01T00:00", "actor": "clock"}).text) == [before]


def test_a_local_time_skipped_by_a_clock_change_is_refused() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert screen.local_time("2026-10-25T02:30", berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # first
    with pytest.raises(ValueError):
        screen.local_time("2026-03-29T02:30", berlin)
    assert screen.local_time("2026-12-01T00:00:00+00:00", ISTANBUL) == datetime(2026, 12, 1, tzinfo=UTC)


# --- the other filters and the pager ---


def test_filters_narrow_the_entries(client: TestClient, session: Session, sites: Sites) -> None:
    mine = _append(session, object_id="ayse", details={"note": "Çağrı merkezi arızası"})
    other = _append(session, action="login.fail", object_id="mehmet", details={"why": "password"})
    signed_in(client, session, "auditor", ["TR"])

    def seqs(**params: str) -> list[int]:
        r = client.get("/audit", params=params)
        assert r.status_code == 200, r.text[:300]
        return _seqs(r.text)

    assert seqs(actor="clock") == [other, mine]
    assert seqs(actor="clock", action="login.fail") == [other]
    assert seqs(actor="clock", action="login") == [other, mine]  # a prefix before a dot
    assert seqs(object_type="user", object_id="ayse") == [mine]
    assert seqs(q="merkezi") == [mine] and seqs(q="MERKEZI") == [mine] and seqs(q="100%") == []
    assert seqs(q="mehmet") == [other]
    camera_rows = seqs(site=sites.a1.code, object_type="camera")
    assert len(camera_rows) == 2 and seqs(site=sites.c1.code, object_type="camera") == []
    page = html(client.get("/audit", params={"actor": "clock"}).text)
    link = [a for a in page.all("a") if a.text() == "ayse"]
    assert link and link[0].attrs["href"] == "/users/ayse"


def test_the_pager_keeps_the_filters(client: TestClient, session: Session, sites: Sites) -> None:
    for i in range(53):
        audit_service.append(session, actor=system_actor("pager"), action="login.success", object_type="user",
                             object_id=f"u{i}")
    session.commit()
    signed_in(client, session, "auditor", ["TR"])
    page = client.get("/audit", params={"actor": "pager", "tz": "UTC"})
    assert len(_rows(page.text)) == 50 and html(page.text).one(id="audit-total").text() == "53"
    nxt = html(page.text).all("a", rel="next")[0].attrs["href"]
    assert "actor=pager" in nxt and "tz=UTC" in nxt and "page=2" in nxt
    assert len(_rows(client.get(nxt).text)) == 3


# --- bad input ---


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01T00:00"}, "to"),
    ({"from": "2026-12-02T00:00", "to": "2026-12-01T00:00"}, "to"),
    ({"from": "2026-12-01T00:00", "to": "2026-12-01T00:00"}, "to"),
    ({"from": "0001-01-01T00:00"}, "from"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"action": "site\x00update"}, "action"),
    ({"q": "a\u202eb"}, "q"),
    ({"object_id": "x" * 65}, "object_id"),
    ({"object_type": "y" * 65}, "object_type"),
    ({"actor": "z" * 121}, "actor"),
    ({"site": "NO-SUCH-SITE"}, "site"),
])
def test_a_bad_filter_is_named_not_a_crash(client: TestClient, session: Session, sites: Sites,
                                           params: dict[str, str], field: str) -> None:
    signed_in(client, session, "auditor", ["TR"])
    exports = len(_exports(session))
    for path in ("/audit", "/audit/export.csv", "/audit/export.jsonl"):
        r = client.get(path, params=params)
        assert r.status_code == 422, (path, r.status_code, r.text[:300])
        assert html(r.text).all(id=f"err-{field}"), (path, field)
    assert len(_exports(session)) == exports  # nothing exported, nothing written


# --- scope ---


def test_a_scoped_reader_sees_and_exports_only_their_sites(client: TestClient, session: Session,
                                                           sites: Sites) -> None:
    _append(session, object_id="nobody")  # concerns no site: for country-wide readers only
    signed_in(client, session, "auditor", ["TR-99-A"])
    page = client.get("/audit")
    shown = _rows(page.text)
    codes = {tr.all("td")[5].text() for tr in shown}
    assert shown and codes == {sites.a1.code}
    assert client.get("/audit", params={"site": sites.c1.code}).status_code == 422
    exported = _csv(client.get("/audit/export.csv").content)[1:]
    assert [int(line[0]) for line in exported] == _seqs(page.text)
    assert client.get("/audit/export.csv", params={"site": sites.c1.code}).status_code == 422
    [entry] = _exports(session)
    assert entry.site_id is None and json.loads(entry.details)["filters"] == {"tz": "Europe/Istanbul"}


def test_export_needs_the_audit_permission(client: TestClient, session: Session, sites: Sites) -> None:
    signed_in(client, session, "operator", ["TR-99-A"])
    assert client.get("/audit/export.csv").status_code == 403
    assert client.get("/audit/export.jsonl").status_code == 403
    assert _exports(session) == []


# --- exports ---


def test_the_exports_hold_exactly_what_the_screen_shows(client: TestClient, session: Session, sites: Sites) -> None:
    set_actor(session, factories.admin())
    sites.a1.priority = 5
    sites.a1.name = "=HYPERLINK(\"http://kötü.example\")"
    session.commit()
    _append(session, object_id="-2+3", reason="@SUM(A1:A9)", details={"note": "+90 555"})
    signed_in(client, session, "auditor", ["TR"])

    query = {"from": "2000-01-01T00:00", "q": "", "object_type": ""}
    page = client.get("/audit", params=query)
    rows = _rows(page.text)
    export_link = html(page.text).one("a", id="export-csv").attrs["href"]
    assert export_link.startswith("/audit/export.csv?") and "from=2000-01-01T00%3A00" in export_link
    before = len(_exports(session))

    csv_lines = _csv(client.get(export_link).content)
    header, body = csv_lines[0], csv_lines[1:]
    assert header[0] == "#" and "Europe/Istanbul" in header[1]
    assert [int(line[0]) for line in body] == [int(tr.attrs["data-seq"]) for tr in rows]
    for line, tr in zip(body, rows, strict=True):
        cells = tr.all("td")
        assert cells[1].text().startswith(line[1]) and cells[1].attrs["data-utc"] == line[2]
        assert line[4] == tr.one("span", cls="action-label").text()
        assert line[11] == _changes_line(tr)
    for line in body:  # nothing a spreadsheet would run as a formula
        assert all(cell[:1] not in ("=", "+", "-", "@") for cell in line), line
    update = next(line for line in body if line[5] == "site.update")
    assert 'name: Test Okulu' in update[11] and '→ =HYPERLINK("http://kötü.example")' in update[11]
    weird = next(line for line in body if line[7] == "'-2+3")
    assert weird[9] == "'@SUM(A1:A9)" and weird[12] == "note: +90 555"

    rows = _rows(client.get("/audit", params=query).text)  # now with the CSV export's entry first
    lines = client.get("/audit/export.jsonl", params=query)
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    items = [json.loads(x) for x in lines.text.splitlines()]
    assert [i["seq"] for i in items] == [int(tr.attrs["data-seq"]) for tr in rows]
    assert [i["action_label"] for i in items] == [tr.one("span", cls="action-label").text() for tr in rows]
    site_change = next(i for i in items if i["action"] == "site.update")
    assert {"field": "priority", "from": "1", "to": "5"} in site_change["changes"]
    assert site_change["object_url"] == f"/sites/{sites.a1.code}"

    made = _exports(session)[before:]
    assert [json.loads(e.details)["format"] for e in made] == ["csv", "jsonl"]
    first = json.loads(made[0].details)
    assert first["filters"] == {"from": "2000-01-01T00:00", "tz": "Europe/Istanbul"}
    assert first["through_seq"] == made[0].seq - 1  # the export holds what was there, not its own entry
    assert made[0].actor.startswith("auditor")
    again = _csv(client.get(export_link).content)[1:]
    assert [int(x[0]) for x in again] == [e.seq for e in reversed(made)] + [int(x[0]) for x in body]


def test_a_large_export_streams_every_entry(client: TestClient, session: Session, sites: Sites) -> None:
    n = 1234
    audit_service.append_many(session, actor=system_actor("bulk"), entries=[
        audit_service.NewEntry(action="login.success", object_type="user", object_id=f"u{i}") for i in range(n)])
    session.commit()
    signed_in(client, session, "auditor", ["TR"])
    with client.stream("GET", "/audit/export.jsonl", params={"actor": "bulk"}) as r:
        assert r.status_code == 200
        got = [json.loads(line) for line in r.iter_lines() if line]
    assert len(got) == n and got[0]["object_id"] == f"u{n - 1}" and got[-1]["object_id"] == "u0"
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "bulk"))
    assert total == n
