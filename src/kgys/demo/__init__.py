"""Demo data: a fictional province with schools, city points, camera systems, commissions and one user
per role, written through the services so that every row is audited.

Everything is drawn from ``random.Random(seed)``, so the same seed and the same day give the same data.
Seeding twice is harmless: when the demo province already exists nothing is added and the existing
logins are returned. :mod:`kgys.demo.names` holds the places and the words names are drawn from;
:mod:`kgys.demo.sim` points a few demo cameras at the simulated streams of the running demo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import jurisdictions as account_jurisdictions
from kgys.accounts import service as account_service
from kgys.accounts import signin
from kgys.accounts.actor import Actor, system_actor
from kgys.accounts.models import Jurisdiction, User
from kgys.accounts.passwords import PasswordPolicy, password_problem
from kgys.accounts.permissions import Role
from kgys.accounts.schemas import JurisdictionCreate
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.mechanism import acting_as
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.schemas import CameraIn, CredentialsIn, RecorderIn
from kgys.config import Settings
from kgys.demo import alerts as demo_alerts
from kgys.demo.names import (
    CAMERA_SLOTS,
    COUNTRY,
    DISTRICTS,
    FAILURES,
    FIELD_UNIT_DISTRICT,
    FIRST_NAMES,
    HIGH_KINDS,
    KINDER_STEMS,
    LAST_NAMES,
    NEIGHBOURHOODS,
    NOTES,
    OTHER_KINDS,
    POINT_KINDS,
    POINT_STEMS,
    PROVINCE,
    PROVINCES,
    STATUS_WEIGHTS,
    STEMS,
    STREETS,
    STUDENTS,
    TYPE_WEIGHTS,
)
from kgys.secretbox import CredentialBox, SecretBox
from kgys.sites import service as site_service
from kgys.sites.models import Commission, Site
from kgys.sites.rollout import ORDER, RolloutStatus, SiteType
from kgys.sites.schemas import RolloutChange, SiteCreate

log = logging.getLogger(__name__)

DEMO_REASON = "demo data"
EMAIL_DOMAIN = "deneme-ili.example"

@dataclass(frozen=True)
class DemoLogin:
    """A demo account and how to sign in with it."""

    username: str
    role: str
    scope: str
    password: str
    totp_secret: str | None


@dataclass(frozen=True)
class DemoLogins:
    """The demo accounts, and whether this run created the data."""

    logins: tuple[DemoLogin, ...]
    created: bool
    sites: int

    def for_role(self, role: str) -> DemoLogin:
        """The login of ``role``."""
        return next(x for x in self.logins if x.role == role)


@dataclass(frozen=True)
class _Account:
    username: str
    role: Role
    full_name: str
    jurisdictions: tuple[str, ...]
    school: bool = False


ACCOUNTS: tuple[_Account, ...] = (
    _Account("admin", Role.ADMIN, "Sistem Yöneticisi", ("TR",)),
    _Account("operator", Role.OPERATOR, "Deniz Operatör", (PROVINCE,)),
    _Account("dispatcher", Role.DISPATCHER, "Cem Yönlendirici", (PROVINCE,)),
    _Account("supervisor", Role.SUPERVISOR, "Serap Amir", (PROVINCE,)),
    _Account("investigator", Role.INVESTIGATOR, "Kenan Soruşturmacı", (PROVINCE,)),
    _Account("judicial_liaison", Role.JUDICIAL_LIAISON, "Adalet İrtibat", (PROVINCE,)),
    _Account("auditor", Role.AUDITOR, "Nazlı Denetçi", (PROVINCE,)),
    _Account("commission_member", Role.COMMISSION_MEMBER, "Kurul Üyesi Levent", (PROVINCE,)),
    _Account("field_unit", Role.FIELD_UNIT, "Ekip 99-01", (FIELD_UNIT_DISTRICT,)),
    _Account("school_admin", Role.SCHOOL_ADMIN, "Okul Müdürü Filiz", (), school=True),
)


def _derived(secret_key: str, label: str) -> str:
    """Base32 text derived from the installation's secret key: random per data folder, stable across starts."""
    digest = hmac.new(secret_key.encode("utf-8"), label.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def demo_password(secret_key: str, username: str) -> str:
    """The password of a demo account: random for each demo data folder (derived from its secret key, so a
    second start on the same folder prints the same one), strong enough for the password policy."""
    for n in itertools.count():
        raw = _derived(secret_key, f"demo-password:{username}:{n}").lower()
        password = f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}"
        if password_problem(password, policy=PasswordPolicy(), username=username,
                            email=f"{username}@{EMAIL_DOMAIN}") is None:
            return password
    raise AssertionError("unreachable")


def demo_totp_secret(secret_key: str, username: str) -> str:
    """The TOTP secret a demo account is enrolled with (random per data folder, stable across its starts)."""
    return _derived(secret_key, f"demo-totp:{username}")[:32]


def exists(session: Session) -> bool:
    """Whether the demo province is already in the database."""
    return session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == PROVINCE)) is not None


def seed(session: Session, *, box: CredentialBox, settings: Settings, sites: int = 300, seed: int = 155,
         progress: Callable[[int, int], None] | None = None, today: date | None = None) -> DemoLogins:
    """Fill an empty database with demo data (no-op when it is there already); return the logins."""
    if exists(session):
        return _existing_logins(session, box, settings)
    today = today or date.today()
    rng = random.Random(seed)
    actor = system_actor("demo")
    with acting_as(session, actor, reason=DEMO_REASON):
        _jurisdictions(session, actor)
        _commissions(session, rng)
        codes = _sites(session, actor, box, rng, settings, sites, today, progress)
        school_site = _school_admin_site(session, codes)
        logins = _users(session, actor, box, settings, school_site)
        demo_alerts.seed(session, actor, rng, codes, today)
        session.flush()
    return DemoLogins(logins=logins, created=True, sites=len(codes))


def _jurisdictions(session: Session, actor: Actor) -> None:
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == COUNTRY[0])) is None:
        account_jurisdictions.create_country(session=session, actor=actor, code=COUNTRY[0], name=COUNTRY[1],
                                             reason=DEMO_REASON)
    for code, (name, lat, lon) in PROVINCES.items():
        account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=name, kind="province", parent=COUNTRY[0], latitude=lat, longitude=lon))
    for code, parent, name, lat, lon, _share in DISTRICTS:
        account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=name, kind="district", parent=parent, latitude=lat, longitude=lon))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _commissions(session: Session, rng: random.Random) -> None:
    nodes = {j.code: j for j in session.scalars(select(Jurisdiction).where(Jurisdiction.kind != "country"))}
    titles = {"province": ("Vali Yardımcısı", "İl Emniyet Müdür Yardımcısı", "İl Jandarma Komutan Yardımcısı",
                           "İl Milli Eğitim Müdür Yardımcısı"),
              "district": ("Kaymakam", "İlçe Emniyet Müdürü", "İlçe Jandarma Komutanı", "İlçe Milli Eğitim Müdürü")}
    codes = [(code, "province") for code in PROVINCES] + [(d[0], "district") for d in DISTRICTS]
    for code, kind in codes:
        chair, police, gendarmerie, education = titles[kind]
        session.add(Commission(
            jurisdiction_id=nodes[code].id, chair=f"{chair} {_person(rng)}",
            police_member=f"{police} {_person(rng)}", gendarmerie_member=f"{gendarmerie} {_person(rng)}",
            education_member=f"{education} {_person(rng)}",
            contact_email=f"komisyon.{code.lower()}@deneme-ili.example"))
    session.flush()


def _site_name(rng: random.Random, kind: SiteType, district: str) -> str:
    if kind is SiteType.KINDERGARTEN:
        return f"{rng.choice(KINDER_STEMS + STEMS)} Anaokulu"
    if kind is SiteType.PRIMARY_SCHOOL:
        return f"{rng.choice(STEMS)} İlkokulu"
    if kind is SiteType.MIDDLE_SCHOOL:
        return f"{rng.choice(STEMS)} Ortaokulu"
    if kind is SiteType.HIGH_SCHOOL:
        return f"{rng.choice(STEMS)} {rng.choice(HIGH_KINDS)}"
    if kind is SiteType.COLLEGE:
        return rng.choice((f"Özel {rng.choice(STEMS)} Koleji", f"{district} Meslek Yüksekokulu",
                           f"Özel {district} {rng.choice(STEMS)} Koleji"))
    if kind is SiteType.MUNICIPAL_POINT:
        return f"{district} {rng.choice(POINT_STEMS)} {rng.choice(POINT_KINDS)}"
    return f"{district} {rng.choice(OTHER_KINDS)}"


def _plan(rng: random.Random, count: int) -> list[tuple[int, SiteType]]:
    """District index and type of each site: every district and every type at least once."""
    types = list(TYPE_WEIGHTS)
    weights = [d[5] for d in DISTRICTS]
    plan: list[tuple[int, SiteType]] = []
    for i in range(count):
        district = i if i < len(DISTRICTS) else rng.choices(range(len(DISTRICTS)), weights)[0]
        kind = types[i % len(types)] if i < len(types) else rng.choices(types, list(TYPE_WEIGHTS.values()))[0]
        plan.append((district, kind))
    return plan


def _sites(session: Session, actor: Actor, box: CredentialBox, rng: random.Random, settings: Settings,
           count: int, today: date, progress: Callable[[int, int], None] | None) -> list[str]:
    province_names = {code: name for code, (name, _a, _b) in PROVINCES.items()}
    numbers = rng.sample(range(700000, 999999), count)
    used_names: set[tuple[str, str]] = set()
    codes: list[str] = []
    for i, (d_index, kind) in enumerate(_plan(rng, count)):
        d_code, d_province, d_name, d_lat, d_lon, _share = DISTRICTS[d_index]
        name = _site_name(rng, kind, d_name)
        attempt = 0
        while (d_code, name) in used_names:
            attempt += 1
            name = _site_name(rng, kind, d_name) if attempt < 20 else f"{name} {attempt}"
        used_names.add((d_code, name))
        school = kind not in (SiteType.MUNICIPAL_POINT, SiteType.OTHER)
        code = str(numbers[i]) if school else f"{d_province[3:]}-N{i + 1:04d}"
        lo, hi = STUDENTS.get(kind, (0, 0))
        address = (f"{rng.choice(NEIGHBOURHOODS)} Mah. {rng.choice(STREETS)} Sok. No:{rng.randint(1, 120)}, "
                   f"{d_name}/{province_names[d_province]}")
        site = site_service.create_site(session=session, actor=actor, data=SiteCreate(
            code=code, district=d_code, name=name, type=kind, address=address,
            latitude=round(d_lat + rng.gauss(0, 0.018), 6), longitude=round(d_lon + rng.gauss(0, 0.024), 6),
            student_count=rng.randint(lo, hi) if hi else None,
            priority=rng.choices((1, 2, 3, 4, 5), (14, 22, 30, 20, 14))[0],
            contact_name=f"{'Müdür ' if school else ''}{_person(rng)}",
            contact_phone=f"0 (3{d_province[3:]}) {rng.randint(200, 299)} {rng.randint(10, 99)} "
                          f"{rng.randint(10, 99)}",
            contact_email=f"{code.lower()}@deneme-ili.example",
        ))
        status = _rollout(session, actor, rng, site, settings.rollout.max_days, today)
        _camera_system(session, actor, box, rng, site, status)
        codes.append(code)
        if progress is not None:
            progress(i + 1, count)
    return codes


def _rollout(session: Session, actor: Actor, rng: random.Random, site: Site, max_days: dict[str, int],
             today: date) -> RolloutStatus:
    """Walk a site through dated roll-out steps; about a third end up overdue in their last step."""
    target = rng.choices(range(len(ORDER)), STATUS_WEIGHTS)[0]
    gaps = [rng.randint(max(5, max_days.get(s.value, 30) // 3), int(max_days.get(s.value, 30) * 1.2))
            for s in ORDER[:target]]
    final = ORDER[target]
    allowed = max_days.get(final.value, 60)
    final_age = rng.randint(0, int(allowed * 1.6))
    registered = today - timedelta(days=sum(gaps) + final_age)
    site.rollout_since = registered
    session.flush()
    when = registered
    for step, gap in zip(ORDER[1:target + 1], gaps, strict=True):
        when = when + timedelta(days=gap)
        site_service.change_rollout(session=session, actor=actor, code=site.code, today=today,
                                    change=RolloutChange(status=step, effective_on=when, note=NOTES[step.value]))
    return final


def _camera_system(session: Session, actor: Actor, box: CredentialBox, rng: random.Random, site: Site,
                   status: RolloutStatus) -> None:
    """Register a system matching the roll-out step: none yet, an old failing one, or a compliant one."""
    stage = ORDER.index(status)
    roll = rng.random()
    if stage <= ORDER.index(RolloutStatus.CONTRACTED):
        if roll < (0.7 if stage <= 1 else 0.55):
            return
        failure: str | None = rng.choice(FAILURES)
    elif status is RolloutStatus.VERIFIED:
        failure = None
    else:
        failure = rng.choice(FAILURES) if roll < 0.3 else None
    recorder, cameras = system_spec(rng, failure, host=f"10.{site.id // 250 + 1}.{site.id % 250}.10")
    camera_flows.save_recorder(session=session, actor=actor, box=box, code=site.code, data=recorder)
    for cam in cameras:
        camera_flows.save_camera(session=session, actor=actor, box=box, code=site.code, data=cam)


def system_spec(rng: random.Random, failure: str | None, host: str = "") -> tuple[RecorderIn, list[CameraIn]]:
    """A declared recorder and cameras: compliant when ``failure`` is None, else failing that one item.

    The cameras have no stream address: only the simulated cameras of :func:`attach_sim_cameras` are recorded.
    """
    n = rng.randint(4, 8 if failure == "nvr_8_channels" else 10)
    bitrate = rng.choice((2048, 3072, 4096))
    days = rng.uniform(6, 20) if failure == "short_storage" else 34.0
    needed_tb = n * bitrate * 1000 / 8 * 86400 * days / 1e12
    if failure == "short_storage":
        installed = max(1.0, math.floor(needed_tb))
    else:
        installed = max(4.0, 2 * math.ceil(needed_tb / 2))
    supported = max(16.0, 4 * math.ceil(installed / 4))
    channels = 8 if failure == "nvr_8_channels" else rng.choice((16, 16, 32))
    recorder = RecorderIn(
        name="NVR-1", vendor="Örnek Güvenlik", model=f"ÖG-NVR{channels}", channels=channels,
        supported_storage_tb=supported, installed_storage_tb=installed,
        remote_viewing=failure != "no_remote_viewing", continuous_recording=True,
        retention_days=rng.choice((7, 15)) if failure == "short_retention" else rng.choice((30, 30, 45)),
        host=host, credentials=CredentialsIn(username="admin", password=f"nvr-{rng.randrange(10**8):08d}"),
    )
    slots = list(CAMERA_SLOTS[2:]) if failure == "no_front_coverage" else list(CAMERA_SLOTS)
    slots = slots[:2] + rng.sample(slots[2:], min(n, len(slots)) - 2)
    weak = set(rng.sample(range(len(slots)), max(1, len(slots) // 4)))
    cameras: list[CameraIn] = []
    for i, (name, position) in enumerate(slots):
        one_mp = failure == "camera_1mp" and i in weak
        cameras.append(CameraIn(
            name=name, recorder=recorder.name, megapixels=1.0 if one_mp else rng.choice((2.0, 2.0, 4.0)),
            width=1280 if one_mp else 1920, height=720 if one_mp else 1080,
            poe=not (failure == "no_poe" and i in weak),
            night_vision=not (failure == "no_night_vision" and i in weak),
            position=position, bitrate_kbps=bitrate, codec="h265" if bitrate <= 2048 else "h264",
        ))
    return recorder, cameras


def _school_admin_site(session: Session, codes: Sequence[str]) -> Site:
    """A school in the field unit's district, preferably one whose system fails an item."""
    schools = [t.value for t in (SiteType.PRIMARY_SCHOOL, SiteType.MIDDLE_SCHOOL, SiteType.HIGH_SCHOOL)]
    base = select(Site).where(Site.code.in_(list(codes)), Site.jurisdiction_path.like(f"%/{FIELD_UNIT_DISTRICT}/"))
    for stmt in (base.where(Site.type.in_(schools), Site.compliance_status == "non_compliant"),
                 base.where(Site.type.in_(schools)), base, select(Site).where(Site.code.in_(list(codes)))):
        found = session.scalars(stmt.order_by(Site.priority, Site.code).limit(1)).first()
        if found is not None:
            return found
    raise LookupError("the demo has no sites")


def _users(session: Session, actor: Actor, box: SecretBox, settings: Settings, school: Site
           ) -> tuple[DemoLogin, ...]:
    logins: list[DemoLogin] = []
    for acc in ACCOUNTS:
        password = demo_password(settings.security.secret_key, acc.username)
        user = account_service.create_user(
            session=session, actor=actor, username=acc.username, password=password,
            role=acc.role.value, full_name=acc.full_name, email=f"{acc.username}@{EMAIL_DOMAIN}",
            jurisdiction_codes=acc.jurisdictions, site_ids=(school.id,) if acc.school else (),
            settings=settings.security,
        )
        secret: str | None = None
        if acc.role.value in settings.security.mfa_roles:
            secret = demo_totp_secret(settings.security.secret_key, acc.username)
            signin.set_totp_secret(session=session, box=box, user=user, secret=secret, confirmed=True)
            audit_service.append(session, actor=actor, action=AuditAction.USER_MFA_ENROL, object_type="user",
                                 object_id=acc.username, reason=DEMO_REASON)
        scope = f"site {school.code} ({school.name})" if acc.school else ", ".join(acc.jurisdictions)
        logins.append(DemoLogin(acc.username, acc.role.value, scope, password, secret))
    return tuple(logins)


def _existing_logins(session: Session, box: SecretBox, settings: Settings) -> DemoLogins:
    logins: list[DemoLogin] = []
    for acc in ACCOUNTS:
        user = session.scalar(select(User).where(User.username == acc.username))
        if user is None:
            continue
        parts: list[str] = []
        for s in user.scopes:
            if s.jurisdiction is not None:
                parts.append(s.jurisdiction.code)
            if s.site_id is not None:
                site = session.get(Site, s.site_id)
                parts.append(f"site {site.code} ({site.name})" if site else f"site {s.site_id}")
        secret = (box.open_text(user.totp_secret) if user.totp_secret and user.role in settings.security.mfa_roles
                  else None)
        logins.append(DemoLogin(user.username, user.role, ", ".join(parts),
                                demo_password(settings.security.secret_key, acc.username), secret))
    total = session.scalar(select(func.count(Site.id))) or 0
    return DemoLogins(logins=tuple(logins), created=False, sites=int(total))
