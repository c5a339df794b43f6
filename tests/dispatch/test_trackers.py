"""Units' trackers without a broker, on both engines: the tracker login issued (password once), rotated and revoked
over the API within scope and audited, with the broker's files following; what a tracker's position payload
must be (table-driven, pure); positions taken in by the intake's flow; assignments written to the trackers'
outbox in the same transaction, only for units with a tracker."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.config import DispatchSettings
from kgys.devices import positions
from kgys.devices.flows import tracking
from kgys.devices.kinds import Rejection
from kgys.devices.payloads import Refusal
from kgys.dispatch.models import UnitDownlink, UnitPosition, UnitTracker
from kgys.runtime import Runtime
from tests import factories
from tests.dispatch.conftest import API, World

TOPIC = "kgys/v1/units/99-A-01/position"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SKEW, MAX_AGE = timedelta(seconds=30), timedelta(hours=1)


def _body(**kw: object) -> bytes:
    fix: dict[str, object] = {"lat": 39.92, "lon": 32.85, "accuracy_m": 12, "at": "2026-03-02T11:59:50+03:00"}
    fix.update(kw)
    return json.dumps({k: v for k, v in fix.items() if v is not None}).encode()


GOOD = [
    _body(),
    _body(speed_kmh=48.5, heading=270),
    _body(lat=40, lon=33, accuracy_m=0),  # integers are numbers too
]
BAD = [
    (b"{not json", Rejection.MALFORMED, "not JSON"),
    (b"[1, 2]", Rejection.MALFORMED, "not a JSON object"),
    (_body(accuracy_m=None), Rejection.INVALID, "accuracy_m: Field required"),
    (_body(lat="39.92"), Rejection.INVALID, "lat: Input should be a valid number"),
    (_body(lon=True), Rejection.INVALID, "lon:"),
    (_body(at=1772441990), Rejection.INVALID, "at:"),
    (_body(at="2026-03-02T08:59:50"), Rejection.INVALID, "at: Input should have timezone info"),
    (_body(heading=400), Rejection.INVALID, "heading:"),
    (_body(speed_kmh=-1), Rejection.INVALID, "speed_kmh:"),
    (_body(extra=1), Rejection.INVALID, "extra:"),
    (_body(lat=48.5), Rejection.INVALID, "lat: outside Türkiye"),
    (_body(lon=20.0), Rejection.INVALID, "lon: outside Türkiye"),
    (_body(at="2026-03-02T09:05:00+00:00"), Rejection.CLOCK_OFF, "at: 2026-03-02T09:05:00+00:00 is in the future"),
    (_body(at="2026-03-02T07:00:00+00:00"), Rejection.CLOCK_OFF, "older than"),
    (b"x" * 3000, Rejection.OVERSIZED, "3000 bytes"),
]


@pytest.mark.parametrize("body", GOOD)
def test_a_good_position_is_taken(body: bytes) -> None:
    got = positions.parse(TOPIC, body, now=NOW, skew=SKEW, max_age=MAX_AGE)
    assert isinstance(got, positions.Position) and got.call_sign == "99-A-01"


@pytest.mark.parametrize(("body", "reason", "detail"), BAD)
def test_a_bad_position_is_refused_naming_the_field(body: bytes, reason: Rejection, detail: str) -> None:
    got = positions.parse(TOPIC, body, now=NOW, skew=SKEW, max_age=MAX_AGE)
    assert isinstance(got, Refusal) and got.reason == reason and detail in got.detail, got


@pytest.mark.parametrize("topic", ["kgys/v1/units/99-A-01/assignment", "kgys/v1/units/+/position",
                                   "kgys/v1/units/99 A/position", "kgys/v1/devices/PB-1/press"])
def test_only_a_units_position_topic_is_a_position(topic: str) -> None:
    got = positions.parse(topic, _body(), now=NOW, skew=SKEW, max_age=MAX_AGE)
    assert isinstance(got, Refusal) and got.reason == Rejection.TOPIC


def _files(rt: Runtime) -> tuple[str, str]:
    cfg, data = rt.settings.devices, rt.settings.data_dir
    passwd, acl = Path(cfg.password_path(data)), Path(cfg.acl_path(data))
    return passwd.read_text() if passwd.exists() else "", acl.read_text() if acl.exists() else ""


def test_a_tracker_login_is_issued_once_rotated_and_revoked(world: World, rt: Runtime) -> None:
    world.unit("99-A-01")
    c, h = world.client, world.h
    r = c.post(f"{API}/units/99-A-01/tracker", headers=h["sup"])
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["username"] == "unit.99-A-01" and first["enabled"] and len(first["password"]) >= 24
    assert (first["position_topic"], first["assignment_topic"]) == ("kgys/v1/units/99-A-01/position",
                                                                      "kgys/v1/units/99-A-01/assignment")
    shown = c.get(f"{API}/units/99-A-01/tracker", headers=h["sup"]).json()
    assert "password" not in shown and shown["enabled"]
    passwd, acl = _files(rt)
    assert "unit.99-A-01:" in passwd
    assert "user unit.99-A-01\ntopic write kgys/v1/units/99-A-01/position\n" \
           "topic read kgys/v1/units/99-A-01/assignment" in acl
    second = c.post(f"{API}/units/99-A-01/tracker", headers=h["sup"]).json()
    assert second["password"] != first["password"]
    r = c.delete(f"{API}/units/99-A-01/tracker", headers=h["sup"])
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert c.delete(f"{API}/units/99-A-01/tracker", headers=h["sup"]).status_code == 200  # again: nothing more
    passwd, acl = _files(rt)
    assert "unit.99-A-01" not in passwd and "unit.99-A-01" not in acl
    entries = world.session.scalars(select(AuditEntry).where(AuditEntry.object_id == "unit.99-A-01")
                                    .order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["unit_tracker.create", "unit_tracker.update", "unit_tracker.update"]
    assert not any(first["password"] in e.details or second["password"] in e.details for e in entries)
    stored = world.session.get(UnitTracker, world.session.scalar(select(UnitTracker.unit_id)))
    assert stored is not None and stored.password_hash == "" and not stored.enabled


def test_only_those_who_manage_units_in_scope_touch_tracker_logins(
        world: World, token_for: Callable[[User], dict[str, str]]) -> None:
    world.unit("99-A-02")
    c, h = world.client, world.h
    elsewhere = token_for(factories.user(world.session, "supervisor", scope=["TR-98"]))
    for call in (c.post, c.get, c.delete):
        assert call(f"{API}/units/99-A-02/tracker", headers=elsewhere).status_code == 404  # as if it did not exist
    assert c.post(f"{API}/units/99-A-02/tracker", headers=h["op_b"]).status_code == 403  # no units.manage
    for who in ("op_a", "field"):
        assert c.post(f"{API}/units/99-A-02/tracker", headers=h[who]).status_code == 403
    assert c.post(f"{API}/units/NOPE-1/tracker", headers=h["sup"]).status_code == 404
    assert c.get(f"{API}/units/99-A-02/tracker", headers=h["sup"]).status_code == 404  # never issued
    assert c.delete(f"{API}/units/99-A-02/tracker", headers=h["sup"]).status_code == 404
    assert c.post(f"{API}/units/bad%20sign/tracker", headers=h["sup"]).status_code == 422
    assert world.session.scalar(select(UnitTracker.unit_id)) is None


def test_the_flow_stores_a_trackers_position_and_refuses_the_unknown_and_revoked(world: World) -> None:
    world.unit("99-A-03"), world.unit("99-A-04")
    world.client.post(f"{API}/units/99-A-03/tracker", headers=world.h["sup"])
    s, settings, now = world.session, DispatchSettings(), datetime.now(UTC)

    def take(call_sign: str, age_s: float, lat: float = 39.93) -> tracking.Outcome:
        fix = positions.Fix(lat=lat, lon=32.86, accuracy_m=5, at=now - timedelta(seconds=age_s))
        return tracking.take_position(s, parsed=positions.Position(call_sign, fix), settings=settings, now=now)

    assert take("99-A-03", 10).refusal is None
    assert take("99-A-03", 20, lat=39.99).counted == "older"
    kept = s.scalar(select(UnitPosition))
    assert kept is not None and kept.latitude == 39.93
    assert take("99-A-03", 1, lat=39.94).refusal is None and kept.latitude == 39.94
    unknown = take("99-Z-99", 1).refusal
    assert unknown is not None and unknown.reason == Rejection.UNKNOWN_UNIT
    untracked = take("99-A-04", 1).refusal
    assert untracked is not None and untracked.reason == Rejection.NO_TRACKER
    world.client.delete(f"{API}/units/99-A-03/tracker", headers=world.h["sup"])
    revoked = take("99-A-03", 0).refusal
    assert revoked is not None and revoked.reason == Rejection.NO_TRACKER


def test_an_assignment_is_written_for_the_tracker_with_it_only_for_units_with_one(world: World) -> None:
    world.unit("99-A-05"), world.unit("99-A-06")
    world.client.post(f"{API}/units/99-A-05/tracker", headers=world.h["sup"])
    incident = world.incident(world.kades_alert())
    for unit in ("99-A-05", "99-A-06"):
        r = world.client.post(f"{API}/incidents/{incident['number']}/assignments", headers=world.h["op_a"],
                              json={"unit": unit})
        assert r.status_code == 201, r.text
    rows = world.session.scalars(select(UnitDownlink)).all()
    assert len(rows) == 1 and rows[0].sent_at is None and rows[0].event == "assigned"
    body = json.loads(rows[0].body)
    assert body["incident"] == incident["number"] and body["unit"] == "99-A-05"
    assert body["category"] == "domestic_violence" and body["assignment_id"] == rows[0].assignment_id
    refused = world.client.post(f"{API}/incidents/{incident['number']}/assignments", headers=world.h["op_a"],
                                json={"unit": "99-A-05"})
    assert refused.status_code == 409  # busy: nothing more written
    assert len(world.session.scalars(select(UnitDownlink)).all()) == 1
