"""What devices are and what their alerts are about (the stored values; no I/O)."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    """What a device is."""

    PANIC = "panic"      # a school's panic button
    ACCESS = "access"    # a door or turnstile controller


class DeviceAlertKind(StrEnum):
    """What a device's alert is about (the alert's ``kind``)."""

    PANIC_PRESS = "panic_press"
    DEVICE_OFFLINE = "device_offline"
    FORCED_DOOR = "forced_door"
    DOOR_HELD_OPEN = "door_held_open"
    ENTRY_OUT_OF_HOURS = "entry_out_of_hours"
    DENIED_BURST = "denied_burst"


class PressType(StrEnum):
    """What the person pressing reports."""

    PANIC = "panic"
    MEDICAL = "medical"
    FIRE = "fire"
    INTRUDER = "intruder"


class AccessEvent(StrEnum):
    """What a door or turnstile controller reports."""

    FORCED_DOOR = "forced_door"
    DOOR_HELD_OPEN = "door_held_open"
    ENTRY_OUT_OF_HOURS = "entry_out_of_hours"
    DENIED_BURST = "denied_burst"


class Rejection(StrEnum):
    """Why a message from a device (or a unit's tracker) was refused (logged and counted, then acknowledged to the
    broker)."""

    TOPIC = "bad_topic"
    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    INVALID = "invalid_payload"
    UNKNOWN_DEVICE = "unknown_device"
    DISABLED = "disabled_device"
    WRONG_KIND = "wrong_device_kind"
    WRONG_SERIAL = "wrong_serial"
    CLOCK_OFF = "clock_off"
    WRONG_PIN = "wrong_pin"
    CANCEL_LATE = "cancel_too_late"
    CANCEL_LOCKED = "cancel_locked"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    UNKNOWN_UNIT = "unknown_unit"
    NO_TRACKER = "no_tracker"


class CancelOutcome(StrEnum):
    """What a cancel did (the duress outcome is never told to the device: it is answered as ``cancelled``)."""

    CANCELLED = "cancelled"
    DURESS = "duress"
