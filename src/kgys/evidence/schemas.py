"""Request and response shapes of footage requests, decisions, approvals and the evidence report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints

from kgys.validation import IsoDateTime, SafeChars

CameraRef = Annotated[int, Field(ge=1, le=2_147_483_647)]
Text64 = Annotated[str, StringConstraints(max_length=64), SafeChars]
Text200 = Annotated[str, StringConstraints(max_length=200), SafeChars]
Text2000 = Annotated[str, StringConstraints(max_length=2000), SafeChars]


class ScopeIn(BaseModel):
    """One camera over one range (ISO 8601; UTC when no offset)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    camera_id: CameraRef
    start: IsoDateTime = Field(alias="from")
    end: IsoDateTime = Field(alias="to")


class RequestIn(BaseModel):
    """Opening a footage request: the investigation, the unit asking, why, and the cameras × ranges."""

    model_config = ConfigDict(extra="forbid")

    investigation_no: Text64 = Field(description="The investigation number (soruşturma no.).")
    requesting_unit: Text200 = Field(description="The unit asking for the footage.")
    purpose: Text2000 = Field(description="What the footage is needed for; written to the audit log.")
    scope: list[ScopeIn] = Field(min_length=1, max_length=32, description="The cameras × ranges asked for.")


class DecisionForm(BaseModel):
    """The judicial decision as a multipart form (the scanned decision is the file field ``document``)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["granted", "refused"]
    authority_kind: Literal["court", "prosecutor"]
    authority_name: Text200
    decision_no: Text64
    decision_date: date
    provision: Text64 = Field(default="CMK 134", description="The provision of law the decision rests on.")
    valid_until: IsoDateTime | None = Field(default=None, description="Until when a grant releases footage.")
    refusal_reason: Text2000 = ""
    scope: Json[list[ScopeIn]] = Field(default_factory=list, description="JSON list of {camera_id, from, to}: what "
                                       "the decision grants (within what was asked); empty for a refusal.")
    version: int | None = Field(default=None, ge=1, description="The request's version as you read it.")


class AnswerIn(BaseModel):
    """The second person's approval, or the release withheld (a note is then required)."""

    model_config = ConfigDict(extra="forbid")

    note: Text2000 = ""
    version: int | None = Field(default=None, ge=1, description="The request's version as you read it.")


class ScopeOut(BaseModel):
    """One camera × range of a request, and whether a hold keeps it now."""

    id: int
    camera_id: int
    site_id: int
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    hold_id: int | None


class DecisionOut(BaseModel):
    """The recorded decision."""

    outcome: str
    authority_kind: str
    authority_name: str
    decision_no: str
    decision_date: date
    provision: str
    valid_until: datetime | None
    refusal_reason: str | None
    document_sha256: str
    document_size: int
    document_type: str
    recorded_by: str
    recorded_at: datetime
    legal_basis: str


class ApprovalOut(BaseModel):
    """The second person's answer."""

    outcome: str
    approver: str
    at: datetime
    note: str


class RequestOut(BaseModel):
    """A footage request and everything decided on it."""

    id: int
    investigation_no: str
    requesting_unit: str
    purpose: str
    requested_by: str
    state: str = Field(description="awaiting, granted, refused, expired, approved or withheld.")
    version: int
    hold_until: datetime = Field(description="When the provisional holds lapse if no decision comes.")
    created_at: datetime
    updated_at: datetime
    requested: list[ScopeOut]
    granted: list[ScopeOut]
    decision: DecisionOut | None
    approval: ApprovalOut | None


class Timing(BaseModel):
    """How long a step took, in hours: the median and the 90th percentile (None when nothing was measured)."""

    count: int
    median_hours: float | None
    p90_hours: float | None


class ReportRow(BaseModel):
    """The figures of one period and requesting unit."""

    period: str
    unit: str
    requests: int
    decisions: int
    granted: int
    refusals: int
    expired: int
    approvals: int
    releases: int
    request_to_decision: Timing
    decision_to_approval: Timing


class ReportOut(BaseModel):
    """Footage requests per period and requesting unit, with their timings."""

    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    period: Literal["month", "week", "day"]
    rows: list[ReportRow]


class ReleaseIn(BaseModel):
    """Ordering a release of an approved request: the cameras × ranges (within the decision's grant), the recipient
    and the options."""

    model_config = ConfigDict(extra="forbid")

    scope: list[ScopeIn] = Field(min_length=1, max_length=32, description="The cameras × ranges released.")
    recipient: Text200 = Field(description="Who receives the package (a person).")
    organisation: Text200 = Field(default="", description="The recipient's court, office or unit.")
    redact: bool = Field(default=False, description="Blur the faces found (reviewed by a person first).")
    watermark: bool = Field(default=False, description="Burn the recipient, request number and time into the clips.")
    include_segments: bool = Field(default=False, description="Add the original recorded segments to the package.")


class RegionIn(BaseModel):
    """A region a reviewer adds: frames ``first_frame`` to ``last_frame`` (inclusive), box [x1, y1, x2, y2] in the
    clip's pixels."""

    model_config = ConfigDict(extra="forbid")

    first_frame: int = Field(ge=0, le=10_000_000)
    last_frame: int = Field(ge=0, le=10_000_000)
    box: list[Annotated[float, Field(ge=0, le=100_000)]] = Field(min_length=4, max_length=4)


class EditsIn(BaseModel):
    """A reviewer's edits of one clip's detections: regions added, detections (by id) removed."""

    model_config = ConfigDict(extra="forbid")

    added: list[RegionIn] = Field(default_factory=list, max_length=500)
    removed: list[Text64] = Field(default_factory=list, max_length=5000)


class ReceiptIn(BaseModel):
    """The hand-over of a downloaded package: who received it, their ID or badge number, when, and a note."""

    model_config = ConfigDict(extra="forbid")

    name: Text200
    id_no: Text64
    at: IsoDateTime | None = Field(default=None, description="When it was handed over (default: now).")
    note: Text2000 = ""


class ReleaseItemOut(BaseModel):
    """One camera over one range of a release (UTC)."""

    camera_id: int
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")


class ReleaseOut(BaseModel):
    """A release and how far its package is."""

    id: int
    request_id: int
    state: str = Field(description="queued, cutting, detecting, awaiting_review, rendering, packaging, ready, "
                                   "downloaded, expired or failed.")
    progress: float
    items: list[ReleaseItemOut]
    recipient: str
    organisation: str
    redact: bool
    watermark: bool
    include_segments: bool
    ordered_by: str
    approved_by: str
    created_at: datetime
    finished_at: datetime | None
    error_code: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    package_sha256: str | None
    package_bytes: int | None
    expires_at: datetime | None
    downloaded_at: datetime | None
    receipt: dict[str, str] | None


class DetectionOut(BaseModel):
    """One face found in a frame: its id (to remove it) and box [x1, y1, x2, y2]."""

    id: str
    box: list[float]
    score: float


class FrameOut(BaseModel):
    """A frame with at least one detection."""

    index: int
    time: float
    detections: list[DetectionOut]


class ClipReviewOut(BaseModel):
    """One clip under review: its frames with detections and the reviewer's edits so far."""

    position: int
    camera_id: int
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    width: int | None
    height: int | None
    frame_count: int
    faces: int
    frames: list[FrameOut]
    edits: dict[str, list[object]]


class LinkOut(BaseModel):
    """A one-time download link: shown once, only its hash is kept."""

    url: str
    token: str
    expires_at: datetime
