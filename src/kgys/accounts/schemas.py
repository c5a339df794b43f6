"""Request and response shapes of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kgys import localtime
from kgys.accounts.permissions import Role
from kgys.validation import Code, Name, SafeChars


def _known_zone(value: str | None) -> str | None:
    """An IANA zone name as typed (ValueError naming it when there is none); empty is None (the default)."""
    text = (value or "").strip()
    if not text:
        return None
    localtime.zone(text)
    return text


TimeZone = Annotated[str | None, StringConstraints(max_length=64), AfterValidator(_known_zone),
                     Field(description="IANA time zone the user reads and types times in (Europe/Istanbul); "
                                       "null for the installation's web.time_zone")]


class TokenRequest(BaseModel):
    """Credentials exchanged for an API bearer token."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=64), SafeChars]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp: Annotated[str, StringConstraints(max_length=8), SafeChars] | None = None
    name: Annotated[str, StringConstraints(max_length=120), SafeChars] = ""


class TokenOut(BaseModel):
    """A bearer token, shown once."""

    token: str
    token_type: str = "bearer"


class UserOut(BaseModel):
    """A user as the API shows it."""

    username: str
    full_name: str
    email: str
    role: str
    is_active: bool
    mfa_enrolled: bool
    scope: list[str]
    last_login_at: datetime | None
    time_zone: str | None = Field(description="the zone the user chose (IANA name); null for the installation's")


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    role: Role
    full_name: Annotated[str, StringConstraints(max_length=160), SafeChars] = ""
    email: Annotated[str, StringConstraints(max_length=254), SafeChars] = ""
    jurisdictions: list[Annotated[str, StringConstraints(max_length=32)]] = Field(default_factory=list,
                                                                                 max_length=100)
    sites: list[Annotated[str, StringConstraints(max_length=32)]] = Field(
        default_factory=list, max_length=100, description="institution codes of single sites (school administrators)"
    )
    time_zone: TimeZone = None


class UserProfile(BaseModel):
    """A user's name and e-mail address, as an administrator changes them."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(max_length=160), SafeChars] = ""
    email: Annotated[str, StringConstraints(max_length=254), SafeChars] = ""
    time_zone: TimeZone = None


class MyPreferences(BaseModel):
    """What a user changes of their own account: the time zone they read times in."""

    model_config = ConfigDict(extra="forbid")

    time_zone: TimeZone = None


class JurisdictionCreate(BaseModel):
    """A new province or district."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: str = Field(pattern="^(province|district)$")
    parent: Code
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
