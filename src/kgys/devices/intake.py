"""What a message from a device does: the intake's decisions, in the caller's transaction (no broker I/O).

:func:`take_in` refuses a message from an unknown or disabled device, or one of the wrong kind; notes that the
device was heard (closing its ``device_offline`` alert); takes each press, cancel and access event in once (a
message the broker delivers again is recognised by its ``msg_id``); and raises or closes alerts:

- a press raises a P1 ``panic_press`` alert (a drill when the device is in drill mode or the press says so),
  repeats within ``press_window`` merging into it;
- a cancel with the cancel PIN within ``cancel_window`` closes the press's alert as a false alarm; with the duress
  PIN the device is told exactly what the cancel PIN would have got, but the alert stays open at P1 and says
  duress; a wrong PIN is refused and counted, and after ``max_wrong_pins`` further cancels are ignored;
- an access event raises an alert of the site: P2 for a forced door, P3 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source, State
from kgys.devices import secrets
from kgys.devices import service as device_service
from kgys.devices.kinds import AccessEvent, CancelOutcome, DeviceAlertKind, DeviceKind, Rejection
from kgys.devices.models import Device, DeviceMessage
from kgys.devices.payloads import Access, Cancel, Heartbeat, Message, Press, Refusal
from kgys.said import _

# the alert's history notes of what a device did (sentences of the server's own, kgys.said)
CANCELLED = _("cancelled at the device")
DURESS = _("duress PIN entered at the device: the device was told the press is cancelled, the alert stays open")
HEARD_AGAIN = _("heard from again")
CANCELLED_NOTE = CANCELLED.english()
DURESS_NOTE = DURESS.english()


@dataclass(frozen=True)
class Rules:
    """The intake's limits (from the ``[devices]`` settings)."""

    cancel_window: timedelta = timedelta(seconds=120)
    max_wrong_pins: int = 3
    press_window: timedelta = timedelta(minutes=10)
    access_window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Outcome:
    """What taking a message in did: the alert it raised or touched, why it was refused, whether it was seen
    before, the reply to send the device (None: none), and what it counts as when not as stored (``counted``)."""

    serial: str | None = None
    alert_id: int | None = None
    refusal: Refusal | None = None
    duplicate: bool = False
    reply: dict[str, str] | None = None
    counted: str = ""


def source_of(device: Device) -> Source:
    """The alert source of a device's alerts."""
    return Source.ACCESS if device.kind == DeviceKind.ACCESS else Source.PANIC


def _refuse(reason: Rejection, detail: str, serial: str) -> Outcome:
    return Outcome(serial=serial, refusal=Refusal(reason, detail, serial))


def _store(session: Session, device: Device, msg: Message, now: datetime, *, alert_id: int | None, outcome: str,
           reply: str = "") -> None:
    session.add(DeviceMessage(device_id=device.id, msg_id=msg.msg_id or "", channel=msg.channel, received_at=now,
                              alert_id=alert_id, outcome=outcome, reply=reply))
    session.flush()


def _reply(msg_id: str, told: str) -> dict[str, str]:
    result, _, reason = told.partition(":")
    return {"msg_id": msg_id, "result": result, **({"reason": reason} if reason else {})}


def _press(session: Session, device: Device, msg: Message, p: Press, rules: Rules, now: datetime) -> Outcome:
    drill = p.drill or (device.drill_until is not None and device.drill_until > now)
    room = p.room or device.room
    alert = raising.raise_alert(session, Alarm(
        source=Source.PANIC, kind=DeviceAlertKind.PANIC_PRESS, priority=Priority.P1,
        details=f"{p.press_type}" + (f" — {room}" if room else ""), site_id=device.site_id, device=device.serial,
        raised_at=p.at, drill=drill, dedup_key=f"{'drill' if drill else 'panic'}:{device.serial}",
        window=rules.press_window, data={"press_type": str(p.press_type), "room": room, "msg_id": p.msg_id,
                                         "firmware": p.firmware or device.firmware}), now=now)
    _store(session, device, msg, now, alert_id=alert.id, outcome="drill" if drill else "raised")
    return Outcome(serial=device.serial, alert_id=alert.id)


def _wrong_pins(session: Session, alert_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(DeviceMessage).where(
        DeviceMessage.alert_id == alert_id, DeviceMessage.outcome == Rejection.WRONG_PIN)) or 0)


def _cancel(session: Session, device: Device, msg: Message, c: Cancel, rules: Rules, now: datetime) -> Outcome:
    serial = device.serial
    alert: Alert | None = (raising.open_alert(session, f"panic:{serial}")
                           or raising.open_alert(session, f"drill:{serial}"))
    if alert is None:
        _store(session, device, msg, now, alert_id=None, outcome=Rejection.NOTHING_TO_CANCEL,
               reply=f"refused:{Rejection.NOTHING_TO_CANCEL}")
        return Outcome(serial=serial, refusal=Refusal(Rejection.NOTHING_TO_CANCEL, "no open press", serial),
                       reply=_reply(c.msg_id, f"refused:{Rejection.NOTHING_TO_CANCEL}"))
    # both PINs are always checked, so that the answer takes as long for the duress PIN as for the cancel PIN
    duress = secrets.check_secret(c.pin, device.duress_pin_hash)
    right = secrets.check_secret(c.pin, device.cancel_pin_hash) and not duress
    # what the cancel PIN would get: the device is told exactly this after a duress PIN too
    refusal: Rejection | None = None
    if alert.data.get("duress"):
        refusal = None  # already under duress: every cancel "works" and nothing changes
    elif _wrong_pins(session, alert.id) >= rules.max_wrong_pins:
        refusal = Rejection.CANCEL_LOCKED
    elif now - alert.received_at > rules.cancel_window:
        refusal = Rejection.CANCEL_LATE
    told = "cancelled" if refusal is None else f"refused:{refusal}"
    if duress:
        if not alert.data.get("duress"):
            raising.escalate(session, alert, by=f"panic:{serial}", note=DURESS_NOTE, priority=Priority.P1,
                             data={"duress": True, "duress_at": now.isoformat(), "duress_msg_id": c.msg_id}, now=now)
        _store(session, device, msg, now, alert_id=alert.id, outcome=CancelOutcome.DURESS, reply=told)
        return Outcome(serial=serial, alert_id=alert.id, reply=_reply(c.msg_id, told))
    if not right:
        refusal = refusal or Rejection.WRONG_PIN  # counted only while cancels are still heard
    if refusal is not None:
        told = f"refused:{refusal}"
        _store(session, device, msg, now, alert_id=alert.id, outcome=refusal, reply=told)
        return Outcome(serial=serial, alert_id=alert.id, refusal=Refusal(refusal, "cancel refused", serial),
                       reply=_reply(c.msg_id, told))
    if not alert.data.get("duress"):
        raising.close_by_sender(session, alert, State.FALSE_ALARM, by=f"panic:{serial}", note=CANCELLED_NOTE,
                                now=now)
    _store(session, device, msg, now, alert_id=alert.id, outcome=CancelOutcome.CANCELLED, reply=told)
    return Outcome(serial=serial, alert_id=alert.id, reply=_reply(c.msg_id, told))


def _access(session: Session, device: Device, msg: Message, a: Access, rules: Rules, now: datetime) -> Outcome:
    priority = Priority.P2 if a.event is AccessEvent.FORCED_DOOR else Priority.P3
    details = a.door + (f" ({a.card_count})" if a.card_count is not None else "")
    alert = raising.raise_alert(session, Alarm(
        source=Source.ACCESS, kind=DeviceAlertKind(a.event.value), priority=priority, details=details,
        site_id=device.site_id, device=device.serial, raised_at=a.at, window=rules.access_window,
        dedup_key=f"access:{device.serial}:{a.event}:{a.door}",
        data={"door": a.door, "event": str(a.event), "card_count": a.card_count, "msg_id": a.msg_id}), now=now)
    _store(session, device, msg, now, alert_id=alert.id, outcome="raised")
    return Outcome(serial=device.serial, alert_id=alert.id)


_KIND_OF_CHANNEL = {"press": DeviceKind.PANIC, "cancel": DeviceKind.PANIC, "access": DeviceKind.ACCESS}


def take_in(session: Session, *, parsed: Message | Refusal, rules: Rules, now: datetime) -> Outcome:
    """Take one parsed message in (see the module); flushed, not committed."""
    if isinstance(parsed, Refusal):
        return Outcome(serial=parsed.serial, refusal=parsed)
    serial = parsed.serial
    device = device_service.by_serial(session=session, serial=serial)
    if device is None:
        return _refuse(Rejection.UNKNOWN_DEVICE, f"no device {serial!r} is registered", serial)
    if not device.enabled:
        return _refuse(Rejection.DISABLED, f"device {serial!r} is disabled", serial)
    wanted = _KIND_OF_CHANNEL.get(parsed.channel)
    if wanted is not None and device.kind != wanted:
        return _refuse(Rejection.WRONG_KIND, f"a {device.kind} device sends no {parsed.channel}", serial)
    p = parsed.payload
    if isinstance(p, Heartbeat):
        device_service.heard(session=session, device=device, now=now, firmware=p.firmware, battery=p.battery)
    else:
        device_service.heard(session=session, device=device, now=now)
    raising.clear(session, kinds=[DeviceAlertKind.DEVICE_OFFLINE], device=serial, source=source_of(device),
                  note=HEARD_AGAIN.english(), now=now)
    if isinstance(p, Heartbeat):
        return Outcome(serial=serial)
    seen = session.scalar(select(DeviceMessage).where(DeviceMessage.device_id == device.id,
                                                      DeviceMessage.msg_id == parsed.msg_id))
    if seen is not None:
        return Outcome(serial=serial, alert_id=seen.alert_id, duplicate=True,
                       reply=_reply(seen.msg_id, seen.reply) if seen.reply else None)
    if isinstance(p, Press):
        return _press(session, device, parsed, p, rules, now)
    if isinstance(p, Cancel):
        return _cancel(session, device, parsed, p, rules, now)
    return _access(session, device, parsed, p, rules, now)
