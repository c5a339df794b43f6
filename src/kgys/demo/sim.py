"""Simulated cameras in the demo: a few cameras of compliant demo sites point at the simulated RTSP streams of
the running demo, so that they are recorded; audited like any change of a camera."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import acting_as
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.demo.names import FIELD_UNIT_DISTRICT
from kgys.sites.models import Site
from kgys.sites.rollout import SiteType


@dataclass(frozen=True)
class SimCamera:
    """A demo camera recorded from a simulated stream."""

    site_code: str
    site_name: str
    camera: str
    url: str


SIM_REASON = "demo: simulated camera stream"
_SEEDED_URL = re.compile(r"^rtsp://10\.\d+\.\d+\.10:554/Streaming/Channels/\d+$")
_SIM_URL = re.compile(r"^rtsp://127\.0\.0\.1:\d+/cam\d+$")


def _sim_sites(session: Session, want: int) -> list[Site]:
    """Compliant sites of the central district (schools first), then any site with cameras."""
    base = (select(Site).join(Camera, Camera.site_id == Site.id).where(Camera.enabled.is_(True))
            .group_by(Site.id).having(func.count(Camera.id) >= 2))
    order = (Site.priority, Site.code)
    chosen: list[Site] = []
    for stmt in (base.where(Site.compliance_status == "compliant",
                            Site.jurisdiction_path.like(f"%/{FIELD_UNIT_DISTRICT}/"),
                            Site.type.not_in([SiteType.MUNICIPAL_POINT.value, SiteType.OTHER.value])),
                 base.where(Site.compliance_status == "compliant",
                            Site.jurisdiction_path.like(f"%/{FIELD_UNIT_DISTRICT}/")),
                 base.where(Site.compliance_status == "compliant"), base):
        for site in session.scalars(stmt.order_by(*order).limit(want)):
            if site not in chosen and len(chosen) < want:
                chosen.append(site)
    return chosen


def attach_sim_cameras(session: Session, urls: Sequence[str], *, per_site: int = 2) -> list[SimCamera]:
    """Point cameras of a few demo sites at ``urls`` (``per_site`` each), declared 1920×1080 H.264; audited.

    Cameras still carrying a stream address of an earlier run, or of older demo data, lose it, so the
    recorder records exactly the simulated streams. Returns which camera records which stream.
    """
    actor = system_actor("demo")
    if not urls:
        detach_sim_cameras(session)
        return []
    sites = _sim_sites(session, -(-len(urls) // per_site))
    targets: list[tuple[Site, Camera]] = []
    for site in sites:
        cams = session.scalars(select(Camera).where(Camera.site_id == site.id, Camera.enabled.is_(True))
                               .order_by(Camera.id).limit(per_site)).all()
        targets.extend((site, cam) for cam in cams)
    targets = targets[:len(urls)]
    keep = {cam.id for _site, cam in targets}
    out: list[SimCamera] = []
    with acting_as(session, actor, reason=SIM_REASON):
        for cam in session.scalars(select(Camera).where(Camera.stream_url != "", Camera.id.not_in(keep or {0}))):
            if _SEEDED_URL.match(cam.stream_url) or _SIM_URL.match(cam.stream_url):
                cam.stream_url = ""
        for (site, cam), url in zip(targets, urls, strict=False):
            if (cam.stream_url, cam.codec, cam.width, cam.height) != (url, "h264", 1920, 1080):
                cam.stream_url, cam.codec, cam.width, cam.height = url, "h264", 1920, 1080
            out.append(SimCamera(site.code, site.name, cam.name, url))
        session.flush()
        for site in sites:
            camera_flows.refresh_compliance(session=session, site=site)
    return out


def detach_sim_cameras(session: Session) -> int:
    """Remove the simulated stream addresses (a demo without cameras records nothing); audited."""
    count = 0
    with acting_as(session, system_actor("demo"), reason=SIM_REASON):
        for cam in session.scalars(select(Camera).where(Camera.stream_url != "")):
            if _SIM_URL.match(cam.stream_url) or _SEEDED_URL.match(cam.stream_url):
                cam.stream_url = ""
                count += 1
        session.flush()
    return count
