"""Lockdown orders through a real Mosquitto and the intake, on both engines: an operator's order reaches a device
subscribed with its own login to its site's topic; an order written while the broker is down stays unsent and is
delivered once after the broker is back."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kgys.accounts import service as account_service
from kgys.devices.models import Downlink
from kgys.devices.mqtt import DeviceClient
from kgys.web.app import create_app
from tests import factories
from tests.devices.conftest import Broker, Live, start_intake
from tests.waiting import wait_for


@pytest.fixture
def api(live: Live) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client of the live database's app and an operator's headers (scope: the site's district)."""
    with live.rt.sessions.begin() as s:
        operator = factories.user(s, "operator", scope=["TR-99-A"])
        token = account_service.issue_token(session=s, settings=live.rt.settings.security, user=operator)
    with TestClient(create_app(live.rt), base_url="http://127.0.0.1") as c:
        yield c, {"Authorization": f"Bearer {token}"}


def _heard(device: DeviceClient, timeout: float = 60) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads(device.replies.get(timeout=timeout))
        return body
    except queue.Empty:
        raise AssertionError(f"device {device.serial} heard nothing within {timeout:.0f} s") from None


def _heard_new(device: DeviceClient, seen: set[str]) -> dict[str, Any]:
    """The next order the device has not heard before: QoS 1 is at least once, so a broker that restarts may deliver
    again an order whose acknowledgement it lost; the device knows it by its msg_id and skips it."""
    while True:
        got = _heard(device)
        if got["msg_id"] not in seen:
            seen.add(got["msg_id"])
            return got


def _row(live: Live, downlink_id: int) -> Downlink:
    with live.session() as s:
        row = s.scalar(select(Downlink).where(Downlink.id == downlink_id))
        assert row is not None
        return row


def _order(api: tuple[TestClient, dict[str, str]], live: Live, action: str, reason: str) -> int:
    client, headers = api
    r = client.post(f"/api/v1/sites/{live.site_code}/lockdown", json={"action": action, "reason": reason},
                    headers=headers)
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def test_an_operators_lockdown_reaches_the_sites_device(live: Live, api: tuple[TestClient, dict[str, str]]) -> None:
    serial = live.provision()
    device = live.device(serial, site_code=live.site_code)
    running = start_intake(live.rt)
    try:
        downlink_id = _order(api, live, "lockdown", "Okul bahçesinde şüpheli")
        got = _heard(device)
        assert (got["action"], got["reason"]) == ("lockdown", "Okul bahçesinde şüpheli") and got["msg_id"]
        assert json.loads(_row(live, downlink_id).body)["msg_id"] == got["msg_id"]
        wait_for("the order marked sent", lambda: _row(live, downlink_id).sent_at is not None, 60)
    finally:
        running.close()
        device.close()


def test_an_order_waits_for_the_broker_and_arrives_once(live: Live, mqtt_broker: Broker,
                                                        api: tuple[TestClient, dict[str, str]]) -> None:
    serial = live.provision()
    device = live.device(serial, site_code=live.site_code)
    running = start_intake(live.rt)
    try:
        first = _order(api, live, "lockdown", "ilk")  # the intake is up and subscribed once this one arrives
        seen: set[str] = set()
        assert _heard_new(device, seen)["reason"] == "ilk"
        mqtt_broker.stop()
        try:
            waiting = _order(api, live, "lockdown", "broker kapalıyken")
            wait_for("a failed attempt noted on the order",
                     lambda: (lambda row: row.attempts >= 1 and row.last_error != "")(_row(live, waiting)), 60)
            assert _row(live, waiting).sent_at is None
        finally:
            mqtt_broker.start()
        assert _heard_new(device, seen)["reason"] == "broker kapalıyken"
        wait_for("the order marked sent", lambda: _row(live, waiting).sent_at is not None, 60)
        last = _order(api, live, "all_clear", "son")
        # what the device hears next is the order written after: the one written while the broker was down came once
        assert _heard_new(device, seen)["reason"] == "son"
        assert _row(live, first).sent_at is not None
        wait_for("the last order marked sent", lambda: _row(live, last).sent_at is not None, 60)
    finally:
        running.close()
        device.close()
