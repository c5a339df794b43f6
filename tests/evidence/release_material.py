"""Real recorded footage for the release tests: MPEG-TS segments cut by ffmpeg from a picture with a real face in
it (scikit-image's ``astronaut`` photograph sliding over a plain background), stored in the test world's segment
store and indexed with their hash chain, as the recorder would; and the steps of a request up to its approval, each
sealed as the web layer seals them."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest
from skimage import data as skdata
from sqlalchemy import select

from kgys.evidence import package_audit
from kgys.evidence.models import FootageRequest
from kgys.evidence.rules import Range
from kgys.recording.models import GENESIS, Segment
from kgys.recording.storage import segment_key
from tests.evidence.conftest import Ev

SEGMENT_SECONDS = 2
FPS = 5


@pytest.fixture(scope="session")
def face_segments(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two 2-second H.264 MPEG-TS segments (640×360, 5 frames/s) of a face moving right."""
    folder = tmp_path_factory.mktemp("release-footage")
    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x406080:s=640x360:r={FPS}",
                    "-loop", "1", "-framerate", str(FPS), "-i", str(photo), "-filter_complex",
                    "[1]scale=300:300[p];[0][p]overlay=x='100+20*t':y=30:shortest=1,format=yuv420p",
                    "-t", str(2 * SEGMENT_SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-g", str(FPS),
                    "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mpegts",
                    str(folder / "seg%03d.ts")], check=True, timeout=120)
    files = sorted(folder.glob("seg*.ts"))
    assert len(files) == 2, files
    return files


def record_footage(ev: Ev, cam: str, start: datetime, files: list[Path]) -> list[Segment]:
    """Store ``files`` as the camera's back-to-back segments from ``start`` and index them in its hash chain."""
    camera = ev.w.cams[cam]
    prev = ev.session.scalar(select(Segment.sha256).where(Segment.camera_id == camera.id)
                             .order_by(Segment.start.desc()).limit(1)) or GENESIS
    rows = []
    for i, f in enumerate(files):
        s = start + timedelta(seconds=i * SEGMENT_SECONDS)
        key = segment_key(site_id=camera.site_id, camera_id=camera.id, start=s, filename=f"{s:%H%M%S}.ts")
        path = ev.w.storage.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, path)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        rows.append(Segment(camera_id=camera.id, site_id=camera.site_id, start=s,
                            end=s + timedelta(seconds=SEGMENT_SECONDS), duration=float(SEGMENT_SECONDS),
                            bytes=path.stat().st_size, sha256=sha, prev_sha256=prev, path=key, codec="h264",
                            width=640, height=360, indexed_at=s + timedelta(seconds=SEGMENT_SECONDS + 1)))
        prev = sha
    ev.session.add_all(rows)
    ev.session.flush()
    return rows


def approved(ev: Ev, items: list[Range], *, valid: timedelta = timedelta(days=90)) -> FootageRequest:
    """A request of ``inv`` for ``items``, granted as asked by the liaison and approved by ``sup``; each step
    sealed as the web layer seals it."""
    signer = ev.w.rt.signer
    req = ev.open(items=items)
    package_audit.seal(ev.session, signer)
    ev.decide(req, scope=items, valid=valid)
    package_audit.seal(ev.session, signer)
    ev.approve(req)
    package_audit.seal(ev.session, signer)
    ev.session.commit()
    return req
