"""Request and response shapes of the cameras domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from kgys.cameras.compliance import POSITIONS
from kgys.validation import SafeChars, SafeText

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SafeChars]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), SafeChars]


class CredentialsIn(BaseModel):
    """Credentials as given once; never returned."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=120), SafeChars]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _not_a_flag(value: Any) -> Any:
    """A JSON true or false is not a number (forms and imports send text, which is parsed as before)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _not_a_number(value: Any) -> Any:
    """A JSON number is not true or false (forms and imports send text, which is parsed as before)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be true or false, not a number")
    return value


Count = Annotated[int, BeforeValidator(_not_a_flag)]
Amount = Annotated[float, BeforeValidator(_not_a_flag)]
Flag = Annotated[bool, BeforeValidator(_not_a_number)]


class RecorderIn(BaseModel):
    """A recorder (NVR) as declared by its owner."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    vendor: Short = ""
    model: Short = ""
    channels: Count = Field(ge=1, le=1024)
    supported_storage_tb: Amount = Field(ge=0, le=10_000)
    installed_storage_tb: Amount = Field(ge=0, le=10_000)
    remote_viewing: Flag = False
    continuous_recording: Flag = True
    retention_days: Count = Field(default=30, ge=0, le=3650)
    host: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), SafeChars] = ""
    credentials: CredentialsIn | None = None


class CameraIn(BaseModel):
    """A camera as declared by its owner."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    recorder: Name | None = Field(default=None, description="name of the site's recorder it records to")
    megapixels: Amount = Field(gt=0, le=100)
    width: Count = Field(ge=16, le=16384)
    height: Count = Field(ge=16, le=16384)
    poe: Flag = False
    night_vision: Flag = False
    position: SafeText = "other"
    bitrate_kbps: Count = Field(default=4096, ge=16, le=100_000)
    codec: str = Field(default="h264", pattern="^(h264|h265)$")
    stream_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), SafeChars] = ""
    credentials: CredentialsIn | None = None
    enabled: Flag = True

    @field_validator("position")
    @classmethod
    def _position(cls, v: str) -> str:
        if v not in POSITIONS:
            raise ValueError(f"one of {', '.join(POSITIONS)}")
        return v

    @field_validator("stream_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("rtsp", "rtsps", "http", "https") or not parts.hostname:
            raise ValueError("must be an rtsp://, rtsps://, http:// or https:// address with a host")
        if parts.username or parts.password:
            raise ValueError("put the username and password in 'credentials', not in the URL")
        secret_keys = {"user", "username", "usr", "password", "pass", "pwd", "passwd", "auth", "token"}
        if any(k.lower() in secret_keys for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
            raise ValueError("put the username and password in 'credentials', not in the URL query")
        return v


class RecorderOut(BaseModel):
    """A recorder as the API shows it; credentials only masked."""

    id: int
    name: str
    vendor: str
    model: str
    channels: int
    supported_storage_tb: float
    installed_storage_tb: float
    remote_viewing: bool
    continuous_recording: bool
    retention_days: int
    host: str
    credentials: str | None


class CameraOut(BaseModel):
    """A camera as the API shows it; credentials only masked."""

    id: int
    name: str
    recorder: str | None
    megapixels: float
    width: int
    height: int
    poe: bool
    night_vision: bool
    position: str
    bitrate_kbps: int
    codec: str
    stream_url: str
    credentials: str | None
    enabled: bool


class CheckOut(BaseModel):
    """One compliance item."""

    code: str
    passed: bool
    message: str
    params: dict[str, Any]


class MeasuredCameraOut(BaseModel):
    """One camera's stream as the recorder measured it, next to its declared specs."""

    name: str
    state: str = Field(description="online, offline or unknown")
    reason: str = Field(description="why the camera is in that state")
    measured: bool
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    bitrate_kbps: float | None
    keyframe_interval_s: float | None
    measured_at: datetime | None
    declared_width: int
    declared_height: int
    declared_codec: str
    passed: bool | None = Field(description="whether the stream matches; null while not measured")
    problems: list[str]


class ComplianceOut(BaseModel):
    """A site's compliance with the ministry's minimum, and the storage figures behind it."""

    site: str
    status: str
    checks: list[CheckOut]
    storage_days: float | None
    max_kbps_per_camera_for_30_days: float | None
    cameras: list[MeasuredCameraOut] = Field(default_factory=list,
                                             description="each camera's measured stream and state")


class SystemOut(BaseModel):
    """A site's camera system."""

    site: str
    recorders: list[RecorderOut]
    cameras: list[CameraOut]
