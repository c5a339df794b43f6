"""End to end in Chromium: a school's panic button presses over the real Mosquitto, the intake worker takes it in,
and the press appears on a signed-in operator's console, red and first; the device's cancel with the duress PIN
tells the device "cancelled" while the console's alert stays open at P1."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoServer, sign_in
from tests.devices.conftest import (  # noqa: F401 — the broker fixture
    INTAKE_PASSWORD,
    Broker,
    Live,
    mqtt_broker,
    ready,
    start_intake,
)
from tests.waiting import wait_for

from kgys.config import Settings
from kgys.runtime import make_runtime
from kgys.sites.models import Site

SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared


@pytest.fixture(scope="module")
def gateway(server: DemoServer, mqtt_broker: Broker) -> Iterator[Live]:  # noqa: F811
    """The demo server's database seen by a device gateway: the intake worker running against the tests' broker."""
    b = mqtt_broker
    rt = make_runtime(Settings(mode="demo", data_dir=server.data_dir, devices={
        "broker_port": b.port, "password": INTAKE_PASSWORD, "password_file": b.passwd, "acl_file": b.acl,
        "broker_pid_file": b.pid_file, "client_id": f"kgys-intake-{uuid.uuid4().hex[:6]}"}), create_keys=False)
    with rt.sessions() as s:
        code = s.scalars(select(Site.code).order_by(Site.id)).first()
    assert code is not None
    running = start_intake(rt)
    try:
        yield Live(kind="sqlite", rt=rt, broker=b, site_code=code)
    finally:
        running.close()
        rt.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_a_device_press_reaches_the_console(page: Page, server: DemoServer, gateway: Live) -> None:
    serial = gateway.provision()
    device = gateway.device(serial)
    try:
        ready(gateway, serial, device)
        sign_in(page, server, "operator")
        page.goto("/console")
        expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
        device.send("press", json.dumps({"msg_id": "p-1", "at": _now(), "room": "Müdür odası",
                                         "press_type": "intruder", "firmware": "2.1.0"}).encode())
        [alert] = wait_for("the press to be stored", lambda: gateway.alerts(serial) or None, 60,
                           detail=gateway.broker.tail)
        item = page.locator(f"li.queue-item[data-alert='{alert.id}']")
        expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
        expect(item).to_have_class(re.compile(r"\bprio-1\b"))
        # forced to cancel, the person types the duress PIN: the device is told "cancelled", the alert stays
        device.send("cancel", json.dumps({"msg_id": "c-1", "at": _now(), "pin": "9999"}).encode())
        reply = json.loads(device.replies.get(timeout=60))
        assert reply == {"msg_id": "c-1", "result": "cancelled"}
        expect(item).to_be_visible()
        assert server.scalar("SELECT state FROM alerts WHERE id = ?", alert.id) == "new"
        assert server.scalar("SELECT priority FROM alerts WHERE id = ?", alert.id) == 1
    finally:
        device.close()
