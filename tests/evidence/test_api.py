"""The evidence API end to end on the database (SQLite and PostgreSQL): a request opened, decided with its scanned
decision (multipart), approved by a second person and its document downloaded; every refusal answered with the
field at fault and written to the audit log even though the step rolled back; bad input named, nothing half
written."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.db import utcnow
from kgys.evidence.models import Decision, FootageRequest
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests.evidence.conftest import PDF, Ev
from tests.recording.test_retention_job import T0
from tests.web.conftest import client, token_for  # noqa: F401  (fixtures)

API = "/api/v1/evidence"
H = timedelta(hours=1)
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def auth(ev: Ev, token_for: Callable[[User], dict[str, str]]) -> Headers:  # noqa: F811
    """Bearer headers of the world's users by label."""
    def headers(label: str) -> dict[str, str]:
        user = ev.session.get(User, ev.actors[label].id)
        assert user is not None
        return token_for(user)
    return headers


def _body(ev: Ev, cam: str = "a1", **extra: Any) -> dict[str, Any]:
    return {"investigation_no": "2025/900", "requesting_unit": "Asayiş Şube", "purpose": "yaralama",
            "scope": [{"camera_id": ev.cam(cam), "from": T0.isoformat(), "to": (T0 + H).isoformat()}]} | extra


def _decision(ev: Ev, **extra: str) -> dict[str, str]:
    scope = [{"camera_id": ev.cam("a1"), "from": T0.isoformat(), "to": (T0 + H / 2).isoformat()}]
    return {"outcome": "granted", "authority_kind": "prosecutor", "authority_name": "Ankara Cumhuriyet Başsavcılığı",
            "decision_no": "2025/55", "decision_date": "2025-03-01", "provision": "CMK 134",
            "valid_until": (utcnow() + timedelta(days=30)).isoformat(), "scope": json.dumps(scope)} | extra


def _refusals(ev: Ev) -> list[AuditEntry]:
    ev.session.expire_all()
    return ev.entries("evidence.refused")


def _requests(ev: Ev) -> int:
    return int(ev.session.scalar(select(func.count()).select_from(FootageRequest)) or 0)


def test_request_decision_approval_and_document(ev: Ev, client: TestClient, auth: Headers) -> None:  # noqa: F811
    r = client.post(f"{API}/requests", json=_body(ev), headers=auth("inv"))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["state"] == "awaiting" and got["requested"][0]["hold_id"] and got["decision"] is None
    rid, made = got["id"], datetime.fromisoformat(got["created_at"].replace("Z", "+00:00"))
    files = {"document": ("karar.pdf", PDF, "application/pdf")}
    r = client.post(f"{API}/requests/{rid}/decision", data=_decision(ev), files=files, headers=auth("liaison"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["state"] == "granted" and got["decision"]["legal_basis"].startswith("CMK 134 / Ankara")
    assert [(g["from"], g["to"]) for g in got["granted"]] == [(T0.isoformat().replace("+00:00", "Z"),
                                                               (T0 + H / 2).isoformat().replace("+00:00", "Z"))]
    r = client.post(f"{API}/requests/{rid}/approve", json={"note": "uygun", "version": got["version"]},
                    headers=auth("sup"))
    assert r.status_code == 200, r.text
    answer = r.json()["approval"]
    assert (answer["outcome"], answer["approver"], answer["note"]) == ("approved", "sup-supervisor", "uygun")
    doc = client.get(f"{API}/requests/{rid}/document", headers=auth("inv"))
    assert doc.status_code == 200 and doc.content == PDF and doc.headers["content-type"] == "application/pdf"
    ev.session.expire_all()
    entry = ev.entries("evidence.document.view")[-1]
    assert entry.actor == "inv-investigator" and entry.legal_basis and "2025/55" in entry.legal_basis
    listed = client.get(f"{API}/requests", headers=auth("liaison")).json()
    assert [x["id"] for x in listed] == [rid]
    report = client.get(f"{API}/report", params={"period": "day"}, headers=auth("auditor")).json()
    row = report["rows"][0]
    today = made.astimezone(ZoneInfo("Europe/Istanbul")).strftime("%Y-%m-%d")
    assert (row["period"], row["unit"], row["requests"], row["decisions"], row["approvals"]) == (
        today, "Asayiş Şube", 1, 1, 1)
    assert row["request_to_decision"]["count"] == 1


def test_refusals_name_the_field_and_are_audited(ev: Ev, client: TestClient, auth: Headers) -> None:  # noqa: F811
    r = client.post(f"{API}/requests", json=_body(ev, cam="b1"), headers=auth("inv"))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "scope[0].camera_id"
    r = client.post(f"{API}/requests", json=_body(ev), headers=auth("op"))
    assert r.status_code == 403 and "evidence.request" in r.json()["error"]["message"]
    assert _requests(ev) == 0
    refused = _refusals(ev)
    assert [(e.actor, json.loads(e.details)["step"]) for e in refused] == [("inv-investigator", "request"),
                                                                           ("op-operator", "request")]
    assert json.loads(refused[0].details)["fields"][0]["field"] == "scope[0].camera_id"
    assert json.loads(refused[1].details)["field"] == "evidence.request"

    rid = client.post(f"{API}/requests", json=_body(ev), headers=auth("admin")).json()["id"]
    wider = _decision(ev, scope=json.dumps([{"camera_id": ev.cam("a1"), "from": T0.isoformat(),
                                             "to": (T0 + 2 * H).isoformat()}]))
    files = {"document": ("karar.pdf", PDF, "application/pdf")}
    r = client.post(f"{API}/requests/{rid}/decision", data=wider, files=files, headers=auth("liaison"))
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["scope[0]"]
    forged = {"document": ("karar.pdf", b"GIF89a forged", "application/pdf")}
    r = client.post(f"{API}/requests/{rid}/decision", data=_decision(ev), files=forged, headers=auth("liaison"))
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["document"]
    assert ev.session.scalar(select(func.count()).select_from(Decision)) == 0
    assert client.post(f"{API}/requests/{rid}/decision", data=_decision(ev), files=files,
                       headers=auth("liaison")).status_code == 200
    r = client.post(f"{API}/requests/{rid}/approve", json={}, headers=auth("admin"))
    assert r.status_code == 403 and "four eyes" in r.json()["error"]["message"]
    r = client.post(f"{API}/requests/{rid}/approve", json={}, headers=auth("liaison"))
    assert r.status_code == 403 and "evidence.approve" in r.json()["error"]["message"]
    steps = [(json.loads(e.details)["step"], json.loads(e.details).get("field")) for e in _refusals(ev)[2:]]
    assert steps == [("decision", None), ("decision", None), ("approve", "approver"), ("approve", "evidence.approve")]
    assert [json.loads(e.details)["fields"][0]["field"] for e in _refusals(ev)[2:4]] == ["scope[0]", "document"]


def test_an_expired_decision_is_refused_and_audited(ev: Ev, client: TestClient, auth: Headers) -> None:  # noqa: F811
    rid = client.post(f"{API}/requests", json=_body(ev), headers=auth("inv")).json()["id"]
    files = {"document": ("karar.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")}
    valid = _decision(ev, valid_until=(utcnow() + timedelta(days=1)).isoformat())
    assert client.post(f"{API}/requests/{rid}/decision", data=valid, files=files,
                       headers=auth("liaison")).status_code == 200
    ev.session.execute(update(Decision).values(valid_until=utcnow() - timedelta(seconds=1)))
    ev.session.commit()
    r = client.post(f"{API}/requests/{rid}/approve", json={}, headers=auth("sup"))
    assert r.status_code == 409 and "valid_until" in r.json()["error"]["message"]
    assert json.loads(_refusals(ev)[-1].details)["field"] == "valid_until"


@pytest.mark.parametrize(("body", "field"), [
    ({"purpose": "yara\x00lama"}, "purpose"),
    ({"investigation_no": "x" * 65}, "investigation_no"),
    ({"scope": [{"camera_id": 1, "from": "dün", "to": "2025-03-01T09:00:00Z"}]}, "scope.0.from"),
    ({"scope": [{"camera_id": 1, "from": 1740819600, "to": "2025-03-01T09:00:00Z"}]}, "scope.0.from"),
    ({"scope": []}, "scope"),
    ({"extra": 1}, "extra"),
])
def test_bad_input_is_named_and_nothing_is_written(ev: Ev, client: TestClient, auth: Headers,  # noqa: F811
                                                   body: dict[str, Any], field: str) -> None:
    r = client.post(f"{API}/requests", json=_body(ev) | body, headers=auth("inv"))
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["error"]["fields"]], r.text
    assert _requests(ev) == 0


def test_a_decision_larger_than_the_limit_is_refused_before_it_is_read(ev: Ev, rt: Runtime,
                                                                       auth: Headers) -> None:
    rt.settings = rt.settings.model_copy(update={"web": rt.settings.web.model_copy(update={"max_decision_mb": 0.01})})
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as small:
        rid = small.post(f"{API}/requests", json=_body(ev), headers=auth("inv")).json()["id"]
        files = {"document": ("karar.pdf", PDF + b"0" * 200_000, "application/pdf")}
        r = small.post(f"{API}/requests/{rid}/decision", data=_decision(ev), files=files, headers=auth("liaison"))
    assert r.status_code == 413
    assert ev.session.scalar(select(func.count()).select_from(Decision)) == 0
