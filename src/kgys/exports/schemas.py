"""Request and response shapes of footage exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from kgys.validation import SafeText

CameraRef = Annotated[int, Field(ge=1, le=2_147_483_647)]


class ExportIn(BaseModel):
    """Asking for an export: up to 16 cameras over one range, with one reason."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cameras: list[CameraRef] = Field(min_length=1, max_length=16, description="The cameras' ids (at most 16).")
    start: datetime = Field(alias="from", description="Start of the range (ISO 8601; UTC when no offset).")
    end: datetime = Field(alias="to", description="End of the range (at most `exports.max_minutes` after `from`).")
    reason: SafeText = Field(max_length=500, description="Why the footage is exported; written to the audit log.")


class ExportError(BaseModel):
    """Why an export failed: a code, its parameters and the message in the caller's language."""

    code: str
    params: dict[str, Any]
    message: str


class ExportOut(BaseModel):
    """An export and how far it got."""

    id: int
    cameras: list[int]
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    reason: str
    state: str = Field(description="queued, running, done, failed or expired.")
    progress: float = Field(description="0 to 1 while it is built.")
    bytes: int | None = Field(description="The zip's size once done.")
    sha256: str | None = Field(description="The zip's SHA-256 once done.")
    error: ExportError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    download: str | None = Field(description="Where the zip is downloaded from once done.")
