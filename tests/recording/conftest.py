"""Real media for recording tests: test clips made with ffmpeg, simulated RTSP cameras served by GStreamer,
and databases a separately running recorder process can share (committed, on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera
from kgys.cameras.schemas import CameraIn
from kgys.config import Settings
from kgys.runtime import Runtime, make_runtime
from kgys.sim.cameras import SimCameras, ensure_clip
from tests import factories
from tests.conftest import migrated_database

PG_ADMIN_URL = os.environ.get("KGYS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ENGINES = [e for e in os.environ.get("KGYS_TEST_ENGINES", "sqlite,postgresql").split(",") if e]
SIM_CAMERAS = 6


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the generated test clips live for the run."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip_h264(media_dir: Path) -> Path:
    """A 4-second looping 1080p H.264 clip, no B-frames, a keyframe a second."""
    return ensure_clip(data_dir=media_dir, codec="h264", seconds=4)


@pytest.fixture(scope="session")
def clip_h265(media_dir: Path) -> Path:
    """A 2-second looping 1080p H.265 clip."""
    return ensure_clip(data_dir=media_dir, codec="h265", seconds=2)


@pytest.fixture(scope="session")
def sim_h264(clip_h264: Path) -> Iterator[SimCameras]:
    """Six H.264 cameras on a real RTSP server."""
    with SimCameras(clip=clip_h264, codec="h264", count=SIM_CAMERAS, port=free_port()) as sim:
        yield sim


@pytest.fixture(scope="session")
def sim_h265(clip_h265: Path) -> Iterator[SimCameras]:
    """Two H.265 cameras on a real RTSP server."""
    with SimCameras(clip=clip_h265, codec="h265", count=2, port=free_port()) as sim:
        yield sim


def make_ts_segments(clip: Path, out_dir: Path, *, run: str, seconds: int = 1,
                     stamps: tuple[str, ...] = ("20250301T080000", "20250301T080001")) -> list[Path]:
    """Real MPEG-TS segments cut from ``clip`` by ffmpeg, named and timed as the recorder's ffmpeg leaves them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".cut"
    tmp.mkdir(exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-map", "0:v:0", "-c", "copy", "-f", "segment",
                    "-segment_format", "mpegts", "-segment_time", str(seconds), "-reset_timestamps", "1",
                    str(tmp / "s%03d.ts")], check=True, timeout=60)
    made = sorted(tmp.iterdir())
    out = []
    for src, stamp in zip(made, stamps, strict=False):
        dst = out_dir / f"{run}_{stamp}Z.ts"
        src.rename(dst)
        closed = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp() + seconds + 0.2
        os.utime(dst, (closed, closed))  # closed 0.2 s into the named second, as a live ffmpeg would
        out.append(dst)
    for rest in tmp.iterdir():
        rest.unlink()
    tmp.rmdir()
    return out


@dataclass
class LiveDb:
    """A committed database with one site and cameras pointing at the simulated streams."""

    kind: str
    url: str
    data_dir: Path
    rt: Runtime
    camera_ids: list[int] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        """The test's own engine on the database."""
        return self.rt.engine

    def env(self, **recording: object) -> dict[str, str]:
        """Environment for a ``kgys`` process using this database and data directory."""
        env = dict(os.environ)
        env.update({"KGYS_MODE": "dev", "KGYS_DATA_DIR": str(self.data_dir), "KGYS_DATABASE__URL": self.url})
        for key, value in recording.items():
            env[f"KGYS_RECORDING__{key.upper()}"] = str(value)
        return env

    def settings(self, **recording: object) -> Settings:
        """Settings for an in-process runtime on this database."""
        return Settings(mode="dev", data_dir=self.data_dir, database={"url": self.url}, recording=recording)

    def session(self) -> Session:
        """A plain session for reading what the recorder committed."""
        return Session(self.engine)


def _create_db(kind: str, data_dir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'kgys.db'}", None
    name = f"kgys_rec_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


def _drop_db(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed_cameras(rt: Runtime, urls: list[str], codec: str = "h264") -> list[int]:
    """A jurisdiction tree, one site and one camera per URL, committed."""
    with rt.sessions.begin() as session:
        factories.tree(session)
        site = factories.site(session)
        actor = factories.admin()
        set_actor(session, actor)
        for n, url in enumerate(urls, 1):
            camera_flows.save_camera(session=session, actor=actor, box=rt.box, code=site.code, data=CameraIn(
                name=f"Kamera {n}", megapixels=2.0, width=1920, height=1080, codec=codec, stream_url=url))
    with rt.sessions() as session:
        return list(session.scalars(select(Camera.id).order_by(Camera.id)))


@pytest.fixture(params=ENGINES)
def live_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveDb]:
    """A fresh, committed, migrated database (SQLite file or PostgreSQL database) and data directory."""
    kind = request.param
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url, pg_name = migrated_database(kind, data_dir, "kgys_rec")
    settings = Settings(mode="dev", data_dir=data_dir, database={"url": url})
    rt = make_runtime(settings, upgrade=True)
    db = LiveDb(kind=kind, url=url, data_dir=data_dir, rt=rt)
    try:
        yield db
    finally:
        rt.close()
        if pg_name:
            _drop_db(pg_name)
