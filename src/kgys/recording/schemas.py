"""Request and response shapes of the recording API: legal holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kgys.validation import SafeChars, SafeText

SiteCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), SafeChars]
CameraName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SafeChars]
HoldState = Literal["active", "released", "expired"]


class HoldIn(BaseModel):
    """Placing a legal hold on one camera's footage over a time range."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    site: SiteCode | None = Field(default=None, description="Institution code of the site (with `camera`).")
    camera: CameraName | None = Field(default=None, description="Name of the camera at the site.")
    camera_id: int | None = Field(default=None, ge=1, le=2_147_483_647,
                                  description="The camera's number, instead of `site` and `camera`.")
    start: datetime = Field(alias="from", description="Start of the range, ISO 8601 with an offset.")
    end: datetime = Field(alias="to", description="End of the range, ISO 8601 with an offset.")
    reason: SafeText = Field(description="Why the footage is kept (the investigation); written to the audit log.")
    legal_basis: SafeText = Field(description="The order, decision or file number the hold rests on.")
    until: datetime | None = Field(default=None, description="When the hold lapses; empty: until released.")


class ReleaseIn(BaseModel):
    """Releasing a legal hold; the reason is required."""

    model_config = ConfigDict(extra="forbid")

    reason: SafeText = Field(description="Why the footage need no longer be kept; written to the audit log.")


class HoldOut(BaseModel):
    """A legal hold, with its site and camera and whether it is in force now."""

    id: int
    site: str
    site_name: str
    camera_id: int
    camera: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    reason: str
    legal_basis: str
    created_by: str
    created_at: datetime
    until: datetime | None
    released_at: datetime | None
    released_by: str | None
    state: HoldState
