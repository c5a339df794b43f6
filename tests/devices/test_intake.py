"""What a device's message does in the queue, on both engines: presses, drills, cancels with the PIN, duress,
wrong PINs, access events, devices that may not send, messages seen twice, and devices that fall silent."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys import jobs
from kgys.alerts.models import Alert, AlertChange
from kgys.audit.mechanism import set_actor
from kgys.db import utcnow
from kgys.devices import intake, payloads
from kgys.devices import scheduled as device_scheduled
from kgys.devices import service as device_service
from kgys.devices.intake import Outcome, Rules
from kgys.devices.kinds import Rejection
from kgys.devices.models import Device, DeviceMessage, DeviceStatus
from kgys.events import bus
from kgys.runtime import Runtime
from tests import factories

RULES = Rules(cancel_window=timedelta(seconds=120), max_wrong_pins=3)
S = timedelta(seconds=1)


class Site:
    """A site with a panic button PB and a door controller DC, and a clock the test moves."""

    def __init__(self, session: Session) -> None:
        factories.tree(session)
        self.session = session
        self.site = factories.site(session)
        self.panic, _ = factories.device(session, self.site.code, serial=f"PB-{uuid.uuid4().hex[:6]}",
                                         room="Oda 12")
        self.door, _ = factories.device(session, self.site.code, serial=f"DC-{uuid.uuid4().hex[:6]}",
                                        kind="access")
        self.now = utcnow()

    def send(self, device: Device | str, channel: str, at_offset: float = 0, **body: Any) -> Outcome:
        serial = device if isinstance(device, str) else device.serial
        body.setdefault("at", (self.now + at_offset * S).isoformat())
        if channel != "heartbeat":
            body.setdefault("msg_id", uuid.uuid4().hex)
        else:
            body.setdefault("firmware", "1.0")
        parsed = payloads.parse(payloads.uplink(serial, channel), json.dumps(body).encode(), now=self.now,
                                max_skew=timedelta(days=1))
        return intake.take_in(self.session, parsed=parsed, rules=RULES, now=self.now)

    def alert(self, outcome: Outcome) -> Alert:
        assert outcome.alert_id is not None, outcome
        found = self.session.get(Alert, outcome.alert_id)
        assert found is not None
        self.session.refresh(found)
        return found

    def steps(self, alert: Alert) -> list[tuple[str, str]]:
        return [(c.move, c.note) for c in self.session.scalars(
            select(AlertChange).where(AlertChange.alert_id == alert.id).order_by(AlertChange.id))]


@pytest.fixture
def w(session: Session) -> Site:
    return Site(session)


def test_a_press_raises_a_p1_panic_alert_with_an_event(w: Site) -> None:
    before = bus.last_seq(w.session)
    out = w.send(w.panic, "press", press_type="intruder")
    alert = w.alert(out)
    assert (alert.source, alert.kind, alert.priority, alert.state, alert.drill) == ("panic", "panic_press", 1, "new",
                                                                                   False)
    assert (alert.site_id, alert.device, alert.dedup_key) == (w.site.id, w.panic.serial, f"panic:{w.panic.serial}")
    assert alert.data["press_type"] == "intruder" and alert.data["room"] == "Oda 12"
    [event] = bus.read_after(w.session, before)
    assert event.payload["alert"]["id"] == alert.id and event.site_id == w.site.id
    status = w.session.get(DeviceStatus, w.panic.id)
    assert status is not None and status.last_seen_at == w.now


def test_a_message_delivered_twice_is_stored_once(w: Site) -> None:
    first = w.send(w.panic, "press", msg_id="same")
    again = w.send(w.panic, "press", msg_id="same")
    assert again.duplicate and again.alert_id == first.alert_id
    assert w.alert(first).repeats == 1
    assert w.session.scalar(select(func.count()).select_from(DeviceMessage)
                            .where(DeviceMessage.device_id == w.panic.id)) == 1
    other = w.send(w.panic, "press", msg_id="next")
    assert other.alert_id == first.alert_id and w.alert(other).repeats == 2  # a second press merges


def test_a_drill_press_and_drill_mode_raise_drill_alerts_apart(w: Site) -> None:
    real = w.alert(w.send(w.panic, "press"))
    flagged = w.alert(w.send(w.panic, "press", drill=True))
    assert flagged.drill and not real.drill and flagged.id != real.id
    set_actor(w.session, factories.admin())
    device_service.set_drill(session=w.session, actor=factories.admin(), serial=w.panic.serial, minutes=30,
                             now=w.now - S)
    by_mode = w.alert(w.send(w.panic, "press"))
    assert by_mode.drill and by_mode.id == flagged.id


def test_a_cancel_with_the_pin_closes_the_press_as_a_false_alarm(w: Site) -> None:
    alert = w.alert(w.send(w.panic, "press"))
    w.now += 60 * S
    out = w.send(w.panic, "cancel", pin="1234", msg_id="c1")
    assert out.refusal is None and out.reply == {"msg_id": "c1", "result": "cancelled"}
    w.session.refresh(alert)
    assert alert.state == "false_alarm" and alert.closed_at == w.now
    assert w.steps(alert)[-1] == ("resolve", intake.CANCELLED_NOTE)


def test_the_duress_pin_looks_like_a_cancel_but_the_alert_stays_open(w: Site) -> None:
    alert = w.alert(w.send(w.panic, "press"))
    before = bus.last_seq(w.session)
    out = w.send(w.panic, "cancel", pin="9999", msg_id="c1")
    assert out.reply == {"msg_id": "c1", "result": "cancelled"}  # exactly what the cancel PIN gets
    w.session.refresh(alert)
    assert (alert.state, alert.priority, alert.data["duress"]) == ("new", 1, True)
    assert w.steps(alert)[-1] == ("escalate", intake.DURESS_NOTE)
    assert [e.payload["move"] for e in bus.read_after(w.session, before)] == ["escalate"]
    # the cancel PIN now changes nothing: still open, still under duress
    assert w.send(w.panic, "cancel", pin="1234").reply["result"] == "cancelled"  # type: ignore[index]
    w.session.refresh(alert)
    assert alert.state == "new" and alert.data["duress"] is True


def test_wrong_pins_are_refused_and_counted_then_cancels_are_ignored(w: Site) -> None:
    alert = w.alert(w.send(w.panic, "press"))
    for _ in range(3):
        out = w.send(w.panic, "cancel", pin="0000")
        assert out.refusal is not None and out.refusal.reason is Rejection.WRONG_PIN
        assert out.reply is not None and out.reply["result"] == "refused"
    locked = w.send(w.panic, "cancel", pin="1234")
    assert locked.refusal is not None and locked.refusal.reason is Rejection.CANCEL_LOCKED
    w.session.refresh(alert)
    assert alert.state == "new"
    # a duress PIN still counts, and looks like what the cancel PIN got
    duress = w.send(w.panic, "cancel", pin="9999")
    assert duress.reply is not None and duress.reply["result"] == "refused" and duress.refusal is None
    w.session.refresh(alert)
    assert alert.data["duress"] is True


def test_a_cancel_after_the_window_is_refused(w: Site) -> None:
    alert = w.alert(w.send(w.panic, "press"))
    w.now += 121 * S
    out = w.send(w.panic, "cancel", pin="1234")
    assert out.refusal is not None and out.refusal.reason is Rejection.CANCEL_LATE
    w.session.refresh(alert)
    assert alert.state == "new"
    nothing = w.send(w.door, "heartbeat")
    assert nothing.refusal is None


def test_a_cancel_with_nothing_open_is_refused(w: Site) -> None:
    out = w.send(w.panic, "cancel", pin="1234")
    assert out.refusal is not None and out.refusal.reason is Rejection.NOTHING_TO_CANCEL


@pytest.mark.parametrize(("event", "priority"), [("forced_door", 2), ("door_held_open", 3),
                                                  ("entry_out_of_hours", 3), ("denied_burst", 3)])
def test_access_events_raise_alerts_of_the_site(w: Site, event: str, priority: int) -> None:
    alert = w.alert(w.send(w.door, "access", event=event, door="Ana kapı", card_count=5))
    assert (alert.source, alert.kind, alert.priority, alert.site_id) == ("access", event, priority, w.site.id)
    assert alert.data["door"] == "Ana kapı"


def test_devices_that_may_not_send_are_refused(w: Site) -> None:
    assert w.send("PB-NOSUCH", "press").refusal.reason is Rejection.UNKNOWN_DEVICE  # type: ignore[union-attr]
    assert w.send(w.door, "press").refusal.reason is Rejection.WRONG_KIND  # type: ignore[union-attr]
    assert w.send(w.panic, "access", event="forced_door", door="D").refusal.reason is Rejection.WRONG_KIND  # type: ignore[union-attr]
    set_actor(w.session, factories.admin())
    device_service.set_enabled(session=w.session, actor=factories.admin(), serial=w.panic.serial, enabled=False)
    assert w.send(w.panic, "press").refusal.reason is Rejection.DISABLED  # type: ignore[union-attr]
    assert w.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_silent_device_gets_an_offline_alert_cleared_when_it_is_heard(w: Site) -> None:
    w.send(w.panic, "heartbeat")  # heartbeat every 60 s: silent after 180 s
    w.send(w.door, "heartbeat")
    assert device_scheduled.watch_devices(w.session, w.now + 180 * S, factor=3.0) == []
    assert device_scheduled.watch_devices(w.session, w.now + 181 * S, factor=3.0) == sorted(
        [w.panic.serial, w.door.serial])
    assert device_scheduled.watch_devices(w.session, w.now + 300 * S, factor=3.0) == []  # raised once
    offline = w.session.scalars(select(Alert).where(Alert.kind == "device_offline").order_by(Alert.id)).all()
    assert [(a.source, a.priority, a.device, a.state) for a in offline] == [
        ("access", 4, w.door.serial, "new"), ("panic", 4, w.panic.serial, "new")]
    w.now += 400 * S
    w.send(w.panic, "heartbeat", battery=40)
    for a in offline:
        w.session.refresh(a)
    assert [a.state for a in offline] == ["new", "resolved"]  # only the device heard from
    status = w.session.get(DeviceStatus, w.panic.id)
    assert status is not None and status.battery == 40


def test_the_jobs_worker_watches_devices_on_its_clock(rt: Runtime, session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    device, _ = factories.device(session, site.code, heartbeat_seconds=30)
    t0 = device.created_at
    scheduler = jobs.build(rt, started=t0)
    first = scheduler.tick(t0 + 90 * S)
    assert first.failed == [] and first.ran["devices.offline_watch"] == []
    assert "devices.offline_watch" not in scheduler.tick(t0 + 100 * S)  # looked at every 30 s
    later = scheduler.tick(t0 + 121 * S)
    assert later.ran["devices.offline_watch"] == [device.serial]
    [alert] = session.scalars(select(Alert).where(Alert.device == device.serial)).all()
    assert (alert.kind, alert.priority, alert.source, alert.site_id) == ("device_offline", 4, "panic", site.id)
