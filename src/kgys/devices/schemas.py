"""Request and response shapes of the devices domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

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
