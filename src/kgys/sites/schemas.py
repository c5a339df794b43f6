"""Request and response shapes of the sites domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from kgys.sites.rollout import RolloutStatus, SiteType
from kgys.validation import Code, Name, SafeChars, SafeText

Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=400), SafeChars]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=160), SafeChars]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), SafeChars]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+() -]*$")]


class SiteBase(BaseModel):
    """Fields a person can edit."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    type: SiteType
    address: Address = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    student_count: int | None = Field(default=None, ge=0, le=100_000)
    priority: int = Field(default=3, ge=1, le=5, description="1 = highest")
    contact_name: PersonName = ""
    contact_phone: Phone = ""
    contact_email: EmailStr | None = None


class SiteCreate(SiteBase):
    """A new site."""

    code: Code = Field(description="Institution code (kurum kodu), unique")
    district: Code = Field(description="Code of the district (ilçe) the site is in")


class SitePatch(BaseModel):
    """A partial update; ``version`` guards against overwriting someone else's change."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    name: Name | None = None
    type: SiteType | None = None
    address: Address | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    student_count: int | None = Field(default=None, ge=0, le=100_000)
    priority: int | None = Field(default=None, ge=1, le=5)
    contact_name: PersonName | None = None
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None


class RolloutChange(BaseModel):
    """Move a site to another roll-out step."""

    model_config = ConfigDict(extra="forbid")

    status: RolloutStatus
    effective_on: date | None = None
    note: Note = ""


class SiteOut(BaseModel):
    """A site as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    type: str
    address: str
    latitude: float | None
    longitude: float | None
    district: str
    province: str
    student_count: int | None
    priority: int
    contact_name: str
    contact_phone: str
    contact_email: str
    rollout_status: str
    rollout_since: date
    compliance_status: str
    updated_at: datetime
    version: int


class RolloutEventOut(BaseModel):
    """One step of a site's roll-out history."""

    model_config = ConfigDict(from_attributes=True)

    from_status: str
    to_status: str
    effective_on: date
    recorded_at: datetime
    username: str
    note: str


class SiteFilter(BaseModel):
    """Filters of the site list."""

    q: Annotated[str, StringConstraints(max_length=100), SafeChars] | None = None
    type: SiteType | None = None
    jurisdiction: str | None = Field(default=None, max_length=32, description="province or district code")
    rollout_status: RolloutStatus | None = None
    compliance_status: str | None = Field(default=None, pattern="^(compliant|non_compliant|no_system)$")
    priority: int | None = Field(default=None, ge=1, le=5)
    overdue: bool = False


class JurisdictionOut(BaseModel):
    """A node of the jurisdiction tree."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    path: str


class DashboardOut(BaseModel):
    """Roll-out figures for one jurisdiction, within the caller's scope."""

    jurisdiction: str | None
    total: int
    by_rollout: dict[str, int]
    by_priority: dict[str, int]
    by_compliance: dict[str, int]
    by_type: dict[str, int]
    no_system: list[SiteOut]
    overdue: list[dict[str, object]]
    districts: list[dict[str, object]]


class CommissionOut(BaseModel):
    """The commission that follows a site's roll-out."""

    jurisdiction: str
    jurisdiction_name: str
    kind: str
    chair: str
    police_member: str
    gendarmerie_member: str
    education_member: str
    contact_email: str


class MapPointOut(BaseModel):
    """A site on the map."""

    code: str
    name: str
    lat: float
    lon: float
    compliance: str
    rollout: str
    priority: int


class FloorPlanOut(BaseModel):
    """A floor plan of a site: its title and place in the order, the image's type and size, and where to get it."""

    id: int
    site: str
    title: str
    position: int
    content_type: str
    size: int
    width: int
    height: int
    uploaded_at: datetime
    uploaded_by: str
    url: str


class FloorPlanPatch(BaseModel):
    """A floor plan's new title and/or place in its site's order (1 = first)."""

    model_config = ConfigDict(extra="forbid")

    title: SafeText | None = Field(default=None, max_length=400)
    position: int | None = Field(default=None, ge=1, le=1000)
