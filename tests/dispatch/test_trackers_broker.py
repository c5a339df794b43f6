"""Units' trackers through a real Mosquitto and the intake, on both engines: a tracker login issued over the API
publishes positions that become the unit's (bad ones dropped with their reason, the good ones around them kept),
another unit's topic is refused by the broker; an assignment, and its cancellation, reach the tracker's
subscription — also when made while the broker is down; a revoked login is refused; the simulated tracker of
``kgys sim units`` drives, is stored and prints its assignment."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kgys.accounts import service as account_service
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.devices.link import BrokerError
from kgys.devices.mqtt import TrackerClient
from kgys.dispatch.models import Unit, UnitDownlink, UnitPosition
from kgys.sim import units as units_sim
from kgys.web.app import create_app
from tests import factories
from tests.devices.conftest import Broker, Live, live, mqtt_broker, start_intake  # noqa: F401  (fixtures)
from tests.waiting import wait_for

API = "/api/v1"


@dataclass
class Api:
    """The live database's app with a supervisor's and an operator's headers (district TR-99-A)."""

    client: TestClient
    sup: dict[str, str]
    op: dict[str, str]
    live: Live

    def unit(self, call_sign: str) -> None:
        r = self.client.post(f"{API}/units", headers=self.sup,
                             json={"call_sign": call_sign, "kind": "patrol_car", "district": "TR-99-A"})
        assert r.status_code == 201, r.text

    def tracker(self, call_sign: str) -> str:
        r = self.client.post(f"{API}/units/{call_sign}/tracker", headers=self.sup)
        assert r.status_code == 201, r.text
        return str(r.json()["password"])

    def connect(self, call_sign: str, password: str) -> TrackerClient:
        def attempt() -> TrackerClient | None:
            try:
                return TrackerClient(host="127.0.0.1", port=self.live.broker.port, call_sign=call_sign,
                                     username=f"unit.{call_sign}", password=password).start(timeout=2)
            except BrokerError:
                return None
        found = wait_for(f"the broker to take {call_sign}'s tracker login", attempt, 30, detail=self.live.broker.tail)
        assert found is not None
        return found

    def incident(self) -> str:
        with self.live.rt.sessions.begin() as s:
            alert = raising.raise_alert(s, Alarm(
                source=Source.KADES, kind="kades_press", priority=Priority.P1, details="KADES — Ayşe Yılmaz",
                device="kades-1", position=Position(39.92, 32.85, 25), scope_path="/TR/TR-99/TR-99-A/"))
            alert_id = alert.id
        r = self.client.post(f"{API}/incidents", headers=self.op,
                             json={"alerts": [alert_id], "category": "domestic_violence"})
        assert r.status_code == 201, r.text
        return str(r.json()["number"])

    def assign(self, number: str, call_sign: str) -> int:
        r = self.client.post(f"{API}/incidents/{number}/assignments", headers=self.op, json={"unit": call_sign})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


@pytest.fixture
def api(live: Live) -> Iterator[Api]:  # noqa: F811
    with live.rt.sessions.begin() as s:
        sup = factories.user(s, "supervisor", scope=["TR-99"])
        op = factories.user(s, "operator", scope=["TR-99-A"])
        tokens = [account_service.issue_token(session=s, settings=live.rt.settings.security, user=u)
                  for u in (sup, op)]
    with TestClient(create_app(live.rt), base_url="http://127.0.0.1") as c:
        yield Api(c, *({"Authorization": f"Bearer {t}"} for t in tokens), live=live)


def _fix(age_s: float = 1, lat: float = 39.93, **kw: Any) -> bytes:
    at = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat()
    return json.dumps({"lat": lat, "lon": 32.86, "accuracy_m": 9, "at": at, **kw}).encode()


def _position(db: Live, call_sign: str) -> UnitPosition | None:
    with db.session() as s:
        return s.scalar(select(UnitPosition).join(Unit, Unit.id == UnitPosition.unit_id)
                        .where(Unit.call_sign == call_sign))


def ready(api: Api, tracker: TrackerClient) -> None:
    """Wait until the intake stores the tracker's positions: sent until one gets through (an intake just started
    may not have subscribed yet)."""

    def stored() -> bool:
        if _position(api.live, tracker.call_sign) is not None:
            return True
        tracker.publish(_fix(age_s=30, lat=39.91))
        return False

    wait_for("the intake to store the tracker's position", stored, 60, every=0.5, detail=api.live.broker.tail)


def _heard(tracker: TrackerClient, timeout: float = 60) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads(tracker.assignments.get(timeout=timeout))
        return body
    except queue.Empty:
        raise AssertionError(f"tracker {tracker.call_sign} heard nothing within {timeout:.0f} s") from None


def _downlinks(db: Live) -> list[UnitDownlink]:
    with db.session() as s:
        return list(s.scalars(select(UnitDownlink).order_by(UnitDownlink.id)).all())


def _tag() -> str:
    return f"T{datetime.now(UTC).strftime('%H%M%S%f')}"


def test_positions_are_stored_and_bad_ones_dropped_with_their_reason(api: Api, caplog: pytest.LogCaptureFixture
                                                                     ) -> None:
    mine, other = f"{_tag()}-A", f"{_tag()}-B"
    api.unit(mine), api.unit(other)
    tracker = api.connect(mine, api.tracker(mine))
    api.tracker(other)
    running = start_intake(api.live.rt)
    caplog.set_level(logging.WARNING, logger="kgys.devices.worker")
    try:
        ready(api, tracker)
        tracker.publish(b"{not json")
        tracker.publish(json.dumps({"lat": 39.9, "lon": 32.8, "at": datetime.now(UTC).isoformat()}).encode())
        tracker.publish(json.dumps({"lat": "39.9", "lon": 32.8, "accuracy_m": 5,
                                    "at": datetime.now(UTC).isoformat()}).encode())
        tracker.publish(_fix(lat=48.0))  # north of Türkiye
        tracker.publish(_fix(age_s=-600))  # ten minutes ahead
        tracker.publish(_fix(age_s=40, lat=39.95))  # older than the one kept: ignored
        tracker.publish(_fix(lat=39.94), topic=f"kgys/v1/units/{other}/position")  # not its topic: the ACL drops it
        tracker.publish(_fix(age_s=0.5, lat=39.92, speed_kmh=42.5, heading=90))
        wait_for("the last good position stored",
                 lambda: (lambda p: p is not None and p.latitude == 39.92)(_position(api.live, mine)), 60)
    finally:
        worker = running.close()
        tracker.close()
    assert _position(api.live, other) is None
    counts = {k: v for k, v in worker.counts.items() if not k.startswith("outbox")}
    assert counts.pop("stored") >= 2
    assert counts == {"refused:malformed": 1, "refused:invalid_payload": 3, "refused:clock_off": 1,
                      "older": 1}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for reason in ("malformed (not JSON", "accuracy_m: Field required", "lat: Input should be a valid number",
                   "lat: outside Türkiye", "at: "):
        assert reason in logged


def test_an_assignment_and_its_cancel_reach_the_trackers_subscription(api: Api) -> None:
    mine, untracked = f"{_tag()}-C", f"{_tag()}-D"
    api.unit(mine), api.unit(untracked)
    tracker = api.connect(mine, api.tracker(mine))
    running = start_intake(api.live.rt)
    before = len(_downlinks(api.live))
    try:
        number = api.incident()
        assignment = api.assign(number, mine)
        got = _heard(tracker)
        assert (got["event"], got["incident"], got["assignment_id"]) == ("assigned", number, assignment)
        assert got["category"] == "domestic_violence" and got["priority"] == 1
        assert got["place"] == {"lat": 39.92, "lon": 32.85} and "details" in got
        api.assign(api.incident(), untracked)  # no tracker: nothing for it in the outbox
        r = api.client.post(f"{API}/incidents/{number}/assignments/{assignment}/cancel", headers=api.op, json={})
        assert r.status_code == 200, r.text
        cancelled = _heard(tracker)
        assert (cancelled["event"], cancelled["assignment_id"]) == ("cancelled", assignment)
        wait_for("both marked sent", lambda: all(d.sent_at for d in _downlinks(api.live)[before:]), 60)
        assert [d.event for d in _downlinks(api.live)[before:]] == ["assigned", "cancelled"]
    finally:
        running.close()
        tracker.close()


def test_an_assignment_made_while_the_broker_is_down_arrives_once_it_is_back(api: Api, mqtt_broker: Broker  # noqa: F811
                                                                              ) -> None:
    mine = f"{_tag()}-E"
    api.unit(mine)
    tracker = api.connect(mine, api.tracker(mine))
    running = start_intake(api.live.rt)
    try:
        mqtt_broker.stop()
        try:
            assignment = api.assign(api.incident(), mine)
            wait_for("a failed attempt noted", lambda: (lambda d: d.attempts >= 1 and d.last_error != "")(
                _downlinks(api.live)[-1]), 60)
            assert _downlinks(api.live)[-1].sent_at is None
        finally:
            mqtt_broker.start()
        got = _heard(tracker)
        assert (got["event"], got["assignment_id"]) == ("assigned", assignment)
        wait_for("marked sent", lambda: _downlinks(api.live)[-1].sent_at is not None, 60)
        with pytest.raises(queue.Empty):
            tracker.assignments.get(timeout=1)  # once
    finally:
        running.close()
        tracker.close()


def test_a_revoked_tracker_login_is_refused(api: Api) -> None:
    mine = f"{_tag()}-F"
    api.unit(mine)
    password = api.tracker(mine)
    api.connect(mine, password).close()
    r = api.client.delete(f"{API}/units/{mine}/tracker", headers=api.sup)
    assert r.status_code == 200 and r.json()["enabled"] is False, r.text

    def refused() -> bool:
        try:
            TrackerClient(host="127.0.0.1", port=api.live.broker.port, call_sign=mine, username=f"unit.{mine}",
                          password=password).start(timeout=2).close()
            return False
        except BrokerError:
            return True
    wait_for("the broker to refuse the revoked login", refused, 30, detail=api.live.broker.tail)


def test_the_simulated_tracker_drives_and_prints_its_assignment(api: Api) -> None:
    mine = f"{_tag()}-G"
    api.unit(mine)
    password = api.tracker(mine)
    wait_for("the broker to take the login", lambda: api.connect(mine, password).close() or True, 30)
    running = start_intake(api.live.rt)
    stop = threading.Event()
    try:
        with units_sim.connect_all(host="127.0.0.1", port=api.live.broker.port, logins=[(mine, password)]) as clients:
            lines = iter(units_sim.drive(clients, latitude=39.9, longitude=32.8, every=0.2, positions=None, stop=stop))
            wait_for("a simulated position stored",
                     lambda: next(lines) and _position(api.live, mine) is not None, 60)
            assignment = api.assign(api.incident(), mine)
            heard = wait_for("the assignment printed", lambda: (lambda line: line if "←" in line else None)(
                next(lines)), 60)
            assert f"{mine} ← assigned" in heard and f"assignment {assignment}" in heard
            stop.set()
            list(lines)
        kept = _position(api.live, mine)
        assert kept is not None and abs(kept.latitude - 39.9) < 0.03 and abs(kept.longitude - 32.8) < 0.03
    finally:
        running.close()
