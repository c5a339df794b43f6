"""An investigator plays back footage only within an approved footage request's scope, against a real recorder
(SQLite and PostgreSQL): inside the granted cameras and range under a valid decision the playback opens and is
audited with the request and the decision as its legal basis; before approval, beyond the grant, on another camera,
after the decision's validity or once the camera left the investigator's district it is refused, and nothing is
written as a playback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.db import utcnow
from kgys.errors import PermissionDenied
from kgys.evidence import documents
from kgys.evidence.flows import decisions, requests
from kgys.evidence.flows.decisions import DecisionIn
from kgys.evidence.models import Decision, FootageRequest
from kgys.evidence.rules import Range
from kgys.live import tickets
from tests import factories
from tests.evidence.conftest import PDF
from tests.live.conftest import Recorded, recorded  # noqa: F401  (fixture)
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)

BASIS = "CMK 134 / İstanbul 3. Sulh Ceza Hâkimliği decision no. 2026/310 of"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Case:
    """A request of a fresh investigator on the first camera, and the people and range around it."""

    w: Recorded
    request_id: int
    inv: str
    headers: dict[str, str]
    granted: tuple[datetime, datetime]
    asked: tuple[datetime, datetime]


@pytest.fixture
def case(recorded: Recorded) -> Case:  # noqa: F811
    w = recorded
    a = w.camera_ids[0]
    segs = w.segments(a)
    asked = (segs[0].start, segs[-1].end)
    granted = (segs[0].start, segs[1].end)
    now = utcnow()
    with w.rt.sessions.begin() as s:
        people: dict[str, Actor] = {}
        for role in ("investigator", "judicial_liaison"):
            people[role] = account_service.actor_for(factories.user(s, role, scope=["TR-99-A"]))
        req = requests.open_request(session=s, actor=people["investigator"], investigation_no="2026/310",
                                    requesting_unit="Beyoğlu İlçe Emniyet", purpose="gasp", wait=timedelta(days=15),
                                    items=[Range(a, *asked)], now=now)
        upload = documents.Upload.receive(iter([PDF]), name="karar.pdf", data_dir=w.rt.settings.data_dir, limit=2**20)
        decisions.record_decision(session=s, actor=people["judicial_liaison"], request_id=req.id, data=DecisionIn(
            outcome="granted", authority_kind="court", authority_name="İstanbul 3. Sulh Ceza Hâkimliği",
            decision_no="2026/310", decision_date=date.today(), provision="CMK 134",
            valid_until=now + timedelta(days=30), refusal_reason="", scope=[Range(a, *granted)]), upload=upload,
            data_dir=w.rt.settings.data_dir, version=None, now=now)
        request_id = req.id
    inv = people["investigator"].username
    return Case(w, request_id, inv, _bearer(w, inv), granted, asked)


def _bearer(w: Recorded, username: str) -> dict[str, str]:
    with w.rt.sessions.begin() as s:
        user = account_service.get_user(session=s, username=username)
        return {"Authorization": "Bearer " + account_service.issue_token(session=s, settings=w.rt.settings.security,
                                                                         user=user)}


def _approve(case: Case) -> None:
    with case.w.rt.sessions.begin() as s:
        sup = account_service.actor_for(factories.user(s, "supervisor", scope=["TR-99-A"]))
        decisions.answer(session=s, actor=sup, request_id=case.request_id, approve=True, note="uygun", version=None,
                         now=utcnow())


def _open(case: Case, start: datetime, end: datetime, camera: int | None = None) -> int:
    cam = camera or case.w.camera_ids[0]
    r = case.w.client.post(f"/api/v1/cameras/{cam}/playback", headers=case.headers,
                           json={"from": _iso(start), "to": _iso(end), "reason": "olay anı"})
    return r.status_code


def test_an_investigator_plays_back_only_what_an_approved_request_grants(case: Case) -> None:
    w = case.w
    a, b = w.camera_ids
    before = w.audit_count("camera.playback.view")
    refused = w.audit_count("camera.playback.refused")
    assert _open(case, *case.granted) == 403  # granted, not yet approved
    _approve(case)
    assert _open(case, case.granted[0], case.asked[1]) == 403  # asked for, but beyond the grant
    assert _open(case, *case.granted, camera=b) == 403  # another camera
    assert w.audit_count("camera.playback.view") == before
    # each refusal is in the audit log: who, which camera and range, and why
    assert w.audit_count("camera.playback.refused") == refused + 3
    entry = w.audit_last("camera.playback.refused")
    assert (entry.actor, entry.object_type, entry.object_id) == (case.inv, "camera", str(b))
    details = json.loads(entry.details)
    assert details["under"] == "footage request" and details["error"] == "PermissionDenied"
    assert (details["from"], details["to"]) == (case.granted[0].isoformat(), case.granted[1].isoformat())
    assert entry.reason == "olay anı" and "footage request" in details["why"]  # the reason given, and why refused
    assert _open(case, *case.granted) == 200
    entry = w.audit_last("camera.playback.view")
    assert entry.actor == case.inv and entry.legal_basis is not None and entry.legal_basis.startswith(BASIS)
    assert entry.reason == f"footage request #{case.request_id} (investigation no. 2026/310): olay anı"
    assert json.loads(entry.details)["request"] == case.request_id
    q = {"from": _iso(case.granted[0]), "to": _iso(case.granted[1])}
    assert w.client.get(f"/api/v1/cameras/{a}/timeline", params=q, headers=case.headers).status_code == 200
    wider = {"from": _iso(case.asked[0]), "to": _iso(case.asked[1])}
    assert w.client.get(f"/api/v1/cameras/{a}/timeline", params=wider, headers=case.headers).status_code == 403
    assert w.audit_count("camera.playback.refused") == refused + 4  # a read refused is written all the same
    # the playback page: the granted camera is shown, the other is refused and audited
    page = w.client.get("/playback", params={"cameras": f"{a},{b}", **q}, headers=case.headers)
    assert page.status_code == 200 and 'id="unavailable"' in page.text
    assert w.audit_count("camera.playback.refused") == refused + 5
    assert w.audit_last("camera.playback.refused").object_id == str(b)
    only_b = w.client.get("/playback", params={"cameras": str(b), **q}, headers=case.headers)
    assert only_b.status_code == 404 and w.audit_count("camera.playback.refused") == refused + 6
    # the decision's validity ends: nothing plays any more
    with w.rt.sessions.begin() as s:
        s.execute(update(Decision).where(Decision.request_id == case.request_id)
                  .values(valid_until=utcnow() - timedelta(seconds=1)))
    assert _open(case, *case.granted) == 403
    assert w.audit_count("camera.playback.refused") == refused + 7


def test_a_playback_ends_when_the_decisions_validity_does(case: Case) -> None:
    """A viewing ticket opened under a decision lives no longer than the decision's validity, however long the
    sign-in lasts: its segments are refused from that moment on."""
    w = case.w
    _approve(case)
    ends = utcnow().replace(microsecond=0) + timedelta(minutes=20)
    with w.rt.sessions.begin() as s:
        s.execute(update(Decision).where(Decision.request_id == case.request_id).values(valid_until=ends))
    r = w.client.post(f"/api/v1/cameras/{w.camera_ids[0]}/playback", headers=case.headers,
                      json={"from": _iso(case.granted[0]), "to": _iso(case.granted[1]), "reason": "olay anı"})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["expires"]) == ends
    token = parse_qs(urlsplit(r.json()["playlist"]).query)["t"][0]
    key, credential = w.rt.settings.security.secret_key, case.headers["Authorization"][7:]
    found = tickets.decode(key, token, now=ends.timestamp() - 1, credential=credential, kind="playback",
                           camera_id=w.camera_ids[0])
    assert found.expires == int(ends.timestamp())
    with pytest.raises(PermissionDenied, match="expired"):
        tickets.decode(key, token, now=ends.timestamp(), credential=credential, kind="playback",
                       camera_id=w.camera_ids[0])


def test_a_camera_outside_the_investigators_district_is_refused_even_under_a_request(case: Case) -> None:
    _approve(case)
    assert _open(case, *case.granted) == 200
    with case.w.rt.sessions.begin() as s:
        account_service.change_access(session=s, actor=factories.admin(), username=case.inv,
                                      jurisdiction_codes=["TR-99-B"])
    case.headers = _bearer(case.w, case.inv)  # the change ended the old sign-ins
    refused = case.w.audit_count("camera.playback.refused")
    assert _open(case, *case.granted) == 404  # as if the camera did not exist
    assert case.w.audit_count("camera.playback.refused") == refused + 1
    assert json.loads(case.w.audit_last("camera.playback.refused").details)["error"] == "NotFound"
    with case.w.rt.sessions.begin() as s:
        row = s.get(FootageRequest, case.request_id)
        assert row is not None and row.state == "approved"
