"""Request and response shapes of the units API, recommendations and assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kgys.dispatch.states import UnitKind, UnitStatus
from kgys.validation import SafeChars, SafeText

CallSign = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Capability = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Station = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), SafeChars]
Members = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), SafeChars]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), SafeChars]


class UnitIn(BaseModel):
    """A unit to register in a district within your scope."""

    model_config = ConfigDict(extra="forbid")

    call_sign: CallSign = Field(description="The unit's radio call sign, unique, e.g. 99-A-01")
    kind: UnitKind
    district: SafeText = Field(min_length=1, max_length=32, description="Jurisdiction code of the district it serves")
    station: Station = ""
    capabilities: list[Capability] = Field(default_factory=list, max_length=20)
    members: Members = ""
    field_user: SafeText | None = Field(default=None, max_length=64,
                                   description="Username of the field login (role field_unit) speaking for it")


class UnitPatch(BaseModel):
    """Changes to a unit; ``version`` is the one you saw (refused with 409 if it changed)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2_147_483_647)
    kind: UnitKind | None = None
    station: Station | None = None
    capabilities: list[Capability] | None = Field(default=None, max_length=20)
    members: Members | None = None
    field_user: SafeText | None = Field(default=None, max_length=64, description="Empty string: no field login")


class PositionOut(BaseModel):
    """A unit's last position."""

    latitude: float
    longitude: float
    accuracy_m: float | None
    reported_at: datetime = Field(description="The device's clock")
    received_at: datetime
    stale: bool = Field(description="Older than dispatch.stale_after_seconds: not trusted for ranking")


class UnitOut(BaseModel):
    """A unit."""

    call_sign: str
    kind: str
    district: str
    station: str
    capabilities: list[str]
    members: str
    status: str
    status_since: datetime
    field_user: str | None
    position: PositionOut | None
    version: int


class StatusIn(BaseModel):
    """A status set by hand: available, busy or off duty (en route and on scene follow an assignment)."""

    model_config = ConfigDict(extra="forbid")

    status: UnitStatus
    note: Note = ""
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class PositionIn(BaseModel):
    """A position report of a unit (its device's fix)."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    reported_at: datetime = Field(description="The device's clock, with offset")


class StatusChangeOut(BaseModel):
    """One step of a unit's status history."""

    at: datetime
    from_status: str | None
    to_status: str
    by: str
    note: str
    assignment_id: int | None


class RankedOut(BaseModel):
    """One unit in a recommendation: its rank and estimate, or why it is left out."""

    call_sign: str
    kind: str
    rank: int | None = Field(description="1 = the quickest there; none when left out")
    eta_seconds: float | None
    distance_m: float | None
    speed_kmh: float | None
    excluded: str | None = Field(description="not_available, missing_capability, no_position, stale, no_route")
    reasons: list[str]
    position_age_seconds: float | None


class RecommendationOut(BaseModel):
    """The units of your scope for an incident, quickest first, then those left out and why."""

    incident: str
    model: str = Field(description="The travel-time model: straight_line, or road")
    required: list[str]
    units: list[RankedOut]


class AssignIn(BaseModel):
    """Send a unit; ``unit_version`` as seen in the recommendation (409 if the unit changed since)."""

    model_config = ConfigDict(extra="forbid")

    unit: CallSign
    unit_version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    note: Note = ""


class AssignmentMoveIn(BaseModel):
    """A step of an assignment; ``version`` as seen (409 if it changed)."""

    model_config = ConfigDict(extra="forbid")

    note: Note = ""
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class AssignmentOut(BaseModel):
    """A unit sent to an incident, and each step of its way."""

    id: int
    incident: str
    unit: str
    state: str
    assigned_at: datetime
    assigned_by: str
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    ended_at: datetime | None
    escalated_at: datetime | None
    note: str
    version: int


class TrackerOut(BaseModel):
    """A unit's tracker login on the MQTT broker, and the topics it uses."""

    call_sign: str
    username: str
    enabled: bool
    issued_at: datetime
    issued_by: str
    position_topic: str = Field(description="Where the tracker publishes the unit's positions (QoS 1)")
    assignment_topic: str = Field(description="Where the tracker hears the unit's assignments (QoS 1)")


class TrackerIssued(TrackerOut):
    """A tracker login just issued, with its password: shown this once."""

    password: str
