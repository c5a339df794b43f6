"""Measured against declared: a camera that declares 2 MP but sends 640×480 fails compliance, named with
both resolutions, in the pure rules, the service, the API and the compliance page (in every language)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.cameras import compliance as rules
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.recording import index
from kgys.runtime import Runtime
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories
from tests.web.conftest import browser_login

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def stream(name: str = "Giriş", w: int | None = 1920, h: int | None = 1080, codec: str | None = "h264",
           failed: tuple[str, ...] = ()) -> rules.StreamSpec:
    return rules.StreamSpec(name=name, declared_width=1920, declared_height=1080, declared_codec="h264",
                            state="online", codec=codec, width=w, height=h, fps=25.0, bitrate_kbps=4100,
                            keyframe_interval=1.0, failed=failed)


def test_no_measurement_adds_no_check() -> None:
    assert rules.stream_check([stream(w=None, h=None)]) is None
    assert rules.stream_check([]) is None


def test_matching_streams_pass() -> None:
    check = rules.stream_check([stream(), stream("Çevre")])
    assert check is not None and check.passed and check.params == {"measured": 2}


@pytest.mark.parametrize(("spec", "says"), [
    (stream(w=640, h=480, failed=("resolution_declared", "resolution_minimum")),
     "Giriş sends 640×480, declared 1920×1080"),
    (stream(codec="h265", failed=("codec_declared",)), "Giriş sends h265, declared h264"),
])
def test_a_stream_that_differs_fails_naming_camera_and_both_values(spec: rules.StreamSpec, says: str) -> None:
    check = rules.stream_check([stream("Çevre"), spec])
    assert check is not None and not check.passed
    assert says in check.message and "Çevre" not in check.message
    assert check.params["cameras"] == ["Giriş"]


@pytest.fixture
def web(rt: Runtime) -> Iterator[TestClient]:
    """A client of an app on the test's transaction."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


def bearer(rt: Runtime, session: Session, user: User) -> dict[str, str]:
    tok = account_service.issue_token(session=session, settings=rt.settings.security, user=user)
    session.commit()
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def site(rt: Runtime, session: Session) -> Site:
    """A compliant site whose camera 'Giriş' (declared 2 MP, 1920×1080) is measured sending 640×480."""
    factories.tree(session)
    s = factories.site(session)
    factories.compliant_system(session, rt.box, s.code)
    cams = {c.name: c for c in session.scalars(select(Camera).where(Camera.site_id == s.id))}
    h = index.health(session, cams["Giriş"].id)
    h.state, h.codec, h.width, h.height, h.fps, h.bitrate_kbps, h.keyframe_interval, h.measured_at = (
        "online", "h264", 640, 480, 25.0, 812.5, 2.0, NOW)
    index.set_state(session, camera_id=cams["Çevre"].id, state="offline", reason="camera unreachable")
    session.flush()
    return s


def test_the_service_fails_the_site_and_keeps_the_declared_checks(session: Session, site: Site) -> None:
    _system, result = camera_flows.compliance(session=session, actor=factories.admin(), code=site.code)
    assert result.status == "non_compliant"
    (failed,) = result.failed
    assert failed.code == "stream.measured"
    assert failed.message == "Giriş sends 640×480, declared 1920×1080."
    by_name = {s.name: s for s in result.streams}
    assert by_name["Giriş"].failed == ("resolution_declared", "resolution_minimum")
    assert (by_name["Çevre"].state, by_name["Çevre"].measured) == ("offline", False)
    # saving the system again stores the measured verdict too
    assert camera_flows.refresh_compliance(session=session, site=site) == "non_compliant"


def test_the_api_shows_measured_properties_and_state(web: TestClient, rt: Runtime, session: Session,
                                                     site: Site) -> None:
    user = factories.user(session, "operator")
    body = web.get(f"/api/v1/sites/{site.code}/compliance", headers=bearer(rt, session, user)).json()
    assert body["status"] == "non_compliant"
    check = next(c for c in body["checks"] if c["code"] == "stream.measured")
    assert not check["passed"] and "Giriş sends 640×480, declared 1920×1080" in check["message"]
    cams = {c["name"]: c for c in body["cameras"]}
    g = cams["Giriş"]
    assert (g["codec"], g["width"], g["height"], g["fps"], g["bitrate_kbps"], g["keyframe_interval_s"]) == (
        "h264", 640, 480, 25.0, 812.5, 2.0)
    assert (g["state"], g["passed"], g["declared_width"], g["declared_height"]) == ("online", False, 1920, 1080)
    assert g["problems"] == ["Giriş sends 640×480, declared 1920×1080"]
    assert (cams["Çevre"]["state"], cams["Çevre"]["passed"], cams["Çevre"]["reason"]) == (
        "offline", None, "camera unreachable")


@pytest.mark.parametrize(("lang", "title", "sentence", "offline"), [
    ("tr", "Kameralar beyan edildiği gibi yayın yapıyor", "Giriş 640×480 gönderiyor, beyan edilen 1920×1080.",
     "çevrimdışı"),
    ("en", "Cameras send what was declared", "Giriş sends 640×480, declared 1920×1080.", "offline"),
    ("ru", "Камеры передают заявленное", "Giriş передаёт 640×480, заявлено 1920×1080.", "не в сети"),
])
def test_the_compliance_page_shows_the_measured_streams(web: TestClient, session: Session, site: Site,
                                                        lang: str, title: str, sentence: str, offline: str) -> None:
    browser_login(web, factories.user(session, "operator"))
    page = web.get(f"/sites/{site.code}/compliance", params={"lang": lang})
    assert page.status_code == 200
    text = page.text
    assert title in text and sentence in text
    assert 'data-camera="Giriş" data-state="online"' in text and "812" in text
    assert 'data-camera="Çevre" data-state="offline"' in text and offline in text
