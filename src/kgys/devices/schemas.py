"""Request and response shapes of the devices domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kgys.devices.kinds import DeviceKind
from kgys.devices.payloads import SERIAL_PATTERN
from kgys.validation import Code, SafeChars

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class DeviceIn(BaseModel):
    """A device to provision at a site; a panic button needs a cancel PIN and a different duress PIN."""

    model_config = ConfigDict(extra="forbid")

    site: Code
    serial: Annotated[str, StringConstraints(pattern=f"^{SERIAL_PATTERN}$")]
    kind: DeviceKind = DeviceKind.PANIC
    room: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), SafeChars] = ""
    firmware: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), SafeChars] = ""
    heartbeat_seconds: int = Field(default=60, ge=10, le=86400)
    cancel_pin: Pin | None = None
    duress_pin: Pin | None = None

    @model_validator(mode="after")
    def _pins(self) -> DeviceIn:
        if self.kind is DeviceKind.PANIC:
            if self.cancel_pin is None or self.duress_pin is None:
                raise ValueError("a panic button needs a cancel_pin and a duress_pin")
            if self.cancel_pin == self.duress_pin:
                raise ValueError("the duress PIN must differ from the cancel PIN")
        return self


class DeviceOut(BaseModel):
    """A device as the registry holds it (never its PINs or password)."""

    serial: str
    kind: str
    site: str
    room: str
    firmware: str
    enabled: bool
    heartbeat_seconds: int
    drill_until: datetime | None
    last_seen_at: datetime | None
    battery: int | None
    mqtt_username: str


class Provisioned(DeviceOut):
    """A device just provisioned, with its broker password: shown this once, kept nowhere in clear."""

    mqtt_password: str


class LockdownIn(BaseModel):
    """An operator's lockdown order (or its end) for a site's devices, with the reason; ``alert_id`` names the alert
    it answers (the order is noted in its history)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["lockdown", "all_clear"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SafeChars]
    alert_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class LockdownOut(BaseModel):
    """A lockdown order of the outbox: who decided it and when, and when the broker took it (null: not yet)."""

    id: int
    site: str
    action: str
    reason: str
    alert_id: int | None
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    attempts: int


class LockdownStateOut(BaseModel):
    """A site's lockdown state: ``locked`` when its latest order is a lockdown; the latest orders, newest first."""

    site: str
    locked: bool
    current: LockdownOut | None
    orders: list[LockdownOut]
