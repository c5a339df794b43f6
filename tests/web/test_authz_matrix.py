"""Every API endpoint × every role × a site inside and outside the caller's scope.

The callers are one user of each role scoped to district TR-99-A (administrators included, so scope binds
them too), one country-wide administrator and an anonymous client. The targets are a site in TR-99-A, a
site in the sibling district TR-99-B and a site in another province (TR-98-C). The status each call must
get follows from ROLE_PERMISSIONS: a role without the permission gets 403, a site outside the scope 404
(with the very answer a site that does not exist gets), no sign-in 401, anything else 2xx. No answer a
scoped caller receives names a site outside its scope.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import WebSocketRoute

from kgys.accounts import security
from kgys.accounts.actor import Actor, Scope
from kgys.accounts.models import User
from kgys.accounts.permissions import ROLE_PERMISSIONS, Perm, Role
from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.db import utcnow
from kgys.evidence import documents as evidence_documents
from kgys.evidence.flows import decisions as evidence_decisions
from kgys.evidence.flows import requests as evidence_requests
from kgys.evidence.flows.decisions import DecisionIn
from kgys.evidence.rules import Range
from kgys.exports import service as export_service
from kgys.kades import service as kades_service
from kgys.kades.schemas import OrderIn
from kgys.live.models import Bookmark, WallLayout
from kgys.recording import alerts
from kgys.recording.flows import holds as hold_flows
from kgys.recording.models import LegalHold
from kgys.runtime import Runtime
from kgys.sites import floorplans
from kgys.sites import service as site_service
from kgys.sites.models import Commission, Site
from kgys.sites.rollout import ORDER, RolloutStatus
from kgys.sites.schemas import RolloutChange
from kgys.web.app import create_app
from kgys.web.limits import MB
from tests import factories
from tests.dispatch import matrix_rows as dm
from tests.sites.test_floorplans_images import png

API = "/api/v1"
IN, OUT_B, OUT_C = "IN-A", "OUT-B", "OUT-C"
SITES = {IN: ("TR-99-A", "Açık Merkez Okulu"), OUT_B: ("TR-99-B", "Gizli Sahil Okulu"),
         OUT_C: ("TR-98-C", "Gizli Dağ Okulu")}
SECRET_WORDS = (OUT_B, OUT_C, SITES[OUT_B][1], SITES[OUT_C][1])
NO_SUCH_SITE = "NO-SUCH-SITE"
_n = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    """Who calls: a role (None for anonymous) and whether the scope is the district TR-99-A only."""

    label: str
    role: Role | None
    scoped: bool
    headers: dict[str, str]


@dataclass
class World:
    """The data every endpoint is tried against."""

    session: Session
    rt: Runtime
    recorders: dict[str, int]
    cameras: dict[str, int]
    holds: dict[str, int]
    alerts: dict[str, int]
    orders: dict[str, int]
    phones: dict[str, int]
    victims: dict[str, str]
    login: str

    def _setup(self) -> None:
        set_actor(self.session, factories.admin())

    def fresh_recorder(self, code: str) -> int:
        """A new recorder at site ``code``."""
        self._setup()
        rec = camera_flows.save_recorder(session=self.session, actor=factories.admin(), box=self.rt.box, code=code,
                                         data=_recorder(f"NVR-x{next(_n)}"))
        self.session.commit()
        return rec.id

    def fresh_camera(self, code: str) -> int:
        """A new camera at site ``code``."""
        self._setup()
        cam = camera_flows.save_camera(session=self.session, actor=factories.admin(), box=self.rt.box, code=code,
                                       data=_camera(f"Kamera-x{next(_n)}"))
        self.session.commit()
        return cam.id

    def fresh_hold(self, code: str) -> int:
        """A new legal hold on a camera of site ``code``."""
        hold = _hold(self.session, code)
        self.session.commit()
        return hold.id

    def fresh_alert(self, code: str, claimed: bool = False) -> int:
        """A new panic alert at site ``code``; with ``claimed``, taken on by another user."""
        site_id = self.session.scalar(select(Site.id).where(Site.code == code))
        alert = raising.raise_alert(self.session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                                        site_id=site_id, details=f"matrix {next(_n)}"))
        if claimed:
            other = self.session.scalars(select(User).where(User.username == self.login)).one()
            alert.state, alert.claimed_by, alert.claimed_by_name = "claimed", other.id, other.username
        self.session.commit()
        return alert.id

    def fresh_plan(self, code: str) -> int:
        """A new floor plan of site ``code``."""
        self._setup()
        data_dir = self.rt.settings.data_dir
        upload = floorplans.Upload.receive(iter([png(2, 2)]), data_dir=data_dir, limit=MB)
        plan = floorplans.add(session=self.session, actor=factories.admin(), site_code=code, title="matrix",
                              upload=upload, data_dir=data_dir)
        self.session.commit()
        return plan.id

    def version(self, code: str) -> int:
        """The site's current version."""
        return int(self.session.scalar(select(Site.version).where(Site.code == code)) or 0)

    def next_status(self, code: str) -> str:
        """A roll-out step the site may move to now."""
        current = RolloutStatus(self.session.scalar(select(Site.rollout_status).where(Site.code == code)))
        i = ORDER.index(current)
        return ORDER[i + 1].value if i + 1 < len(ORDER) else RolloutStatus.PLANNED.value


def _recorder(name: str) -> RecorderIn:
    return RecorderIn(name=name, channels=16, supported_storage_tb=16, installed_storage_tb=12,
                      remote_viewing=True, continuous_recording=True, retention_days=30)


def _camera(name: str, recorder: str | None = None, position: str = "entrance") -> CameraIn:
    return CameraIn(name=name, recorder=recorder, megapixels=2.0, width=1920, height=1080, poe=True,
                    night_vision=True, position=position, bitrate_kbps=4096)


def _hold(session: Session, code: str) -> LegalHold:
    return hold_flows.add_hold(session=session, actor=factories.admin(), site_code=code, camera="Giriş",
                               start=datetime(2026, 3, 1, 8, tzinfo=UTC), end=datetime(2026, 3, 1, 9, tzinfo=UTC),
                               reason=f"matrix {next(_n)}", legal_basis="2026/1")


@dataclass(frozen=True)
class Upload:
    """A multipart form with one file, as the import endpoint takes it."""

    filename: str
    content: bytes
    fields: dict[str, str]
    field: str = "file"
    content_type: str = "text/csv"


@dataclass(frozen=True)
class Raw:
    """A body sent as it is, with its content type (a CAP message)."""

    content: bytes
    content_type: str


Build = Callable[[World, str], tuple[str, dict[str, Any] | Upload | Raw | None]]


@dataclass(frozen=True)
class Endpoint:
    """One API route and what each caller must get from it.

    ``build`` turns a target site code into the URL and JSON body to send. ``out`` is the status for a
    scoped caller holding the permission when the target lies outside its scope (None: the target does
    not change the answer); ``scoped`` overrides the status for every scoped caller holding the permission.
    """

    method: str
    route: str
    perm: Perm | None
    build: Build
    ok: int = 200
    out: int | None = 404
    scoped: int | None = None
    public: bool = False
    also: Perm | None = None  # a second permission; a caller without it gets 409 (it is someone else's)
    own: Perm | None = None  # a caller without it acts for its own unit only, and none of the matrix's has one: 404
    mine: tuple[Perm, int] | None = None  # a caller without ``perm`` but with this one acts on its own: this status

    def expected(self, caller: Caller, target_in_scope: bool) -> int:
        """The status ``caller`` must get for a target inside or outside its scope."""
        if self.public:
            return self.ok
        if caller.role is None:
            return 401
        if self.perm is not None and self.perm not in ROLE_PERMISSIONS[caller.role]:
            if self.mine is not None and self.mine[0] in ROLE_PERMISSIONS[caller.role]:
                return self.mine[1]
            return 403
        if self.own is not None and self.own not in ROLE_PERMISSIONS[caller.role]:
            return 404
        if caller.scoped:
            if self.scoped is not None:
                return self.scoped
            if not target_in_scope and self.out is not None:
                return self.out
        if self.also is not None and self.also not in ROLE_PERMISSIONS[caller.role]:
            return 409
        return self.ok


def _district(code: str) -> str:
    return SITES[code][0]


def _site_url(suffix: str = "") -> Build:
    return lambda w, code: (f"{API}/sites/{code}{suffix}", None)


def _list_url(path: str, extra: str = "") -> Build:
    """The list itself for the in-scope target; filtered to the target's district otherwise."""
    return lambda w, code: (f"{API}{path}?{extra}" if code == IN
                            else f"{API}{path}?jurisdiction={_district(code)}&{extra}", None)


def _new_site(w: World, code: str) -> tuple[str, dict[str, Any]]:
    n = next(_n)
    return f"{API}/sites", {"code": f"NEW{n}", "name": f"Yeni Okul {n}", "type": "high_school",
                            "district": _district(code)}


def _patch_site(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}", {"version": w.version(code), "contact_name": f"Müdür {next(_n)}"}


def _rollout(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}/rollout", {"status": w.next_status(code), "note": "matrix"}


def _new_recorder(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}/recorders", _recorder(f"NVR-{next(_n)}").model_dump()


def _put_recorder(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}/recorders/{w.recorders[code]}", _recorder("NVR-1").model_dump()


def _delete_recorder(w: World, code: str) -> tuple[str, None]:
    return f"{API}/sites/{code}/recorders/{w.fresh_recorder(code)}", None


def _new_camera(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}/cameras", _camera(f"Kamera-{next(_n)}").model_dump()


def _put_camera(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/sites/{code}/cameras/{w.cameras[code]}", _camera("Giriş", "NVR-1").model_dump()


def _delete_camera(w: World, code: str) -> tuple[str, None]:
    return f"{API}/sites/{code}/cameras/{w.fresh_camera(code)}", None


def _new_jurisdiction(w: World, code: str) -> tuple[str, dict[str, Any]]:
    parent = "TR-99" if code in (IN, OUT_B) else "TR-98"
    return f"{API}/jurisdictions", {"code": f"TR-X{next(_n)}", "name": "Yeni İlçe", "kind": "district",
                                    "parent": parent}


def _token(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/auth/token", {"username": w.login, "password": factories.PASSWORD}


def _new_user(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/users", {"username": f"new{next(_n)}", "password": "lilac-orbit-7-tundra", "role": "operator",
                            "jurisdictions": [_district(code)]}


def _disable_user(w: World, code: str) -> tuple[str, None]:
    return f"{API}/users/{w.victims[code]}/disable", None


def _import(w: World, code: str) -> tuple[str, Upload]:
    district, name = SITES[code]
    csv = f"code,name,type,district,contact_name\n{code},{name},primary_school,{district},Müdür {next(_n)}\n"
    return f"{API}/imports", Upload("okullar.csv", csv.encode(), {"kind": "sites", "dry_run": "true"})


def _camera_url(suffix: str, body: dict[str, Any] | None = None) -> Build:
    return lambda w, code: (f"{API}/cameras/{w.cameras[code]}{suffix}", body)


_RANGE = {"from": "2026-03-01T08:00:00Z", "to": "2026-03-01T09:00:00Z"}


def _alert_move(move: str, body: dict[str, Any] | None = None, claimed: bool = False) -> Build:
    return lambda w, code: (f"{API}/alerts/{w.fresh_alert(code, claimed)}/{move}", body or {})


def _cap(w: World, code: str) -> tuple[str, Raw]:
    n = next(_n)
    xml = (f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>M-{n}</identifier>'
           f"<sender>matrix</sender><sent>2026-03-01T08:00:00+03:00</sent><status>Actual</status>"
           f"<msgType>Alert</msgType><scope>Public</scope><info><event>Tahliye</event><urgency>Immediate</urgency>"
           f"<severity>Severe</severity><certainty>Observed</certainty><area><areaDesc>Okul</areaDesc>"
           f"<geocode><valueName>kgys:site</valueName><value>{code}</value></geocode></area></info></alert>")
    return f"{API}/alerts/cap", Raw(xml.encode(), "application/cap+xml")


def _new_order(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/kades/orders", {"number": f"M-{next(_n)}", "court": "Aile Mahkemesi", "valid_from": "2026-01-01",
                                   "valid_until": "2027-01-01", "person_name": "Korunan Kişi",
                                   "person_phone": "+90 555 000 00 00", "district": _district(code)}


def _wall_layout(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/live/layouts", {"name": f"Duvar {next(_n)}", "rows": 1, "cols": 1,
                                   "tiles": [{"row": 0, "col": 0, "camera_id": w.cameras[code]}]}


def _others_layout(body: dict[str, Any] | None = None) -> Build:
    """A layout another user saved and did not share."""

    def build(w: World, code: str) -> tuple[str, dict[str, Any] | None]:
        w._setup()
        owner = w.session.scalars(select(User).where(User.username == w.login)).one()
        row = WallLayout(name=f"Başkasının {next(_n)}", owner_id=owner.id, rows=1, cols=1, tiles=[])
        w.session.add(row)
        w.session.commit()
        return f"{API}/live/layouts/{row.id}", body

    return build


def _new_export(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/exports", {"cameras": [w.cameras[code]], **_RANGE, "reason": f"matrix {next(_n)}"}


def _others_export(suffix: str = "") -> Build:
    """An export another user asked for."""

    def build(w: World, code: str) -> tuple[str, None]:
        owner = w.session.scalars(select(User).where(User.username == w.login)).one()
        row = export_service.create(session=w.session, user_id=owner.id, username=owner.username,
                                    cameras=[w.cameras[code]], start=datetime(2026, 3, 1, 8, tzinfo=UTC),
                                    end=datetime(2026, 3, 1, 8, 5, tzinfo=UTC), reason="matrix",
                                    now=datetime(2026, 3, 1, 9, tzinfo=UTC))
        w.session.commit()
        return f"{API}/exports/{row.id}{suffix}", None

    return build


def _others_bookmark(w: World, code: str) -> tuple[str, None]:
    """A fresh bookmark another user placed on the target's camera."""
    w._setup()
    owner = w.session.scalars(select(User).where(User.username == w.login)).one()
    cam = w.session.get(Camera, w.cameras[code])
    assert cam is not None
    row = Bookmark(camera_id=cam.id, site_id=cam.site_id, start=datetime(2026, 3, 1, 8, tzinfo=UTC), note="matrix",
                   created_by=owner.id)
    set_actor(w.session, factories.admin())
    w.session.add(row)
    w.session.commit()
    return f"{API}/bookmarks/{row.id}", None


def _requester(w: World) -> Actor:
    """The user of the world who makes and records the footage requests the matrix tries (not a caller)."""
    owner = w.session.scalars(select(User).where(User.username == w.login)).one()
    return Actor(id=owner.id, username=owner.username, role="admin", scope=Scope(is_global=True))


def _new_footage_request(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/evidence/requests", {"investigation_no": f"2026/{next(_n)}", "requesting_unit": "Asayiş",
                                        "purpose": "matrix", "scope": [{"camera_id": w.cameras[code], **_RANGE}]}


def _footage_request(w: World, code: str, outcome: str | None) -> int:
    """A fresh request on the target's camera by another user; decided with ``outcome`` when given."""
    who = _requester(w)
    start, end = datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 9, tzinfo=UTC)
    req = evidence_requests.open_request(session=w.session, actor=who, investigation_no=f"2026/{next(_n)}",
                                         requesting_unit="Asayiş", purpose="matrix", wait=timedelta(days=15),
                                         items=[Range(w.cameras[code], start, end)], now=utcnow())
    if outcome is not None:
        upload = evidence_documents.Upload.receive(iter([b"%PDF-1.4 matrix"]), name="k.pdf",
                                                   data_dir=w.rt.settings.data_dir, limit=MB)
        granted = outcome == "granted"
        evidence_decisions.record_decision(session=w.session, actor=who, request_id=req.id, data=DecisionIn(
            outcome=outcome, authority_kind="court", authority_name="Sulh Ceza", decision_no="1",
            decision_date=date(2026, 3, 1), provision="CMK 134",
            valid_until=utcnow() + timedelta(days=30) if granted else None,
            refusal_reason="" if granted else "yetersiz",
            scope=[Range(w.cameras[code], start, end)] if granted else []),
            upload=upload, data_dir=w.rt.settings.data_dir, version=None, now=utcnow())
    w.session.commit()
    return req.id


def _footage_url(outcome: str | None, suffix: str = "", body: dict[str, Any] | Upload | None = None) -> Build:
    """A fresh request (decided with ``outcome``) on the target's camera, by another user."""
    def build(w: World, code: str) -> tuple[str, dict[str, Any] | Upload | None]:
        return f"{API}/evidence/requests/{_footage_request(w, code, outcome)}{suffix}", body
    return build


def _approver(w: World) -> Actor:
    """A second user who approves the matrix's granted requests (four eyes: never their requester)."""
    name = "matrix-approver"
    user = w.session.scalars(select(User).where(User.username == name)).one_or_none()
    if user is None:
        user = factories.user(w.session, "admin", scope=["TR"], username=name)
    return Actor(id=user.id, username=user.username, role="admin", scope=Scope(is_global=True))


def _release_url(suffix: str = "", body: dict[str, Any] | None = None) -> Build:
    """A release (queued) of a fresh request on the target's camera, granted, approved by a second user and ordered
    by its requester, who is no caller."""
    def build(w: World, code: str) -> tuple[str, dict[str, Any] | None]:
        rid = _footage_request(w, code, "granted")
        who = _requester(w)
        evidence_decisions.answer(session=w.session, actor=_approver(w), request_id=rid, approve=True, note="",
                                  version=None, now=utcnow())
        rel = evidence_decisions.record_release(
            session=w.session, actor=who, request_id=rid, recipient="Av. Matrix", now=utcnow(),
            items=[Range(w.cameras[code], datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 9, tzinfo=UTC))])
        w.session.commit()
        return f"{API}/evidence/requests/{rid}/releases{'' if rel.id is None else f'/{rel.id}'}{suffix}", body
    return build


def _release_order(w: World, code: str) -> tuple[str, dict[str, Any]]:
    url, _ = _release_url()(w, code)
    return url.rsplit("/", 1)[0], {"scope": [{"camera_id": w.cameras[code], **_RANGE}], "recipient": "Av. Matrix"}


def _decision_upload(w: World, code: str) -> tuple[str, Upload]:
    rid = _footage_request(w, code, None)
    fields = {"outcome": "granted", "authority_kind": "prosecutor", "authority_name": "Başsavcılık",
              "decision_no": f"2026/{next(_n)}", "decision_date": "2026-03-01",
              "valid_until": (utcnow() + timedelta(days=30)).isoformat(),
              "scope": json.dumps([{"camera_id": w.cameras[code], **_RANGE}])}
    return f"{API}/evidence/requests/{rid}/decision", Upload("karar.pdf", b"%PDF-1.4 matrix", fields,
                                                              field="document", content_type="application/pdf")


def _fixed(path: str) -> Build:
    return lambda w, code: (f"{API}{path}", None)


def _site_filter(path: str, extra: str = "") -> Build:
    """The list itself for the in-scope target; filtered to the target site otherwise."""
    return lambda w, code: (f"{API}{path}?{extra}" if code == IN else f"{API}{path}?site={code}&{extra}", None)


def _new_hold(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/holds", {"site": code, "camera": "Giriş", **_RANGE, "reason": f"matrix {next(_n)}",
                            "legal_basis": "2026/1"}


def _new_device(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/devices", {"site": code, "serial": f"PB-M{next(_n):05d}", "kind": "panic", "room": "Oda 1",
                              "cancel_pin": "1234", "duress_pin": "9999"}


def _new_plan(w: World, code: str) -> tuple[str, Upload]:
    return f"{API}/sites/{code}/floor-plans", Upload("plan.png", png(3, 2), {"title": "matrix"}, "image", "image/png")


def _delete_plan(w: World, code: str) -> tuple[str, None]:
    return f"{API}/sites/{code}/floor-plans/{w.fresh_plan(code)}", None


def _hold_url(w: World, code: str) -> tuple[str, None]:
    return f"{API}/holds/{w.holds[code]}", None


def _release(w: World, code: str) -> tuple[str, dict[str, Any]]:
    return f"{API}/holds/{w.fresh_hold(code)}/release", {"reason": "matrix"}


P = Perm
ENDPOINTS: list[Endpoint] = [
    # sites
    Endpoint("GET", "/sites", P.SITES_READ, _list_url("/sites", "per_page=500"), out=None),
    Endpoint("POST", "/sites", P.SITES_CREATE, _new_site, ok=201, out=422),
    Endpoint("GET", "/sites/{code}", P.SITES_READ, _site_url()),
    Endpoint("PATCH", "/sites/{code}", P.SITES_EDIT, _patch_site),
    Endpoint("POST", "/sites/{code}/rollout", P.ROLLOUT_EDIT, _rollout, ok=201),
    Endpoint("GET", "/sites/{code}/rollout", P.SITES_READ, _site_url("/rollout")),
    Endpoint("GET", "/sites/{code}/commission", P.SITES_READ, _site_url("/commission")),
    Endpoint("GET", "/sites/{code}/floor-plans", P.SITES_READ, _site_url("/floor-plans")),
    Endpoint("POST", "/sites/{code}/floor-plans", P.SITES_EDIT, _new_plan, ok=201),
    Endpoint("PATCH", "/sites/{code}/floor-plans/{plan_id}", P.SITES_EDIT,
             lambda w, code: (f"{API}/sites/{code}/floor-plans/{w.fresh_plan(code)}", {"position": 1})),
    Endpoint("DELETE", "/sites/{code}/floor-plans/{plan_id}", P.SITES_EDIT, _delete_plan, ok=204),
    Endpoint("GET", "/sites/{code}/lockdown", P.ALERTS_READ, _site_url("/lockdown")),
    Endpoint("POST", "/sites/{code}/lockdown", P.ALERTS_HANDLE,
             lambda w, code: (f"{API}/sites/{code}/lockdown", {"action": "lockdown", "reason": "matrix"}), ok=202),
    Endpoint("GET", "/dashboard", P.DASHBOARD_READ, _list_url("/dashboard"), out=None),
    Endpoint("GET", "/map", P.SITES_READ, _list_url("/map"), out=None),
    Endpoint("GET", "/jurisdictions", None, _fixed("/jurisdictions"), out=None),
    # a row naming a site outside the scope is refused as if the site did not exist
    Endpoint("POST", "/imports", P.SITES_IMPORT, _import, out=422),
    # A district-scoped administrator has no province to add a district to.
    Endpoint("POST", "/jurisdictions", P.JURISDICTIONS_EDIT, _new_jurisdiction, ok=201, scoped=403),
    # cameras
    Endpoint("GET", "/sites/{code}/system", P.CAMERAS_READ, _site_url("/system")),
    Endpoint("GET", "/sites/{code}/compliance", P.COMPLIANCE_READ, _site_url("/compliance")),
    Endpoint("POST", "/sites/{code}/recorders", P.CAMERAS_EDIT, _new_recorder, ok=201),
    Endpoint("PUT", "/sites/{code}/recorders/{recorder_id}", P.CAMERAS_EDIT, _put_recorder),
    Endpoint("DELETE", "/sites/{code}/recorders/{recorder_id}", P.CAMERAS_EDIT, _delete_recorder, ok=204),
    Endpoint("POST", "/sites/{code}/cameras", P.CAMERAS_EDIT, _new_camera, ok=201),
    Endpoint("PUT", "/sites/{code}/cameras/{camera_id}", P.CAMERAS_EDIT, _put_camera),
    Endpoint("DELETE", "/sites/{code}/cameras/{camera_id}", P.CAMERAS_EDIT, _delete_camera, ok=204),
    # live view and playback: opening a stream is a camera in scope; outside it, as if it did not exist
    Endpoint("POST", "/cameras/{camera_id}/live", P.LIVE_VIEW, _camera_url("/live", {"reason": "matrix"})),
    Endpoint("POST", "/cameras/{camera_id}/playback", P.PLAYBACK,
             _camera_url("/playback", _RANGE | {"reason": "matrix"})),
    Endpoint("GET", "/cameras/{camera_id}/timeline", P.PLAYBACK,
             _camera_url("/timeline?from=2026-03-01T08:00:00Z&to=2026-03-01T09:00:00Z")),
    # bookmarks and snapshots: a camera in scope, the playback permission; deleting another user's bookmark is for
    # those who supervise. The matrix's cameras have no recording: a snapshot finds no frame (404).
    Endpoint("GET", "/bookmarks", P.PLAYBACK,
             lambda w, code: (f"{API}/bookmarks?cameras={w.cameras[code]}&from={_RANGE['from']}&to={_RANGE['to']}",
                              None)),
    Endpoint("POST", "/bookmarks", P.PLAYBACK, lambda w, code: (f"{API}/bookmarks", {
        "camera_id": w.cameras[code], "at": "2026-03-01T08:00:00Z", "note": "matrix"}), ok=201),
    Endpoint("DELETE", "/bookmarks/{bookmark_id}", P.PLAYBACK, _others_bookmark, ok=204, own=P.ALERTS_SUPERVISE),
    Endpoint("POST", "/cameras/{camera_id}/snapshot", P.PLAYBACK,
             _camera_url("/snapshot", {"at": "2026-03-01T08:00:00Z", "reason": "matrix"}), ok=404),
    # the video wall: the tree and states of the caller's own scope; a layout may show only cameras in scope (one
    # outside it is bad input, as an unknown camera); another user's layout not shared is as if it did not exist
    Endpoint("GET", "/live/tree", P.LIVE_VIEW, _fixed("/live/tree"), out=None),
    Endpoint("GET", "/live/cameras", P.LIVE_VIEW, lambda w, code: (f"{API}/live/cameras?ids={w.cameras[code]}", None),
             out=None),
    Endpoint("GET", "/live/layouts", P.LIVE_VIEW, _fixed("/live/layouts"), out=None),
    Endpoint("POST", "/live/layouts", P.LIVE_VIEW, _wall_layout, ok=201, out=422),
    Endpoint("GET", "/live/layouts/{layout_id}", P.LIVE_VIEW, _others_layout(), ok=404, out=None),
    Endpoint("PUT", "/live/layouts/{layout_id}", P.LIVE_VIEW, _others_layout({"name": "x", "rows": 1, "cols": 1,
                                                                              "version": 1}), ok=404, out=None),
    Endpoint("DELETE", "/live/layouts/{layout_id}", P.LIVE_VIEW, _others_layout(), ok=404, out=None),
    # footage exports: every camera must be of the scope; another user's export is as if it did not exist
    Endpoint("POST", "/exports", P.CLIP_EXPORT, _new_export, ok=201),
    Endpoint("GET", "/exports", P.CLIP_EXPORT, _fixed("/exports"), out=None),
    Endpoint("GET", "/exports/{export_id}", P.CLIP_EXPORT, _others_export(), ok=404, out=None),
    Endpoint("GET", "/exports/{export_id}/download", P.CLIP_EXPORT, _others_export("/download"), ok=404, out=None),
    # footage requests: a camera outside the scope is bad input naming it; a request outside the scope is as if it
    # did not exist, and one who only requests footage sees their own requests only (another's: 404)
    Endpoint("POST", "/evidence/requests", P.EVIDENCE_REQUEST, _new_footage_request, ok=201, out=422),
    Endpoint("GET", "/evidence/requests", P.EVIDENCE_READ, _fixed("/evidence/requests"), out=None,
             mine=(P.EVIDENCE_REQUEST, 200)),
    Endpoint("GET", "/evidence/requests/{request_id}", P.EVIDENCE_READ, _footage_url(None),
             mine=(P.EVIDENCE_REQUEST, 404)),
    Endpoint("POST", "/evidence/requests/{request_id}/decision", P.EVIDENCE_DECIDE, _decision_upload),
    Endpoint("POST", "/evidence/requests/{request_id}/approve", P.EVIDENCE_APPROVE,
             _footage_url("granted", "/approve", {"note": "uygun"})),
    Endpoint("POST", "/evidence/requests/{request_id}/refuse", P.EVIDENCE_APPROVE,
             _footage_url("granted", "/refuse", {"note": "kapsam belirsiz"})),
    Endpoint("GET", "/evidence/requests/{request_id}/document", P.EVIDENCE_READ, _footage_url("refused", "/document"),
             mine=(P.EVIDENCE_REQUEST, 404)),
    Endpoint("GET", "/evidence/report", P.EVIDENCE_READ, _fixed("/evidence/report"), out=None),
    # releases: ordered, linked, downloaded and handed over by the request's requester only (no caller is: 403);
    # the redaction reviewed by the requester or a second person (a release not awaiting its review: 409)
    Endpoint("POST", "/evidence/requests/{request_id}/releases", P.EVIDENCE_REQUEST, _release_order, ok=403,
             own=P.EVIDENCE_READ),
    Endpoint("GET", "/evidence/requests/{request_id}/releases", P.EVIDENCE_READ,
             lambda w, code: (_release_url()(w, code)[0].rsplit("/", 1)[0], None), mine=(P.EVIDENCE_REQUEST, 404)),
    Endpoint("GET", "/evidence/requests/{request_id}/releases/{release_id}", P.EVIDENCE_READ, _release_url(),
             mine=(P.EVIDENCE_REQUEST, 404)),
    Endpoint("GET", "/evidence/requests/{request_id}/releases/{release_id}/review", P.EVIDENCE_APPROVE,
             _release_url("/review"), mine=(P.EVIDENCE_REQUEST, 404)),
    Endpoint("GET", "/evidence/requests/{request_id}/releases/{release_id}/clips/{position}/frames/{index}.png",
             P.EVIDENCE_APPROVE, _release_url("/clips/1/frames/0.png"), mine=(P.EVIDENCE_REQUEST, 404), ok=409),
    Endpoint("PUT", "/evidence/requests/{request_id}/releases/{release_id}/clips/{position}/edits",
             P.EVIDENCE_APPROVE, _release_url("/clips/1/edits", {"added": [], "removed": []}),
             mine=(P.EVIDENCE_REQUEST, 404), ok=409),
    Endpoint("POST", "/evidence/requests/{request_id}/releases/{release_id}/confirm", P.EVIDENCE_APPROVE,
             _release_url("/confirm"), mine=(P.EVIDENCE_REQUEST, 404), ok=409),
    Endpoint("POST", "/evidence/requests/{request_id}/releases/{release_id}/link", P.EVIDENCE_REQUEST,
             _release_url("/link"), ok=403, own=P.EVIDENCE_READ),
    Endpoint("GET", "/evidence/requests/{request_id}/releases/{release_id}/download/{token}", P.EVIDENCE_REQUEST,
             _release_url("/download/" + "x" * 43), ok=403, own=P.EVIDENCE_READ),
    Endpoint("POST", "/evidence/requests/{request_id}/releases/{release_id}/receipt", P.EVIDENCE_REQUEST,
             _release_url("/receipt", {"name": "Av. Matrix", "id_no": "12345678901"}), ok=403, own=P.EVIDENCE_READ),
    # devices: the list for the in-scope target, filtered to the target site otherwise; provisioning at a site
    # outside the scope is bad input, as for a site that does not exist
    Endpoint("GET", "/devices", P.CAMERAS_READ, _site_filter("/devices")),
    Endpoint("POST", "/devices", P.CAMERAS_EDIT, _new_device, ok=201, out=422),
    # legal holds; placing one on a site outside the scope is bad input, as for a site that does not exist
    Endpoint("GET", "/holds", P.HOLDS_READ, _site_filter("/holds")),
    Endpoint("POST", "/holds", P.HOLDS_MANAGE, _new_hold, ok=201, out=422),
    Endpoint("GET", "/holds/{hold_id}", P.HOLDS_READ, _hold_url),
    Endpoint("POST", "/holds/{hold_id}/release", P.HOLDS_MANAGE, _release),
    # alerts: the list for the in-scope target, filtered to the target site otherwise; each move on a new alert
    Endpoint("GET", "/alerts", P.ALERTS_READ, _site_filter("/alerts", "state=all")),
    Endpoint("GET", "/alerts/queue", P.ALERTS_READ, _fixed("/alerts/queue"), out=None),
    Endpoint("GET", "/alerts/report", P.ALERTS_READ,
             _fixed("/alerts/report?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&group=site"), out=None),
    Endpoint("GET", "/alerts/report.csv", P.ALERTS_READ,
             _fixed("/alerts/report.csv?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&group=site"), out=None),
    Endpoint("GET", "/alerts/board", P.ALERTS_SUPERVISE, _fixed("/alerts/board"), out=None),
    Endpoint("GET", "/dispatch/reports/response", P.DISPATCH_READ,
             _fixed("/dispatch/reports/response?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"), out=None),
    Endpoint("GET", "/dispatch/reports/response.csv", P.DISPATCH_READ,
             _fixed("/dispatch/reports/response.csv?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"), out=None),
    Endpoint("GET", "/dispatch/reports/utilisation", P.DISPATCH_READ,
             _fixed("/dispatch/reports/utilisation?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"), out=None),
    Endpoint("GET", "/dispatch/reports/utilisation.csv", P.DISPATCH_READ,
             _fixed("/dispatch/reports/utilisation.csv?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z"),
             out=None),
    Endpoint("POST", "/alerts/cap", P.ALERTS_HANDLE, _cap, ok=202, out=422),
    # protection orders: per district; registering one for a district outside the scope is bad input
    Endpoint("GET", "/kades/orders", P.KADES_MANAGE, _fixed("/kades/orders"), out=None),
    Endpoint("POST", "/kades/orders", P.KADES_MANAGE, _new_order, ok=201, out=422),
    Endpoint("POST", "/kades/orders/{order_id}/read", P.KADES_MANAGE,
             lambda w, code: (f"{API}/kades/orders/{w.orders[code]}/read?reason=matrix", None)),
    Endpoint("POST", "/kades/orders/{order_id}/phones", P.KADES_MANAGE,
             lambda w, code: (f"{API}/kades/orders/{w.orders[code]}/phones", {"label": "matrix"}), ok=201),
    Endpoint("POST", "/kades/phones/{phone_id}/disable", P.KADES_MANAGE,
             lambda w, code: (f"{API}/kades/phones/{w.phones[code]}/disable", None)),
    Endpoint("GET", "/alerts/{alert_id}", P.ALERTS_READ, lambda w, code: (f"{API}/alerts/{w.alerts[code]}", None)),
    Endpoint("GET", "/alerts/{alert_id}/history", P.ALERTS_READ,
             lambda w, code: (f"{API}/alerts/{w.alerts[code]}/history", None)),
    Endpoint("POST", "/alerts/{alert_id}/claim", P.ALERTS_HANDLE, _alert_move("claim")),
    Endpoint("POST", "/alerts/{alert_id}/acknowledge", P.ALERTS_HANDLE, _alert_move("acknowledge")),
    Endpoint("POST", "/alerts/{alert_id}/note", P.ALERTS_HANDLE, _alert_move("note", {"note": "matrix"})),
    Endpoint("POST", "/alerts/{alert_id}/resolve", P.ALERTS_HANDLE, _alert_move("resolve", {"outcome": "test"})),
    Endpoint("POST", "/alerts/{alert_id}/release", P.ALERTS_HANDLE, _alert_move("release", claimed=True),
             also=P.ALERTS_SUPERVISE),
    # units and incidents: per district, each call on a fresh one; a field login speaks for its own unit only
    Endpoint("GET", "/units", P.DISPATCH_READ, dm.units_list, out=None),
    Endpoint("POST", "/units", P.UNITS_MANAGE, dm.new_unit, ok=201, out=422),
    Endpoint("GET", "/units/{call_sign}", P.DISPATCH_READ, dm.unit_url()),
    Endpoint("PATCH", "/units/{call_sign}", P.UNITS_MANAGE, dm.unit_url("", {"version": 1, "members": "matrix"})),
    Endpoint("GET", "/units/{call_sign}/history", P.DISPATCH_READ, dm.unit_url("/history")),
    Endpoint("POST", "/units/{call_sign}/status", P.UNITS_REPORT, dm.unit_url("/status", {"status": "busy"}),
             own=P.DISPATCH_ASSIGN),
    Endpoint("POST", "/units/{call_sign}/position", P.UNITS_REPORT, dm.position, own=P.DISPATCH_ASSIGN),
    Endpoint("GET", "/units/{call_sign}/assignments", P.UNITS_REPORT, dm.unit_url("/assignments"),
             own=P.DISPATCH_ASSIGN),
    Endpoint("GET", "/units/{call_sign}/tracker", P.UNITS_MANAGE, dm.tracker_url),
    Endpoint("POST", "/units/{call_sign}/tracker", P.UNITS_MANAGE, dm.unit_url("/tracker"), ok=201),
    Endpoint("DELETE", "/units/{call_sign}/tracker", P.UNITS_MANAGE, dm.tracker_url),
    Endpoint("GET", "/incidents", P.DISPATCH_READ, _fixed("/incidents?state=all"), out=None),
    Endpoint("POST", "/incidents", P.DISPATCH_ASSIGN, dm.new_incident, ok=201, out=422),
    Endpoint("GET", "/incidents/{number}", P.DISPATCH_READ, dm.incident_url()),
    Endpoint("POST", "/incidents/{number}/close", P.DISPATCH_ASSIGN, dm.incident_url("/close",
                                                                                    {"outcome": "resolved"})),
    Endpoint("GET", "/incidents/{number}/recommendations", P.DISPATCH_READ, dm.incident_url("/recommendations")),
    Endpoint("GET", "/incidents/{number}/assignments", P.DISPATCH_READ, dm.incident_url("/assignments")),
    Endpoint("POST", "/incidents/{number}/assignments", P.DISPATCH_ASSIGN, dm.assign, ok=201),
    Endpoint("POST", "/incidents/{number}/assignments/{assignment_id}/{move}", P.UNITS_REPORT, dm.acknowledge,
             own=P.DISPATCH_ASSIGN),
    # audit: the list for the in-scope target, filtered to the target site otherwise
    Endpoint("GET", "/audit", P.AUDIT_READ,
             lambda w, code: (f"{API}/audit?per_page=500" + ("" if code == IN else f"&site={code}"), None)),
    Endpoint("GET", "/audit/verify", P.AUDIT_READ, _fixed("/audit/verify"), scoped=403),
    Endpoint("GET", "/audit/public-key", None, _fixed("/audit/public-key"), public=True),
    # accounts: an administrator manages only users whose whole scope lies within their own
    Endpoint("POST", "/auth/token", None, _token, public=True),
    Endpoint("GET", "/me", None, _fixed("/me"), out=None),
    Endpoint("PATCH", "/me", None, lambda w, code: (f"{API}/me", {"time_zone": "Europe/Istanbul"}), out=None),
    Endpoint("GET", "/users", P.USERS_MANAGE, _fixed("/users"), out=None),
    Endpoint("POST", "/users", P.USERS_MANAGE, _new_user, ok=201, out=422),
    Endpoint("POST", "/users/{username}/disable", P.USERS_MANAGE, _disable_user),
    # the API's own description
    Endpoint("GET", "/openapi.json", None, _fixed("/openapi.json"), public=True),
    Endpoint("GET", "/health", None, _fixed("/health"), public=True),
    Endpoint("GET", "/docs", None, _fixed("/docs"), public=True),
]


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, routers included into routers as well."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path_format or route.path or ""
        if not path.startswith(API + "/"):
            continue
        if isinstance(route.original_route, WebSocketRoute):
            continue  # the alert stream: its refusals are tried in tests/alerts/test_stream.py
        if path.startswith(API + "/kades/app/"):
            continue  # a protected person's phone, not a user: tried in tests/kades
        methods = route.methods or {"(mounted application)"}
        for method in methods - {"HEAD", "OPTIONS"}:
            found.add((method, path[len(API):]))
    return found


def test_every_api_route_is_in_the_matrix(rt: Runtime) -> None:
    app = create_app(rt)
    table = {(e.method, e.route) for e in ENDPOINTS}
    routes = _api_routes(app)
    assert not routes - table, f"API routes missing from the authorisation matrix: {sorted(routes - table)}"
    assert not table - routes, f"matrix rows for routes that no longer exist: {sorted(table - routes)}"
    assert len(table) == len(ENDPOINTS), "an endpoint is listed twice"


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 with the least work, so that a dozen users per test cost little."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield


def _world(session: Session, rt: Runtime, token_for: Callable[[User], dict[str, str]]
           ) -> tuple[World, list[Caller]]:
    nodes = factories.tree(session)
    recorders: dict[str, int] = {}
    cameras: dict[str, int] = {}
    holds: dict[str, int] = {}
    alert_ids: dict[str, int] = {}
    for code, (district, name) in SITES.items():
        site = factories.site(session, district, code=code, name=name)
        factories.compliant_system(session, rt.box, code)
        site_service.change_rollout(session=session, actor=factories.admin(), code=code,
                                    change=RolloutChange(status=RolloutStatus.PLANNED, note=name))
        recorders[code] = camera_flows.get_system(session=session, actor=factories.admin(),
                                                  code=site.code).recorders[0].id
        cameras[code] = camera_flows.get_system(session=session, actor=factories.admin(),
                                                code=site.code).cameras[0].id
        holds[code] = _hold(session, code).id
        alert_ids[code] = alerts.raise_alert(
            session, kind=alerts.AlertKind.RECORDING_STOPPED, severity=alerts.Severity.CRITICAL,
            subject=alerts.Subject(camera_id=cameras[code], site_id=site.id), details=f"{name} kaydı durdu").id
    for code in ("TR-99-A", "TR-99-B", "TR-98"):
        session.add(Commission(jurisdiction_id=nodes[code].id, chair=f"Kaymakam {code}"))
    login = factories.user(session, "operator", scope=["TR-99-A"])
    victims = {IN: factories.user(session, "operator", scope=["TR-99-A"]).username,
               OUT_B: factories.user(session, "operator", scope=["TR-99-B"]).username,
               OUT_C: factories.user(session, "operator", scope=["TR-98-C"]).username}
    users = [(f"{role.value}@TR-99-A", role, True, factories.user(session, role.value, scope=["TR-99-A"]))
             for role in Role]
    users.append(("admin@TR", Role.ADMIN, False, factories.user(session, "admin", scope=["TR"])))
    session.commit()
    callers = [Caller(label, role, scoped, token_for(u)) for label, role, scoped, u in users]
    callers.append(Caller("anonymous", None, True, {}))
    orders, phones = {}, {}
    for code, (district, name) in SITES.items():
        order = kades_service.create_order(session=session, actor=factories.admin(), data=OrderIn(
            number=f"K-{code}", court="Aile Mahkemesi", valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1),
            person_name=f"{name} velisi", person_phone="+90 555 000 00 00", district=district))
        orders[code] = order.id
        phones[code] = kades_service.add_phone(session=session, actor=factories.admin(), order_id=order.id)[0].id
    session.commit()
    world = World(session=session, rt=rt, recorders=recorders, cameras=cameras, holds=holds, alerts=alert_ids,
                  orders=orders, phones=phones, victims=victims, login=login.username)
    return world, callers


def _check(endpoint: Endpoint, client: TestClient, world: World, callers: list[Caller]) -> list[str]:
    """Every caller against every target of one endpoint; the mismatches, described."""
    problems: list[str] = []
    for caller in callers:
        targets = [IN] if caller.role is None else [IN, OUT_B, OUT_C]
        for target in targets:
            in_scope = target == IN or not caller.scoped
            want = endpoint.expected(caller, in_scope)
            url, body = endpoint.build(world, target)
            if isinstance(body, Raw):
                r = client.request(endpoint.method, url, content=body.content,
                                   headers=caller.headers | {"Content-Type": body.content_type})
            elif isinstance(body, Upload):
                r = client.request(endpoint.method, url, headers=caller.headers, data=body.fields,
                                   files={body.field: (body.filename, body.content, body.content_type)})
            else:
                r = client.request(endpoint.method, url, json=body, headers=caller.headers)
            where = f"{caller.label} {endpoint.method} {url}"
            if r.status_code != want:
                problems.append(f"{where}: got {r.status_code}, want {want}: {r.text[:200]}")
                continue
            if caller.scoped and r.is_success:
                leaked = [w for w in SECRET_WORDS if w in r.text]
                if leaked:
                    problems.append(f"{where}: answer names out-of-scope sites {leaked}")
            if want == 404 and endpoint.method == "GET":
                alike = client.get(url.replace(target, NO_SUCH_SITE), headers=caller.headers)
                if (alike.status_code, alike.text.replace(NO_SUCH_SITE, target)) != (404, r.text):
                    problems.append(f"{where}: a site outside the scope is answered differently from one "
                                    f"that does not exist: {r.text[:120]} vs {alike.text[:120]}")
    return problems


def test_matrix(client: TestClient, session: Session, rt: Runtime, token_for: Callable[[User], dict[str, str]],
                cheap_hashes: None, subtests: pytest.Subtests) -> None:
    """One world, every endpoint in turn; each endpoint reports as a subtest of its own."""
    world, callers = _world(session, rt, token_for)
    for endpoint in ENDPOINTS:
        with subtests.test(msg=f"{endpoint.method} {endpoint.route}"):
            problems = _check(endpoint, client, world, callers)
            assert not problems, "\n".join(problems)


def test_scoped_lists_show_the_in_scope_site(client: TestClient, session: Session, rt: Runtime,
                                             token_for: Callable[[User], dict[str, str]],
                                             cheap_hashes: None) -> None:
    """The leak check above could pass on empty answers; the lists do show what is in scope."""
    world, callers = _world(session, rt, token_for)
    admin = next(c for c in callers if c.label == "admin@TR-99-A")
    for path in ("/sites", "/map", "/audit?per_page=500", "/holds", "/alerts?state=all", "/alerts/queue"):
        r = client.get(f"{API}{path}", headers=admin.headers)
        assert r.status_code == 200
        assert IN in r.text and not any(w in r.text for w in SECRET_WORDS), path
    dash = client.get(f"{API}/dashboard", headers=admin.headers).json()
    assert dash["total"] == 1
    assert [d["code"] for d in dash["districts"]] == ["TR-99-A"]
    for district in ("TR-99-B", "TR-98-C"):
        assert client.get(f"{API}/dashboard?jurisdiction={district}", headers=admin.headers).json()["total"] == 0
    names = [j["code"] for j in client.get(f"{API}/jurisdictions", headers=admin.headers).json()]
    assert names == ["TR", "TR-99", "TR-99-A"]
    everyone = next(c for c in callers if c.label == "admin@TR")
    r = client.get(f"{API}/sites?per_page=500", headers=everyone.headers)
    assert {s["code"] for s in r.json()["items"]} == {IN, OUT_B, OUT_C}
