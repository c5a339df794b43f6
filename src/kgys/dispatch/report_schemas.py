"""Response shapes of the dispatch reports (:mod:`kgys.dispatch.reports`); times in seconds."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FigureOut(BaseModel):
    """One response time of a group: how many reached it, and its p50 and p90 (nearest rank)."""

    count: int
    p50: float | None
    p90: float | None


class ResponseLineOut(BaseModel):
    """One group's response times."""

    key: str
    label: str
    count: int = Field(description="Incidents (per unit kind: assignments) in the group")
    figures: dict[str, FigureOut] = Field(
        description="to_dispatch, to_acknowledge, to_en_route, to_arrive, on_scene, to_close (per unit kind: "
        "to_acknowledge and to_arrive, from the assignment)")


class MissedOut(BaseModel):
    """An incident not dispatched within the target."""

    number: str
    priority: int
    district: str
    reported_at: datetime
    dispatched_at: datetime | None = Field(description="None: still waiting for a unit")
    seconds: float = Field(description="Report to dispatch, or to now while still waiting")


class ResponseReportOut(BaseModel):
    """Response times of the incidents reported in [from, to) that the caller may see."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    from_local: str = Field(description="The period's start in the reader's zone (local_time_zone)")
    to_local: str = Field(description="The period's end in the reader's zone (local_time_zone)")
    local_time_zone: str = Field(description="The reader's zone, with its offset from UTC")
    time_zone: str = Field(description="The time zone of the shifts")
    target_dispatch_seconds: float
    dispatched_within_target: int
    counted: int = Field(description="Incidents the forwarding rule applies to (dispatched, or waiting longer "
                         "than the target)")
    within_target_share: float | None
    missed: list[MissedOut]
    by_district: list[ResponseLineOut]
    by_shift: list[ResponseLineOut]
    by_priority: list[ResponseLineOut]
    by_unit_kind: list[ResponseLineOut]
    total: ResponseLineOut


class UseOut(BaseModel):
    """Time a unit (or the units of a kind) spent in each status in the period."""

    key: str = Field(description="Call sign (per kind: the kind)")
    kind: str
    district: str
    station: str
    units: int
    observed_seconds: float = Field(description="The time of the period the unit's status is known")
    seconds: dict[str, float] = Field(description="Seconds per status")
    shares: dict[str, float | None] = Field(description="Share of the observed time per status")
    assignments: int = Field(description="Assignments made in the period")


class UtilisationOut(BaseModel):
    """Units' utilisation in [from, to) (to now while the period lasts), per unit and per kind."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    from_local: str = Field(description="The period's start in the reader's zone (local_time_zone)")
    to_local: str = Field(description="The period's end in the reader's zone (local_time_zone)")
    local_time_zone: str = Field(description="The reader's zone, with its offset from UTC")
    units: list[UseOut]
    kinds: list[UseOut]
