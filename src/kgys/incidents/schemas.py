"""Request and response shapes of the incident API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kgys.incidents.states import Category, Outcome
from kgys.validation import SafeChars

Capability = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), SafeChars]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), SafeChars]
AlertId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class IncidentIn(BaseModel):
    """An incident made of one or several open alerts. The place is the first alert's with a position unless
    given; the priority is the most urgent alert's unless given."""

    model_config = ConfigDict(extra="forbid")

    alerts: list[AlertId] = Field(min_length=1, max_length=50, description="Ids of open alerts within your scope")
    category: Category
    priority: int | None = Field(default=None, ge=1, le=4, description="1 = a life in danger … 4")
    details: Text = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    capabilities: list[Capability] = Field(default_factory=list, max_length=20,
                                    description="What a unit must be able to do to go (e.g. domestic_violence)")

    @model_validator(mode="after")
    def _both(self) -> IncidentIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give latitude and longitude together")
        if len(set(self.alerts)) != len(self.alerts):
            raise ValueError("an alert is listed twice")
        return self


class CloseIn(BaseModel):
    """Closing an incident: how it ended; ``version`` as seen (refused if it changed)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: Note = ""
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class EntryOut(BaseModel):
    """One line of an incident's timeline."""

    at: datetime
    by: str
    kind: str
    text: str
    data: dict[str, Any]


class ResponseTimes(BaseModel):
    """Seconds of the response: from report to first unit dispatched, dispatch to acknowledgement, report to
    first arrival, report to the last unit clear (None until it happened)."""

    to_dispatch: float | None
    to_acknowledge: float | None
    to_arrive: float | None
    to_clear: float | None


class IncidentOut(BaseModel):
    """An incident."""

    number: str
    category: str
    priority: int
    state: str
    details: str
    latitude: float
    longitude: float
    accuracy_m: float | None
    site: str | None
    district: str = Field(description="Code of the district the incident belongs to")
    capabilities: list[str]
    alerts: list[int]
    created_at: datetime
    created_by: str
    reported_at: datetime
    dispatched_at: datetime | None
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    cleared_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    response: ResponseTimes
    version: int


class IncidentDetailOut(IncidentOut):
    """An incident with its timeline, oldest first."""

    timeline: list[EntryOut]
