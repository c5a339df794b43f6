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


class TileIn(BaseModel):
    """A tile of a wall layout: a rectangle of cells (counted from 0) and the camera it shows."""

    model_config = ConfigDict(extra="forbid")

    row: int = Field(ge=0, le=5, description="First row of the tile (0 = top).")
    col: int = Field(ge=0, le=5, description="First column of the tile (0 = left).")
    rows: int = Field(default=1, ge=1, le=6, description="Rows the tile spans.")
    cols: int = Field(default=1, ge=1, le=6, description="Columns the tile spans.")
    camera_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="The camera shown (none: empty).")


class LayoutIn(BaseModel):
    """A video wall layout to save."""

    model_config = ConfigDict(extra="forbid")

    name: SafeText = Field(min_length=1, max_length=80, description="What the layout is called.")
    rows: int = Field(ge=1, le=6, description="Rows of the grid (1–6).")
    cols: int = Field(ge=1, le=6, description="Columns of the grid (1–6).")
    tiles: list[TileIn] = Field(default_factory=list, max_length=36, description="The tiles, within the grid.")
    shared_role: SafeText | None = Field(default=None, max_length=32,
                                    description="A role every user of which also sees the layout (none: only you).")


class LayoutUpdate(LayoutIn):
    """A change to a saved layout, read at ``version``."""

    version: int = Field(ge=1, description="The version the change was made on; 409 when it moved on.")


class TileOut(BaseModel):
    """A tile as the viewer sees it: ``available`` false when its camera is not one they may watch."""

    row: int
    col: int
    rows: int
    cols: int
    camera_id: int | None
    available: bool


class LayoutOut(BaseModel):
    """A saved layout."""

    id: int
    name: str
    mine: bool
    shared_role: str | None
    rows: int
    cols: int
    tiles: list[TileOut]
    version: int
    created_at: datetime
    updated_at: datetime


class CameraStatusOut(BaseModel):
    """A camera's state on the wall: recording, offline (with the recorder's reason), unconnected, disabled or
    unknown."""

    camera_id: int
    name: str
    site_code: str
    state: str
    reason: str
    codec: str


class BookmarkIn(BaseModel):
    """A bookmark to place on a camera's recording: a moment, or a stretch when ``to`` is given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    camera_id: int = Field(ge=1, le=2_147_483_647, description="The camera whose recording is marked.")
    at: datetime = Field(description="The moment marked, or the start of the stretch (ISO 8601 with offset or Z).")
    end: datetime | None = Field(default=None, alias="to", description="The end of the stretch (optional).")
    note: SafeText = Field(default="", max_length=500, description="What is there to see.")


class BookmarkOut(BaseModel):
    """A bookmark on a recording."""

    id: int
    camera_id: int
    at: datetime
    end: datetime | None = Field(serialization_alias="to")
    note: str
    created_by: int | None
    created_at: datetime
    mine: bool


class SnapshotIn(BaseModel):
    """Taking the recorded frame of a camera at a moment; the reason is written to the audit log."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(description="The moment (ISO 8601 with offset or Z).")
    reason: SafeText = Field(max_length=500, description="Why the picture is taken: the playback's reason.")
