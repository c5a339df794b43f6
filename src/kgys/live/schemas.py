"""Request and response shapes of the live and playback API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kgys.validation import SafeText


class LiveOpen(BaseModel):
    """Opening a camera's live stream."""

    model_config = ConfigDict(extra="forbid")

    reason: SafeText | None = Field(default=None, max_length=500, description="Why the camera is watched (optional).")


class PlaybackOpen(BaseModel):
    """Opening a recorded range for playback; the reason is required."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime = Field(alias="from", description="Start of the range (ISO 8601; UTC when no offset).")
    end: datetime = Field(alias="to", description="End of the range.")
    reason: SafeText = Field(max_length=500, description="Why the footage is opened; written to the audit log.")


class StreamOut(BaseModel):
    """A stream the caller may now play: its playlist URL carries the viewing ticket."""

    playlist: str
    expires: datetime


class Interval(BaseModel):
    """A stretch of time."""

    start: datetime
    end: datetime


class GapOut(BaseModel):
    """A stretch without recording and why."""

    start: datetime
    end: datetime | None
    cause: str
    detail: str


class TimelineOut(BaseModel):
    """A camera's coverage and gaps over a range."""

    camera_id: int
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    coverage: float
    recorded_seconds: float
    segments: int
    recorded: list[Interval]
    gaps: list[GapOut]
