"""The position a unit's tracker publishes on ``kgys/v1/units/{call sign}/position``, validated strictly (no I/O).

A payload is one JSON object of at most :data:`~kgys.devices.payloads.MAX_BYTES` bytes with exactly these
fields: ``lat`` and ``lon`` (degrees, inside Türkiye), ``accuracy_m`` (0–100,000), ``at`` (the tracker's clock,
ISO 8601 with its offset, neither further in the future than the allowed skew nor older than the allowed age),
and optionally ``speed_kmh`` (0–400) and ``heading`` (0–360 degrees). Numbers must be JSON numbers and the time a
JSON string. :func:`parse` gives a :class:`Position` or a :class:`~kgys.devices.payloads.Refusal` naming the
field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from kgys import geo
from kgys.devices import payloads
from kgys.devices.kinds import Rejection
from kgys.devices.payloads import Refusal


class Fix(BaseModel):
    """A tracker's fix, as it sends it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)]
    at: AwareDatetime
    speed_kmh: Annotated[float, Field(ge=0, le=400)] | None = None
    heading: Annotated[float, Field(ge=0, le=360)] | None = None


@dataclass(frozen=True)
class Position:
    """A well-formed position of the unit ``call_sign``."""

    call_sign: str
    fix: Fix


def parse(topic: str, body: bytes, *, now: datetime, skew: timedelta, max_age: timedelta) -> Position | Refusal:
    """The position in ``body`` sent on ``topic``, or why it is refused."""
    call_sign = payloads.parse_unit_topic(topic)
    if call_sign is None:
        return Refusal(Rejection.TOPIC, f"not a unit position topic: {topic[:120]!r}")
    raw = payloads.json_object(body, call_sign)
    if isinstance(raw, Refusal):
        return raw
    try:
        fix = Fix.model_validate_json(body)
    except ValidationError as exc:
        return Refusal(Rejection.INVALID, payloads.first_error(exc), call_sign)
    if not geo.in_turkey(fix.lat, fix.lon):
        lat_ok = geo.LATITUDES[0] <= fix.lat <= geo.LATITUDES[1]
        return Refusal(Rejection.INVALID, f"{'lon' if lat_ok else 'lat'}: outside Türkiye", call_sign)
    if fix.at - now > skew:
        return Refusal(Rejection.CLOCK_OFF, f"at: {fix.at.isoformat()} is in the future (more than {skew})",
                       call_sign)
    if now - fix.at > max_age:
        return Refusal(Rejection.CLOCK_OFF, f"at: {fix.at.isoformat()} is older than {max_age}", call_sign)
    return Position(call_sign, fix)
