"""The MQTT topic scheme and the JSON payloads devices send, validated strictly (no I/O).

Uplink, one topic per device and message type: ``kgys/v1/devices/{serial}/{press|heartbeat|cancel|access}``;
downlink per site: ``kgys/v1/sites/{code}/lockdown``; the answer to a cancel: ``kgys/v1/devices/{serial}/reply``.
A unit's tracker publishes on ``kgys/v1/units/{call sign}/position`` and hears ``kgys/v1/units/{call sign}/assignment``
(its payloads: :mod:`kgys.devices.positions`).
A payload is a JSON object of at most :data:`MAX_BYTES` bytes with exactly the fields of its type; one that names
a serial names the device of its topic. :func:`parse` turns a topic and its bytes into a :class:`Message` or a
:class:`Refusal` with its reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from kgys.devices.kinds import AccessEvent, PressType, Rejection

PREFIX = "kgys/v1"
MAX_BYTES = 2048
SERIAL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{2,39}"
_SERIAL = re.compile(SERIAL_PATTERN)
UPLINK = f"{PREFIX}/devices/+/+"
CALL_SIGN_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}"
_CALL_SIGN = re.compile(CALL_SIGN_PATTERN)

Serial = Annotated[str, StringConstraints(pattern=f"^{SERIAL_PATTERN}$")]
MsgId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Short = Annotated[str, StringConstraints(max_length=64)]


def uplink(serial: str, channel: str) -> str:
    """The topic a device publishes ``channel`` messages on."""
    return f"{PREFIX}/devices/{serial}/{channel}"


def reply_topic(serial: str) -> str:
    """The topic a device hears the answer to its cancel on."""
    return f"{PREFIX}/devices/{serial}/reply"


def lockdown_topic(site_code: str) -> str:
    """The topic a site's devices hear a lockdown on."""
    return f"{PREFIX}/sites/{site_code}/lockdown"


def unit_position_topic(call_sign: str) -> str:
    """The topic a unit's tracker publishes its positions on (``+``: every unit's)."""
    return f"{PREFIX}/units/{call_sign}/position"


def unit_assignment_topic(call_sign: str) -> str:
    """The topic a unit's tracker hears its assignments on (``+``: every unit's)."""
    return f"{PREFIX}/units/{call_sign}/assignment"


def parse_unit_topic(topic: str) -> str | None:
    """The call sign of a unit position topic, None for any other topic."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{PREFIX}/units" or parts[4] != "position":
        return None
    return parts[3] if _CALL_SIGN.fullmatch(parts[3]) else None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    serial: Serial | None = Field(default=None, description="The sender; if given, the device of the topic.")
    at: AwareDatetime = Field(description="The device's clock when it sent this, with its offset.")


class Press(_Payload):
    """A panic button was pressed."""

    msg_id: MsgId
    room: Short | None = None
    press_type: PressType = PressType.PANIC
    firmware: Short | None = None
    drill: bool = False


class Heartbeat(_Payload):
    """The device is alive."""

    firmware: Short
    battery: Annotated[int, Field(ge=0, le=100)] | None = None


class Cancel(_Payload):
    """Someone at the device cancels its press with a PIN."""

    msg_id: MsgId
    pin: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class Access(_Payload):
    """A door or turnstile controller reports an event."""

    msg_id: MsgId
    event: AccessEvent
    door: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    card_count: Annotated[int, Field(ge=0, le=100_000)] | None = None


Channel = Literal["press", "heartbeat", "cancel", "access"]
MODELS: dict[str, type[_Payload]] = {"press": Press, "heartbeat": Heartbeat, "cancel": Cancel, "access": Access}
Payload = Press | Heartbeat | Cancel | Access


@dataclass(frozen=True)
class Message:
    """A well-formed message from the device ``serial``."""

    serial: str
    channel: str
    payload: Payload

    @property
    def msg_id(self) -> str | None:
        """The device's id of this message (heartbeats have none)."""
        return getattr(self.payload, "msg_id", None)


@dataclass(frozen=True)
class Refusal:
    """A message refused, with why (``serial`` when the topic named one)."""

    reason: Rejection
    detail: str
    serial: str | None = None


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(serial, channel) of an uplink topic, None for any other."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{PREFIX}/devices":
        return None
    serial, channel = parts[3], parts[4]
    if not _SERIAL.fullmatch(serial) or channel not in MODELS:
        return None
    return serial, channel


def first_error(exc: ValidationError) -> str:
    """The first problem of a refused payload, naming its field: ``lat: Input should be …``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    return f"{where}: {err['msg']}"


def json_object(body: bytes, who: str | None) -> dict[str, Any] | Refusal:
    """The JSON object ``body`` holds (at most :data:`MAX_BYTES`, UTF-8), or why it is refused; ``who`` is the
    serial or call sign the refusal is about."""
    if len(body) > MAX_BYTES:
        return Refusal(Rejection.OVERSIZED, f"{len(body)} bytes, at most {MAX_BYTES}", who)
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Refusal(Rejection.MALFORMED, f"not JSON: {str(exc)[:120]}", who)
    if not isinstance(raw, dict):
        return Refusal(Rejection.MALFORMED, "not a JSON object", who)
    return raw


def parse(topic: str, body: bytes, *, now: datetime, max_skew: timedelta) -> Message | Refusal:
    """The message in ``body`` sent on ``topic``, or why it is refused."""
    found = parse_topic(topic)
    if found is None:
        return Refusal(Rejection.TOPIC, f"not a device uplink topic: {topic[:120]!r}")
    serial, channel = found
    raw = json_object(body, serial)
    if isinstance(raw, Refusal):
        return raw
    try:
        payload = MODELS[channel].model_validate(raw)
    except ValidationError as exc:
        return Refusal(Rejection.INVALID, first_error(exc), serial)
    if payload.serial is not None and payload.serial != serial:
        return Refusal(Rejection.WRONG_SERIAL, f"payload names {payload.serial!r}, the topic {serial!r}", serial)
    if abs(payload.at - now) > max_skew:
        return Refusal(Rejection.CLOCK_OFF, f"device clock {payload.at.isoformat()} is more than {max_skew} off",
                       serial)
    return Message(serial, channel, payload)  # type: ignore[arg-type]
