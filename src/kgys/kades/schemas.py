"""Request and response shapes of the KADES API: orders and phones (staff), presses and positions (the app)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kgys.validation import SafeText


class OrderIn(BaseModel):
    """A protection order to register."""

    model_config = ConfigDict(extra="forbid")

    number: SafeText = Field(min_length=1, max_length=64, description="The order's number, e.g. 2026/1234")
    court: SafeText = Field(min_length=1, max_length=200)
    valid_from: date
    valid_until: date
    person_name: SafeText = Field(min_length=1, max_length=160, description="The protected person")
    person_phone: str = Field(min_length=5, max_length=40, pattern=r"^\+?[0-9 ()-]+$")
    aggressor: SafeText = Field(default="", max_length=4000, description="Who the order protects from (strict access)")
    district: SafeText = Field(min_length=1, max_length=32, description="Jurisdiction code of the answering district")

    @model_validator(mode="after")
    def _period(self) -> OrderIn:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class OrderOut(BaseModel):
    """An order as listed (without the description of the person it protects from)."""

    id: int
    number: str
    court: str
    valid_from: date
    valid_until: date
    person_name: str
    person_phone: str
    district: str
    phones: int
    in_force: bool


class OrderDetailOut(OrderOut):
    """An order with the description of the person it protects from (read with a reason, audited)."""

    aggressor: str


class PhoneIn(BaseModel):
    """A phone to register against an order."""

    model_config = ConfigDict(extra="forbid")

    label: SafeText = Field(default="", max_length=80)


class PhoneOut(BaseModel):
    """A registered phone; ``token`` is shown once, when it is registered: the app sends it as
    ``Authorization: Device <token>``."""

    id: int
    order_id: int
    label: str
    enabled: bool
    token: str | None = None


class PressIn(BaseModel):
    """A press in the app, or a position update while its alert is open."""

    model_config = ConfigDict(extra="forbid")

    msg_id: SafeText = Field(min_length=1, max_length=64, description="The app's own id of this message")
    at: datetime = Field(description="The phone's clock, with offset")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    battery: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _both(self) -> PressIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give latitude and longitude together")
        return self


class Received(BaseModel):
    """What the app is told: that the message arrived, and nothing else."""

    received: bool = True
