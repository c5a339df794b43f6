"""The topic scheme and the payloads devices send: what is taken, and what is refused with which reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kgys.devices import payloads
from kgys.devices.kinds import AccessEvent, PressType, Rejection
from kgys.devices.payloads import Access, Cancel, Heartbeat, Message, Press, Refusal

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
AT = NOW.isoformat()
T = "kgys/v1/devices/PB-0001/"


def _parse(topic: str, body: object) -> Message | Refusal:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return payloads.parse(topic, raw, now=NOW, max_skew=DAY)


@pytest.mark.parametrize(("channel", "body", "kind"), [
    ("press", {"msg_id": "m1", "at": AT}, Press),
    ("press", {"msg_id": "m1", "at": AT, "room": "Oda 12", "press_type": "fire", "firmware": "1.2", "drill": True,
               "serial": "PB-0001"}, Press),
    ("heartbeat", {"at": AT, "firmware": "1.2", "battery": 80}, Heartbeat),
    ("cancel", {"msg_id": "c1", "at": AT, "pin": "1234"}, Cancel),
    ("access", {"msg_id": "a1", "at": AT, "event": "denied_burst", "door": "Ana kapı", "card_count": 7}, Access),
])
def test_well_formed_messages_are_taken(channel: str, body: dict[str, object], kind: type) -> None:
    got = _parse(T + channel, body)
    assert isinstance(got, Message) and isinstance(got.payload, kind)
    assert (got.serial, got.channel) == ("PB-0001", channel)


def test_fields_are_read_as_their_types() -> None:
    got = _parse(T + "press", {"msg_id": "m1", "at": "2026-03-02T12:00:00+03:00", "press_type": "intruder"})
    assert isinstance(got, Message) and isinstance(got.payload, Press)
    assert got.payload.at == NOW and got.payload.press_type is PressType.INTRUDER and got.msg_id == "m1"
    acc = _parse(T + "access", {"msg_id": "a", "at": AT, "event": "forced_door", "door": "D1"})
    assert isinstance(acc, Message) and isinstance(acc.payload, Access)
    assert acc.payload.event is AccessEvent.FORCED_DOOR


@pytest.mark.parametrize(("topic", "body", "reason"), [
    ("kgys/v1/devices/PB-0001/reply", {"at": AT}, Rejection.TOPIC),
    ("kgys/v1/devices/PB-0001/press/extra", {"at": AT}, Rejection.TOPIC),
    ("kgys/v1/devices/../press", {"at": AT}, Rejection.TOPIC),
    ("other/v1/devices/PB-0001/press", {"at": AT}, Rejection.TOPIC),
    (T + "press", b"{not json", Rejection.MALFORMED),
    (T + "press", b"\xff\xfe", Rejection.MALFORMED),
    (T + "press", [1, 2], Rejection.MALFORMED),
    (T + "press", b"{" + b" " * 5000 + b"}", Rejection.OVERSIZED),
    (T + "press", {"at": AT}, Rejection.INVALID),                                    # no msg_id
    (T + "press", {"msg_id": "m", "at": AT, "colour": "red"}, Rejection.INVALID),     # unknown field
    (T + "press", {"msg_id": "m", "at": AT, "press_type": "bored"}, Rejection.INVALID),
    (T + "press", {"msg_id": "m", "at": "2026-03-02T09:00:00"}, Rejection.INVALID),  # no offset
    (T + "press", {"msg_id": "m" * 65, "at": AT}, Rejection.INVALID),
    (T + "press", {"msg_id": "m", "at": AT, "drill": "maybe"}, Rejection.INVALID),
    (T + "heartbeat", {"at": AT, "firmware": "1", "battery": 101}, Rejection.INVALID),
    (T + "cancel", {"msg_id": "c", "at": AT, "pin": "12a4"}, Rejection.INVALID),
    (T + "access", {"msg_id": "a", "at": AT, "event": "opened", "door": "D1"}, Rejection.INVALID),
    (T + "press", {"msg_id": "m", "at": AT, "serial": "PB-0002"}, Rejection.WRONG_SERIAL),
    (T + "press", {"msg_id": "m", "at": (NOW + DAY + timedelta(seconds=1)).isoformat()}, Rejection.CLOCK_OFF),
    (T + "press", {"msg_id": "m", "at": (NOW - 2 * DAY).isoformat()}, Rejection.CLOCK_OFF),
])
def test_bad_messages_are_refused_with_a_reason(topic: str, body: object, reason: Rejection) -> None:
    got = _parse(topic, body)
    assert isinstance(got, Refusal), got
    assert got.reason is reason and got.detail


def test_a_refusal_names_the_device_of_its_topic() -> None:
    got = _parse(T + "press", b"nonsense")
    assert isinstance(got, Refusal) and got.serial == "PB-0001"
