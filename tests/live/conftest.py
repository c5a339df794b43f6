"""A recorded world for live and playback tests: real simulated RTSP cameras, the real recorder worker
running in this process, a committed database (SQLite and PostgreSQL) and users of several roles."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.audit.models import AuditEntry
from kgys.config import Settings
from kgys.recording import worker
from kgys.recording.models import Segment
from kgys.runtime import Runtime, make_runtime
from kgys.sim.cameras import SimCameras
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories
from tests.conftest import migrated_database
from tests.recording.conftest import (  # noqa: F401  (clip_h264, media_dir, sim_h264 are fixtures used here)
    ENGINES,
    _drop_db,
    clip_h264,
    media_dir,
    seed_cameras,
    sim_h264,
)
from tests.waiting import wait_for

ROLES = {"operator": ["TR-99-A"], "operator_out": ["TR-99-B"], "investigator": ["TR-99-A"],
         "school_admin": ["TR-99-A"], "auditor": ["TR-99-A"], "supervisor": ["TR-99-A"]}


@dataclass
class Recorded:
    """The world: app client, cameras, bearer headers per role, and the recorder running behind it."""

    kind: str
    rt: Runtime
    client: TestClient
    camera_ids: list[int]
    site_code: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def audit_count(self, action: str) -> int:
        """How many audit entries of ``action`` exist."""
        with Session(self.rt.engine) as s:
            return int(s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)) or 0)

    def audit_last(self, action: str) -> AuditEntry:
        """The newest audit entry of ``action``."""
        with Session(self.rt.engine) as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.seq.desc()).limit(1)).first()
            assert entry is not None, f"no audit entry {action}"
            return entry

    def segments(self, camera_id: int) -> list[Segment]:
        """The camera's indexed segments, oldest first."""
        with Session(self.rt.engine) as s:
            return list(s.scalars(select(Segment).where(Segment.camera_id == camera_id).order_by(Segment.start)))


def _wait_segments(rt: Runtime, camera_id: int, count: int, timeout: float) -> None:
    def indexed() -> bool:
        with Session(rt.engine) as s:
            n = s.scalar(select(func.count()).select_from(Segment).where(Segment.camera_id == camera_id)) or 0
        return n >= count

    wait_for(f"the recorder to index {count} segments of camera {camera_id}", indexed, timeout, every=0.5)


@pytest.fixture(scope="module", params=ENGINES)
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             sim_h264: SimCameras) -> Iterator[Recorded]:  # noqa: F811
    """Two cameras recorded in 2-second segments for a few seconds, still recording while the tests run."""
    kind = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"live-{kind}")
    url, pg_name = migrated_database(kind, data_dir, "kgys_live")
    settings = Settings(mode="dev", data_dir=data_dir, database={"url": url},
                        recording={"segment_seconds": 2, "fsync": False})
    rt = make_runtime(settings, upgrade=True)
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        cams = seed_cameras(rt, [sim_h264.url(1), sim_h264.url(2)])
        with rt.sessions.begin() as session:
            users = {label: factories.user(session, label.removesuffix("_out"), scope=scope)
                     for label, scope in ROLES.items()}
            headers = {label: {"Authorization": "Bearer " + account_service.issue_token(
                session=session, settings=settings.security, user=u)} for label, u in users.items()}
            code = session.scalars(select(Site.code)).one()
        thread = threading.Thread(target=worker.run, args=(rt, stop), daemon=True)
        thread.start()
        _wait_segments(rt, cams[0], 3, timeout=45)
        with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
            yield Recorded(kind, rt, client, cams, code, headers)
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=20)
        rt.close()
        if pg_name:
            _drop_db(pg_name)
