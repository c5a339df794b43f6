"""Bulk data for benchmarks: a jurisdiction tree, sites with varied attributes and some camera systems.

The rows are written with Core bulk inserts (fast), but they are the same tables and columns the
application reads, so every page and API call sees them as ordinary data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from kgys.accounts.models import Jurisdiction
from kgys.cameras.models import Camera, Recorder
from kgys.sites import service as site_service
from kgys.sites.models import Site
from kgys.sites.rollout import RolloutStatus, SiteType

NAMES = ("Atatürk", "Cumhuriyet", "Gazi", "Fatih", "Mimar Sinan", "Yunus Emre", "Mehmet Akif", "Barbaros",
         "Piri Reis", "Namık Kemal", "Ziya Gökalp", "Hacı Bektaş", "Kanuni", "Istiklal", "Zafer", "Bahçe",
         "Deniz", "Orman", "Yıldız", "Güneş", "Kartal", "Çınar", "Lale", "Papatya", "Sakarya", "Ege")
TYPE_LABEL = {
    SiteType.KINDERGARTEN: "Anaokulu", SiteType.PRIMARY_SCHOOL: "İlkokulu",
    SiteType.MIDDLE_SCHOOL: "Ortaokulu", SiteType.HIGH_SCHOOL: "Lisesi", SiteType.COLLEGE: "Koleji",
    SiteType.MUNICIPAL_POINT: "Meydanı", SiteType.OTHER: "Noktası",
}
TYPE_WEIGHTS = {
    SiteType.KINDERGARTEN: 15, SiteType.PRIMARY_SCHOOL: 30, SiteType.MIDDLE_SCHOOL: 25,
    SiteType.HIGH_SCHOOL: 18, SiteType.COLLEGE: 4, SiteType.MUNICIPAL_POINT: 6, SiteType.OTHER: 2,
}
PROVINCES = (("TR-99", "Deneme İli", 39.9, 32.8), ("TR-98", "Örnek İli", 41.0, 29.0))


@dataclass(frozen=True)
class District:
    """A district row as the filler needs it."""

    id: int
    code: str
    path: str
    lat: float
    lon: float


def make_tree(conn: Connection, *, districts_per_province: int = 20) -> list[District]:
    """TR → two provinces → ``districts_per_province`` districts each; returns the districts."""
    conn.execute(insert(Jurisdiction), [{"kind": "country", "code": "TR", "name": "Türkiye", "path": "/TR/",
                                         "latitude": 39.0, "longitude": 35.0}])
    tr = conn.execute(select(Jurisdiction.id).where(Jurisdiction.code == "TR")).scalar_one()
    out: list[District] = []
    for code, name, lat, lon in PROVINCES:
        conn.execute(insert(Jurisdiction), [{"kind": "province", "code": code, "name": name, "parent_id": tr,
                                             "path": f"/TR/{code}/", "latitude": lat, "longitude": lon}])
        pid = conn.execute(select(Jurisdiction.id).where(Jurisdiction.code == code)).scalar_one()
        rows = [{"kind": "district", "code": f"{code}-{i:02d}", "name": f"{name} İlçe {i:02d}", "parent_id": pid,
                 "path": f"/TR/{code}/{code}-{i:02d}/", "latitude": lat + i / 100, "longitude": lon + i / 100}
                for i in range(1, districts_per_province + 1)]
        conn.execute(insert(Jurisdiction), rows)
    for jid, dcode, path, dlat, dlon in conn.execute(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.path, Jurisdiction.latitude, Jurisdiction.longitude)
        .where(Jurisdiction.kind == "district").order_by(Jurisdiction.path)
    ):
        out.append(District(jid, dcode, path, float(dlat or 0.0), float(dlon or 0.0)))
    return out


def make_sites(conn: Connection, districts: list[District], n: int, *, seed: int = 7,
               system_share: float = 0.3, chunk: int = 5000) -> int:
    """Insert ``n`` sites spread over ``districts``; about ``system_share`` of them get a recorder and
    2–4 cameras (compliant or not). Returns the number of cameras written."""
    rnd = random.Random(seed)
    types = list(TYPE_WEIGHTS)
    weights = list(TYPE_WEIGHTS.values())
    statuses = list(RolloutStatus)
    now = datetime.now(UTC)
    today = date.today()
    systems: list[tuple[str, bool]] = []
    for start in range(0, n, chunk):
        rows: list[dict[str, Any]] = []
        for i in range(start, min(n, start + chunk)):
            d = districts[i % len(districts)]
            t = rnd.choices(types, weights)[0]
            code = f"B{i + 1:07d}"
            has_system = rnd.random() < system_share
            compliant = has_system and rnd.random() < 0.6
            rows.append({
                "code": code,
                "name": f"{rnd.choice(NAMES)} {TYPE_LABEL[t]} {i + 1}",
                "type": t.value,
                "address": f"{rnd.choice(NAMES)} Cad. No:{rnd.randint(1, 200)}",
                "latitude": d.lat + rnd.uniform(-0.05, 0.05),
                "longitude": d.lon + rnd.uniform(-0.05, 0.05),
                "jurisdiction_id": d.id,
                "jurisdiction_path": d.path,
                "student_count": rnd.randint(40, 2500),
                "priority": rnd.choices([1, 2, 3, 4, 5], [10, 20, 40, 20, 10])[0],
                "contact_name": "", "contact_phone": "", "contact_email": "",
                "rollout_status": rnd.choice(statuses).value,
                "rollout_since": today - timedelta(days=rnd.randint(0, 400)),
                "compliance_status": ("compliant" if compliant else "non_compliant") if has_system else "no_system",
                "created_at": now, "updated_at": now, "version": 1,
            })
            r = rows[-1]
            r["search_text"] = site_service.search_text(r["name"], r["code"], r["address"])
            if has_system:
                systems.append((code, compliant))
        conn.execute(insert(Site), rows)
    return _make_systems(conn, systems, rnd, now, chunk)


def _make_systems(conn: Connection, systems: list[tuple[str, bool]], rnd: random.Random, now: datetime,
                  chunk: int) -> int:
    ids = dict(conn.execute(select(Site.code, Site.id)).tuples().all())
    recorders = [{
        "site_id": ids[code], "name": "NVR-1", "vendor": "Bench", "model": "N16", "channels": 16 if ok else 8,
        "supported_storage_tb": 16.0 if ok else 8.0, "installed_storage_tb": 12.0 if ok else 4.0,
        "remote_viewing": True, "continuous_recording": True, "retention_days": 30 if ok else 10, "host": "",
        "credentials": None, "created_at": now,
    } for code, ok in systems]
    for i in range(0, len(recorders), chunk):
        conn.execute(insert(Recorder), recorders[i:i + chunk])
    rec_ids = dict(conn.execute(select(Recorder.site_id, Recorder.id)).tuples().all())
    cameras: list[dict[str, Any]] = []
    for code, ok in systems:
        sid = ids[code]
        for k, pos in enumerate(("entrance", "perimeter", "yard", "other")[: rnd.randint(2, 4)]):
            cameras.append({
                "site_id": sid, "recorder_id": rec_ids[sid], "name": f"Kamera {k + 1}",
                "megapixels": 2.0 if ok else 1.0, "width": 1920 if ok else 1280, "height": 1080 if ok else 720,
                "poe": True, "night_vision": ok, "position": pos, "bitrate_kbps": 4096, "codec": "h264",
                "stream_url": "", "credentials": None, "enabled": True, "created_at": now,
            })
    for i in range(0, len(cameras), chunk):
        conn.execute(insert(Camera), cameras[i:i + chunk])
    return len(cameras)
