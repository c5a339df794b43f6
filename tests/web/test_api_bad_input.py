"""Bad input to the API: a clear error naming the field, never a 500, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.runtime import Runtime
from tests import factories

API = "/api/v1"
TABLES = ("sites", "recorders", "cameras", "rollout_events", "jurisdictions", "audit_entries")
CODE = "BAD-INPUT-1"
CURRENT = "current"  # stands for the site's current version in a PATCH body

SITE = {"code": "YENI-1", "name": "Yeni Okul", "type": "high_school", "district": "TR-99-A"}
RECORDER = {"name": "NVR-2", "channels": 16, "supported_storage_tb": 16, "installed_storage_tb": 12}
CAMERA = {"name": "Bahçe", "megapixels": 2.0, "width": 1920, "height": 1080}


@dataclass(frozen=True)
class Bad:
    """A request that must be refused with ``status``, naming ``field`` (and saying ``says``)."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    status: int = 422
    field: str | None = None
    says: str = ""


CASES = {
    "malformed JSON": Bad("POST", "/sites", raw=b'{"code": "X1", "name": "Okul",', says="malformed JSON"),
    "not an object": Bad("POST", "/sites", body=["YENI-1"], field="body"),
    "empty body": Bad("POST", "/sites", raw=b"", field="body"),
    "name is a number": Bad("POST", "/sites", body={**SITE, "name": 123}, field="name", says="valid string"),
    "priority is a word": Bad("POST", "/sites", body={**SITE, "priority": "high"}, field="priority"),
    "priority out of range": Bad("POST", "/sites", body={**SITE, "priority": 9}, field="priority"),
    "10,000-character name": Bad("POST", "/sites", body={**SITE, "name": "x" * 10_000}, field="name",
                                 says="at most 200 characters"),
    "oversize address": Bad("POST", "/sites", body={**SITE, "address": "y" * 401}, field="address"),
    "NUL in a name": Bad("POST", "/sites", body={**SITE, "name": "Yeni\x00Okul"}, field="name", says="U+0000"),
    "right-to-left override in a name": Bad("POST", "/sites", body={**SITE, "name": "Okul \u202eIGEL"}, field="name",
                                            says="text-direction character (U+202E)"),
    "bidi isolate in an address": Bad("POST", "/sites", body={**SITE, "address": "Cd. \u2067No:1\u2069"},
                                      field="address", says="U+2067"),
    "escape in a contact name": Bad("POST", "/sites", body={**SITE, "contact_name": "Ali\x1b[31m"},
                                    field="contact_name", says="U+001B"),
    "left-to-right mark in a patch": Bad("PATCH", f"/sites/{CODE}", body={"version": CURRENT, "name": "A\u200eB"},
                                         field="name", says="U+200E"),
    "Arabic letter mark in a note": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "planned",
                                                                                "note": "not\u061c"},
                                        field="note", says="U+061C"),
    "NUL in a camera name": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "name": "Giri\x00s"}, field="name",
                                says="U+0000"),
    "bidi override in a recorder vendor": Bad("POST", f"/sites/{CODE}/recorders",
                                              body={**RECORDER, "vendor": "\u202dAcme"}, field="vendor",
                                              says="U+202D"),
    "unknown field": Bad("POST", "/sites", body={**SITE, "colour": "red"}, field="colour", says="Extra inputs"),
    "bad site type": Bad("POST", "/sites", body={**SITE, "type": "castle"}, field="type", says="'kindergarten'"),
    "latitude 200": Bad("POST", "/sites", body={**SITE, "latitude": 200}, field="latitude",
                        says="less than or equal to 90"),
    "longitude -181": Bad("POST", "/sites", body={**SITE, "longitude": -181}, field="longitude"),
    "code with spaces": Bad("POST", "/sites", body={**SITE, "code": "A B"}, field="code"),
    "bad e-mail": Bad("POST", "/sites", body={**SITE, "contact_email": "not-an-address"}, field="contact_email"),
    "unknown district": Bad("POST", "/sites", body={**SITE, "district": "TR-00-Z"}, field="district",
                            says="no district"),
    "duplicate code": Bad("POST", "/sites", body={**SITE, "code": CODE}, status=409, says=f"code '{CODE}'"),
    "stale version": Bad("PATCH", f"/sites/{CODE}", body={"version": 7, "name": "Eski ad"}, status=409,
                         says="changed by someone else"),
    "patch without version": Bad("PATCH", f"/sites/{CODE}", body={"name": "Ad"}, field="version"),
    "patch name to null": Bad("PATCH", f"/sites/{CODE}", body={"version": CURRENT, "name": None}, field="name"),
    "patch unknown field": Bad("PATCH", f"/sites/{CODE}", body={"version": CURRENT, "code": "NEW"}, field="code"),
    "bad roll-out status": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "done"}, field="status"),
    "skipped roll-out step": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "verified"}, field="status",
                                 says="next step is 'planned'"),
    "impossible date": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "planned", "effective_on": "2025-13-45"},
                           field="effective_on"),
    "future date": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "planned", "effective_on": "2999-01-01"},
                       field="effective_on", says="future"),
    "oversize note": Bad("POST", f"/sites/{CODE}/rollout", body={"status": "planned", "note": "n" * 2001},
                         field="note"),
    "credentials in the stream URL": Bad("POST", f"/sites/{CODE}/cameras",
                                         body={**CAMERA, "stream_url": "rtsp://admin:12345@10.0.0.9/live"},
                                         field="stream_url", says="'credentials'"),
    "stream URL of another scheme": Bad("POST", f"/sites/{CODE}/cameras",
                                        body={**CAMERA, "stream_url": "ftp://10.0.0.9/live"}, field="stream_url"),
    "bad camera position": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "position": "roof"},
                               field="position", says="entrance"),
    "bad codec": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "codec": "mjpeg"}, field="codec"),
    "zero megapixels": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "megapixels": 0}, field="megapixels"),
    "unknown recorder": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "recorder": "NVR-9"},
                            field="recorder", says="no recorder 'NVR-9'"),
    "duplicate camera name": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "name": "Giriş"}, status=409,
                                 says="camera named 'Giriş'"),
    "password over 200 characters": Bad("POST", f"/sites/{CODE}/recorders",
                                        body={**RECORDER, "credentials": {"username": "a", "password": "p" * 201}},
                                        field="credentials.password"),
    "more storage installed than supported": Bad("POST", f"/sites/{CODE}/recorders",
                                                 body={**RECORDER, "installed_storage_tb": 20},
                                                 field="installed_storage_tb", says="more storage installed"),
    "negative channels": Bad("POST", f"/sites/{CODE}/recorders", body={**RECORDER, "channels": -1},
                             field="channels"),
    "channels true": Bad("POST", f"/sites/{CODE}/recorders", body={**RECORDER, "channels": True}, field="channels",
                         says="not true or false"),
    "retention days false": Bad("POST", f"/sites/{CODE}/recorders", body={**RECORDER, "retention_days": False},
                                field="retention_days"),
    "enabled as a number": Bad("POST", f"/sites/{CODE}/cameras", body={**CAMERA, "enabled": 0}, field="enabled",
                               says="not a number"),
    "device id too large": Bad("PUT", f"/sites/{CODE}/recorders/99999999999", body=RECORDER, field="recorder_id"),
    "device id not a number": Bad("DELETE", f"/sites/{CODE}/cameras/first", field="camera_id"),
    "per_page=100000": Bad("GET", "/sites?per_page=100000", field="per_page", says="less than or equal to 500"),
    "page 0": Bad("GET", "/sites?page=0", field="page"),
    "overlong search": Bad("GET", "/sites?q=" + "q" * 101, field="q"),
    "bad compliance filter": Bad("GET", "/sites?compliance_status=great", field="compliance_status"),
    "bad overdue flag": Bad("GET", "/sites?overdue=perhaps", field="overdue"),
    "unknown jurisdiction filter": Bad("GET", "/sites?jurisdiction=TR-00", field="jurisdiction"),
    "audit per_page=100000": Bad("GET", "/audit?per_page=100000", field="per_page"),
    "right-to-left override in a search": Bad("GET", "/sites?q=okul%E2%80%AE", field="q", says="U+202E"),
    "NUL in a jurisdiction name": Bad("POST", "/jurisdictions",
                                      body={"code": "TR-97", "name": "İl\x00", "kind": "province", "parent": "TR"},
                                      field="name", says="U+0000"),
    "right-to-left override in a hold's reason": Bad(
        "POST", "/holds", body={"site": CODE, "camera": "Giriş", "from": "2026-01-01T00:00:00Z",
                                "to": "2026-01-01T01:00:00Z", "reason": "dosya \u202e2026", "legal_basis": "karar"},
        field="reason", says="U+202E"),
    "NUL in a user's full name": Bad(
        "POST", "/users", body={"username": "yeni.kisi", "password": "Uzun-ve-Guclu-Parola-77", "role": "operator",
                                "full_name": "Ali\x00", "jurisdictions": ["TR-99"]},
        field="full_name", says="U+0000"),
    "jurisdiction of an unknown kind": Bad("POST", "/jurisdictions",
                                           body={"code": "TR-97", "name": "İl", "kind": "state", "parent": "TR"},
                                           field="kind"),
}


def _counts(session: Session) -> dict[str, int]:
    return {t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in TABLES}


@pytest.fixture
def admin_headers(session: Session, rt: Runtime, token_for: Callable[[User], dict[str, str]]) -> dict[str, str]:
    """A country-wide administrator, and site CODE with a compliant system."""
    factories.tree(session)
    factories.site(session, "TR-99-A", code=CODE)
    factories.compliant_system(session, rt.box, CODE)
    return token_for(factories.user(session, "admin", scope=["TR"]))


def _send(client: TestClient, session: Session, headers: dict[str, str], case: Bad) -> httpx.Response:
    kw: dict[str, Any] = {"headers": headers}
    if case.raw is not None:
        kw["content"] = case.raw
        kw["headers"] = {**headers, "Content-Type": "application/json"}
    elif isinstance(case.body, dict) and case.body.get("version") == CURRENT:
        version = session.execute(text("SELECT version FROM sites WHERE code = :c"), {"c": CODE}).scalar()
        kw["json"] = {**case.body, "version": version}
    elif case.body is not None:
        kw["json"] = case.body
    return client.request(case.method, f"{API}{case.path}", **kw)


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient, session: Session, admin_headers: dict[str, str], subtests: pytest.Subtests
) -> None:
    for name, case in CASES.items():
        with subtests.test(msg=name):
            before = _counts(session)
            r = _send(client, session, admin_headers, case)
            assert r.status_code == case.status, r.text
            error = r.json()["error"]
            named = [f["field"] for f in error.get("fields", [])]
            messages = " ".join([error["message"], *(f["message"] for f in error.get("fields", []))])
            if case.field is not None:
                assert case.field in named, error
            assert case.says in messages, error
            assert _counts(session) == before


def test_several_mistakes_are_named_at_once(client: TestClient, session: Session,
                                            admin_headers: dict[str, str]) -> None:
    r = client.post(f"{API}/sites", headers=admin_headers,
                    json={**SITE, "name": "", "type": "castle", "latitude": 200, "colour": "red"})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"name", "type", "latitude", "colour"}


def test_a_refused_patch_leaves_the_site_as_it_was(client: TestClient, session: Session,
                                                   admin_headers: dict[str, str]) -> None:
    site = client.get(f"{API}/sites/{CODE}", headers=admin_headers).json()
    r = client.patch(f"{API}/sites/{CODE}", headers=admin_headers,
                     json={"version": site["version"], "name": "Yeni Ad", "priority": None})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "priority"
    assert client.get(f"{API}/sites/{CODE}", headers=admin_headers).json() == site
