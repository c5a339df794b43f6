"""Request and response shapes of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kgys.accounts.permissions import Role
from kgys.validation import Code, Name, SafeChars


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


class UserProfile(BaseModel):
    """A user's name and e-mail address, as an administrator changes them."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(max_length=160), SafeChars] = ""
    email: Annotated[str, StringConstraints(max_length=254), SafeChars] = ""


class JurisdictionCreate(BaseModel):
    """A new province or district."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: str = Field(pattern="^(province|district)$")
    parent: Code
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
