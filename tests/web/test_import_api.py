"""Importing through the API (``POST /api/v1/imports``) and through the upload page (``/import``)."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.sites.models import Site
from tests import factories
from tests.web.conftest import browser_login

GOOD = ("kurum_kodu;adi;tur;il;ilce;oncelik;durum\n"
        "WEB001;Kardelen İlkokulu;ilkokul;Deneme İli;Merkez;1;planlandı\n"
        "WEB002;Martı Lisesi;lise;TR-99;Sahil;2;\n").encode()
BAD = ("code,name,type,district,latitude\n"
       "WEB010,Bir,ilkokul,TR-99-A,39.9\n"
       "WEB011,İki,ilkokul,TR-98-C,39.9\n"
       "WEB012,Üç,hastane,TR-99-A,91\n").encode()
CSV = "text/csv"


def sites(session: Session) -> int:
    """How many sites are registered."""
    return session.scalar(select(func.count()).select_from(Site)) or 0


def audit_entries(session: Session) -> int:
    """How many audit entries exist."""
    return int(session.execute(text("SELECT count(*) FROM audit_entries")).scalar() or 0)


def member(session: Session) -> User:
    """A commission member for province TR-99 (may import, create and edit sites there)."""
    factories.tree(session)
    user = factories.user(session, "commission_member", scope=["TR-99"])
    session.commit()
    return user


def page_csrf(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]


# ---------------------------------------------------------------- API


def test_api_imports_and_reimport_changes_nothing(client: TestClient, session: Session,
                                                  token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("okullar.csv", GOOD, CSV)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["created"], body["updated"], body["unchanged"]) == ("sites", 2, 0, 0)
    assert body["counts"] == {"sites": {"created": 2, "updated": 0, "unchanged": 0}}
    assert {c["key"]: c["row"] for c in body["changes"]} == {"WEB001": 2, "WEB002": 3}
    site = session.scalar(select(Site).where(Site.code == "WEB002"))
    assert site is not None and site.jurisdiction.code == "TR-99-B"
    entries = audit_entries(session)
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("okullar.csv", GOOD, CSV)})
    assert r.status_code == 200
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 2)
    assert audit_entries(session) == entries


def test_api_dry_run_writes_nothing(client: TestClient, session: Session,
                                    token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    before = audit_entries(session)
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("okullar.csv", GOOD, CSV)},
                    data={"dry_run": "true", "kind": "sites"})
    assert r.status_code == 200, r.text
    assert (r.json()["dry_run"], r.json()["created"]) == (True, 2)
    assert sites(session) == 0
    assert audit_entries(session) == before


def test_api_bad_file_is_422_with_rows_and_columns(client: TestClient, session: Session,
                                                   token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    r = client.post("/api/v1/imports?lang=en", headers=headers, files={"file": ("bad.csv", BAD, CSV)})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "ValidationFailed"
    assert "nothing was imported" in err["message"]
    found = {(f["row"], f["field"]) for f in err["fields"]}
    assert found == {(3, "district"), (4, "type"), (4, "latitude")}
    assert all(f["message"] for f in err["fields"])
    assert sites(session) == 0


def test_api_unreadable_files(client: TestClient, session: Session,
                              token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("x.xlsx", b"not a workbook", CSV)})
    assert r.status_code == 422
    assert "XLSX" in r.json()["error"]["message"]
    broken = "code,name,type,district\nWEB020,Işık".encode("cp1254") + b"\x81,ilkokul,TR-99-A\n"  # 0x81: no letter
    r = client.post("/api/v1/imports?lang=en", headers=headers, files={"file": ("x.csv", broken, CSV)})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["row"] == 2
    assert "Windows-1254" in r.json()["error"]["message"] and "CSV UTF-8" in r.json()["error"]["message"]
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("x.csv", GOOD, CSV)},
                    data={"kind": "lamps"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "kind"
    r = client.post("/api/v1/imports", headers=headers)
    assert r.status_code == 422
    assert sites(session) == 0


def test_api_needs_the_import_permission(client: TestClient, session: Session,
                                         token_for: Callable[[User], dict[str, str]]) -> None:
    factories.tree(session)
    operator = factories.user(session, "operator")
    session.commit()
    r = client.post("/api/v1/imports", headers=token_for(operator), files={"file": ("a.csv", GOOD, CSV)})
    assert r.status_code == 403
    r = client.post("/api/v1/imports", files={"file": ("a.csv", GOOD, CSV)})
    assert r.status_code == 401
    assert sites(session) == 0


def test_api_from_a_browser_session_needs_csrf(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    r = client.post("/api/v1/imports", files={"file": ("a.csv", GOOD, CSV)})
    assert r.status_code == 403
    csrf = page_csrf(client.get("/import").text)
    r = client.post("/api/v1/imports", files={"file": ("a.csv", GOOD, CSV)}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert sites(session) == 2


# ---------------------------------------------------------------- page


def test_page_needs_sign_in_and_permission(client: TestClient, session: Session) -> None:
    r = client.get("/import", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    factories.tree(session)
    operator = factories.user(session, "operator")
    session.commit()
    browser_login(client, operator)
    assert client.get("/import").status_code == 403


def test_page_imports_a_file(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    page = client.get("/import")
    assert page.status_code == 200
    for element in ('id="import-form"', 'id="import-file"', 'id="import-submit"', 'id="import-dry-run"'):
        assert element in page.text
    csrf = page_csrf(page.text)
    r = client.post("/import", data={"csrf_token": csrf, "dry_run": "1"}, files={"file": ("okullar.csv", GOOD, CSV)})
    assert r.status_code == 200, r.text
    assert 'id="import-summary"' in r.text and 'data-count="created">2<' in r.text
    assert sites(session) == 0
    r = client.post("/import", data={"csrf_token": csrf}, files={"file": ("okullar.csv", GOOD, CSV)})
    assert r.status_code == 200
    assert 'data-count="created">2<' in r.text and "WEB001" in r.text
    assert sites(session) == 2


def test_page_lists_every_problem(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    csrf = page_csrf(client.get("/import").text)
    r = client.post("/import?lang=en", data={"csrf_token": csrf}, files={"file": ("bad.csv", BAD, CSV)})
    assert r.status_code == 422
    table = r.text.split('id="import-errors"')[1].split("</table>")[0]
    assert table.count("<tr>") == 4  # the heading and three problems
    assert "<td>3</td><td>district</td>" in table and "outside your scope" in table
    assert "<td>4</td><td>latitude</td>" in table
    assert sites(session) == 0


def test_page_refuses_a_post_without_csrf(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    r = client.post("/import", files={"file": ("okullar.csv", GOOD, CSV)})
    assert r.status_code == 403
    assert sites(session) == 0


def test_page_speaks_turkish_and_russian(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    assert "Dosyayı yalnızca denetle" in client.get("/import?lang=tr").text
    assert "Только проверить файл" in client.get("/import?lang=ru").text
    assert "Only check the file" in client.get("/import?lang=en").text


# ---------------------------------------------------------------- language and file format

MEB_CP1254 = ("Kurum Kodu;Kurum Adı;Kurum Türü;İl;İlçe;Enlem;Boylam;Kayıt Tarihi\n"
              "WEB030;Işıklı İlkokulu;İlkokul;Deneme İli;Merkez;39,9061;32,8112;01.09.1998\n").encode("cp1254")


def test_api_problems_are_in_the_request_language(client: TestClient, session: Session,
                                                  token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    bad = b"code,name,type,district\nWEB040,Bir,hastane,TR-99-A\n"
    said = {}
    for lang in ("", "?lang=en", "?lang=ru"):
        r = client.post(f"/api/v1/imports{lang}", headers=headers, files={"file": ("bad.csv", bad, CSV)})
        assert r.status_code == 422
        err = r.json()["error"]
        said[lang] = (err["message"], err["fields"][0]["message"], err["fields"][0]["field"])
    assert said[""][0] == "Dosyada 1 sorun var; hiçbir şey içe aktarılmadı"  # Turkish is the default
    assert said[""][1].startswith("bilinmeyen kurum türü 'hastane'")
    assert said["?lang=en"][:2] == ("1 problem(s) in the file; nothing was imported",
                                    said["?lang=en"][1])
    assert said["?lang=en"][1].startswith("unknown site type 'hastane'")
    assert said["?lang=ru"][0] == "В файле проблем: 1; ничего не импортировано"
    assert said["?lang=ru"][1].startswith("неизвестный тип объекта 'hastane'")
    assert {s[2] for s in said.values()} == {"type"}
    r = client.post("/api/v1/imports?lang=tr", headers=headers, files={"file": ("x.xlsx", b"not a workbook", CSV)})
    assert r.json()["error"]["message"].startswith("dosyanın adı .xlsx ama geçerli bir XLSX çalışma kitabı değil")


def test_api_dry_run_reports_the_file_format_and_ignored_columns(client: TestClient, session: Session,
                                                                 token_for: Callable[[User], dict[str, str]]) -> None:
    headers = token_for(member(session))
    r = client.post("/api/v1/imports", headers=headers, files={"file": ("okullar.csv", MEB_CP1254, CSV)},
                    data={"dry_run": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file"] == {"encoding": "iso-8859-9", "encoding_name": "ISO-8859-9", "delimiter": ";"}
    assert body["warnings"] == [{"field": "file", "row": 1,
                                 "message": "tanınmayan ve yok sayılan sütun(lar): 'Kayıt Tarihi'"}]
    assert body["created"] == 1 and body["changes"][0]["changes"]["name"]["to"] == "Işıklı İlkokulu"
    assert sites(session) == 0


def test_page_preview_shows_the_encoding_and_the_warning(client: TestClient, session: Session) -> None:
    browser_login(client, member(session))
    csrf = page_csrf(client.get("/import").text)
    r = client.post("/import", data={"csrf_token": csrf, "dry_run": "1"},
                    files={"file": ("okullar.csv", MEB_CP1254, CSV)})
    assert r.status_code == 200, r.text
    assert "ISO-8859-9 metni olarak okundu, sütun ayırıcı: ;." in r.text
    warnings = r.text.split('id="import-warnings"')[1].split("</table>")[0]
    assert "tanınmayan ve yok sayılan sütun(lar): &#39;Kayıt Tarihi&#39;" in warnings
    r = client.post("/import?lang=ru", data={"csrf_token": csrf}, files={"file": ("bad.csv", BAD, CSV)})
    assert r.status_code == 422
    assert "Ничего не импортировано" in r.text and "вне вашей зоны ответственности" in r.text
    assert sites(session) == 0


def test_page_preview_of_a_workbook(client: TestClient, session: Session) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Kurum Kodu", "Kurum Adı", "Kurum Türü", "İlçe", "Enlem"])
    ws.append(["WEB050", "Çağlayan Ortaokulu", "Ortaokul", "Sahil", 39.95])
    buf = io.BytesIO()
    wb.save(buf)
    browser_login(client, member(session))
    csrf = page_csrf(client.get("/import").text)
    r = client.post("/import?lang=tr", data={"csrf_token": csrf, "dry_run": "1"},
                    files={"file": ("okullar.xlsx", buf.getvalue(), "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert "Excel çalışma kitabı (XLSX) olarak okundu." in r.text
    assert 'id="import-warnings"' not in r.text
    assert 'data-count="created">1<' in r.text and sites(session) == 0
